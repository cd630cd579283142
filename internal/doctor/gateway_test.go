package doctor

import (
	"strings"
	"testing"
)

func TestGatewayCheck(t *testing.T) {
	q := GatewayQuestion{RoleARN: "arn:aws:iam::000000000000:role/app", Action: "kms:Decrypt", Resource: "arn:aws:kms:us-east-1:000000000000:key/k"}
	for _, tc := range []struct {
		name       string
		v          GatewayVerdict
		status     Status
		detail     string
		fixContain string
	}{
		{"allowed", GatewayVerdict{Allowed: true, Reason: "allowed by statement 0 of inline policy p of role app"}, OK, "kms:Decrypt on arn:aws:kms:us-east-1:000000000000:key/k: allowed by statement 0", ""},
		{"implicit", GatewayVerdict{Reason: "implicitly denied: no statement allows it", Message: "User: x is not authorized"}, Fail, "User: x is not authorized (implicitly denied", `"Action":"kms:Decrypt"`},
		{"explicit", GatewayVerdict{Reason: "explicitly denied by statement 1 of key policy", Message: "m"}, Fail, "m (explicitly denied", "an explicit Deny wins"},
		{"key policy", GatewayVerdict{Reason: "implicitly denied: …; the key policy of k has no statement allowing the account (arn:aws:iam::000000000000:root), so identity-based policies cannot grant access to the key", Message: "m"}, Fail, "m (", "arn:aws:iam::000000000000:root"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := gatewayCheck(q, tc.v)
			if c.Status != tc.status || c.Name != CheckPermissions || !strings.Contains(c.Detail, tc.detail) || !strings.Contains(c.Fix, tc.fixContain) {
				t.Errorf("check = %+v", c)
			}
		})
	}
}
