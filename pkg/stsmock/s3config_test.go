package stsmock

import (
	"context"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// A bucket's configuration reads as S3 answers for a bucket created today:
// the clients that read all of it back (Terraform's aws_s3_bucket) accept
// only these answers.
func TestBucketConfigurationReadsAsANewS3Bucket(t *testing.T) {
	sf := newS3Fixture(t)
	ctx := context.Background()
	b := aws.String(testBucket)
	c := sf.admin

	acl, err := c.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: b})
	if err != nil {
		t.Fatal(err)
	}
	owner := aws.ToString(acl.Owner.ID)
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(owner) || len(acl.Grants) != 1 ||
		acl.Grants[0].Permission != s3types.PermissionFullControl || aws.ToString(acl.Grants[0].Grantee.ID) != owner ||
		acl.Grants[0].Grantee.Type != s3types.TypeCanonicalUser {
		t.Errorf("GetBucketAcl: owner %q grants %+v", owner, acl.Grants)
	}
	enc, err := c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: b})
	if err != nil || len(enc.ServerSideEncryptionConfiguration.Rules) != 1 ||
		enc.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != s3types.ServerSideEncryptionAes256 {
		t.Errorf("GetBucketEncryption: %+v %v", enc, err)
	}
	ver, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: b})
	if err != nil || ver.Status != "" {
		t.Errorf("GetBucketVersioning: %+v %v", ver, err)
	}
	logging, err := c.GetBucketLogging(ctx, &s3.GetBucketLoggingInput{Bucket: b})
	if err != nil || logging.LoggingEnabled != nil {
		t.Errorf("GetBucketLogging: %+v %v", logging, err)
	}
	pay, err := c.GetBucketRequestPayment(ctx, &s3.GetBucketRequestPaymentInput{Bucket: b})
	if err != nil || pay.Payer != s3types.PayerBucketOwner {
		t.Errorf("GetBucketRequestPayment: %+v %v", pay, err)
	}
	acc, err := c.GetBucketAccelerateConfiguration(ctx, &s3.GetBucketAccelerateConfigurationInput{Bucket: b})
	if err != nil || acc.Status != "" {
		t.Errorf("GetBucketAccelerateConfiguration: %+v %v", acc, err)
	}
	own, err := c.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: b})
	if err != nil || own.OwnershipControls.Rules[0].ObjectOwnership != s3types.ObjectOwnershipBucketOwnerEnforced {
		t.Errorf("GetBucketOwnershipControls: %+v %v", own, err)
	}
	loc, err := c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: b})
	if err != nil || loc.LocationConstraint != "" {
		t.Errorf("GetBucketLocation in us-east-1: %+v %v", loc, err)
	}
	head, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: b})
	if err != nil || aws.ToString(head.BucketRegion) != "us-east-1" {
		t.Errorf("HeadBucket region: %+v %v", head, err)
	}

	for name, call := range map[string]func() error{
		"NoSuchCORSConfiguration": func() error { _, err := c.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: b}); return err },
		"NoSuchWebsiteConfiguration": func() error {
			_, err := c.GetBucketWebsite(ctx, &s3.GetBucketWebsiteInput{Bucket: b})
			return err
		},
		"NoSuchLifecycleConfiguration": func() error {
			_, err := c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: b})
			return err
		},
		"ReplicationConfigurationNotFoundError": func() error {
			_, err := c.GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: b})
			return err
		},
		"ObjectLockConfigurationNotFoundError": func() error {
			_, err := c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: b})
			return err
		},
		"NoSuchPublicAccessBlockConfiguration": func() error {
			_, err := c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: b})
			return err
		},
		"NoSuchTagSet": func() error { _, err := c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: b}); return err },
	} {
		if err := call(); apiCode(err) != name {
			t.Errorf("%s: got %v", name, err)
		}
	}
	if _, err := c.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String("nope")}); apiCode(err) != "NoSuchBucket" {
		t.Errorf("GetBucketAcl of a missing bucket: %v", err)
	}
}

// Sub-resource writes never reach the storage as object or bucket writes.
func TestSubresourceWritesDoNotTouchObjectsOrBuckets(t *testing.T) {
	sf := newS3Fixture(t)
	ctx := context.Background()
	b := aws.String(testBucket)
	c := sf.admin
	key := aws.String("reports/a.txt")

	_, err := c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: b, CORSConfiguration: &s3types.CORSConfiguration{
		CORSRules: []s3types.CORSRule{{AllowedMethods: []string{"GET"}, AllowedOrigins: []string{"*"}}},
	}})
	if apiCode(err) != "NotImplemented" {
		t.Errorf("PutBucketCors: %v", err)
	}
	if _, err := c.DeleteBucketCors(ctx, &s3.DeleteBucketCorsInput{Bucket: b}); err != nil {
		t.Errorf("DeleteBucketCors: %v", err)
	}
	if _, err := c.DeleteBucketMetricsConfiguration(ctx, &s3.DeleteBucketMetricsConfigurationInput{Bucket: b, Id: aws.String("m")}); apiCode(err) != "NotImplemented" {
		t.Errorf("DeleteBucketMetricsConfiguration: %v", err)
	}
	_, err = c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: b, Key: key, Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}})
	if apiCode(err) != "NotImplemented" {
		t.Errorf("PutObjectTagging: %v", err)
	}
	if _, err := c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: b, ACL: s3types.BucketCannedACLPublicRead}); apiCode(err) != "AccessControlListNotSupported" {
		t.Errorf("PutBucketAcl public-read: %v", err)
	}
	if _, err := c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: b, ACL: s3types.BucketCannedACLPrivate}); err != nil {
		t.Errorf("PutBucketAcl private: %v", err)
	}
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: b}); err != nil {
		t.Fatalf("the bucket is gone: %v", err)
	}
	obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(obj.Body)
	if string(body) != "hello" {
		t.Errorf("object after sub-resource writes: %q", body)
	}
	tags, err := c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: b, Key: key})
	if err != nil || len(tags.TagSet) != 0 {
		t.Errorf("GetObjectTagging: %+v %v", tags, err)
	}
	if _, err := c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: b, Key: aws.String("none")}); apiCode(err) != "NoSuchKey" {
		t.Errorf("GetObjectTagging of a missing key: %v", err)
	}
	if _, err := c.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: b, Key: key}); err != nil {
		t.Errorf("GetObjectAcl: %v", err)
	}
	if _, err := c.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: b, Key: key}); apiCode(err) != "InvalidRequest" {
		t.Errorf("GetObjectRetention without Object Lock: %v", err)
	}
}

func TestBucketTagging(t *testing.T) {
	sf := newS3Fixture(t)
	ctx := context.Background()
	b := aws.String(testBucket)
	c := sf.admin
	put := func(tags ...s3types.Tag) error {
		_, err := c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: b, Tagging: &s3types.Tagging{TagSet: tags}})
		return err
	}
	kv := func(k, v string) s3types.Tag { return s3types.Tag{Key: aws.String(k), Value: aws.String(v)} }
	if err := put(kv("team", "a"), kv("env", "dev")); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: b})
	if err != nil || len(got.TagSet) != 2 || *got.TagSet[0].Key != "team" || *got.TagSet[1].Value != "dev" {
		t.Fatalf("GetBucketTagging: %+v %v", got, err)
	}
	// The session may read tags (s3:GetBucketTagging) but not write them.
	if _, err := sf.session.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: b}); err != nil {
		t.Errorf("GetBucketTagging with read-only: %v", err)
	}
	if _, err := sf.session.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: b, Tagging: &s3types.Tagging{TagSet: []s3types.Tag{kv("x", "y")}}}); apiCode(err) != "AccessDenied" {
		t.Errorf("PutBucketTagging with read-only: %v", err)
	}
	for _, bad := range [][]s3types.Tag{{kv("aws:x", "y")}, {kv("a", "1"), kv("a", "2")}, {kv(strings.Repeat("k", 129), "v")}} {
		if err := put(bad...); apiCode(err) != "InvalidTag" {
			t.Errorf("tags %v: %v", bad, err)
		}
	}
	// Tags go with their bucket.
	if err := sf.srv.Close(); err != nil {
		t.Fatal(err)
	}
	sf.http.Close()
	sf.startServer()
	restarted := s3.NewFromConfig(sf.cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if got, err := restarted.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: b}); err != nil || len(got.TagSet) != 2 {
		t.Errorf("tags after restart: %+v %v", got, err)
	}
	if _, err := restarted.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: aws.String("reports/a.txt")}); err != nil {
		t.Fatal(err)
	}
	if _, err := restarted.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	if _, err := restarted.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	if _, err := restarted.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: b}); apiCode(err) != "NoSuchTagSet" {
		t.Errorf("tags of a re-created bucket: %v", err)
	}
}

// An unversioned bucket lists each object as its only version, "null", and
// deleting that version needs s3:DeleteObjectVersion.
func TestObjectVersionsOfAnUnversionedBucket(t *testing.T) {
	sf := newS3Fixture(t)
	ctx := context.Background()
	b := aws.String(testBucket)
	for _, k := range []string{"reports/b.txt", "top.txt", "a b+c.txt"} {
		if _, err := sf.admin.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
			t.Fatal(err)
		}
	}
	var keys []string
	in := &s3.ListObjectVersionsInput{Bucket: b, MaxKeys: aws.Int32(2)}
	for pages := 0; ; pages++ {
		out, err := sf.admin.ListObjectVersions(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range out.Versions {
			if aws.ToString(v.VersionId) != "null" || !aws.ToBool(v.IsLatest) || aws.ToInt64(v.Size) == 0 || v.LastModified == nil {
				t.Errorf("version %+v", v)
			}
			keys = append(keys, aws.ToString(v.Key))
		}
		if !aws.ToBool(out.IsTruncated) || pages > 3 {
			break
		}
		in.KeyMarker, in.VersionIdMarker = out.NextKeyMarker, out.NextVersionIdMarker
	}
	if strings.Join(keys, ",") != "a b+c.txt,reports/a.txt,reports/b.txt,top.txt" {
		t.Errorf("versions listed: %q", keys)
	}
	out, err := sf.admin.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: b, Delimiter: aws.String("/")})
	if err != nil || len(out.CommonPrefixes) != 1 || aws.ToString(out.CommonPrefixes[0].Prefix) != "reports/" || len(out.Versions) != 2 {
		t.Errorf("versions with a delimiter: %+v %v", out, err)
	}

	// A role allowed s3:DeleteObject may not delete versions.
	allow := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::data/*"}]}`
	if _, err := sf.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("delete"), PolicyDocument: aws.String(allow)}); err != nil {
		t.Fatal(err)
	}
	del := func(c *s3.Client, key, version string) error {
		obj := s3types.ObjectIdentifier{Key: aws.String(key)}
		if version != "" {
			obj.VersionId = aws.String(version)
		}
		_, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: b, Delete: &s3types.Delete{Objects: []s3types.ObjectIdentifier{obj}}})
		return err
	}
	if err := del(sf.session, "top.txt", "null"); apiCode(err) != "AccessDenied" {
		t.Errorf("DeleteObjects of a version with only s3:DeleteObject: %v", err)
	}
	if err := del(sf.session, "top.txt", ""); err != nil {
		t.Errorf("DeleteObjects with s3:DeleteObject: %v", err)
	}
	if err := del(sf.admin, "reports/b.txt", "null"); err != nil {
		t.Errorf("DeleteObjects of the null version: %v", err)
	}
	left, err := sf.admin.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: b})
	if err != nil || len(left.Versions) != 2 {
		t.Errorf("versions after deletes: %+v %v", left, err)
	}
}
