package sigv4

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// capturedRequests has the real SDK make one request of each kind and keeps
// them as the endpoint received them.
func capturedRequests(t *testing.T) map[string]record {
	t.Helper()
	ctx := context.Background()
	e := newTestEndpoint(t, testCredentials(), false)
	got := map[string]record{}
	keep := func(name string) {
		recs := e.lastRecords()
		if len(recs) != 1 || recs[0].err != nil {
			t.Fatalf("%s: endpoint saw %d requests (%v)", name, len(recs), recs)
		}
		got[name] = recs[0]
		e.reset()
	}

	stsc := sts.NewFromConfig(sdkConfig(e, staticIdentity), func(o *sts.Options) { o.BaseEndpoint = aws.String(e.URL) })
	if _, err := stsc.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	keep("sts")

	stss := sts.NewFromConfig(sdkConfig(e, sessionIdentity), func(o *sts.Options) { o.BaseEndpoint = aws.String(e.URL) })
	if _, err := stss.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	keep("sts session")

	s3c := s3Client(e, staticIdentity, e.URL, true, aws.RequestChecksumCalculationWhenRequired)
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b"), Key: aws.String("dir/a b+c"), Body: strings.NewReader("the object body")}); err != nil {
		t.Fatal(err)
	}
	keep("s3 put")

	out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("b"), Key: aws.String("dir/a b+c"), ResponseContentDisposition: aws.String("attachment; filename=x.txt")})
	if err != nil {
		t.Fatal(err)
	}
	out.Body.Close()
	keep("s3 get")

	s3s := s3Client(e, sessionIdentity, e.URL, true, aws.RequestChecksumCalculationWhenRequired)
	pre, err := s3.NewPresignClient(s3s).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("b"), Key: aws.String("dir/a b+c")}, s3.WithPresignExpires(15*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(pre.URL)
	got["s3 presigned"] = record{method: http.MethodGet, requestURI: u.RequestURI(), host: u.Host, header: http.Header{}}
	return got
}

func setRequestURI(r *http.Request, uri string) {
	r.RequestURI = uri
	u, _ := url.ParseRequestURI(uri)
	r.URL = u
}

func editQuery(r *http.Request, f func(q url.Values)) {
	q, _ := url.ParseQuery(r.URL.RawQuery)
	f(q)
	path, _, _ := strings.Cut(r.RequestURI, "?")
	setRequestURI(r, path+"?"+q.Encode())
}

func editAuthz(r *http.Request, old, new string) {
	r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), old, new, 1))
}

// TestTamperedRequests replays requests the real SDK signed, changed in one
// way each. Nothing changed in a signed part may verify.
func TestTamperedRequests(t *testing.T) {
	reqs := capturedRequests(t)
	creds := testCredentials()
	signedAt := func(rec record) time.Time {
		if d := rec.header.Get("X-Amz-Date"); d != "" {
			ts, _ := time.Parse(timeFormat, d)
			return ts
		}
		q, _ := url.ParseQuery(strings.SplitN(rec.requestURI, "?", 2)[1])
		ts, _ := time.Parse(timeFormat, q.Get("X-Amz-Date"))
		return ts
	}

	cases := []struct {
		req    string
		name   string
		mutate func(r *http.Request)
		after  time.Duration // now, relative to the signing time
		want   error         // nil: must verify
	}{
		// Sanity: every capture verifies unchanged, so the failures below
		// are the mutations' doing.
		{"sts", "as sent", func(*http.Request) {}, 0, nil},
		{"sts session", "as sent", func(*http.Request) {}, 0, nil},
		{"s3 put", "as sent", func(*http.Request) {}, 0, nil},
		{"s3 get", "as sent", func(*http.Request) {}, 0, nil},
		{"s3 presigned", "as sent", func(*http.Request) {}, 0, nil},
		{"s3 get", "unsigned ordinary header added", func(r *http.Request) { r.Header.Set("X-Forwarded-For", "10.0.0.1") }, 0, nil},
		{"sts", "14 minutes late", func(*http.Request) {}, 14 * time.Minute, nil},
		{"sts", "14 minutes early", func(*http.Request) {}, -14 * time.Minute, nil},

		// The signed request line and headers.
		{"s3 get", "query value changed", func(r *http.Request) {
			editQuery(r, func(q url.Values) { q.Set("response-content-disposition", "attachment; filename=y.txt") })
		}, 0, ErrSignatureMismatch},
		{"s3 get", "query parameter added", func(r *http.Request) {
			editQuery(r, func(q url.Values) { q.Set("versionId", "1") })
		}, 0, ErrSignatureMismatch},
		{"s3 get", "query parameter repeated", func(r *http.Request) {
			editQuery(r, func(q url.Values) { q.Add("x-id", "GetObject") })
		}, 0, ErrSignatureMismatch},
		{"s3 get", "query unparseable", func(r *http.Request) { setRequestURI(r, r.RequestURI+"&%zz=1") }, 0, ErrMalformed},
		{"s3 get", "path changed", func(r *http.Request) { setRequestURI(r, strings.Replace(r.RequestURI, "a%20b", "a%20c", 1)) }, 0, ErrSignatureMismatch},
		{"s3 get", "path re-encoded", func(r *http.Request) { setRequestURI(r, strings.Replace(r.RequestURI, "/dir/", "/dir%2F", 1)) }, 0, ErrSignatureMismatch},
		{"s3 get", "method changed", func(r *http.Request) { r.Method = http.MethodHead }, 0, ErrSignatureMismatch},
		{"s3 get", "host port changed", func(r *http.Request) { r.Host = "localhost:1" }, 0, ErrSignatureMismatch},
		{"s3 get", "host changed to a bucket", func(r *http.Request) { r.Host = "b." + r.Host }, 0, ErrSignatureMismatch},
		{"s3 get", "signed header changed", func(r *http.Request) { r.Header.Set("Amz-Sdk-Invocation-Id", "00000000-0000-0000-0000-000000000000") }, 0, ErrSignatureMismatch},
		{"s3 get", "signed header removed", func(r *http.Request) { r.Header.Del("Amz-Sdk-Request") }, 0, ErrSignatureMismatch},
		{"s3 get", "signed header repeated", func(r *http.Request) { r.Header.Add("Amz-Sdk-Request", "attempt=2") }, 0, ErrSignatureMismatch},
		{"s3 get", "unsigned x-amz header added", func(r *http.Request) { r.Header.Set("X-Amz-Acl", "public-read") }, 0, ErrUnsignedHeaders},
		{"s3 get", "X-Amz-Date moved by a second", func(r *http.Request) {
			d, _ := time.Parse(timeFormat, r.Header.Get("X-Amz-Date"))
			r.Header.Set("X-Amz-Date", d.Add(time.Second).Format(timeFormat))
		}, 0, ErrSignatureMismatch},

		// The body.
		{"sts", "form body changed", func(r *http.Request) {
			setBody(r, strings.Replace(readAllString(r), "GetCallerIdentity", "GetSessionToken", 1))
		}, 0, ErrSignatureMismatch},
		{"sts", "form body extended", func(r *http.Request) { setBody(r, readAllString(r)+"&DurationSeconds=900") }, 0, ErrSignatureMismatch},
		{"s3 put", "body changed", func(r *http.Request) { setBody(r, "the object bodY") }, 0, ErrContentSHA256Mismatch},
		{"s3 put", "body cut, with its signed length", func(r *http.Request) { setBody(r, "the object") }, 0, ErrSignatureMismatch},
		{"s3 put", "payload hash header changed", func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", sha256Hex([]byte("evil"))) }, 0, ErrSignatureMismatch},
		{"s3 put", "payload hash made unsigned", func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", payloadUnsigned) }, 0, ErrSignatureMismatch},
		{"s3 put", "payload hash header removed", func(r *http.Request) { r.Header.Del("X-Amz-Content-Sha256") }, 0, ErrMalformed},

		// The Authorization header.
		{"sts", "region changed", func(r *http.Request) { editAuthz(r, "/us-east-1/", "/us-west-2/") }, 0, ErrSignatureMismatch},
		{"s3 get", "service changed", func(r *http.Request) { editAuthz(r, "/s3/", "/sts/") }, 0, ErrSignatureMismatch},
		{"sts", "scope day changed", func(r *http.Request) {
			d, _ := time.Parse(timeFormat, r.Header.Get("X-Amz-Date"))
			editAuthz(r, "/"+d.Format(dateFormat)+"/", "/"+d.AddDate(0, 0, 1).Format(dateFormat)+"/")
		}, 0, ErrMalformed},
		{"sts", "signed header dropped from the list", func(r *http.Request) { editAuthz(r, "amz-sdk-request;", "") }, 0, ErrSignatureMismatch},
		{"sts", "signature in upper case", func(r *http.Request) {
			a := r.Header.Get("Authorization")
			i := strings.LastIndex(a, "Signature=") + len("Signature=")
			r.Header.Set("Authorization", a[:i]+strings.ToUpper(a[i:]))
		}, 0, ErrSignatureMismatch},
		{"sts", "signature cut", func(r *http.Request) { a := r.Header.Get("Authorization"); r.Header.Set("Authorization", a[:len(a)-2]) }, 0, ErrSignatureMismatch},
		{"sts", "signature of another request", func(r *http.Request) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:len(a)-64]+strings.Repeat("ab", 32))
		}, 0, ErrSignatureMismatch},
		{"sts", "garbage Authorization", func(r *http.Request) { r.Header.Set("Authorization", "AWS4-HMAC-SHA256 garbage") }, 0, ErrMalformed},
		{"sts", "another scheme", func(r *http.Request) { r.Header.Set("Authorization", "Bearer eyJhbGciOi") }, 0, ErrMalformed},
		{"sts", "SigV2", func(r *http.Request) { r.Header.Set("Authorization", "AWS "+staticKey+":frJIUN8DYpKDtOLCwo//yllqDzg=") }, 0, ErrMalformed},
		{"sts", "empty Authorization", func(r *http.Request) { r.Header.Set("Authorization", "") }, 0, ErrMalformed},
		{"sts", "Credential missing", func(r *http.Request) { editAuthz(r, "Credential=", "Cred=") }, 0, ErrMalformed},
		{"sts", "SignedHeaders missing", func(r *http.Request) {
			a := r.Header.Get("Authorization")
			i, j := strings.Index(a, "SignedHeaders="), strings.Index(a, "Signature=")
			r.Header.Set("Authorization", a[:i]+a[j:])
		}, 0, ErrMalformed},
		{"sts", "Signature missing", func(r *http.Request) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:strings.LastIndex(a, ", Signature=")])
		}, 0, ErrMalformed},
		{"sts", "line break in a signed header name", func(r *http.Request) { editAuthz(r, "host;", "host\nx:;") }, 0, ErrMalformed},
		{"sts", "line break in the method", func(r *http.Request) { r.Method = "POST\n/" }, 0, ErrMalformed},
		{"sts", "two Authorization headers", func(r *http.Request) { r.Header.Add("Authorization", r.Header.Get("Authorization")) }, 0, ErrMalformed},
		{"sts", "X-Amz-Date removed", func(r *http.Request) { r.Header.Del("X-Amz-Date") }, 0, ErrMalformed},
		{"sts", "unsigned", func(r *http.Request) { r.Header.Del("Authorization") }, 0, ErrMissingAuthentication},
		{"sts", "16 minutes late", func(*http.Request) {}, 16 * time.Minute, ErrRequestExpired},
		{"sts", "16 minutes early", func(*http.Request) {}, -16 * time.Minute, ErrRequestExpired},
		{"sts", "a day late", func(*http.Request) {}, 24 * time.Hour, ErrRequestExpired},

		// The session token.
		{"sts session", "token changed", func(r *http.Request) { r.Header.Set("X-Amz-Security-Token", sessionToken+"x") }, 0, ErrInvalidToken},
		{"sts session", "token removed", func(r *http.Request) { r.Header.Del("X-Amz-Security-Token") }, 0, ErrInvalidToken},
		{"sts", "token added", func(r *http.Request) { r.Header.Set("X-Amz-Security-Token", sessionToken) }, 0, ErrInvalidToken},
		{"sts session", "key swapped for another session's", func(r *http.Request) { editAuthz(r, sessionKey, expiredKey) }, 0, ErrExpiredToken},
		{"sts", "unknown key", func(r *http.Request) { editAuthz(r, staticKey, "AKIAUNKNOWNKEY000000") }, 0, ErrUnknownAccessKey},

		// Presigned URLs.
		{"s3 presigned", "expiry changed", func(r *http.Request) { editQuery(r, func(q url.Values) { q.Set("X-Amz-Expires", "901") }) }, 0, ErrSignatureMismatch},
		{"s3 presigned", "used after expiry", func(*http.Request) {}, 15*time.Minute + time.Second, ErrRequestExpired},
		{"s3 presigned", "used at expiry", func(*http.Request) {}, 15 * time.Minute, nil},
		{"s3 presigned", "used long before its date", func(*http.Request) {}, -16 * time.Minute, ErrRequestExpired},
		{"s3 presigned", "expiry beyond a week", func(r *http.Request) { editQuery(r, func(q url.Values) { q.Set("X-Amz-Expires", "604801") }) }, 0, ErrRequestExpired},
		{"s3 presigned", "expiry negative", func(r *http.Request) { editQuery(r, func(q url.Values) { q.Set("X-Amz-Expires", "-1") }) }, 0, ErrMalformed},
		{"s3 presigned", "expiry missing", func(r *http.Request) { editQuery(r, func(q url.Values) { q.Del("X-Amz-Expires") }) }, 0, ErrMalformed},
		{"s3 presigned", "date repeated", func(r *http.Request) {
			editQuery(r, func(q url.Values) { q.Add("X-Amz-Date", "20990101T000000Z") })
		}, 0, ErrMalformed},
		{"s3 presigned", "signed headers repeated", func(r *http.Request) {
			editQuery(r, func(q url.Values) { q.Add("X-Amz-SignedHeaders", "host") })
		}, 0, ErrMalformed},
		{"s3 presigned", "signature removed", func(r *http.Request) { editQuery(r, func(q url.Values) { q.Del("X-Amz-Signature") }) }, 0, ErrMalformed},
		{"s3 presigned", "signature changed", func(r *http.Request) {
			editQuery(r, func(q url.Values) { q.Set("X-Amz-Signature", strings.Repeat("0", 64)) })
		}, 0, ErrSignatureMismatch},
		{"s3 presigned", "parameter added", func(r *http.Request) { editQuery(r, func(q url.Values) { q.Set("versionId", "1") }) }, 0, ErrSignatureMismatch},
		{"s3 presigned", "algorithm changed", func(r *http.Request) {
			editQuery(r, func(q url.Values) { q.Set("X-Amz-Algorithm", "AWS4-HMAC-SHA512") })
		}, 0, ErrMalformed},
		{"s3 presigned", "token changed", func(r *http.Request) {
			editQuery(r, func(q url.Values) { q.Set("X-Amz-Security-Token", sessionToken+"x") })
		}, 0, ErrInvalidToken},
		{"s3 presigned", "method changed", func(r *http.Request) { r.Method = http.MethodDelete }, 0, ErrSignatureMismatch},
		{"s3 presigned", "Authorization header added", func(r *http.Request) { r.Header.Set("Authorization", "AWS4-HMAC-SHA256 x") }, 0, ErrMalformed},
		{"s3 presigned", "unsigned x-amz header sent", func(r *http.Request) { r.Header.Set("X-Amz-Acl", "public-read") }, 0, ErrUnsignedHeaders},
	}
	for _, tc := range cases {
		t.Run(tc.req+"/"+tc.name, func(t *testing.T) {
			rec, ok := reqs[tc.req]
			if !ok {
				t.Fatalf("no captured request %q", tc.req)
			}
			r := rec.replay()
			tc.mutate(r)
			v, err := Verify(context.Background(), r, creds, signedAt(rec).Add(tc.after))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify = %v, want success", err)
				}
				if v.signer != "sdk" {
					t.Errorf("signature computed by %q, want the SDK signer", v.signer)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.Message == "" {
				t.Errorf("Verify error %v carries no AWS message", err)
			}
		})
	}
}

func readAllString(r *http.Request) string {
	var b strings.Builder
	buf := make([]byte, 512)
	for {
		n, err := r.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

func setBody(r *http.Request, body string) {
	r.Body = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)).Body
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
}
