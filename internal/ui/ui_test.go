package ui

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/irsa-local/irsa-local/internal/doctor"
	"github.com/irsa-local/irsa-local/internal/trail"
)

// stubBackend stands in for a running environment: these tests are about
// the page's HTTP surface (guards, limits, the stream's framing); the e2e
// spec drives the page against a real environment in Chromium.
type stubBackend struct {
	trailFile string
	report    doctor.Report

	mu      sync.Mutex
	queries []Query
}

func (b *stubBackend) Inventory(context.Context) (Inventory, error) {
	return Inventory{Environment: Environment{Name: "test"}, Roles: []Role{{Name: "r", ARN: "arn:aws:iam::000000000000:role/r"}}}, nil
}

func (b *stubBackend) Chain(_ context.Context, q Query) (doctor.Report, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.queries = append(b.queries, q)
	return b.report, nil
}

func (b *stubBackend) Suggest(context.Context, string, time.Time) (any, error) {
	return map[string]string{"role": "r"}, nil
}

func (b *stubBackend) TrailFile() string { return b.trailFile }

func newStub(t *testing.T) *stubBackend {
	return &stubBackend{
		trailFile: filepath.Join(t.TempDir(), "trail.jsonl"),
		report: doctor.Report{
			{Name: doctor.CheckCluster, Status: doctor.OK, Detail: "up"},
			{Name: doctor.CheckTrustPolicy, Status: doctor.Fail, Detail: "wants another sub", Fix: "write the sub"},
			{Name: doctor.CheckPermissions, Status: doctor.Fail, Detail: "later"},
		},
	}
}

func do(t *testing.T, h http.Handler, method, target, body string, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	for k, v := range header {
		if k == "Host" {
			r.Host = v
		} else {
			r.Header.Set(k, v)
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func errorOf(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var e struct{ Error string }
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
		t.Fatalf("status %d answered %q, want {\"error\": ...}", w.Code, w.Body.String())
	}
	return e.Error
}

func TestServesTheEmbeddedPageWithItsGuards(t *testing.T) {
	s := New(newStub(t))
	for path, ctype := range map[string]string{"/": "text/html", "/static/app.js": "javascript", "/static/app.css": "text/css"} {
		w := do(t, s, "GET", path, "", nil)
		if w.Code != http.StatusOK || !strings.Contains(w.Header().Get("Content-Type"), ctype) {
			t.Errorf("GET %s: %d %s, want 200 %s", path, w.Code, w.Header().Get("Content-Type"), ctype)
		}
		csp := w.Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("GET %s: Content-Security-Policy %q lets other scripts or frames in", path, csp)
		}
		if w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no X-Content-Type-Options: nosniff", path)
		}
	}
	if w := do(t, s, "GET", "/static/../ui.go", "", nil); w.Code == http.StatusOK {
		t.Errorf("GET /static/../ui.go served %d bytes", w.Body.Len())
	}
	for _, path := range []string{"/static/missing.js", "/static/%8b", "/static/index.html", "/static/"} {
		if w := do(t, s, "GET", path, "", nil); w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, w.Code)
		}
	}
	if w := do(t, s, "DELETE", "/api/inventory", "", nil); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("DELETE /api/inventory: %d, want 405", w.Code)
	}
}

// The page puts names any caller chose (S3 keys, session names) on the
// screen; it must do so as text, never as markup.
func TestPageScriptWritesNoMarkup(t *testing.T) {
	b, err := fs.ReadFile(static, "static/app.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
		if strings.Contains(string(b), sink) {
			t.Errorf("app.js uses %s", sink)
		}
	}
}

func TestLoopbackPageRefusesOtherHosts(t *testing.T) {
	s := New(newStub(t), WithLoopbackHosts("4580"))
	for _, host := range []string{"127.0.0.1:4580", "localhost:4580", "[::1]:4580"} {
		if w := do(t, s, "GET", "/api/inventory", "", map[string]string{"Host": host}); w.Code != http.StatusOK {
			t.Errorf("Host %s: %d, want 200", host, w.Code)
		}
	}
	// A name rebound to 127.0.0.1 by another site, and another port.
	for _, host := range []string{"attacker.example:4580", "127.0.0.1:80", "localhost", strings.Repeat("x", 500)} {
		w := do(t, s, "GET", "/api/inventory", "", map[string]string{"Host": host})
		if w.Code != http.StatusMisdirectedRequest {
			t.Errorf("Host %.40s: %d, want 421", host, w.Code)
		}
		if len(w.Body.String()) > 300 {
			t.Errorf("Host %.40s: the refusal echoes %d bytes", host, w.Body.Len())
		}
	}
}

func TestSharedPageNeedsTheToken(t *testing.T) {
	const token = "s3cr3t-token-value"
	s := New(newStub(t), WithToken(token))
	for _, path := range []string{"/", "/api/inventory", "/api/chain?namespace=a&serviceAccount=b", "/api/trail", "/api/suggest?role=r"} {
		if w := do(t, s, "GET", path, "", nil); w.Code != http.StatusUnauthorized {
			t.Errorf("GET %s without the token: %d, want 401", path, w.Code)
		}
	}
	if w := do(t, s, "GET", "/api/inventory", "", map[string]string{"Cookie": cookieName + "=wrong"}); w.Code != http.StatusUnauthorized {
		t.Errorf("a wrong token: %d, want 401", w.Code)
	}
	// Opening the printed address trades the token for a cookie and
	// drops it from the address.
	w := do(t, s, "GET", "/?token="+token, "", nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/" {
		t.Fatalf("GET /?token=: %d to %q, want 303 to /", w.Code, w.Header().Get("Location"))
	}
	c := w.Result().Cookies()
	if len(c) != 1 || c[0].Value != token || !c[0].HttpOnly || c[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookies %+v, want one HttpOnly SameSite=Strict cookie holding the token", c)
	}
	for _, path := range []string{"/", "/api/inventory"} {
		if w := do(t, s, "GET", path, "", map[string]string{"Cookie": cookieName + "=" + token}); w.Code != http.StatusOK {
			t.Errorf("GET %s with the cookie: %d, want 200", path, w.Code)
		}
	}
}

func TestChainRefusesWhatNoObjectIsNamed(t *testing.T) {
	b := newStub(t)
	s := New(b)
	for q, want := range map[string]string{
		"namespace=..%2Fetc&serviceAccount=sa":                "not a Kubernetes name",
		"namespace=a&serviceAccount=a%20b":                    "not a Kubernetes name",
		"namespace=a&serviceAccount=b&action=s3:GetObject":    "together",
		"namespace=a&serviceAccount=b&resource=" + long(3000): "together",
	} {
		w := do(t, s, "GET", "/api/chain?"+q, "", nil)
		if w.Code != http.StatusBadRequest || !strings.Contains(errorOf(t, w), want) {
			t.Errorf("chain?%.60s: %d %s, want 400 saying %q", q, w.Code, w.Body.String(), want)
		}
	}
	if len(b.queries) != 0 {
		t.Fatalf("the refused queries reached the backend: %+v", b.queries)
	}
	w := do(t, s, "GET", "/api/chain?namespace=demo&serviceAccount=s3-reader&action=s3:ListBucket&resource=arn:aws:s3:::b", "", nil)
	var rep doctor.Report
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &rep) != nil || len(rep) != 3 {
		t.Fatalf("chain: %d %s", w.Code, w.Body.String())
	}
	want := Query{Namespace: "demo", ServiceAccount: "s3-reader", Action: "s3:ListBucket", Resource: "arn:aws:s3:::b"}
	if b.queries[0] != want {
		t.Fatalf("backend asked %+v, want %+v", b.queries[0], want)
	}
}

func long(n int) string { return strings.Repeat("a", n) }

func TestSuggestRefusesABadWindow(t *testing.T) {
	s := New(newStub(t))
	for q, want := range map[string]string{"": "name the role", "role=r&since=yesterday": "not a duration", "role=r&since=-5m": "not a duration"} {
		w := do(t, s, "GET", "/api/suggest?"+q, "", nil)
		if w.Code != http.StatusBadRequest || !strings.Contains(errorOf(t, w), want) {
			t.Errorf("suggest?%s: %d %s, want 400 saying %q", q, w.Code, w.Body.String(), want)
		}
	}
	if w := do(t, s, "GET", "/api/suggest?role=r&since=10m", "", nil); w.Code != http.StatusOK {
		t.Errorf("suggest with a window: %d", w.Code)
	}
}

// jwt builds an unsigned compact token: the inspector reads tokens
// without verifying them, and the chain's checks judge the signature.
func jwt(claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]any{"alg": "RS256", "kid": "k1"}) + "." + enc(claims) + ".c2ln"
}

func TestInspectReadsTheTokenAndNamesTheRefusingLink(t *testing.T) {
	b := newStub(t)
	s := New(b)
	now := time.Now()
	tok := jwt(map[string]any{"iss": "https://issuer", "sub": "system:serviceaccount:demo:s3-reader", "aud": []string{"sts.amazonaws.com"}, "iat": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Hour).Unix()})
	w := do(t, s, "POST", "/api/inspect", `{"token": "`+tok+`"}`, map[string]string{"Content-Type": "application/json"})
	if w.Code != http.StatusOK {
		t.Fatalf("inspect: %d %s", w.Code, w.Body.String())
	}
	var got Inspection
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Namespace != "demo" || got.ServiceAccount != "s3-reader" || got.Claims["iss"] != "https://issuer" || got.Header["kid"] != "k1" {
		t.Errorf("inspection %+v does not read the token's claims", got)
	}
	if len(got.Times) != 2 || got.Times[1].Claim != "exp" || !strings.HasSuffix(got.Times[1].Relative, " ago") {
		t.Errorf("times %+v, want iat and exp, exp an hour ago", got.Times)
	}
	if got.Refused == nil || got.Refused.Name != doctor.CheckTrustPolicy {
		t.Errorf("refused %+v, want the first failed check, trust-policy", got.Refused)
	}
	q := b.queries[0]
	if q.Token != tok || q.Namespace != "demo" || q.ServiceAccount != "s3-reader" {
		t.Errorf("the chain was checked for %+v, want the token and its service account", q)
	}
	if strings.Contains(w.Body.String(), tok) {
		t.Error("the answer echoes the token")
	}
}

func TestInspectRefusesWhatIsNoToken(t *testing.T) {
	b := newStub(t)
	s := New(b)
	jsonCT := map[string]string{"Content-Type": "application/json"}
	cases := []struct {
		body   string
		header map[string]string
		code   int
		want   string
	}{
		{`{"token": "x"}`, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, http.StatusUnsupportedMediaType, "as JSON"},
		{`{"token": "x"}`, nil, http.StatusUnsupportedMediaType, "as JSON"},
		{`not json`, jsonCT, http.StatusBadRequest, "as JSON"},
		{`{"token": ""}`, jsonCT, http.StatusBadRequest, "paste a token"},
		{`{"token": "a.b"}`, jsonCT, http.StatusBadRequest, "three dot-separated parts"},
		{`{"token": "!!.??.x"}`, jsonCT, http.StatusBadRequest, "decode token part 1"},
		{`{"token": "` + long(maxToken) + `"}`, jsonCT, http.StatusRequestEntityTooLarge, "no service-account token"},
	}
	for _, c := range cases {
		w := do(t, s, "POST", "/api/inspect", c.body, c.header)
		if w.Code != c.code || !strings.Contains(errorOf(t, w), c.want) {
			t.Errorf("inspect %.40s: %d %s, want %d saying %q", c.body, w.Code, w.Body.String(), c.code, c.want)
		}
	}
	if len(b.queries) != 0 {
		t.Fatalf("what is no token reached the chain: %+v", b.queries)
	}
}

func TestTrailStreamsTheNewestThenWhatFollows(t *testing.T) {
	b := newStub(t)
	tw, err := trail.Open(b.trailFile, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer tw.Close()
	_ = tw.Write(&trail.Record{EventID: "one", EventName: "CreateRole", EventSource: "iam.amazonaws.com", EventTime: time.Now()})
	srv := httptest.NewServer(New(b))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/trail", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	r := bufio.NewReader(res.Body)
	next := func() Entry {
		t.Helper()
		var event, data string
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("the stream ended: %v", err)
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = strings.TrimPrefix(line, "data: ")
			case line == "" && event == "record":
				var e Entry
				if err := json.Unmarshal([]byte(data), &e); err != nil {
					t.Fatalf("record %q: %v", data, err)
				}
				return e
			}
		}
	}
	if e := next(); e.ID != "one" || e.Service != "iam" {
		t.Fatalf("first event %+v, want the record already written", e)
	}
	_ = tw.Write(&trail.Record{
		EventID: "two", EventName: "PutObject", EventSource: "s3.amazonaws.com", EventTime: time.Now(),
		ErrorCode: "AccessDenied", ErrorMessage: "Access Denied",
		RequestParameters: map[string]any{"bucketName": "b", "key": "<img src=x onerror=alert(1)>"},
		UserIdentity: trail.UserIdentity{Type: "AssumedRole", ARN: "arn:aws:sts::000000000000:assumed-role/r/s", SessionContext: &trail.SessionContext{
			SessionIssuer: trail.SessionIssuer{ARN: "arn:aws:iam::000000000000:role/r"},
			Chain:         []trail.Hop{{Type: "WebIdentity", Subject: "system:serviceaccount:demo:s3-reader"}},
		}},
		IrsaLocal: &trail.Decision{Decision: "deny", Reason: "implicitly denied", Checks: []trail.Check{{Action: "s3:PutObject", Resource: "arn:aws:s3:::b/k"}}},
	})
	e := next()
	want := Entry{ID: "two", Decision: "deny", Service: "s3", Action: "PutObject", Caller: "arn:aws:sts::000000000000:assumed-role/r/s",
		Role: "arn:aws:iam::000000000000:role/r", ServiceAccount: "demo/s3-reader", Target: "bucketName=b key=<img src=x onerror=alert(1)>",
		ErrorCode: "AccessDenied", ErrorMessage: "Access Denied", Reason: "implicitly denied",
		Checks: []trail.Check{{Action: "s3:PutObject", Resource: "arn:aws:s3:::b/k"}}}
	e.Time = time.Time{}
	if !equalEntry(e, want) {
		t.Fatalf("entry\n %+v\nwant\n %+v", e, want)
	}
}

func equalEntry(a, b Entry) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestSummarizeAWebIdentityCall(t *testing.T) {
	e := Summarize(trail.Record{
		EventName: "AssumeRoleWithWebIdentity", EventSource: "sts.amazonaws.com", ErrorCode: "InvalidIdentityToken",
		UserIdentity:      trail.UserIdentity{Type: "WebIdentityUser", UserName: "system:serviceaccount:demo:other"},
		RequestParameters: map[string]any{"roleArn": "arn:aws:iam::000000000000:role/r"},
	})
	if e.Decision != "error" || e.Caller != "system:serviceaccount:demo:other" || e.ServiceAccount != "demo/other" || e.Role != "arn:aws:iam::000000000000:role/r" {
		t.Fatalf("entry %+v", e)
	}
	for _, sub := range []string{"system:serviceaccount:", "system:serviceaccount:ns", "system:serviceaccount::sa", "user:alice"} {
		if _, _, ok := serviceAccountOf(sub); ok {
			t.Errorf("%q read as a service account", sub)
		}
	}
}

// FuzzServer sends what a hostile page or client might: any method, path,
// query and body. The server answers each with a 2xx, 3xx or 4xx, never a
// 5xx or a panic.
var validMethod = regexp.MustCompile(`^[A-Za-z]{1,16}$`)

func FuzzServer(f *testing.F) {
	f.Add("GET", "/api/chain?namespace=a&serviceAccount=b", "")
	f.Add("POST", "/api/inspect", `{"token":"a.b.c"}`)
	f.Add("POST", "/api/inspect", `{"token":"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOjF9.x"}`)
	f.Add("GET", "/static/../../etc/passwd", "")
	f.Add("GET", "/api/suggest?role=%00&since=1h", "")
	f.Fuzz(func(t *testing.T, method, target, body string) {
		if !strings.HasPrefix(target, "/") || strings.HasPrefix(target, "/api/trail") {
			return // the stream does not end by itself
		}
		if !validMethod.MatchString(method) {
			return // not a request a client could send
		}
		b := &stubBackend{trailFile: filepath.Join(t.TempDir(), "trail"), report: doctor.Report{{Name: "cluster", Status: doctor.Fail}}}
		r, err := http.NewRequest(method, "http://127.0.0.1:4580"+target, io.NopCloser(strings.NewReader(body)))
		if err != nil {
			return // not a request a client could send
		}
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		New(b, WithLoopbackHosts("4580")).ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %s: %d %s", method, target, w.Code, w.Body.String())
		}
	})
}
