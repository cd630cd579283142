package policy

import "testing"

func TestTextResolve(t *testing.T) {
	ctx := NewContext()
	ctx.Set("aws:username", "alice")
	ctx.Set("aws:PrincipalTag/team", "a*b")
	ctx.Set("multi", "x", "y")
	ctx.Set("empty")

	tests := []struct {
		name      string
		raw       string
		vars      bool
		subject   string
		resolved  bool
		wantMatch bool
	}{
		{"no variables", "home/*", true, "home/x", true, true},
		{"variable", "home/${aws:username}/*", true, "home/alice/doc", true, true},
		{"variable wrong user", "home/${aws:username}/*", true, "home/bob/doc", true, false},
		{"key name case-insensitive", "home/${AWS:UserName}", true, "home/alice", true, true},
		{"2008 version keeps text", "home/${aws:username}", false, "home/${aws:username}", true, true},
		{"2008 version does not substitute", "home/${aws:username}", false, "home/alice", true, false},
		{"absent key", "home/${aws:userid}", true, "home/x", false, false},
		{"absent key with default", "home/${aws:userid, 'anon'}", true, "home/anon", true, true},
		{"default ignored when present", "home/${aws:username, 'anon'}", true, "home/alice", true, true},
		{"empty key uses default", "${empty, 'd'}", true, "d", true, true},
		{"multi-valued key does not resolve", "${multi}", true, "x", false, false},
		{"multi-valued key ignores default", "${multi, 'd'}", true, "d", false, false},
		{"substituted star is literal", "team/${aws:PrincipalTag/team}", true, "team/a*b", true, true},
		{"substituted star is not a wildcard", "team/${aws:PrincipalTag/team}", true, "team/axxb", true, false},
		{"escaped star is literal", "a${*}", true, "a*", true, true},
		{"escaped star is not a wildcard", "a${*}", true, "abc", true, false},
		{"escaped question mark", "a${?}", true, "a?", true, true},
		{"escaped question mark literal", "a${?}", true, "ab", true, false},
		{"escaped dollar", "${$}{x}", true, "${x}", true, true},
		{"unterminated variable is text", "a${b", true, "a${b", true, true},
		{"bad default is text", "${k, nope}", true, "${k, nope}", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx := compileText(tt.raw, tt.vars)
			g, ok := tx.resolve(ctx)
			if ok != tt.resolved {
				t.Fatalf("resolve(%q) ok = %v, want %v", tt.raw, ok, tt.resolved)
			}
			if !ok {
				return
			}
			if got := g.match(tt.subject, false); got != tt.wantMatch {
				t.Errorf("%q resolved to %q, match %q = %v, want %v", tt.raw, g.s, tt.subject, got, tt.wantMatch)
			}
		})
	}
}

func TestCompileResourceVariablesOnlyInResourcePart(t *testing.T) {
	ctx := NewContext()
	ctx.Set("aws:username", "alice")
	ctx.Set("aws:PrincipalAccount", "123456789012")

	own := compileResource("arn:aws:s3:::bucket/${aws:username}/*", true)
	g, ok := own.resolve(ctx)
	if !ok || !g.match("arn:aws:s3:::bucket/alice/x", false) {
		t.Errorf("variable in the resource part should be substituted, got %q", g.s)
	}
	// Before the fifth colon "${...}" is plain text.
	acct := compileResource("arn:aws:iam::${aws:PrincipalAccount}:role/R", true)
	g, ok = acct.resolve(ctx)
	if !ok || g.s != "arn:aws:iam::${aws:PrincipalAccount}:role/R" {
		t.Errorf("variable in the account part should stay literal, got %q (ok %v)", g.s, ok)
	}
}
