package policy

import "testing"

// A typical IRSA trust policy: one Federated statement with StringEquals on
// :sub and :aud.
func BenchmarkEvaluateTrustPolicy(b *testing.B) {
	docs := []NamedDocument{{Name: "trust policy", Doc: mustParse(b, eksTrust, Trust)}}
	req := webIdentityRequest(appSubject, stsAudience)
	b.ReportAllocs()
	for b.Loop() {
		if r := Evaluate(req, docs...); r.Decision != Allow {
			b.Fatal(r.Reason)
		}
	}
}

// The denied path also collects near misses for the explanation.
func BenchmarkEvaluateTrustPolicyDenied(b *testing.B) {
	docs := []NamedDocument{{Name: "trust policy", Doc: mustParse(b, eksTrust, Trust)}}
	req := webIdentityRequest("system:serviceaccount:default:other", stsAudience)
	b.ReportAllocs()
	for b.Loop() {
		if r := Evaluate(req, docs...); r.Decision != ImplicitDeny {
			b.Fatal(r.Reason)
		}
	}
}

// A role with AmazonS3ReadOnlyAccess and an inline policy with a deny, a
// variable and a condition, asked for GetObject.
func BenchmarkEvaluateIdentityPolicy(b *testing.B) {
	inline := identityDoc(Version2012,
		`{"Sid":"NoSecrets","Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::bucket/secret/*"}`,
		`{"Sid":"Home","Effect":"Allow","Action":["s3:PutObject","s3:DeleteObject"],"Resource":"arn:aws:s3:::bucket/home/${aws:username}/*"}`,
		`{"Sid":"TLS","Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}`)
	docs := []NamedDocument{
		{Name: "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", Doc: mustParse(b, s3ReadOnly, Identity)},
		{Name: "inline policy app", Doc: mustParse(b, inline, Identity)},
	}
	req := getObject(kv("aws:SecureTransport", "true", "aws:username", "alice"))
	b.ReportAllocs()
	for b.Loop() {
		if r := Evaluate(req, docs...); r.Decision != Allow {
			b.Fatal(r.Reason)
		}
	}
}

func BenchmarkAuthorize(b *testing.B) {
	identity := []NamedDocument{{Name: "AmazonS3ReadOnlyAccess", Doc: mustParse(b, s3ReadOnly, Identity)}}
	session := []NamedDocument{{Name: "session policy", Doc: mustParse(b,
		identityDoc(Version2012, `{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}`), Identity)}}
	resource := []NamedDocument{{Name: "bucket policy of bucket", Doc: mustParse(b, bucketPolicy(
		`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::bucket/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}`), Resource)}}
	req := getObject(kv("aws:SecureTransport", "true"))
	b.ReportAllocs()
	for b.Loop() {
		if r := Authorize(req, identity, session, resource); r.Decision != Allow {
			b.Fatal(r.Reason)
		}
	}
}

func BenchmarkParseTrustPolicy(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(eksTrust, Trust); err != nil {
			b.Fatal(err)
		}
	}
}
