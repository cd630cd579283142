package policy

import (
	"strings"
	"testing"
)

func mustParse(t testing.TB, doc string, kind Kind) *Document {
	t.Helper()
	d, err := Parse(doc, kind)
	if err != nil {
		t.Fatalf("parse %s policy: %v", kind, err)
	}
	return d
}

func named(t testing.TB, name string, kind Kind, doc string) []NamedDocument {
	t.Helper()
	return []NamedDocument{{Name: name, Doc: mustParse(t, doc, kind)}}
}

func bucketPolicy(statements ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(statements, ",") + `]}`
}

func TestAuthorize(t *testing.T) {
	readOnly := named(t, "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", Identity, s3ReadOnly)
	s3All := named(t, "inline policy s3-all", Identity,
		identityDoc(Version2012, `{"Effect":"Allow","Action":"s3:*","Resource":"*"}`))
	publicOnly := named(t, "session policy", Identity,
		identityDoc(Version2012, `{"Sid":"PublicOnly","Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::bucket/public/*"}`))
	getOnly := named(t, "session policy", Identity,
		identityDoc(Version2012, `{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}`))
	ec2Only := named(t, "session policy", Identity,
		identityDoc(Version2012, `{"Effect":"Allow","Action":"ec2:*","Resource":"*"}`))
	sessionDeny := named(t, "session policy", Identity,
		identityDoc(Version2012, `{"Effect":"Allow","Action":"s3:*","Resource":"*"}`,
			`{"Sid":"NoDelete","Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}`))
	bucketDeny := named(t, "bucket policy of bucket", Resource, bucketPolicy(
		`{"Sid":"DenyApp","Effect":"Deny","Principal":{"AWS":"`+roleARN+`"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/secret/*"}`))
	bucketSession := named(t, "bucket policy of bucket", Resource, bucketPolicy(
		`{"Sid":"Session","Effect":"Allow","Principal":{"AWS":"`+sessionARN+`"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::bucket/*"}`))
	bucketRole := named(t, "bucket policy of bucket", Resource, bucketPolicy(
		`{"Sid":"Role","Effect":"Allow","Principal":{"AWS":"`+roleARN+`"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::bucket/*"}`))
	bucketAccount := named(t, "bucket policy of bucket", Resource, bucketPolicy(
		`{"Sid":"Account","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::bucket/*"}`))
	bucketPublic := named(t, "bucket policy of bucket", Resource, bucketPolicy(
		`{"Sid":"Public","Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::bucket/*"}`))
	bucketOther := named(t, "bucket policy of bucket", Resource, bucketPolicy(
		`{"Sid":"Other","Effect":"Allow","Principal":{"AWS":"`+roleARN+`"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::bucket/uploads/*"}`))

	put := func(key string) Request { return s3Request("s3:PutObject", objectPrefix+key, nil) }
	get := func(key string) Request { return s3Request("s3:GetObject", objectPrefix+key, nil) }

	tests := []struct {
		name                        string
		req                         Request
		identity, session, resource []NamedDocument
		want                        Decision
		decider, reason             string
		nearResource                bool
	}{
		{name: "identity alone allows when there are no session policies",
			req: get("k"), identity: readOnly, want: Allow,
			decider: "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess#0"},
		{name: "identity and session both allow",
			req: get("public/k"), identity: readOnly, session: publicOnly, want: Allow,
			decider: "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess#0",
			reason:  `and statement 0 ("PublicOnly") of session policy`},
		{name: "session policy narrows the identity policy by resource",
			req: get("private/k"), identity: readOnly, session: publicOnly, want: ImplicitDeny,
			reason:       "allows s3:GetObject but no session policy does",
			nearResource: true},
		{name: "session policy narrows the identity policy by action",
			req: put("k"), identity: s3All, session: getOnly, want: ImplicitDeny,
			reason: "statement 0 of inline policy s3-all allows s3:PutObject but no session policy does"},
		{name: "session policy alone grants nothing",
			req: get("k"), session: getOnly, want: ImplicitDeny,
			reason: "statement 0 of session policy allows it, but session policies only narrow what other policies grant"},
		{name: "explicit deny in a session policy",
			req: s3Request("s3:DeleteObject", objectPrefix+"k", nil), identity: s3All, session: sessionDeny,
			want: ExplicitDeny, decider: "session policy#1"},
		{name: "bucket policy deny wins over the role's allow",
			req: get("secret/k"), identity: readOnly, resource: bucketDeny,
			want: ExplicitDeny, decider: "bucket policy of bucket#0",
			reason: `explicitly denied by statement 0 ("DenyApp") of bucket policy of bucket`},
		{name: "bucket policy deny elsewhere leaves the role's allow",
			req: get("public/k"), identity: readOnly, resource: bucketDeny, want: Allow},
		{name: "bucket policy naming the session grants without an identity allow",
			req: put("k"), identity: readOnly, resource: bucketSession, want: Allow,
			decider: "bucket policy of bucket#0", reason: "names the role session"},
		{name: "bucket policy naming the session is not limited by session policies",
			req: put("k"), identity: readOnly, session: ec2Only, resource: bucketSession, want: Allow,
			decider: "bucket policy of bucket#0"},
		{name: "bucket policy naming the role grants without an identity allow",
			req: put("k"), resource: bucketRole, want: Allow, decider: "bucket policy of bucket#0"},
		{name: "bucket policy naming the role is limited by session policies",
			req: put("k"), resource: bucketRole, session: ec2Only, want: ImplicitDeny,
			reason: `statement 0 ("Role") of bucket policy of bucket allows s3:PutObject but no session policy does`},
		{name: "bucket policy naming the role and a session policy that allows",
			req: put("k"), resource: bucketRole, session: s3All, want: Allow, decider: "bucket policy of bucket#0"},
		{name: "bucket policy naming the account is limited by session policies",
			req: put("k"), resource: bucketAccount, session: getOnly, want: ImplicitDeny},
		// Naming the account delegates to the account: the role's own
		// policies must allow (AWS's same-account rule for resource
		// policies); a Deny naming the account still denies.
		{name: "bucket policy naming the account grants nothing by itself",
			req: put("k"), resource: bucketAccount, want: ImplicitDeny,
			reason: `statement 0 ("Account") of bucket policy of bucket names the account, which delegates to the account's identity policies rather than granting`},
		{name: "bucket policy naming the account, with an identity grant",
			req: put("k"), identity: s3All, resource: bucketAccount, want: Allow, decider: "inline policy s3-all#0"},
		{name: "bucket policy naming the account by its ID grants nothing by itself",
			req: put("k"), resource: named(t, "bucket policy of bucket", Resource, bucketPolicy(
				`{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::bucket/*"}`)),
			want: ImplicitDeny},
		{name: "a Deny naming the account denies",
			req: put("k"), identity: s3All, resource: named(t, "bucket policy of bucket", Resource, bucketPolicy(
				`{"Effect":"Deny","Principal":{"AWS":"123456789012"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::bucket/*"}`)),
			want: ExplicitDeny},
		{name: "public bucket policy is limited by session policies",
			req: put("k"), resource: bucketPublic, session: getOnly, want: ImplicitDeny},
		{name: "nothing allows: the near miss is explained",
			req: put("k"), identity: readOnly, resource: bucketOther, want: ImplicitDeny,
			reason:       `statement 0 ("Other") of bucket policy of bucket allows s3:PutObject but not on "arn:aws:s3:::bucket/k"`,
			nearResource: true},
		{name: "nothing allows and nothing came close",
			req: s3Request("s3:DeleteObject", objectPrefix+"k", nil), identity: readOnly, resource: bucketRole,
			want:   ImplicitDeny,
			reason: "no statement in arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess, bucket policy of bucket allows s3:DeleteObject",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Authorize(tt.req, tt.identity, tt.session, tt.resource)
			checkResult(t, got, tt.want, tt.decider, nil, tt.nearResource, tt.reason)
		})
	}
}
