package policy

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseNumber(t *testing.T) {
	for s, want := range map[string]bool{
		"10": true, "-3": true, "2.5": true, "1e3": true, "+7": true,
		"": false, "NaN": false, "Inf": false, "-inf": false, "0x10": false, "1_000": false, "ten": false, ".": false,
	} {
		if _, ok := parseNumber(s); ok != want {
			t.Errorf("parseNumber(%q) ok = %v, want %v", s, ok, want)
		}
	}
}

func TestParseDate(t *testing.T) {
	want := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, s := range []string{
		"2024-01-02T03:04:05Z", "2024-01-02t03:04:05z", "2024-01-02T05:04:05+02:00",
		"2024-01-02T03:04:05+0000", "2024-01-02T03:04:05", "1704164645",
	} {
		got, ok := parseDate(s)
		if !ok || !got.Equal(want) {
			t.Errorf("parseDate(%q) = %v, %v; want %v", s, got, ok, want)
		}
	}
	for _, s := range []string{"2024-01-02", "2024-01", "2024-01-02T03:04", "2024-01-02T03:04:05.123Z"} {
		if _, ok := parseDate(s); !ok {
			t.Errorf("parseDate(%q) refused an ISO 8601 form", s)
		}
	}
	for _, s := range []string{"", "yesterday", "2024-13-01", "01/02/2024"} {
		if _, ok := parseDate(s); ok {
			t.Errorf("parseDate(%q) accepted it", s)
		}
	}
}

func TestParsePrefix(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"10.1.2.3/8", "10.0.0.0/8", true},
		{"192.0.2.7", "192.0.2.7/32", true},
		{"2001:db8::1", "2001:db8::1/128", true},
		{"::ffff:192.0.2.0/120", "192.0.2.0/24", true},
		{"::ffff:192.0.2.7", "192.0.2.7/32", true},
		{"::ffff:0:0/90", "", false},
		{"10.0.0.300", "", false},
		{"10.0.0.0/33", "", false},
	}
	for _, tt := range tests {
		p, ok := parsePrefix(tt.in)
		if ok != tt.ok || (ok && p.String() != tt.want) {
			t.Errorf("parsePrefix(%q) = %v, %v; want %s, %v", tt.in, p, ok, tt.want, tt.ok)
		}
	}
}

func TestParseOperator(t *testing.T) {
	tests := []struct {
		name     string
		set      setQualifier
		ifExists bool
		ok       bool
	}{
		{"StringEquals", setNone, false, true},
		{"ForAllValues:StringLikeIfExists", setAllValues, true, true},
		{"ForAnyValue:ArnNotLike", setAnyValue, false, true},
		{"NumericLessThanEqualsIfExists", setNone, true, true},
		{"Null", setNone, false, true},
		{"NullIfExists", setNone, false, false},
		{"stringequals", setNone, false, false},
		{"ForAnyValue:", setNone, false, false},
		{"IfExists", setNone, false, false},
		{"ForSomeValues:StringEquals", setNone, false, false},
	}
	for _, tt := range tests {
		_, set, ifExists, ok := parseOperator(tt.name)
		if ok != tt.ok || (ok && (set != tt.set || ifExists != tt.ifExists)) {
			t.Errorf("parseOperator(%q) = set %v ifExists %v ok %v", tt.name, set, ifExists, ok)
		}
	}
}

// A repeated JSON name is refused wherever it is: readers disagree on
// which value wins, and Deny then Allow under one name must not allow.
func TestDuplicateNamesAreRefused(t *testing.T) {
	for _, doc := range []string{
		`{"Statement":{"Effect":"Deny","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`,
		`{"Version":"2012-10-17","Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`,
		`{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"a":"1","a":"2"}}}]}`,
	} {
		for _, kind := range []Kind{Identity, Resource} {
			_, err := Parse(doc, kind)
			var me *MalformedError
			if !errors.As(err, &me) || !strings.Contains(me.Detail, "appears twice") {
				t.Errorf("%s (kind %d): %v, want a malformed document naming the duplicate", doc, kind, err)
			}
		}
	}
	// The same name in different objects is fine.
	if _, err := Parse(`{"Statement":[{"Sid":"A","Effect":"Allow","Action":"s3:GetObject","Resource":"*"},{"Sid":"B","Effect":"Deny","Action":"s3:GetObject","Resource":"*"}]}`, Identity); err != nil {
		t.Fatal(err)
	}
}
