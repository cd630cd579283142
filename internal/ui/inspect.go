package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/irsa-local/irsa-local/internal/doctor"
	"github.com/irsa-local/irsa-local/pkg/issuer"
)

// maxToken bounds a pasted token: service-account tokens are about 1 KB,
// and the apiserver itself refuses requests far smaller than this.
const maxToken = 64 << 10

// Inspection is what the token inspector shows: the token's header and
// claims as they are, its times against now, and the chain checked with
// the token in place of one requested for its service account. Refused is
// the first link that refuses it, nil when none does.
type Inspection struct {
	Header         map[string]any `json:"header"`
	Claims         map[string]any `json:"claims"`
	Times          []TokenTime    `json:"times"`
	Namespace      string         `json:"namespace,omitempty"`
	ServiceAccount string         `json:"serviceAccount,omitempty"`
	Report         doctor.Report  `json:"report"`
	Refused        *doctor.Check  `json:"refused,omitempty"`
}

// TokenTime is one of a token's time claims, and how far it is from now.
type TokenTime struct {
	Claim    string    `json:"claim"`
	Time     time.Time `json:"time"`
	Relative string    `json:"relative"`
}

func (s *Server) inspect(w http.ResponseWriter, r *http.Request) {
	// A form on another site cannot send JSON without a preflight this
	// server never grants.
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, errors.New("send the token as JSON: {\"token\": \"...\"}"))
		return
	}
	var in struct {
		Token string `json:"token"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxToken))
	if err := dec.Decode(&in); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("a token longer than %d KiB is no service-account token", maxToken>>10))
			return
		}
		writeError(w, http.StatusBadRequest, errors.New("send the token as JSON: {\"token\": \"...\"}"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	out, err := Inspect(ctx, s.b, in.Token, time.Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, out)
}

// Inspect decodes raw without verifying it and checks the chain with it.
// An error means raw is not a JWT at all; every other fault is a refusing
// link in the report.
func Inspect(ctx context.Context, b Backend, raw string, now time.Time) (*Inspection, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errors.New("paste a token: a service account's JWT, three dot-separated parts")
	}
	d, err := issuer.Decode(raw)
	if err != nil {
		return nil, err
	}
	out := &Inspection{Header: d.Header, Claims: d.Claims}
	for _, c := range []string{"iat", "nbf", "exp"} {
		if t, ok := issuer.NumericTime(d.Claims[c]); ok {
			out.Times = append(out.Times, TokenTime{Claim: c, Time: t.UTC(), Relative: relative(t, now)})
		}
	}
	q := Query{Token: raw}
	if sub, ok := d.Claims["sub"].(string); ok {
		if ns, sa, ok := serviceAccountOf(sub); ok {
			q.Namespace, q.ServiceAccount = ns, sa
			out.Namespace, out.ServiceAccount = ns, sa
		}
	}
	rep, err := b.Chain(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("check the token: %w", err)
	}
	out.Report = rep
	for i := range rep {
		if rep[i].Status == doctor.Fail {
			out.Refused = &rep[i]
			break
		}
	}
	return out, nil
}

// relative says how far t is from now in words: "in 59m0s", "3s ago".
func relative(t, now time.Time) string {
	d := t.Sub(now).Round(time.Second)
	switch {
	case d > 0:
		return "in " + d.String()
	case d < 0:
		return (-d).String() + " ago"
	}
	return "now"
}
