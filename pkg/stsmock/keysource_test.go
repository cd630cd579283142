package stsmock

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// clusterIssuer is the issuer URL of a kubeadm or kind cluster: nothing on
// this machine answers there, so only a key source can verify its tokens.
const clusterIssuer = "https://kubernetes.default.svc.cluster.local"

// TestKeySourceVerifiesAnUnreachableIssuer covers adopting a cluster: the
// keys come from the source (the apiserver), a new kid makes it ask again
// (the cluster rotated its key), and a failing source refuses the token.
func TestKeySourceVerifiesAnUnreachableIssuer(t *testing.T) {
	var calls atomic.Int32
	var failing atomic.Bool
	var served atomic.Value // []byte
	src := KeySourceFunc(func(context.Context) ([]byte, [][]byte, error) {
		calls.Add(1)
		if failing.Load() {
			return nil, nil, errors.New("the apiserver answered 503")
		}
		return served.Load().([]byte), nil, nil
	})
	f := newFixture(t, WithKeySource(clusterIssuer, src))
	publish := func(kids ...string) {
		var set jose.JSONWebKeySet
		for _, kid := range kids {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: f.keys.Signing.Public(), KeyID: kid, Algorithm: "RS256", Use: "sig"})
		}
		b, err := json.Marshal(set)
		if err != nil {
			t.Fatal(err)
		}
		served.Store(b)
	}
	arn := f.createProvider(clusterIssuer)
	roleARN := f.createRole("app", eksTrust(arn, "kubernetes.default.svc.cluster.local", "default", "app"))
	token := func(kid string) string {
		c := f.claims()
		c["iss"] = clusterIssuer
		return sign(t, jose.RS256, f.keys.Signing, kid, c)
	}

	publish("first")
	if code, body := f.wire(assumeForm(roleARN, token("first"))); code != 200 {
		t.Fatalf("token of the source's key: HTTP %d %s", code, body)
	}
	// Rotation: the cluster signs with a kid the cached set lacks.
	publish("first", "second")
	if code, body := f.wire(assumeForm(roleARN, token("second"))); code != 200 {
		t.Fatalf("token of a rotated key: HTTP %d %s", code, body)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("source asked %d times, want 2 (once, then again for the new kid)", n)
	}
	// A kid nobody publishes is refused, without the issuer's URL being
	// dialled.
	if code, body := f.wire(assumeForm(roleARN, token("unknown"))); code != 400 || !strings.Contains(body, "InvalidIdentityToken") {
		t.Errorf("unpublished kid: HTTP %d %s, want 400 InvalidIdentityToken", code, body)
	}
	f.srv.FlushKeys()
	failing.Store(true)
	code, body := f.wire(assumeForm(roleARN, token("first")))
	if code != 400 || !strings.Contains(body, "InvalidIdentityToken") || !strings.Contains(body, "retrieve verification key") {
		t.Errorf("failing source: HTTP %d %s, want InvalidIdentityToken naming key retrieval", code, body)
	}
}

func TestKeySourceRefusesGarbage(t *testing.T) {
	for name, body := range map[string][]byte{
		"not JSON":  []byte("<html>"),
		"oversized": []byte(`{"keys":[` + strings.Repeat(" ", maxDocument) + `]}`),
	} {
		t.Run(name, func(t *testing.T) {
			f := newKeyFetcher(nil, 0, map[string]KeySource{clusterIssuer: KeySourceFunc(func(context.Context) ([]byte, [][]byte, error) { return body, nil, nil })})
			if _, _, err := f.keys(context.Background(), clusterIssuer, ""); !errors.Is(err, errKeyRetrieval) {
				t.Errorf("keys: %v, want errKeyRetrieval", err)
			}
		})
	}
	if _, err := New(WithKeySource("", nil)); err == nil {
		t.Error("New accepted a key source without issuer")
	}
}
