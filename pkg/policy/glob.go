package policy

import (
	"strings"
	"unicode/utf8"
)

// glob is a pattern in which '*' matches any run of characters (including
// '/' and ':') and '?' matches exactly one character.
type glob struct {
	s string
	// lit marks the bytes of s that must match literally even though they
	// are '*' or '?': those written as ${*} or ${?}, and text substituted for
	// a policy variable. nil means every '*' and '?' is a wildcard.
	lit []bool
}

func (g glob) wild(i int) bool {
	return g.lit == nil || !g.lit[i]
}

func (g glob) slice(i, j int) glob {
	if g.lit == nil {
		return glob{s: g.s[i:j]}
	}
	return glob{s: g.s[i:j], lit: g.lit[i:j]}
}

// match reports whether s matches g. With fold, ASCII letters match
// regardless of case, which is how IAM compares actions.
//
// The algorithm keeps one backtracking point, the last '*' seen: on a
// mismatch the star absorbs one more character and matching resumes. This
// is linear in practice and never recurses.
func (g glob) match(s string, fold bool) bool {
	p := g.s
	if p == "*" && g.lit == nil {
		return true
	}
	pi, si := 0, 0
	star, starS := -1, 0
	for si < len(s) {
		if pi < len(p) {
			c := p[pi]
			switch {
			case c == '*' && g.wild(pi):
				star, starS = pi, si
				pi++
				continue
			case c == '?' && g.wild(pi):
				_, n := utf8.DecodeRuneInString(s[si:])
				si += n
				pi++
				continue
			case c == s[si] || (fold && lowerASCII(c) == lowerASCII(s[si])):
				pi++
				si++
				continue
			}
		}
		if star < 0 {
			return false
		}
		// Let the star take one more whole character, so that '?' and
		// literal bytes always start on a character boundary.
		_, n := utf8.DecodeRuneInString(s[starS:])
		starS += n
		pi, si = star+1, starS
	}
	for pi < len(p) && p[pi] == '*' && g.wild(pi) {
		pi++
	}
	return pi == len(p)
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// matchARN matches s against the ARN pattern g the way ArnLike and ArnEquals
// do: both are split at their first five colons into partition, service,
// region, account and resource parts, and each part is matched on its own,
// so a wildcard in one part cannot swallow a colon of another. The last part
// keeps any further colons. A pattern with fewer parts matches its last part
// against the rest of s, so "*" alone matches any value.
func matchARN(g glob, s string) bool {
	for range 5 {
		pi := strings.IndexByte(g.s, ':')
		if pi < 0 {
			break
		}
		si := strings.IndexByte(s, ':')
		if si < 0 {
			return false
		}
		if !g.slice(0, pi).match(s[:si], false) {
			return false
		}
		g = g.slice(pi+1, len(g.s))
		s = s[si+1:]
	}
	return g.match(s, false)
}
