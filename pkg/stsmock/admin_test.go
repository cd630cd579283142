package stsmock

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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
)

// adminCall sends an admin API call, signed with creds unless creds is
// nil, and returns status and body.
func (f *fixture) adminCall(t testing.TB, method, path, contentType, body string, creds *aws.Credentials, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.http.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if creds != nil {
		sum := sha256.Sum256([]byte(body))
		if err := v4.NewSigner().SignHTTP(context.Background(), *creds, req, hex.EncodeToString(sum[:]), "irsa-local", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var adminCreds = &aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}

func TestAdminAPINeedsTheAdminCredentials(t *testing.T) {
	sf := newS3Fixture(t)
	sf.assumeCreds(t)
	session := &aws.Credentials{AccessKeyID: sf.creds.AccessKeyID, SecretAccessKey: sf.creds.SecretAccessKey, SessionToken: sf.creds.SessionToken}
	wrong := &aws.Credentials{AccessKeyID: "test", SecretAccessKey: "wrong"}
	calls := []struct{ method, path, body string }{
		{"GET", "/_irsa-local/clock", ""},
		{"POST", "/_irsa-local/clock", `{"advance":"2h"}`},
		{"POST", "/_irsa-local/reset", `{}`},
		{"POST", "/_irsa-local/keys/flush", `{}`},
		{"GET", "/_irsa-local/oidc-provider?url=x", ""},
		{"POST", "/_irsa-local/authorize", `{"roleArn":"arn:aws:iam::000000000000:role/app","action":"sqs:SendMessage","resource":"*"}`},
	}
	for _, c := range calls {
		for name, creds := range map[string]*aws.Credentials{"unsigned": nil, "a role session": session, "a wrong secret": wrong} {
			status, body := sf.adminCall(t, c.method, c.path, "application/json", c.body, creds, nil)
			if status != http.StatusForbidden {
				t.Errorf("%s %s %s: %d %s, want 403", name, c.method, c.path, status, body)
			}
		}
		// A web page can send a text/plain POST across origins without a
		// preflight; and a browser always names the page's origin.
		if status, body := sf.adminCall(t, c.method, c.path, "text/plain", c.body, adminCreds, nil); c.method == "POST" && status != http.StatusUnsupportedMediaType {
			t.Errorf("text/plain %s %s: %d %s, want 415", c.method, c.path, status, body)
		}
		if status, body := sf.adminCall(t, c.method, c.path, "application/json", c.body, adminCreds, http.Header{"Origin": {"http://evil.example"}}); status != http.StatusForbidden {
			t.Errorf("cross-origin %s %s: %d %s, want 403", c.method, c.path, status, body)
		}
	}
	if off := sf.srv.Clock().Offset(); off != 0 {
		t.Fatalf("refused calls moved the clock by %v", off)
	}
	if ok, _ := sf.srv.s3.backend.BucketExists(testBucket); !ok {
		t.Fatal("refused calls reset the account")
	}
	if status, body := sf.adminCall(t, "GET", "/_irsa-local/health", "", "", nil, nil); status != http.StatusOK {
		t.Errorf("health without credentials: %d %s", status, body)
	}
	if status, body := sf.adminCall(t, "POST", "/_irsa-local/clock", "application/json", `{"advance":"2h"}`, adminCreds, nil); status != http.StatusOK || !strings.Contains(body, `"offset":"2h0m0s"`) {
		t.Errorf("admin advance: %d %s", status, body)
	}
}

func TestAdminClockRefusesWhatMakesNoSense(t *testing.T) {
	f := newFixture(t)
	for _, body := range []string{
		`{"advance":"-1h"}`, `{"advance":"0s"}`, `{"advance":"2562047h"}`, `{"advance":"87601h"}`,
		`{"advance":"soon"}`, `{}`, `{"advance":"1h","reset":true}`, `{"advance":1}`, `{"rewind":"1h"}`, `not json`,
	} {
		status, resp := f.adminCall(t, "POST", "/_irsa-local/clock", "application/json", body, adminCreds, nil)
		var e AdminError
		if status != http.StatusBadRequest || json.Unmarshal([]byte(resp), &e) != nil || e.Code != "InvalidInput" || e.Error == "" {
			t.Errorf("%s: %d %s, want 400 InvalidInput", body, status, resp)
		}
	}
	if off := f.srv.Clock().Offset(); off != 0 {
		t.Fatalf("refused advances moved the clock to %v", off)
	}
	// Two advances that would overflow time.Duration together.
	for i, want := range []int{http.StatusOK, http.StatusBadRequest} {
		if status, body := f.adminCall(t, "POST", "/_irsa-local/clock", "application/json", `{"advance":"60000h"}`, adminCreds, nil); status != want {
			t.Errorf("advance %d: %d %s, want %d", i+1, status, body, want)
		}
	}
	if off := f.srv.Clock().Offset(); off != 60000*time.Hour {
		t.Fatalf("offset %v, want 60000h", off)
	}
	big := `{"advance":"` + strings.Repeat("9", 8<<10) + `h"}`
	if status, body := f.adminCall(t, "POST", "/_irsa-local/clock", "application/json", big, adminCreds, nil); status != http.StatusRequestEntityTooLarge || len(body) > 1024 {
		t.Errorf("8 KiB body: %d, %d bytes back", status, len(body))
	}
}

// FuzzAdminAPI sends arbitrary admin calls signed with the admin
// credentials: none may answer 5xx, and the clock never goes back nor past
// its bound.
func FuzzAdminAPI(f *testing.F) {
	for _, s := range []struct{ method, path, body string }{
		{"POST", "/_irsa-local/clock", `{"advance":"2h"}`},
		{"POST", "/_irsa-local/clock", `{"advance":"-2h"}`},
		{"POST", "/_irsa-local/clock", `{"reset":true}`},
		{"GET", "/_irsa-local/clock", ""},
		{"GET", "/_irsa-local/oidc-provider?url=https://x/id/Y", ""},
		{"POST", "/_irsa-local/keys/flush", "{}"},
		{"PUT", "/_irsa-local/../clock", "{}"},
		{"GET", "/_irsa-local/%2e%2e/", ""},
	} {
		f.Add(s.method, s.path, s.body)
	}
	fx := newFixture(f)
	f.Fuzz(func(t *testing.T, method, path, body string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(method, " \t\r\n") || method == "" {
			return
		}
		req, err := http.NewRequest(method, fx.http.URL+adminPrefix+strings.TrimPrefix(path, "/"), bytes.NewReader([]byte(body)))
		if err != nil || strings.HasSuffix(req.URL.Path, "/reset") {
			return // reset is tested above; fuzzing it only slows the run
		}
		req.Header.Set("Content-Type", "application/json")
		sum := sha256.Sum256([]byte(body))
		if err := v4.NewSigner().SignHTTP(context.Background(), *adminCreds, req, hex.EncodeToString(sum[:]), "irsa-local", "us-east-1", time.Now()); err != nil {
			return
		}
		before := fx.srv.Clock().Offset()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %q %q: %s", method, path, body, resp.Status)
		}
		after := fx.srv.Clock().Offset()
		if after < 0 || after > 10*365*24*time.Hour || (after < before && after != 0) {
			t.Fatalf("%s %q %q moved the clock from %v to %v", method, path, body, before, after)
		}
	})
}

// Oversized parameters cost a few hundred bytes in the response, the trail
// and the log, and a token is never written to either.
func TestOversizedParametersAreNotEchoed(t *testing.T) {
	var logBuf bytes.Buffer
	trailPath := t.TempDir() + "/trail.jsonl"
	f := newFixture(t, WithTrail(trailPath), WithLogger(slog.New(slog.NewTextHandler(&logBuf, nil))))
	roleARN := f.setup()
	huge := strings.Repeat("A", 950<<10)
	form := assumeForm(strings.Repeat("r", 1<<20), huge)
	for i := 0; i < 5; i++ {
		status, body := f.wire(form)
		if status != http.StatusBadRequest && status != http.StatusRequestEntityTooLarge {
			t.Fatalf("oversized call: %d", status)
		}
		if len(body) > 2*maxReason {
			t.Fatalf("response of %d bytes echoes the parameters", len(body))
		}
	}
	form = assumeForm(roleARN, huge[:19000])
	form.Set("RoleSessionName", strings.Repeat("s", 100<<10))
	if _, body := f.wire(form); len(body) > 2*maxReason || strings.Contains(body, huge[:100]) {
		t.Fatalf("response of %d bytes echoes the parameters", len(body))
	}
	// A well-formed token refused for its role: its text is nowhere.
	tok := f.token("default", "other")
	if status, _ := f.wire(assumeForm(roleARN, tok)); status != http.StatusForbidden {
		t.Fatalf("token for another service account: %d", status)
	}
	_ = f.srv.Close()
	trailBytes, err := os.ReadFile(trailPath)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"trail": trailBytes, "log": logBuf.Bytes()} {
		if len(b) > 64<<10 {
			t.Errorf("%s grew to %d bytes for 7 refused calls", name, len(b))
		}
		if bytes.Contains(b, []byte(huge[:1000])) || bytes.Contains(b, []byte(tok)) {
			t.Errorf("%s holds a token", name)
		}
	}
}

// Bodies larger than a service takes are refused from their declared
// length, before any of them is read into memory.
func TestOversizedBodiesAreRefusedUnread(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct{ name, head, want string }{
		{"STS", "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1073741824\r\n\r\n", "RequestEntityTooLarge"},
		{"EKS", "POST /tags/arn HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: AWS4-HMAC-SHA256 Credential=test/20261203/us-east-1/eks/aws4_request, SignedHeaders=host, Signature=00\r\nX-Amz-Date: 20261203T000000Z\r\nContent-Length: 1073741824\r\n\r\n", "InvalidParameterException"},
	} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(f.http.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(conn, c.head); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		conn.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body)+resp.Header.Get("x-amzn-ErrorType"), c.want) {
			t.Errorf("%s with a 1 GiB body: %d %s", c.name, resp.StatusCode, body)
		}
	}
}

// TestAdminAccounts: the accounts endpoint creates and lists accounts,
// refuses anything but 12 digits (no path can come of an id), and is the
// admin credentials' alone: another account's root is refused.
func TestAdminAccounts(t *testing.T) {
	f := newFixture(t)
	admin := &aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}
	for _, bad := range []string{`{"id":"../../../etc/x"}`, `{"id":"11111111111"}`, `{"id":"1111111111111"}`, `{"id":"11111111111a"}`, `{"id":""}`, `{"id":"111111111111","x":1}`, `not json`} {
		if code, body := f.adminCall(t, http.MethodPost, "/_irsa-local/accounts", "application/json", bad, admin, nil); code != http.StatusBadRequest || !strings.Contains(body, "InvalidInput") {
			t.Errorf("POST %s: %d %s", bad, code, body)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(f.stateDir, "accounts")); len(entries) != 0 {
		t.Fatalf("refused ids left files: %v", entries)
	}
	code, body := f.adminCall(t, http.MethodPost, "/_irsa-local/accounts", "application/json", `{"id":"222222222222"}`, admin, nil)
	if code != http.StatusOK || !strings.Contains(body, `"222222222222"`) {
		t.Fatalf("create: %d %s", code, body)
	}
	if _, err := os.Stat(filepath.Join(f.stateDir, "accounts", "222222222222.json")); err != nil {
		t.Fatalf("account file: %v", err)
	}
	code, body = f.adminCall(t, http.MethodGet, "/_irsa-local/accounts", "", "", admin, nil)
	if code != http.StatusOK || body != `{"accounts":["000000000000","222222222222"]}`+"\n" {
		t.Fatalf("list: %d %q", code, body)
	}
	root := &aws.Credentials{AccessKeyID: "222222222222", SecretAccessKey: "anything"}
	if code, body := f.adminCall(t, http.MethodGet, "/_irsa-local/accounts", "", "", root, nil); code != http.StatusForbidden || !strings.Contains(body, "AccessDenied") {
		t.Fatalf("another account's root: %d %s", code, body)
	}
}
