package policy

import (
	"errors"
	"testing"
)

// Edges that mutation testing found untested: character classes at their
// ends, variables at the start of a resource part, empty defaults, and
// principals that match a caller other than directly.

func TestCharacterClassEdges(t *testing.T) {
	stmt := func(sid, action string) string {
		return identityDoc(Version2012, `{"Sid":"`+sid+`","Effect":"Allow","Action":"`+action+`","Resource":"*"}`)
	}
	for _, sid := range []string{"AZaz09", "A", "z", "0", "9"} {
		if _, err := Parse(stmt(sid, "s3:GetObject"), Identity); err != nil {
			t.Errorf("Sid %q: %v", sid, err)
		}
	}
	// The characters next to each range: / : @ [ ` {
	for _, sid := range []string{"a/", "a:", "a@", "a[", "a`", "a{"} {
		if _, err := Parse(stmt(sid, "s3:GetObject"), Identity); err == nil {
			t.Errorf("Sid %q accepted", sid)
		}
	}
	for _, vendor := range []string{"AZaz09", "a-b.c", "z", "Z", "0", "9"} {
		if _, err := Parse(stmt("S", vendor+":Get"), Identity); err != nil {
			t.Errorf("vendor %q: %v", vendor, err)
		}
	}
	for _, vendor := range []string{"a/", "a@", "a[", "a`", "a{", "a,"} {
		if _, err := Parse(stmt("S", vendor+":Get"), Identity); err == nil {
			t.Errorf("vendor %q accepted", vendor)
		}
	}
}

func TestPrincipalIDEdges(t *testing.T) {
	trust := func(typ, id string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"` + typ + `":"` + id + `"},"Action":"sts:AssumeRole"}]}`
	}
	for _, c := range []struct {
		typ, id string
		ok      bool
	}{
		{"AWS", "AROA123456789012", true},           // a unique ID of 16 characters
		{"AWS", "AROA12345678901", false},           // 15
		{"AWS", "BROA123456789012", false},          // not A…
		{"AWS", "AROA12345678901a", false},          // lower case
		{"AWS", "AROAZZZZZZZZZZZZ", true},           // Z, the end of A-Z
		{"AWS", "123456789012", true},               // an account
		{"AWS", "12345678901/", false},              // '/' is just below '0'
		{"AWS", "12345678901:", false},              // ':' is just above '9'
		{"Federated", "a.b", true},                  // two labels
		{"Federated", "localhost", false},           // one
		{"Federated", "a..b", false},                // an empty label
		{"Federated", "Accounts.google.com", false}, // upper case
		{"Federated", "arn:aws:iam::123456789012:oidc-provider/", false},
		{"Federated", "arn:aws:iam:us-east-1:123456789012:oidc-provider/x", false},
		{"Federated", "arn:aws:sts::123456789012:oidc-provider/x", false},
		{"Federated", "arn:aws:iam::123456789012:saml-provider/corp", true},
	} {
		_, err := Parse(trust(c.typ, c.id), Trust)
		if (err == nil) != c.ok {
			t.Errorf("%s principal %q: %v, want accepted=%v", c.typ, c.id, err, c.ok)
		}
	}
}

func TestVariablesAndDefaults(t *testing.T) {
	allow := func(resource string) []NamedDocument {
		return named(t, "p", Identity, identityDoc(Version2012, `{"Effect":"Allow","Action":"s3:GetObject","Resource":"`+resource+`"}`))
	}
	cases := []struct {
		resource, requested string
		ctx                 Context
		want                Decision
	}{
		// A variable right at the start of the resource part.
		{"arn:aws:s3:::${aws:username}-home/*", "arn:aws:s3:::alice-home/x", kv("aws:username", "alice"), Allow},
		{"arn:aws:s3:::${aws:username}-home/*", "arn:aws:s3:::bob-home/x", kv("aws:username", "alice"), ImplicitDeny},
		// An empty default stands for the missing key.
		{"arn:aws:s3:::b/${aws:username, ''}x", "arn:aws:s3:::b/x", nil, Allow},
		// Before the resource part, ${...} is plain text, and its colon is
		// not one of the ARN's.
		{"arn:aws:s3:${aws:username}::b/x", "arn:aws:s3:${aws:username}::b/x", kv("aws:username", "alice"), Allow},
		{"arn:aws:s3:${aws:username}::b/x", "arn:aws:s3:alice::b/x", kv("aws:username", "alice"), ImplicitDeny},
	}
	for _, c := range cases {
		req := s3Request("s3:GetObject", c.requested, c.ctx)
		if got := Evaluate(req, allow(c.resource)...).Decision; got != c.want {
			t.Errorf("%s for %s: %v, want %v", c.resource, c.requested, got, c.want)
		}
	}
}

func TestConditionEdges(t *testing.T) {
	cases := []struct {
		cond string
		ctx  Context
		want Decision
	}{
		{`{"NumericLessThanEquals":{"s3:max-keys":"10"}}`, kv("s3:max-keys", "10"), Allow},
		{`{"NumericLessThanEquals":{"s3:max-keys":"10"}}`, kv("s3:max-keys", "11"), ImplicitDeny},
		{`{"NumericGreaterThanEquals":{"s3:max-keys":"10"}}`, kv("s3:max-keys", "10"), Allow},
		{`{"NumericGreaterThan":{"s3:max-keys":"10"}}`, kv("s3:max-keys", "10"), ImplicitDeny},
		// An IPv4-mapped /96 is every IPv4 address.
		{`{"IpAddress":{"aws:SourceIp":"::ffff:0.0.0.0/96"}}`, kv("aws:SourceIp", "192.0.2.1"), Allow},
		{`{"IpAddress":{"aws:SourceIp":"::ffff:192.0.2.0/120"}}`, kv("aws:SourceIp", "192.0.2.1"), Allow},
		{`{"IpAddress":{"aws:SourceIp":"::ffff:192.0.2.0/120"}}`, kv("aws:SourceIp", "192.0.3.1"), ImplicitDeny},
	}
	for _, c := range cases {
		docs := named(t, "p", Identity, allowWith(c.cond))
		if got := Evaluate(getObject(c.ctx), docs...).Decision; got != c.want {
			t.Errorf("%s with %v: %v, want %v", c.cond, c.ctx, got, c.want)
		}
	}
	// Action matching ignores case at the ends of A-Z.
	docs := named(t, "p", Identity, identityDoc(Version2012, `{"Effect":"Allow","Action":["s3:abortmultipartupload","svc:zap"],"Resource":"*"}`))
	for _, action := range []string{"s3:AbortMultipartUpload", "svc:ZAP"} {
		if got := Evaluate(s3Request(action, "arn:aws:s3:::b/k", nil), docs...).Decision; got != Allow {
			t.Errorf("%s against lower-case patterns: %v", action, got)
		}
	}
}

func TestResourcePolicyGrantsAreDirectOnlyForTheCaller(t *testing.T) {
	getOnly := named(t, "session policy", Identity, identityDoc(Version2012, `{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}`))
	put := s3Request("s3:PutObject", objectPrefix+"k", nil)
	// Naming the account and another role: still only delegation.
	accountAndOther := named(t, "bucket policy", Resource, bucketPolicy(
		`{"Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::123456789012:role/other"]},"Action":"s3:PutObject","Resource":"arn:aws:s3:::bucket/*"}`))
	if got := Authorize(put, nil, nil, accountAndOther); got.Decision != ImplicitDeny {
		t.Errorf("account plus another role: %v (%s)", got.Decision, got.Reason)
	}
	// Naming the role and another session: session policies still limit.
	roleAndOtherSession := named(t, "bucket policy", Resource, bucketPolicy(
		`{"Effect":"Allow","Principal":{"AWS":["arn:aws:sts::123456789012:assumed-role/app/other","`+roleARN+`"]},"Action":"s3:PutObject","Resource":"arn:aws:s3:::bucket/*"}`))
	if got := Authorize(put, nil, getOnly, roleAndOtherSession); got.Decision != ImplicitDeny {
		t.Errorf("role plus another session, under a get-only session policy: %v (%s)", got.Decision, got.Reason)
	}
	// A grant naming the role first, then one naming this session: the
	// second reaches past the session policy.
	roleThenSession := named(t, "bucket policy", Resource, bucketPolicy(
		`{"Sid":"Role","Effect":"Allow","Principal":{"AWS":"`+roleARN+`"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::bucket/*"}`,
		`{"Sid":"Session","Effect":"Allow","Principal":{"AWS":"`+sessionARN+`"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::bucket/*"}`))
	if got := Authorize(put, nil, getOnly, roleThenSession); got.Decision != Allow {
		t.Errorf("role then session grant, under a get-only session policy: %v (%s)", got.Decision, got.Reason)
	}
}

// An invalid principal is quoted as IAM quotes it: a one-element array as
// its element.
func TestInvalidPrincipalIsQuotedAsIAMDoes(t *testing.T) {
	for doc, want := range map[string]string{
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Foo":["x"]},"Action":"sts:AssumeRole"}]}`:     `Invalid principal in policy: "FOO":"x"`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Foo":["x","y"]},"Action":"sts:AssumeRole"}]}`: `Invalid principal in policy: "FOO":["x","y"]`,
	} {
		_, err := Parse(doc, Trust)
		var me *MalformedError
		if !errors.As(err, &me) || me.Message != want {
			t.Errorf("%s: %v, want %q", doc, err, want)
		}
	}
}
