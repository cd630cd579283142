package stsmock

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/irsa-local/irsa-local/internal/awsquery"
	"github.com/irsa-local/irsa-local/internal/s3store"
	"github.com/irsa-local/irsa-local/internal/sigv4"
	"github.com/irsa-local/irsa-local/pkg/policy"
)

// S3 is gofakes3's protocol handling in front of irsa-local's own
// storage (internal/s3store), which keeps object keys opaque and writes
// atomically; an in-memory gofakes3 backend serves tests. irsa-local puts
// authentication and IAM authorization in front of it and answers the
// bucket-policy sub-resource itself, since authorization needs the
// policies, and the other bucket and object sub-resources (s3config.go),
// which gofakes3 would misroute.

// s3Store is the storage behind S3.
type s3Store struct {
	backend gofakes3.Backend
	handler http.Handler
}

func newS3Store(dir string, log *slog.Logger) (*s3Store, error) {
	var backend gofakes3.Backend
	if dir == "" {
		backend = s3mem.New()
	} else {
		st, err := s3store.Open(dir)
		if err != nil {
			return nil, err
		}
		if err := importLegacyS3(filepath.Join(filepath.Dir(dir), "s3"), st); err != nil {
			return nil, err
		}
		backend = st
	}
	backend = storedMetadata{backend}
	g := gofakes3.New(backend,
		// Signatures and their time window are checked in front of
		// gofakes3, against the real clock; it must not judge them again.
		gofakes3.WithTimeSkewLimit(0),
		gofakes3.WithoutVersioning(),
		gofakes3.WithLogger(storageLog{log}),
	)
	return &s3Store{backend: backend, handler: g.Server()}, nil
}

// storageLog passes gofakes3's errors, the causes of its InternalError
// answers, to the endpoint's log.
type storageLog struct{ log *slog.Logger }

func (l storageLog) Print(level gofakes3.LogLevel, v ...any) {
	if level == gofakes3.LogErr {
		l.log.Error("S3 storage failed", "err", awsquery.Truncate(fmt.Sprint(v...), maxReason))
	}
}

// storedMetadata keeps only the headers S3 stores with an object. gofakes3
// would store every X-Amz-* request header and send it back on each GET and
// HEAD, among them the uploader's X-Amz-Security-Token and the signing
// headers.
type storedMetadata struct{ gofakes3.Backend }

func (b storedMetadata) PutObject(bucket, key string, meta map[string]string, input io.Reader, size int64, conditions *gofakes3.PutConditions) (gofakes3.PutObjectResult, error) {
	return b.Backend.PutObject(bucket, key, objectMetadata(meta), input, size, conditions)
}

func (b storedMetadata) CopyObject(srcBucket, srcKey, dstBucket, dstKey string, meta map[string]string) (gofakes3.CopyObjectResult, error) {
	return b.Backend.CopyObject(srcBucket, srcKey, dstBucket, dstKey, objectMetadata(meta))
}

// objectMetadata returns the part of meta that S3 keeps: user metadata,
// the content headers and the object's system settings.
func objectMetadata(meta map[string]string) map[string]string {
	out := make(map[string]string, len(meta))
	for k, v := range meta {
		switch ck := http.CanonicalHeaderKey(k); {
		case strings.HasPrefix(ck, "X-Amz-Meta-"),
			ck == "Content-Type", ck == "Content-Disposition", ck == "Content-Encoding", ck == "Last-Modified",
			ck == "X-Amz-Storage-Class", ck == "X-Amz-Server-Side-Encryption", ck == "X-Amz-Website-Redirect-Location":
			out[ck] = v
		}
	}
	return out
}

// importLegacyS3 moves buckets kept by earlier versions, which stored each
// key as a file path under <old>/buckets, into st, then removes the old
// tree. Their stored metadata is dropped: it held request headers.
func importLegacyS3(old string, st *s3store.Store) error {
	root := filepath.Join(old, "buckets")
	dirs, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read earlier S3 storage: %w", err)
	}
	for _, d := range dirs {
		name := d.Name()
		if !d.IsDir() || gofakes3.ValidateBucketName(name) != nil {
			continue
		}
		if err := st.CreateBucket(name); err != nil && !gofakes3.HasErrorCode(err, gofakes3.ErrBucketAlreadyExists) {
			return fmt.Errorf("import bucket %s: %w", name, err)
		}
		dir := filepath.Join(root, name)
		err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
			if err != nil || !e.Type().IsRegular() {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			fi, err := f.Stat()
			if err != nil {
				return err
			}
			_, err = st.PutObject(name, filepath.ToSlash(rel), nil, f, fi.Size(), nil)
			return err
		})
		if err != nil {
			return fmt.Errorf("import bucket %s: %w", name, err)
		}
	}
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("remove earlier S3 storage: %w", err)
	}
	return nil
}

// S3's limits on keys and single uploads.
const (
	maxKeyLength  = 1024    // bytes of UTF-8
	maxObjectSize = 5 << 30 // one PUT (5 GiB)
)

// declaredSize is the size of the object a request uploads, as declared:
// the decoded length of an aws-chunked body, else Content-Length.
func declaredSize(r *http.Request) (int64, bool) {
	for _, h := range []string{"X-Amz-Decoded-Content-Length", "Content-Length"} {
		if v := r.Header.Get(h); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

func s3ResourceType(bucket, key string) string {
	switch {
	case bucket == "":
		return "SERVICE"
	case key == "":
		return "BUCKET"
	}
	return "OBJECT"
}

// validateBucketName applies S3's naming rules for new general purpose
// buckets: gofakes3's (length, characters, labels, no IP address) and the
// prefixes and suffixes S3 reserves.
func validateBucketName(name string) error {
	if err := gofakes3.ValidateBucketName(name); err != nil {
		return err
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return fmt.Errorf("bucket names must not start with %q", p)
		}
	}
	for _, sfx := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, sfx) {
			return fmt.Errorf("bucket names must not end with %q", sfx)
		}
	}
	return nil
}

// s3Request is an S3 call after addressing is resolved.
type s3Request struct {
	bucket, key string
	op          s3Op
}

// s3Address resolves virtual-hosted style (bucket.<base host>) and path
// style addressing. Bases are the endpoint's own names and S3's.
func (s *Server) s3Address(r *http.Request) (bucket, key string) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	for _, base := range s.s3Hosts {
		if b, ok := strings.CutSuffix(host, "."+base); ok && b != "" {
			return b, strings.TrimPrefix(r.URL.Path, "/")
		}
	}
	path := strings.TrimPrefix(r.URL.Path, "/")
	bucket, key, _ = strings.Cut(path, "/")
	return bucket, key
}

// defaultS3Hosts are the base names whose sub-domains address a bucket.
func defaultS3Hosts(region string) []string {
	return []string{"s3." + region + ".amazonaws.com", "s3.amazonaws.com", "s3.localhost", "localhost"}
}

func (s *Server) serveS3(w http.ResponseWriter, req *request, signed bool) {
	r := req.r
	bucket, key := s.s3Address(r)
	rec := s.s3Event(req, bucket, key)
	if bucket != "" {
		// The call is recorded for the account that owns the bucket.
		rec.RecipientAccountID = s.bucketOwner(bucket)
	}
	fail := func(code string, status int, msg string, extra ...string) {
		rec.fail(code, msg)
		s.record(rec)
		writeS3Error(w, r, req.id, code, status, msg, extra...)
	}
	// An upload S3 would refuse for its size is refused before a byte of
	// it is read.
	if size, ok := declaredSize(r); ok && size > maxObjectSize && key != "" && r.Method == http.MethodPut {
		fail("EntityTooLarge", http.StatusBadRequest, "Your proposed upload exceeds the maximum allowed size",
			"ProposedSize", strconv.FormatInt(size, 10), "MaxSizeAllowed", strconv.FormatInt(maxObjectSize, 10))
		return
	}
	body := &watchedBody{ReadCloser: r.Body}
	if r.Body != nil {
		r.Body = body
	}
	if signed {
		c, err := s.verify(r)
		if err != nil && body.err != nil {
			wire := bodyError(body.err)
			fail(wire.Code, wire.Status, wire.Message)
			return
		}
		if err != nil {
			wire, ok := sigv4.ToWire(err, sigv4.ProtocolS3)
			if !ok {
				wire = sigv4.WireError{Code: "InternalError", Status: 500, Message: "We encountered an internal error. Please try again."}
			}
			var extra []string
			if wire.Code == "InvalidAccessKeyId" {
				if sc, ok, _ := sigv4.Parse(r); ok {
					extra = []string{"AWSAccessKeyId", sc.AccessKeyID}
				}
			}
			fail(wire.Code, wire.Status, wire.Message, extra...)
			return
		}
		req.caller = c
		rec.identity(s, c)
	}
	op, ok := classifyS3(r.Method, r.URL.Query(), r.Header, bucket, key)
	switch {
	case ok:
	case op.Unsupported:
		fail("NotImplemented", http.StatusNotImplemented, notImplementedMessage)
		return
	case r.Method == http.MethodPost && key == "" && bucket != "" && len(r.URL.Query()) == 0:
		fail("InvalidArgument", http.StatusBadRequest, "Bucket POST must be of the enclosure-type multipart/form-data")
		return
	default:
		fail("MethodNotAllowed", http.StatusMethodNotAllowed, "The specified method is not allowed against this resource.",
			"Method", r.Method, "ResourceType", s3ResourceType(bucket, key))
		return
	}
	if len(key) > maxKeyLength {
		fail("KeyTooLongError", http.StatusBadRequest, "Your key is too long")
		return
	}
	if op.CopySource != "" {
		b, k, v, ok := parseCopySource(op.CopySource)
		if !ok {
			fail("InvalidArgument", http.StatusBadRequest, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey", "ArgumentName", "x-amz-copy-source")
			return
		}
		if len(k) > maxKeyLength {
			fail("KeyTooLongError", http.StatusBadRequest, "Your key is too long")
			return
		}
		op.CopySource = b + "/" + k
		r.Header.Set("X-Amz-Copy-Source", canonicalCopySource(b, k, v))
	}
	if op.Name == "CreateBucket" {
		if err := validateBucketName(bucket); err != nil {
			fail("InvalidBucketName", http.StatusBadRequest, "The specified bucket is not valid.", "BucketName", bucket)
			return
		}
	}
	rec.EventName = op.Name
	rec.ReadOnly = op.ReadOnly
	sr := &s3Request{bucket: bucket, key: key, op: op}
	if decision, reason := s.authorizeS3(req, sr, rec); !decision {
		rec.decide(false, reason)
		if op.Name == "HeadBucket" {
			s.bucketRegionHeader(w, bucket)
		}
		fail("AccessDenied", http.StatusForbidden, "Access Denied")
		return
	} else {
		rec.decide(true, reason)
	}
	if _, ok := r.URL.Query()["policy"]; ok && key == "" {
		s.serveBucketPolicy(w, req, sr, rec)
		return
	}
	if op.Name == "ListBuckets" {
		s.listBuckets(w, req, rec)
		return
	}
	if s.serveS3Config(w, req, sr, rec) {
		return
	}
	if op.Name == "HeadBucket" {
		s.bucketRegionHeader(w, bucket)
	}
	// gofakes3 reads path-style addresses and plain bodies: rewrite the
	// address, and say the (already decoded and verified) body is unsigned.
	r.URL.Path = "/" + bucket
	if key != "" {
		r.URL.Path += "/" + key
	}
	r.URL.RawPath = ""
	if strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") {
		r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	}
	// gofakes3 reads the length from the header; a chunked upload (as
	// botocore sends over HTTPS) has none, only the decoded length.
	if r.ContentLength >= 0 && r.Header.Get("Content-Length") == "" && r.Method != http.MethodGet && r.Method != http.MethodHead {
		r.Header.Set("Content-Length", strconv.FormatInt(r.ContentLength, 10))
	}
	rw := &statusWriter{ResponseWriter: w, status: http.StatusOK, hold5xx: true}
	s.s3.handler.ServeHTTP(rw, r)
	if rw.held {
		// Storage failed: when it was because the body broke off, arrived
		// too slowly or failed its signature, that is the client's error.
		if body.err != nil {
			wire := bodyError(body.err)
			fail(wire.Code, wire.Status, wire.Message)
			return
		}
		rw.flush()
	}
	if rw.status >= 300 {
		rec.fail(rw.errCode(), "")
	}
	if op.Name == "DeleteBucket" && rw.status < 300 {
		s.forgetBucket(bucket)
	}
	if op.Name == "CreateBucket" && rw.status < 300 && req.caller != nil {
		s.ownBucket(bucket, req.caller.callerAccount())
	}
	s.record(rec)
}

// s3Context adds the S3 condition keys of a request.
func (s *Server) s3Context(r *http.Request, sr *s3Request) policy.Context {
	ctx := policy.NewContext()
	ctx.Set("aws:SecureTransport", strconv.FormatBool(r.TLS != nil))
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		ctx.Set("aws:SourceIp", host)
	}
	if ua := r.UserAgent(); ua != "" {
		ctx.Set("aws:UserAgent", ua)
	}
	q := r.URL.Query()
	if sr.op.Action == "s3:ListBucket" {
		for _, k := range []string{"prefix", "delimiter", "max-keys"} {
			if q.Has(k) {
				ctx.Set("s3:"+k, q.Get(k))
			}
		}
	}
	for _, h := range []string{"x-amz-acl", "x-amz-server-side-encryption", "x-amz-content-sha256", "x-amz-copy-source", "x-amz-metadata-directive", "x-amz-storage-class"} {
		if v := r.Header.Get(h); v != "" {
			ctx.Set("s3:"+h, v)
		}
	}
	if q.Has("X-Amz-Signature") {
		ctx.Set("s3:authType", "REST-QUERY-STRING")
		ctx.Set("s3:signatureversion", "AWS4-HMAC-SHA256")
	} else if r.Header.Get("Authorization") != "" {
		ctx.Set("s3:authType", "REST-HEADER")
		ctx.Set("s3:signatureversion", "AWS4-HMAC-SHA256")
	}
	return ctx
}

// deletedObject is one object of a DeleteObjects request.
type deletedObject struct {
	Key       string `xml:"Key"`
	VersionID string `xml:"VersionId"`
}

// deleteObjectsKeys reads the objects of a DeleteObjects body, leaving the
// body readable for storage.
func deleteObjectsKeys(r *http.Request) ([]deletedObject, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 2<<20))
	if err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var del struct {
		Objects []deletedObject `xml:"Object"`
	}
	if err := xml.Unmarshal(body, &del); err != nil {
		return nil, err
	}
	return del.Objects, nil
}

// ---- bucket policies

// bucketPolicy returns the bucket's policy as a resource policy, or nil.
func (s *Server) bucketPolicy(bucket string) []policy.NamedDocument {
	s.base.mu.RLock()
	defer s.base.mu.RUnlock()
	d, ok := s.base.bucketDocs[bucket]
	if !ok {
		return nil
	}
	return []policy.NamedDocument{{Name: "bucket policy of " + bucket, Doc: d}}
}

func (s *Server) deleteBucketPolicy(bucket string) {
	s.base.mu.Lock()
	defer s.base.mu.Unlock()
	if _, ok := s.base.BucketPolicies[bucket]; ok {
		delete(s.base.BucketPolicies, bucket)
		delete(s.base.bucketDocs, bucket)
		_ = s.base.save()
	}
}

func (s *Server) serveBucketPolicy(w http.ResponseWriter, req *request, sr *s3Request, rec *eventRecord) {
	r := req.r
	fail := func(code string, status int, msg string, extra ...string) {
		rec.fail(code, msg)
		s.record(rec)
		writeS3Error(w, r, req.id, code, status, msg, extra...)
	}
	exists, err := s.s3.backend.BucketExists(sr.bucket)
	if err != nil {
		fail("InternalError", 500, "We encountered an internal error. Please try again.")
		return
	}
	if !exists {
		fail("NoSuchBucket", http.StatusNotFound, "The specified bucket does not exist", "BucketName", sr.bucket)
		return
	}
	switch r.Method {
	case http.MethodGet:
		s.base.mu.RLock()
		text, ok := s.base.BucketPolicies[sr.bucket]
		s.base.mu.RUnlock()
		if !ok {
			fail("NoSuchBucketPolicy", http.StatusNotFound, "The bucket policy does not exist", "BucketName", sr.bucket)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("x-amz-request-id", req.id)
		_, _ = io.WriteString(w, text)
	case http.MethodPut:
		body, err := io.ReadAll(io.LimitReader(r.Body, 20<<10+1))
		if err != nil {
			fail("IncompleteBody", http.StatusBadRequest, "You did not provide the number of bytes specified by the Content-Length HTTP header.")
			return
		}
		if len(body) > 20<<10 {
			fail("PolicyTooLarge", http.StatusBadRequest, "Policy exceeds the maximum allowed document size.")
			return
		}
		d, err := policy.Parse(string(body), policy.Resource)
		if err != nil {
			var me *policy.MalformedError
			msg := err.Error()
			if errors.As(err, &me) {
				msg = me.Message
			}
			fail("MalformedPolicy", http.StatusBadRequest, msg)
			return
		}
		if bad := foreignResource(d, sr.bucket); bad != "" {
			fail("MalformedPolicy", http.StatusBadRequest, "Policy has invalid resource")
			return
		}
		s.base.mu.Lock()
		s.base.BucketPolicies[sr.bucket] = string(body)
		s.base.bucketDocs[sr.bucket] = d
		err = s.base.save()
		s.base.mu.Unlock()
		if err != nil {
			fail("InternalError", 500, "We encountered an internal error. Please try again.")
			return
		}
		w.Header().Set("x-amz-request-id", req.id)
		w.WriteHeader(http.StatusNoContent)
	case http.MethodDelete:
		s.deleteBucketPolicy(sr.bucket)
		w.Header().Set("x-amz-request-id", req.id)
		w.WriteHeader(http.StatusNoContent)
	}
	s.record(rec)
}

// foreignResource returns a Resource of d outside bucket, which S3 refuses.
func foreignResource(d *policy.Document, bucket string) string {
	base := "arn:aws:s3:::" + bucket
	for _, st := range d.Statements() {
		for _, res := range st.Resource {
			if res != base && !strings.HasPrefix(res, base+"/") && res != "*" {
				return res
			}
		}
	}
	return ""
}

// watchedBody remembers the first error reading the request body gave
// (other than its end).
type watchedBody struct {
	io.ReadCloser
	err error
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && b.err == nil {
		b.err = err
	}
	return n, err
}

// bodyError is S3's answer to a body that could not be read whole.
func bodyError(err error) sigv4.WireError {
	if errors.Is(err, errBodyTooSlow) {
		return sigv4.WireError{Code: "RequestTimeout", Status: http.StatusBadRequest,
			Message: "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed."}
	}
	if wire, ok := sigv4.ToWire(err, sigv4.ProtocolS3); ok {
		return wire
	}
	return sigv4.WireError{Code: "IncompleteBody", Status: http.StatusBadRequest,
		Message: "You did not provide the number of bytes specified by the Content-Length HTTP header."}
}

// ---- wire

type s3ErrorXML struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Extra     []xmlKV  `xml:",any"`
	RequestID string   `xml:"RequestId"`
	HostID    string   `xml:"HostId"`
}

type xmlKV struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

// writeS3Error writes S3's XML error; extra are element name/value pairs
// (BucketName, AWSAccessKeyId) placed after the message. HEAD answers carry
// no body, as S3's do.
func writeS3Error(w http.ResponseWriter, r *http.Request, requestID, code string, status int, msg string, extra ...string) {
	e := s3ErrorXML{Code: code, Message: msg, RequestID: requestID, HostID: hostID(requestID)}
	for i := 0; i+1 < len(extra); i += 2 {
		e.Extra = append(e.Extra, xmlKV{XMLName: xml.Name{Local: extra[i]}, Value: extra[i+1]})
	}
	h := w.Header()
	h.Set("x-amz-request-id", requestID)
	h.Set("x-amz-id-2", e.HostID)
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	body, _ := xml.Marshal(e)
	body = append([]byte(xml.Header), body...)
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func hostID(requestID string) string {
	return strings.ReplaceAll(requestID, "-", "") + "irsalocal"
}

// statusWriter remembers the status and, for errors, the S3 error code.
// With hold5xx it holds back a 5xx answer (held) until flush, so the caller
// can answer with the error that caused it instead.
type statusWriter struct {
	http.ResponseWriter
	status  int
	wrote   bool
	body    []byte
	hold5xx bool
	held    bool
}

func (w *statusWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.status, w.wrote = code, true
	if w.hold5xx && code >= 500 {
		w.held = true
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.held {
		w.body = append(w.body, b...)
		return len(b), nil
	}
	if w.status >= 300 && len(w.body) < 4096 {
		w.body = append(w.body, b...)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (the gateway's
// proxy flushes through it).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// flush writes a held answer.
func (w *statusWriter) flush() {
	w.ResponseWriter.WriteHeader(w.status)
	_, _ = w.ResponseWriter.Write(w.body)
}

func (w *statusWriter) errCode() string {
	var e struct {
		Code string `xml:"Code"`
	}
	if xml.Unmarshal(w.body, &e) == nil && e.Code != "" {
		return e.Code
	}
	return http.StatusText(w.status)
}

// storageDir is where S3 objects are kept under a state directory.
func storageDir(stateDir string) string { return filepath.Join(stateDir, "s3store") }
