package doctor

import (
	"context"
	"strings"
	"testing"
)

func TestAssumeCheck(t *testing.T) {
	const app, data = "arn:aws:iam::000000000000:role/app", "arn:aws:iam::111111111111:role/data"
	for _, tc := range []struct {
		name       string
		assume     string
		hook       bool
		v          AssumeVerdict
		status     Status
		detail     string
		fixContain []string
	}{
		{"no --assume", "", true, AssumeVerdict{}, Skip, "no --assume", nil},
		{"no environment", data, false, AssumeVerdict{}, Skip, "needs a running irsa-local environment", nil},
		{"allowed", data, true, AssumeVerdict{Allowed: true, Reason: "sts:AssumeRole: allowed across accounts by …"}, OK, "app → " + data + ": sts:AssumeRole: allowed", nil},
		{"refused by the trust policy", data, true, AssumeVerdict{Refused: "trust", Message: "User: s is not authorized to perform: sts:AssumeRole on resource: " + data, Reason: "the role's trust policy does not allow …"}, Fail,
			"is not authorized to perform: sts:AssumeRole", []string{"trust policy of role data (account 111111111111)", `"AWS": "` + app + `"`, "AWS_ACCESS_KEY_ID=111111111111", "update-assume-role-policy --role-name data"}},
		{"refused by the caller's account", data, true, AssumeVerdict{Refused: "caller", Message: "m", Reason: "the caller's account (000000000000) refuses it"}, Fail,
			"m (the caller's account", []string{"a policy of role app (account 000000000000)", `"Action":"sts:AssumeRole","Resource":"` + data + `"`, "put-role-policy --role-name app"}},
		{"same account needs no other credentials", "arn:aws:iam::000000000000:role/helper", true, AssumeVerdict{Refused: "trust", Message: "m", Reason: "r"}, Fail,
			"m (r)", []string{"aws iam update-assume-role-policy --role-name helper"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &runner{t: Target{Assume: tc.assume}, roleARN: app, done: map[string]Status{}, tokens: map[string]*Token{}}
			if tc.hook {
				r.t.AssumeHook = func(context.Context, AssumeQuestion) (AssumeVerdict, error) { return tc.v, nil }
			}
			c := r.assume(context.Background())
			if c.Status != tc.status || c.Name != CheckAssume || !strings.Contains(c.Detail, tc.detail) {
				t.Fatalf("check = %+v", c)
			}
			for _, want := range tc.fixContain {
				if !strings.Contains(c.Fix, want) {
					t.Errorf("fix %q lacks %q", c.Fix, want)
				}
			}
			if tc.name == "same account needs no other credentials" && strings.Contains(c.Fix, "AWS_ACCESS_KEY_ID") {
				t.Errorf("fix %q switches credentials within one account", c.Fix)
			}
		})
	}
}
