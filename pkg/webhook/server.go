package webhook

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// MutatePath and HealthzPath are the server's endpoints, as upstream.
	MutatePath  = "/mutate"
	HealthzPath = "/healthz"

	// The apiserver caps admission requests far below this; anything larger
	// is not a real review.
	maxReviewBytes = 16 << 20
	// shutdownTimeout matches upstream's graceful shutdown.
	shutdownTimeout = 10 * time.Second
)

var podsResource = metav1.GroupVersionResource{Version: "v1", Resource: "pods"}

// ServerOption configures a Server.
type ServerOption interface {
	applyServer(*serverConfig)
}

type serverConfig struct {
	logger    *slog.Logger
	publisher *CAPublisher
}

func (o LoggerOption) applyServer(c *serverConfig) { c.logger = o.logger }

type serverOption func(*serverConfig)

func (f serverOption) applyServer(c *serverConfig) { f(c) }

// WithCAPublisher makes the server publish the emulator CA into a pod's
// namespace before returning a patch that mounts it. The volume is optional,
// so without this a pod created together with its namespace could start
// before the publisher's informer reaches the namespace and run without
// the CA file until the kubelet's next volume sync. Dry-run requests are
// never published for.
func WithCAPublisher(p *CAPublisher) ServerOption {
	return serverOption(func(c *serverConfig) { c.publisher = p })
}

// Server is the webhook's HTTPS admission endpoint.
type Server struct {
	mutator   *Mutator
	sas       ServiceAccountGetter
	tlsConfig *tls.Config
	log       *slog.Logger
	publisher *CAPublisher // nil unless the patch mounts the emulator CA
}

// NewServer returns a server that mutates pods with m, looking their service
// accounts up in sas, and serves TLS with tlsConfig, which must carry a
// certificate (Certificates or GetCertificate). A nil m means upstream's
// defaults.
func NewServer(m *Mutator, sas ServiceAccountGetter, tlsConfig *tls.Config, opts ...ServerOption) (*Server, error) {
	if m == nil {
		var err error
		if m, err = NewMutator(); err != nil {
			return nil, fmt.Errorf("create default mutator: %w", err)
		}
	}
	if sas == nil {
		return nil, errors.New("create webhook server: service account getter is nil")
	}
	if tlsConfig == nil || (len(tlsConfig.Certificates) == 0 && tlsConfig.GetCertificate == nil && tlsConfig.GetConfigForClient == nil) {
		return nil, errors.New("create webhook server: tls config has no certificate")
	}
	cfg := serverConfig{logger: discardLogger}
	for _, o := range opts {
		if o != nil {
			o.applyServer(&cfg)
		}
	}
	s := &Server{mutator: m, sas: sas, tlsConfig: tlsConfig.Clone(), log: cfg.logger}
	if e := m.cfg.emulator; cfg.publisher != nil && e != nil && e.tls {
		if cfg.publisher.Name() != e.caConfigMap {
			return nil, fmt.Errorf("create webhook server: ca publisher writes %q but pods mount %q", cfg.publisher.Name(), e.caConfigMap)
		}
		s.publisher = cfg.publisher
	}
	return s, nil
}

// Handler returns the HTTP handler for /mutate and /healthz, for callers
// that run their own listener.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(MutatePath, s.serveMutate)
	mux.HandleFunc(HealthzPath, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	})
	return mux
}

// Serve serves HTTPS on l until ctx ends, then shuts down gracefully,
// letting in-flight reviews finish for up to 10 seconds. It closes l.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		TLSConfig:         s.tlsConfig.Clone(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(l, "", "") }()

	select {
	case err := <-errc:
		return fmt.Errorf("serve webhook: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down webhook server: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve webhook: %w", err)
	}
	return nil
}

func (s *Server) serveMutate(w http.ResponseWriter, r *http.Request) {
	// Parameters such as charset are tolerated; upstream compares the whole
	// header, but the apiserver sends the bare type either way.
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		s.log.Warn("rejecting admission request", "contentType", r.Header.Get("Content-Type"))
		http.Error(w, "Invalid Content-Type, expected `application/json`", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxReviewBytes))
	if err != nil {
		code := http.StatusBadRequest
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			code = http.StatusRequestEntityTooLarge
		}
		http.Error(w, fmt.Sprintf("read admission review: %v", err), code)
		return
	}

	var review admissionv1.AdmissionReview
	var resp *admissionv1.AdmissionResponse
	switch err := json.Unmarshal(body, &review); {
	case err != nil:
		s.log.Error("cannot decode admission review", "error", err)
		resp = allowWithMessage(fmt.Sprintf("decode admission review: %v", err))
	case review.Request == nil:
		resp = allowWithMessage("admission review has no request")
	default:
		resp = s.Mutate(r.Context(), review.Request)
	}

	out := admissionv1.AdmissionReview{TypeMeta: review.TypeMeta, Response: resp}
	if out.APIVersion == "" || out.Kind == "" {
		out.TypeMeta = metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "AdmissionReview"}
	}
	data, err := json.Marshal(out)
	if err != nil {
		http.Error(w, fmt.Sprintf("encode admission review: %v", err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if _, err := w.Write(data); err != nil {
		s.log.Warn("cannot write admission response", "error", err)
	}
}

// allowWithMessage admits anyway: the webhook only ever adds credentials,
// so refusing a pod would be worse than creating it unmutated, the same
// trade-off as its Ignore failure policy.
func allowWithMessage(msg string) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{Allowed: true, Result: &metav1.Status{Message: msg}}
}

// Mutate answers one admission request: the pod patch for a CREATE of a
// core/v1 pod whose service account has a role ARN, otherwise an empty
// response. It always allows.
func (s *Server) Mutate(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	resp := &admissionv1.AdmissionResponse{UID: req.UID, Allowed: true}
	if req.Operation != admissionv1.Create || req.Resource != podsResource || req.SubResource != "" {
		return resp
	}
	var pod corev1.Pod
	if err := json.Unmarshal(req.Object.Raw, &pod); err != nil {
		s.log.Error("cannot decode pod", "uid", req.UID, "error", err)
		resp.Result = &metav1.Status{Message: fmt.Sprintf("decode pod: %v", err)}
		return resp
	}
	// A pod being created may not carry its namespace yet.
	namespace := req.Namespace
	if namespace == "" {
		namespace = pod.Namespace
	}
	name := pod.Name
	if name == "" {
		name = pod.GenerateName
	}
	log := s.log.With("namespace", namespace, "pod", name, "serviceAccount", pod.Spec.ServiceAccountName)
	if pod.Spec.ServiceAccountName == "" {
		log.Debug("pod has no service account; not mutating")
		return resp
	}

	sa, err := s.sas.Get(ctx, namespace, pod.Spec.ServiceAccountName)
	if err != nil {
		log.Warn("service account lookup failed; not mutating", "error", err)
		return resp
	}
	ops, err := s.mutator.BuildPatch(&pod, sa)
	if err != nil {
		log.Error("cannot build patch", "error", err)
		resp.Result = &metav1.Status{Message: err.Error()}
		return resp
	}
	if ops == nil {
		log.Debug("service account has no role ARN; not mutating")
		return resp
	}
	patch, err := json.Marshal(ops)
	if err != nil {
		log.Error("cannot encode patch", "error", err)
		resp.Result = &metav1.Status{Message: fmt.Sprintf("encode patch: %v", err)}
		return resp
	}
	if s.publisher != nil && (req.DryRun == nil || !*req.DryRun) {
		if err := s.publisher.Ensure(ctx, namespace); err != nil {
			// The publisher's own loop retries; the pod is still worth mutating.
			log.Warn("cannot publish ca bundle before admitting pod", "error", err)
		}
	}
	pt := admissionv1.PatchTypeJSONPatch
	resp.Patch = patch
	resp.PatchType = &pt
	log.Debug("pod mutated")
	return resp
}
