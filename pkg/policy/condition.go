package policy

import (
	"bytes"
	"encoding/base64"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// family groups operators that compare values the same way.
type family int

const (
	famString     family = iota // StringEquals, StringNotEquals
	famStringFold               // StringEqualsIgnoreCase, StringNotEqualsIgnoreCase
	famStringLike               // StringLike, StringNotLike
	famARN                      // ArnEquals, ArnLike and their negations
	famNumeric
	famDate
	famBool
	famBinary
	famIP
	famNull
)

// order is the comparison of the Numeric and Date operators.
type order int

const (
	ordEq order = iota
	ordLt
	ordLe
	ordGt
	ordGe
)

type opInfo struct {
	fam     family
	ord     order
	negated bool // the value must match none of the policy's values
}

// operators is the table of base condition operators. It is never written
// after initialization.
var operators = map[string]opInfo{
	"StringEquals":              {fam: famString},
	"StringNotEquals":           {fam: famString, negated: true},
	"StringEqualsIgnoreCase":    {fam: famStringFold},
	"StringNotEqualsIgnoreCase": {fam: famStringFold, negated: true},
	"StringLike":                {fam: famStringLike},
	"StringNotLike":             {fam: famStringLike, negated: true},
	"ArnEquals":                 {fam: famARN},
	"ArnLike":                   {fam: famARN},
	"ArnNotEquals":              {fam: famARN, negated: true},
	"ArnNotLike":                {fam: famARN, negated: true},
	"NumericEquals":             {fam: famNumeric},
	"NumericNotEquals":          {fam: famNumeric, negated: true},
	"NumericLessThan":           {fam: famNumeric, ord: ordLt},
	"NumericLessThanEquals":     {fam: famNumeric, ord: ordLe},
	"NumericGreaterThan":        {fam: famNumeric, ord: ordGt},
	"NumericGreaterThanEquals":  {fam: famNumeric, ord: ordGe},
	"DateEquals":                {fam: famDate},
	"DateNotEquals":             {fam: famDate, negated: true},
	"DateLessThan":              {fam: famDate, ord: ordLt},
	"DateLessThanEquals":        {fam: famDate, ord: ordLe},
	"DateGreaterThan":           {fam: famDate, ord: ordGt},
	"DateGreaterThanEquals":     {fam: famDate, ord: ordGe},
	"Bool":                      {fam: famBool},
	"BinaryEquals":              {fam: famBinary},
	"IpAddress":                 {fam: famIP},
	"NotIpAddress":              {fam: famIP, negated: true},
	"Null":                      {fam: famNull},
}

// setQualifier is the ForAnyValue: or ForAllValues: prefix.
type setQualifier int

const (
	setNone setQualifier = iota
	setAnyValue
	setAllValues
)

// parseOperator splits an operator such as "ForAllValues:StringLikeIfExists"
// into its parts. Names are case-sensitive, as in IAM.
func parseOperator(name string) (info opInfo, set setQualifier, ifExists, ok bool) {
	s := name
	if rest, found := strings.CutPrefix(s, "ForAnyValue:"); found {
		s, set = rest, setAnyValue
	} else if rest, found := strings.CutPrefix(s, "ForAllValues:"); found {
		s, set = rest, setAllValues
	}
	if base, found := strings.CutSuffix(s, "IfExists"); found && base != "Null" {
		s, ifExists = base, true
	}
	info, ok = operators[s]
	return info, set, ifExists, ok
}

// condition is one key under one operator of a Condition block.
type condition struct {
	op       string // as written, e.g. "ForAnyValue:StringLike"
	info     opInfo
	set      setQualifier
	ifExists bool
	key      string // as written
	lkey     string // lowercased, for Context lookups
	raw      []string

	// The compiled policy values; which slice is used depends on info.fam.
	texts []text
	nums  []float64
	times []time.Time
	bools []bool
	bins  [][]byte
	nets  []netip.Prefix
}

// compileCondition parses the policy values of one condition. It returns a
// problem and a description of the bad value when one does not parse.
func compileCondition(op, key string, values []string, vars bool) (condition, problem, string) {
	info, set, ifExists, ok := parseOperator(op)
	if !ok {
		return condition{}, pUnknownOperator, "unknown condition operator " + strconv.Quote(op)
	}
	c := condition{
		op: op, info: info, set: set, ifExists: ifExists,
		key: key, lkey: strings.ToLower(key), raw: values,
	}
	bad := func(p problem, v, what string) (condition, problem, string) {
		return condition{}, p, "condition " + op + " on " + strconv.Quote(key) + ": " + strconv.Quote(v) + " is not " + what
	}
	for _, v := range values {
		switch info.fam {
		case famString, famStringFold, famStringLike, famARN:
			c.texts = append(c.texts, compileText(v, vars))
		case famNumeric:
			n, ok := parseNumber(v)
			if !ok {
				return bad(pBadConditionValue, v, "a number")
			}
			c.nums = append(c.nums, n)
		case famDate:
			t, ok := parseDate(v)
			if !ok {
				return bad(pBadDateValue, v, "an ISO 8601 date or epoch seconds")
			}
			c.times = append(c.times, t)
		case famBool, famNull:
			b, ok := parseBool(v)
			if !ok {
				return bad(pBadConditionValue, v, `"true" or "false"`)
			}
			c.bools = append(c.bools, b)
		case famBinary:
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				return bad(pBadConditionValue, v, "base64")
			}
			c.bins = append(c.bins, b)
		case famIP:
			p, ok := parsePrefix(v)
			if !ok {
				return bad(pBadConditionValue, v, "an IP address or CIDR block")
			}
			c.nets = append(c.nets, p)
		}
	}
	return c, 0, ""
}

// holds reports whether the condition is true for ctx.
//
// A key with no values counts as absent. Absent keys make positive operators
// false and negated ones true; IfExists makes them true; ForAnyValue makes
// them false and ForAllValues true. Null looks only at presence.
func (c *condition) holds(ctx Context) bool {
	vals, _ := ctx.lookup(c.lkey)
	present := len(vals) > 0
	if c.info.fam == famNull {
		for _, wantAbsent := range c.bools {
			if wantAbsent != present {
				return true
			}
		}
		return false
	}
	if !present {
		switch {
		case c.ifExists:
			return true
		case c.set == setAnyValue:
			return false
		case c.set == setAllValues:
			return true
		}
		return c.info.negated
	}
	// Without a set qualifier a negated operator needs every request value
	// to match none of the policy's values, and a positive one needs any
	// request value to match any policy value.
	needAll := c.set == setAllValues || (c.set == setNone && c.info.negated)
	anySat := false
	for _, v := range vals {
		sat, ok := c.satisfied(v, ctx)
		if !ok {
			return false
		}
		if needAll && !sat {
			return false
		}
		anySat = anySat || sat
	}
	return needAll || anySat
}

// satisfied applies the operator to one request value: for a positive
// operator the value must match some policy value, for a negated one it must
// match none. ok is false when the comparison cannot be made: the request
// value does not parse for a numeric, date, boolean, binary or IP operator,
// or a negated operator has a policy variable that cannot be resolved (AWS:
// such a statement does not apply).
func (c *condition) satisfied(v string, ctx Context) (sat, ok bool) {
	matched, ok := c.matches(v, ctx)
	if !ok {
		return false, false
	}
	return matched != c.info.negated, true
}

func (c *condition) matches(v string, ctx Context) (matched, ok bool) {
	switch c.info.fam {
	case famString, famStringFold, famStringLike, famARN:
		for i := range c.texts {
			g, resolved := c.texts[i].resolve(ctx)
			if !resolved {
				if c.info.negated {
					return false, false
				}
				continue
			}
			if c.matchText(g, v) {
				return true, true
			}
		}
		return false, true
	case famNumeric:
		x, ok := parseNumber(v)
		if !ok {
			return false, false
		}
		for _, n := range c.nums {
			if compareOrder(c.info.ord, cmpFloat(x, n)) {
				return true, true
			}
		}
		return false, true
	case famDate:
		t, ok := parseDate(v)
		if !ok {
			return false, false
		}
		for _, w := range c.times {
			if compareOrder(c.info.ord, t.Compare(w)) {
				return true, true
			}
		}
		return false, true
	case famBool:
		b, ok := parseBool(v)
		if !ok {
			return false, false
		}
		for _, w := range c.bools {
			if b == w {
				return true, true
			}
		}
		return false, true
	case famBinary:
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return false, false
		}
		for _, w := range c.bins {
			if bytes.Equal(b, w) {
				return true, true
			}
		}
		return false, true
	case famIP:
		a, err := netip.ParseAddr(v)
		if err != nil {
			return false, false
		}
		a = a.Unmap()
		for _, p := range c.nets {
			if p.Contains(a) {
				return true, true
			}
		}
		return false, true
	}
	return false, false
}

func (c *condition) matchText(g glob, v string) bool {
	switch c.info.fam {
	case famString:
		return g.s == v
	case famStringFold:
		return strings.EqualFold(g.s, v)
	case famStringLike:
		return g.match(v, false)
	}
	return matchARN(g, v)
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compareOrder reports whether a comparison result c (-1, 0, 1 for request
// value versus policy value) satisfies o.
func compareOrder(o order, c int) bool {
	switch o {
	case ordLt:
		return c < 0
	case ordLe:
		return c <= 0
	case ordGt:
		return c > 0
	case ordGe:
		return c >= 0
	}
	return c == 0
}

// parseNumber accepts decimal numbers only: strconv.ParseFloat alone would
// also take "NaN", "Inf" and hexadecimal forms that IAM does not.
func parseNumber(s string) (float64, bool) {
	digits := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits = true
		case c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-':
		default:
			return 0, false
		}
	}
	if !digits {
		return 0, false
	}
	n, err := strconv.ParseFloat(s, 64)
	return n, err == nil
}

// dateLayouts are the ISO 8601 forms accepted for Date operators, tried
// after upper-casing the value so that "t" and "z" also work. time.Parse
// accepts fractional seconds after the seconds field without a layout of
// its own.
var dateLayouts = []string{
	time.RFC3339,
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04Z0700",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02",
	"2006-01",
}

// parseDate accepts ISO 8601 date-times and dates (UTC when no zone is
// given) and epoch seconds.
func parseDate(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), true
	}
	u := strings.ToUpper(s)
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, u); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func parseBool(s string) (bool, bool) {
	switch {
	case strings.EqualFold(s, "true"):
		return true, true
	case strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

// parsePrefix accepts a CIDR block or a single address, which stands for a
// block of one.
func parsePrefix(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		if p.Addr().Is4In6() {
			bits := p.Bits() - 96
			if bits < 0 {
				return netip.Prefix{}, false
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), bits)
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}
