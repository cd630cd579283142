package sigv4

import (
	"context"
	"crypto/subtle"
)

// StaticCredentials is a fixed set of access keys, keyed by access key ID:
// for tests, and for keys an emulator configures up front.
type StaticCredentials map[string]StaticKey

// StaticKey is one access key's secret and, for temporary credentials, the
// session token that must accompany it.
type StaticKey struct {
	Secret string
	// SessionToken is "" for a long-term key, which then refuses any token,
	// as AWS refuses a token sent with a long-term key.
	SessionToken string
}

// Lookup returns the key's secret, ErrUnknownAccessKey for an unknown key
// and ErrInvalidToken when the token is not the key's.
func (c StaticCredentials) Lookup(_ context.Context, accessKeyID, sessionToken string) (string, error) {
	k, ok := c[accessKeyID]
	if !ok {
		return "", ErrUnknownAccessKey
	}
	if subtle.ConstantTimeCompare([]byte(sessionToken), []byte(k.SessionToken)) != 1 {
		return "", ErrInvalidToken
	}
	return k.Secret, nil
}
