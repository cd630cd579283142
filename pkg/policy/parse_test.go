package policy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/irsa-local/irsa-local/internal/golden"
)

// kindOf reads the Kind from a fixture's file name prefix.
func kindOf(t *testing.T, name string) Kind {
	t.Helper()
	switch {
	case strings.HasPrefix(name, "identity-"):
		return Identity
	case strings.HasPrefix(name, "trust-"):
		return Trust
	case strings.HasPrefix(name, "resource-"):
		return Resource
	}
	t.Fatalf("fixture %s: name must start with identity-, trust- or resource-", name)
	return 0
}

// walkFixtures runs check on each testdata/dir/*.json and compares what it
// returns with the .golden file beside it.
func walkFixtures(t *testing.T, dir string, check func(t *testing.T, kind Kind, doc string) string) {
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no fixtures in testdata/%s", dir)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			doc, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got := check(t, kindOf(t, name), string(doc))
			golden.Assert(t, strings.TrimSuffix(file, ".json")+".golden", []byte(got))
		})
	}
}

func TestParseMalformed(t *testing.T) {
	walkFixtures(t, "malformed", func(t *testing.T, kind Kind, doc string) string {
		d, err := Parse(doc, kind)
		if err == nil {
			t.Fatalf("Parse accepted a malformed document: %d statements", d.Len())
		}
		var me *MalformedError
		if !errors.As(err, &me) {
			t.Fatalf("error is %T, want *MalformedError: %v", err, err)
		}
		if me.Message == "" || me.Detail == "" {
			t.Errorf("error lacks a message or a detail: %+v", me)
		}
		return fmt.Sprintf("message: %s\ndetail: %s\n", me.Message, me.Detail)
	})
}

func TestParseValid(t *testing.T) {
	walkFixtures(t, "valid", func(t *testing.T, kind Kind, doc string) string {
		d, err := Parse(doc, kind)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if d.Text() != doc {
			t.Error("Text() differs from the document as written")
		}
		return formatDocument(d)
	})
}

// formatDocument renders what Parse understood, one line per element, in a
// stable order.
func formatDocument(d *Document) string {
	var b strings.Builder
	fmt.Fprintf(&b, "kind: %s\nversion: %q\nid: %q\n", d.Kind(), d.Version(), d.ID())
	for i, s := range d.Statements() {
		fmt.Fprintf(&b, "statement %d: sid=%q effect=%s\n", i, s.Sid, s.Effect)
		if s.Principal != nil {
			types := make([]string, 0, len(s.Principal))
			for typ := range s.Principal {
				types = append(types, typ)
			}
			sort.Strings(types)
			field := "principal"
			if s.NotPrincipal {
				field = "not-principal"
			}
			for _, typ := range types {
				fmt.Fprintf(&b, "  %s %s: %q\n", field, typ, s.Principal[typ])
			}
		}
		field := "action"
		if s.NotAction {
			field = "not-action"
		}
		fmt.Fprintf(&b, "  %s: %q\n", field, s.Action)
		if s.Resource != nil {
			field = "resource"
			if s.NotResource {
				field = "not-resource"
			}
			fmt.Fprintf(&b, "  %s: %q\n", field, s.Resource)
		}
		for _, c := range s.Condition {
			fmt.Fprintf(&b, "  condition %s %q: %q\n", c.Operator, c.Key, c.Values)
		}
	}
	return b.String()
}

func TestParseKeepsTextVerbatim(t *testing.T) {
	doc := "  {\"Version\":\"2012-10-17\",\n\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"*\"}}\n\n"
	d, err := Parse(doc, Identity)
	if err != nil {
		t.Fatal(err)
	}
	if d.Text() != doc {
		t.Errorf("Text() = %q, want %q", d.Text(), doc)
	}
}

func TestParseUnknownKind(t *testing.T) {
	_, err := Parse(`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, Kind(7))
	if err == nil {
		t.Fatal("Parse accepted an unknown kind")
	}
	var me *MalformedError
	if errors.As(err, &me) {
		t.Errorf("an unknown kind is a caller bug, not a malformed document: %v", err)
	}
}

func TestMalformedErrorText(t *testing.T) {
	_, err := Parse(`{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEqual":{"a":"b"}}}}`, Identity)
	want := `malformed policy document: Syntax errors in policy. (statement 0: unknown condition operator "StringEqual")`
	if err == nil || err.Error() != want {
		t.Errorf("Error() = %v, want %s", err, want)
	}
	var me *MalformedError
	if errors.As(err, &me) && me.Statement != 0 {
		t.Errorf("Statement = %d, want 0", me.Statement)
	}
}

// The statement view is a copy: changing it must not change the document,
// which other goroutines may be evaluating.
func TestStatementsAreCopies(t *testing.T) {
	d, err := Parse(`{"Statement":{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"*",
		"Condition":{"StringEquals":{"k":["v"]}}}}`, Identity)
	if err != nil {
		t.Fatal(err)
	}
	s := d.Statement(0)
	s.Action[0] = "s3:PutObject"
	s.Condition[0].Values[0] = "changed"
	again := d.Statement(0)
	if again.Action[0] != "s3:GetObject" || again.Condition[0].Values[0] != "v" {
		t.Errorf("document changed through its view: %+v", again)
	}
}
