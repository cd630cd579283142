package stsmock

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// BenchmarkAssumeRoleWithWebIdentity measures the whole handler: parameter
// checks, JWT parse, cached JWKS, RS256 verification, trust policy, sealing
// the session and the XML answer. `make load` measures the same over HTTP.
func BenchmarkAssumeRoleWithWebIdentity(b *testing.B) {
	f := newFixture(b)
	roleARN := f.setup()
	body := assumeForm(roleARN, f.token("default", "app")).Encode()
	// Warm the key cache.
	if code, resp := f.wire(assumeForm(roleARN, f.token("default", "app"))); code != 200 {
		b.Fatalf("warm-up: %d %s", code, resp)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
			rec := httptest.NewRecorder()
			f.srv.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	})
}

// BenchmarkAssumeRole measures a cross-account hop through the whole
// handler: SigV4 verification of the calling web identity session, the
// target's trust policy and the caller's identity policy for
// sts:AssumeRole and sts:TagSession, sealing the chained session and the
// XML answer.
func BenchmarkAssumeRole(b *testing.B) {
	f := newChainFixture(b)
	creds, err := f.webIdentity().Retrieve(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	body := url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}, "RoleArn": {f.dataARN}, "RoleSessionName": {"bench"},
		"Tags.member.1.Key": {"team"}, "Tags.member.1.Value": {"payments"}}.Encode()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
			signRequest(b, req, []byte(body), "sts", creds)
			rec := httptest.NewRecorder()
			f.srv.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	})
}
