package stsmock

import (
	"crypto/sha256"
	"sync"

	jose "github.com/go-jose/go-jose/v4"
)

// tokenCacheSize bounds the tokens remembered; a full cache starts afresh.
// Only tokens whose signature verified are remembered, a few KiB each.
const tokenCacheSize = 1024

// tokenCache remembers web identity tokens whose signature verified, as
// kube-apiserver caches authenticated tokens: a workload presents the same
// projected token on every AssumeRoleWithWebIdentity until the kubelet
// refreshes it, and parsing it and verifying its RSA signature are most of
// what such a call costs.
//
// An entry is keyed by the SHA-256 of the whole compact token (header,
// claims and signature): its parsed form is a function of those bytes.
// It is bound to the key set object the signature verified with. The key
// fetcher makes a new object whenever it fetches the issuer's keys again,
// so after a rotation, a retirement or the fetcher's TTL the signature is
// checked afresh. Only parsing and the signature are remembered: claims,
// times, the provider, audience and the trust policy are checked on every
// call.
type tokenCache struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]*parsedToken
}

// parsedToken is a token as parsed, and the key set its signature
// verified with. It is shared between calls and never changed.
type parsedToken struct {
	jws    *jose.JSONWebSignature
	claims tokenClaims
	set    *jose.JSONWebKeySet
}

func newTokenCache() *tokenCache {
	return &tokenCache{m: make(map[[sha256.Size]byte]*parsedToken)}
}

// get returns what was remembered of raw, or nil.
func (c *tokenCache) get(raw string) *parsedToken {
	sum := sha256.Sum256([]byte(raw))
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[sum]
}

// add remembers that raw, parsed as p.jws and p.claims, verified with
// p.set.
func (c *tokenCache) add(raw string, p *parsedToken) {
	sum := sha256.Sum256([]byte(raw))
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= tokenCacheSize {
		clear(c.m)
	}
	c.m[sum] = p
}
