package policy

import "testing"

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		fold       bool
		want       bool
	}{
		{"*", "", false, true},
		{"*", "anything/at:all", false, true},
		{"", "", false, true},
		{"", "a", false, false},
		{"abc", "abc", false, true},
		{"abc", "ABC", false, false},
		{"abc", "ABC", true, true},
		{"s3:Get*", "s3:getobject", true, true},
		{"s3:Get*", "s3:PutObject", true, false},
		{"iam:*AccessKey*", "iam:CreateAccessKey", false, true},
		{"iam:*AccessKey*", "iam:ListAccessKeys", false, true},
		{"iam:*AccessKey*", "iam:ListUsers", false, false},
		{"a?c", "abc", false, true},
		{"a?c", "ac", false, false},
		{"a?c", "abbc", false, false},
		{"a*b*c", "axxbyyc", false, true},
		{"a*b*c", "axxbyy", false, false},
		{"*a", "aaaa", false, true},
		{"a**", "a", false, true},
		{"arn:aws:s3:::b/*/test/*", "arn:aws:s3:::b/1/2/test/3/object.jpg", false, true},
		{"arn:aws:s3:::b/*", "arn:aws:s3:::b", false, false},
		{"arn:aws:s3:::*", "arn:aws:s3:::bucket/key", false, true},
		// '?' is one character, not one byte.
		{"caf?", "café", false, true},
		{"caf??", "café", false, false},
		{"*?", "é", false, true},
		{"*??", "é", false, false},
		{"x*é", "xaé", false, true},
	}
	for _, tt := range tests {
		if got := (glob{s: tt.pattern}).match(tt.s, tt.fold); got != tt.want {
			t.Errorf("glob %q match %q (fold %v) = %v, want %v", tt.pattern, tt.s, tt.fold, got, tt.want)
		}
	}
}

func TestGlobLiteralMask(t *testing.T) {
	// "a*" where the star is literal, as ${*} or a substituted value makes it.
	g := glob{s: "a*", lit: []bool{false, true}}
	if !g.match("a*", false) {
		t.Error("literal star should match itself")
	}
	if g.match("abc", false) {
		t.Error("literal star should not be a wildcard")
	}
}

func TestMatchARN(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"arn:aws:iam::123456789012:role/R", "arn:aws:iam::123456789012:role/R", true},
		{"arn:aws:iam::*:role/R", "arn:aws:iam::123456789012:role/R", true},
		{"arn:aws:iam::123456789012:role/*", "arn:aws:iam::123456789012:role/path/R", true},
		{"arn:aws:iam::123456789012:role/*", "arn:aws:iam::123456789012:user/U", false},
		// A wildcard stays inside its part: it cannot swallow a colon.
		{"arn:aws:*:role/R", "arn:aws:iam::123456789012:role/R", false},
		{"arn:aws:sns:*:123456789012:*", "arn:aws:sns:us-east-1:123456789012:topic:sub", true},
		{"arn:aws:iam::123456789012:role/R", "arn:aws:iam::123456789012:role/r", false},
		{"arn:aws:iam::123456789012:role/R", "not-an-arn", false},
		{"*", "anything", true},
	}
	for _, tt := range tests {
		if got := matchARN(glob{s: tt.pattern}, tt.s); got != tt.want {
			t.Errorf("matchARN(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}
