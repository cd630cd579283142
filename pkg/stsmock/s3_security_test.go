package stsmock

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Regression tests for S3 storage defects found by probing the endpoint as
// a hostile client: keys that escaped their bucket, non-atomic writes, keys
// that mapped to paths, and signing headers stored as metadata.

// writerSession returns an S3 client for a role allowed only
// s3:PutObject, GetObject and DeleteObject on bucket/*.
func (sf *s3Fixture) writerSession(t *testing.T, bucket string) *s3.Client {
	t.Helper()
	ctx := context.Background()
	provider := "arn:aws:iam::000000000000:oidc-provider/" + sf.hostPath(false)
	arn := sf.createRole("writer", eksTrust(provider, sf.hostPath(false), "default", "writer"))
	doc := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject","s3:GetObject","s3:DeleteObject"],"Resource":"arn:aws:s3:::%s/*"}]}`, bucket)
	if _, err := sf.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("writer"), PolicyName: aws.String("objects"), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	sf.assumeWith(t, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("pod"), WebIdentityToken: aws.String(sf.token("default", "writer"))})
	return s3.NewFromConfig(sf.config(credentials.StaticCredentialsProvider{Value: sf.creds}), func(o *s3.Options) { o.UsePathStyle = true })
}

func (sf *s3Fixture) mustPut(t *testing.T, c *s3.Client, bucket, key, body string) {
	t.Helper()
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
		t.Fatalf("PutObject %s/%q: %v", bucket, key, err)
	}
}

// get returns an object's content, or the error code.
func get(t *testing.T, c *s3.Client, bucket, key string) (string, string) {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return "", apiCode(err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), ""
}

func (sf *s3Fixture) bucketNames(t *testing.T) []string {
	t.Helper()
	out, err := sf.admin.ListBuckets(context.Background(), &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range out.Buckets {
		names = append(names, *b.Name)
	}
	return names
}

func TestKeysNeverLeaveTheirBucket(t *testing.T) {
	sf := newS3Fixture(t)
	ctx := context.Background()
	for _, b := range []string{"trav2", "victim2"} {
		if _, err := sf.admin.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	sf.mustPut(t, sf.admin, "victim2", "secret.txt", "secret")
	w := sf.writerSession(t, "trav2")
	escapes := []string{"../victim2/secret.txt", "..%2Fvictim2/secret.txt", "./../victim2/secret.txt", "a/../../victim2/secret.txt", "/../victim2/secret.txt"}
	for _, key := range escapes {
		if body, code := get(t, w, "trav2", key); code != "NoSuchKey" {
			t.Errorf("GET trav2/%q before any write: %q %q, want NoSuchKey", key, body, code)
		}
		sf.mustPut(t, w, "trav2", key, "overwritten")
		if body, code := get(t, w, "trav2", key); body != "overwritten" || code != "" {
			t.Errorf("GET trav2/%q: %q %q, want its own content", key, body, code)
		}
		if _, err := w.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("trav2"), Key: aws.String(key)}); err != nil {
			t.Errorf("DeleteObject trav2/%q: %v", key, err)
		}
	}
	sf.mustPut(t, w, "trav2", "../victim2/secret.txt", "x")
	del, err := w.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("trav2"), Delete: &s3types.Delete{Objects: []s3types.ObjectIdentifier{{Key: aws.String("../victim2/secret.txt")}, {Key: aws.String("../../victim2/secret.txt")}}}})
	if err != nil || len(del.Deleted) != 2 {
		t.Fatalf("DeleteObjects: %+v %v", del, err)
	}
	if body, code := get(t, sf.admin, "victim2", "secret.txt"); body != "secret" {
		t.Fatalf("victim2/secret.txt after the writes: %q %q, want it untouched", body, code)
	}
	sf.mustPut(t, w, "trav2", "../newbkt-x/obj", "x")
	for _, name := range sf.bucketNames(t) {
		if name == "newbkt-x" {
			t.Fatalf("a key created bucket %q: %v", name, sf.bucketNames(t))
		}
	}
	sf.mustPut(t, w, "trav2", "../victim2/secret.txt", "x")
	// The copy source is authorized and read as one reading: a role may
	// not copy from a bucket it cannot read by spelling the source oddly.
	for _, src := range []string{"trav2/../victim2/secret.txt", "victim2/secret.txt", "victim2%2Fsecret.txt", "/victim2/secret.txt"} {
		_, err := w.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("trav2"), Key: aws.String("copy"), CopySource: aws.String(src)})
		if src == "trav2/../victim2/secret.txt" {
			// Allowed (the source is trav2's own key "../victim2/secret.txt"), and it is that key.
			if err != nil {
				t.Errorf("CopyObject from %q: %v", src, err)
			} else if body, _ := get(t, w, "trav2", "copy"); body != "x" {
				t.Errorf("CopyObject from %q copied %q, want trav2's own object", src, body)
			}
			continue
		}
		if apiCode(err) != "AccessDenied" {
			t.Errorf("CopyObject from %q: %v, want AccessDenied", src, err)
		}
	}
}

func TestValidKeysRoundTrip(t *testing.T) {
	sf := newS3Fixture(t)
	ctx := context.Background()
	keys := []string{"a", "a/b", "d/x", "d", "folder/", "folder/child", "x/y", "x/./y", "x//y", "/lead", "nul\x00byte", "..", ".", "spa ce+plus%25", "ünïcödé/ключ", strings.Repeat("k", maxKeyLength)}
	for _, k := range keys {
		sf.mustPut(t, sf.admin, testBucket, k, "value of "+k)
	}
	for _, k := range keys {
		if body, code := get(t, sf.admin, testBucket, k); body != "value of "+k {
			t.Errorf("GET %q: %q %q", k, body, code)
		}
	}
	list, err := sf.admin.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(testBucket)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(list.Contents), len(keys)+1; got != want { // + reports/a.txt
		t.Errorf("ListObjectsV2: %d objects, want %d", got, want)
	}
	// Listings are in key order and a delimiter groups as S3 does.
	grouped, err := sf.admin.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(testBucket), Prefix: aws.String("x/"), Delimiter: aws.String("/")})
	if err != nil {
		t.Fatal(err)
	}
	var prefixes []string
	for _, p := range grouped.CommonPrefixes {
		prefixes = append(prefixes, *p.Prefix)
	}
	if strings.Join(prefixes, ",") != "x/./,x//" || len(grouped.Contents) != 1 || *grouped.Contents[0].Key != "x/y" {
		t.Errorf("ListObjectsV2 x/ by /: prefixes %v, contents %d", prefixes, len(grouped.Contents))
	}
	// A key of exactly the maximum length is also a copy source.
	if _, err := sf.admin.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(testBucket), Key: aws.String("copied"), CopySource: aws.String(testBucket + "/" + strings.Repeat("k", maxKeyLength))}); err != nil {
		t.Errorf("CopyObject from a %d-byte key: %v", maxKeyLength, err)
	}
	long := strings.Repeat("k", maxKeyLength+1)
	_, err = sf.admin.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String(long), Body: strings.NewReader("x")})
	if apiCode(err) != "KeyTooLongError" {
		t.Errorf("PutObject of a %d-byte key: %v, want KeyTooLongError", len(long), err)
	}
	if _, code := get(t, sf.admin, testBucket, long); code != "KeyTooLongError" {
		t.Errorf("GetObject of a %d-byte key: %q, want KeyTooLongError", len(long), code)
	}
	_, err = sf.admin.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(testBucket), Key: aws.String(long)})
	if apiCode(err) != "KeyTooLongError" {
		t.Errorf("DeleteObject of a long key: %v", err)
	}
	_, err = sf.admin.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(testBucket), Key: aws.String("c"), CopySource: aws.String(testBucket + "/" + long)})
	if apiCode(err) != "KeyTooLongError" {
		t.Errorf("CopyObject from a long key: %v", err)
	}
	_, err = sf.admin.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(testBucket), Key: aws.String(long)})
	if !strings.Contains(fmt.Sprint(err), "StatusCode: 400") {
		t.Errorf("HeadObject of a long key: %v, want 400", err)
	}
}

func TestSigningHeadersAreNotStoredAsMetadata(t *testing.T) {
	sf := newS3Fixture(t)
	ctx := context.Background()
	w := sf.writerSession(t, testBucket)
	token := sf.creds.SessionToken
	_, err := w.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(testBucket), Key: aws.String("m"), Body: strings.NewReader("body"),
		Metadata: map[string]string{"owner": "me"}, ContentType: aws.String("text/plain"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(testBucket), Key: aws.String("m2"), CopySource: aws.String(testBucket + "/m")}); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"m", "m2"} {
		req, _ := http.NewRequest(http.MethodHead, sf.http.URL+"/"+testBucket+"/"+key, nil)
		req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("HEAD %s: %s", key, resp.Status)
		}
		for name, v := range resp.Header {
			if strings.Contains(strings.Join(v, ""), token) {
				t.Errorf("HEAD %s: header %s carries the uploader's session token", key, name)
			}
			switch http.CanonicalHeaderKey(name) {
			case "X-Amz-Security-Token", "X-Amz-Date", "X-Amz-Content-Sha256", "X-Amz-Decoded-Content-Length", "X-Amz-Sdk-Checksum-Algorithm", "X-Amz-Trailer":
				t.Errorf("HEAD %s: request header %s stored and returned", key, name)
			}
		}
		if resp.Header.Get("X-Amz-Meta-Owner") != "me" || resp.Header.Get("Content-Type") != "text/plain" {
			t.Errorf("HEAD %s: metadata not kept: %v", key, resp.Header)
		}
	}
	// Nothing under the state directory holds the token either.
	_ = sf.srv.Close()
	err = filepath.Walk(sf.stateDir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err == nil && bytes.Contains(data, []byte(token)) {
			t.Errorf("%s holds the session token", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// putHead returns the head of a PUT of key signed with the admin
// credentials that declares declared bytes of body.
func (sf *s3Fixture) putHead(t *testing.T, key string, header http.Header, declared int) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, sf.http.URL+"/"+testBucket+"/"+key, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	payload := header.Get("X-Amz-Content-Sha256")
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, req, payload, "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "PUT /%s/%s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", testBucket, key, req.Host, declared)
	for k, v := range req.Header {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v[0])
	}
	b.WriteString("\r\n")
	return b.String()
}

// rawPut sends a signed PUT that declares declared bytes of body but sends
// only sent, then closes the connection.
func (sf *s3Fixture) rawPut(t *testing.T, key string, header http.Header, declared int, sent string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(sf.http.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, sf.putHead(t, key, header, declared)+sent); err != nil {
		t.Fatal(err)
	}
	// Let the server read what was sent, then hang up mid-body.
	time.Sleep(100 * time.Millisecond)
	_ = conn.Close()
}

func TestAbortedUploadsChangeNothing(t *testing.T) {
	sf := newS3Fixture(t)
	ctx := context.Background()
	sf.mustPut(t, sf.admin, testBucket, "kept", "the acknowledged version")
	cases := map[string]struct {
		header   http.Header
		declared int
		sent     string
	}{
		"unsigned payload": {http.Header{"X-Amz-Content-Sha256": {"UNSIGNED-PAYLOAD"}}, 1000, "abcd"},
		"aws-chunked, unsigned with trailer": {http.Header{
			"X-Amz-Content-Sha256": {"STREAMING-UNSIGNED-PAYLOAD-TRAILER"}, "Content-Encoding": {"aws-chunked"},
			"X-Amz-Decoded-Content-Length": {"1000"}, "X-Amz-Trailer": {"x-amz-checksum-crc32"},
		}, 1100, "3e8\r\nabcd"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			for _, key := range []string{"kept", "new-key"} {
				sf.rawPut(t, key, c.header, c.declared, c.sent)
			}
			// The server may still be reading when the client is gone;
			// what matters is what a reader sees afterwards.
			deadline := time.Now().Add(1500 * time.Millisecond)
			for {
				body, code := get(t, sf.admin, testBucket, "kept")
				if body != "the acknowledged version" {
					t.Fatalf("kept after an aborted overwrite: %q %q", body, code)
				}
				if _, code := get(t, sf.admin, testBucket, "new-key"); code != "NoSuchKey" {
					t.Fatalf("new-key after an aborted upload: %q, want NoSuchKey", code)
				}
				if time.Now().After(deadline) {
					break
				}
				time.Sleep(500 * time.Millisecond)
			}
			list, err := sf.admin.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(testBucket)})
			if err != nil || len(list.Contents) != 2 {
				t.Fatalf("ListObjectsV2 after aborted uploads: %+v %v", list, err)
			}
		})
	}
}

func TestS3RefusesWhatS3Refuses(t *testing.T) {
	sf := newS3Fixture(t)
	ctx := context.Background()
	for _, name := range []string{"xn--bucket", "sthree-bucket", "bucket-s3alias", "bucket--ol-s3", "amzn-s3-demo-bucket", "Upper", "a", "..", "192.168.5.4"} {
		_, err := sf.admin.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
		if apiCode(err) != "InvalidBucketName" {
			t.Errorf("CreateBucket %q: %v, want InvalidBucketName", name, err)
		}
	}
	// A 5 GiB + 1 PUT is refused before its body is read, and answered
	// without waiting for a body the server will never read.
	defer func(g time.Duration) { bodyGrace = g }(bodyGrace)
	bodyGrace = time.Hour
	conn, err := net.Dial("tcp", strings.TrimPrefix(sf.http.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT /%s/huge HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", testBucket, int64(maxObjectSize)+1)
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "<Code>EntityTooLarge</Code>") || !strings.Contains(string(body), "<MaxSizeAllowed>5368709120</MaxSizeAllowed>") {
		t.Errorf("5 GiB + 1 PUT: %d %s", resp.StatusCode, body)
	}
	// Exactly 5 GiB is allowed (and here refused only for want of
	// credentials).
	conn2, err := net.Dial("tcp", strings.TrimPrefix(sf.http.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	fmt.Fprintf(conn2, "PUT /%s/huge HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", testBucket, int64(maxObjectSize))
	_ = conn2.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp2, err := http.ReadResponse(bufio.NewReader(conn2), nil)
	if err != nil {
		t.Fatal(err)
	}
	body2, _ := io.ReadAll(resp2.Body)
	if !strings.Contains(string(body2), "<Code>AccessDenied</Code>") {
		t.Errorf("5 GiB PUT: %d %s, want AccessDenied", resp2.StatusCode, body2)
	}
	// Requests no S3 operation matches get a 4xx, never a 5xx.
	for _, c := range []struct{ method, path, ct, code string }{
		{"POST", "/anything", "text/plain", "InvalidArgument"},
		{"POST", "/", "text/plain", "MethodNotAllowed"},
		{"POST", "/" + testBucket + "/key", "text/plain", "MethodNotAllowed"},
		{"PATCH", "/" + testBucket, "", "MethodNotAllowed"},
		{"POST", "/" + testBucket + "?acl", "", "MethodNotAllowed"},
		{"GET", "/" + testBucket + "?analytics", "", "NotImplemented"},
	} {
		req, _ := http.NewRequest(c.method, sf.http.URL+c.path, strings.NewReader("x"))
		if c.ct != "" {
			req.Header.Set("Content-Type", c.ct)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), "<Code>"+c.code+"</Code>") {
			t.Errorf("%s %s: %d %s, want %s", c.method, c.path, resp.StatusCode, body, c.code)
		}
		if c.code != "NotImplemented" && (resp.StatusCode < 400 || resp.StatusCode >= 500) {
			t.Errorf("%s %s: status %d, want a 4xx", c.method, c.path, resp.StatusCode)
		}
	}
}

func TestEarlierS3StorageIsImported(t *testing.T) {
	f := &fixture{t: t, issuerDir: t.TempDir(), stateDir: t.TempDir()}
	old := filepath.Join(f.stateDir, "s3")
	if err := os.MkdirAll(filepath.Join(old, "buckets", "kept", "dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(old, "buckets", "kept", "dir", "obj.txt"), []byte("old data"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.startIssuer()
	f.startServer()
	c := s3.NewFromConfig(f.cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if body, code := get(t, c, "kept", "dir/obj.txt"); body != "old data" {
		t.Fatalf("imported object: %q %q", body, code)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("earlier storage still there after the import: %v", err)
	}
}

// A body dripped byte by byte is cut off once it falls behind the minimum
// rate, with S3's RequestTimeout, and stores nothing.
func TestSlowBodiesAreCutOff(t *testing.T) {
	defer func(g time.Duration, r int) { bodyGrace, bodyMinRate = g, r }(bodyGrace, bodyMinRate)
	bodyGrace, bodyMinRate = 300*time.Millisecond, 500
	sf := newS3Fixture(t)
	for _, c := range []struct{ name, head, want string }{
		{"S3 PUT", sf.putHead(t, "slow", http.Header{"X-Amz-Content-Sha256": {"UNSIGNED-PAYLOAD"}}, 1000), "<Code>RequestTimeout</Code>"},
		// A signed payload is read while the signature is checked.
		{"S3 PUT, signed payload", sf.putHead(t, "slow", http.Header{"X-Amz-Content-Sha256": {sha256Hex(strings.Repeat("a", 1000))}}, 1000), "<Code>RequestTimeout</Code>"},
		{"STS POST", "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n", "<Code>IncompleteBody</Code>"},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", strings.TrimPrefix(sf.http.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, c.head); err != nil {
				t.Fatal(err)
			}
			go func() {
				for i := 0; i < 50; i++ {
					if _, err := conn.Write([]byte("a")); err != nil {
						return
					}
					time.Sleep(200 * time.Millisecond)
				}
			}()
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer within 5 s to a body dripping at 5 bytes/s: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), c.want) {
				t.Fatalf("%d %s, want 400 %s", resp.StatusCode, body, c.want)
			}
		})
	}
	if _, code := get(t, sf.admin, testBucket, "slow"); code != "NoSuchKey" {
		t.Errorf("the slow upload stored something: %q", code)
	}
	// A body at a normal speed is untouched by the limit.
	sf.mustPut(t, sf.admin, testBucket, "fast", strings.Repeat("x", 1<<20))
}

// A storage failure answers InternalError and says why in the log.
func TestStorageFailuresAreLogged(t *testing.T) {
	var logBuf bytes.Buffer
	sf := newS3Fixture(t, WithLogger(slog.New(slog.NewTextHandler(&logBuf, nil))))
	objects := filepath.Join(sf.stateDir, "s3store", "buckets", testBucket, "objects")
	if err := os.RemoveAll(objects); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(objects, nil, 0o600); err != nil { // a file where the directory was
		t.Fatal(err)
	}
	_, err := sf.admin.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String("k"), Body: strings.NewReader("x")})
	if apiCode(err) != "InternalError" {
		t.Fatalf("PutObject into a broken store: %v, want InternalError", err)
	}
	if !strings.Contains(logBuf.String(), "S3 storage failed") || !strings.Contains(logBuf.String(), "not a directory") {
		t.Fatalf("log: %q", logBuf.String())
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// S3 names the unknown access key in its InvalidAccessKeyId error.
func TestInvalidAccessKeyIdNamesTheKey(t *testing.T) {
	sf := newS3Fixture(t)
	req, _ := http.NewRequest(http.MethodGet, sf.http.URL+"/"+testBucket, nil)
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIAUNKNOWN000000000", SecretAccessKey: "x"}, req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "<Code>InvalidAccessKeyId</Code>") || !strings.Contains(string(body), "<AWSAccessKeyId>AKIAUNKNOWN000000000</AWSAccessKeyId>") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}
