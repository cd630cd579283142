package policy

import (
	"strings"
)

// text is a policy string that may contain policy variables (${key},
// ${key, 'default'}) and the escapes ${*}, ${?} and ${$}. Only documents with
// Version 2012-10-17 have variables; in older ones the same characters are
// plain text.
type text struct {
	raw string
	// static is the pattern when raw has no variables: nothing depends on
	// the request, so it is built once at parse time.
	static glob
	// segs is non-nil when raw has at least one variable.
	segs []segment
}

type segment struct {
	lit string // literal text; empty for a variable
	// escaped marks lit as never a wildcard: it came from an escape.
	escaped bool
	key     string // lowercased context key of a variable
	def     string
	hasDef  bool
}

// compileText parses raw. With vars false (Version absent or 2008-10-17) the
// whole string is literal text with the usual wildcards.
func compileText(raw string, vars bool) text {
	t := text{raw: raw, static: glob{s: raw}}
	if !vars || !strings.Contains(raw, "${") {
		return t
	}
	segs := parseSegments(raw, nil)
	t.static, t.segs = staticGlob(segs)
	return t
}

// compileResource is compileText for Resource and NotResource, where policy
// variables may appear only in the resource part, after the fifth colon;
// before it, "${...}" is plain text.
func compileResource(raw string, vars bool) text {
	t := text{raw: raw, static: glob{s: raw}}
	if !vars || !strings.Contains(raw, "${") {
		return t
	}
	cut := resourcePartStart(raw)
	if cut < 0 {
		return t
	}
	segs := parseSegments(raw[cut:], []segment{{lit: raw[:cut]}})
	t.static, t.segs = staticGlob(segs)
	return t
}

// resourcePartStart returns the index just after the fifth colon of an ARN,
// skipping colons inside ${...} (a variable key such as aws:username has
// one), or -1 when raw has fewer than five.
func resourcePartStart(raw string) int {
	colons := 0
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case '$':
			if i+1 < len(raw) && raw[i+1] == '{' {
				if j := strings.IndexByte(raw[i:], '}'); j > 0 {
					i += j
				}
			}
		case ':':
			colons++
			if colons == 5 {
				return i + 1
			}
		}
	}
	return -1
}

// parseSegments splits s into literal text, escapes and variables, appending
// them to segs. Anything that does not parse as a variable stays literal, as
// AWS leaves it.
func parseSegments(s string, segs []segment) []segment {
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			segs = append(segs, segment{lit: lit.String()})
			lit.Reset()
		}
	}
	for len(s) > 0 {
		i := strings.Index(s, "${")
		if i < 0 {
			lit.WriteString(s)
			break
		}
		lit.WriteString(s[:i])
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			lit.WriteString(s[i:])
			break
		}
		body := s[i+2 : i+j]
		s = s[i+j+1:]
		switch body {
		case "*", "?", "$":
			flush()
			segs = append(segs, segment{lit: body, escaped: true})
			continue
		}
		if v, ok := parseVariable(body); ok {
			flush()
			segs = append(segs, v)
			continue
		}
		lit.WriteString("${" + body + "}")
	}
	flush()
	return segs
}

// parseVariable parses "key" or "key, 'default'".
func parseVariable(body string) (segment, bool) {
	key, def, hasDef := strings.Cut(body, ",")
	key = strings.TrimSpace(key)
	if key == "" || strings.ContainsAny(key, " \t'") {
		return segment{}, false
	}
	v := segment{key: strings.ToLower(key)}
	if hasDef {
		def = strings.TrimSpace(def)
		if len(def) < 2 || def[0] != '\'' || def[len(def)-1] != '\'' {
			return segment{}, false
		}
		v.def, v.hasDef = def[1:len(def)-1], true
	}
	return v, true
}

// staticGlob builds the parse-time pattern when segs hold no variable; then
// the returned segments are nil.
func staticGlob(segs []segment) (glob, []segment) {
	for _, sg := range segs {
		if sg.key != "" {
			return glob{}, segs
		}
	}
	var b strings.Builder
	var lit []bool
	escaped := false
	for _, sg := range segs {
		b.WriteString(sg.lit)
		lit = appendMask(lit, len(sg.lit), sg.escaped)
		escaped = escaped || sg.escaped
	}
	if !escaped {
		lit = nil
	}
	return glob{s: b.String(), lit: lit}, nil
}

func appendMask(m []bool, n int, literal bool) []bool {
	for range n {
		m = append(m, literal)
	}
	return m
}

// resolve substitutes the request's values for the variables of t. ok is
// false when a variable cannot be resolved: its key is absent and there is
// no default, or the key has several values (only single-valued keys can be
// substituted). A substituted value is literal text; its own '*' and '?' are
// not wildcards.
func (t *text) resolve(ctx Context) (g glob, ok bool) {
	if t.segs == nil {
		return t.static, true
	}
	var b strings.Builder
	lit := make([]bool, 0, len(t.raw))
	for _, sg := range t.segs {
		if sg.key == "" {
			b.WriteString(sg.lit)
			lit = appendMask(lit, len(sg.lit), sg.escaped)
			continue
		}
		vals, _ := ctx.lookup(sg.key)
		var v string
		switch {
		case len(vals) == 1:
			v = vals[0]
		case len(vals) == 0 && sg.hasDef:
			v = sg.def
		default:
			return glob{}, false
		}
		b.WriteString(v)
		lit = appendMask(lit, len(v), true)
	}
	return glob{s: b.String(), lit: lit}, true
}
