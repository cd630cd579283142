package actions

import (
	"bytes"
	"encoding/json"
	"errors"
)

// decodeJSON decodes a JSON object, numbers kept as written.
func decodeJSON(b []byte, v *map[string]any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if *v == nil {
		return errors.New("null")
	}
	return nil
}

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }
func list(v any) []any         { l, _ := v.([]any); return l }
func text(v any) string        { s, _ := v.(string); return s }

// strings returns a list parameter of strings.
func stringList(v any) []string {
	var out []string
	for _, e := range list(v) {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
