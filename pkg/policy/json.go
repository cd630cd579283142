package policy

import (
	"bytes"
	"encoding/json"
)

// member is one name/value pair of a JSON object. Objects are kept as ordered
// members rather than Go maps because the order of condition operators and
// keys decides which failing condition an explanation names first, and
// because policy field names are case-sensitive, which encoding/json's
// struct decoding is not.
type member struct {
	name  string
	value json.RawMessage
}

// decodeObject returns the members of the JSON object raw in document order.
// A repeated name keeps its first position and its last value, as most JSON
// readers do. ok is false when raw is not an object.
func decodeObject(raw []byte) (ms []member, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		name, isString := tok.(string)
		if !isString {
			return nil, false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		replaced := false
		for i := range ms {
			if ms[i].name == name {
				ms[i].value = v
				replaced = true
				break
			}
		}
		if !replaced {
			ms = append(ms, member{name: name, value: v})
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, false
	}
	return ms, true
}

// jsonType returns the first significant byte of raw, which tells the JSON
// type: '{', '[', '"', 't', 'f', 'n', or a digit or '-' for numbers.
func jsonType(raw []byte) byte {
	for _, c := range raw {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c
	}
	return 0
}

func decodeArray(raw []byte) ([]json.RawMessage, bool) {
	if jsonType(raw) != '[' {
		return nil, false
	}
	var vs []json.RawMessage
	if err := json.Unmarshal(raw, &vs); err != nil {
		return nil, false
	}
	return vs, true
}

func decodeString(raw []byte) (string, bool) {
	if jsonType(raw) != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// decodeStrings accepts a string or an array of strings, the two shapes IAM
// allows for Action, Resource and the principal lists.
func decodeStrings(raw []byte) ([]string, bool) { return decodeOneOrMany(raw, decodeString) }

// decodeOneOrMany accepts one value, as decodeOne reads it, or an array of
// such values.
func decodeOneOrMany(raw []byte, decodeOne func([]byte) (string, bool)) ([]string, bool) {
	if s, ok := decodeOne(raw); ok {
		return []string{s}, true
	}
	vs, ok := decodeArray(raw)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		s, ok := decodeOne(v)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// decodeScalar accepts what IAM accepts as one condition value: a string, a
// number or a boolean. Numbers and booleans keep their JSON spelling.
func decodeScalar(raw []byte) (string, bool) {
	switch c := jsonType(raw); {
	case c == '"':
		return decodeString(raw)
	case c == 't' || c == 'f' || c == '-' || (c >= '0' && c <= '9'):
		var v any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return "", false
		}
		switch v := v.(type) {
		case json.Number:
			return v.String(), true
		case bool:
			if v {
				return "true", true
			}
			return "false", true
		}
	}
	return "", false
}

// decodeScalars accepts one condition value or an array of them.
func decodeScalars(raw []byte) ([]string, bool) { return decodeOneOrMany(raw, decodeScalar) }

// duplicateKey reports the first name that occurs twice in one object
// anywhere in the JSON document raw.
func duplicateKey(raw []byte) (string, bool) {
	key, dup, _ := scanDuplicates(json.NewDecoder(bytes.NewReader(raw)))
	return key, dup
}

// scanDuplicates reads one value from dec, looking for a repeated name in
// its objects.
func scanDuplicates(dec *json.Decoder) (string, bool, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", false, err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return "", false, err
			}
			k, _ := kt.(string)
			if seen[k] {
				return k, true, nil
			}
			seen[k] = true
			if key, dup, err := scanDuplicates(dec); dup || err != nil {
				return key, dup, err
			}
		}
	case json.Delim('['):
		for dec.More() {
			if key, dup, err := scanDuplicates(dec); dup || err != nil {
				return key, dup, err
			}
		}
	default:
		return "", false, nil
	}
	_, err = dec.Token() // the closing delimiter
	return "", false, err
}
