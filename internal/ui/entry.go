package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/irsa-local/irsa-local/internal/doctor"
	"github.com/irsa-local/irsa-local/internal/trail"
)

// Entry is one trail record as the page lists it: who called what, the
// decision, and for a refusal the reason and the checks behind it.
type Entry struct {
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
	// Decision is "allow", "deny" (refused by a policy) or "error" (the
	// call failed otherwise: a bad token, a missing bucket).
	Decision string `json:"decision"`
	Service  string `json:"service"`
	Action   string `json:"action"`
	// Caller is the identity that called: a session's ARN, or the token's
	// subject for AssumeRoleWithWebIdentity.
	Caller string `json:"caller"`
	// Role is the role of the calling session, or the role asked for.
	Role string `json:"role,omitempty"`
	// ServiceAccount is "namespace/name" of the service account behind the
	// call, when a token's subject names one.
	ServiceAccount string        `json:"serviceAccount,omitempty"`
	Target         string        `json:"target,omitempty"`
	ErrorCode      string        `json:"errorCode,omitempty"`
	ErrorMessage   string        `json:"errorMessage,omitempty"`
	Reason         string        `json:"reason,omitempty"`
	Checks         []trail.Check `json:"checks,omitempty"`
}

// targetKeys are the request parameters that name what a call acted on,
// in the order the page shows them.
var targetKeys = []string{"roleArn", "roleName", "bucketName", "key", "policyArn", "url", "openIDConnectProviderArn", "associationId", "queueUrl", "topicArn", "tableName", "secretId", "name", "keyId"}

// Summarize turns a trail record into the page's entry.
func Summarize(r trail.Record) Entry {
	e := Entry{
		ID:           r.EventID,
		Time:         r.EventTime,
		Decision:     "allow",
		Service:      strings.TrimSuffix(r.EventSource, ".amazonaws.com"),
		Action:       r.EventName,
		Caller:       r.UserIdentity.ARN,
		ErrorCode:    r.ErrorCode,
		ErrorMessage: r.ErrorMessage,
	}
	if r.ErrorCode != "" {
		e.Decision = "error"
	}
	if d := r.IrsaLocal; d != nil {
		if d.Decision == "deny" {
			e.Decision = "deny"
		}
		e.Reason, e.Checks = d.Reason, d.Checks
	}
	u := r.UserIdentity
	var subject string
	switch {
	case u.Type == "WebIdentityUser":
		e.Caller, subject = u.UserName, u.UserName
	case u.SessionContext != nil:
		e.Role = u.SessionContext.SessionIssuer.ARN
		if c := u.SessionContext.Chain; len(c) > 0 {
			subject = c[0].Subject
		}
	}
	if e.Caller == "" {
		e.Caller = u.Type
	}
	if v, ok := r.RequestParameters["roleArn"].(string); ok && e.Role == "" {
		e.Role = v
	}
	if ns, sa, ok := serviceAccountOf(subject); ok {
		e.ServiceAccount = ns + "/" + sa
	}
	var parts []string
	for _, k := range targetKeys {
		if v, ok := r.RequestParameters[k]; ok {
			parts = append(parts, fmt.Sprintf("%s=%v", k, v))
		}
	}
	for _, res := range r.Resources {
		parts = append(parts, res.ARN)
	}
	e.Target = strings.Join(parts, " ")
	return e
}

// serviceAccountOf splits a token subject system:serviceaccount:NS:SA
// naming both.
func serviceAccountOf(subject string) (ns, sa string, ok bool) {
	ns, sa, ok = doctor.SplitSubject(subject)
	return ns, sa, ok && ns != "" && sa != ""
}
