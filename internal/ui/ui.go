// Package ui serves the page of `irsa-local ui`: the chain of one service
// account as boxes coloured by doctor's checks, the live trail, the roles
// and service accounts, a token inspector and the policy advisor. The page
// and its script are embedded, so it works offline; it reads everything
// through a Backend and changes nothing.
package ui

import (
	"context"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/irsa-local/irsa-local/internal/doctor"
	"github.com/irsa-local/irsa-local/internal/trail"
)

// Backend is what the page shows, read from a running environment.
type Backend interface {
	// Inventory lists the environment's roles, service accounts and Pod
	// Identity associations.
	Inventory(ctx context.Context) (Inventory, error)
	// Chain runs doctor's checks for q, as `irsa-local doctor` would.
	Chain(ctx context.Context, q Query) (doctor.Report, error)
	// Suggest is the policy advisor's report for a role (name or ARN)
	// over the trail records since the given time (zero: all of them).
	Suggest(ctx context.Context, role string, since time.Time) (any, error)
	// TrailFile is the path of the environment's trail.
	TrailFile() string
}

// Query names what the chain is checked for, as doctor's flags do.
type Query struct {
	Namespace      string `json:"namespace"`
	ServiceAccount string `json:"serviceAccount"`
	RoleARN        string `json:"roleArn,omitempty"`
	Action         string `json:"action,omitempty"`
	Resource       string `json:"resource,omitempty"`
	// Token, when set, is diagnosed instead of one requested for the
	// service account.
	Token string `json:"-"`
}

// Inventory is the environment as the page's side panels show it.
type Inventory struct {
	Environment     Environment      `json:"environment"`
	Roles           []Role           `json:"roles"`
	ServiceAccounts []ServiceAccount `json:"serviceAccounts"`
	Associations    []Association    `json:"associations"`
	// Notes say what could not be listed and why, one line each.
	Notes []string `json:"notes,omitempty"`
}

// Environment is what the page's header says of the environment.
type Environment struct {
	Name        string `json:"name"`
	ClusterMode string `json:"clusterMode"`
	Issuer      string `json:"issuer"`
	AccountID   string `json:"accountId"`
	Endpoint    string `json:"endpoint"`
}

// Role is an IAM role with its trust policy and permission policies,
// documents as indented JSON.
type Role struct {
	Name     string        `json:"name"`
	ARN      string        `json:"arn"`
	Trust    string        `json:"trust"`
	Policies []NamedPolicy `json:"policies"`
	Error    string        `json:"error,omitempty"`
}

// NamedPolicy is a managed policy's ARN or an inline policy's name, and
// its document.
type NamedPolicy struct {
	Name     string `json:"name"`
	Document string `json:"document"`
}

// ServiceAccount is a service account with its annotations.
type ServiceAccount struct {
	Namespace   string            `json:"namespace"`
	Name        string            `json:"name"`
	RoleARN     string            `json:"roleArn,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Association is an EKS Pod Identity association.
type Association struct {
	ID             string `json:"associationId"`
	Namespace      string `json:"namespace"`
	ServiceAccount string `json:"serviceAccount"`
	RoleARN        string `json:"roleArn"`
	TargetRoleARN  string `json:"targetRoleArn,omitempty"`
}

//go:embed static
var static embed.FS

// Server is the page's HTTP handler.
type Server struct {
	b     Backend
	token string
	hosts map[string]bool
	mux   *http.ServeMux
	// replay is how many trail records a new stream starts with.
	replay int
}

// Option configures a Server.
type Option func(*Server)

// WithToken makes every request prove it holds token: as ?token= on the
// page's address (which sets a cookie) or in that cookie. A page shared
// on a network needs it; one on loopback is guarded by the Host check.
func WithToken(token string) Option { return func(s *Server) { s.token = token } }

// WithLoopbackHosts limits the Host header to loopback names and the given
// port, so a web page elsewhere cannot reach the server through a DNS name
// it rebinds to 127.0.0.1.
func WithLoopbackHosts(port string) Option {
	return func(s *Server) {
		s.hosts = map[string]bool{}
		for _, h := range []string{"127.0.0.1", "localhost", "[::1]"} {
			s.hosts[h+":"+port] = true
		}
	}
}

// cookieName holds the token once a page has been opened with it.
const cookieName = "irsa_local_ui"

// New returns the page's handler over b.
func New(b Backend, opts ...Option) *Server {
	s := &Server{b: b, mux: http.NewServeMux(), replay: 300}
	for _, o := range opts {
		o(s)
	}
	files, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	s.mux.HandleFunc("GET /static/{file}", func(w http.ResponseWriter, r *http.Request) {
		// Only the embedded files, by name: anything else (a path that is
		// not valid UTF-8, say, which a file server answers with 500) is
		// simply not found.
		name := r.PathValue("file")
		b, err := fs.ReadFile(files, name)
		if err != nil || name == "index.html" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", mime.TypeByExtension(path.Ext(name)))
		_, _ = w.Write(b)
	})
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if s.token != "" && r.URL.Query().Has("token") {
			// Trade the token in the address for a cookie and take it out of
			// the address bar, where a projector would show it.
			http.SetCookie(w, &http.Cookie{Name: cookieName, Value: r.URL.Query().Get("token"), Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		if !s.authorized(r) {
			http.Error(w, "irsa-local ui: open the address with the token `irsa-local ui` printed", http.StatusUnauthorized)
			return
		}
		b, _ := fs.ReadFile(files, "index.html")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(b)
	})
	s.mux.HandleFunc("GET /api/inventory", s.inventory)
	s.mux.HandleFunc("GET /api/chain", s.chain)
	s.mux.HandleFunc("POST /api/inspect", s.inspect)
	s.mux.HandleFunc("GET /api/suggest", s.suggest)
	s.mux.HandleFunc("GET /api/trail", s.trail)
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	if s.hosts != nil && !s.hosts[r.Host] {
		http.Error(w, "irsa-local ui: unexpected Host "+quoteHost(r.Host)+"; open the address it printed", http.StatusMisdirectedRequest)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/api/") && !s.authorized(r) {
		writeError(w, http.StatusUnauthorized, errors.New("this page needs the token `irsa-local ui` printed: open its address again"))
		return
	}
	s.mux.ServeHTTP(w, r)
}

func quoteHost(h string) string {
	if len(h) > 100 {
		h = h[:100] + "…"
	}
	return fmt.Sprintf("%q", h)
}

func (s *Server) authorized(r *http.Request) bool {
	if s.token == "" {
		return true
	}
	c, err := r.Cookie(cookieName)
	return err == nil && subtle.ConstantTimeCompare([]byte(c.Value), []byte(s.token)) == 1
}

// requestTimeout bounds one answer: doctor bounds each of its checks, and
// the page asks again.
const requestTimeout = 90 * time.Second

func (s *Server) inventory(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	inv, err := s.b.Inventory(ctx)
	if err != nil {
		writeError(w, http.StatusBadGateway, err)
		return
	}
	writeJSON(w, inv)
}

func (s *Server) chain(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	query := Query{
		Namespace:      q.Get("namespace"),
		ServiceAccount: q.Get("serviceAccount"),
		RoleARN:        q.Get("roleArn"),
		Action:         q.Get("action"),
		Resource:       q.Get("resource"),
	}
	if (query.Action == "") != (query.Resource == "") {
		writeError(w, http.StatusBadRequest, errors.New("give the action and the resource together"))
		return
	}
	if err := query.check(); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	rep, err := s.b.Chain(ctx, query)
	if err != nil {
		writeError(w, http.StatusBadGateway, err)
		return
	}
	writeJSON(w, rep)
}

// check refuses names no Kubernetes object or IAM ARN can have before they
// reach doctor (which would only say it found nothing).
func (q Query) check() error {
	for name, v := range map[string]string{"namespace": q.Namespace, "service account": q.ServiceAccount} {
		if len(v) > 253 || strings.ContainsAny(v, "/ \t\r\n") {
			return fmt.Errorf("%s %q is not a Kubernetes name", name, clip(v))
		}
	}
	for name, v := range map[string]string{"role ARN": q.RoleARN, "action": q.Action, "resource": q.Resource} {
		if len(v) > 2048 {
			return fmt.Errorf("%s is longer than 2048 characters", name)
		}
	}
	return nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

func (s *Server) suggest(w http.ResponseWriter, r *http.Request) {
	role := r.URL.Query().Get("role")
	if role == "" || len(role) > 2048 {
		writeError(w, http.StatusBadRequest, errors.New("name the role (a name or an ARN)"))
		return
	}
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			writeError(w, http.StatusBadRequest, fmt.Errorf("since %q is not a duration such as 10m or 2h", clip(v)))
			return
		}
		since = time.Now().Add(-d)
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	rep, err := s.b.Suggest(ctx, role, since)
	if err != nil {
		writeError(w, http.StatusBadGateway, err)
		return
	}
	writeJSON(w, rep)
}

// trail streams the trail as server-sent events: the newest records, then
// each new one as it is written, as "record" events of Entry JSON.
func (s *Server) trail(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	_, _ = fmt.Fprint(w, "retry: 1000\n\n")
	if err := rc.Flush(); err != nil {
		return
	}
	ctx := r.Context()
	events := make(chan Entry, 64)
	errc := make(chan error, 1)
	go func() {
		errc <- trail.Tail(ctx, s.b.TrailFile(), s.replay, func(rec trail.Record) error {
			select {
			case events <- Summarize(rec):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	// A comment every 15 s keeps proxies and idle timeouts from closing a
	// quiet stream.
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case err := <-errc:
			if err != nil && ctx.Err() == nil {
				b, _ := json.Marshal(map[string]string{"error": err.Error()})
				_, _ = fmt.Fprintf(w, "event: failure\ndata: %s\n\n", b)
				_ = rc.Flush()
			}
			return
		case e := <-events:
			b, err := json.Marshal(e)
			if err != nil {
				continue
			}
			if _, err := fmt.Fprintf(w, "event: record\nid: %s\ndata: %s\n\n", e.ID, b); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		case <-keepalive.C:
			if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil {
				return
			}
			_ = rc.Flush()
		}
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusBadGateway, fmt.Errorf("encode answer: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// writeError answers {"error": "..."}: the page shows the line as it is.
func writeError(w http.ResponseWriter, status int, err error) {
	b, _ := json.Marshal(map[string]string{"error": err.Error()})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// IsLoopback reports whether the listen address host only accepts local
// connections.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
