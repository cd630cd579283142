// Package agent is the EKS Pod Identity agent's credential server: pods
// send their projected token (from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)
// to /v1/credentials, the agent trades it at eks-auth's
// AssumeRoleForPodIdentity and answers the container-credentials JSON the
// SDKs read. Its answers, error bodies included, follow the real agent's
// (eks-pod-identity-agent v0.1.37), so a pod sees the same thing on EKS and
// here.
package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Addresses the agent answers on in every pod's network, and the path.
const (
	IPv4Address = "169.254.170.23"
	IPv6Address = "fd00:ec2::23"
	Path        = "/v1/credentials"
)

// refreshBefore is how long before expiry cached credentials are renewed:
// longer than the SDKs' own refresh windows (botocore's 15 min advisory,
// Go's 5 min), so a client asking for fresh credentials gets them.
const refreshBefore = 20 * time.Minute

// maxCacheLifetime is the agent's cap on how long it keeps credentials
// (--max-credential-retention-before-renewal, 3 h by default).
const maxCacheLifetime = 3 * time.Hour

// Config is what the agent needs.
type Config struct {
	// ClusterName is the cluster eks-auth is asked about (--cluster-name).
	ClusterName string
	// Endpoint is eks-auth's base URL (--endpoint).
	Endpoint string
	// Region signs the call.
	Region string
	// Credentials sign the call: the node role's on EKS.
	Credentials aws.CredentialsProvider
	// Client makes the call; nil means a client with a 5 s timeout.
	Client *http.Client
	// Hosts are the Host header values accepted. nil means the real
	// agent's two addresses; a local agent (irsa-local exec) adds the
	// loopback address it listens on, which SDKs accept too.
	Hosts  []string
	Logger *slog.Logger
}

// Agent serves /v1/credentials.
type Agent struct {
	cfg Config
	mu  sync.Mutex
	// cache holds credentials by token, as the real agent keys them.
	cache map[string]*Credentials
}

// New returns an agent.
func New(cfg Config) (*Agent, error) {
	if cfg.ClusterName == "" || cfg.Endpoint == "" || cfg.Credentials == nil {
		return nil, errors.New("new agent: cluster name, endpoint and credentials are required")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 5 * time.Second}
	}
	if cfg.Hosts == nil {
		cfg.Hosts = []string{IPv4Address, IPv6Address}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Endpoint = strings.TrimSuffix(cfg.Endpoint, "/")
	return &Agent{cfg: cfg, cache: map[string]*Credentials{}}, nil
}

// Credentials is the agent's answer, with the real agent's keys in its
// order; empty ones are left out.
type Credentials struct {
	AccessKeyID     string `json:"AccessKeyId,omitempty"`
	SecretAccessKey string `json:"SecretAccessKey,omitempty"`
	Token           string `json:"Token,omitempty"`
	AccountID       string `json:"AccountId,omitempty"`
	Expiration      string `json:"Expiration,omitempty"`

	expires time.Time
	fetched time.Time
}

// ServeHTTP answers one credentials request.
func (a *Agent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != Path {
		http.NotFound(w, r)
		return
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if !a.allowedHost(host) {
		http.Error(w, fmt.Sprintf("Access Denied. Called agent through invalid address, please use either %v address not %s", a.cfg.Hosts, host), http.StatusForbidden)
		return
	}
	token := r.Header.Get("Authorization")
	if token == "" {
		http.Error(w, "Service account token cannot be empty", http.StatusBadRequest)
		return
	}
	if msg := basicClaims(token); msg != "" {
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	creds, status, msg := a.credentials(r.Context(), token)
	if status != http.StatusOK {
		http.Error(w, msg, status)
		return
	}
	body, err := json.Marshal(creds)
	if err != nil {
		http.Error(w, "Unable to serialize credentials", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func (a *Agent) allowedHost(h string) bool {
	for _, want := range a.cfg.Hosts {
		if strings.Trim(want, "[]") == h {
			return true
		}
	}
	return false
}

// basicClaims parses the token without verifying it and checks its exp and
// nbf, as the real agent does before calling eks-auth. It returns the
// agent's message for a refusal, or "".
func basicClaims(token string) string {
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512, jose.PS256, jose.PS384, jose.PS512})
	if err != nil {
		return "Service account token cannot be parsed: " + err.Error()
	}
	var c jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&c); err != nil {
		return "Service account token cannot be parsed: " + err.Error()
	}
	now := time.Now()
	if c.Expiry != nil && !now.Before(c.Expiry.Time()) {
		return "Service account token failed basic claim validations: token has invalid claims: token is expired"
	}
	if c.NotBefore != nil && now.Before(c.NotBefore.Time()) {
		return "Service account token failed basic claim validations: token has invalid claims: token is not valid yet"
	}
	return ""
}

// credentials returns cached credentials with time to spare, or fetches
// new ones. A refusal evicts the token's entry.
func (a *Agent) credentials(ctx context.Context, token string) (*Credentials, int, string) {
	now := time.Now()
	a.mu.Lock()
	c, ok := a.cache[token]
	a.mu.Unlock()
	if ok && now.Add(refreshBefore).Before(c.expires) && now.Sub(c.fetched) < maxCacheLifetime {
		return c, http.StatusOK, ""
	}
	c, status, msg := a.fetch(ctx, token)
	a.mu.Lock()
	defer a.mu.Unlock()
	if status != http.StatusOK {
		delete(a.cache, token)
		return nil, status, msg
	}
	if len(a.cache) >= 2000 {
		a.cache = map[string]*Credentials{}
	}
	a.cache[token] = c
	return c, http.StatusOK, ""
}

// fetch calls AssumeRoleForPodIdentity.
func (a *Agent) fetch(ctx context.Context, token string) (*Credentials, int, string) {
	body, _ := json.Marshal(map[string]string{"token": token})
	u := a.cfg.Endpoint + "/clusters/" + a.cfg.ClusterName + "/assume-role-for-pod-identity"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, http.StatusInternalServerError, "error getting credentials to cache: " + err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	signer, err := a.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, http.StatusInternalServerError, "error getting credentials to cache: unable to fetch credentials from EKS Auth: " + err.Error()
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, signer, req, hex.EncodeToString(sum[:]), "eks-auth", a.cfg.Region, time.Now()); err != nil {
		return nil, http.StatusInternalServerError, "error getting credentials to cache: " + err.Error()
	}
	resp, err := a.cfg.Client.Do(req)
	if err != nil {
		a.cfg.Logger.Warn("call EKS Auth", "err", err)
		return nil, http.StatusInternalServerError, "error getting credentials to cache: unable to fetch credentials from EKS Auth: operation error EKS Auth: AssumeRoleForPodIdentity, " + err.Error()
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	requestID := resp.Header.Get("x-amzn-RequestId")
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(raw, &e)
		code := resp.Header.Get("x-amzn-ErrorType")
		if code == "" {
			code = e.Type
		}
		fault := "client"
		if resp.StatusCode >= 500 {
			fault = "server"
		}
		return nil, resp.StatusCode, fmt.Sprintf("[%s]: (%s): %s, fault: %s", requestID, code, e.Message, fault)
	}
	var out struct {
		AssumedRoleUser struct {
			ARN string `json:"arn"`
		} `json:"assumedRoleUser"`
		Credentials struct {
			AccessKeyID     string  `json:"accessKeyId"`
			SecretAccessKey string  `json:"secretAccessKey"`
			SessionToken    string  `json:"sessionToken"`
			Expiration      float64 `json:"expiration"`
		} `json:"credentials"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, http.StatusInternalServerError, "error getting credentials to cache: unable to fetch credentials from EKS Auth: " + err.Error()
	}
	expires := time.Unix(int64(out.Credentials.Expiration), 0).UTC()
	if left := time.Until(expires); left <= 15*time.Second {
		return nil, http.StatusInternalServerError, fmt.Sprintf("fetched credentials are expired or will expire within the next %d seconds", int(left.Seconds()))
	}
	account := ""
	if parts := strings.SplitN(out.AssumedRoleUser.ARN, ":", 6); len(parts) == 6 {
		account = parts[4]
	}
	return &Credentials{
		AccessKeyID:     out.Credentials.AccessKeyID,
		SecretAccessKey: out.Credentials.SecretAccessKey,
		Token:           out.Credentials.SessionToken,
		AccountID:       account,
		Expiration:      expires.Format(time.RFC3339),
		expires:         expires,
		fetched:         time.Now(),
	}, http.StatusOK, ""
}
