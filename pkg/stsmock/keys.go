package stsmock

import (
	"context"
	"crypto/sha1" //nolint:gosec // IAM thumbprints are SHA-1 by definition.
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/irsa-local/irsa-local/internal/awsquery"
)

// keyFetcher gets an issuer's signing keys the way STS does: discovery
// document at <iss>/.well-known/openid-configuration, then its jwks_uri, both
// over HTTPS. Key sets are cached for at most ttl, re-fetched at once when a
// token names a kid the cached set lacks (at most once a second per issuer,
// so a flood of bogus kids cannot hammer the issuer), and dropped by flush.
type keyFetcher struct {
	client *http.Client
	ttl    time.Duration
	now    func() time.Time
	// sources fetch the keys of issuers whose URL cannot be reached.
	sources map[string]KeySource

	mu      sync.Mutex
	issuers map[string]*issuerKeys
}

type issuerKeys struct {
	mu       sync.Mutex
	keys     *jose.JSONWebKeySet
	jwksURL  string
	fetched  time.Time
	lastMiss time.Time // last re-fetch caused by an unknown kid
	chain    [][]byte  // certificates the JWKS host presented, leaf first
}

// KeySource fetches an issuer's JSON Web Key Set by a way of its own, for
// an issuer whose URL cannot be reached from here: a cluster's issuer
// (often https://kubernetes.default.svc) read through its apiserver's
// /openid/v1/jwks. chain is the certificates the source's server presented,
// leaf first, for thumbprint checks; it may be nil. The set is cached and
// re-fetched as fetched key sets are.
type KeySource interface {
	JWKS(ctx context.Context) (jwks []byte, chain [][]byte, err error)
}

// KeySourceFunc adapts a function to KeySource.
type KeySourceFunc func(ctx context.Context) ([]byte, [][]byte, error)

// JWKS calls f.
func (f KeySourceFunc) JWKS(ctx context.Context) ([]byte, [][]byte, error) { return f(ctx) }

// maxDocument bounds discovery and JWKS responses.
const maxDocument = 1 << 20

func newKeyFetcher(client *http.Client, ttl time.Duration, sources map[string]KeySource) *keyFetcher {
	return &keyFetcher{client: client, ttl: ttl, now: time.Now, sources: sources, issuers: map[string]*issuerKeys{}}
}

// flush forgets every cached key set, so a retired key stops working at once.
func (f *keyFetcher) flush() {
	f.mu.Lock()
	f.issuers = map[string]*issuerKeys{}
	f.mu.Unlock()
}

// errKeyRetrieval is any failure to obtain the issuer's keys.
var errKeyRetrieval = errors.New("retrieve verification key")

// keys returns the issuer's key set, fetched or cached, and the certificate
// chain its JWKS host presented. wantKID forces a re-fetch when the cached
// set lacks it.
func (f *keyFetcher) keys(ctx context.Context, iss, wantKID string) (*jose.JSONWebKeySet, [][]byte, error) {
	f.mu.Lock()
	ik, ok := f.issuers[iss]
	if !ok {
		ik = &issuerKeys{}
		f.issuers[iss] = ik
	}
	f.mu.Unlock()

	ik.mu.Lock()
	defer ik.mu.Unlock()
	now := f.now()
	fresh := ik.keys != nil && now.Sub(ik.fetched) < f.ttl
	if fresh {
		if wantKID == "" || len(ik.keys.Key(wantKID)) > 0 || now.Sub(ik.lastMiss) < time.Second {
			return ik.keys, ik.chain, nil
		}
		ik.lastMiss = now
	}
	keys, jwksURL, chain, err := f.fetch(ctx, iss)
	if err != nil {
		return nil, nil, err
	}
	ik.keys, ik.jwksURL, ik.chain, ik.fetched = keys, jwksURL, chain, now
	return keys, chain, nil
}

func (f *keyFetcher) fetch(ctx context.Context, iss string) (*jose.JSONWebKeySet, string, [][]byte, error) {
	if src, ok := f.sources[iss]; ok {
		raw, chain, err := src.JWKS(ctx)
		if err != nil {
			return nil, "", nil, fmt.Errorf("%w: %v", errKeyRetrieval, err)
		}
		if len(raw) > maxDocument {
			return nil, "", nil, fmt.Errorf("%w: the key set of %s is larger than %d bytes", errKeyRetrieval, iss, maxDocument)
		}
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(raw, &set); err != nil {
			return nil, "", nil, fmt.Errorf("%w: decode the key set of %s: %v", errKeyRetrieval, iss, err)
		}
		return &set, "", chain, nil
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if _, err := f.getJSON(ctx, strings.TrimSuffix(iss, "/")+"/.well-known/openid-configuration", &doc); err != nil {
		return nil, "", nil, err
	}
	// OIDC Discovery 1.0 §4.3: the document's issuer must be identical to
	// the URL it was fetched under, which is the token's iss. A mismatch
	// means the keys served there are not this issuer's (a proxy, a
	// cluster's own issuer behind another name), so none may verify.
	if doc.Issuer != iss {
		return nil, "", nil, fmt.Errorf("%w: the discovery document of %s names issuer %q; OpenID Connect Discovery requires it to be identical to the token's iss", errKeyRetrieval, iss, awsquery.Truncate(doc.Issuer, awsquery.MaxEchoed))
	}
	u, err := url.Parse(doc.JWKSURI)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, "", nil, fmt.Errorf("%w: discovery document of %s has jwks_uri %q, want an https URL", errKeyRetrieval, iss, doc.JWKSURI)
	}
	var set jose.JSONWebKeySet
	chain, err := f.getJSON(ctx, doc.JWKSURI, &set)
	if err != nil {
		return nil, "", nil, err
	}
	return &set, doc.JWKSURI, chain, nil
}

func (f *keyFetcher) getJSON(ctx context.Context, u string, v any) ([][]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errKeyRetrieval, err)
	}
	if req.URL.Scheme != "https" {
		return nil, fmt.Errorf("%w: %s is not https", errKeyRetrieval, u)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s: %v", errKeyRetrieval, u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: GET %s: HTTP %d", errKeyRetrieval, u, resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxDocument)).Decode(v); err != nil {
		return nil, fmt.Errorf("%w: GET %s: decode: %v", errKeyRetrieval, u, err)
	}
	var chain [][]byte
	if resp.TLS != nil {
		for _, c := range resp.TLS.PeerCertificates {
			chain = append(chain, c.Raw)
		}
	}
	return chain, nil
}

// thumbprint is the lower-case hex SHA-1 of the last certificate a server
// presented, as IAM, eksctl and Terraform compute it.
func thumbprint(chain [][]byte) string {
	if len(chain) == 0 {
		return ""
	}
	sum := sha1.Sum(chain[len(chain)-1]) //nolint:gosec // see import
	return hex.EncodeToString(sum[:])
}

// defaultKeyClient trusts the system roots plus extra (the environment CA),
// like STS trusting public CAs and a configured thumbprint.
func defaultKeyClient(extra *tls.Config) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = extra
	tr.MaxIdleConnsPerHost = 16
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}
