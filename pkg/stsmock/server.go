package stsmock

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/irsa-local/irsa-local/internal/actions"
	"github.com/irsa-local/irsa-local/internal/awsquery"
	"github.com/irsa-local/irsa-local/internal/clock"
	"github.com/irsa-local/irsa-local/internal/sigv4"
	"github.com/irsa-local/irsa-local/internal/trail"
)

// Server is irsa-local's AWS endpoint. It routes each request to IAM or STS
// by the service in its SigV4 credential scope; the one unsigned request it
// accepts is AssumeRoleWithWebIdentity, which SDKs send unsigned.
type Server struct {
	account, region string
	adminKey        string
	adminSecret     string
	clock           *clock.Offset
	log             *slog.Logger
	thumbprints     bool

	// iam is the IAM state of account: the default account's, or another's
	// in a view made by in. base is always the default account's, which
	// also holds S3's and EKS's metadata.
	iam      *iamState
	base     *iamState
	accounts *accountSet
	// defaultAccount is the environment's first account, where S3 buckets
	// without a recorded owner and the EKS cluster belong.
	defaultAccount string
	seal           *sealer
	keys           *keyFetcher
	tokens         *tokenCache
	s3             *s3Store
	s3Hosts        []string
	cluster        *EKSCluster
	binding        BindingChecker
	trail          *trail.Writer
	admin          http.Handler
	gateway        *gateway

	sessionPolicies *docCache
}

// Option configures New.
type Option interface{ apply(*config) error }

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

type config struct {
	account, region    string
	adminKey, adminSec string
	stateDir           string
	roots              []*x509.Certificate
	keyTTL             time.Duration
	thumbprints        bool
	logger             *slog.Logger
	s3InMemory         bool
	s3Hosts            []string
	cluster            *EKSCluster
	binding            BindingChecker
	trailPath          string
	backend            *Backend
	keySources         map[string]KeySource
}

// WithAccount sets the 12-digit account ID (default 000000000000).
func WithAccount(id string) Option {
	return optionFunc(func(c *config) error {
		if len(id) != 12 || strings.Trim(id, "0123456789") != "" {
			return fmt.Errorf("invalid account id %q: want 12 digits", id)
		}
		c.account = id
		return nil
	})
}

// WithRegion sets the region the endpoint reports (default us-east-1).
func WithRegion(region string) Option {
	return optionFunc(func(c *config) error { c.region = region; return nil })
}

// WithAdminCredentials sets the static credentials that act as the account
// root (default test/test, as LocalStack users expect).
func WithAdminCredentials(accessKeyID, secret string) Option {
	return optionFunc(func(c *config) error {
		if accessKeyID == "" || secret == "" {
			return errors.New("admin credentials must not be empty")
		}
		c.adminKey, c.adminSec = accessKeyID, secret
		return nil
	})
}

// WithStateDir persists IAM entities and the session sealing key in dir.
// Without it everything is kept in memory. The clock offset is never
// persisted: a restarted environment runs on real time again.
func WithStateDir(dir string) Option {
	return optionFunc(func(c *config) error { c.stateDir = dir; return nil })
}

// WithTrustedCAs adds CAs the endpoint trusts, on top of the system roots,
// when it fetches an issuer's discovery document and keys over HTTPS.
func WithTrustedCAs(certs ...*x509.Certificate) Option {
	return optionFunc(func(c *config) error { c.roots = append(c.roots, certs...); return nil })
}

// WithKeySource makes the endpoint fetch the keys of the issuer issuerURL
// from src instead of its discovery document: for a cluster whose issuer
// URL is not reachable from here, whose keys its apiserver serves.
func WithKeySource(issuerURL string, src KeySource) Option {
	return optionFunc(func(c *config) error {
		if issuerURL == "" || src == nil {
			return errors.New("key source needs an issuer URL and a source")
		}
		if c.keySources == nil {
			c.keySources = map[string]KeySource{}
		}
		c.keySources[issuerURL] = src
		return nil
	})
}

// WithKeyCacheTTL sets how long fetched key sets are cached (default 60s).
func WithKeyCacheTTL(d time.Duration) Option {
	return optionFunc(func(c *config) error { c.keyTTL = d; return nil })
}

// WithThumbprintCheck makes AssumeRoleWithWebIdentity require the
// thumbprint of the JWKS host's top certificate to be in the provider's
// ThumbprintList, as IAM did for every provider before 2023. Off by
// default, as AWS now trusts its CA library for most issuers.
func WithThumbprintCheck(on bool) Option {
	return optionFunc(func(c *config) error { c.thumbprints = on; return nil })
}

// WithInMemoryS3 keeps S3 buckets and objects in memory instead of under
// the state directory.
func WithInMemoryS3() Option {
	return optionFunc(func(c *config) error { c.s3InMemory = true; return nil })
}

// WithS3Hosts adds base host names whose sub-domains address a bucket
// (virtual-hosted style: <bucket>.<host>). s3.<region>.amazonaws.com,
// s3.amazonaws.com, s3.localhost and localhost are always recognised.
func WithS3Hosts(hosts ...string) Option {
	return optionFunc(func(c *config) error { c.s3Hosts = append(c.s3Hosts, hosts...); return nil })
}

// WithEKSCluster makes EKS DescribeCluster and ListClusters describe
// cluster.
func WithEKSCluster(cluster EKSCluster) Option {
	return optionFunc(func(c *config) error {
		if cluster.Name == "" || cluster.IssuerURL == "" {
			return errors.New("EKS cluster needs a name and an issuer URL")
		}
		c.cluster = &cluster
		return nil
	})
}

// WithTrail appends an audit record for every STS and S3 call and every IAM
// write to the JSON-lines file at path.
func WithTrail(path string) Option {
	return optionFunc(func(c *config) error { c.trailPath = path; return nil })
}

// WithLogger sends the endpoint's logs to l.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) error { c.logger = l; return nil })
}

// New returns an endpoint configured by opts.
func New(opts ...Option) (*Server, error) {
	c := config{
		account: "000000000000", region: "us-east-1",
		adminKey: "test", adminSec: "test",
		keyTTL: 60 * time.Second,
		logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.apply(&c); err != nil {
			return nil, err
		}
	}
	var iamPath, keyPath, s3Dir string
	if c.stateDir != "" {
		s3Dir = storageDir(c.stateDir)
		if err := os.MkdirAll(c.stateDir, 0o700); err != nil {
			return nil, fmt.Errorf("create AWS state directory: %w", err)
		}
		iamPath = filepath.Join(c.stateDir, "iam.json")
		keyPath = filepath.Join(c.stateDir, "session.key")
	}
	st, err := newIAMState(iamPath)
	if err != nil {
		return nil, err
	}
	accountsDir := ""
	if c.stateDir != "" {
		accountsDir = filepath.Join(c.stateDir, "accounts")
	}
	accts, err := newAccountSet(accountsDir, c.account, st)
	if err != nil {
		return nil, err
	}
	seal, err := newSealer(keyPath)
	if err != nil {
		return nil, err
	}
	if c.s3InMemory {
		s3Dir = ""
	}
	store, err := newS3Store(s3Dir, c.logger)
	if err != nil {
		return nil, err
	}
	var tw *trail.Writer
	if c.trailPath != "" {
		if tw, err = trail.Open(c.trailPath, trail.DefaultLimit); err != nil {
			return nil, err
		}
	}
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	for _, ca := range c.roots {
		roots.AddCert(ca)
	}
	s := &Server{
		account: c.account, region: c.region,
		adminKey: c.adminKey, adminSecret: c.adminSec,
		clock: clock.NewOffset(0), log: c.logger, thumbprints: c.thumbprints,
		iam: st, base: st, accounts: accts, defaultAccount: c.account,
		sessionPolicies: &docCache{},
		seal:            seal, s3: store, trail: tw, cluster: c.cluster, binding: c.binding,
		s3Hosts: append(c.s3Hosts, defaultS3Hosts(c.region)...),
		tokens:  newTokenCache(),
		keys:    newKeyFetcher(defaultKeyClient(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}), c.keyTTL, c.keySources),
	}
	if c.backend != nil {
		s.gateway = newGateway(newUpstream(*c.backend, c.account))
	}
	s.admin = s.adminHandler()
	return s, nil
}

// Account returns the account ID.
func (s *Server) Account() string { return s.account }

// Clock is the emulator's clock: real time shifted by an offset, by which
// tokens, sessions and time conditions are judged. Advance moves it forward
// only (ten years at most in all) and returns the new offset, Offset
// reports it, and Reset returns to real time.
type Clock interface {
	Now() time.Time
	Advance(d time.Duration) (time.Duration, error)
	Offset() time.Duration
	Reset()
}

// Clock returns the emulator's clock.
func (s *Server) Clock() Clock { return s.clock }

// FlushKeys drops every cached issuer key set, so that a retired key stops
// verifying at once.
func (s *Server) FlushKeys() { s.keys.flush() }

// Reset empties IAM, S3 and the backend, invalidates every issued session and returns
// the clock to real time: a clean account for the next test.
func (s *Server) Reset() error {
	s.base.mu.Lock()
	s.base.reset()
	err := s.base.save()
	s.base.mu.Unlock()
	if err != nil {
		return err
	}
	if err := s.accounts.resetOthers(s.defaultAccount); err != nil {
		return err
	}
	buckets, err := s.s3.backend.ListBuckets()
	if err != nil {
		return fmt.Errorf("list buckets: %w", err)
	}
	for _, b := range buckets {
		if err := s.s3.backend.ForceDeleteBucket(b.Name); err != nil {
			return fmt.Errorf("delete bucket %s: %w", b.Name, err)
		}
	}
	if s.gateway != nil {
		if err := s.gateway.reset(context.Background()); err != nil {
			return err
		}
	}
	s.clock.Reset()
	s.keys.flush()
	return s.seal.rotate()
}

// Close persists what is only kept in memory between writes (role last-used
// dates) and closes the trail.
func (s *Server) Close() error {
	s.iam.mu.Lock()
	err := s.iam.save()
	s.iam.mu.Unlock()
	if s.trail != nil {
		err = errors.Join(err, s.trail.Close())
	}
	return err
}

// request is what the handlers of one call share.
type request struct {
	id      string
	r       *http.Request
	body    []byte
	p       awsquery.Params
	caller  *caller
	started time.Time
}

// caller is who signed a request.
type caller struct {
	accessKeyID string
	// admin: the caller is the root of account, by the configured admin
	// credentials (operator) or a 12-digit access key.
	admin    bool
	operator bool
	account  string
	session  *session
	// temporary: the caller signed with a session token (a role session,
	// or a root's from GetSessionToken).
	temporary bool
}

// callerAccount is the account a signed caller belongs to.
func (c *caller) callerAccount() string {
	if c.session != nil {
		return c.session.account()
	}
	return c.account
}

// ServeHTTP routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r = limitBodyRate(w, r)
	if strings.HasPrefix(r.URL.Path, adminPrefix) {
		s.serveAdmin(w, r)
		return
	}
	req := &request{id: uuid.NewString(), r: r, started: time.Now()}
	scope, signed, err := sigv4.Parse(r)
	if err != nil {
		if isQueryCall(r) {
			s.queryError(w, req, "sts", authError(err))
			return
		}
		wire, _ := sigv4.ToWire(err, sigv4.ProtocolS3)
		writeS3Error(w, r, req.id, wire.Code, wire.Status, wire.Message)
		return
	}
	service := scope.Service
	if !signed && r.Header.Get("X-Amz-Target") != "" {
		// An unsigned JSON-protocol call: no service serves those.
		writeGatewayError(w, req, "", actions.ProtocolJSON, gatewayAuthError("", &sigv4.Error{Kind: sigv4.ErrMissingAuthentication}))
		return
	}
	if !signed {
		// Unsigned: AssumeRoleWithWebIdentity (Query), or anonymous S3.
		service = "s3"
		if isQueryCall(r) {
			service = "sts"
		}
	}
	switch service {
	case "sts", "iam":
		s.serveQuery(w, req, service, signed)
	case "s3":
		s.serveS3(w, req, signed)
	case "eks":
		s.serveEKS(w, req)
	case "eks-auth":
		s.serveEKSAuth(w, req)
	case "cloudformation":
		s.serveCloudFormation(w, req)
	default:
		s.serveGateway(w, req, scope)
	}
}

// isQueryCall tells an unsigned Query-protocol call (a form POST to "/" or
// an Action parameter) from an S3 request.
func isQueryCall(r *http.Request) bool {
	if r.URL.Query().Has("Action") {
		return true
	}
	ct := r.Header.Get("Content-Type")
	return r.Method == http.MethodPost && r.URL.Path == "/" && strings.HasPrefix(ct, "application/x-www-form-urlencoded")
}

func (s *Server) serveQuery(w http.ResponseWriter, req *request, service string, signed bool) {
	body, err := awsquery.ReadBody(req.r, maxQueryBody)
	if err != nil {
		s.queryError(w, req, service, err.(*awsquery.Error))
		return
	}
	req.body = body
	req.r.Body = io.NopCloser(strings.NewReader(string(body)))
	p, perr := awsquery.ReadParams(req.r, body)
	if perr != nil {
		s.queryError(w, req, service, perr.(*awsquery.Error))
		return
	}
	req.p = p
	action := p.Get("Action")
	rec := s.newEvent(req, service, action)
	// Every STS call is recorded; IAM calls only when they write.
	audited := service == "sts" || iamActions[action].write
	fail := func(e *awsquery.Error) {
		if audited {
			rec.fail(e.Code, e.Message)
			s.record(rec)
		}
		s.queryError(w, req, service, e)
	}
	if !signed {
		if service == "sts" && action == "AssumeRoleWithWebIdentity" {
			s.serveSTS(w, req, action, rec)
			return
		}
		fail(awsquery.Errorf(403, "MissingAuthenticationToken", "Request is missing Authentication Token"))
		return
	}
	c, aerr := s.authenticate(req.r)
	if aerr != nil {
		fail(aerr)
		return
	}
	req.caller = c
	if v, ok := s.in(c.callerAccount()); ok {
		// IAM calls act on the caller's own account.
		s = v
		rec.RecipientAccountID = v.account
	}
	rec.identity(s, c)
	if action == "" {
		fail(awsquery.Errorf(400, "MissingAction", "Missing Action"))
		return
	}
	if service == "iam" {
		if !audited {
			rec = nil
		}
		s.serveIAM(w, req, action, rec)
		return
	}
	s.serveSTS(w, req, action, rec)
}

// verify checks a signed request's signature (against the real clock, as
// clients sign with it) and says who signed it. Callers map a failure to
// their protocol's error with sigv4.ToWire.
func (s *Server) verify(r *http.Request) (*caller, error) {
	c := &caller{}
	if _, err := sigv4.Verify(r.Context(), r, s.credentials(c), time.Now()); err != nil {
		return nil, err
	}
	return c, nil
}

// authenticate verifies a signed Query-protocol request.
func (s *Server) authenticate(r *http.Request) (*caller, *awsquery.Error) {
	c, err := s.verify(r)
	if err != nil {
		return nil, authError(err)
	}
	return c, nil
}

// credentials resolves access keys for sigv4.Verify and records in c who
// signed: the admin key (which takes no session token), or a session whose
// sealed token must open for its key and must not have expired on the
// emulator clock.
func (s *Server) credentials(c *caller) sigv4.Credentials {
	return credentialFunc(func(_ context.Context, akid, token string) (string, error) {
		c.accessKeyID = akid
		if akid == s.adminKey {
			if token != "" {
				return "", sigv4.ErrInvalidToken
			}
			c.admin, c.operator, c.account = true, true, s.defaultAccount
			return s.adminSecret, nil
		}
		if isAccountID(akid) && token == "" {
			// The LocalStack convention: the account's root, with any
			// secret. A secret that is any secret cannot be checked, so
			// everything but the signature is.
			if _, _, err := s.accounts.ensure(akid); err != nil {
				return "", sigv4.ErrUnknownAccessKey
			}
			c.admin, c.account = true, akid
			return "", sigv4.ErrAnySecret
		}
		if !strings.HasPrefix(akid, "ASIA") {
			return "", sigv4.ErrUnknownAccessKey
		}
		if token == "" {
			// A temporary key means nothing without its session token.
			return "", sigv4.ErrUnknownAccessKey
		}
		sess, err := s.seal.open(akid, token)
		if err != nil {
			return "", sigv4.ErrInvalidToken
		}
		if !s.clock.Now().Before(sess.Expiration) {
			return "", sigv4.ErrExpiredToken
		}
		c.temporary = true
		if sess.Root != "" {
			// GetSessionToken's session: the account root, for a while.
			if _, ok := s.accounts.get(sess.Root); !ok {
				return "", sigv4.ErrInvalidToken
			}
			c.admin, c.account = true, sess.Root
			return sess.SecretAccessKey, nil
		}
		c.session = sess
		return sess.SecretAccessKey, nil
	})
}

type credentialFunc func(ctx context.Context, accessKeyID, sessionToken string) (string, error)

func (f credentialFunc) Lookup(ctx context.Context, accessKeyID, sessionToken string) (string, error) {
	return f(ctx, accessKeyID, sessionToken)
}

// authError maps a signature verification failure to the error the Query
// services send.
func authError(err error) *awsquery.Error {
	if wire, ok := sigv4.ToWire(err, sigv4.ProtocolQuery); ok {
		return &awsquery.Error{Status: wire.Status, Code: wire.Code, Message: wire.Message}
	}
	return awsquery.Errorf(500, "ServiceFailure", "verify signature: %v", err)
}

func (s *Server) queryError(w http.ResponseWriter, req *request, service string, e *awsquery.Error) {
	ns := stsNamespace
	if service == "iam" {
		ns = iamNamespace
	}
	e.Message = awsquery.Truncate(e.Message, maxReason)
	if e.Status >= 500 {
		s.log.Error("request failed", "requestId", req.id, "code", e.Code, "message", e.Message)
	}
	awsquery.WriteError(w, ns, e, req.id)
}

const adminPrefix = "/_irsa-local/"

// serveAdmin guards irsa-local's own endpoints. Only the health check is
// open. Every other call must be signed with SigV4 by the admin
// credentials, like any AWS call that changes the account; a request with
// an Origin header (a web page's) is refused outright, and a POST must say
// its body is JSON, so no page a browser loads can drive them.
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == adminPrefix+"health" {
		s.admin.ServeHTTP(w, r)
		return
	}
	if r.Header.Get("Origin") != "" {
		writeAdminError(w, http.StatusForbidden, "CrossOriginRefused", "irsa-local's admin API does not answer cross-origin requests")
		return
	}
	if r.Method == http.MethodPost {
		if ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";"); strings.TrimSpace(ct) != "application/json" {
			writeAdminError(w, http.StatusUnsupportedMediaType, "UnsupportedMediaType", "the admin API takes a JSON body (Content-Type: application/json)")
			return
		}
	}
	if r.ContentLength > maxAdminBody {
		writeAdminError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "an admin call's body is at most 4 KiB")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxAdminBody)
	if _, signed, err := sigv4.Parse(r); err != nil || !signed {
		writeAdminError(w, http.StatusForbidden, "MissingAuthenticationToken", "the admin API needs a SigV4 signature with the admin credentials (curl --aws-sigv4 aws:amz:<region>:irsa-local --user <key>:<secret>)")
		return
	}
	c, err := s.verify(r)
	if tooLarge := (*http.MaxBytesError)(nil); errors.As(err, &tooLarge) {
		writeAdminError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "an admin call's body is at most 4 KiB")
		return
	}
	if err != nil {
		wire, _ := sigv4.ToWire(err, sigv4.ProtocolQuery)
		writeAdminError(w, http.StatusForbidden, wire.Code, wire.Message)
		return
	}
	if !c.operator {
		writeAdminError(w, http.StatusForbidden, "AccessDenied", "only the admin credentials may call irsa-local's admin API")
		return
	}
	s.admin.ServeHTTP(w, r)
}

// maxAdminBody bounds an admin call's body; none needs more than a line.
const maxAdminBody = 4 << 10

// adminHandler serves irsa-local's own endpoints next to the AWS APIs. Bucket
// names cannot start with "_", so these never shadow an S3 path.
func (s *Server) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+adminPrefix+"health", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET "+adminPrefix+"clock", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.clockState())
	})
	const clockUsage = `body must be {"advance":"<positive duration>"} or {"reset":true}`
	mux.HandleFunc("POST "+adminPrefix+"clock", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Advance string `json:"advance"`
			Reset   bool   `json:"reset"`
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil || (body.Reset == (body.Advance != "")) {
			writeAdminError(w, http.StatusBadRequest, "InvalidInput", clockUsage)
			return
		}
		if body.Reset {
			s.clock.Reset()
			writeJSON(w, http.StatusOK, s.clockState())
			return
		}
		d, err := time.ParseDuration(body.Advance)
		if err != nil {
			writeAdminError(w, http.StatusBadRequest, "InvalidInput", "advance: "+awsquery.Truncate(err.Error(), 200))
			return
		}
		if _, err := s.clock.Advance(d); err != nil {
			writeAdminError(w, http.StatusBadRequest, "InvalidInput", "advance "+d.String()+": "+err.Error())
			return
		}
		writeJSON(w, http.StatusOK, s.clockState())
	})
	mux.HandleFunc("POST "+adminPrefix+"authorize", s.serveAuthorize)
	mux.HandleFunc("POST "+adminPrefix+"assume", s.serveAssumeCheck)
	mux.HandleFunc("POST "+adminPrefix+"pod-identity", s.servePodIdentityCheck)
	mux.HandleFunc("GET "+adminPrefix+"pod-identity-associations", func(w http.ResponseWriter, _ *http.Request) {
		as := s.Associations()
		for i := range as {
			as[i].ClientRequestToken = ""
		}
		writeJSON(w, http.StatusOK, map[string][]Association{"associations": as})
	})
	mux.HandleFunc("GET "+adminPrefix+"accounts", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string][]string{"accounts": s.Accounts()})
	})
	mux.HandleFunc("POST "+adminPrefix+"accounts", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			ID string `json:"id"`
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil || !isAccountID(body.ID) {
			writeAdminError(w, http.StatusBadRequest, "InvalidInput", `body must be {"id":"<12-digit account id>"}`)
			return
		}
		if err := s.CreateAccount(body.ID); err != nil {
			writeAdminError(w, http.StatusConflict, "LimitExceeded", err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string][]string{"accounts": s.Accounts()})
	})
	mux.HandleFunc("GET "+adminPrefix+"oidc-provider", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"arn": s.OIDCProviderARN(r.URL.Query().Get("url"))})
	})
	mux.HandleFunc("POST "+adminPrefix+"keys/flush", func(w http.ResponseWriter, _ *http.Request) {
		s.FlushKeys()
		writeJSON(w, http.StatusOK, map[string]string{"status": "flushed"})
	})
	mux.HandleFunc("POST "+adminPrefix+"reset", func(w http.ResponseWriter, _ *http.Request) {
		if err := s.Reset(); err != nil {
			s.log.Error("reset", "err", err)
			writeAdminError(w, http.StatusInternalServerError, "ServiceFailure", "reset failed; see the environment's log")
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "reset"})
	})
	mux.HandleFunc(adminPrefix, func(w http.ResponseWriter, r *http.Request) {
		writeAdminError(w, http.StatusNotFound, "NotFound", "no admin endpoint "+r.Method+" "+awsquery.Truncate(r.URL.Path, 200))
	})
	return mux
}

// AdminError is the body of a refused admin call.
type AdminError struct {
	Code  string `json:"code"`
	Error string `json:"error"`
}

func writeAdminError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, AdminError{Code: code, Error: msg})
}

// ClockState is what the clock admin endpoint reports.
type ClockState struct {
	Now    time.Time `json:"now"`
	Offset string    `json:"offset"`
}

func (s *Server) clockState() ClockState {
	return ClockState{Now: s.clock.Now().UTC(), Offset: s.clock.Offset().String()}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
