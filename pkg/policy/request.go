package policy

import "strings"

// Request is one authorization question.
type Request struct {
	// Principal is who asks. Only trust and resource policies look at it;
	// identity policies apply to whoever holds them.
	Principal Principal
	Action    string // e.g. "s3:GetObject", "sts:AssumeRoleWithWebIdentity"
	// Resource is the ARN acted on; "" for trust policies, which have no
	// Resource element.
	Resource string
	Context  Context // condition keys
}

// Principal identifies the caller.
type Principal struct {
	// Type is "Federated", "AWS", "Service" or "CanonicalUser", or "" for an
	// anonymous caller.
	Type string
	// IDs lists every identifier the caller matches. For a role session:
	// its session ARN "arn:aws:sts::123456789012:assumed-role/R/S", its role
	// ARN "arn:aws:iam::123456789012:role/R" and its account
	// "123456789012" (in a policy, "123456789012" and
	// "arn:aws:iam::123456789012:root" both mean the whole account). For
	// AssumeRoleWithWebIdentity: the OIDC provider ARN.
	IDs []string
}

// Context holds the condition keys of a request. Key names are
// case-insensitive, as in IAM; values are compared as each operator says.
// Every key may have several values. A key with no values counts as absent.
//
// Use Set and Get rather than indexing: Set stores keys in lower case, which
// is what evaluation looks up first. A Context built as a map literal still
// works, at the cost of a scan for keys not stored in lower case.
type Context map[string][]string

// NewContext returns an empty Context.
func NewContext() Context {
	return Context{}
}

// Set replaces the values of key.
func (c Context) Set(key string, values ...string) {
	c[strings.ToLower(key)] = values
}

// Add appends values to those of key.
func (c Context) Add(key string, values ...string) {
	k := strings.ToLower(key)
	c[k] = append(c[k], values...)
}

// Get returns the values of key, whatever the case of its name, and whether
// the key is set at all.
func (c Context) Get(key string) ([]string, bool) {
	return c.lookup(strings.ToLower(key))
}

// lookup finds a key given in lower case.
func (c Context) lookup(lkey string) ([]string, bool) {
	if v, ok := c[lkey]; ok {
		return v, true
	}
	for k, v := range c {
		if strings.EqualFold(k, lkey) {
			return v, true
		}
	}
	return nil, false
}
