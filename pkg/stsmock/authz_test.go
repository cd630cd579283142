package stsmock

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/irsa-local/irsa-local/internal/trail"
)

// The authorization table: every S3 operation the endpoint serves has a
// row in testdata/authz/s3.json naming the IAM action and the resource ARN
// it needs, and is called by the real SDK with a role session three times:
// with no grant (implicitly denied), with exactly that action on exactly
// that resource (allowed), and with that grant plus an explicit deny on it
// (denied). A check removed or pointed at another action or resource for
// any one operation fails its row; an operation added to the router
// without a row fails TestAuthzTableCoversEveryS3Operation.

type authzRow struct {
	Operation string `json:"operation"`
	// Check names a second row for one operation: the versioned form, or
	// the copy source.
	Check    string      `json:"check,omitempty"`
	Action   string      `json:"action"`
	Resource string      `json:"resource"`
	Also     []authzPerm `json:"also,omitempty"` // granted in every phase
}

type authzPerm struct {
	Action   string `json:"action"`
	Resource string `json:"resource"`
}

func (r authzRow) name() string {
	if r.Check != "" {
		return r.Operation + "/" + r.Check
	}
	return r.Operation
}

func readAuthzTable(t *testing.T, service string) []authzRow {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "authz", service+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []authzRow
	if err := json.Unmarshal(data, &rows); err != nil {
		t.Fatalf("testdata/authz/%s.json: %v", service, err)
	}
	return rows
}

// servedS3Operations asks the router which operation each request shape
// is, so the list follows the router rather than a copy of it.
func servedS3Operations() []string {
	queries := []url.Values{{}, {"list-type": {"2"}}, {"versionId": {"v"}}, {"uploadId": {"u"}}}
	for sub := range bucketSubresources {
		queries = append(queries, url.Values{sub: {""}})
	}
	for sub := range objectSubresources {
		queries = append(queries, url.Values{sub: {""}})
	}
	seen := map[string]bool{}
	for _, method := range []string{"GET", "HEAD", "PUT", "POST", "DELETE"} {
		for _, q := range queries {
			for _, h := range []http.Header{{}, {"X-Amz-Copy-Source": {"/b/k"}}} {
				for _, at := range [][2]string{{"", ""}, {"b", ""}, {"b", "k"}} {
					if op, ok := classifyS3(method, q, h, at[0], at[1]); ok {
						seen[op.Name] = true
					}
				}
			}
		}
	}
	var ops []string
	for op := range seen {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	return ops
}

func TestAuthzTableCoversEveryS3Operation(t *testing.T) {
	rows := readAuthzTable(t, "s3")
	inTable := map[string]bool{}
	for _, r := range rows {
		inTable[r.Operation] = true
		if _, ok := sdkCalls[r.name()]; !ok {
			t.Errorf("row %s has no SDK call in sdkCalls", r.name())
		}
	}
	served := servedS3Operations()
	if len(served) < 60 {
		t.Fatalf("the router serves only %d operations? %v", len(served), served)
	}
	for _, op := range served {
		if !inTable[op] {
			t.Errorf("S3 operation %s is served but has no row in testdata/authz/s3.json", op)
		}
	}
	for op := range inTable {
		if !slices.Contains(served, op) {
			t.Errorf("testdata/authz/s3.json has a row for %s, which the router does not serve", op)
		}
	}
}

// sdkCall makes one call as the session c; admin prepares what the call
// needs (an upload, an object to copy, a bucket to delete).
type sdkCall func(ctx context.Context, c, admin *s3.Client) error

const authzBucket = "authz"

var (
	authzB = aws.String(authzBucket)
	authzK = aws.String("obj")
)

// upload starts a multipart upload of authz/obj as the admin.
func upload(ctx context.Context, admin *s3.Client) (*string, error) {
	out, err := admin.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: authzB, Key: authzK})
	if err != nil {
		return nil, err
	}
	return out.UploadId, nil
}

var sdkCalls = map[string]sdkCall{
	"ListBuckets": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
		return err
	},
	"ListObjects": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: authzB})
		return err
	},
	"ListObjectsV2": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: authzB})
		return err
	},
	"HeadBucket": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: authzB})
		return err
	},
	"CreateBucket": func(ctx context.Context, c, admin *s3.Client) error {
		_, _ = admin.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("authz-new")})
		_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("authz-new")})
		return err
	},
	"DeleteBucket": func(ctx context.Context, c, admin *s3.Client) error {
		_, _ = admin.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("authz-gone")})
		_, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("authz-gone")})
		return err
	},
	"GetObject": func(ctx context.Context, c, _ *s3.Client) error {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: authzB, Key: authzK})
		if err == nil {
			out.Body.Close()
		}
		return err
	},
	"GetObject/version": func(ctx context.Context, c, _ *s3.Client) error {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: authzB, Key: authzK, VersionId: aws.String("null")})
		if err == nil {
			out.Body.Close()
		}
		return err
	},
	"HeadObject": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: authzB, Key: authzK})
		return err
	},
	"PutObject": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: authzB, Key: authzK, Body: strings.NewReader("object")})
		return err
	},
	"CopyObject": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: authzB, Key: authzK, CopySource: aws.String(authzBucket + "/src")})
		return err
	},
	"DeleteObject": func(ctx context.Context, c, admin *s3.Client) error {
		_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: authzB, Key: authzK})
		return err
	},
	"DeleteObject/version": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: authzB, Key: authzK, VersionId: aws.String("null")})
		return err
	},
	"DeleteObjects": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: authzB, Delete: &s3types.Delete{Objects: []s3types.ObjectIdentifier{{Key: authzK}}}})
		return err
	},
	"CreateMultipartUpload": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: authzB, Key: authzK})
		return err
	},
	"UploadPart": func(ctx context.Context, c, admin *s3.Client) error {
		id, err := upload(ctx, admin)
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		_, err = c.UploadPart(ctx, &s3.UploadPartInput{Bucket: authzB, Key: authzK, UploadId: id, PartNumber: aws.Int32(1), Body: strings.NewReader("part")})
		return err
	},
	"UploadPartCopy": func(ctx context.Context, c, admin *s3.Client) error {
		id, err := upload(ctx, admin)
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		_, err = c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: authzB, Key: authzK, UploadId: id, PartNumber: aws.Int32(1), CopySource: aws.String(authzBucket + "/src")})
		return err
	},
	"CompleteMultipartUpload": func(ctx context.Context, c, admin *s3.Client) error {
		id, err := upload(ctx, admin)
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		part, err := admin.UploadPart(ctx, &s3.UploadPartInput{Bucket: authzB, Key: authzK, UploadId: id, PartNumber: aws.Int32(1), Body: strings.NewReader("part")})
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: authzB, Key: authzK, UploadId: id,
			MultipartUpload: &s3types.CompletedMultipartUpload{Parts: []s3types.CompletedPart{{ETag: part.ETag, PartNumber: aws.Int32(1)}}}})
		return err
	},
	"AbortMultipartUpload": func(ctx context.Context, c, admin *s3.Client) error {
		id, err := upload(ctx, admin)
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		_, err = c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: authzB, Key: authzK, UploadId: id})
		return err
	},
	"ListParts": func(ctx context.Context, c, admin *s3.Client) error {
		id, err := upload(ctx, admin)
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		_, err = c.ListParts(ctx, &s3.ListPartsInput{Bucket: authzB, Key: authzK, UploadId: id})
		return err
	},
	"ListMultipartUploads": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: authzB})
		return err
	},
	"ListObjectVersions": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: authzB})
		return err
	},
	"GetBucketPolicy": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: authzB})
		return err
	},
	"PutBucketPolicy": func(ctx context.Context, c, admin *s3.Client) error {
		// A policy that changes no decision of the other rows.
		doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"000000000000"},"Action":"s3:GetObjectAcl","Resource":"arn:aws:s3:::authz/nothing"}]}`
		_, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: authzB, Policy: aws.String(doc)})
		_, _ = admin.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: authzB})
		return err
	},
	"DeleteBucketPolicy": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: authzB})
		return err
	},
	"GetBucketLocation": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: authzB})
		return err
	},
	"GetBucketAcl": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: authzB})
		return err
	},
	"PutBucketAcl": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: authzB, ACL: s3types.BucketCannedACLPrivate})
		return err
	},
	"GetBucketVersioning": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: authzB})
		return err
	},
	"PutBucketVersioning": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: authzB, VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusSuspended}})
		return err
	},
	"GetBucketTagging": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: authzB})
		return err
	},
	"PutBucketTagging": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: authzB, Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}})
		return err
	},
	"DeleteBucketTagging": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.DeleteBucketTagging(ctx, &s3.DeleteBucketTaggingInput{Bucket: authzB})
		return err
	},
	"GetBucketCors": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: authzB})
		return err
	},
	"PutBucketCors": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: authzB, CORSConfiguration: &s3types.CORSConfiguration{CORSRules: []s3types.CORSRule{{AllowedMethods: []string{"GET"}, AllowedOrigins: []string{"*"}}}}})
		return err
	},
	"DeleteBucketCors": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.DeleteBucketCors(ctx, &s3.DeleteBucketCorsInput{Bucket: authzB})
		return err
	},
	"GetBucketWebsite": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.GetBucketWebsite(ctx, &s3.GetBucketWebsiteInput{Bucket: authzB})
		return err
	},
	"PutBucketWebsite": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.PutBucketWebsite(ctx, &s3.PutBucketWebsiteInput{Bucket: authzB, WebsiteConfiguration: &s3types.WebsiteConfiguration{IndexDocument: &s3types.IndexDocument{Suffix: aws.String("index.html")}}})
		return err
	},
	"DeleteBucketWebsite": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.DeleteBucketWebsite(ctx, &s3.DeleteBucketWebsiteInput{Bucket: authzB})
		return err
	},
	"GetBucketEncryption": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: authzB})
		return err
	},
	"PutBucketEncryption": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: authzB, ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{
			Rules: []s3types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAes256}}}}})
		return err
	},
	"DeleteBucketEncryption": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.DeleteBucketEncryption(ctx, &s3.DeleteBucketEncryptionInput{Bucket: authzB})
		return err
	},
	"GetBucketLifecycleConfiguration": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: authzB})
		return err
	},
	"PutBucketLifecycleConfiguration": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: authzB, LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{
			Rules: []s3types.LifecycleRule{{ID: aws.String("r"), Status: s3types.ExpirationStatusEnabled, Filter: &s3types.LifecycleRuleFilter{Prefix: aws.String("tmp/")}, Expiration: &s3types.LifecycleExpiration{Days: aws.Int32(1)}}}}})
		return err
	},
	"DeleteBucketLifecycle": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.DeleteBucketLifecycle(ctx, &s3.DeleteBucketLifecycleInput{Bucket: authzB})
		return err
	},
	"GetBucketLogging": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.GetBucketLogging(ctx, &s3.GetBucketLoggingInput{Bucket: authzB})
		return err
	},
	"PutBucketLogging": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.PutBucketLogging(ctx, &s3.PutBucketLoggingInput{Bucket: authzB, BucketLoggingStatus: &s3types.BucketLoggingStatus{}})
		return err
	},
	"GetBucketReplication": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: authzB})
		return err
	},
	"PutBucketReplication": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{Bucket: authzB, ReplicationConfiguration: &s3types.ReplicationConfiguration{
			Role: aws.String("arn:aws:iam::000000000000:role/replication"),
			Rules: []s3types.ReplicationRule{{Status: s3types.ReplicationRuleStatusEnabled, Destination: &s3types.Destination{Bucket: aws.String("arn:aws:s3:::elsewhere")},
				Filter: &s3types.ReplicationRuleFilter{Prefix: aws.String("")}, Priority: aws.Int32(1), DeleteMarkerReplication: &s3types.DeleteMarkerReplication{Status: s3types.DeleteMarkerReplicationStatusDisabled}}}}})
		return err
	},
	"DeleteBucketReplication": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.DeleteBucketReplication(ctx, &s3.DeleteBucketReplicationInput{Bucket: authzB})
		return err
	},
	"GetObjectLockConfiguration": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: authzB})
		return err
	},
	"PutObjectLockConfiguration": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: authzB, ObjectLockConfiguration: &s3types.ObjectLockConfiguration{ObjectLockEnabled: s3types.ObjectLockEnabledEnabled}})
		return err
	},
	"GetBucketRequestPayment": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.GetBucketRequestPayment(ctx, &s3.GetBucketRequestPaymentInput{Bucket: authzB})
		return err
	},
	"PutBucketRequestPayment": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.PutBucketRequestPayment(ctx, &s3.PutBucketRequestPaymentInput{Bucket: authzB, RequestPaymentConfiguration: &s3types.RequestPaymentConfiguration{Payer: s3types.PayerBucketOwner}})
		return err
	},
	"GetBucketAccelerateConfiguration": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.GetBucketAccelerateConfiguration(ctx, &s3.GetBucketAccelerateConfigurationInput{Bucket: authzB})
		return err
	},
	"PutBucketAccelerateConfiguration": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.PutBucketAccelerateConfiguration(ctx, &s3.PutBucketAccelerateConfigurationInput{Bucket: authzB, AccelerateConfiguration: &s3types.AccelerateConfiguration{Status: s3types.BucketAccelerateStatusSuspended}})
		return err
	},
	"GetBucketOwnershipControls": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: authzB})
		return err
	},
	"PutBucketOwnershipControls": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.PutBucketOwnershipControls(ctx, &s3.PutBucketOwnershipControlsInput{Bucket: authzB, OwnershipControls: &s3types.OwnershipControls{Rules: []s3types.OwnershipControlsRule{{ObjectOwnership: s3types.ObjectOwnershipBucketOwnerEnforced}}}})
		return err
	},
	"DeleteBucketOwnershipControls": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.DeleteBucketOwnershipControls(ctx, &s3.DeleteBucketOwnershipControlsInput{Bucket: authzB})
		return err
	},
	"GetPublicAccessBlock": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: authzB})
		return err
	},
	"PutPublicAccessBlock": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: authzB, PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true)}})
		return err
	},
	"DeletePublicAccessBlock": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: authzB})
		return err
	},
	"GetBucketNotificationConfiguration": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: authzB})
		return err
	},
	"PutBucketNotificationConfiguration": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: authzB, NotificationConfiguration: &s3types.NotificationConfiguration{}})
		return err
	},
	"GetBucketPolicyStatus": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.GetBucketPolicyStatus(ctx, &s3.GetBucketPolicyStatusInput{Bucket: authzB})
		return err
	},
	"GetObjectAcl": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: authzB, Key: authzK})
		return err
	},
	"PutObjectAcl": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: authzB, Key: authzK, ACL: s3types.ObjectCannedACLPrivate})
		return err
	},
	"GetObjectTagging": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: authzB, Key: authzK})
		return err
	},
	"PutObjectTagging": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: authzB, Key: authzK, Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}})
		return err
	},
	"DeleteObjectTagging": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.DeleteObjectTagging(ctx, &s3.DeleteObjectTaggingInput{Bucket: authzB, Key: authzK})
		return err
	},
	"GetObjectAttributes": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: authzB, Key: authzK, ObjectAttributes: []s3types.ObjectAttributes{s3types.ObjectAttributesObjectSize}})
		return err
	},
	"GetObjectRetention": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: authzB, Key: authzK})
		return err
	},
	"PutObjectRetention": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: authzB, Key: authzK, Retention: &s3types.ObjectLockRetention{Mode: s3types.ObjectLockRetentionModeGovernance, RetainUntilDate: aws.Time(time.Now().Add(time.Hour))}})
		return err
	},
	"GetObjectLegalHold": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.GetObjectLegalHold(ctx, &s3.GetObjectLegalHoldInput{Bucket: authzB, Key: authzK})
		return err
	},
	"PutObjectLegalHold": func(ctx context.Context, c, _ *s3.Client) error {
		_, err := c.PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{Bucket: authzB, Key: authzK, LegalHold: &s3types.ObjectLockLegalHold{Status: s3types.ObjectLockLegalHoldStatusOff}})
		return err
	},
}

func init() {
	sdkCalls["CopyObject/source"] = sdkCalls["CopyObject"]
	sdkCalls["UploadPartCopy/source"] = sdkCalls["UploadPartCopy"]
}

// denied reports whether err is the S3 AccessDenied answer (HEAD answers
// have no body, so only their status says it).
func denied(err error) bool {
	switch apiCode(err) {
	case "AccessDenied":
		return true
	case "Forbidden":
		return strings.Contains(err.Error(), "operation error S3: Head")
	}
	return false
}

func statement(effect string, perms ...authzPerm) string {
	var sts []string
	for _, p := range perms {
		sts = append(sts, fmt.Sprintf(`{"Effect":%q,"Action":%q,"Resource":%q}`, effect, p.Action, p.Resource))
	}
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(sts, ",") + `]}`
}

// authzRole is the role whose session the authorization tables call
// with, and whose inline policies each row sets.
type authzRole struct {
	t     *testing.T
	f     *fixture
	creds aws.Config // the session's SDK config
}

// newAuthzRole creates the role "authz" with no policies and returns a
// session of it.
func newAuthzRole(t *testing.T, f *fixture) *authzRole {
	t.Helper()
	prov := f.createProvider(f.issuerURL)
	roleARN := f.createRole("authz", eksTrust(prov, f.hostPath(false), "default", "authz"))
	out, err := f.sts.AssumeRoleWithWebIdentity(context.Background(), &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("authz"), WebIdentityToken: aws.String(f.token("default", "authz"))})
	if err != nil {
		t.Fatal(err)
	}
	creds := aws.Credentials{AccessKeyID: *out.Credentials.AccessKeyId, SecretAccessKey: *out.Credentials.SecretAccessKey, SessionToken: *out.Credentials.SessionToken}
	return &authzRole{t: t, f: f, creds: f.config(credentials.StaticCredentialsProvider{Value: creds})}
}

// setPolicy puts the role's inline policy name, or deletes it for "".
func (r *authzRole) setPolicy(name, doc string) {
	r.t.Helper()
	ctx := context.Background()
	var err error
	if doc == "" {
		_, err = r.f.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("authz"), PolicyName: aws.String(name)})
	} else {
		_, err = r.f.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("authz"), PolicyName: aws.String(name), PolicyDocument: aws.String(doc)})
	}
	if err != nil {
		r.t.Fatal(err)
	}
}

func TestAuthzTableS3(t *testing.T) {
	trailPath := filepath.Join(t.TempDir(), "trail.jsonl")
	f := newFixture(t, WithTrail(trailPath))
	ctx := context.Background()
	role := newAuthzRole(t, f)
	session := s3.NewFromConfig(role.creds, func(o *s3.Options) { o.UsePathStyle = true })
	admin := s3.NewFromConfig(f.cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := admin.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: authzB}); err != nil {
		t.Fatal(err)
	}
	setPolicy := role.setPolicy
	// lastDecision is irsa-local's recorded decision on the last call of op.
	lastDecision := func(op string) *trail.Decision {
		recs, err := trail.Read(trailPath, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		for i := len(recs) - 1; i >= 0; i-- {
			if recs[i].EventName == op && recs[i].UserIdentity.Type == "AssumedRole" {
				return recs[i].IrsaLocal
			}
		}
		return nil
	}
	for _, row := range readAuthzTable(t, "s3") {
		t.Run(row.name(), func(t *testing.T) {
			call := sdkCalls[row.name()]
			if call == nil {
				t.Fatalf("no SDK call for %s", row.name())
			}
			// Objects the calls read, made fresh each time.
			for _, k := range []string{"obj", "src"} {
				if _, err := admin.PutObject(ctx, &s3.PutObjectInput{Bucket: authzB, Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
					t.Fatal(err)
				}
			}
			grant := authzPerm{Action: row.Action, Resource: row.Resource}
			if len(row.Also) > 0 {
				setPolicy("also", statement("Allow", row.Also...))
				defer setPolicy("also", "")
			}
			// 1. No grant: implicitly denied.
			err := call(ctx, session, admin)
			if !denied(err) {
				t.Fatalf("without %s on %s: %v, want AccessDenied", row.Action, row.Resource, err)
			}
			if d := lastDecision(row.Operation); d == nil || d.Decision != "deny" || !strings.Contains(d.Reason, row.Action+" on "+row.Resource+": implicitly denied") {
				t.Fatalf("trail after the call without a grant: %+v", d)
			}
			// 2. Exactly that action on exactly that resource: allowed.
			setPolicy("grant", statement("Allow", grant))
			defer setPolicy("grant", "")
			err = call(ctx, session, admin)
			if denied(err) {
				t.Fatalf("with %s on %s: %v, want it allowed", row.Action, row.Resource, err)
			}
			if d := lastDecision(row.Operation); d == nil || d.Decision != "allow" || !strings.Contains(d.Reason, row.Action+" on "+row.Resource+": allowed by") {
				t.Fatalf("trail after the granted call: %+v (call answered %v)", d, err)
			}
			// 3. The grant and an explicit deny: denied.
			setPolicy("deny", statement("Deny", grant))
			defer setPolicy("deny", "")
			err = call(ctx, session, admin)
			if !denied(err) {
				t.Fatalf("with %s on %s denied explicitly: %v, want AccessDenied", row.Action, row.Resource, err)
			}
			if d := lastDecision(row.Operation); d == nil || d.Decision != "deny" || !strings.Contains(d.Reason, row.Action+" on "+row.Resource+": explicitly denied") {
				t.Fatalf("trail after the explicitly denied call: %+v", d)
			}
		})
	}
}
