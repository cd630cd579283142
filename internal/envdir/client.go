package envdir

import (
	"crypto/tls"
	"net/http"
	"time"

	"github.com/irsa-local/irsa-local/pkg/issuer"
)

// clientFor returns an HTTP client that trusts ca and nothing else.
// HTTPClient returns a client that trusts ca and nothing else.
func HTTPClient(ca *issuer.CA) *http.Client {
	return &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}},
	}
}
