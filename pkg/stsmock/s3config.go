package stsmock

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/johannesboyne/gofakes3"
)

// Bucket and object sub-resources are answered here, not by gofakes3: it
// ignores the sub-resource parameters it does not know, so it would answer
// GET ?acl with a listing, store a PUT ?tagging body as the object and take
// DELETE ?cors for deleting the bucket. Each answer is what S3 gives a
// bucket created today (ACLs disabled, SSE-S3 by default, nothing else
// configured); configurations irsa-local cannot store are refused with
// NotImplemented rather than accepted and forgotten.

const s3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

// s3Call is one sub-resource request after authorization.
type s3Call struct {
	s   *Server
	w   http.ResponseWriter
	req *request
	sr  *s3Request
	rec *eventRecord
}

func (c *s3Call) fail(code string, status int, msg string, extra ...string) {
	c.rec.fail(code, msg)
	writeS3Error(c.w, c.req.r, c.req.id, code, status, msg, extra...)
}

// notImplementedMessage is S3's message for a request it recognises but
// does not support; irsa-local gives it for what its storage cannot do.
const notImplementedMessage = "A header you provided implies functionality that is not implemented"

func (c *s3Call) notImplemented() {
	c.fail("NotImplemented", http.StatusNotImplemented, notImplementedMessage)
}

// notConfigured is S3's answer for a configuration the bucket does not have.
func (c *s3Call) notConfigured(code, msg string) {
	c.fail(code, http.StatusNotFound, msg, "BucketName", c.sr.bucket)
}

func (c *s3Call) xml(v any) {
	body, err := xml.Marshal(v)
	if err != nil {
		c.fail("InternalError", http.StatusInternalServerError, "We encountered an internal error. Please try again.")
		return
	}
	body = append([]byte(xml.Header), body...)
	h := c.w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("x-amz-request-id", c.req.id)
	h.Set("x-amz-id-2", hostID(c.req.id))
	c.w.WriteHeader(http.StatusOK)
	if c.req.r.Method != http.MethodHead {
		_, _ = c.w.Write(body)
	}
}

func (c *s3Call) noContent() {
	c.w.Header().Set("x-amz-request-id", c.req.id)
	c.w.Header().Set("x-amz-id-2", hostID(c.req.id))
	c.w.WriteHeader(http.StatusNoContent)
}

// s3ConfigOps are the operations answered here, by S3 API name.
var s3ConfigOps = map[string]func(c *s3Call){
	"GetBucketLocation":                  (*s3Call).getLocation,
	"GetBucketAcl":                       (*s3Call).getACL,
	"PutBucketAcl":                       (*s3Call).putACL,
	"ListObjectVersions":                 (*s3Call).listVersions,
	"GetBucketTagging":                   (*s3Call).getBucketTagging,
	"PutBucketTagging":                   (*s3Call).putBucketTagging,
	"DeleteBucketTagging":                (*s3Call).deleteBucketTagging,
	"GetBucketEncryption":                (*s3Call).getEncryption,
	"GetBucketLogging":                   emptyConfig("BucketLoggingStatus"),
	"GetBucketAccelerateConfiguration":   emptyConfig("AccelerateConfiguration"),
	"GetBucketNotificationConfiguration": emptyConfig("NotificationConfiguration"),
	"GetBucketRequestPayment":            (*s3Call).getRequestPayment,
	"GetBucketOwnershipControls":         (*s3Call).getOwnershipControls,
	"GetBucketCors":                      missing("NoSuchCORSConfiguration", "The CORS configuration does not exist"),
	"GetBucketWebsite":                   missing("NoSuchWebsiteConfiguration", "The specified bucket does not have a website configuration"),
	"GetBucketLifecycleConfiguration":    missing("NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist"),
	"GetBucketReplication":               missing("ReplicationConfigurationNotFoundError", "The replication configuration was not found"),
	"GetObjectLockConfiguration":         missing("ObjectLockConfigurationNotFoundError", "Object Lock configuration does not exist for this bucket"),
	"GetPublicAccessBlock":               missing("NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found"),
	// Deleting a configuration the bucket cannot have leaves it as it is,
	// which is what S3 answers 204 for.
	"DeleteBucketCors":                   (*s3Call).deleteNothing,
	"DeleteBucketWebsite":                (*s3Call).deleteNothing,
	"DeleteBucketLifecycle":              (*s3Call).deleteNothing,
	"DeleteBucketReplication":            (*s3Call).deleteNothing,
	"DeleteBucketEncryption":             (*s3Call).deleteNothing,
	"DeletePublicAccessBlock":            (*s3Call).deleteNothing,
	"PutBucketCors":                      (*s3Call).refuse,
	"PutBucketWebsite":                   (*s3Call).refuse,
	"PutBucketEncryption":                (*s3Call).refuse,
	"PutBucketLifecycleConfiguration":    (*s3Call).refuse,
	"PutBucketLogging":                   (*s3Call).refuse,
	"PutBucketReplication":               (*s3Call).refuse,
	"PutObjectLockConfiguration":         (*s3Call).refuse,
	"PutBucketRequestPayment":            (*s3Call).refuse,
	"PutBucketAccelerateConfiguration":   (*s3Call).refuse,
	"PutBucketOwnershipControls":         (*s3Call).refuse,
	"DeleteBucketOwnershipControls":      (*s3Call).refuse,
	"PutPublicAccessBlock":               (*s3Call).refuse,
	"PutBucketNotificationConfiguration": (*s3Call).refuse,
	"GetBucketPolicyStatus":              (*s3Call).refuse,

	"GetObjectAcl":        (*s3Call).getObjectACL,
	"PutObjectAcl":        (*s3Call).putObjectACL,
	"GetObjectTagging":    (*s3Call).getObjectTagging,
	"PutObjectTagging":    (*s3Call).refuse,
	"DeleteObjectTagging": (*s3Call).deleteObjectTagging,
	"GetObjectAttributes": (*s3Call).refuse,
	"GetObjectRetention":  (*s3Call).noObjectLock,
	"PutObjectRetention":  (*s3Call).noObjectLock,
	"GetObjectLegalHold":  (*s3Call).noObjectLock,
	"PutObjectLegalHold":  (*s3Call).noObjectLock,
}

// serveS3Config answers sr if it is a sub-resource operation served here,
// and reports whether it was.
func (s *Server) serveS3Config(w http.ResponseWriter, req *request, sr *s3Request, rec *eventRecord) bool {
	op, ok := s3ConfigOps[sr.op.Name]
	if !ok {
		return false
	}
	c := &s3Call{s: s, w: w, req: req, sr: sr, rec: rec}
	if c.bucketExists() && (sr.key == "" || c.objectExists()) {
		op(c)
	}
	s.record(rec)
	return true
}

func (c *s3Call) bucketExists() bool {
	exists, err := c.s.s3.backend.BucketExists(c.sr.bucket)
	if err != nil {
		c.fail("InternalError", http.StatusInternalServerError, "We encountered an internal error. Please try again.")
		return false
	}
	if !exists {
		c.fail("NoSuchBucket", http.StatusNotFound, "The specified bucket does not exist", "BucketName", c.sr.bucket)
	}
	return exists
}

func (c *s3Call) objectExists() bool {
	obj, err := c.s.s3.backend.HeadObject(c.sr.bucket, c.sr.key)
	if err == nil {
		if obj.Contents != nil {
			_ = obj.Contents.Close()
		}
		return true
	}
	if gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchKey) {
		c.fail("NoSuchKey", http.StatusNotFound, "The specified key does not exist.", "Key", c.sr.key)
	} else {
		c.fail("InternalError", http.StatusInternalServerError, "We encountered an internal error. Please try again.")
	}
	return false
}

func (c *s3Call) refuse() { c.notImplemented() }

func (c *s3Call) deleteNothing() { c.noContent() }

func missing(code, msg string) func(*s3Call) {
	return func(c *s3Call) { c.notConfigured(code, msg) }
}

// emptyConfig answers with an empty configuration element, as S3 does for
// a bucket that never had one.
func emptyConfig(name string) func(*s3Call) {
	return func(c *s3Call) {
		c.xml(struct {
			XMLName xml.Name
		}{xml.Name{Space: s3Namespace, Local: name}})
	}
}

func (c *s3Call) noObjectLock() {
	c.fail("InvalidRequest", http.StatusBadRequest, "Bucket is missing Object Lock Configuration")
}

// ---- location

func (c *s3Call) getLocation() {
	// us-east-1 is written as an empty constraint.
	region := c.s.region
	if region == "us-east-1" {
		region = ""
	}
	c.xml(struct {
		XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ LocationConstraint"`
		Region  string   `xml:",chardata"`
	}{Region: region})
}

// ---- ACLs: disabled, as on every bucket created since April 2023
// (object ownership BucketOwnerEnforced). The owner has full control; only
// an ACL saying exactly that may be put.

// canonicalUserIDOf is an account's S3 canonical user ID: 64 hex digits,
// stable for the account.
func canonicalUserIDOf(account string) string {
	sum := sha256.Sum256([]byte("irsa-local canonical user " + account))
	return hex.EncodeToString(sum[:])
}

// bucketOwnerID is the canonical user ID of the account that owns the
// call's bucket, which ACLs and listings name as the owner.
func (c *s3Call) bucketOwnerID() string { return canonicalUserIDOf(c.s.bucketOwner(c.sr.bucket)) }

type s3Owner struct {
	ID string `xml:"ID"`
}

type s3Grantee struct {
	XMLNSXsi string `xml:"xmlns:xsi,attr,omitempty"`
	Type     string `xml:"xsi:type,attr,omitempty"`
	ID       string `xml:"ID,omitempty"`
	URI      string `xml:"URI,omitempty"`
	Email    string `xml:"EmailAddress,omitempty"`
}

type s3Grant struct {
	Grantee    s3Grantee `xml:"Grantee"`
	Permission string    `xml:"Permission"`
}

type accessControlPolicy struct {
	XMLName xml.Name  `xml:"http://s3.amazonaws.com/doc/2006-03-01/ AccessControlPolicy"`
	Owner   s3Owner   `xml:"Owner"`
	Grants  []s3Grant `xml:"AccessControlList>Grant"`
}

func (c *s3Call) ownerACL() accessControlPolicy {
	id := c.bucketOwnerID()
	return accessControlPolicy{
		Owner: s3Owner{ID: id},
		Grants: []s3Grant{{
			Grantee:    s3Grantee{XMLNSXsi: "http://www.w3.org/2001/XMLSchema-instance", Type: "CanonicalUser", ID: id},
			Permission: "FULL_CONTROL",
		}},
	}
}

func (c *s3Call) getACL()       { c.xml(c.ownerACL()) }
func (c *s3Call) getObjectACL() { c.xml(c.ownerACL()) }

func (c *s3Call) putACL()       { c.putOwnerOnlyACL("private") }
func (c *s3Call) putObjectACL() { c.putOwnerOnlyACL("private", "bucket-owner-full-control") }

// putOwnerOnlyACL accepts an ACL only if it grants the owner full control
// and nobody anything: a canned ACL among allowed, an x-amz-grant-full-control
// header naming the owner, or such an AccessControlPolicy body.
func (c *s3Call) putOwnerOnlyACL(allowed ...string) {
	r := c.req.r
	owner := c.bucketOwnerID()
	refuse := func() {
		c.fail("AccessControlListNotSupported", http.StatusBadRequest, "The bucket does not allow ACLs")
	}
	if canned := r.Header.Get("X-Amz-Acl"); canned != "" {
		if !contains(allowed, canned) {
			refuse()
			return
		}
		c.okEmpty()
		return
	}
	var grantHeaders []string
	for name := range r.Header {
		if strings.HasPrefix(strings.ToLower(name), "x-amz-grant-") {
			grantHeaders = append(grantHeaders, name)
		}
	}
	if len(grantHeaders) > 0 {
		if len(grantHeaders) != 1 || !strings.EqualFold(grantHeaders[0], "X-Amz-Grant-Full-Control") || r.Header.Get("X-Amz-Grant-Full-Control") != `id="`+owner+`"` {
			refuse()
			return
		}
		c.okEmpty()
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	var acl accessControlPolicy
	if err != nil || len(body) == 0 || xml.Unmarshal(body, &acl) != nil {
		c.fail("MalformedACLError", http.StatusBadRequest, "The XML you provided was not well-formed or did not validate against our published schema")
		return
	}
	if len(acl.Grants) == 0 {
		refuse()
		return
	}
	for _, g := range acl.Grants {
		if g.Grantee.ID != owner || g.Permission != "FULL_CONTROL" {
			refuse()
			return
		}
	}
	c.okEmpty()
}

func (c *s3Call) okEmpty() {
	c.w.Header().Set("x-amz-request-id", c.req.id)
	c.w.Header().Set("x-amz-id-2", hostID(c.req.id))
	c.w.WriteHeader(http.StatusOK)
}

// ---- default configurations

func (c *s3Call) getEncryption() {
	// Every bucket encrypts with SSE-S3 unless told otherwise (since
	// January 2023), so there is always a configuration to read.
	type byDefault struct {
		SSEAlgorithm string `xml:"SSEAlgorithm"`
	}
	type rule struct {
		Default          byDefault `xml:"ApplyServerSideEncryptionByDefault"`
		BucketKeyEnabled bool      `xml:"BucketKeyEnabled"`
	}
	c.xml(struct {
		XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ServerSideEncryptionConfiguration"`
		Rule    rule     `xml:"Rule"`
	}{Rule: rule{Default: byDefault{SSEAlgorithm: "AES256"}}})
}

func (c *s3Call) getRequestPayment() {
	c.xml(struct {
		XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ RequestPaymentConfiguration"`
		Payer   string   `xml:"Payer"`
	}{Payer: "BucketOwner"})
}

func (c *s3Call) getOwnershipControls() {
	type rule struct {
		ObjectOwnership string `xml:"ObjectOwnership"`
	}
	c.xml(struct {
		XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ OwnershipControls"`
		Rule    rule     `xml:"Rule"`
	}{Rule: rule{ObjectOwnership: "BucketOwnerEnforced"}})
}

// ---- tagging

type s3Tagging struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ Tagging"`
	Tags    []tag    `xml:"TagSet>Tag"`
}

// maxBucketTags is S3's limit of tags per bucket.
const maxBucketTags = 50

func (c *s3Call) getBucketTagging() {
	c.s.base.mu.RLock()
	tags := c.s.base.BucketTags[c.sr.bucket]
	c.s.base.mu.RUnlock()
	if len(tags) == 0 {
		c.notConfigured("NoSuchTagSet", "The TagSet does not exist")
		return
	}
	c.xml(s3Tagging{Tags: tags})
}

func (c *s3Call) putBucketTagging() {
	body, err := io.ReadAll(io.LimitReader(c.req.r.Body, 64<<10))
	var in struct {
		Tags []tag `xml:"TagSet>Tag"`
	}
	if err != nil || xml.Unmarshal(body, &in) != nil {
		c.fail("MalformedXML", http.StatusBadRequest, "The XML you provided was not well-formed or did not validate against our published schema")
		return
	}
	if msg := validateS3Tags(in.Tags, maxBucketTags); msg != "" {
		c.fail("InvalidTag", http.StatusBadRequest, msg)
		return
	}
	c.s.base.mu.Lock()
	c.s.base.BucketTags[c.sr.bucket] = in.Tags
	err = c.s.base.save()
	c.s.base.mu.Unlock()
	if err != nil {
		c.fail("InternalError", http.StatusInternalServerError, "We encountered an internal error. Please try again.")
		return
	}
	c.noContent()
}

// validateS3Tags checks a tag set as S3 does and returns its message for
// the first problem, or "".
func validateS3Tags(tags []tag, limit int) string {
	if len(tags) > limit {
		return "Bucket tag count cannot be greater than " + strconv.Itoa(limit)
	}
	seen := map[string]bool{}
	for _, t := range tags {
		switch {
		case t.Key == "":
			return "The TagKey you have provided is invalid"
		case len(t.Key) > 128:
			return "The TagKey you have provided is too long, max 128"
		case len(t.Value) > 256:
			return "The TagValue you have provided is too long, max 256"
		case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
			return "System tags cannot be added/updated by requester"
		case seen[t.Key]:
			return "Cannot provide multiple Tags with the same key"
		}
		seen[t.Key] = true
	}
	return ""
}

func (c *s3Call) deleteBucketTagging() {
	c.s.base.mu.Lock()
	_, had := c.s.base.BucketTags[c.sr.bucket]
	delete(c.s.base.BucketTags, c.sr.bucket)
	var err error
	if had {
		err = c.s.base.save()
	}
	c.s.base.mu.Unlock()
	if err != nil {
		c.fail("InternalError", http.StatusInternalServerError, "We encountered an internal error. Please try again.")
		return
	}
	c.noContent()
}

// getObjectTagging answers with an empty tag set: irsa-local keeps no
// object tags (PutObjectTagging is refused).
func (c *s3Call) getObjectTagging() { c.xml(s3Tagging{}) }

func (c *s3Call) deleteObjectTagging() { c.noContent() }

// ---- object versions

type s3Version struct {
	Key          string  `xml:"Key"`
	VersionID    string  `xml:"VersionId"`
	IsLatest     bool    `xml:"IsLatest"`
	LastModified string  `xml:"LastModified"`
	ETag         string  `xml:"ETag"`
	Size         int64   `xml:"Size"`
	StorageClass string  `xml:"StorageClass"`
	Owner        s3Owner `xml:"Owner"`
}

type s3CommonPrefix struct {
	Prefix string `xml:"Prefix"`
}

type listVersionsResult struct {
	XMLName             xml.Name         `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListVersionsResult"`
	Name                string           `xml:"Name"`
	Prefix              string           `xml:"Prefix"`
	KeyMarker           string           `xml:"KeyMarker"`
	VersionIDMarker     string           `xml:"VersionIdMarker"`
	NextKeyMarker       string           `xml:"NextKeyMarker,omitempty"`
	NextVersionIDMarker string           `xml:"NextVersionIdMarker,omitempty"`
	MaxKeys             int              `xml:"MaxKeys"`
	Delimiter           string           `xml:"Delimiter,omitempty"`
	IsTruncated         bool             `xml:"IsTruncated"`
	Versions            []s3Version      `xml:"Version"`
	CommonPrefixes      []s3CommonPrefix `xml:"CommonPrefixes"`
	EncodingType        string           `xml:"EncodingType,omitempty"`
}

// listVersions answers ListObjectVersions for storage that keeps one
// version of each object: S3's view of a bucket that never had versioning,
// where every object is its own latest version with the ID "null".
func (c *s3Call) listVersions() {
	q := c.req.r.URL.Query()
	maxKeys := 1000
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			c.fail("InvalidArgument", http.StatusBadRequest, "Provided max-keys not an integer or within integer range", "ArgumentName", "max-keys", "ArgumentValue", v)
			return
		}
		maxKeys = min(n, 1000)
	}
	encoding := q.Get("encoding-type")
	if encoding != "" && encoding != "url" {
		c.fail("InvalidArgument", http.StatusBadRequest, "Invalid Encoding Method specified in Request", "ArgumentName", "encoding-type", "ArgumentValue", encoding)
		return
	}
	prefix := gofakes3.NewPrefix(nil, nil)
	if v := q.Get("prefix"); v != "" {
		prefix.HasPrefix, prefix.Prefix = true, v
	}
	if v := q.Get("delimiter"); v != "" {
		prefix.HasDelimiter, prefix.Delimiter = true, v
	}
	list, err := c.s.s3.backend.ListBucket(c.sr.bucket, &prefix, gofakes3.ListBucketPage{})
	if err != nil {
		c.fail("InternalError", http.StatusInternalServerError, "We encountered an internal error. Please try again.")
		return
	}
	// Objects and common prefixes are listed together in key order.
	type entry struct {
		key     string
		content *gofakes3.Content
	}
	var entries []entry
	for _, o := range list.Contents {
		entries = append(entries, entry{key: o.Key, content: o})
	}
	for _, p := range list.CommonPrefixes {
		entries = append(entries, entry{key: p.Prefix})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].key < entries[j].key })
	marker := q.Get("key-marker")
	start := sort.Search(len(entries), func(i int) bool { return entries[i].key > marker })
	entries = entries[start:]

	enc := func(s string) string { return s }
	if encoding == "url" {
		enc = url.QueryEscape
	}
	out := listVersionsResult{
		Name: c.sr.bucket, Prefix: enc(prefix.Prefix), KeyMarker: enc(marker), VersionIDMarker: q.Get("version-id-marker"),
		MaxKeys: maxKeys, Delimiter: enc(prefix.Delimiter), EncodingType: encoding,
	}
	if len(entries) > maxKeys {
		out.IsTruncated = true
		entries = entries[:maxKeys]
		if n := len(entries); n > 0 {
			out.NextKeyMarker = enc(entries[n-1].key)
			if entries[n-1].content != nil {
				out.NextVersionIDMarker = "null"
			}
		}
	}
	owner := s3Owner{ID: c.bucketOwnerID()}
	for _, e := range entries {
		if e.content == nil {
			out.CommonPrefixes = append(out.CommonPrefixes, s3CommonPrefix{Prefix: enc(e.key)})
			continue
		}
		o := e.content
		out.Versions = append(out.Versions, s3Version{
			Key: enc(o.Key), VersionID: "null", IsLatest: true,
			LastModified: o.LastModified.UTC().Format("2006-01-02T15:04:05.000Z"),
			ETag:         o.ETag, Size: o.Size, StorageClass: "STANDARD", Owner: owner,
		})
	}
	c.xml(out)
}

// ---- ListBuckets

// listBuckets lists the buckets of the caller's account, as S3 does: the
// namespace is global, the listing is not.
func (s *Server) listBuckets(w http.ResponseWriter, req *request, rec *eventRecord) {
	account := s.defaultAccount
	if req.caller != nil {
		account = req.caller.callerAccount()
	}
	all, err := s.s3.backend.ListBuckets()
	if err != nil {
		rec.fail("InternalError", "")
		s.record(rec)
		writeS3Error(w, req.r, req.id, "InternalError", 500, "We encountered an internal error. Please try again.")
		return
	}
	out := gofakes3.Storage{Xmlns: "http://s3.amazonaws.com/doc/2006-03-01/", Owner: &gofakes3.UserInfo{ID: canonicalUserIDOf(account), DisplayName: account}}
	for _, b := range all {
		if s.bucketOwner(b.Name) == account {
			out.Buckets = append(out.Buckets, b)
		}
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("x-amz-request-id", req.id)
	_, _ = io.WriteString(w, xml.Header)
	_ = xml.NewEncoder(w).Encode(&out)
	s.record(rec)
}

// ---- HeadBucket

// bucketRegionHeader adds x-amz-bucket-region, which S3 sends on HeadBucket
// for an existing bucket (allowed or not) and SDKs read to find a bucket's
// region.
func (s *Server) bucketRegionHeader(w http.ResponseWriter, bucket string) {
	if exists, err := s.s3.backend.BucketExists(bucket); err == nil && exists {
		w.Header().Set("x-amz-bucket-region", s.region)
	}
}

// bucketOwner is the account that owns bucket: the one that created it, or
// the default account.
func (s *Server) bucketOwner(bucket string) string {
	s.base.mu.RLock()
	defer s.base.mu.RUnlock()
	if o, ok := s.base.BucketOwners[bucket]; ok {
		return o
	}
	return s.defaultAccount
}

// ownBucket records that account created bucket.
func (s *Server) ownBucket(bucket, account string) {
	if account == "" || account == s.defaultAccount {
		return
	}
	s.base.mu.Lock()
	defer s.base.mu.Unlock()
	s.base.BucketOwners[bucket] = account
	if err := s.base.save(); err != nil {
		s.log.Error("record bucket owner", "bucket", bucket, "err", err)
	}
}

// forgetBucket drops what irsa-local keeps about a deleted bucket.
func (s *Server) forgetBucket(bucket string) {
	s.base.mu.Lock()
	defer s.base.mu.Unlock()
	_, hadPolicy := s.base.BucketPolicies[bucket]
	_, hadTags := s.base.BucketTags[bucket]
	_, hadOwner := s.base.BucketOwners[bucket]
	if hadPolicy || hadTags || hadOwner {
		delete(s.base.BucketPolicies, bucket)
		delete(s.base.bucketDocs, bucket)
		delete(s.base.BucketTags, bucket)
		delete(s.base.BucketOwners, bucket)
		_ = s.base.save()
	}
}
