package policy

import (
	"strings"
	"testing"
	"time"
)

// TestAuthorizeCrossAccount is the table of cross-account decisions: the
// caller (a session of role app in 123456789012) acts on a bucket of
// another account. Every row says which side refuses, or that both allow.
func TestAuthorizeCrossAccount(t *testing.T) {
	s3All := named(t, "inline policy s3-all", Identity, identityDoc(Version2012, `{"Effect":"Allow","Action":"s3:*","Resource":"*"}`))
	denyDelete := named(t, "inline policy no-delete", Identity, identityDoc(Version2012,
		`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`, `{"Sid":"NoDelete","Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}`))
	getOnly := named(t, "session policy", Identity, identityDoc(Version2012, `{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}`))
	byRole := named(t, "bucket policy of bucket", Resource, bucketPolicy(
		`{"Sid":"Role","Effect":"Allow","Principal":{"AWS":"`+roleARN+`"},"Action":["s3:GetObject","s3:PutObject","s3:DeleteObject"],"Resource":"arn:aws:s3:::bucket/*"}`))
	bySession := named(t, "bucket policy of bucket", Resource, bucketPolicy(
		`{"Sid":"Session","Effect":"Allow","Principal":{"AWS":"`+sessionARN+`"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::bucket/*"}`))
	byAccount := named(t, "bucket policy of bucket", Resource, bucketPolicy(
		`{"Sid":"Account","Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}`))
	byTag := named(t, "bucket policy of bucket", Resource, bucketPolicy(
		`{"Sid":"Team","Effect":"Allow","Principal":{"AWS":"`+roleARN+`"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"payments"}}}`))
	denyAll := named(t, "bucket policy of bucket", Resource, bucketPolicy(
		`{"Sid":"Nobody","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::bucket/*"}`))
	otherRole := named(t, "bucket policy of bucket", Resource, bucketPolicy(
		`{"Sid":"Other","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/other"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}`))

	tagged := func(team string) Context {
		ctx := NewContext()
		ctx.Set("aws:PrincipalTag/team", team)
		return ctx
	}
	tests := []struct {
		name                        string
		req                         Request
		identity, session, resource []NamedDocument
		want                        Decision
		refused                     Side
		reason                      string
	}{
		{"both allow by role", s3Request("s3:GetObject", objectPrefix+"a", nil), s3All, nil, byRole, Allow, NoSide, "allowed across accounts by statement 0 of inline policy s3-all in the caller's account and statement 0 (\"Role\") of bucket policy of bucket in the resource's account"},
		{"a resource policy naming the account suffices on its side", s3Request("s3:GetObject", objectPrefix+"a", nil), s3All, nil, byAccount, Allow, NoSide, "statement 0 (\"Account\") of bucket policy of bucket"},
		{"naming the session suffices too", s3Request("s3:PutObject", objectPrefix+"a", nil), s3All, nil, bySession, Allow, NoSide, "\"Session\""},
		{"no resource policy: the owner refuses", s3Request("s3:GetObject", objectPrefix+"a", nil), s3All, nil, nil, ImplicitDeny, ResourceSide, "the resource has none"},
		{"a resource policy for another role: the owner refuses", s3Request("s3:GetObject", objectPrefix+"a", nil), s3All, nil, otherRole, ImplicitDeny, ResourceSide, "the resource's account refuses it"},
		{"the caller's identity does not allow: the caller refuses", s3Request("s3:GetObject", objectPrefix+"a", nil), nil, nil, byRole, ImplicitDeny, CallerSide, "the caller's account refuses it: no identity-based policy allows s3:GetObject"},
		{"naming the session does not lift the identity requirement across accounts", s3Request("s3:PutObject", objectPrefix+"a", nil), nil, nil, bySession, ImplicitDeny, CallerSide, "the caller's account refuses it"},
		{"neither side: the caller's is named first, and the other too", s3Request("s3:GetObject", objectPrefix+"a", nil), nil, nil, nil, ImplicitDeny, CallerSide, "and the resource's account refuses it too"},
		{"a session policy narrows the caller's side", s3Request("s3:PutObject", objectPrefix+"a", nil), s3All, getOnly, byRole, ImplicitDeny, CallerSide, "but no session policy does"},
		{"a session policy that allows keeps it allowed", s3Request("s3:GetObject", objectPrefix+"a", nil), s3All, getOnly, byRole, Allow, NoSide, "and statement 0 of session policy"},
		{"an explicit deny on the caller's side", s3Request("s3:DeleteObject", objectPrefix+"a", nil), denyDelete, nil, byRole, ExplicitDeny, CallerSide, "explicitly denied by statement 1 (\"NoDelete\")"},
		{"an explicit deny on the owner's side", s3Request("s3:GetObject", objectPrefix+"a", nil), s3All, nil, denyAll, ExplicitDeny, ResourceSide, "explicitly denied by statement 0 (\"Nobody\")"},
		{"a principal tag condition holds", s3Request("s3:GetObject", objectPrefix+"a", tagged("payments")), s3All, nil, byTag, Allow, NoSide, "\"Team\""},
		{"a principal tag condition fails: the owner refuses", s3Request("s3:GetObject", objectPrefix+"a", tagged("marketing")), s3All, nil, byTag, ImplicitDeny, ResourceSide, `"aws:PrincipalTag/team"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AuthorizeCrossAccount(tt.req, tt.identity, tt.session, tt.resource)
			if got.Decision != tt.want || got.Refused != tt.refused {
				t.Fatalf("decision %v refused by %d, want %v by %d: %s", got.Decision, got.Refused, tt.want, tt.refused, got.Reason)
			}
			if !strings.Contains(got.Reason, tt.reason) {
				t.Errorf("reason %q lacks %q", got.Reason, tt.reason)
			}
		})
	}
}

// TestPrincipalTagVariables: ${aws:PrincipalTag/…} resolves from the
// session's tags in a resource ARN, and SessionContext sets the tag and
// source identity keys.
func TestPrincipalTagVariables(t *testing.T) {
	ctx := SessionContext(SessionInfo{RoleARN: roleARN, RoleID: "AROAEXAMPLE", SessionName: "s", Tags: map[string]string{"team": "payments"}, SourceIdentity: "alice"}, "us-east-1", time.Now())
	if v, _ := ctx.Get("aws:PrincipalTag/team"); len(v) != 1 || v[0] != "payments" {
		t.Fatalf("aws:PrincipalTag/team = %v", v)
	}
	if v, _ := ctx.Get("aws:SourceIdentity"); len(v) != 1 || v[0] != "alice" {
		t.Fatalf("aws:SourceIdentity = %v", v)
	}
	// A session that did not come from a web identity has no provider
	// keys; a role ARN that is no ARN has no account.
	if v, ok := ctx.Get("aws:FederatedProvider"); ok {
		t.Errorf("aws:FederatedProvider = %v for a chained session", v)
	}
	odd := SessionContext(SessionInfo{RoleARN: "not:an:arn", RoleID: "AROAEXAMPLE", SessionName: "s"}, "us-east-1", time.Now())
	if v, _ := odd.Get("aws:PrincipalAccount"); len(v) != 1 || v[0] != "" {
		t.Errorf("aws:PrincipalAccount of a malformed ARN = %q", v)
	}
	docs := named(t, "inline policy team-prefix", Identity, identityDoc(Version2012,
		`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/${aws:PrincipalTag/team}/*"}`))
	for key, want := range map[string]Decision{"payments/q3.csv": Allow, "marketing/q3.csv": ImplicitDeny} {
		req := s3Request("s3:GetObject", objectPrefix+key, ctx)
		if got := Evaluate(req, docs...); got.Decision != want {
			t.Errorf("%s: %v, want %v (%s)", key, got.Decision, want, got.Reason)
		}
	}
}
