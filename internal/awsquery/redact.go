package awsquery

import (
	"strconv"
	"unicode/utf8"
)

// MaxEchoed is how much of a client's value irsa-local repeats in an error
// message, a trail record or a log line. AWS echoes values in validation
// errors; a 1 MB parameter must not become 1 MB in each of those.
const MaxEchoed = 256

// Truncate shortens s to at most n bytes, cut on a rune boundary, and says
// how many bytes were left out.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "...(" + strconv.Itoa(len(s)-cut) + " more bytes)"
}
