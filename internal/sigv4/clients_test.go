package sigv4

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/irsa-local/irsa-local/internal/testenv"
)

// The AWS CLI and boto3 are botocore, an implementation of SigV4 separate
// from the Go SDK's. These tests run them as installed on the machine
// (package testenv: IRSA_LOCAL_REQUIRE_CLIENTS=1 makes a missing one a
// failure; CI sets it).

// requireBoto3 returns the python3 that can import boto3.
func requireBoto3(t *testing.T) string {
	t.Helper()
	py := testenv.Tool(t, "python3")
	if out, err := exec.Command(py, "-c", "import boto3").CombinedOutput(); err != nil {
		testenv.Missing(t, "python3 cannot import boto3: "+strings.TrimSpace(string(out)))
	}
	return py
}

// pythonDNSHook makes every Python process started with the client
// environment resolve localhost and *.nip.io names to 127.0.0.1, so
// virtual-hosted bucket names need no DNS.
const pythonDNSHook = `import socket
_getaddrinfo = socket.getaddrinfo
def _loopback(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    if name and (name == "localhost" or name.endswith(".localhost") or name.endswith(".nip.io")):
        host = "127.0.0.1"
    return _getaddrinfo(host, *args, **kwargs)
socket.getaddrinfo = _loopback
`

// clientEnv is the environment for a botocore client signing as id against
// e: nothing from the caller's AWS configuration, one attempt per call,
// the endpoint's CA trusted through AWS_CA_BUNDLE.
func clientEnv(t *testing.T, e *testEndpoint, id identity, addressing string) []string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sitecustomize.py"), []byte(pythonDNSHook), 0o600); err != nil {
		t.Fatal(err)
	}
	// s3v4: without it botocore presigns S3 URLs with Signature Version 2.
	config := "[default]\nregion = us-east-1\ns3 =\n    addressing_style = " + addressing + "\n    signature_version = s3v4\n"
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "PYTHONPATH=") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"AWS_ACCESS_KEY_ID="+id.key,
		"AWS_SECRET_ACCESS_KEY="+id.secret,
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_MAX_ATTEMPTS=1",
		"AWS_RETRY_MODE=standard",
		"PYTHONPATH="+dir,
	)
	if id.token != "" {
		env = append(env, "AWS_SESSION_TOKEN="+id.token)
	}
	if e.caPEM != nil {
		env = append(env, "AWS_CA_BUNDLE="+e.writeCA(dir))
	}
	return env
}

// run runs a client command and returns its stdout; it fails the test if
// the command fails and wantErr is "", or if it does not fail with wantErr
// on stderr otherwise.
func run(t *testing.T, env []string, wantErr string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	switch {
	case wantErr == "" && err != nil:
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.String())
	case wantErr != "" && err == nil:
		t.Fatalf("%s %s succeeded, want it to fail with %s", filepath.Base(name), strings.Join(args, " "), wantErr)
	case wantErr != "" && !strings.Contains(stderr.String(), wantErr):
		t.Fatalf("%s %s failed without %s:\n%s", filepath.Base(name), strings.Join(args, " "), wantErr, stderr.String())
	}
	return stdout.String()
}

// payloadModes names how each verified S3 upload was signed.
func payloadModes(recs []record) map[string]int {
	modes := map[string]int{}
	for _, rec := range recs {
		if rec.verified == nil || rec.verified.Service != "s3" || rec.method != http.MethodPut {
			continue
		}
		m := rec.verified.PayloadHash
		if isHexSignature(m) {
			m = "literal"
		}
		if rec.verified.Presigned {
			m = "presigned " + m
		}
		modes[m]++
	}
	return modes
}

func fetch(t *testing.T, e *testEndpoint, method, url string, body []byte) []byte {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.httpClient().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s %s", method, url, resp.Status, data)
	}
	return data
}

// TestAWSCLI runs the AWS CLI against the endpoint: STS, IAM, s3api and the
// s3 commands, path-style and virtual-hosted, over HTTP and HTTPS.
func TestAWSCLI(t *testing.T) {
	aws := testenv.Tool(t, "aws")
	testenv.Tool(t, "python3")
	for _, useTLS := range []bool{false, true} {
		scheme := map[bool]string{false: "http", true: "https"}[useTLS]
		// The schemes have their own endpoints and run side by side; the
		// CLI spends most of its time starting up.
		t.Run(scheme, func(t *testing.T) {
			t.Parallel()
			testAWSCLI(t, aws, useTLS)
		})
	}
}

func testAWSCLI(t *testing.T, aws string, useTLS bool) {
	e := newTestEndpoint(t, testCredentials(), useTLS)
	for _, id := range []identity{staticIdentity, sessionIdentity} {
		t.Run(id.name+"/sts and iam", func(t *testing.T) {
			env := clientEnv(t, e, id, "path")
			e.reset()
			out := run(t, env, "", aws, "--endpoint-url", e.URL, "sts", "get-caller-identity", "--output", "json")
			var ident struct{ UserId string }
			if err := json.Unmarshal([]byte(out), &ident); err != nil || ident.UserId != id.key {
				t.Errorf("get-caller-identity printed %q", out)
			}
			run(t, env, "", aws, "--endpoint-url", e.URL, "iam", "list-roles", "--path-prefix", "/a b+c/")
			for _, v := range verifiedOnly(t, e.lastRecords()) {
				if v.SessionToken != id.token {
					t.Errorf("verified token %q, want %q", v.SessionToken, id.token)
				}
			}
		})
		for _, a := range []struct{ style, endpoint string }{{"path", e.URL}, {"virtual", e.hostURL(nipDomain)}} {
			t.Run(id.name+"/s3 "+a.style, func(t *testing.T) {
				env := clientEnv(t, e, id, a.style)
				dir := t.TempDir()
				src := filepath.Join(dir, "src.bin")
				data := patterned(1<<20 + 13)
				if err := os.WriteFile(src, data, 0o600); err != nil {
					t.Fatal(err)
				}
				empty := filepath.Join(dir, "empty")
				if err := os.WriteFile(empty, nil, 0o600); err != nil {
					t.Fatal(err)
				}
				e.reset()
				run(t, env, "", aws, "--endpoint-url", a.endpoint, "s3api", "put-object", "--bucket", "cli", "--key", "api/a b+c~ü.bin", "--body", src)
				run(t, env, "", aws, "--endpoint-url", a.endpoint, "s3api", "put-object", "--bucket", "cli", "--key", "api/empty", "--body", empty)
				run(t, env, "", aws, "--endpoint-url", a.endpoint, "s3", "cp", src, "s3://cli/cp/copied file.bin")
				dst := filepath.Join(dir, "back.bin")
				run(t, env, "", aws, "--endpoint-url", a.endpoint, "s3", "cp", "s3://cli/cp/copied file.bin", dst)
				back, err := os.ReadFile(dst)
				if err != nil || !bytes.Equal(back, data) {
					t.Fatalf("s3 cp round trip returned %d bytes, %v", len(back), err)
				}
				run(t, env, "", aws, "--endpoint-url", a.endpoint, "s3api", "get-object", "--bucket", "cli", "--key", "api/a b+c~ü.bin", dst)
				if back, _ = os.ReadFile(dst); !bytes.Equal(back, data) {
					t.Fatalf("get-object returned %d bytes", len(back))
				}
				url := strings.TrimSpace(run(t, env, "", aws, "--endpoint-url", a.endpoint, "s3", "presign", "s3://cli/api/a b+c~ü.bin", "--expires-in", "300"))
				if got := fetch(t, e, http.MethodGet, url, nil); !bytes.Equal(got, data) {
					t.Fatalf("presigned GET returned %d bytes", len(got))
				}
				recs := e.lastRecords()
				verifiedOnly(t, recs)
				checkAddressing(t, recs, a.style == "virtual")
				modes := payloadModes(recs)
				t.Logf("upload payloads: %v", modes)
				want := "literal"
				if useTLS {
					want = payloadStreamingUnsignedTrailer
				}
				if modes[want] == 0 {
					t.Errorf("no upload was signed as %s: %v", want, modes)
				}
				presigned := 0
				for _, rec := range recs {
					if rec.verified != nil && rec.verified.Presigned {
						presigned++
					}
				}
				if presigned != 1 {
					t.Errorf("%d presigned requests verified, want 1", presigned)
				}
			})
		}
	}
	t.Run("refusals", func(t *testing.T) {
		bad := clientEnv(t, e, identity{"bad", staticKey, staticSecret + "x", ""}, "path")
		run(t, bad, "SignatureDoesNotMatch", aws, "--endpoint-url", e.URL, "sts", "get-caller-identity")
		run(t, bad, "SignatureDoesNotMatch", aws, "--endpoint-url", e.URL, "s3api", "put-object", "--bucket", "cli", "--key", "k")
		unknown := clientEnv(t, e, identity{"unknown", "AKIAUNKNOWNKEY000000", staticSecret, ""}, "path")
		run(t, unknown, "InvalidClientTokenId", aws, "--endpoint-url", e.URL, "sts", "get-caller-identity")
		run(t, unknown, "InvalidAccessKeyId", aws, "--endpoint-url", e.URL, "s3api", "list-objects-v2", "--bucket", "cli")
		expired := clientEnv(t, e, identity{"expired", expiredKey, sessionSecret, sessionToken}, "path")
		run(t, expired, "ExpiredToken", aws, "--endpoint-url", e.URL, "sts", "get-caller-identity")
	})
}

// boto3Script exercises boto3 and, through botocore's SigV4Auth used
// directly, requests no SDK client makes: a signed User-Agent (which the
// Go SDK's signer never signs) with repeated query keys and a path botocore
// normalises before signing, and a signed "content-length: 0".
const boto3Script = `
import http.client, json, os, ssl, sys, urllib.parse, urllib.request
import boto3
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config

endpoint = os.environ["TEST_ENDPOINT"]
s3_endpoint = os.environ["TEST_S3_ENDPOINT"]
cfg = Config(s3={"addressing_style": os.environ["TEST_ADDRESSING"]}, retries={"total_max_attempts": 1}, signature_version="s3v4")
session = boto3.session.Session()
ctx = None
if endpoint.startswith("https"):
    ctx = ssl.create_default_context(cafile=os.environ["AWS_CA_BUNDLE"])

result = {}
result["user"] = session.client("sts", endpoint_url=endpoint, config=cfg).get_caller_identity()["UserId"]
session.client("iam", endpoint_url=endpoint, config=cfg).list_roles(PathPrefix="/a b+c/")

s3 = session.client("s3", endpoint_url=s3_endpoint, config=cfg)
objects = {
    "boto/a b+c~\u00fc.txt": b"x" * 1000,
    "boto/big.bin": bytes(range(256)) * (3 * 4096 + 7),
    "boto/empty": b"",
}
for key, body in objects.items():
    s3.put_object(Bucket="boto", Key=key, Body=body)
    got = s3.get_object(Bucket="boto", Key=key)["Body"].read()
    assert got == body, "round trip of %r returned %d bytes" % (key, len(got))
listed = s3.list_objects_v2(Bucket="boto", Prefix="boto/a b+c")
assert [o["Key"] for o in listed.get("Contents", [])] == ["boto/a b+c~\u00fc.txt"], listed

url = s3.generate_presigned_url("get_object", Params={"Bucket": "boto", "Key": "boto/a b+c~\u00fc.txt"}, ExpiresIn=300)
assert urllib.request.urlopen(url, context=ctx).read() == b"x" * 1000
url = s3.generate_presigned_url("put_object", Params={"Bucket": "boto", "Key": "boto/presigned put"}, ExpiresIn=300)
urllib.request.urlopen(urllib.request.Request(url, data=b"presigned", method="PUT"), context=ctx).read()
assert s3.get_object(Bucket="boto", Key="boto/presigned put")["Body"].read() == b"presigned"

# Unless configured for s3v4, botocore presigns S3 URLs with Signature
# Version 2, which the endpoint must refuse as an unsupported mechanism.
v2 = session.client("s3", endpoint_url=s3_endpoint, config=Config(s3={"addressing_style": os.environ["TEST_ADDRESSING"]}, signature_version="s3"))
url = v2.generate_presigned_url("get_object", Params={"Bucket": "boto", "Key": "boto/empty"}, ExpiresIn=300)
assert "AWSAccessKeyId=" in url, url
try:
    urllib.request.urlopen(url, context=ctx)
    result["sigv2_status"] = 200
except urllib.error.HTTPError as e:
    result["sigv2_status"] = e.code

# botocore's signer used directly, signing User-Agent as some SDKs do.
botocore.auth.SIGNED_HEADERS_BLACKLIST = [h for h in botocore.auth.SIGNED_HEADERS_BLACKLIST if h != "user-agent"]
creds = session.get_credentials().get_frozen_credentials()
target = "/clusters/my%20cluster//x/./y?b=2&a=1&a=0&c=x%20y%2Bz"
req = AWSRequest(method="GET", url=endpoint + target, headers={"User-Agent": "sigv4-test/1.0 (custom)", "X-Custom": "a   b"})
botocore.auth.SigV4Auth(creds, "eks", "us-east-1").add_auth(req)
parts = urllib.parse.urlsplit(endpoint)
conn = (http.client.HTTPSConnection(parts.hostname, parts.port, context=ctx) if ctx
        else http.client.HTTPConnection(parts.hostname, parts.port))
conn.request("GET", target, headers=dict(req.headers.items()))
resp = conn.getresponse()
body = resp.read()
assert resp.status == 200, (resp.status, body)
result["signed_user_agent"] = "user-agent" in req.headers["Authorization"]

# A signed "content-length: 0", which the SDK signer only signs when
# positive.
req = AWSRequest(method="GET", url=endpoint + "/clusters", headers={"Content-Length": "0"})
botocore.auth.SigV4Auth(creds, "eks", "us-east-1").add_auth(req)
conn.request("GET", "/clusters", headers=dict(req.headers.items()))
resp = conn.getresponse()
body = resp.read()
assert resp.status == 200, (resp.status, body)
result["signed_content_length"] = "content-length" in req.headers["Authorization"]
json.dump(result, sys.stdout)
`

// boto3Refusals prints the error codes boto3 gets.
const boto3Refusals = `
import json, os, sys
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
cfg = Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"})
endpoint = os.environ["TEST_ENDPOINT"]
codes = {}
try:
    boto3.client("sts", endpoint_url=endpoint, config=cfg).get_caller_identity()
except ClientError as e:
    codes["sts"] = e.response["Error"]["Code"]
try:
    boto3.client("s3", endpoint_url=endpoint, config=cfg).put_object(Bucket="boto", Key="k", Body=b"data")
except ClientError as e:
    codes["s3"] = e.response["Error"]["Code"]
json.dump(codes, sys.stdout)
`

// TestBoto3 runs boto3 against the endpoint over HTTP and HTTPS, where
// botocore sends aws-chunked uploads with CRC trailers.
func TestBoto3(t *testing.T) {
	py := requireBoto3(t)
	for _, useTLS := range []bool{false, true} {
		scheme := map[bool]string{false: "http", true: "https"}[useTLS]
		t.Run(scheme, func(t *testing.T) {
			t.Parallel()
			testBoto3(t, py, useTLS)
		})
	}
}

func testBoto3(t *testing.T, py string, useTLS bool) {
	e := newTestEndpoint(t, testCredentials(), useTLS)
	for _, id := range []identity{staticIdentity, sessionIdentity} {
		for _, a := range []struct{ style, endpoint string }{{"path", e.URL}, {"virtual", e.hostURL(nipDomain)}} {
			t.Run(id.name+"/"+a.style, func(t *testing.T) {
				env := append(clientEnv(t, e, id, a.style), "TEST_ENDPOINT="+e.URL, "TEST_S3_ENDPOINT="+a.endpoint, "TEST_ADDRESSING="+a.style)
				e.reset()
				out := run(t, env, "", py, "-c", boto3Script)
				var res struct {
					User            string `json:"user"`
					SignedUserAgent bool   `json:"signed_user_agent"`
					SigV2Status     int    `json:"sigv2_status"`
					SignedLength    bool   `json:"signed_content_length"`
				}
				if err := json.Unmarshal([]byte(out), &res); err != nil {
					t.Fatalf("script printed %q: %v", out, err)
				}
				if res.User != id.key || !res.SignedUserAgent || !res.SignedLength || res.SigV2Status != http.StatusBadRequest {
					t.Errorf("script reported %+v", res)
				}
				var recs []record
				for _, rec := range e.lastRecords() {
					if strings.Contains(rec.requestURI, "AWSAccessKeyId=") {
						if !errors.Is(rec.err, ErrMalformed) {
							t.Errorf("Signature Version 2 URL: Verify = %v, want ErrMalformed", rec.err)
						}
						continue
					}
					recs = append(recs, rec)
				}
				verified := verifiedOnly(t, recs)
				checkAddressing(t, recs, a.style == "virtual")
				modes := payloadModes(recs)
				t.Logf("%d requests; upload payloads: %v", len(verified), modes)
				want := "literal"
				if useTLS {
					want = payloadStreamingUnsignedTrailer
				}
				if modes[want] == 0 {
					t.Errorf("no upload was signed as %s: %v", want, modes)
				}
				if modes["presigned "+payloadUnsigned] != 1 {
					t.Errorf("presigned PUT not seen: %v", modes)
				}
				own := 0
				for _, v := range verified {
					if v.signer == "own" {
						own++
						if v.Service != "eks" {
							t.Errorf("the SDK signer could not reproduce a boto3 %s request: %+v", v.Service, v)
						}
					}
				}
				if own != 2 {
					t.Errorf("%d requests were verified by the own canonical request, want the two the SDK signer cannot reproduce", own)
				}
			})
		}
	}
	t.Run("refusals", func(t *testing.T) {
		for _, tc := range []struct {
			id       identity
			sts, s3c string
		}{
			{identity{"bad", staticKey, staticSecret + "x", ""}, "SignatureDoesNotMatch", "SignatureDoesNotMatch"},
			{identity{"unknown", "AKIAUNKNOWNKEY000000", staticSecret, ""}, "InvalidClientTokenId", "InvalidAccessKeyId"},
			{identity{"token", sessionKey, sessionSecret, "forged"}, "InvalidClientTokenId", "InvalidToken"},
		} {
			env := append(clientEnv(t, e, tc.id, "path"), "TEST_ENDPOINT="+e.URL)
			out := run(t, env, "", py, "-c", boto3Refusals)
			var codes map[string]string
			if err := json.Unmarshal([]byte(out), &codes); err != nil {
				t.Fatalf("script printed %q: %v", out, err)
			}
			if codes["sts"] != tc.sts || codes["s3"] != tc.s3c {
				t.Errorf("%s: boto3 saw %v, want sts %s and s3 %s", tc.id.name, codes, tc.sts, tc.s3c)
			}
		}
	})
}
