package policy

import (
	"sync"
	"testing"
)

// Documents are shared between requests; run with -race to check that
// evaluation never writes to them.
func TestConcurrentEvaluate(t *testing.T) {
	trust := []NamedDocument{{Name: "trust policy", Doc: mustParse(t, eksTrust, Trust)}}
	identity := []NamedDocument{{Name: "inline", Doc: mustParse(t, identityDoc(Version2012,
		`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::home/${aws:username}/*"}`), Identity)}}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				sub := appSubject
				if (i+j)%2 == 1 {
					sub = "system:serviceaccount:default:other"
				}
				want := Allow
				if sub != appSubject {
					want = ImplicitDeny
				}
				if got := Evaluate(webIdentityRequest(sub, stsAudience), trust...); got.Decision != want {
					t.Errorf("trust: got %v, want %v", got.Decision, want)
					return
				}
				req := s3Request("s3:GetObject", "arn:aws:s3:::home/alice/x", kv("aws:username", "alice"))
				if got := Evaluate(req, identity...); got.Decision != Allow {
					t.Errorf("identity: %s", got.Reason)
					return
				}
			}
		}()
	}
	wg.Wait()
}
