package policy

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

const (
	testAccount     = "123456789012"
	oidcHost        = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"
	testProviderARN = "arn:aws:iam::123456789012:oidc-provider/" + oidcHost
	roleARN         = "arn:aws:iam::123456789012:role/app"
	sessionARN      = "arn:aws:sts::123456789012:assumed-role/app/botocore-session-1"
	webIdentity     = "sts:AssumeRoleWithWebIdentity"
	subKey          = oidcHost + ":sub"
	audKey          = oidcHost + ":aud"
	appSubject      = "system:serviceaccount:default:app"
	stsAudience     = "sts.amazonaws.com"
	s3ReadOnly      = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*","s3:Describe*","s3-object-lambda:Get*","s3-object-lambda:List*"],"Resource":"*"}]}`
	objectPrefix    = "arn:aws:s3:::bucket/"
)

// eksTrust is the trust policy eksctl and the EKS guide write for one
// service account.
var eksTrust = `{
  "Version": "2012-10-17",
  "Statement": [{
    "Sid": "AllowEKS",
    "Effect": "Allow",
    "Principal": {"Federated": "` + testProviderARN + `"},
    "Action": "sts:AssumeRoleWithWebIdentity",
    "Condition": {"StringEquals": {
      "` + subKey + `": "` + appSubject + `",
      "` + audKey + `": "sts.amazonaws.com"
    }}
  }]
}`

// trustWith returns a one-statement trust policy for the EKS provider with
// the given Condition block.
func trustWith(condition string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + testProviderARN +
		`"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":` + condition + `}]}`
}

// allowWith returns a one-statement identity policy allowing s3:GetObject on
// bucket objects under the given Condition block.
func allowWith(condition string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*","Condition":` + condition + `}]}`
}

// identityDoc returns an identity policy with the given statements.
func identityDoc(version string, statements ...string) string {
	v := ""
	if version != "" {
		v = `"Version":"` + version + `",`
	}
	return `{` + v + `"Statement":[` + strings.Join(statements, ",") + `]}`
}

// webIdentityRequest is AssumeRoleWithWebIdentity from the EKS provider
// with a token for subject and audience ("" leaves the key out).
func webIdentityRequest(subject, audience string) Request {
	ctx := NewContext()
	if subject != "" {
		ctx.Set(subKey, subject)
	}
	if audience != "" {
		ctx.Set(audKey, audience)
	}
	return Request{
		Principal: Principal{Type: PrincipalFederated, IDs: []string{testProviderARN}},
		Action:    webIdentity,
		Context:   ctx,
	}
}

func s3Request(action, resource string, ctx Context) Request {
	return Request{
		Principal: sessionPrincipal(),
		Action:    action,
		Resource:  resource,
		Context:   ctx,
	}
}

func getObject(ctx Context) Request { return s3Request("s3:GetObject", objectPrefix+"key", ctx) }

func sessionPrincipal() Principal {
	return Principal{Type: PrincipalAWS, IDs: []string{sessionARN, roleARN, testAccount}}
}

// kv builds a Context through Set from key, value pairs.
func kv(pairs ...string) Context {
	ctx := NewContext()
	for i := 0; i+1 < len(pairs); i += 2 {
		ctx.Set(pairs[i], pairs[i+1])
	}
	return ctx
}

func withPrincipal(r Request, p Principal) Request {
	r.Principal = p
	return r
}

type evalCase struct {
	name     string
	kind     Kind
	policies []string // named p0, p1, ...
	req      Request
	want     Decision
	decider  string         // "p<doc>#<statement>"; "" skips the check
	miss     *ConditionMiss // expected Near[0].Condition
	resMiss  bool           // expected Near[0].Resource
	reason   string         // expected substring of Reason
}

func evalCases() []evalCase {
	return []evalCase{
		// EKS trust policies.
		{name: "eks trust: matching service account and audience", kind: Trust, policies: []string{eksTrust},
			req: webIdentityRequest(appSubject, stsAudience), want: Allow, decider: "p0#0",
			reason: `allowed by statement 0 ("AllowEKS") of p0`},
		{name: "eks trust: wrong service account", kind: Trust, policies: []string{eksTrust},
			req: webIdentityRequest("system:serviceaccount:default:other", stsAudience), want: ImplicitDeny,
			miss: &ConditionMiss{Operator: "StringEquals", Key: subKey, Want: []string{appSubject},
				Got: []string{"system:serviceaccount:default:other"}, Present: true},
			reason: `implicitly denied: condition StringEquals on "` + subKey + `" expected "` + appSubject +
				`" but the request had "system:serviceaccount:default:other" (statement 0 ("AllowEKS") of p0)`},
		{name: "eks trust: wrong namespace", kind: Trust, policies: []string{eksTrust},
			req: webIdentityRequest("system:serviceaccount:kube-system:app", stsAudience), want: ImplicitDeny,
			miss: &ConditionMiss{Operator: "StringEquals", Key: subKey, Want: []string{appSubject},
				Got: []string{"system:serviceaccount:kube-system:app"}, Present: true}},
		{name: "eks trust: wrong audience", kind: Trust, policies: []string{eksTrust},
			req: webIdentityRequest(appSubject, "https://kubernetes.default.svc"), want: ImplicitDeny,
			miss: &ConditionMiss{Operator: "StringEquals", Key: audKey, Want: []string{stsAudience},
				Got: []string{"https://kubernetes.default.svc"}, Present: true}},
		{name: "eks trust: audience key absent", kind: Trust, policies: []string{eksTrust},
			req: webIdentityRequest(appSubject, ""), want: ImplicitDeny,
			miss:   &ConditionMiss{Operator: "StringEquals", Key: audKey, Want: []string{stsAudience}, Present: false},
			reason: "but the request had no value for it"},
		{name: "eks trust: another provider", kind: Trust, policies: []string{eksTrust},
			req: withPrincipal(webIdentityRequest(appSubject, stsAudience),
				Principal{Type: PrincipalFederated, IDs: []string{"arn:aws:iam::123456789012:oidc-provider/example.com"}}),
			want:   ImplicitDeny,
			reason: `no statement in p0 allows sts:AssumeRoleWithWebIdentity for Federated "arn:aws:iam::123456789012:oidc-provider/example.com"`},
		{name: "eks trust: other action", kind: Trust, policies: []string{eksTrust},
			req: func() Request {
				r := webIdentityRequest(appSubject, stsAudience)
				r.Action = "sts:AssumeRole"
				return r
			}(),
			want: ImplicitDeny},
		{name: "eks trust: key names are case-insensitive", kind: Trust, policies: []string{eksTrust},
			req: func() Request {
				r := webIdentityRequest("", "")
				r.Context.Set(strings.ToUpper(subKey), appSubject)
				r.Context.Set("OIDC.EKS.US-WEST-2.AMAZONAWS.COM/ID/EXAMPLED539D4633E53DE1B716D3041E:AUD", stsAudience)
				return r
			}(),
			want: Allow},
		{name: "eks trust: key names case-insensitive in a map literal", kind: Trust, policies: []string{eksTrust},
			req: Request{Principal: Principal{Type: PrincipalFederated, IDs: []string{testProviderARN}}, Action: webIdentity,
				Context: Context{strings.ToUpper(subKey): {appSubject}, audKey: {stsAudience}}},
			want: Allow},
		{name: "eks trust: values are case-sensitive", kind: Trust, policies: []string{eksTrust},
			req: webIdentityRequest("system:serviceaccount:default:App", stsAudience), want: ImplicitDeny,
			miss: &ConditionMiss{Operator: "StringEquals", Key: subKey, Want: []string{appSubject},
				Got: []string{"system:serviceaccount:default:App"}, Present: true}},
		{name: "eks trust: action is case-insensitive", kind: Trust, policies: []string{eksTrust},
			req: func() Request {
				r := webIdentityRequest(appSubject, stsAudience)
				r.Action = "STS:assumerolewithwebidentity"
				return r
			}(),
			want: Allow},
		{name: "eks trust: StringLike on the namespace", kind: Trust,
			policies: []string{trustWith(`{"StringLike":{"` + subKey + `":"system:serviceaccount:payments:*"}}`)},
			req:      webIdentityRequest("system:serviceaccount:payments:api", stsAudience), want: Allow},
		{name: "eks trust: StringLike in another namespace", kind: Trust,
			policies: []string{trustWith(`{"StringLike":{"` + subKey + `":"system:serviceaccount:payments:*"}}`)},
			req:      webIdentityRequest("system:serviceaccount:default:api", stsAudience), want: ImplicitDeny,
			miss: &ConditionMiss{Operator: "StringLike", Key: subKey, Want: []string{"system:serviceaccount:payments:*"},
				Got: []string{"system:serviceaccount:default:api"}, Present: true}},
		{name: "eks trust: StringLike ? matches one character", kind: Trust,
			policies: []string{trustWith(`{"StringLike":{"` + subKey + `":"system:serviceaccount:ns:app-?"}}`)},
			req:      webIdentityRequest("system:serviceaccount:ns:app-1", ""), want: Allow},
		{name: "eks trust: StringLike ? does not match two", kind: Trust,
			policies: []string{trustWith(`{"StringLike":{"` + subKey + `":"system:serviceaccount:ns:app-?"}}`)},
			req:      webIdentityRequest("system:serviceaccount:ns:app-10", ""), want: ImplicitDeny},
		{name: "eks trust: anonymous caller", kind: Trust, policies: []string{eksTrust},
			req:  withPrincipal(webIdentityRequest(appSubject, stsAudience), Principal{}),
			want: ImplicitDeny, reason: "for anonymous callers"},

		// Principals.
		{name: "principal *: matches a federated caller", kind: Trust,
			policies: []string{`{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity"}}`},
			req:      webIdentityRequest(appSubject, stsAudience), want: Allow},
		{name: "principal: NotPrincipal deny of everyone but the provider", kind: Trust,
			policies: []string{`{"Statement":[
				{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity"},
				{"Effect":"Deny","NotPrincipal":{"Federated":"` + testProviderARN + `"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`},
			req: withPrincipal(webIdentityRequest(appSubject, stsAudience),
				Principal{Type: PrincipalFederated, IDs: []string{"accounts.google.com"}}),
			want: ExplicitDeny, decider: "p0#1"},
		{name: "principal: NotPrincipal deny spares the provider", kind: Trust,
			policies: []string{`{"Statement":[
				{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity"},
				{"Effect":"Deny","NotPrincipal":{"Federated":"` + testProviderARN + `"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`},
			req: webIdentityRequest(appSubject, stsAudience), want: Allow, decider: "p0#0"},
		{name: "principal: account ID means the whole account", kind: Trust,
			policies: []string{`{"Statement":{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"}}`},
			req:      Request{Principal: sessionPrincipal(), Action: "sts:AssumeRole"}, want: Allow},
		{name: "principal: root ARN means the whole account", kind: Trust,
			policies: []string{`{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}}`},
			req:      Request{Principal: sessionPrincipal(), Action: "sts:AssumeRole"}, want: Allow},
		{name: "principal: account ID matches a caller that lists the root ARN", kind: Trust,
			policies: []string{`{"Statement":{"Effect":"Allow","Principal":{"AWS":["111122223333","123456789012"]},"Action":"sts:AssumeRole"}}`},
			req: Request{Principal: Principal{Type: PrincipalAWS, IDs: []string{"arn:aws:iam::123456789012:root"}},
				Action: "sts:AssumeRole"}, want: Allow},
		{name: "principal: another account", kind: Trust,
			policies: []string{`{"Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}}`},
			req:      Request{Principal: sessionPrincipal(), Action: "sts:AssumeRole"}, want: ImplicitDeny},
		{name: "principal: role ARN", kind: Trust,
			policies: []string{`{"Statement":{"Effect":"Allow","Principal":{"AWS":"` + roleARN + `"},"Action":"sts:AssumeRole"}}`},
			req:      Request{Principal: sessionPrincipal(), Action: "sts:AssumeRole"}, want: Allow},
		{name: "principal: AWS * matches AWS principals", kind: Trust,
			policies: []string{`{"Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}}`},
			req:      Request{Principal: sessionPrincipal(), Action: "sts:AssumeRole"}, want: Allow},
		{name: "principal: AWS * matches anonymous callers", kind: Resource,
			policies: []string{`{"Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}}`},
			req:      withPrincipal(getObject(nil), Principal{}), want: Allow},
		{name: "principal: AWS * does not match a federated caller", kind: Trust,
			policies: []string{`{"Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRoleWithWebIdentity"}}`},
			req:      webIdentityRequest(appSubject, stsAudience), want: ImplicitDeny},
		{name: "principal: service", kind: Trust,
			policies: []string{`{"Statement":{"Effect":"Allow","Principal":{"Service":["lambda.amazonaws.com","ec2.amazonaws.com"]},"Action":"sts:AssumeRole"}}`},
			req:      Request{Principal: Principal{Type: PrincipalService, IDs: []string{"ec2.amazonaws.com"}}, Action: "sts:AssumeRole"},
			want:     Allow},

		// AmazonS3ReadOnlyAccess and identity policy matching.
		{name: "s3 read-only: GetObject", kind: Identity, policies: []string{s3ReadOnly},
			req: getObject(nil), want: Allow, decider: "p0#0"},
		{name: "s3 read-only: ListBucket", kind: Identity, policies: []string{s3ReadOnly},
			req: s3Request("s3:ListBucket", "arn:aws:s3:::bucket", nil), want: Allow},
		{name: "s3 read-only: ListAllMyBuckets on *", kind: Identity, policies: []string{s3ReadOnly},
			req: s3Request("s3:ListAllMyBuckets", "*", nil), want: Allow},
		{name: "s3 read-only: PutObject", kind: Identity, policies: []string{s3ReadOnly},
			req: s3Request("s3:PutObject", objectPrefix+"key", nil), want: ImplicitDeny,
			reason: `implicitly denied: no statement in p0 allows s3:PutObject on "arn:aws:s3:::bucket/key"`},
		{name: "s3 read-only: DeleteObject", kind: Identity, policies: []string{s3ReadOnly},
			req: s3Request("s3:DeleteObject", objectPrefix+"key", nil), want: ImplicitDeny},
		{name: "s3 read-only: object lambda", kind: Identity, policies: []string{s3ReadOnly},
			req: s3Request("s3-object-lambda:GetObject", objectPrefix+"key", nil), want: Allow},
		{name: "action wildcard is case-insensitive", kind: Identity, policies: []string{s3ReadOnly},
			req: s3Request("S3:getobject", objectPrefix+"key", nil), want: Allow},
		{name: "action * matches everything", kind: Identity,
			policies: []string{identityDoc("", `{"Effect":"Allow","Action":"*","Resource":"*"}`)},
			req:      s3Request("ec2:RunInstances", "arn:aws:ec2:us-east-1:123456789012:instance/i-1", nil), want: Allow},
		{name: "resource * spans slashes", kind: Identity,
			policies: []string{identityDoc(Version2012, `{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}`)},
			req:      s3Request("s3:GetObject", objectPrefix+"a/b/c.txt", nil), want: Allow},
		{name: "resource wildcards in the middle", kind: Identity,
			policies: []string{identityDoc(Version2012, `{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*/test/*"}`)},
			req:      s3Request("s3:GetObject", objectPrefix+"1/2/test/3/object.jpg", nil), want: Allow},
		{name: "resource does not match", kind: Identity,
			policies: []string{identityDoc(Version2012, `{"Sid":"Objects","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}`)},
			req:      s3Request("s3:GetObject", "arn:aws:s3:::other/key", nil), want: ImplicitDeny, resMiss: true,
			reason: `implicitly denied: statement 0 ("Objects") of p0 allows s3:GetObject but not on "arn:aws:s3:::other/key"`},
		{name: "resource is case-sensitive", kind: Identity,
			policies: []string{identityDoc(Version2012, `{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::Bucket/*"}`)},
			req:      getObject(nil), want: ImplicitDeny, resMiss: true},
		{name: "resource ? matches one character", kind: Identity,
			policies: []string{identityDoc(Version2012, `{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/ke?"}`)},
			req:      getObject(nil), want: Allow},
		{name: "resource list matches any entry", kind: Identity,
			policies: []string{identityDoc(Version2012, `{"Effect":"Allow","Action":"s3:GetObject","Resource":["arn:aws:s3:::a/*","arn:aws:s3:::bucket/*"]}`)},
			req:      getObject(nil), want: Allow},

		// NotAction and NotResource.
		{name: "NotAction allow: grants other actions", kind: Identity,
			policies: []string{identityDoc(Version2012, `{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}`)},
			req:      getObject(nil), want: Allow},
		{name: "NotAction allow: not the listed ones", kind: Identity,
			policies: []string{identityDoc(Version2012, `{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}`)},
			req:      s3Request("iam:CreateUser", "arn:aws:iam::123456789012:user/u", nil), want: ImplicitDeny},
		{name: "NotAction deny: denies everything else", kind: Identity,
			policies: []string{identityDoc(Version2012, `{"Effect":"Allow","Action":"*","Resource":"*"}`,
				`{"Effect":"Deny","NotAction":"s3:*","Resource":"*"}`)},
			req:  s3Request("ec2:RunInstances", "*", nil),
			want: ExplicitDeny, decider: "p0#1"},
		{name: "NotAction deny: spares the listed ones", kind: Identity,
			policies: []string{identityDoc(Version2012, `{"Effect":"Allow","Action":"*","Resource":"*"}`,
				`{"Effect":"Deny","NotAction":"s3:*","Resource":"*"}`)},
			req: getObject(nil), want: Allow, decider: "p0#0"},
		{name: "NotResource allow: grants other resources", kind: Identity,
			policies: []string{identityDoc(Version2012, `{"Effect":"Allow","Action":"s3:GetObject","NotResource":"arn:aws:s3:::secret/*"}`)},
			req:      getObject(nil), want: Allow},
		{name: "NotResource allow: not the listed ones", kind: Identity,
			policies: []string{identityDoc(Version2012, `{"Effect":"Allow","Action":"s3:GetObject","NotResource":"arn:aws:s3:::secret/*"}`)},
			req:      s3Request("s3:GetObject", "arn:aws:s3:::secret/key", nil), want: ImplicitDeny, resMiss: true},
		{name: "NotResource deny: denies other buckets", kind: Identity,
			policies: []string{identityDoc(Version2012, `{"Effect":"Allow","Action":"s3:*","Resource":"*"}`,
				`{"Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::bucket","arn:aws:s3:::bucket/*"]}`)},
			req:  s3Request("s3:GetObject", "arn:aws:s3:::other/key", nil),
			want: ExplicitDeny, decider: "p0#1"},
		{name: "NotResource deny: spares the listed ones", kind: Identity,
			policies: []string{identityDoc(Version2012, `{"Effect":"Allow","Action":"s3:*","Resource":"*"}`,
				`{"Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::bucket","arn:aws:s3:::bucket/*"]}`)},
			req: getObject(nil), want: Allow},

		// Combining statements and documents.
		{name: "explicit deny in a second document wins", kind: Identity,
			policies: []string{identityDoc(Version2012, `{"Effect":"Allow","Action":"s3:*","Resource":"*"}`),
				identityDoc(Version2012, `{"Sid":"NoDelete","Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}`)},
			req:  s3Request("s3:DeleteObject", objectPrefix+"key", nil),
			want: ExplicitDeny, decider: "p1#0", reason: `explicitly denied by statement 0 ("NoDelete") of p1`},
		{name: "explicit deny in the first document wins", kind: Identity,
			policies: []string{identityDoc(Version2012, `{"Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::bucket/*"}`),
				s3ReadOnly},
			req: getObject(nil), want: ExplicitDeny, decider: "p0#0"},
		{name: "deny for another action leaves the allow", kind: Identity,
			policies: []string{s3ReadOnly,
				identityDoc(Version2012, `{"Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}`)},
			req: getObject(nil), want: Allow, decider: "p0#0"},
		{name: "the first allow decides", kind: Identity,
			policies: []string{identityDoc(Version2012, `{"Effect":"Allow","Action":"ec2:*","Resource":"*"}`,
				`{"Sid":"Second","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}`), s3ReadOnly},
			req: getObject(nil), want: Allow, decider: "p0#1"},
		{name: "a deny whose condition is false does not apply", kind: Identity,
			policies: []string{s3ReadOnly, identityDoc(Version2012,
				`{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}`)},
			req: getObject(kv("aws:SecureTransport", "true")), want: Allow},
		{name: "a deny whose condition is true applies", kind: Identity,
			policies: []string{s3ReadOnly, identityDoc(Version2012,
				`{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}`)},
			req: getObject(kv("aws:SecureTransport", "false")), want: ExplicitDeny, decider: "p1#0"},
		{name: "no documents", kind: Identity, policies: nil,
			req: getObject(nil), want: ImplicitDeny, reason: "there is no policy to allow s3:GetObject"},

		// String conditions and missing keys.
		{name: "StringNotEquals: missing key is true", kind: Identity,
			policies: []string{allowWith(`{"StringNotEquals":{"aws:PrincipalTag/team":"blocked"}}`)},
			req:      getObject(nil), want: Allow},
		{name: "StringNotEquals: equal value is false", kind: Identity,
			policies: []string{allowWith(`{"StringNotEquals":{"aws:PrincipalTag/team":"blocked"}}`)},
			req:      getObject(kv("aws:PrincipalTag/team", "blocked")), want: ImplicitDeny,
			miss: &ConditionMiss{Operator: "StringNotEquals", Key: "aws:PrincipalTag/team", Want: []string{"blocked"},
				Got: []string{"blocked"}, Present: true},
			reason: `expected a value other than "blocked"`},
		{name: "StringNotEquals: must match none of several values", kind: Identity,
			policies: []string{allowWith(`{"StringNotEquals":{"k":["a","b"]}}`)},
			req:      getObject(kv("k", "b")), want: ImplicitDeny, reason: `expected a value other than "a", "b" but the request had "b"`},
		{name: "StringNotEquals: a value outside the list", kind: Identity,
			policies: []string{allowWith(`{"StringNotEquals":{"k":["a","b"]}}`)},
			req:      getObject(kv("k", "c")), want: Allow},
		{name: "StringNotLike: missing key is true", kind: Identity,
			policies: []string{allowWith(`{"StringNotLike":{"k":"a*"}}`)},
			req:      getObject(nil), want: Allow},
		{name: "StringNotLike: matching value is false", kind: Identity,
			policies: []string{allowWith(`{"StringNotLike":{"k":"a*"}}`)},
			req:      getObject(kv("k", "abc")), want: ImplicitDeny},
		{name: "StringEquals: several values are OR", kind: Identity,
			policies: []string{allowWith(`{"StringEquals":{"k":["a","b"]}}`)},
			req:      getObject(kv("k", "b")), want: Allow},
		{name: "StringEquals: several values listed in the miss", kind: Identity,
			policies: []string{allowWith(`{"StringEquals":{"k":["a","b"]}}`)},
			req:      getObject(kv("k", "c")), want: ImplicitDeny, reason: `expected one of "a", "b" but the request had "c"`},
		{name: "StringEqualsIgnoreCase", kind: Identity,
			policies: []string{allowWith(`{"StringEqualsIgnoreCase":{"aws:username":"Alice"}}`)},
			req:      getObject(kv("aws:username", "aLICE")), want: Allow},
		{name: "StringNotEqualsIgnoreCase", kind: Identity,
			policies: []string{allowWith(`{"StringNotEqualsIgnoreCase":{"aws:username":"Alice"}}`)},
			req:      getObject(kv("aws:username", "ALICE")), want: ImplicitDeny},
		{name: "several keys are AND", kind: Identity,
			policies: []string{allowWith(`{"StringEquals":{"a":"1","b":"2"}}`)},
			req:      getObject(kv("a", "1", "b", "3")), want: ImplicitDeny,
			miss: &ConditionMiss{Operator: "StringEquals", Key: "b", Want: []string{"2"}, Got: []string{"3"}, Present: true}},
		{name: "several operators are AND", kind: Identity,
			policies: []string{allowWith(`{"StringEquals":{"a":"1"},"StringLike":{"b":"x*"}}`)},
			req:      getObject(kv("a", "1", "b", "yz")), want: ImplicitDeny,
			miss: &ConditionMiss{Operator: "StringLike", Key: "b", Want: []string{"x*"}, Got: []string{"yz"}, Present: true}},
		{name: "several operators all true", kind: Identity,
			policies: []string{allowWith(`{"StringEquals":{"a":"1"},"StringLike":{"b":"x*"}}`)},
			req:      getObject(kv("a", "1", "b", "xz")), want: Allow},

		// IfExists and Null.
		{name: "IfExists: absent key is true", kind: Identity,
			policies: []string{allowWith(`{"StringEqualsIfExists":{"ec2:InstanceType":"t3.micro"}}`)},
			req:      getObject(nil), want: Allow},
		{name: "IfExists: present key is checked", kind: Identity,
			policies: []string{allowWith(`{"StringEqualsIfExists":{"ec2:InstanceType":"t3.micro"}}`)},
			req:      getObject(kv("ec2:InstanceType", "m5.large")), want: ImplicitDeny,
			miss: &ConditionMiss{Operator: "StringEqualsIfExists", Key: "ec2:InstanceType", Want: []string{"t3.micro"},
				Got: []string{"m5.large"}, Present: true}},
		{name: "IfExists: deny with a negated operator still denies on a missing key", kind: Identity,
			policies: []string{s3ReadOnly, identityDoc(Version2012,
				`{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"StringNotEqualsIfExists":{"aws:RequestedRegion":"eu-west-1"}}}`)},
			req: getObject(nil), want: ExplicitDeny, decider: "p1#0"},
		{name: "Null true: key absent", kind: Identity,
			policies: []string{allowWith(`{"Null":{"aws:TokenIssueTime":"true"}}`)},
			req:      getObject(nil), want: Allow},
		{name: "Null true: key present", kind: Identity,
			policies: []string{allowWith(`{"Null":{"aws:TokenIssueTime":"true"}}`)},
			req:      getObject(kv("aws:TokenIssueTime", "2024-01-01T00:00:00Z")), want: ImplicitDeny,
			reason: `condition Null on "aws:TokenIssueTime" expected the key to be absent but the request had "2024-01-01T00:00:00Z"`},
		{name: "Null false: key present", kind: Identity,
			policies: []string{allowWith(`{"Null":{"aws:TokenIssueTime":false}}`)},
			req:      getObject(kv("aws:TokenIssueTime", "2024-01-01T00:00:00Z")), want: Allow},
		{name: "Null false: key absent", kind: Identity,
			policies: []string{allowWith(`{"Null":{"aws:TokenIssueTime":"false"}}`)},
			req:      getObject(nil), want: ImplicitDeny, reason: "expected the key to be present"},

		// Set operators and multi-valued keys.
		{name: "ForAnyValue: absent key is false", kind: Identity,
			policies: []string{allowWith(`{"ForAnyValue:StringEquals":{"aws:TagKeys":["team","env"]}}`)},
			req:      getObject(nil), want: ImplicitDeny,
			miss: &ConditionMiss{Operator: "ForAnyValue:StringEquals", Key: "aws:TagKeys", Want: []string{"team", "env"}}},
		{name: "ForAnyValue: one value matches", kind: Identity,
			policies: []string{allowWith(`{"ForAnyValue:StringEquals":{"aws:TagKeys":["team","env"]}}`)},
			req:      getObject(Context{"aws:tagkeys": {"owner", "env"}}), want: Allow},
		{name: "ForAnyValue: none matches", kind: Identity,
			policies: []string{allowWith(`{"ForAnyValue:StringEquals":{"aws:TagKeys":["team","env"]}}`)},
			req:      getObject(Context{"aws:tagkeys": {"owner"}}), want: ImplicitDeny},
		{name: "ForAnyValue with a negated operator: one value outside the list", kind: Identity,
			policies: []string{allowWith(`{"ForAnyValue:StringNotEquals":{"aws:TagKeys":"team"}}`)},
			req:      getObject(Context{"aws:tagkeys": {"team", "env"}}), want: Allow},
		{name: "ForAllValues: absent key is true", kind: Identity,
			policies: []string{allowWith(`{"ForAllValues:StringEquals":{"aws:TagKeys":["team","env"]}}`)},
			req:      getObject(nil), want: Allow},
		{name: "ForAllValues: empty key is true", kind: Identity,
			policies: []string{allowWith(`{"ForAllValues:StringEquals":{"aws:TagKeys":["team","env"]}}`)},
			req:      getObject(Context{"aws:tagkeys": {}}), want: Allow},
		{name: "ForAllValues: every value in the list", kind: Identity,
			policies: []string{allowWith(`{"ForAllValues:StringEquals":{"aws:TagKeys":["team","env"]}}`)},
			req:      getObject(Context{"aws:tagkeys": {"env", "team"}}), want: Allow},
		{name: "ForAllValues: one value outside the list", kind: Identity,
			policies: []string{allowWith(`{"ForAllValues:StringEquals":{"aws:TagKeys":["team","env"]}}`)},
			req:      getObject(Context{"aws:tagkeys": {"env", "owner"}}), want: ImplicitDeny,
			reason: `expected every value to be one of "team", "env" but the request had "env", "owner"`,
			miss: &ConditionMiss{Operator: "ForAllValues:StringEquals", Key: "aws:TagKeys", Want: []string{"team", "env"},
				Got: []string{"env", "owner"}, Present: true}},
		{name: "ForAllValues:StringLikeIfExists parses and matches", kind: Identity,
			policies: []string{allowWith(`{"ForAllValues:StringLikeIfExists":{"aws:TagKeys":["team-*","env"]}}`)},
			req:      getObject(Context{"aws:tagkeys": {"team-a", "env"}}), want: Allow},
		{name: "multi-valued key without qualifier: any value may match", kind: Identity,
			policies: []string{allowWith(`{"StringEquals":{"k":"b"}}`)},
			req:      getObject(Context{"k": {"a", "b"}}), want: Allow},
		{name: "multi-valued key with a negated operator: no value may match", kind: Identity,
			policies: []string{allowWith(`{"StringNotEquals":{"k":"a"}}`)},
			req:      getObject(Context{"k": {"b", "a"}}), want: ImplicitDeny},
		// An unqualified negated operator on a multivalued key is the
		// negation of the positive operator: true when no request value
		// matches any policy value (docs/architecture.md, "Conditions").
		{name: "StringNotLike on aws:TagKeys: no tag key matches", kind: Identity,
			policies: []string{allowWith(`{"StringNotLike":{"aws:TagKeys":["secret*","admin"]}}`)},
			req:      getObject(Context{"aws:tagkeys": {"env", "team"}}), want: Allow},
		{name: "StringNotLike on aws:TagKeys: one tag key matches", kind: Identity,
			policies: []string{allowWith(`{"StringNotLike":{"aws:TagKeys":["secret*","admin"]}}`)},
			req:      getObject(Context{"aws:tagkeys": {"env", "secret-x"}}), want: ImplicitDeny},
		{name: "StringNotLike on an absent aws:TagKeys is true", kind: Identity,
			policies: []string{allowWith(`{"StringNotLike":{"aws:TagKeys":"secret*"}}`)},
			req:      getObject(nil), want: Allow},
		{name: "StringLike on aws:TagKeys: any tag key may match", kind: Identity,
			policies: []string{allowWith(`{"StringLike":{"aws:TagKeys":"team*"}}`)},
			req:      getObject(Context{"aws:tagkeys": {"env", "team-a"}}), want: Allow},

		// Numeric, date, boolean, binary, IP and ARN operators.
		{name: "NumericLessThan true", kind: Identity,
			policies: []string{allowWith(`{"NumericLessThan":{"s3:max-keys":"100"}}`)},
			req:      getObject(kv("s3:max-keys", "10")), want: Allow},
		{name: "NumericLessThan false", kind: Identity,
			policies: []string{allowWith(`{"NumericLessThan":{"s3:max-keys":"100"}}`)},
			req:      getObject(kv("s3:max-keys", "100")), want: ImplicitDeny,
			reason: `expected a number less than "100" but the request had "100"`},
		{name: "NumericGreaterThanEquals with a JSON number", kind: Identity,
			policies: []string{allowWith(`{"NumericGreaterThanEquals":{"s3:max-keys":10.5}}`)},
			req:      getObject(kv("s3:max-keys", "10.5")), want: Allow},
		{name: "Numeric: unparsable request value makes the condition false", kind: Identity,
			policies: []string{allowWith(`{"NumericNotEquals":{"s3:max-keys":"5"}}`)},
			req:      getObject(kv("s3:max-keys", "many")), want: ImplicitDeny},
		{name: "DateGreaterThan: ISO policy, epoch request", kind: Identity,
			policies: []string{allowWith(`{"DateGreaterThan":{"aws:EpochTime":"2020-01-01T00:00:00Z"}}`)},
			req:      getObject(kv("aws:EpochTime", "1700000000")), want: Allow},
		{name: "DateLessThan: epoch policy, ISO request", kind: Identity,
			policies: []string{allowWith(`{"DateLessThan":{"aws:CurrentTime":1700000000}}`)},
			req:      getObject(kv("aws:CurrentTime", "2024-01-01T00:00:00Z")), want: ImplicitDeny,
			reason: `expected a date before "1700000000"`},
		{name: "DateLessThanEquals: equal instants in different zones", kind: Identity,
			policies: []string{allowWith(`{"DateLessThanEquals":{"aws:CurrentTime":"2024-01-01T02:00:00+02:00"}}`)},
			req:      getObject(kv("aws:CurrentTime", "2024-01-01T00:00:00Z")), want: Allow},
		{name: "DateNotEquals: missing key is true", kind: Identity,
			policies: []string{allowWith(`{"DateNotEquals":{"aws:CurrentTime":"2024-01-01"}}`)},
			req:      getObject(nil), want: Allow},
		{name: "Date: unparsable request value makes the condition false", kind: Identity,
			policies: []string{allowWith(`{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01"}}`)},
			req:      getObject(kv("aws:CurrentTime", "tomorrow")), want: ImplicitDeny},
		{name: "Bool true", kind: Identity,
			policies: []string{allowWith(`{"Bool":{"aws:SecureTransport":true}}`)},
			req:      getObject(kv("aws:SecureTransport", "true")), want: Allow},
		{name: "Bool false", kind: Identity,
			policies: []string{allowWith(`{"Bool":{"aws:SecureTransport":"true"}}`)},
			req:      getObject(kv("aws:SecureTransport", "false")), want: ImplicitDeny},
		{name: "Bool: unparsable request value makes the condition false", kind: Identity,
			policies: []string{allowWith(`{"Bool":{"aws:SecureTransport":"false"}}`)},
			req:      getObject(kv("aws:SecureTransport", "maybe")), want: ImplicitDeny},
		{name: "BinaryEquals", kind: Identity,
			policies: []string{allowWith(`{"BinaryEquals":{"k":"aGVsbG8="}}`)},
			req:      getObject(kv("k", "aGVsbG8=")), want: Allow},
		{name: "IpAddress inside the block", kind: Identity,
			policies: []string{allowWith(`{"IpAddress":{"aws:SourceIp":["192.0.2.0/24","203.0.113.7"]}}`)},
			req:      getObject(kv("aws:SourceIp", "192.0.2.44")), want: Allow},
		{name: "IpAddress plain address", kind: Identity,
			policies: []string{allowWith(`{"IpAddress":{"aws:SourceIp":["192.0.2.0/24","203.0.113.7"]}}`)},
			req:      getObject(kv("aws:SourceIp", "203.0.113.7")), want: Allow},
		{name: "IpAddress outside the block", kind: Identity,
			policies: []string{allowWith(`{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`)},
			req:      getObject(kv("aws:SourceIp", "198.51.100.1")), want: ImplicitDeny,
			reason: `expected an address in "192.0.2.0/24"`},
		{name: "IpAddress IPv6", kind: Identity,
			policies: []string{allowWith(`{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}`)},
			req:      getObject(kv("aws:SourceIp", "2001:db8:1::5")), want: Allow},
		{name: "NotIpAddress outside the block", kind: Identity,
			policies: []string{allowWith(`{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`)},
			req:      getObject(kv("aws:SourceIp", "192.0.2.1")), want: Allow},
		{name: "NotIpAddress missing key is true", kind: Identity,
			policies: []string{allowWith(`{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`)},
			req:      getObject(nil), want: Allow},
		{name: "NotIpAddress unparsable request value makes the condition false", kind: Identity,
			policies: []string{allowWith(`{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`)},
			req:      getObject(kv("aws:SourceIp", "localhost")), want: ImplicitDeny},
		{name: "ArnLike matches part by part", kind: Identity,
			policies: []string{allowWith(`{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:123456789012:*"}}`)},
			req:      getObject(kv("aws:SourceArn", "arn:aws:sns:us-east-1:123456789012:topic")), want: Allow},
		{name: "ArnEquals wildcard cannot cross a colon", kind: Identity,
			policies: []string{allowWith(`{"ArnEquals":{"aws:SourceArn":"arn:aws:*:123456789012:topic"}}`)},
			req:      getObject(kv("aws:SourceArn", "arn:aws:sns:us-east-1:123456789012:topic")), want: ImplicitDeny},
		{name: "ArnNotLike missing key is true", kind: Identity,
			policies: []string{allowWith(`{"ArnNotLike":{"aws:SourceArn":"arn:aws:sns:*:*:*"}}`)},
			req:      getObject(nil), want: Allow},

		// Policy variables.
		{name: "variables: substituted in Resource with Version 2012-10-17", kind: Identity,
			policies: []string{identityDoc(Version2012, `{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::home/${aws:username}/*"}`)},
			req:      s3Request("s3:GetObject", "arn:aws:s3:::home/alice/notes.txt", kv("aws:username", "alice")), want: Allow},
		{name: "variables: another user's folder", kind: Identity,
			policies: []string{identityDoc(Version2012, `{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::home/${aws:username}/*"}`)},
			req:      s3Request("s3:GetObject", "arn:aws:s3:::home/bob/notes.txt", kv("aws:username", "alice")), want: ImplicitDeny,
			resMiss: true},
		{name: "variables: literal text with Version 2008-10-17", kind: Identity,
			policies: []string{identityDoc(Version2008, `{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::home/${aws:username}/*"}`)},
			req:      s3Request("s3:GetObject", "arn:aws:s3:::home/alice/notes.txt", kv("aws:username", "alice")), want: ImplicitDeny},
		{name: "variables: literal text without a Version", kind: Identity,
			policies: []string{identityDoc("", `{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::home/${aws:username}/*"}`)},
			req:      s3Request("s3:GetObject", "arn:aws:s3:::home/${aws:username}/x", kv("aws:username", "alice")), want: Allow},
		{name: "variables: absent key does not match", kind: Identity,
			policies: []string{identityDoc(Version2012, `{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::home/${aws:username}/*"}`)},
			req:      s3Request("s3:GetObject", "arn:aws:s3:::home/alice/x", nil), want: ImplicitDeny},
		{name: "variables: default for an absent key", kind: Identity,
			policies: []string{identityDoc(Version2012, `{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::home/${aws:username, 'guest'}/*"}`)},
			req:      s3Request("s3:GetObject", "arn:aws:s3:::home/guest/x", nil), want: Allow},
		{name: "variables: multi-valued key does not substitute", kind: Identity,
			policies: []string{identityDoc(Version2012, `{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::home/${aws:TagKeys}/*"}`)},
			req:      s3Request("s3:GetObject", "arn:aws:s3:::home/a/x", Context{"aws:tagkeys": {"a", "b"}}), want: ImplicitDeny},
		{name: "variables: escaped star matches a star", kind: Identity,
			policies: []string{identityDoc(Version2012, `{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/${*}"}`)},
			req:      s3Request("s3:GetObject", "arn:aws:s3:::bucket/*", nil), want: Allow},
		{name: "variables: escaped star is not a wildcard", kind: Identity,
			policies: []string{identityDoc(Version2012, `{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/${*}"}`)},
			req:      getObject(nil), want: ImplicitDeny},
		{name: "variables: escaped dollar", kind: Identity,
			policies: []string{allowWith(`{"StringEquals":{"k":"${$}5"}}`)},
			req:      getObject(kv("k", "$5")), want: Allow},
		{name: "variables: in a StringLike condition", kind: Identity,
			policies: []string{identityDoc(Version2012, `{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::home","Condition":{"StringLike":{"s3:prefix":"${aws:username}/*"}}}`)},
			req:      s3Request("s3:ListBucket", "arn:aws:s3:::home", kv("aws:username", "alice", "s3:prefix", "alice/docs/")), want: Allow},
		{name: "variables: a substituted star is literal", kind: Identity,
			policies: []string{identityDoc(Version2012, `{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::home","Condition":{"StringLike":{"s3:prefix":"${aws:username}/*"}}}`)},
			req:      s3Request("s3:ListBucket", "arn:aws:s3:::home", kv("aws:username", "a*", "s3:prefix", "abc/docs/")), want: ImplicitDeny},
		{name: "variables: unresolvable in a negated operator makes it false", kind: Identity,
			policies: []string{allowWith(`{"StringNotEquals":{"k":"${aws:username}"}}`)},
			req:      getObject(kv("k", "x")), want: ImplicitDeny},
		{name: "variables: in ArnEquals", kind: Identity,
			policies: []string{allowWith(`{"ArnEquals":{"aws:SourceArn":"arn:aws:iam::123456789012:role/${aws:PrincipalTag/role}"}}`)},
			req:      getObject(kv("aws:PrincipalTag/role", "app", "aws:SourceArn", roleARN)), want: Allow},
	}
}

func TestEvaluate(t *testing.T) {
	cases := evalCases()
	if len(cases) < 60 {
		t.Fatalf("only %d cases; the table should cover every rule", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			docs := make([]NamedDocument, len(tc.policies))
			for i, p := range tc.policies {
				d, err := Parse(p, tc.kind)
				if err != nil {
					t.Fatalf("parse p%d: %v", i, err)
				}
				docs[i] = NamedDocument{Name: fmt.Sprintf("p%d", i), Doc: d}
			}
			got := Evaluate(tc.req, docs...)
			checkResult(t, got, tc.want, tc.decider, tc.miss, tc.resMiss, tc.reason)
		})
	}
}

func checkResult(t *testing.T, got Result, want Decision, decider string, miss *ConditionMiss, resMiss bool, reason string) {
	t.Helper()
	if got.Decision != want {
		t.Fatalf("decision = %v, want %v; reason: %s", got.Decision, want, got.Reason)
	}
	if want == ImplicitDeny {
		if got.Decider != nil {
			t.Errorf("implicit deny with a decider %v", *got.Decider)
		}
	} else if got.Decider == nil {
		t.Fatalf("%v without a decider", got.Decision)
	}
	if decider != "" {
		if d := fmt.Sprintf("%s#%d", got.Decider.Policy, got.Decider.Index); d != decider {
			t.Errorf("decider = %s, want %s", d, decider)
		}
	}
	if miss != nil || resMiss {
		if len(got.Near) == 0 {
			t.Fatalf("no near misses; reason: %s", got.Reason)
		}
		if resMiss && !got.Near[0].Resource {
			t.Errorf("Near[0] = %+v, want a resource miss", got.Near[0])
		}
		if miss != nil && !reflect.DeepEqual(got.Near[0].Condition, miss) {
			t.Errorf("Near[0].Condition = %+v, want %+v", got.Near[0].Condition, miss)
		}
	}
	if reason != "" && !strings.Contains(got.Reason, reason) {
		t.Errorf("reason = %q, want it to contain %q", got.Reason, reason)
	}
	if got.Reason == "" {
		t.Error("empty reason")
	}
}

func TestContextHelpers(t *testing.T) {
	ctx := NewContext()
	ctx.Set("AWS:SourceIp", "192.0.2.1")
	ctx.Add("aws:TagKeys", "team")
	ctx.Add("AWS:TAGKEYS", "env")
	if v, ok := ctx.Get("aws:sourceip"); !ok || len(v) != 1 || v[0] != "192.0.2.1" {
		t.Errorf("Get after Set = %v, %v", v, ok)
	}
	if v, ok := ctx.Get("aws:tagkeys"); !ok || len(v) != 2 || v[0] != "team" || v[1] != "env" {
		t.Errorf("Get after Add = %v, %v", v, ok)
	}
	if _, ok := ctx.Get("aws:username"); ok {
		t.Error("Get found a key that was never set")
	}
	literal := Context{"AWS:UserName": {"alice"}}
	if v, ok := literal.Get("aws:username"); !ok || v[0] != "alice" {
		t.Errorf("Get on a map literal with mixed-case keys = %v, %v", v, ok)
	}
	var none Context
	if _, ok := none.Get("k"); ok {
		t.Error("Get on a nil Context found a key")
	}
}

func TestDecisionString(t *testing.T) {
	for d, want := range map[Decision]string{Allow: "Allow", ExplicitDeny: "ExplicitDeny", ImplicitDeny: "ImplicitDeny", 9: "Decision(9)"} {
		if got := d.String(); got != want {
			t.Errorf("Decision(%d).String() = %q, want %q", int(d), got, want)
		}
	}
	if (Result{}).Allowed() {
		t.Error("the zero Result must not allow")
	}
}
