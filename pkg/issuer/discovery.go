package issuer

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"

	jose "github.com/go-jose/go-jose/v4"
)

// Paths of the issuer's documents relative to the issuer URL. EKS publishes
// the key set at "<issuer>/keys"; kube-apiserver at "/openid/v1/jwks". The
// discovery document names the first; the second is served too so a client
// written against a self-hosted apiserver issuer also finds the keys.
const (
	DiscoveryPath     = "/.well-known/openid-configuration"
	JWKSPath          = "/keys"
	APIServerJWKSPath = "/openid/v1/jwks"
)

// cacheControl is what kube-apiserver sends for both documents (max-age from
// its static key getter). STS and other verifiers re-fetch on an unknown kid,
// so a rotation still takes effect at once.
const cacheControl = "public, max-age=3600"

// Document is the OpenID Connect discovery document, shaped as EKS's issuer
// publishes it.
type Document struct {
	Issuer                           string   `json:"issuer"`
	JWKSURI                          string   `json:"jwks_uri"`
	AuthorizationEndpoint            string   `json:"authorization_endpoint"`
	ResponseTypesSupported           []string `json:"response_types_supported"`
	SubjectTypesSupported            []string `json:"subject_types_supported"`
	ClaimsSupported                  []string `json:"claims_supported"`
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
}

// Construct builds the discovery document for issuerURL. It is pure, so its
// shape is tested without HTTP.
func Construct(issuerURL string) Document {
	return Document{
		Issuer:                           issuerURL,
		JWKSURI:                          strings.TrimSuffix(issuerURL, "/") + JWKSPath,
		AuthorizationEndpoint:            "urn:kubernetes:programmatic_authorization",
		ResponseTypesSupported:           []string{"id_token"},
		SubjectTypesSupported:            []string{"public"},
		ClaimsSupported:                  []string{"sub", "iss"},
		IDTokenSigningAlgValuesSupported: []string{string(jose.RS256)},
	}
}

// JWKS returns the JSON Web Key Set publishing every key of ks, in the form
// kube-apiserver serves: use "sig", alg RS256, the kid of KeyID.
func JWKS(ks *KeySet) jose.JSONWebKeySet {
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(ks.Published))}
	for _, p := range ks.Published {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: p.Key, KeyID: p.ID, Algorithm: string(jose.RS256), Use: "sig"})
	}
	return set
}

// Handler serves an issuer's discovery document and key set. The key set can
// be replaced while serving (after a rotation) with SetKeys.
type Handler struct {
	issuerURL string
	prefix    string
	discovery []byte
	jwks      atomic.Pointer[[]byte]
}

// NewHandler returns a Handler for issuerURL publishing ks.
func NewHandler(issuerURL string, ks *KeySet) (*Handler, error) {
	u, err := url.Parse(issuerURL)
	if err != nil {
		return nil, fmt.Errorf("parse issuer URL: %w", err)
	}
	if u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("parse issuer URL %q: want https://host[:port][/path] without query or fragment", issuerURL)
	}
	doc, err := json.Marshal(Construct(issuerURL))
	if err != nil {
		return nil, fmt.Errorf("marshal discovery document: %w", err)
	}
	h := &Handler{issuerURL: issuerURL, prefix: strings.TrimSuffix(u.EscapedPath(), "/"), discovery: doc}
	if err := h.SetKeys(ks); err != nil {
		return nil, err
	}
	return h, nil
}

// SetKeys replaces the published key set.
func (h *Handler) SetKeys(ks *KeySet) error {
	b, err := json.Marshal(JWKS(ks))
	if err != nil {
		return fmt.Errorf("marshal key set: %w", err)
	}
	h.jwks.Store(&b)
	return nil
}

// Mount registers the issuer's documents on mux under the issuer URL's path.
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET "+h.prefix+DiscoveryPath, func(w http.ResponseWriter, _ *http.Request) {
		write(w, "application/json", h.discovery)
	})
	keys := func(w http.ResponseWriter, _ *http.Request) {
		write(w, "application/jwk-set+json", *h.jwks.Load())
	}
	mux.HandleFunc("GET "+h.prefix+JWKSPath, keys)
	mux.HandleFunc("GET "+h.prefix+APIServerJWKSPath, keys)
}

func write(w http.ResponseWriter, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", cacheControl)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}
