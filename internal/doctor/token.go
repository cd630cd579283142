package doctor

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/irsa-local/irsa-local/pkg/issuer"
)

// Token is what a service-account token carries, read without
// verification: the doctor checks each part against its own link.
type Token struct {
	Raw      string
	KID      string
	Alg      string
	Issuer   string
	Subject  string
	Audience []string
	AZP      string
	// Expiry is the zero time when the token has no exp.
	Expiry time.Time
}

// ParseToken reads a compact JWS token's header and claims.
func ParseToken(raw string) (*Token, error) {
	d, err := issuer.Decode(raw)
	if err != nil {
		return nil, err
	}
	t := &Token{Raw: raw}
	t.KID, _ = d.Header["kid"].(string)
	t.Alg, _ = d.Header["alg"].(string)
	t.Issuer, _ = d.Claims["iss"].(string)
	t.Subject, _ = d.Claims["sub"].(string)
	t.AZP, _ = d.Claims["azp"].(string)
	switch aud := d.Claims["aud"].(type) {
	case string:
		t.Audience = []string{aud}
	case []any:
		for _, a := range aud {
			s, ok := a.(string)
			if !ok {
				return nil, fmt.Errorf("decode token: aud holds %v, not a string", a)
			}
			t.Audience = append(t.Audience, s)
		}
	case nil:
	default:
		return nil, fmt.Errorf("decode token: aud is %s, neither a string nor an array", jsonOf(aud))
	}
	if exp, ok := issuer.NumericTime(d.Claims["exp"]); ok {
		t.Expiry = exp
	}
	return t, nil
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
