package local

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/irsa-local/irsa-local/internal/fsutil"
	"github.com/irsa-local/irsa-local/pkg/issuer"
)

// clientCertLifetime is long enough for any test session; client
// certificates are issued afresh at every start.
const clientCertLifetime = 365 * 24 * time.Hour

// Identities the cluster issues client certificates to. Both are in
// system:masters: the admin because it is the user's, the controller-manager
// because its controllers all run under its own identity.
const (
	adminUser             = "irsa-local-admin"
	controllerManagerUser = "system:kube-controller-manager"
	mastersGroup          = "system:masters"
)

// clientCert is a PEM certificate and key for a client of the apiserver.
type clientCert struct {
	certPEM, keyPEM []byte
}

// issueClientCert signs a client certificate whose subject kube-apiserver
// reads as user cn in groups orgs.
func issueClientCert(ca *issuer.CA, cn string, orgs ...string) (clientCert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return clientCert{}, fmt.Errorf("generate %s client key: %w", cn, err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return clientCert{}, fmt.Errorf("generate serial number: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: orgs},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(clientCertLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return clientCert{}, fmt.Errorf("create %s client certificate: %w", cn, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return clientCert{}, fmt.Errorf("marshal %s client key: %w", cn, err)
	}
	return clientCert{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// writeKubeconfig writes a kubeconfig for one identity, with the CA and the
// credentials embedded so the file can be copied anywhere. The write is
// atomic: a reader never sees half a file.
func writeKubeconfig(path, name, server string, caPEM []byte, id clientCert) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{ClientCertificateData: id.certPEM, ClientKeyData: id.keyPEM}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	cfg.CurrentContext = name
	b, err := clientcmd.Write(*cfg)
	if err != nil {
		return fmt.Errorf("encode kubeconfig: %w", err)
	}
	if err := fsutil.WriteFileAtomic(path, b, 0o600); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}

// restConfig is the admin's client configuration.
func restConfig(server string, caPEM []byte, id clientCert) *rest.Config {
	return &rest.Config{
		Host: server,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   caPEM,
			CertData: id.certPEM,
			KeyData:  id.keyPEM,
		},
		QPS:   50,
		Burst: 100,
	}
}
