package awsquery

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func TestParamsLists(t *testing.T) {
	r := httptest.NewRequest("POST", "/?Action=X", nil)
	body := "ClientIDList.member.2=b&ClientIDList.member.10=c&ClientIDList.member.1=a&ClientIDList.member.x=junk" +
		"&Tags.member.2.Key=k2&Tags.member.2.Value=v2&Tags.member.1.Key=k1&Tags.member.1.Other=o"
	p, err := ReadParams(r, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.List("ClientIDList"); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Errorf("List: %q, want members in numeric order", got)
	}
	want := []map[string]string{{"Key": "k1"}, {"Key": "k2", "Value": "v2"}}
	if got := p.StructList("Tags", "Key", "Value"); !reflect.DeepEqual(got, want) {
		t.Errorf("StructList: %v, want %v", got, want)
	}
	if p.Get("Action") != "X" || !p.Has("Tags.member.1.Key") || p.Has("Nope") {
		t.Error("Get/Has do not see the URL query and the form")
	}
	if _, err := ReadParams(r, []byte("a=%zz")); err == nil || !strings.Contains(err.Error(), "MalformedQueryString") {
		t.Errorf("malformed form: %v", err)
	}
}

func TestValidationMessages(t *testing.T) {
	var v Validation
	if v.Err() != nil {
		t.Fatal("no problem is no error")
	}
	long := strings.Repeat("x", 1000)
	secret := "eyJhbGciOiJSUzI1NiJ9.secret"
	v.Add(nil, "roleArn", "Member must not be null")
	v.Add(&long, "roleSessionName", "Member must have length less than or equal to 64")
	v.Add(&secret, "webIdentityToken", "Member must have length greater than or equal to 4")
	e := v.Err()
	if e.Status != 400 || e.Code != "ValidationError" || !strings.HasPrefix(e.Message, "3 validation errors detected: Value null at 'roleArn'") {
		t.Fatalf("error %+v", e)
	}
	if strings.Contains(e.Message, secret) || strings.Contains(e.Message, long) || !strings.Contains(e.Message, "(744 more bytes)") {
		t.Fatalf("a sensitive or oversized value is echoed: %s", e.Message)
	}
	if MemberName("RoleSessionName") != "roleSessionName" || MemberName("") != "" {
		t.Error("MemberName")
	}
}

// Responses are encoded in pooled buffers: answers written at the same
// time must each be whole and their own, and a result that cannot be
// encoded must not spoil the next answer.
func TestWriteResultConcurrentAndAfterFailure(t *testing.T) {
	type result struct {
		Name string `xml:"Name"`
	}
	want := func(i int) string {
		return `<GetThingResponse xmlns="ns"><GetThingResult><Name>thing-` + strconv.Itoa(i) +
			`&lt;&amp;</Name></GetThingResult><ResponseMetadata><RequestId>req-` + strconv.Itoa(i) +
			`</RequestId></ResponseMetadata></GetThingResponse>`
	}
	rec := httptest.NewRecorder()
	WriteResult(rec, "ns", "GetThing", map[string]string{"unencodable": "maps are not XML"}, "req-bad")
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "<Code>ServiceFailure</Code>") {
		t.Fatalf("unencodable result: %d %s, want 500 ServiceFailure", rec.Code, rec.Body)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g * 100; i < g*100+100; i++ {
				rec := httptest.NewRecorder()
				WriteResult(rec, "ns", "GetThing", result{Name: "thing-" + strconv.Itoa(i) + "<&"}, "req-"+strconv.Itoa(i))
				if got := rec.Body.String(); rec.Code != 200 || got != want(i) {
					t.Errorf("answer %d: %d %s, want %s", i, rec.Code, got, want(i))
					return
				}
			}
		}()
	}
	wg.Wait()
}

// A client that declares a large body and sends a few bytes must not make
// the server allocate what it declared.
func TestReadBodyDoesNotTrustTheDeclaredLength(t *testing.T) {
	const declared = 16 << 20
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("Action=GetCallerIdentity"))
	r.ContentLength = declared
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b, err := ReadBody(r, declared)
	runtime.ReadMemStats(&after)
	if err != nil || string(b) != "Action=GetCallerIdentity" {
		t.Fatalf("ReadBody = %q, %v", b, err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("reading a 24-byte body declared as %d bytes allocated %d bytes", declared, grew)
	}
}
