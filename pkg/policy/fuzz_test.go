package policy

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that Parse never panics, that it refuses only with a
// *MalformedError, and that whatever it accepts can be evaluated without
// panicking.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "*.json"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(string(b))
		}
	}
	for _, seed := range []string{
		eksTrust, s3ReadOnly, "", "{}", "null", `{"Statement":[]}`,
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::${aws:username, 'x'}/${*}${?}${$}${"}}`,
		`{"Statement":{"Effect":"Deny","Principal":{"AWS":["*"]},"NotAction":"s3:?*","NotResource":"*","Condition":{"ForAllValues:StringLikeIfExists":{"k":["*?"]}}}}`,
	} {
		f.Add(seed)
	}
	requests := []Request{
		webIdentityRequest(appSubject, stsAudience),
		getObject(Context{"aws:username": {"alice"}, "k": {"a", "b"}, "aws:sourceip": {"10.0.0.1"}}),
		withPrincipal(getObject(nil), Principal{}),
	}
	f.Fuzz(func(t *testing.T, doc string) {
		for _, kind := range []Kind{Identity, Trust, Resource} {
			d, err := Parse(doc, kind)
			if err != nil {
				var me *MalformedError
				if !errors.As(err, &me) || me.Message == "" {
					t.Fatalf("Parse(%q, %v) error %v is not a complete *MalformedError", doc, kind, err)
				}
				continue
			}
			if d.Text() != doc {
				t.Fatalf("Text() differs from the input")
			}
			_ = d.Statements()
			for _, req := range requests {
				r := Evaluate(req, NamedDocument{Name: "fuzz", Doc: d})
				if r.Reason == "" {
					t.Fatalf("empty reason for %q", doc)
				}
			}
		}
	})
}
