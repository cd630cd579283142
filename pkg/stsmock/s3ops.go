package stsmock

import (
	"net/http"
	"net/url"
	"strings"
)

// s3Op is one S3 request as IAM authorizes it: the API operation, the IAM
// action, the resource ARN, and for copies the source object read.
type s3Op struct {
	Name     string // S3 API name, for the trail: "GetObject"
	Action   string // IAM action: "s3:GetObject"
	Resource string // "arn:aws:s3:::bucket/key"
	// CopySource is "bucket/key" of CopyObject/UploadPartCopy, which also
	// needs s3:GetObject on the source.
	CopySource string
	ReadOnly   bool
	// Unsupported marks a request for an S3 operation irsa-local does not
	// serve (NotImplemented), as opposed to one S3 has no operation for
	// (MethodNotAllowed).
	Unsupported bool
}

// bucketSubresources maps a bucket sub-resource query parameter to the API
// and IAM action names per method (reference §3.5, extended to the
// sub-resources AWS clients read).
var bucketSubresources = map[string]map[string][2]string{
	"policy":            {"GET": {"GetBucketPolicy", "s3:GetBucketPolicy"}, "PUT": {"PutBucketPolicy", "s3:PutBucketPolicy"}, "DELETE": {"DeleteBucketPolicy", "s3:DeleteBucketPolicy"}},
	"location":          {"GET": {"GetBucketLocation", "s3:GetBucketLocation"}},
	"acl":               {"GET": {"GetBucketAcl", "s3:GetBucketAcl"}, "PUT": {"PutBucketAcl", "s3:PutBucketAcl"}},
	"versioning":        {"GET": {"GetBucketVersioning", "s3:GetBucketVersioning"}, "PUT": {"PutBucketVersioning", "s3:PutBucketVersioning"}},
	"versions":          {"GET": {"ListObjectVersions", "s3:ListBucketVersions"}},
	"uploads":           {"GET": {"ListMultipartUploads", "s3:ListBucketMultipartUploads"}},
	"tagging":           {"GET": {"GetBucketTagging", "s3:GetBucketTagging"}, "PUT": {"PutBucketTagging", "s3:PutBucketTagging"}, "DELETE": {"DeleteBucketTagging", "s3:PutBucketTagging"}},
	"cors":              {"GET": {"GetBucketCors", "s3:GetBucketCORS"}, "PUT": {"PutBucketCors", "s3:PutBucketCORS"}, "DELETE": {"DeleteBucketCors", "s3:PutBucketCORS"}},
	"website":           {"GET": {"GetBucketWebsite", "s3:GetBucketWebsite"}, "PUT": {"PutBucketWebsite", "s3:PutBucketWebsite"}, "DELETE": {"DeleteBucketWebsite", "s3:DeleteBucketWebsite"}},
	"encryption":        {"GET": {"GetBucketEncryption", "s3:GetEncryptionConfiguration"}, "PUT": {"PutBucketEncryption", "s3:PutEncryptionConfiguration"}, "DELETE": {"DeleteBucketEncryption", "s3:PutEncryptionConfiguration"}},
	"lifecycle":         {"GET": {"GetBucketLifecycleConfiguration", "s3:GetLifecycleConfiguration"}, "PUT": {"PutBucketLifecycleConfiguration", "s3:PutLifecycleConfiguration"}, "DELETE": {"DeleteBucketLifecycle", "s3:PutLifecycleConfiguration"}},
	"logging":           {"GET": {"GetBucketLogging", "s3:GetBucketLogging"}, "PUT": {"PutBucketLogging", "s3:PutBucketLogging"}},
	"replication":       {"GET": {"GetBucketReplication", "s3:GetReplicationConfiguration"}, "PUT": {"PutBucketReplication", "s3:PutReplicationConfiguration"}, "DELETE": {"DeleteBucketReplication", "s3:PutReplicationConfiguration"}},
	"object-lock":       {"GET": {"GetObjectLockConfiguration", "s3:GetBucketObjectLockConfiguration"}, "PUT": {"PutObjectLockConfiguration", "s3:PutBucketObjectLockConfiguration"}},
	"requestPayment":    {"GET": {"GetBucketRequestPayment", "s3:GetBucketRequestPayment"}, "PUT": {"PutBucketRequestPayment", "s3:PutBucketRequestPayment"}},
	"accelerate":        {"GET": {"GetBucketAccelerateConfiguration", "s3:GetAccelerateConfiguration"}, "PUT": {"PutBucketAccelerateConfiguration", "s3:PutAccelerateConfiguration"}},
	"ownershipControls": {"GET": {"GetBucketOwnershipControls", "s3:GetBucketOwnershipControls"}, "PUT": {"PutBucketOwnershipControls", "s3:PutBucketOwnershipControls"}, "DELETE": {"DeleteBucketOwnershipControls", "s3:PutBucketOwnershipControls"}},
	"publicAccessBlock": {"GET": {"GetPublicAccessBlock", "s3:GetBucketPublicAccessBlock"}, "PUT": {"PutPublicAccessBlock", "s3:PutBucketPublicAccessBlock"}, "DELETE": {"DeletePublicAccessBlock", "s3:PutBucketPublicAccessBlock"}},
	"notification":      {"GET": {"GetBucketNotificationConfiguration", "s3:GetBucketNotification"}, "PUT": {"PutBucketNotificationConfiguration", "s3:PutBucketNotification"}},
	"policyStatus":      {"GET": {"GetBucketPolicyStatus", "s3:GetBucketPolicyStatus"}},
	"delete":            {"POST": {"DeleteObjects", "s3:DeleteObject"}},
}

// unsupportedSubresources are S3 sub-resources irsa-local does not serve.
// They are refused by name: gofakes3 would ignore the parameter and take
// GET ?analytics for a listing or DELETE ?metrics for deleting the bucket.
var unsupportedSubresources = []string{"analytics", "inventory", "metrics", "intelligent-tiering", "torrent", "restore", "select", "session"}

// objectSubresources does the same for objects.
var objectSubresources = map[string]map[string][2]string{
	"acl":        {"GET": {"GetObjectAcl", "s3:GetObjectAcl"}, "PUT": {"PutObjectAcl", "s3:PutObjectAcl"}},
	"tagging":    {"GET": {"GetObjectTagging", "s3:GetObjectTagging"}, "PUT": {"PutObjectTagging", "s3:PutObjectTagging"}, "DELETE": {"DeleteObjectTagging", "s3:DeleteObjectTagging"}},
	"attributes": {"GET": {"GetObjectAttributes", "s3:GetObjectAttributes"}},
	"retention":  {"GET": {"GetObjectRetention", "s3:GetObjectRetention"}, "PUT": {"PutObjectRetention", "s3:PutObjectRetention"}},
	"legal-hold": {"GET": {"GetObjectLegalHold", "s3:GetObjectLegalHold"}, "PUT": {"PutObjectLegalHold", "s3:PutObjectLegalHold"}},
	"uploads":    {"POST": {"CreateMultipartUpload", "s3:PutObject"}},
}

// classifyS3 names the operation of an S3 request on bucket and key. ok is
// false for a request no S3 operation matches.
func classifyS3(method string, q url.Values, h http.Header, bucket, key string) (op s3Op, ok bool) {
	head := method == http.MethodHead
	if head {
		method = http.MethodGet
	}
	for _, sub := range unsupportedSubresources {
		if q.Has(sub) {
			return s3Op{Unsupported: true}, false
		}
	}
	mk := func(name, action, res string) (s3Op, bool) {
		return s3Op{Name: name, Action: action, Resource: res, ReadOnly: method == http.MethodGet}, true
	}
	if bucket == "" {
		if method == http.MethodGet {
			return mk("ListBuckets", "s3:ListAllMyBuckets", "arn:aws:s3:::*")
		}
		return s3Op{}, false
	}
	bucketARN := "arn:aws:s3:::" + bucket
	if key == "" {
		for sub, byMethod := range bucketSubresources {
			if _, has := q[sub]; has {
				names, ok := byMethod[method]
				if !ok {
					return s3Op{}, false
				}
				return mk(names[0], names[1], bucketARN)
			}
		}
		switch method {
		case http.MethodGet:
			name := "ListObjects"
			switch {
			case head:
				name = "HeadBucket"
			case q.Get("list-type") == "2":
				name = "ListObjectsV2"
			}
			return mk(name, "s3:ListBucket", bucketARN)
		case http.MethodPut:
			return mk("CreateBucket", "s3:CreateBucket", bucketARN)
		case http.MethodDelete:
			return mk("DeleteBucket", "s3:DeleteBucket", bucketARN)
		case http.MethodPost:
			// Browser-based uploads (PostObject), a form POST.
			return s3Op{Unsupported: strings.HasPrefix(h.Get("Content-Type"), "multipart/form-data")}, false
		}
		return s3Op{}, false
	}
	objectARN := bucketARN + "/" + key
	if uploadID := q.Get("uploadId"); uploadID != "" {
		switch method {
		case http.MethodPut:
			op, ok := mk("UploadPart", "s3:PutObject", objectARN)
			if src := h.Get("X-Amz-Copy-Source"); src != "" {
				op.Name, op.CopySource = "UploadPartCopy", src
			}
			return op, ok
		case http.MethodPost:
			return mk("CompleteMultipartUpload", "s3:PutObject", objectARN)
		case http.MethodDelete:
			return mk("AbortMultipartUpload", "s3:AbortMultipartUpload", objectARN)
		case http.MethodGet:
			return mk("ListParts", "s3:ListMultipartUploadParts", objectARN)
		}
		return s3Op{}, false
	}
	for sub, byMethod := range objectSubresources {
		if _, has := q[sub]; has {
			names, ok := byMethod[method]
			if !ok {
				return s3Op{}, false
			}
			return mk(names[0], names[1], objectARN)
		}
	}
	versioned := q.Get("versionId") != ""
	switch method {
	case http.MethodGet:
		name := "GetObject"
		if head {
			name = "HeadObject"
		}
		if versioned {
			return mk(name, "s3:GetObjectVersion", objectARN)
		}
		return mk(name, "s3:GetObject", objectARN)
	case http.MethodPut:
		op, ok := mk("PutObject", "s3:PutObject", objectARN)
		if src := h.Get("X-Amz-Copy-Source"); src != "" {
			op.Name, op.CopySource = "CopyObject", src
		}
		return op, ok
	case http.MethodDelete:
		if versioned {
			return mk("DeleteObject", "s3:DeleteObjectVersion", objectARN)
		}
		return mk("DeleteObject", "s3:DeleteObject", objectARN)
	}
	return s3Op{}, false
}

// parseCopySource splits an X-Amz-Copy-Source value
// ("/bucket/key?versionId=…", the bucket and key URL-encoded) into the
// source bucket, key and version. Authorization and storage both use this
// one reading, so the object authorized is the object copied.
func parseCopySource(src string) (bucket, key, version string, ok bool) {
	src, query, _ := strings.Cut(src, "?")
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			return "", "", "", false
		}
		version = q.Get("versionId")
	}
	src, err := url.PathUnescape(src)
	if err != nil {
		return "", "", "", false
	}
	bucket, key, _ = strings.Cut(strings.TrimPrefix(src, "/"), "/")
	if bucket == "" || key == "" {
		return "", "", "", false
	}
	return bucket, key, version, true
}

// canonicalCopySource writes a parsed copy source back in the one form
// gofakes3 splits and decodes into the same bucket and key.
func canonicalCopySource(bucket, key, version string) string {
	v := "/" + bucket + "/" + url.QueryEscape(key)
	if version != "" {
		v += "?versionId=" + url.QueryEscape(version)
	}
	return v
}
