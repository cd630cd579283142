package sigv4

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The virtual-hosted bucket domains the test endpoint answers for. No DNS
// is needed: Go clients dial through testEndpoint.dialer, Python ones
// through the sitecustomize hook in pythonDNSHook.
const (
	nipDomain       = "127.0.0.1.nip.io"
	localhostDomain = "localhost"
)

// testEndpoint is a real HTTP(S) server wrapping Verify, playing just
// enough of STS, IAM and S3 for the real clients to complete their calls.
type testEndpoint struct {
	t      testing.TB
	srv    *httptest.Server
	creds  Credentials
	caPEM  []byte
	caPool *x509.CertPool
	// URL is the endpoint's base URL; Port its port.
	URL  string
	Port string
	h2   bool

	mu      sync.Mutex
	objects map[string][]byte
	records []record
}

// record is what the endpoint saw of one request.
type record struct {
	method, requestURI, host string
	header                   http.Header
	body                     []byte // as received, before Verify
	verified                 *Request
	err                      error // from Verify, or from reading the body it wrapped
}

func newTestEndpoint(t testing.TB, creds Credentials, useTLS bool) *testEndpoint {
	return startTestEndpoint(t, creds, useTLS, false)
}

// newHTTP2Endpoint is a TLS endpoint that speaks HTTP/2, as a Go server
// does by default with TLS and as the SDK's client prefers.
func newHTTP2Endpoint(t testing.TB, creds Credentials) *testEndpoint {
	return startTestEndpoint(t, creds, true, true)
}

func startTestEndpoint(t testing.TB, creds Credentials, useTLS, h2 bool) *testEndpoint {
	t.Helper()
	e := &testEndpoint{t: t, creds: creds, objects: map[string][]byte{}, h2: h2}
	e.srv = httptest.NewUnstartedServer(http.HandlerFunc(e.serve))
	if useTLS {
		caPEM, pool, cert := testCertificates(t)
		e.caPEM, e.caPool = caPEM, pool
		e.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		e.srv.EnableHTTP2 = h2
		e.srv.StartTLS()
	} else {
		e.srv.Start()
	}
	t.Cleanup(e.srv.Close)
	_, e.Port, _ = net.SplitHostPort(e.srv.Listener.Addr().String())
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	e.URL = scheme + "://localhost:" + e.Port
	return e
}

// hostURL is the endpoint's URL under another host name.
func (e *testEndpoint) hostURL(host string) string {
	scheme, _, _ := strings.Cut(e.URL, "://")
	return scheme + "://" + host + ":" + e.Port
}

// httpClient dials the endpoint whatever host a client asks for, and trusts
// its CA.
func (e *testEndpoint) httpClient() *http.Client {
	addr := e.srv.Listener.Addr().String()
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
		ForceAttemptHTTP2: e.h2,
	}
	if e.caPool != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: e.caPool}
	}
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

func (e *testEndpoint) reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.records = nil
}

// lastRecords returns what the endpoint saw since the last reset.
func (e *testEndpoint) lastRecords() []record {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]record(nil), e.records...)
}

func (e *testEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	if e.h2 && r.ProtoMajor != 2 {
		http.Error(w, "this endpoint expects HTTP/2, got "+r.Proto, http.StatusHTTPVersionNotSupported)
		return
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	rec := record{method: r.Method, requestURI: r.RequestURI, host: r.Host, header: r.Header.Clone(), body: raw}

	scope, ok, _ := Parse(r)
	proto := ProtocolQuery
	switch {
	case scope.Service == "s3" || !ok && r.URL.Path != "/":
		proto = ProtocolS3
	case scope.Service == "eks":
		proto = ProtocolJSON
	}
	// The response is written only after the record is kept, so a client
	// that has its answer finds its request in the records.
	out := httptest.NewRecorder()
	defer func(real http.ResponseWriter) {
		e.add(rec)
		for k, v := range out.Header() {
			real.Header()[k] = v
		}
		real.WriteHeader(out.Code)
		real.Write(out.Body.Bytes())
	}(w)
	w = out

	v, err := Verify(r.Context(), r, e.creds, time.Now())
	rec.verified, rec.err = v, err
	if err != nil {
		writeError(w, err, proto)
		return
	}

	switch v.Service {
	case "s3":
		err = e.serveS3(w, r)
	case "sts", "iam":
		err = serveQuery(w, r, v)
	case "eks":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"path":%q}`, r.URL.Path)
	default:
		w.WriteHeader(http.StatusOK)
	}
	if err != nil {
		rec.err = err
		writeError(w, err, proto)
	}
}

func (e *testEndpoint) add(rec record) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.records = append(e.records, rec)
}

func writeError(w http.ResponseWriter, err error, proto Protocol) {
	we, ok := ToWire(err, proto)
	if !ok {
		we = WireError{"InternalError", http.StatusInternalServerError, err.Error()}
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", "test-request")
	w.WriteHeader(we.Status)
	if proto == ProtocolS3 {
		fmt.Fprintf(w, "<Error><Code>%s</Code><Message>%s</Message><RequestId>test-request</RequestId></Error>", we.Code, xmlEscape(we.Message))
		return
	}
	fmt.Fprintf(w, "<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>test-request</RequestId></ErrorResponse>", we.Code, xmlEscape(we.Message))
}

func xmlEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// bucketKey splits an S3 request into bucket and key, for both addressing
// styles.
func bucketKey(r *http.Request) (bucket, key string) {
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	for _, d := range []string{nipDomain, localhostDomain} {
		if b, ok := strings.CutSuffix(host, "."+d); ok {
			return b, strings.TrimPrefix(r.URL.Path, "/")
		}
	}
	bucket, key, _ = strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	return bucket, key
}

func (e *testEndpoint) serveS3(w http.ResponseWriter, r *http.Request) error {
	bucket, key := bucketKey(r)
	id := bucket + "/" + key
	switch {
	case r.Method == http.MethodPut && key != "":
		data, err := io.ReadAll(r.Body)
		if err != nil {
			return err
		}
		e.mu.Lock()
		e.objects[id] = data
		e.mu.Unlock()
		sum := md5.Sum(data)
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
		return nil
	case (r.Method == http.MethodGet || r.Method == http.MethodHead) && key != "":
		e.mu.Lock()
		data, ok := e.objects[id]
		e.mu.Unlock()
		if !ok {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>%s</Key></Error>", xmlEscape(key))
			return nil
		}
		sum := md5.Sum(data)
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
		w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Header().Set("Content-Type", "application/octet-stream")
		if cd := r.URL.Query().Get("response-content-disposition"); cd != "" {
			w.Header().Set("Content-Disposition", cd)
		}
		if r.Method == http.MethodGet {
			w.Write(data)
		}
		return nil
	case r.Method == http.MethodGet && key == "":
		prefix := r.URL.Query().Get("prefix")
		e.mu.Lock()
		var keys []string
		for k := range e.objects {
			if b, name, _ := strings.Cut(k, "/"); b == bucket && strings.HasPrefix(name, prefix) {
				keys = append(keys, name)
			}
		}
		e.mu.Unlock()
		sort.Strings(keys)
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprintf(w, "<ListBucketResult><Name>%s</Name><Prefix>%s</Prefix><KeyCount>%d</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>", xmlEscape(bucket), xmlEscape(prefix), len(keys))
		for _, k := range keys {
			fmt.Fprintf(w, "<Contents><Key>%s</Key><Size>%d</Size></Contents>", xmlEscape(k), len(e.objects[bucket+"/"+k]))
		}
		fmt.Fprint(w, "</ListBucketResult>")
		return nil
	}
	w.WriteHeader(http.StatusNotImplemented)
	return nil
}

func serveQuery(w http.ResponseWriter, r *http.Request, v *Request) error {
	// The handler parses the body Verify read and put back.
	if err := r.ParseForm(); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/xml")
	switch action := r.Form.Get("Action"); action {
	case "GetCallerIdentity":
		fmt.Fprintf(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/%s</Arn><UserId>%s</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>test-request</RequestId></ResponseMetadata></GetCallerIdentityResponse>`, v.AccessKeyID, v.AccessKeyID)
	case "ListRoles":
		fmt.Fprint(w, `<ListRolesResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListRolesResult><IsTruncated>false</IsTruncated><Roles><member><Path>/</Path><RoleName>s3-reader</RoleName><RoleId>AROAEXAMPLE</RoleId><Arn>arn:aws:iam::123456789012:role/s3-reader</Arn><CreateDate>2024-01-01T00:00:00Z</CreateDate></member></Roles></ListRolesResult><ResponseMetadata><RequestId>test-request</RequestId></ResponseMetadata></ListRolesResponse>`)
	default:
		return fmt.Errorf("unexpected action %q", action)
	}
	return nil
}

// replay rebuilds a recorded request for a direct Verify call.
func (rec record) replay() *http.Request {
	r := httptest.NewRequest(rec.method, rec.requestURI, bytes.NewReader(rec.body))
	r.RequestURI = rec.requestURI
	r.Host = rec.host
	r.Header = rec.header.Clone()
	r.ContentLength = int64(len(rec.body))
	return r
}

// testCertificates makes a CA and a serving certificate for every name the
// clients use, path-style and virtual-hosted.
func testCertificates(t testing.TB) (caPEM []byte, pool *x509.CertPool, cert tls.Certificate) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sigv4 test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		DNSNames:     []string{"localhost", "*.localhost", nipDomain, "*." + nipDomain},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(ca)
	caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	cert = tls.Certificate{Certificate: [][]byte{leafDER, caDER}, PrivateKey: leafKey}
	return caPEM, pool, cert
}

// writeCA writes the endpoint's CA for clients configured by file.
func (e *testEndpoint) writeCA(dir string) string {
	p := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(p, e.caPEM, 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// verifiedOnly returns the records' Verify results, failing the test on
// any request that did not verify.
func verifiedOnly(t testing.TB, recs []record) []*Request {
	t.Helper()
	var out []*Request
	for _, rec := range recs {
		if rec.err != nil {
			t.Errorf("%s %s was refused: %v", rec.method, rec.requestURI, rec.err)
			continue
		}
		out = append(out, rec.verified)
	}
	return out
}

// errorKinds returns the kinds of the records' failures.
func errorKinds(recs []record) []error {
	var out []error
	for _, rec := range recs {
		var e *Error
		if errors.As(rec.err, &e) {
			out = append(out, e.Kind)
		}
	}
	return out
}

// checkAddressing checks that every S3 request the endpoint saw named its
// bucket in the host (virtual) or in the path (path-style).
func checkAddressing(t testing.TB, recs []record, virtual bool) {
	t.Helper()
	for _, rec := range recs {
		if rec.verified == nil || rec.verified.Service != "s3" {
			continue
		}
		host, _, _ := net.SplitHostPort(rec.host)
		inHost := strings.HasSuffix(host, "."+nipDomain) || strings.HasSuffix(host, "."+localhostDomain)
		if inHost != virtual {
			t.Errorf("%s %s to host %s: bucket in host is %v, want %v", rec.method, rec.requestURI, rec.host, inHost, virtual)
		}
	}
}
