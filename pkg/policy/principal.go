package policy

import (
	"strconv"
	"strings"
)

// Principal types IAM accepts as keys of a Principal object.
const (
	PrincipalAWS           = "AWS"
	PrincipalFederated     = "Federated"
	PrincipalService       = "Service"
	PrincipalCanonicalUser = "CanonicalUser"
)

// principalSet is a compiled Principal or NotPrincipal element.
type principalSet struct {
	everyone bool // "Principal": "*"
	entries  []principalEntry
}

type principalEntry struct {
	typ string
	raw []string // as written
	ids []string // raw with account root ARNs reduced to the account ID
}

// principalError describes an unacceptable principal: arg is the part AWS
// quotes in its message, detail names the problem.
type principalError struct {
	arg, detail string
}

// parsePrincipal compiles a Principal element. empty reports an element with
// no principals in it ({}), which AWS treats like a missing one.
func parsePrincipal(raw []byte) (ps principalSet, empty bool, perr *principalError) {
	if s, ok := decodeString(raw); ok {
		if s != "*" {
			return ps, false, &principalError{arg: strconv.Quote(s), detail: "a principal given as a string must be \"*\", got " + strconv.Quote(s)}
		}
		return principalSet{everyone: true}, false, nil
	}
	ms, ok := decodeObject(raw)
	if !ok {
		return ps, false, &principalError{arg: string(raw), detail: "Principal must be \"*\" or an object"}
	}
	if len(ms) == 0 {
		return ps, true, nil
	}
	for _, m := range ms {
		vals, ok := decodeStrings(m.value)
		quoted := `"` + strings.ToUpper(m.name) + `":` + string(m.value)
		if !ok {
			return ps, false, &principalError{arg: quoted, detail: "principal " + strconv.Quote(m.name) + " must be a string or an array of strings"}
		}
		if len(vals) == 1 {
			quoted = `"` + strings.ToUpper(m.name) + `":` + strconv.Quote(vals[0])
		}
		if !isPrincipalType(m.name) {
			return ps, false, &principalError{arg: quoted, detail: "unknown principal type " + strconv.Quote(m.name)}
		}
		if len(vals) == 0 {
			return ps, false, &principalError{arg: quoted, detail: "principal " + strconv.Quote(m.name) + " has no values"}
		}
		e := principalEntry{typ: m.name, raw: vals, ids: make([]string, len(vals))}
		for i, v := range vals {
			if !validPrincipalID(m.name, v) {
				return ps, false, &principalError{
					arg:    `"` + strings.ToUpper(m.name) + `":` + strconv.Quote(v),
					detail: "invalid " + m.name + " principal " + strconv.Quote(v),
				}
			}
			e.ids[i] = v
			if m.name == PrincipalAWS {
				e.ids[i] = canonicalAWS(v)
			}
		}
		ps.entries = append(ps.entries, e)
	}
	return ps, false, nil
}

func isPrincipalType(t string) bool {
	switch t {
	case PrincipalAWS, PrincipalFederated, PrincipalService, PrincipalCanonicalUser:
		return true
	}
	return false
}

// validPrincipalID accepts "*", and for AWS principals an account ID, an ARN
// or a unique ID (AIDA…, AROA…: IAM shows those once the named entity is
// deleted). Whether the named entity exists is for the caller to check.
func validPrincipalID(typ, id string) bool {
	if id == "" {
		return false
	}
	if id == "*" {
		return true
	}
	if typ == PrincipalFederated {
		return validFederated(id)
	}
	if typ != PrincipalAWS {
		return true
	}
	if isAccountID(id) || strings.HasPrefix(id, "arn:") {
		return true
	}
	if len(id) < 16 || id[0] != 'A' {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// validFederated accepts what IAM takes as a federated principal: an OIDC
// or SAML provider ARN with an account ID and a name, or the domain name of
// a web identity provider (accounts.google.com, cognito-identity.amazonaws.com).
func validFederated(id string) bool {
	if rest, ok := strings.CutPrefix(id, "arn:"); ok {
		parts := strings.SplitN(rest, ":", 5) // partition, service, region, account, resource
		if len(parts) != 5 || parts[0] == "" || parts[1] != "iam" || parts[2] != "" || !isAccountID(parts[3]) {
			return false
		}
		for _, typ := range []string{"oidc-provider/", "saml-provider/"} {
			if name, ok := strings.CutPrefix(parts[4], typ); ok && name != "" {
				return true
			}
		}
		return false
	}
	labels := strings.Split(id, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || strings.Trim(l, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return false
		}
	}
	return true
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// canonicalAWS reduces "arn:PARTITION:iam::ACCOUNT:root" to "ACCOUNT": in a
// policy both mean the whole account. It does not allocate.
func canonicalAWS(id string) string {
	rest, ok := strings.CutPrefix(id, "arn:")
	if !ok || !strings.HasSuffix(rest, ":root") {
		return id
	}
	_, rest, _ = strings.Cut(rest, ":") // partition
	rest, ok = strings.CutPrefix(rest, "iam::")
	if !ok {
		return id
	}
	acct := strings.TrimSuffix(rest, ":root")
	if !isAccountID(acct) {
		return id
	}
	return acct
}

// matches reports whether p is one of the principals in ps. "*" matches
// everyone, anonymous callers included; {"AWS": "*"} matches every AWS
// principal and, as the IAM documentation says, anonymous callers too; any
// other "*" matches every principal of its type.
func (ps *principalSet) matches(p *Principal) bool { return ps.match(p, false) }

// grantsDirectly reports whether ps matches p other than through p's
// account: by "*", or by naming the caller itself (role, session, user,
// provider). A resource policy that names only the account delegates to
// that account's identity policies, as in AWS.
func (ps *principalSet) grantsDirectly(p *Principal) bool { return ps.match(p, true) }

// match is matches, leaving out account IDs when skipAccounts is set.
func (ps *principalSet) match(p *Principal, skipAccounts bool) bool {
	if ps.everyone {
		return true
	}
	for i := range ps.entries {
		e := &ps.entries[i]
		anonymousAWS := p.Type == "" && e.typ == PrincipalAWS
		if e.typ != p.Type && !anonymousAWS {
			continue
		}
		for _, want := range e.ids {
			if want == "*" {
				return true
			}
			if anonymousAWS || (skipAccounts && e.typ == PrincipalAWS && isAccountID(want)) {
				continue
			}
			for _, have := range p.IDs {
				if e.typ == PrincipalAWS {
					have = canonicalAWS(have)
				}
				if have == want {
					return true
				}
			}
		}
	}
	return false
}

// namesSession reports whether ps names one of p's identifiers that is a
// role session ARN (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION). Only
// such a grant reaches past session policies.
func (ps *principalSet) namesSession(p *Principal) bool {
	if p.Type != PrincipalAWS {
		return false
	}
	for i := range ps.entries {
		e := &ps.entries[i]
		if e.typ != PrincipalAWS {
			continue
		}
		for _, want := range e.ids {
			if !isSessionARN(want) {
				continue
			}
			for _, have := range p.IDs {
				if have == want {
					return true
				}
			}
		}
	}
	return false
}

func isSessionARN(s string) bool {
	rest, ok := strings.CutPrefix(s, "arn:")
	if !ok {
		return false
	}
	_, rest, ok = strings.Cut(rest, ":") // partition
	if !ok {
		return false
	}
	rest, ok = strings.CutPrefix(rest, "sts::")
	if !ok {
		return false
	}
	_, rest, ok = strings.Cut(rest, ":") // account
	return ok && strings.HasPrefix(rest, "assumed-role/")
}
