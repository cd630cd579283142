package stsmock

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/irsa-local/irsa-local/pkg/issuer"
)

func TestTokenCacheRemembersWholeTokens(t *testing.T) {
	c := newTokenCache()
	p := &parsedToken{set: &jose.JSONWebKeySet{}}
	if c.get("a.b.c") != nil {
		t.Fatal("an empty cache remembers a token")
	}
	c.add("a.b.c", p)
	if c.get("a.b.c") != p {
		t.Error("a verified token is not remembered")
	}
	if c.get("a.b.d") != nil {
		t.Error("a token with another signature is taken for a remembered one")
	}
}

func TestTokenCacheIsBounded(t *testing.T) {
	c := newTokenCache()
	p := &parsedToken{set: &jose.JSONWebKeySet{}}
	for i := range tokenCacheSize + 10 {
		c.add("tok"+strconv.Itoa(i), p)
	}
	if n := len(c.m); n > tokenCacheSize {
		t.Errorf("cache holds %d tokens, want at most %d", n, tokenCacheSize)
	}
	if c.get("tok"+strconv.Itoa(tokenCacheSize+9)) == nil {
		t.Error("the newest token is not remembered")
	}
}

// A remembered token is verified again once the issuer's keys are fetched
// anew: here its key is retired and the same bytes must be refused, even
// though they were accepted a moment before.
func TestRememberedTokenIsRefusedOnceItsKeyIsGone(t *testing.T) {
	f := newFixture(t)
	roleARN := f.setup()
	old := f.token("default", "app")
	for i := range 2 {
		if code, body := f.wire(assumeForm(roleARN, old)); code != 200 {
			t.Fatalf("call %d with a good token: %d %s", i+1, code, body)
		}
	}
	if f.srv.tokens.get(old) == nil {
		t.Fatal("the verified token is not remembered")
	}
	dir := filepath.Join(f.issuerDir, "keys")
	if _, err := issuer.RotateKeys(dir); err != nil {
		t.Fatal(err)
	}
	ks, _, err := issuer.RetireKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	_ = f.handler.SetKeys(ks)
	f.srv.FlushKeys()
	if code, body := f.wire(assumeForm(roleARN, old)); code != 400 || !strings.Contains(body, "InvalidIdentityToken") {
		t.Errorf("a remembered token of a retired key: %d %s, want 400 InvalidIdentityToken", code, body)
	}
}

// A token whose signature was verified and remembered must still be
// refused when one byte of its signature changes: the cache is keyed by
// the whole token, not by its claims.
func TestRememberedTokenWithOtherSignatureIsRefused(t *testing.T) {
	f := newFixture(t)
	roleARN := f.setup()
	tok := f.token("default", "app")
	for i := range 2 {
		if code, body := f.wire(assumeForm(roleARN, tok)); code != 200 {
			t.Fatalf("call %d with a good token: %d %s", i+1, code, body)
		}
	}
	dot := strings.LastIndexByte(tok, '.')
	sig := []byte(tok[dot+1:])
	sig[len(sig)/2] ^= 'A' ^ 'B'
	if sig[len(sig)/2] == tok[dot+1+len(sig)/2] {
		t.Fatal("signature not changed")
	}
	forged := tok[:dot+1] + string(sig)
	if code, body := f.wire(assumeForm(roleARN, forged)); code != 400 || !strings.Contains(body, "InvalidIdentityToken") {
		t.Errorf("a remembered token with another signature: %d %s, want 400 InvalidIdentityToken", code, body)
	}
}

// Only parsing and the signature are remembered: a remembered token is
// still refused once it has expired, and once the role stops trusting it.
func TestRememberedTokenIsCheckedOnEveryCall(t *testing.T) {
	f := newFixture(t)
	roleARN := f.setup()
	tok := f.token("default", "app")
	if code, body := f.wire(assumeForm(roleARN, tok)); code != 200 {
		t.Fatalf("good token: %d %s", code, body)
	}
	providerARN := "arn:aws:iam::" + f.srv.Account() + ":oidc-provider/" + f.hostPath(false)
	other := f.createRole("other", eksTrust(providerARN, f.hostPath(false), "default", "someone-else"))
	if code, body := f.wire(assumeForm(other, tok)); code != 403 || !strings.Contains(body, "AccessDenied") {
		t.Errorf("remembered token on a role that does not trust it: %d %s, want 403 AccessDenied", code, body)
	}
	if _, err := f.srv.Clock().Advance(2 * time.Hour); err != nil {
		t.Fatal(err)
	}
	if code, body := f.wire(assumeForm(roleARN, tok)); code != 400 || !strings.Contains(body, "ExpiredTokenException") {
		t.Errorf("remembered token after it expired: %d %s, want 400 ExpiredTokenException", code, body)
	}
}
