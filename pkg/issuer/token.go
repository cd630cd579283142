package issuer

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
)

// Claims are the claims of a projected service-account token, in the shape
// kube-apiserver signs them. Audience is always a JSON array, as in real
// tokens, even with one value.
type Claims struct {
	Issuer     string         `json:"iss"`
	Subject    string         `json:"sub"`
	Audience   []string       `json:"aud"`
	Expiry     int64          `json:"exp"`
	IssuedAt   int64          `json:"iat"`
	NotBefore  int64          `json:"nbf"`
	ID         string         `json:"jti,omitempty"`
	Kubernetes KubernetesInfo `json:"kubernetes.io"`
}

// KubernetesInfo is the private "kubernetes.io" claim.
type KubernetesInfo struct {
	Namespace      string `json:"namespace"`
	ServiceAccount Ref    `json:"serviceaccount"`
	Pod            *Ref   `json:"pod,omitempty"`
}

// Ref names a Kubernetes object bound to a token.
type Ref struct {
	Name string `json:"name"`
	UID  string `json:"uid"`
}

// TokenRequest describes a token to mint for the no-cluster mode.
type TokenRequest struct {
	Namespace      string
	ServiceAccount string
	Audiences      []string
	Duration       time.Duration
	// Now is the issue time; zero means time.Now.
	Now time.Time
}

// MinTokenDuration is the shortest lifetime kube-apiserver grants a
// TokenRequest ("may not specify a duration less than 10 minutes").
const MinTokenDuration = 10 * time.Minute

// serviceAccountNamespace seeds the stable UIDs of service accounts in the
// no-cluster mode, so two tokens for the same account carry the same uid.
var serviceAccountNamespace = uuid.MustParse("5b0d3b8e-7f0a-4c3e-9a55-2f4c1d6a9e10")

// ServiceAccountUID returns the stable UID irsa-local gives a service account
// that exists in no cluster.
func ServiceAccountUID(namespace, name string) string {
	return uuid.NewSHA1(serviceAccountNamespace, []byte(namespace+"/"+name)).String()
}

// Mint signs a token for req with the signing key of ks, as kube-apiserver
// would for a TokenRequest: RS256, the key's kid in the header, no typ.
func Mint(issuerURL string, ks *KeySet, req TokenRequest) (string, error) {
	if req.Namespace == "" || req.ServiceAccount == "" {
		return "", errors.New("mint token: namespace and service account are required")
	}
	if len(req.Audiences) == 0 {
		return "", errors.New("mint token: at least one audience is required")
	}
	if req.Duration < MinTokenDuration {
		return "", fmt.Errorf("mint token: duration %s is shorter than the minimum %s", req.Duration, MinTokenDuration)
	}
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	claims := Claims{
		Issuer:    issuerURL,
		Subject:   "system:serviceaccount:" + req.Namespace + ":" + req.ServiceAccount,
		Audience:  req.Audiences,
		IssuedAt:  now.Unix(),
		NotBefore: now.Unix(),
		Expiry:    now.Add(req.Duration).Unix(),
		ID:        uuid.NewString(),
		Kubernetes: KubernetesInfo{
			Namespace:      req.Namespace,
			ServiceAccount: Ref{Name: req.ServiceAccount, UID: ServiceAccountUID(req.Namespace, req.ServiceAccount)},
		},
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: ks.Signing, KeyID: ks.SigningID}},
		nil,
	)
	if err != nil {
		return "", fmt.Errorf("create signer: %w", err)
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return tok, nil
}

// NewID returns a fresh issuer ID in EKS's form: 32 upper-case hex digits.
func NewID() string {
	return strings.ToUpper(strings.ReplaceAll(uuid.NewString(), "-", ""))
}

// URL composes an issuer URL with EKS's path form: https://host[:port]/id/ID.
func URL(host string, port int, id string) string {
	hp := host
	if port != 0 && port != 443 {
		hp = net.JoinHostPort(host, strconv.Itoa(port))
	} else if strings.Contains(host, ":") {
		hp = "[" + host + "]"
	}
	return "https://" + hp + "/id/" + id
}

// Decoded is a token's header and claims, read without verification.
type Decoded struct {
	Header map[string]any `json:"header"`
	Claims map[string]any `json:"claims"`
}

// Decode reads a compact JWS token's header and claims without verifying
// it, for people to see what a token really carries.
func Decode(raw string) (*Decoded, error) {
	raw = strings.TrimSpace(raw)
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("decode token: want three dot-separated parts (a JWT), found %d", len(parts))
	}
	d := &Decoded{}
	for i, dst := range []*map[string]any{&d.Header, &d.Claims} {
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[i], "="))
		if err != nil {
			return nil, fmt.Errorf("decode token part %d: %w", i+1, err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(dst); err != nil {
			return nil, fmt.Errorf("decode token part %d: %w", i+1, err)
		}
	}
	return d, nil
}

// NumericTime reads a JWT NumericDate claim value.
func NumericTime(v any) (time.Time, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}
