package doctor

import (
	"fmt"
	"io"
	"strings"
)

// Status is the outcome of one check.
type Status string

// Check outcomes. A check is skipped when it cannot run (no cluster, no
// service account named, an earlier link it needs is broken); its Detail
// then says why.
const (
	OK   Status = "ok"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Names of the checks, in the order Run performs them.
const (
	CheckCluster        = "cluster"
	CheckIssuer         = "issuer"
	CheckJWKS           = "jwks"
	CheckOIDCProvider   = "oidc-provider"
	CheckServiceAccount = "service-account"
	CheckWebhook        = "webhook"
	CheckAgent          = "agent"
	CheckTrustPolicy    = "trust-policy"
	CheckAssume         = "assume"
	CheckPermissions    = "permissions"
)

// Check is one link of the chain and what was found there.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Detail says what was found, or why the check was skipped.
	Detail string `json:"detail"`
	// Fix is the concrete change that mends a failed link; it may span
	// several lines (a policy line to write, a command to run).
	Fix string `json:"fix,omitempty"`
}

func ok(name, detail string) Check { return Check{Name: name, Status: OK, Detail: detail} }

func skip(name, reason string) Check { return Check{Name: name, Status: Skip, Detail: reason} }

func fail(name, detail, fix string) Check {
	return Check{Name: name, Status: Fail, Detail: detail, Fix: fix}
}

// Report is the checks of one run, in chain order.
type Report []Check

// Failed reports whether any check failed.
func (r Report) Failed() bool {
	for _, c := range r {
		if c.Status == Fail {
			return true
		}
	}
	return false
}

// nameWidth aligns details after the longest check name.
const nameWidth = len(CheckServiceAccount) + 1

var symbols = map[Status]string{OK: "✓", Fail: "✗", Skip: "-"}

// WriteText prints one line per check: ✓, ✗ or - (skipped), the name and
// the detail; a failed check is followed by its fix, indented under the
// detail.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	indent := strings.Repeat(" ", 2+nameWidth+1)
	for _, c := range r {
		detail := c.Detail
		if c.Status == Skip {
			detail = "skipped: " + detail
		}
		fmt.Fprintf(&b, "%s %-*s %s\n", symbols[c.Status], nameWidth, c.Name, detail)
		if c.Status == Fail && c.Fix != "" {
			for i, line := range strings.Split(c.Fix, "\n") {
				if i == 0 {
					fmt.Fprintf(&b, "%sfix: %s\n", indent, line)
				} else {
					fmt.Fprintf(&b, "%s     %s\n", indent, line)
				}
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
