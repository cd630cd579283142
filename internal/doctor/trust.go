package doctor

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/irsa-local/irsa-local/pkg/policy"
)

// clockSkew is how long after exp STS still accepts a token.
const clockSkew = 5 * time.Minute

// sessionName is the RoleSessionName the doctor's evaluations carry.
const sessionName = "irsa-local-doctor"

// TrustInput is what DiagnoseTrust looks at.
type TrustInput struct {
	// RoleARN names the role; its account is the account whose provider
	// the trust policy must name.
	RoleARN string
	// Policy is the role's trust policy document.
	Policy string
	Token  *Token
	// ProviderARN is the IAM OIDC provider registered for the token's
	// issuer, as IAM spells it; "" when unknown.
	ProviderARN string
	// ClientIDs are that provider's client IDs. When nil (unknown) the
	// token's first audience stands for the one STS would match.
	ClientIDs []string
	Now       time.Time
}

// DiagnoseTrust evaluates the role's trust policy for the token exactly as
// AssumeRoleWithWebIdentity does, and on a refusal names the failing part —
// the condition, the value the token carried and the corrected policy line,
// or the Federated principal naming another provider.
func DiagnoseTrust(in TrustInput) Check {
	role := roleName(in.RoleARN)
	account := accountOf(in.RoleARN)
	tok := in.Token
	if tok.Subject == "" || len(tok.Audience) == 0 {
		return fail(CheckTrustPolicy, "the token has no sub or no aud claim: STS refuses it (Missing a required claim)",
			"use a service-account token from TokenRequest or a projected volume")
	}
	provider := in.ProviderARN
	if provider == "" {
		provider = policy.ProviderARN(account, tok.Issuer)
	}
	aud := tok.Audience[0]
	if in.ClientIDs != nil {
		aud = ""
		for _, a := range tok.Audience {
			if contains(in.ClientIDs, a) {
				aud = a
				break
			}
		}
		if aud == "" {
			return fail(CheckTrustPolicy,
				fmt.Sprintf("the token's audience %s is not a client ID of %s (%s): STS refuses it (Incorrect token audience)",
					quoteList(tok.Audience), provider, quoteList(in.ClientIDs)),
				fmt.Sprintf("give pods the audience sts.amazonaws.com (remove the service account's eks.amazonaws.com/audience annotation),\n"+
					"or register the audience: aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn %s --client-id %s",
					provider, tok.Audience[0]))
		}
	}
	if !tok.Expiry.IsZero() && in.Now.After(tok.Expiry.Add(clockSkew)) {
		return fail(CheckTrustPolicy,
			fmt.Sprintf("the token expired at %s: STS refuses it (ExpiredTokenException)", tok.Expiry.UTC().Format(time.RFC3339)),
			"use a fresh token: the kubelet refreshes projected tokens; "+createTokenCommand(tok))
	}
	doc, err := policy.Parse(in.Policy, policy.Trust)
	if err != nil {
		return fail(CheckTrustPolicy, "the trust policy of role "+role+" does not parse: "+err.Error(),
			"correct it with aws iam update-assume-role-policy --role-name "+role)
	}
	req := policy.TrustRequest(account, policy.WebIdentityClaims{Issuer: tok.Issuer, Subject: tok.Subject, Audience: aud, AZP: tok.AZP}, sessionName, in.Now)
	res := policy.Evaluate(req, policy.NamedDocument{Name: "the trust policy of role " + role, Doc: doc})
	d := trustDiagnosis{in: in, role: role, provider: provider, aud: aud, req: req, doc: doc}
	switch res.Decision {
	case policy.Allow:
		return ok(CheckTrustPolicy, fmt.Sprintf("role %s trusts %s with audience %s (%s)", role, tok.Subject, aud, stmtName(*res.Decider)))
	case policy.ExplicitDeny:
		return fail(CheckTrustPolicy,
			fmt.Sprintf("%s denies sts:AssumeRoleWithWebIdentity to %s", res.Decider, tok.Subject),
			fmt.Sprintf("remove %s from the trust policy of role %s, or narrow it so it does not match %s", stmtName(*res.Decider), role, tok.Subject))
	}
	if c, found := d.foreignProvider(); found {
		return c
	}
	for _, m := range res.Near {
		if m.Condition != nil {
			return d.conditions(m)
		}
	}
	return fail(CheckTrustPolicy, strings.TrimPrefix(res.Reason, "implicitly denied: "),
		"add this statement to the trust policy of role "+role+":\n"+indent(d.statement(), "  "))
}

type trustDiagnosis struct {
	in       TrustInput
	role     string
	provider string // the provider ARN the trust policy must name
	aud      string // the audience STS matched
	req      policy.Request
	doc      *policy.Document
}

// keyPrefix is the provider's host/path as condition keys spell it.
func (d *trustDiagnosis) keyPrefix() string {
	_, res, _ := strings.Cut(d.provider, ":oidc-provider/")
	return res
}

// foreignProvider finds trust policies whose Allow statements name
// Federated principals, none of them this issuer's provider: the policy was
// written for another cluster, or another account.
func (d *trustDiagnosis) foreignProvider() (Check, bool) {
	var foreign []string
	var stmt policy.Statement
	for _, s := range d.doc.Statements() {
		if s.Effect != "Allow" || s.NotPrincipal {
			continue
		}
		for _, id := range s.Principal["Federated"] {
			if contains(d.req.Principal.IDs, id) {
				return Check{}, false
			}
			if len(foreign) == 0 {
				stmt = s
			}
			foreign = append(foreign, id)
		}
	}
	if len(foreign) == 0 {
		return Check{}, false
	}
	lines := []string{`"Federated": ` + strconv.Quote(d.provider)}
	for _, c := range stmt.Condition {
		if suffix, ok := d.foreignKey(c.Key); ok {
			lines = append(lines, d.line(d.keyPrefix()+suffix, suffix))
		}
	}
	return fail(CheckTrustPolicy,
		fmt.Sprintf("the trust policy of role %s names the provider %s, not this issuer's %s", d.role, strings.Join(foreign, ", "), d.provider),
		"in the trust policy of role "+d.role+", write\n"+indent(strings.Join(lines, "\n"), "  ")), true
}

// foreignKey reports whether key is a web-identity key (":sub", ":aud",
// ":azp") of a provider other than this issuer's, and returns its suffix.
func (d *trustDiagnosis) foreignKey(key string) (string, bool) {
	i := strings.LastIndexByte(key, ':')
	if i < 0 {
		return "", false
	}
	suffix := strings.ToLower(key[i:])
	if suffix != ":sub" && suffix != ":aud" && suffix != ":azp" {
		return "", false
	}
	for _, p := range policy.ProviderKeys(d.in.Token.Issuer) {
		if strings.EqualFold(key[:i], p) {
			return "", false
		}
	}
	return suffix, true
}

// tokenValue is what the token puts under a web-identity key suffix.
func (d *trustDiagnosis) tokenValue(suffix string) string {
	switch suffix {
	case ":sub":
		return d.in.Token.Subject
	case ":aud":
		return d.aud
	}
	return d.in.Token.AZP
}

// line renders a corrected condition line.
func (d *trustDiagnosis) line(key, suffix string) string {
	return strconv.Quote(key) + ": " + strconv.Quote(d.tokenValue(suffix))
}

// conditions explains every condition of the near-missing statement that
// the token fails — not only the first, so one fix mends them all — and
// writes the corrected line for each.
func (d *trustDiagnosis) conditions(m policy.Miss) Check {
	stmt := d.doc.Statement(m.Statement.Index)
	var details, lines []string
	for _, c := range stmt.Condition {
		if d.holds(c) {
			continue
		}
		got, present := d.req.Context.Get(c.Key)
		detail, line := d.explain(c, got, present)
		details = append(details, detail)
		lines = append(lines, line)
	}
	if len(details) == 0 {
		// The conditions hold one by one but not together: say what the
		// engine saw.
		details = append(details, m.Condition.String())
		lines = append(lines, "(correct the condition on "+strconv.Quote(m.Condition.Key)+")")
	}
	return fail(CheckTrustPolicy,
		stmtName(m.Statement)+" of the trust policy of role "+d.role+": "+strings.Join(details, "; "),
		"in the trust policy of role "+d.role+", write\n"+indent(strings.Join(lines, "\n"), "  "))
}

// holds evaluates one condition alone, with the operator's own semantics,
// by asking the engine about a statement that has only that condition.
func (d *trustDiagnosis) holds(c policy.Condition) bool {
	doc := map[string]any{
		"Version": policy.Version2012,
		"Statement": []any{map[string]any{
			"Effect":    "Allow",
			"Principal": map[string]any{"Federated": d.req.Principal.IDs[0]},
			"Action":    "sts:AssumeRoleWithWebIdentity",
			"Condition": map[string]any{c.Operator: map[string]any{c.Key: c.Values}},
		}},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return false
	}
	one, err := policy.Parse(string(b), policy.Trust)
	if err != nil {
		return false
	}
	return policy.Evaluate(d.req, policy.NamedDocument{Doc: one}).Allowed()
}

// explain says why condition c fails for the token and returns the policy
// line that would make it hold.
func (d *trustDiagnosis) explain(c policy.Condition, got []string, present bool) (detail, line string) {
	want := orList(c.Values)
	if suffix, foreign := d.foreignKey(c.Key); foreign {
		key := d.keyPrefix() + suffix
		return fmt.Sprintf("condition %s on %q names another issuer: this token's keys are %q", c.Operator, c.Key, key),
			d.line(key, suffix)
	}
	i := strings.LastIndexByte(c.Key, ':')
	suffix := ""
	if i >= 0 {
		suffix = strings.ToLower(c.Key[i:])
	}
	switch suffix {
	case ":sub":
		detail = fmt.Sprintf("condition %s on %q wants %s, but the token's sub is %q", c.Operator, c.Key, want, d.in.Token.Subject)
		if why := subjectMismatch(c.Values, d.in.Token.Subject); why != "" {
			detail += " (" + why + ")"
		}
		return detail, strconv.Quote(c.Key) + ": " + strconv.Quote(d.in.Token.Subject)
	case ":aud":
		return fmt.Sprintf("condition %s on %q wants %s, but the token's aud is %q", c.Operator, c.Key, want, d.aud),
			strconv.Quote(c.Key) + ": " + strconv.Quote(d.aud)
	case ":azp":
		return fmt.Sprintf("condition %s on %q wants %s, but the token's azp is %q", c.Operator, c.Key, want, d.in.Token.AZP),
			strconv.Quote(c.Key) + ": " + strconv.Quote(d.in.Token.AZP)
	}
	miss := policy.ConditionMiss{Operator: c.Operator, Key: c.Key, Want: c.Values, Got: got, Present: present}
	return miss.String(), fmt.Sprintf("(remove or correct the condition %s on %q)", c.Operator, c.Key)
}

// subjectMismatch says whether a service-account subject differs from the
// wanted ones by namespace or by name.
func subjectMismatch(wants []string, got string) string {
	gns, gname, ok := SplitSubject(got)
	if !ok || len(wants) == 0 {
		return ""
	}
	wns, wname, ok := SplitSubject(wants[0])
	switch {
	case !ok:
		return ""
	case !globMatch(wns, gns):
		return "another namespace: " + wns
	case !globMatch(wname, gname):
		return "another service account: " + wname
	}
	return ""
}

// SplitSubject splits a service-account token subject,
// "system:serviceaccount:NS:NAME".
func SplitSubject(s string) (ns, name string, ok bool) {
	parts := strings.SplitN(s, ":", 4)
	if len(parts) != 4 || parts[0] != "system" || parts[1] != "serviceaccount" {
		return "", "", false
	}
	return parts[2], parts[3], true
}

// globMatch matches IAM's StringLike wildcards (* and ?); without them it
// is equality.
func globMatch(pattern, s string) bool {
	var b strings.Builder
	b.WriteString("^")
	for _, r := range pattern {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	ok, err := regexp.MatchString(b.String(), s)
	return err == nil && ok
}

// statement is the EKS-standard trust statement for the token.
func (d *trustDiagnosis) statement() string {
	p := d.keyPrefix()
	st := struct {
		Effect    string
		Principal map[string]string
		Action    string
		Condition map[string]map[string]string
	}{
		Effect:    "Allow",
		Principal: map[string]string{"Federated": d.provider},
		Action:    "sts:AssumeRoleWithWebIdentity",
		Condition: map[string]map[string]string{"StringEquals": {p + ":sub": d.in.Token.Subject, p + ":aud": d.aud}},
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	return string(b)
}

// stmtName renders `statement 0` or `statement 0 ("Sid")`.
func stmtName(r policy.StatementRef) string {
	s := "statement " + strconv.Itoa(r.Index)
	if r.Sid != "" {
		s += " (" + strconv.Quote(r.Sid) + ")"
	}
	return s
}

// roleName is the last segment of a role ARN (roles may have paths).
func roleName(arn string) string {
	_, res, ok := strings.Cut(arn, ":role/")
	if !ok {
		return arn
	}
	return res[strings.LastIndexByte(res, '/')+1:]
}

// accountOf is the account of an ARN "arn:aws:iam::ACCOUNT:...".
func accountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 5 {
		return ""
	}
	return parts[4]
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func quoteList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}

func orList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, " or ")
}

func indent(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return strings.Join(lines, "\n")
}
