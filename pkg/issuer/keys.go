package issuer

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/irsa-local/irsa-local/internal/fsutil"
)

// File names inside a key directory. They are the two files kube-apiserver
// takes directly: SigningKeyFile for --service-account-signing-key-file and
// VerificationKeyFile for --service-account-key-file.
const (
	SigningKeyFile      = "sa.key"
	VerificationKeyFile = "sa.pub"
)

// keyBits is the RSA modulus size of generated signing keys; 2048 is what
// kubeadm and EKS use for service-account keys.
const keyBits = 2048

// KeyID returns the kid kube-apiserver puts in the header of the tokens it
// signs with pub: the unpadded base64url encoding of the SHA-256 digest of
// the DER-encoded PKIX public key. Publishing the same kid in the JWKS is
// what lets STS match an apiserver-signed token to its key.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("marshal public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// PublicKey is one verification key with its kid.
type PublicKey struct {
	ID  string
	Key *rsa.PublicKey
}

// KeySet is the signing key of an environment and every verification key it
// still publishes. Published[0] is always the signing key's public half;
// later entries are keys replaced by a rotation and not yet retired.
type KeySet struct {
	Signing   *rsa.PrivateKey
	SigningID string
	Published []PublicKey
}

// KeyError reports a key file that cannot be used. It names the file and
// what to do, because a silently regenerated key would break every token and
// IAM provider that trusts the old one.
type KeyError struct {
	Path string
	Err  error
	Hint string
	// startOver is set when starting the environment over, with new keys,
	// is a way out.
	startOver bool
}

// StartOver reports whether removing the environment, and with it its
// keys, is a way out of the error (a tool may offer its own command).
func (e *KeyError) StartOver() bool { return e.startOver }

// ErrSigningKey is returned when retiring the key that signs: rotate first,
// so that another key signs.
var ErrSigningKey = errors.New("it is the active signing key; rotate the keys first")

func (e *KeyError) Error() string {
	msg := fmt.Sprintf("key file %s: %v", e.Path, e.Err)
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

func (e *KeyError) Unwrap() error { return e.Err }

// LoadOrCreateKeys loads the key set kept in dir, creating a fresh one only
// when dir holds neither key file. Exactly one file present, a file that does
// not parse, or a file readable by others is an error, never a reason to
// regenerate.
func LoadOrCreateKeys(dir string) (*KeySet, error) {
	signPath := filepath.Join(dir, SigningKeyFile)
	pubPath := filepath.Join(dir, VerificationKeyFile)
	_, errSign := os.Stat(signPath)
	_, errPub := os.Stat(pubPath)
	if errors.Is(errSign, fs.ErrNotExist) && errors.Is(errPub, fs.ErrNotExist) {
		return createKeys(dir)
	}
	return LoadKeys(dir)
}

func createKeys(dir string) (*KeySet, error) {
	key, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	ks, err := newKeySet(key, nil)
	if err != nil {
		return nil, err
	}
	if err := ks.write(dir); err != nil {
		return nil, err
	}
	return ks, nil
}

func newKeySet(signing *rsa.PrivateKey, older []PublicKey) (*KeySet, error) {
	kid, err := KeyID(&signing.PublicKey)
	if err != nil {
		return nil, err
	}
	ks := &KeySet{Signing: signing, SigningID: kid}
	ks.Published = append(ks.Published, PublicKey{ID: kid, Key: &signing.PublicKey})
	for _, k := range older {
		if k.ID != kid {
			ks.Published = append(ks.Published, k)
		}
	}
	return ks, nil
}

// LoadKeys reads the key set kept in dir.
func LoadKeys(dir string) (*KeySet, error) {
	signPath := filepath.Join(dir, SigningKeyFile)
	pubPath := filepath.Join(dir, VerificationKeyFile)
	signPEM, err := readPrivateFile(signPath)
	if err != nil {
		return nil, err
	}
	pubPEM, err := readPrivateFile(pubPath)
	if err != nil {
		return nil, err
	}
	signing, err := parseSigningKey(signPEM)
	if err != nil {
		return nil, &KeyError{Path: signPath, Err: err, Hint: "restore it from a backup, or remove the state directory to start over", startOver: true}
	}
	pubs, err := parsePublicKeys(pubPEM)
	if err != nil {
		return nil, &KeyError{Path: pubPath, Err: err, Hint: "restore it from a backup, or remove the state directory to start over", startOver: true}
	}
	ks, err := newKeySet(signing, pubs)
	if err != nil {
		return nil, err
	}
	found := false
	for _, p := range pubs {
		if p.ID == ks.SigningID {
			found = true
		}
	}
	if !found {
		return nil, &KeyError{Path: pubPath, Err: errors.New("does not contain the public half of " + SigningKeyFile), Hint: "the two files are from different key sets; restore both from the same backup"}
	}
	return ks, nil
}

// readPrivateFile reads a key file, refusing one that group or others may
// read: kube-apiserver's signing key must stay private.
func readPrivateFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &KeyError{Path: path, Err: errors.New("missing while its partner file exists"), Hint: "restore it from a backup, or remove the state directory to start over", startOver: true}
		}
		return nil, &KeyError{Path: path, Err: err}
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, &KeyError{Path: path, Err: fmt.Errorf("has mode %04o; it must not be readable by group or others", perm), Hint: "run: chmod 600 " + path}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &KeyError{Path: path, Err: err}
	}
	return b, nil
}

func parseSigningKey(b []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse RSA private key: %w", err)
		}
		return k, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse PKCS#8 private key: %w", err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("private key is %T, want RSA", k)
		}
		return rk, nil
	default:
		return nil, fmt.Errorf("unexpected PEM block %q, want RSA PRIVATE KEY", block.Type)
	}
}

func parsePublicKeys(b []byte) ([]PublicKey, error) {
	var out []PublicKey
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("unexpected PEM block %q, want PUBLIC KEY", block.Type)
		}
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse public key %d: %w", len(out)+1, err)
		}
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("public key %d is %T, want RSA", len(out)+1, k)
		}
		kid, err := KeyID(rk)
		if err != nil {
			return nil, err
		}
		out = append(out, PublicKey{ID: kid, Key: rk})
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM block found")
	}
	return out, nil
}

// write stores the key set atomically: each file is written to a temporary
// name and renamed, the verification file first, so a crash never leaves a
// signing key whose public half is not published.
func (ks *KeySet) write(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create key directory: %w", err)
	}
	var pubPEM []byte
	for _, p := range ks.Published {
		der, err := x509.MarshalPKIXPublicKey(p.Key)
		if err != nil {
			return fmt.Errorf("marshal public key %s: %w", p.ID, err)
		}
		pubPEM = append(pubPEM, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})...)
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(dir, VerificationKeyFile), pubPEM, 0o600); err != nil {
		return fmt.Errorf("write verification keys: %w", err)
	}
	signPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(ks.Signing)})
	if err := fsutil.WriteFileAtomic(filepath.Join(dir, SigningKeyFile), signPEM, 0o600); err != nil {
		return fmt.Errorf("write signing key: %w", err)
	}
	return nil
}

// RotateKeys makes a new signing key the active one and keeps publishing the
// previous keys, so tokens they signed keep verifying until RetireKeys.
func RotateKeys(dir string) (*KeySet, error) {
	old, err := LoadKeys(dir)
	if err != nil {
		return nil, err
	}
	key, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	ks, err := newKeySet(key, old.Published)
	if err != nil {
		return nil, err
	}
	if err := ks.write(dir); err != nil {
		return nil, err
	}
	return ks, nil
}

// RetireKeys stops publishing the given kids, or every key but the signing
// key when none are given. Retiring the signing key itself is refused:
// rotate first.
func RetireKeys(dir string, kids ...string) (ks *KeySet, retired []string, err error) {
	cur, err := LoadKeys(dir)
	if err != nil {
		return nil, nil, err
	}
	drop := map[string]bool{}
	for _, kid := range kids {
		if kid == cur.SigningID {
			return nil, nil, fmt.Errorf("retire key %s: %w", kid, ErrSigningKey)
		}
		drop[kid] = true
	}
	for kid := range drop {
		known := false
		for _, p := range cur.Published {
			known = known || p.ID == kid
		}
		if !known {
			return nil, nil, fmt.Errorf("retire key %s: no published key has this kid", kid)
		}
	}
	next := &KeySet{Signing: cur.Signing, SigningID: cur.SigningID}
	for _, p := range cur.Published {
		if p.ID != cur.SigningID && (len(kids) == 0 || drop[p.ID]) {
			retired = append(retired, p.ID)
			continue
		}
		next.Published = append(next.Published, p)
	}
	if len(retired) == 0 {
		return cur, nil, nil
	}
	if err := next.write(dir); err != nil {
		return nil, nil, err
	}
	return next, retired, nil
}
