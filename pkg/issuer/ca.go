package issuer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // IAM thumbprints are SHA-1 by definition.
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/irsa-local/irsa-local/internal/fsutil"
)

// File names of the environment CA inside its directory. CACertFile is the
// file clients trust (curl --cacert, AWS_CA_BUNDLE, SSL_CERT_FILE).
const (
	CACertFile = "ca.crt"
	CAKeyFile  = "ca.key"
)

const (
	caLifetime   = 10 * 365 * 24 * time.Hour
	leafLifetime = 365 * 24 * time.Hour
	// leafRenewBefore makes Leaf issue a fresh certificate well before the
	// old one expires, so a long-lived environment never serves an expired one.
	leafRenewBefore = 30 * 24 * time.Hour
)

// CA is the certificate authority of one environment. Every HTTPS server of
// the environment (issuer, AWS endpoint, webhook) presents a leaf it signed,
// followed by the CA certificate itself.
type CA struct {
	Cert    *x509.Certificate
	Key     *ecdsa.PrivateKey
	CertPEM []byte
	// CertFile is where the CA certificate is kept, for clients to trust.
	CertFile string
}

// LoadOrCreateCA loads the CA kept in dir, creating it when neither file
// exists. As with signing keys, a damaged CA is reported, not replaced:
// clients and IAM thumbprints trust the old one.
func LoadOrCreateCA(dir, commonName string) (*CA, error) {
	certPath := filepath.Join(dir, CACertFile)
	keyPath := filepath.Join(dir, CAKeyFile)
	_, errCert := os.Stat(certPath)
	_, errKey := os.Stat(keyPath)
	if errors.Is(errCert, fs.ErrNotExist) && errors.Is(errKey, fs.ErrNotExist) {
		return createCA(dir, commonName)
	}
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, &KeyError{Path: certPath, Err: err, Hint: "restore it from a backup, or remove the state directory to start over", startOver: true}
	}
	keyPEM, err := readPrivateFile(keyPath)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, &KeyError{Path: certPath, Err: errors.New("no CERTIFICATE PEM block found"), Hint: "restore it from a backup, or remove the state directory to start over", startOver: true}
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, &KeyError{Path: certPath, Err: err}
	}
	kblock, _ := pem.Decode(keyPEM)
	if kblock == nil || kblock.Type != "EC PRIVATE KEY" {
		return nil, &KeyError{Path: keyPath, Err: errors.New("no EC PRIVATE KEY PEM block found"), Hint: "restore it from a backup, or remove the state directory to start over", startOver: true}
	}
	key, err := x509.ParseECPrivateKey(kblock.Bytes)
	if err != nil {
		return nil, &KeyError{Path: keyPath, Err: err}
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, &KeyError{Path: keyPath, Err: errors.New("does not match " + certPath), Hint: "restore both files from the same backup"}
	}
	return &CA{Cert: cert, Key: key, CertPEM: certPEM, CertFile: certPath}, nil
}

func createCA(dir, commonName string) (*CA, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create CA directory: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"irsa-local"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal CA key: %w", err)
	}
	keyPath := filepath.Join(dir, CAKeyFile)
	certPath := filepath.Join(dir, CACertFile)
	if err := fsutil.WriteFileAtomic(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, fmt.Errorf("write CA key: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := fsutil.WriteFileAtomic(certPath, certPEM, 0o644); err != nil {
		return nil, fmt.Errorf("write CA certificate: %w", err)
	}
	return &CA{Cert: cert, Key: key, CertPEM: certPEM, CertFile: certPath}, nil
}

// Thumbprint is the lower-case hex SHA-1 of the CA certificate: the value
// eksctl and Terraform's tls_certificate compute from the last certificate a
// server presents, and IAM keeps in an OIDC provider's ThumbprintList.
func (ca *CA) Thumbprint() string { return Thumbprint(ca.Cert.Raw) }

// Thumbprint is the lower-case hex SHA-1 of a DER certificate, as IAM
// records it in an OIDC provider's ThumbprintList.
func Thumbprint(der []byte) string {
	sum := sha1.Sum(der) //nolint:gosec // see import
	return hex.EncodeToString(sum[:])
}

// Pool returns a certificate pool holding only this CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Leaf returns a serving certificate for hosts (DNS names or IP addresses),
// kept as certFile/keyFile in dir and reissued when missing, unreadable,
// close to expiry, not signed by this CA, or not covering every host. The
// returned chain is leaf then CA, so clients that take the thumbprint of the
// last certificate presented see the CA.
func (ca *CA) Leaf(dir, name string, hosts []string) (tls.Certificate, error) {
	certPath := filepath.Join(dir, name+".crt")
	keyPath := filepath.Join(dir, name+".key")
	if c, ok := ca.loadLeaf(certPath, keyPath, hosts); ok {
		return c, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generate %s key: %w", name, err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: name, Organization: []string{"irsa-local"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(leafLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("create %s certificate: %w", name, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("marshal %s key: %w", name, err)
	}
	chainPEM := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), ca.CertPEM...)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	if err := fsutil.WriteFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, fmt.Errorf("write %s key: %w", name, err)
	}
	if err := fsutil.WriteFileAtomic(certPath, chainPEM, 0o644); err != nil {
		return tls.Certificate{}, fmt.Errorf("write %s certificate: %w", name, err)
	}
	c, err := tls.X509KeyPair(chainPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("load %s key pair: %w", name, err)
	}
	return c, nil
}

func (ca *CA) loadLeaf(certPath, keyPath string, hosts []string) (tls.Certificate, bool) {
	c, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil || len(c.Certificate) != 2 {
		return tls.Certificate{}, false
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil || time.Until(leaf.NotAfter) < leafRenewBefore {
		return tls.Certificate{}, false
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool()}); err != nil {
		return tls.Certificate{}, false
	}
	for _, h := range hosts {
		if leaf.VerifyHostname(h) != nil {
			return tls.Certificate{}, false
		}
	}
	if !slices.Equal(c.Certificate[1], ca.Cert.Raw) {
		return tls.Certificate{}, false
	}
	c.Leaf = leaf
	return c, true
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		// crypto/rand does not fail on supported platforms.
		panic(fmt.Sprintf("read random serial: %v", err))
	}
	return n
}
