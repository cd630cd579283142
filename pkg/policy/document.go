package policy

// Kind says which rules a document must obey at write time.
type Kind int

const (
	// Identity is an identity policy (attached managed or inline) or a
	// session policy: no Principal or NotPrincipal, and every statement has
	// Resource or NotResource.
	Identity Kind = iota
	// Trust is a role trust policy: every statement has Principal or
	// NotPrincipal; Resource and NotResource are prohibited.
	Trust
	// Resource is a resource-based policy such as an S3 bucket policy: every
	// statement has a principal and a resource. Its errors use S3's wording.
	Resource
)

func (k Kind) String() string {
	switch k {
	case Identity:
		return "identity"
	case Trust:
		return "trust"
	case Resource:
		return "resource"
	}
	return "unknown"
}

// Versions of the policy language.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// Document is a parsed policy. It is immutable, so one Document may be
// evaluated from many goroutines at once.
type Document struct {
	text       string
	kind       Kind
	version    string
	id         string
	statements []statement
}

// Text returns the document exactly as written; IAM returns policies
// verbatim.
func (d *Document) Text() string { return d.text }

// Kind returns the rules the document was parsed under.
func (d *Document) Kind() Kind { return d.kind }

// Version returns the Version element, or "" when the document has none.
func (d *Document) Version() string { return d.version }

// ID returns the Id element, or "".
func (d *Document) ID() string { return d.id }

// Len returns the number of statements.
func (d *Document) Len() int { return len(d.statements) }

// Statement returns a description of statement i as written. It panics if i
// is out of range, like a slice index.
func (d *Document) Statement(i int) Statement {
	return d.statements[i].view()
}

// Statements returns descriptions of all statements in document order.
func (d *Document) Statements() []Statement {
	out := make([]Statement, len(d.statements))
	for i := range d.statements {
		out[i] = d.statements[i].view()
	}
	return out
}

// Statement describes one statement as written. It is a copy: changing it
// does not change the Document.
type Statement struct {
	Sid    string
	Effect string // "Allow" or "Deny"
	// Principal maps principal types ("AWS", "Federated", "Service",
	// "CanonicalUser") to identifiers; "Principal": "*" is {"*": ["*"]}. It
	// is nil when the statement names no principal.
	Principal map[string][]string
	// NotPrincipal says Principal came from a NotPrincipal element.
	NotPrincipal bool
	Action       []string
	NotAction    bool // Action came from a NotAction element
	Resource     []string
	NotResource  bool // Resource came from a NotResource element
	Condition    []Condition
}

// Condition is one key under one operator, in document order.
type Condition struct {
	Operator string // as written, e.g. "ForAnyValue:StringLike"
	Key      string
	Values   []string
}

func (s *statement) view() Statement {
	v := Statement{
		Sid:          s.sid,
		Effect:       "Allow",
		NotPrincipal: s.notPrincipal,
		Action:       append([]string(nil), s.actionRaw...),
		NotAction:    s.notAction,
		NotResource:  s.notResource,
	}
	if s.deny {
		v.Effect = "Deny"
	}
	if s.principals != nil {
		v.Principal = map[string][]string{}
		if s.principals.everyone {
			v.Principal["*"] = []string{"*"}
		}
		for _, e := range s.principals.entries {
			v.Principal[e.typ] = append([]string(nil), e.raw...)
		}
	}
	for _, r := range s.resources {
		v.Resource = append(v.Resource, r.raw)
	}
	for _, c := range s.conditions {
		v.Condition = append(v.Condition, Condition{
			Operator: c.op,
			Key:      c.key,
			Values:   append([]string(nil), c.raw...),
		})
	}
	return v
}
