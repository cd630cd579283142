package stsmock

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/irsa-local/irsa-local/internal/actions"
	"github.com/irsa-local/irsa-local/pkg/policy"
)

// Backend is an AWS emulator (moto, LocalStack, ...) that stores the data
// of the services irsa-local does not serve itself. irsa-local
// authenticates and authorizes every call to those services and forwards
// only the allowed ones, signed with the backend's credentials.
type Backend struct {
	// URL is the backend's endpoint, e.g. http://127.0.0.1:5000.
	URL string
	// AccessKeyID and SecretAccessKey sign forwarded calls of the default
	// account (default test/test), for which the backend must act as that
	// account, as LocalStack does by default. Calls of other accounts are
	// signed with the account's 12-digit ID as the access key (LocalStack)
	// and name it in x-moto-account-id (moto without MOTO_ACCOUNT_ID).
	AccessKeyID, SecretAccessKey string
	// Reset empties the backend; Server.Reset calls it. Nil when the
	// backend cannot be reset.
	Reset func(ctx context.Context) error
}

// WithBackend forwards the services of package actions (SQS, SNS,
// DynamoDB, Secrets Manager, SSM, KMS) to b once authorized. Without it
// those services are refused with an error saying a backend is needed.
func WithBackend(b Backend) Option {
	return optionFunc(func(c *config) error {
		u, err := url.Parse(b.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("invalid backend URL %q: want http(s)://host:port", b.URL)
		}
		if b.AccessKeyID == "" {
			b.AccessKeyID, b.SecretAccessKey = "test", "test"
		}
		c.backend = &b
		return nil
	})
}

// backendTTL bounds how long a looked-up ARN or resource policy is
// trusted. Calls through the gateway that change them invalidate at once;
// the TTL covers changes made to the backend directly.
const backendTTL = 5 * time.Second

// upstream is the gateway's client of the upstream: lookups signed with
// the upstream's credentials, and their cache.
type upstream struct {
	cfg     Backend
	url     *url.URL
	client  *http.Client
	signer  *v4.Signer
	account string

	mu    sync.Mutex
	cache map[string]cached
	// changing counts the calls in flight that may change what is cached
	// for a service, and gen counts every start and end of one: nothing
	// looked up while a change runs, or across one, is kept.
	changing map[string]int
	gen      map[string]uint64
}

type cached struct {
	value   string
	found   bool
	expires time.Time
}

func newUpstream(b Backend, account string) *upstream {
	u, _ := url.Parse(b.URL)
	tr := &http.Transport{
		Proxy:               nil, // the backend is local; never through a proxy
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
	}
	return &upstream{
		cfg: b, url: u, account: account,
		client: &http.Client{Transport: tr, Timeout: 30 * time.Second},
		signer: v4.NewSigner(),
		cache:  map[string]cached{}, changing: map[string]int{}, gen: map[string]uint64{},
	}
}

// sign signs r for service in region over body, with the backend's
// credentials for the environment's default account. A call in another
// account (named by ctx, see withAccount) is signed with that account's
// 12-digit ID as its access key, which LocalStack takes as the account;
// every call also names its account in x-moto-account-id, which moto reads
// when it runs without MOTO_ACCOUNT_ID.
func (b *upstream) sign(ctx context.Context, r *http.Request, body []byte, service, region string) error {
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: b.cfg.AccessKeyID, SecretAccessKey: b.cfg.SecretAccessKey}
	acct := accountFrom(ctx)
	if acct == "" {
		acct = b.account
	}
	if acct != b.account {
		creds = aws.Credentials{AccessKeyID: acct, SecretAccessKey: "test"}
	}
	r.Header.Set("X-Moto-Account-Id", acct)
	return b.signer.SignHTTP(ctx, creds, r, hex.EncodeToString(sum[:]), service, region, time.Now())
}

type accountKey struct{}

// withAccount makes the backend calls under ctx act in account.
func withAccount(ctx context.Context, account string) context.Context {
	return context.WithValue(ctx, accountKey{}, account)
}

func accountFrom(ctx context.Context) string {
	a, _ := ctx.Value(accountKey{}).(string)
	return a
}

// arnAccountOr returns the account of an ARN, or fallback for a name or an
// ARN without one.
func arnAccountOr(arn, fallback string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) == 6 && parts[0] == "arn" && isAccountID(parts[4]) {
		return parts[4]
	}
	return fallback
}

// errNotFound is a lookup of something the backend does not have.
var errNotFound = errors.New("not found")

// callJSON makes a JSON-protocol call to the backend and decodes its
// answer into out. A client error saying the resource does not exist
// (isNotFound) is errNotFound.
func (b *upstream) callJSON(ctx context.Context, service, region, target string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, b.url.String()+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if service == "sqs" || service == "dynamodb" {
		r.Header.Set("Content-Type", "application/x-amz-json-1.0")
	}
	r.Header.Set("X-Amz-Target", target)
	return b.do(ctx, r, body, service, region, func(resp []byte) error { return json.Unmarshal(resp, out) })
}

// callQuery makes a Query-protocol call and hands its XML answer to
// decode.
func (b *upstream) callQuery(ctx context.Context, service, region string, params url.Values, decode func([]byte) error) error {
	body := []byte(params.Encode())
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, b.url.String()+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	return b.do(ctx, r, body, service, region, decode)
}

func (b *upstream) do(ctx context.Context, r *http.Request, body []byte, service, region string, decode func([]byte) error) error {
	if err := b.sign(ctx, r, body, service, region); err != nil {
		return err
	}
	resp, err := b.client.Do(r)
	if err != nil {
		return fmt.Errorf("call the backend at %s: %w", b.cfg.URL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("read the backend's answer: %w", err)
	}
	if resp.StatusCode >= 300 {
		code := resp.Header.Get("X-Amzn-ErrorType") + " " + resp.Header.Get("X-Amzn-Query-Error")
		if strings.TrimSpace(code) == "" {
			var e struct {
				Type string `json:"__type"`
				Code string `xml:"Error>Code"`
			}
			if json.Unmarshal(data, &e) != nil {
				_ = xml.Unmarshal(data, &e)
			}
			code = e.Type + e.Code
		}
		if resp.StatusCode < 500 && isNotFound(code) {
			return errNotFound
		}
		return fmt.Errorf("the backend at %s answered %d %s", b.cfg.URL, resp.StatusCode, strings.TrimSpace(code))
	}
	return decode(data)
}

// isNotFound tells the services' "no such resource" codes: DynamoDB's and
// Secrets Manager's ResourceNotFoundException, KMS's NotFoundException,
// SNS's NotFound, SQS's QueueDoesNotExist (NonExistentQueue in its Query
// form).
func isNotFound(code string) bool {
	for _, s := range []string{"NotFound", "NonExistent", "DoesNotExist"} {
		if strings.Contains(code, s) {
			return true
		}
	}
	return false
}

// lookup returns a cached value or computes it. key starts with the
// service's name and a space.
func (b *upstream) lookup(key string, get func() (string, error)) (string, bool, error) {
	service, _, _ := strings.Cut(key, " ")
	now := time.Now()
	b.mu.Lock()
	c, ok := b.cache[key]
	gen := b.gen[service]
	b.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.value, c.found, nil
	}
	v, err := get()
	found := err == nil
	if errors.Is(err, errNotFound) {
		err = nil
	}
	if err != nil {
		return "", false, err
	}
	b.mu.Lock()
	if b.gen[service] == gen && b.changing[service] == 0 {
		b.cache[key] = cached{value: v, found: found, expires: now.Add(backendTTL)}
	}
	b.mu.Unlock()
	return v, found, nil
}

// change brackets a forwarded call that may change what is cached for
// service: call it before forwarding and call the function it returns
// once the backend has answered.
func (b *upstream) change(service string) (done func()) {
	b.bump(service, 1)
	return func() { b.bump(service, -1) }
}

func (b *upstream) bump(service string, delta int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.changing[service] += delta
	b.gen[service]++
	for k := range b.cache {
		if strings.HasPrefix(k, service+" ") {
			delete(b.cache, k)
		}
	}
}

// resolver answers package actions' lookups for one request's region and
// caller's account: a name is the caller's account's, an ARN its own
// account's.
type resolver struct {
	b       *upstream
	region  string
	account string
}

func (r resolver) SecretARN(ctx context.Context, id string) (string, bool, error) {
	acct := arnAccountOr(id, r.account)
	ctx = withAccount(ctx, acct)
	return r.b.lookup("secretsmanager arn "+r.region+" "+acct+" "+id, func() (string, error) {
		var out struct{ ARN string }
		err := r.b.callJSON(ctx, "secretsmanager", r.region, "secretsmanager.DescribeSecret", map[string]string{"SecretId": id}, &out)
		return out.ARN, err
	})
}

func (r resolver) KeyARN(ctx context.Context, alias string) (string, bool, error) {
	acct := arnAccountOr(alias, r.account)
	ctx = withAccount(ctx, acct)
	return r.b.lookup("kms alias "+r.region+" "+acct+" "+alias, func() (string, error) {
		var out struct{ KeyMetadata struct{ Arn string } }
		err := r.b.callJSON(ctx, "kms", r.region, "TrentService.DescribeKey", map[string]string{"KeyId": alias}, &out)
		return out.KeyMetadata.Arn, err
	})
}

// CiphertextKeyARN asks the backend to decrypt blob and keeps only the
// key it names: the plaintext is dropped here and never reaches the
// caller unless the caller's own Decrypt is then allowed.
func (r resolver) CiphertextKeyARN(ctx context.Context, blob string, ec map[string]string) (string, bool, error) {
	ctx = withAccount(ctx, r.account)
	var out struct{ KeyId string }
	in := map[string]any{"CiphertextBlob": blob}
	if len(ec) > 0 {
		in["EncryptionContext"] = ec
	}
	err := r.b.callJSON(ctx, "kms", r.region, "TrentService.Decrypt", in, &out)
	if errors.Is(err, errNotFound) || (err == nil && out.KeyId == "") {
		return "", false, nil
	}
	if err != nil {
		// A ciphertext the backend refuses names no key we can learn.
		return "", false, nil
	}
	return out.KeyId, true, nil
}

func (r resolver) PartitionKey(ctx context.Context, table string) (string, bool, error) {
	acct := arnAccountOr(table, r.account)
	ctx = withAccount(ctx, acct)
	return r.b.lookup("dynamodb pk "+r.region+" "+acct+" "+table, func() (string, error) {
		var out struct {
			Table struct {
				KeySchema []struct{ AttributeName, KeyType string }
			}
		}
		if err := r.b.callJSON(ctx, "dynamodb", r.region, "DynamoDB_20120810.DescribeTable", map[string]string{"TableName": table}, &out); err != nil {
			return "", err
		}
		for _, k := range out.Table.KeySchema {
			if k.KeyType == "HASH" {
				return k.AttributeName, nil
			}
		}
		return "", errNotFound
	})
}

// resourcePolicy returns the resource-based policy of the resource a check
// names, for the services that have them, or nil.
func (b *upstream) resourcePolicy(ctx context.Context, service, region, resource string) (*policy.Document, string, error) {
	ctx = withAccount(ctx, arnAccountOr(resource, b.account))
	var name string
	var get func() (string, error)
	switch service {
	case "sqs":
		// arn:aws:sqs:region:account:name
		parts := strings.Split(resource, ":")
		if len(parts) != 6 {
			return nil, "", nil
		}
		name = "queue policy of " + parts[5]
		get = func() (string, error) {
			var out struct{ Attributes map[string]string }
			qurl := b.url.String() + "/" + parts[4] + "/" + parts[5]
			err := b.callJSON(ctx, "sqs", parts[3], "AmazonSQS.GetQueueAttributes", map[string]any{"QueueUrl": qurl, "AttributeNames": []string{"Policy"}}, &out)
			return out.Attributes["Policy"], err
		}
	case "sns":
		if strings.Count(resource, ":") != 5 {
			return nil, "", nil
		}
		name = "topic policy of " + resource[strings.LastIndexByte(resource, ':')+1:]
		get = func() (string, error) {
			var pol string
			err := b.callQuery(ctx, "sns", region, url.Values{"Action": {"GetTopicAttributes"}, "Version": {"2010-03-31"}, "TopicArn": {resource}}, func(data []byte) error {
				var out struct {
					Entries []struct {
						Key   string `xml:"key"`
						Value string `xml:"value"`
					} `xml:"GetTopicAttributesResult>Attributes>entry"`
				}
				if err := xml.Unmarshal(data, &out); err != nil {
					return err
				}
				for _, e := range out.Entries {
					if e.Key == "Policy" {
						pol = e.Value
					}
				}
				return nil
			})
			return pol, err
		}
	case "kms":
		if !strings.Contains(resource, ":key/") {
			return nil, "", nil
		}
		name = "key policy of " + resource
		get = func() (string, error) {
			var out struct{ Policy string }
			err := b.callJSON(ctx, "kms", region, "TrentService.GetKeyPolicy", map[string]string{"KeyId": resource, "PolicyName": "default"}, &out)
			return out.Policy, err
		}
	case "secretsmanager":
		if !strings.Contains(resource, ":secret:") {
			return nil, "", nil
		}
		name = "resource policy of secret " + resource[strings.Index(resource, ":secret:")+len(":secret:"):]
		get = func() (string, error) {
			var out struct{ ResourcePolicy string }
			err := b.callJSON(ctx, "secretsmanager", region, "secretsmanager.GetResourcePolicy", map[string]string{"SecretId": resource}, &out)
			return out.ResourcePolicy, err
		}
	default:
		return nil, "", nil
	}
	text, found, err := b.lookup(service+" policy "+resource, get)
	if err != nil || !found || strings.TrimSpace(text) == "" {
		return nil, name, err
	}
	doc, err := policy.Parse(text, policy.Resource)
	if err != nil {
		// A policy the backend accepted but irsa-local cannot read grants
		// nothing here; say so rather than guess.
		return nil, name, fmt.Errorf("read the %s: %w", name, err)
	}
	return doc, name, nil
}

var _ actions.Resolver = resolver{}
