package policy

import (
	"strconv"
	"strings"
)

// Decision is the outcome of an evaluation. The zero value is ImplicitDeny,
// so a Result nobody filled in denies.
type Decision int

const (
	ImplicitDeny Decision = iota // nothing allows the request
	Allow                        // a statement allows it and none denies it
	ExplicitDeny                 // a Deny statement applies
)

func (d Decision) String() string {
	switch d {
	case Allow:
		return "Allow"
	case ExplicitDeny:
		return "ExplicitDeny"
	case ImplicitDeny:
		return "ImplicitDeny"
	}
	return "Decision(" + strconv.Itoa(int(d)) + ")"
}

// Result is a decision with its explanation.
type Result struct {
	Decision Decision
	// Decider is the statement that allowed or explicitly denied; nil for an
	// implicit deny.
	Decider *StatementRef
	// Near lists, for an implicit deny, the Allow statements whose principal
	// and action matched but whose resource or a condition did not, in
	// document order.
	Near []Miss
	// Reason is one sentence for people.
	Reason string
}

// Allowed reports whether the decision is Allow.
func (r Result) Allowed() bool { return r.Decision == Allow }

// StatementRef names one statement of one named document.
type StatementRef struct {
	Policy string // the NamedDocument's Name
	Index  int    // position in the document's statement list, from 0
	Sid    string
}

// String renders `statement 0 ("AllowEKS") of trust policy`.
func (r StatementRef) String() string {
	s := "statement " + strconv.Itoa(r.Index)
	if r.Sid != "" {
		s += " (" + strconv.Quote(r.Sid) + ")"
	}
	if r.Policy == "" {
		return s + " of the policy"
	}
	return s + " of " + r.Policy
}

// Miss is an Allow statement that came close: its principal and action
// matched.
type Miss struct {
	Statement StatementRef
	Resource  bool           // the resource did not match
	Condition *ConditionMiss // else the first condition that was false
}

// ConditionMiss describes a false condition.
type ConditionMiss struct {
	Operator string   // as written, e.g. "StringEquals"
	Key      string   // as written in the policy
	Want     []string // the policy's values, as written
	Got      []string // the request's values
	Present  bool     // the request had the key with at least one value
}

// String renders `condition StringEquals on "k" expected "a" but the request
// had "b"`.
func (m *ConditionMiss) String() string {
	var b strings.Builder
	b.WriteString("condition ")
	b.WriteString(m.Operator)
	b.WriteString(" on ")
	b.WriteString(strconv.Quote(m.Key))
	b.WriteString(" expected ")
	b.WriteString(m.expectation())
	b.WriteString(" but the request had ")
	if m.Present {
		b.WriteString(quoteList(m.Got))
	} else {
		b.WriteString("no value for it")
	}
	return b.String()
}

func (m *ConditionMiss) expectation() string {
	info, set, _, _ := parseOperator(m.Operator)
	if info.fam == famNull && len(m.Want) == 1 {
		if b, _ := parseBool(m.Want[0]); b {
			return "the key to be absent"
		}
		return "the key to be present"
	}
	if len(m.Want) == 0 {
		return "no value"
	}
	var want string
	switch {
	case len(m.Want) == 1:
		want = strconv.Quote(m.Want[0])
	case info.negated:
		want = quoteList(m.Want)
	default:
		want = "one of " + quoteList(m.Want)
	}
	var e string
	switch {
	case info.fam == famIP && info.negated:
		e = "an address outside " + want
	case info.fam == famIP:
		e = "an address in " + want
	case info.fam == famStringLike || info.fam == famARN:
		e = "a value like " + want
		if info.negated {
			e = "a value not like " + want
		}
	case info.fam == famNumeric || info.fam == famDate:
		e = orderWords(info) + want
	case info.negated:
		e = "a value other than " + want
	default:
		e = want
	}
	switch set {
	case setAllValues:
		return "every value to be " + e
	case setAnyValue:
		return "some value to be " + e
	}
	return e
}

// orderWords renders the comparison of a Numeric or Date operator.
func orderWords(info opInfo) string {
	date := info.fam == famDate
	switch {
	case info.negated:
		return "a value other than "
	case info.ord == ordLt && date:
		return "a date before "
	case info.ord == ordLt:
		return "a number less than "
	case info.ord == ordLe && date:
		return "a date at or before "
	case info.ord == ordLe:
		return "a number at most "
	case info.ord == ordGt && date:
		return "a date after "
	case info.ord == ordGt:
		return "a number greater than "
	case info.ord == ordGe && date:
		return "a date at or after "
	case info.ord == ordGe:
		return "a number at least "
	}
	return ""
}

func quoteList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}

// NamedDocument pairs a document with the name explanations use for it:
// "trust policy", "inline policy s3-read",
// "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", "session policy",
// "bucket policy of my-bucket".
type NamedDocument struct {
	Name string
	Doc  *Document
}

// Evaluate decides req against documents that all play the same part in the
// decision, such as the identity policies of one role or a role's trust
// policy: an applicable Deny in any of them wins, else an applicable Allow in
// any of them allows, else the request is implicitly denied. The deciding
// statement is the first applicable one in argument and document order.
// Documents with a nil Doc are skipped.
func Evaluate(req Request, docs ...NamedDocument) Result {
	ev := evaluate(&req, docs, false)
	switch ev.decision {
	case ExplicitDeny:
		return Result{Decision: ExplicitDeny, Decider: ev.decider, Reason: "explicitly denied by " + ev.decider.String()}
	case Allow:
		return Result{Decision: Allow, Decider: ev.decider, Reason: "allowed by " + ev.decider.String()}
	}
	near := nearMisses(&req, docs)
	return Result{Decision: ImplicitDeny, Near: near, Reason: "implicitly denied: " + implicitDetail(&req, docs, near)}
}

// evaluation is the raw outcome of evaluating a set of documents.
type evaluation struct {
	decision Decision
	decider  *StatementRef // the first applicable Deny, else the first applicable Allow
	// sessionAllow is the first applicable Allow whose principal names the
	// caller's session ARN; only computed for resource policies.
	sessionAllow *StatementRef
	// accountAllow is the first applicable Allow of a resource policy that
	// names the caller only through its account. It grants nothing by
	// itself: it delegates to the account, whose identity policies decide.
	accountAllow *StatementRef
}

// evaluate evaluates docs; resource says they are resource policies, where
// an Allow that matches the caller only through its account is delegation,
// not a grant.
func evaluate(req *Request, docs []NamedDocument, resource bool) evaluation {
	wantSession := resource
	var ev evaluation
	for di := range docs {
		d := docs[di].Doc
		if d == nil {
			continue
		}
		for si := range d.statements {
			s := &d.statements[si]
			if !s.deny && ev.decider != nil && (!wantSession || ev.sessionAllow != nil) {
				continue // this Allow could change nothing
			}
			if out, _ := s.evaluate(req); out != outApplies {
				continue
			}
			ref := &StatementRef{Policy: docs[di].Name, Index: si, Sid: s.sid}
			if s.deny {
				// The first applicable Deny decides; nothing after it can.
				return evaluation{decision: ExplicitDeny, decider: ref}
			}
			if resource && s.principals != nil && !s.notPrincipal && !s.principals.grantsDirectly(&req.Principal) {
				if ev.accountAllow == nil {
					ev.accountAllow = ref
				}
				continue
			}
			if ev.decider == nil {
				ev.decision, ev.decider = Allow, ref
			}
			if wantSession && ev.sessionAllow == nil && s.principals != nil && !s.notPrincipal &&
				s.principals.namesSession(&req.Principal) {
				ev.sessionAllow = ref
			}
		}
	}
	return ev
}

// outcome says how far a statement matched a request.
type outcome uint8

const (
	outPrincipal outcome = iota // the principal did not match
	outAction                   // the action did not match
	outResource                 // the resource did not match
	outCondition                // a condition was false
	outApplies                  // the statement applies
)

// evaluate matches s against req. For outCondition it also returns the index
// of the first false condition; for the other outcomes the index is 0 and
// means nothing.
func (s *statement) evaluate(req *Request) (outcome, int) {
	if s.principals != nil && s.principals.matches(&req.Principal) == s.notPrincipal {
		return outPrincipal, 0
	}
	if s.matchAction(req.Action) == s.notAction {
		return outAction, 0
	}
	if s.resources != nil {
		matched, ok := s.matchResource(req)
		if !ok || matched == s.notResource {
			return outResource, 0
		}
	}
	for i := range s.conditions {
		if !s.conditions[i].holds(req.Context) {
			return outCondition, i
		}
	}
	return outApplies, 0
}

func (s *statement) matchAction(action string) bool {
	for _, g := range s.actions {
		if g.match(action, true) {
			return true
		}
	}
	return false
}

// matchResource reports whether the request's resource matches one of the
// statement's. ok is false when a NotResource entry has a policy variable
// that cannot be resolved: AWS then treats the statement as not applying,
// rather than as excluding nothing.
func (s *statement) matchResource(req *Request) (matched, ok bool) {
	for i := range s.resources {
		g, resolved := s.resources[i].resolve(req.Context)
		if !resolved {
			if s.notResource {
				return false, false
			}
			continue
		}
		if g.match(req.Resource, false) {
			return true, true
		}
	}
	return false, true
}

// nearMisses collects the Allow statements whose principal and action
// matched but whose resource or a condition did not.
func nearMisses(req *Request, docs []NamedDocument) []Miss {
	var near []Miss
	for di := range docs {
		d := docs[di].Doc
		if d == nil {
			continue
		}
		for si := range d.statements {
			s := &d.statements[si]
			if s.deny {
				continue
			}
			out, ci := s.evaluate(req)
			ref := StatementRef{Policy: docs[di].Name, Index: si, Sid: s.sid}
			switch out {
			case outResource:
				near = append(near, Miss{Statement: ref, Resource: true})
			case outCondition:
				near = append(near, Miss{Statement: ref, Condition: s.conditions[ci].miss(req.Context)})
			}
		}
	}
	return near
}

// implicitDetail explains an implicit deny: the first near miss if there is
// one, else that nothing in docs allows the request.
func implicitDetail(req *Request, docs []NamedDocument, near []Miss) string {
	if len(near) > 0 {
		return missDetail(req, near[0])
	}
	var names []string
	principals := false
	for _, d := range docs {
		if d.Doc == nil {
			continue
		}
		names = append(names, d.Name)
		principals = principals || d.Doc.kind != Identity
	}
	what := req.Action
	if req.Resource != "" {
		what += " on " + strconv.Quote(req.Resource)
	}
	if principals {
		what += " for " + describePrincipal(req.Principal)
	}
	if len(names) == 0 {
		return "there is no policy to allow " + what
	}
	return "no statement in " + strings.Join(names, ", ") + " allows " + what
}

func missDetail(req *Request, m Miss) string {
	if m.Condition != nil {
		return m.Condition.String() + " (" + m.Statement.String() + ")"
	}
	return m.Statement.String() + " allows " + req.Action + " but not on " + strconv.Quote(req.Resource)
}

func describePrincipal(p Principal) string {
	if p.Type == "" {
		return "anonymous callers"
	}
	if len(p.IDs) == 0 {
		return p.Type + " principals"
	}
	return p.Type + " " + strconv.Quote(p.IDs[0])
}

// miss describes why the condition failed for ctx.
func (c *condition) miss(ctx Context) *ConditionMiss {
	vals, _ := ctx.lookup(c.lkey)
	return &ConditionMiss{
		Operator: c.op,
		Key:      c.key,
		Want:     append([]string(nil), c.raw...),
		Got:      append([]string(nil), vals...),
		Present:  len(vals) > 0,
	}
}
