package stsmock

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/irsa-local/irsa-local/internal/fsutil"
)

// A session is what AssumeRoleWithWebIdentity issues. Like real STS,
// irsa-local keeps no table of sessions: everything a later request needs
// (the secret key, the role, the expiry, the session policies, the token's
// subject) is sealed with AES-GCM into the session token the client sends
// back on every call. The server's memory therefore stays flat however many
// sessions are issued, expired sessions need no eviction, and sessions
// survive a restart because the sealing key is kept in the state directory.
type session struct {
	AccessKeyID     string    `json:"k"`
	SecretAccessKey string    `json:"s"`
	RoleARN         string    `json:"r"`
	RoleID          string    `json:"i"`
	SessionName     string    `json:"n"`
	Expiration      time.Time `json:"e"`
	Issued          time.Time `json:"t"`
	// Subject, Audience and Provider come from the web identity token; they
	// name the caller in the audit trail and feed the web-identity condition
	// keys that stay in the context of later calls.
	Subject  string `json:"sub,omitempty"`
	Audience string `json:"aud,omitempty"`
	Provider string `json:"p,omitempty"`
	// ProviderKeys are the spellings of the provider in condition keys.
	ProviderKeys []string `json:"pk,omitempty"`
	Policy       string   `json:"pol,omitempty"`
	PolicyARNs   []string `json:"pa,omitempty"`
	// SourceIdentity, once set, stays the same for the rest of the chain.
	SourceIdentity string `json:"si,omitempty"`
	// Tags are the session tags by key, in the case they were given;
	// Transitive lists the keys that pass on to every later hop.
	Tags       map[string]string `json:"tg,omitempty"`
	Transitive []string          `json:"tt,omitempty"`
	// Root, set on a session GetSessionToken issued, is the account whose
	// root the session acts as; such a session has no role.
	Root string `json:"root,omitempty"`
	// Chain lists the links before this session, the origin first: the web
	// identity or account root that started it and every role session that
	// assumed a role since. A session with a chain was issued by
	// AssumeRole to a role session: role chaining, capped at one hour.
	Chain []hop `json:"ch,omitempty"`
}

// hop is one earlier link of a role chain.
type hop struct {
	// Type is "WebIdentity", "PodIdentity", "AssumedRole" or "Root".
	Type string `json:"t"`
	// ARN is the OIDC provider's, the session's or the root's.
	ARN     string `json:"a"`
	Subject string `json:"s,omitempty"`
	// Pod is "namespace/name" of the pod a Pod Identity session is for.
	Pod string `json:"pod,omitempty"`
}

// links returns the chain a session passes on to a session it assumes:
// its own chain and itself.
func (s *session) links() []hop {
	out := make([]hop, 0, len(s.Chain)+2)
	out = append(out, s.Chain...)
	if len(s.Chain) == 0 && s.Provider != "" {
		out = append(out, hop{Type: "WebIdentity", ARN: s.Provider, Subject: s.Subject})
	}
	return append(out, hop{Type: "AssumedRole", ARN: s.assumedRoleARN()})
}

// roleName returns the role's name from its ARN (the path is not part of the
// assumed-role ARN).
func (s *session) roleName() string {
	for i := len(s.RoleARN) - 1; i >= 0; i-- {
		if s.RoleARN[i] == '/' {
			return s.RoleARN[i+1:]
		}
	}
	return s.RoleARN
}

func (s *session) account() string {
	acct, _, _ := arnAccountResource(s.RoleARN, "iam")
	return acct
}

// assumedRoleARN is the session's principal ARN.
func (s *session) assumedRoleARN() string {
	return "arn:aws:sts::" + s.account() + ":assumed-role/" + s.roleName() + "/" + s.SessionName
}

// sessionTokenPrefix makes tokens look like the ones STS issues today, so
// code that sniffs them (rare, but it exists) behaves the same.
const sessionTokenPrefix = "IQoJb3JpZ2luX2Vj"

// sealer seals and opens session tokens.
type sealer struct {
	aead atomic.Pointer[cipher.AEAD]
	path string
	// opened remembers recently opened tokens: a client sends the same
	// token on every call, and opening it (AES-GCM and JSON) costs more than
	// the rest of authorization. Bounded, so memory stays flat.
	opened atomic.Pointer[openedCache]
}

// openedCacheSize bounds the cache of opened session tokens; when full it
// is dropped whole, which is cheap and keeps the working set.
const openedCacheSize = 4096

type openedCache struct {
	mu sync.RWMutex
	m  map[string]*session
}

func (c *openedCache) get(token string) (*session, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s, ok := c.m[token]
	return s, ok
}

func (c *openedCache) put(token string, s *session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= openedCacheSize {
		c.m = make(map[string]*session, openedCacheSize)
	}
	c.m[token] = s
}

// newSealer loads the sealing key from path, creating it when missing; an
// empty path keeps a fresh key in memory.
func newSealer(path string) (*sealer, error) {
	s := &sealer{path: path}
	var key []byte
	if path != "" {
		b, err := os.ReadFile(path)
		switch {
		case err == nil && len(b) == 32:
			key = b
		case err == nil:
			return nil, fmt.Errorf("session key %s: want 32 bytes, found %d (remove it to invalidate every session and start afresh)", path, len(b))
		case !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("read session key: %w", err)
		}
	}
	if key == nil {
		return s, s.rotate()
	}
	return s, s.use(key)
}

func (s *sealer) use(key []byte) error {
	block, err := aes.NewCipher(key)
	if err != nil {
		return fmt.Errorf("create session cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return fmt.Errorf("create session cipher: %w", err)
	}
	s.aead.Store(&aead)
	s.opened.Store(&openedCache{m: make(map[string]*session)})
	return nil
}

// rotate replaces the sealing key, invalidating every issued session.
func (s *sealer) rotate() error {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("generate session key: %w", err)
	}
	if s.path != "" {
		if err := fsutil.WriteFileAtomic(s.path, key, 0o600); err != nil {
			return fmt.Errorf("write session key: %w", err)
		}
	}
	return s.use(key)
}

func (s *sealer) seal(sess *session) (string, error) {
	plain, err := json.Marshal(sess)
	if err != nil {
		return "", fmt.Errorf("marshal session: %w", err)
	}
	aead := *s.aead.Load()
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("generate nonce: %w", err)
	}
	// The access key id is authenticated data: a token only opens for the
	// key it was issued with.
	sealed := aead.Seal(nonce, nonce, plain, []byte(sess.AccessKeyID))
	return sessionTokenPrefix + base64.StdEncoding.EncodeToString(sealed), nil
}

var errBadSessionToken = errors.New("session token is not valid for this access key")

// open returns the session sealed in token for accessKeyID. The returned
// session is shared and must not be changed.
func (s *sealer) open(accessKeyID, token string) (*session, error) {
	cache := s.opened.Load()
	if sess, ok := cache.get(token); ok {
		if sess.AccessKeyID != accessKeyID {
			return nil, errBadSessionToken
		}
		return sess, nil
	}
	sess, err := s.unseal(accessKeyID, token)
	if err != nil {
		return nil, err
	}
	cache.put(token, sess)
	return sess, nil
}

func (s *sealer) unseal(accessKeyID, token string) (*session, error) {
	body, ok := cutPrefix(token, sessionTokenPrefix)
	if !ok {
		return nil, errBadSessionToken
	}
	sealed, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, errBadSessionToken
	}
	aead := *s.aead.Load()
	if len(sealed) < aead.NonceSize() {
		return nil, errBadSessionToken
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(accessKeyID))
	if err != nil {
		return nil, errBadSessionToken
	}
	var sess session
	if err := json.Unmarshal(plain, &sess); err != nil || sess.AccessKeyID != accessKeyID {
		return nil, errBadSessionToken
	}
	return &sess, nil
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || s[:len(prefix)] != prefix {
		return s, false
	}
	return s[len(prefix):], true
}

// Identifier alphabets: access key ids and unique ids are upper-case
// letters and digits, as AWS issues them.
const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// newID returns prefix followed by n random upper-case alphanumerics:
// ASIA + 16 for access key ids, AROA + 17 for role ids.
func newID(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return prefix + string(b)
}

// newAccessKeyID returns a temporary access key ID (ASIA + 16) that
// carries account the way AWS's do, so that GetAccessKeyInfo, and the
// offline decoders people use on keys they find, read the account back:
// the 16 characters are the base32 of 10 bytes whose first 48 bits hold
// the account ID shifted left by 7.
func newAccessKeyID(account string) string {
	acct, _ := strconv.ParseUint(account, 10, 64)
	var b [10]byte
	_, _ = rand.Read(b[:])
	v := acct<<7 | uint64(b[5]&0x7f) | uint64(b[0]&0x80)<<40
	for i := 0; i < 6; i++ {
		b[i] = byte(v >> (8 * (5 - i)))
	}
	return "ASIA" + base32.StdEncoding.EncodeToString(b[:])
}

// accessKeyAccount reads the account back from an access key ID AWS's way,
// or reports that the key has no account in it.
func accessKeyAccount(id string) (string, bool) {
	if len(id) != 20 || (!strings.HasPrefix(id, "ASIA") && !strings.HasPrefix(id, "AKIA")) {
		return "", false
	}
	b, err := base32.StdEncoding.DecodeString(id[4:])
	if err != nil || len(b) != 10 {
		return "", false
	}
	var v uint64
	for i := 0; i < 6; i++ {
		v = v<<8 | uint64(b[i])
	}
	return fmt.Sprintf("%012d", (v&0x7fffffffff80)>>7), true
}

// newSecret returns a 40-character secret access key.
func newSecret() string {
	b := make([]byte, 30)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}
