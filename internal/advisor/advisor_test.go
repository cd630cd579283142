package advisor

import (
	"testing"
	"time"

	"github.com/irsa-local/irsa-local/internal/golden"
	"github.com/irsa-local/irsa-local/internal/trail"
	"github.com/irsa-local/irsa-local/pkg/policy"
)

const role = "arn:aws:iam::000000000000:role/app"

func record(at time.Time, issuer string, checks ...trail.Check) trail.Record {
	r := trail.Record{EventTime: at, IrsaLocal: &trail.Decision{Checks: checks}}
	if issuer != "" {
		r.UserIdentity = trail.UserIdentity{Type: "AssumedRole", SessionContext: &trail.SessionContext{SessionIssuer: trail.SessionIssuer{ARN: issuer}}}
	} else {
		r.UserIdentity = trail.UserIdentity{Type: "Root"}
	}
	return r
}

func TestCallsKeepsTheRolesSessionsInTheWindow(t *testing.T) {
	now := time.Now()
	get := trail.Check{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", Allowed: true}
	put := trail.Check{Action: "s3:PutObject", Resource: "arn:aws:s3:::b/k", Allowed: false}
	calls := Calls([]trail.Record{
		record(now.Add(-time.Hour), role, put),                      // before the window
		record(now, role, get, put),                                 // counted
		record(now, role, get),                                      // counted again
		record(now, "arn:aws:iam::000000000000:role/other", put),    // another role
		record(now, "", trail.Check{Action: "s3:ListAllMyBuckets"}), // the root
	}, role, now.Add(-time.Minute))
	want := []Call{{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", Allowed: 2}, {Action: "s3:PutObject", Resource: "arn:aws:s3:::b/k", Refused: 1}}
	if len(calls) != len(want) {
		t.Fatalf("calls %+v, want %+v", calls, want)
	}
	for i := range want {
		if calls[i] != want[i] {
			t.Errorf("call %d = %+v, want %+v", i, calls[i], want[i])
		}
	}
}

// TestSuggestGolden pins the shape of a suggestion: actions on the same
// resources share a statement, "*" only where the trail recorded it, Sids
// after the service.
func TestSuggestGolden(t *testing.T) {
	p := Suggest([]Call{
		{Action: "s3:GetObject", Resource: "arn:aws:s3:::reports/2026/jan.csv"},
		{Action: "s3:ListBucket", Resource: "arn:aws:s3:::reports"},
		{Action: "s3:GetObject", Resource: "arn:aws:s3:::reports/2026/feb.csv"},
		{Action: "s3:GetObjectTagging", Resource: "arn:aws:s3:::reports/2026/feb.csv"},
		{Action: "s3:GetObjectTagging", Resource: "arn:aws:s3:::reports/2026/jan.csv"},
		{Action: "s3:ListAllMyBuckets", Resource: "*"},
		{Action: "sqs:SendMessage", Resource: "arn:aws:sqs:us-east-1:000000000000:orders"},
		{Action: "secretsmanager:GetSecretValue", Resource: "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf"},
	})
	golden.Assert(t, "testdata/suggest.golden.json", []byte(p.JSON()+"\n"))
	if _, err := policy.Parse(p.JSON(), policy.Identity); err != nil {
		t.Errorf("the suggestion is not a valid identity policy: %v", err)
	}
}

func TestCompare(t *testing.T) {
	doc, err := policy.Parse(`{"Version":"2012-10-17","Statement":[
	  {"Sid":"Read","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::reports/*"},
	  {"Sid":"Exact","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::reports"},
	  {"Sid":"Never","Effect":"Allow","Action":"sqs:*","Resource":"*"},
	  {"Sid":"Guard","Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}]}`, policy.Identity)
	if err != nil {
		t.Fatal(err)
	}
	calls := []Call{
		{Action: "s3:GetObject", Resource: "arn:aws:s3:::reports/2026/jan.csv", Allowed: 3},
		{Action: "s3:ListBucket", Resource: "arn:aws:s3:::reports", Allowed: 1},
		{Action: "s3:PutObject", Resource: "arn:aws:s3:::exports/out.csv", Refused: 2},
	}
	c := Compare([]policy.NamedDocument{{Name: "inline policy app", Doc: doc}}, calls)
	if len(c.Unused) != 1 || c.Unused[0].Sid != "Never" {
		t.Errorf("unused %+v, want statement Never", c.Unused)
	}
	if len(c.Broader) != 1 || c.Broader[0].Sid != "Read" || len(c.Broader[0].Used) != 1 {
		t.Errorf("broader %+v, want statement Read, used once", c.Broader)
	}
	if len(c.Missing) != 1 || c.Missing[0].Action != "s3:PutObject" || c.Add == nil || len(c.Add.Statement) != 1 {
		t.Errorf("missing %+v, add %+v, want the refused PutObject and a statement for it", c.Missing, c.Add)
	}
}
