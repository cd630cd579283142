package stsmock

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
)

// Pod Identity: the EKS association API and eks-auth's
// AssumeRoleForPodIdentity, through the real EKS SDK client and signed raw
// requests (the eks-auth SDK module is not served by this machine's module
// proxy, so its wire call is made by hand).

const podTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`

const podTrustNoTagSession = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// pods is a BindingChecker over a fixed set of live pods.
type pods map[string]string // "ns/name" -> uid

func (p pods) CheckBinding(_ context.Context, b TokenBinding) error {
	if uid, ok := p[b.Namespace+"/"+b.Pod]; !ok || uid != b.PodUID {
		return fmt.Errorf("the pod %s/%s it is bound to no longer exists", b.Namespace, b.Pod)
	}
	return nil
}

type podFixture struct {
	*fixture
	eks  *eks.Client
	pods pods
}

func newPodFixture(t testing.TB, opts ...Option) *podFixture {
	t.Helper()
	live := pods{}
	f := &fixture{t: t, issuerDir: t.TempDir(), stateDir: t.TempDir()}
	f.startIssuer()
	f.startServer(append([]Option{
		WithEKSCluster(EKSCluster{Name: "demo", IssuerURL: f.issuerURL, CreatedAt: time.Now()}),
		WithBindingChecker(live),
	}, opts...)...)
	return &podFixture{fixture: f, eks: eks.NewFromConfig(f.cfg), pods: live}
}

// podToken signs a projected token for a pod of ns/sa, as the apiserver
// does; the pod is live unless gone.
func (f *podFixture) podToken(ns, sa, pod string, mutate func(map[string]any)) string {
	uid := uuid.NewString()
	f.pods[ns+"/"+pod] = uid
	now := time.Now().Unix()
	c := map[string]any{
		"iss": f.issuerURL, "sub": "system:serviceaccount:" + ns + ":" + sa, "aud": []string{"pods.eks.amazonaws.com"},
		"iat": now, "nbf": now, "exp": now + 3600,
		"kubernetes.io": map[string]any{
			"namespace":      ns,
			"pod":            map[string]any{"name": pod, "uid": uid},
			"serviceaccount": map[string]any{"name": sa, "uid": uuid.NewString()},
		},
	}
	if mutate != nil {
		mutate(c)
	}
	return sign(f.t, jose.RS256, f.keys.Signing, f.keys.SigningID, c)
}

func (f *podFixture) associate(ns, sa, roleARN string, mutate func(*eks.CreatePodIdentityAssociationInput)) string {
	f.t.Helper()
	in := &eks.CreatePodIdentityAssociationInput{ClusterName: aws.String("demo"), Namespace: aws.String(ns), ServiceAccount: aws.String(sa), RoleArn: aws.String(roleARN)}
	if mutate != nil {
		mutate(in)
	}
	out, err := f.eks.CreatePodIdentityAssociation(context.Background(), in)
	if err != nil {
		f.t.Fatalf("create association: %v", err)
	}
	return *out.Association.AssociationId
}

// assumeForPod calls eks-auth as the agent does, signed with creds.
func (f *podFixture) assumeForPod(cluster, token string, creds aws.Credentials) (int, string) {
	f.t.Helper()
	body, _ := json.Marshal(map[string]string{"token": token})
	req, err := http.NewRequest(http.MethodPost, f.http.URL+"/clusters/"+cluster+"/assume-role-for-pod-identity", strings.NewReader(string(body)))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	signRequest(f.t, req, body, "eks-auth", creds)
	return do(f.t, req)
}

var testCreds = aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}

// podResult2 lets podResult take a call's two results.
func podResult2(t *testing.T) func(int, string) podIdentityResult {
	return func(status int, body string) podIdentityResult { return podResult(t, status, body) }
}

// podResult decodes a successful AssumeRoleForPodIdentity.
func podResult(t *testing.T, status int, body string) podIdentityResult {
	t.Helper()
	if status != 200 {
		t.Fatalf("AssumeRoleForPodIdentity: %d %s", status, body)
	}
	var out podIdentityResult
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *podFixture) credsOf(r podIdentityResult) aws.Config {
	return f.config(credentials.NewStaticCredentialsProvider(r.Credentials.AccessKeyID, r.Credentials.SecretAccessKey, r.Credentials.SessionToken))
}

var (
	associationIDMask = regexp.MustCompile(`a-[a-z0-9]{17}`)
	epochMask         = regexp.MustCompile(`("(createdAt|modifiedAt|expiration)":)[0-9.]+`)
	sessionNameMask   = regexp.MustCompile(`(eks-demo-[a-z0-9-]{1,10}-)[0-9a-f-]{36}`)
)

// maskPodIdentity hides what changes from run to run in a wire answer.
func maskPodIdentity(body string) string {
	body = associationIDMask.ReplaceAllString(body, "a-ASSOCIATION-ID")
	body = epochMask.ReplaceAllString(body, "${1}EPOCH")
	body = sessionNameMask.ReplaceAllString(body, "${1}UUID")
	body = regexp.MustCompile(`"accessKeyId":"ASIA[A-Z0-9]{16}"`).ReplaceAllString(body, `"accessKeyId":"ASIA-KEY"`)
	body = regexp.MustCompile(`"secretAccessKey":"[^"]+"`).ReplaceAllString(body, `"secretAccessKey":"SECRET"`)
	body = regexp.MustCompile(`"sessionToken":"[^"]+"`).ReplaceAllString(body, `"sessionToken":"TOKEN"`)
	body = regexp.MustCompile(`AROA[A-Z0-9]{17}`).ReplaceAllString(body, "AROA-ROLE-ID")
	return body
}

// eksWire sends a signed EKS REST call with the admin credentials.
func (f *podFixture) eksWire(method, path, body string) (int, string) {
	f.t.Helper()
	req, err := http.NewRequest(method, f.http.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	signRequest(f.t, req, []byte(body), "eks", testCreds)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	// The error code travels in a header: show it with the body.
	if code := resp.Header.Get("x-amzn-ErrorType"); code != "" {
		return resp.StatusCode, "x-amzn-ErrorType: " + code + "\n" + string(b)
	}
	return resp.StatusCode, string(b)
}

func TestPodIdentityAssociationAPIGolden(t *testing.T) {
	f := newPodFixture(t)
	role := f.createRole("pod-reader", podTrust)
	f.createRole("no-pods", eksTrust(f.createProvider(f.issuerURL), f.hostPath(false), "default", "app"))
	f.createRole("target", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"000000000000"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`)
	cases := []struct{ name, method, path, body string }{
		{"create", "POST", "/clusters/demo/pod-identity-associations", `{"namespace":"shop","serviceAccount":"cart","roleArn":"` + role + `","tags":{"team":"shop"}}`},
		{"create-duplicate", "POST", "/clusters/demo/pod-identity-associations", `{"namespace":"shop","serviceAccount":"cart","roleArn":"` + role + `"}`},
		{"create-untrusted-role", "POST", "/clusters/demo/pod-identity-associations", `{"namespace":"shop","serviceAccount":"other","roleArn":"arn:aws:iam::000000000000:role/no-pods"}`},
		{"create-missing-role", "POST", "/clusters/demo/pod-identity-associations", `{"namespace":"shop","serviceAccount":"other","roleArn":"arn:aws:iam::000000000000:role/nope"}`},
		{"create-policy-with-tags", "POST", "/clusters/demo/pod-identity-associations", `{"namespace":"shop","serviceAccount":"other","roleArn":"` + role + `","policy":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}]}"}`},
		{"create-no-cluster", "POST", "/clusters/prod/pod-identity-associations", `{"namespace":"shop","serviceAccount":"other","roleArn":"` + role + `"}`},
		{"create-target", "POST", "/clusters/demo/pod-identity-associations", `{"namespace":"shop","serviceAccount":"orders","roleArn":"` + role + `","targetRoleArn":"arn:aws:iam::111111111111:role/target"}`},
		{"list", "GET", "/clusters/demo/pod-identity-associations?namespace=shop", ""},
		{"list-bad-max", "GET", "/clusters/demo/pod-identity-associations?maxResults=0", ""},
		{"describe-missing", "GET", "/clusters/demo/pod-identity-associations/a-00000000000000000", ""},
		{"delete-missing", "DELETE", "/clusters/demo/pod-identity-associations/a-00000000000000000", ""},
		{"list-addons", "GET", "/clusters/demo/addons", ""},
		{"describe-addon", "GET", "/clusters/demo/addons/eks-pod-identity-agent", ""},
		{"describe-other-addon", "GET", "/clusters/demo/addons/vpc-cni", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := f.eksWire(c.method, c.path, c.body)
			checkGolden(t, "pod-identity-"+c.name, status, maskPodIdentity(body), nil)
		})
	}
}

func TestPodIdentityAssociationLifecycle(t *testing.T) {
	f := newPodFixture(t)
	ctx := context.Background()
	role := f.createRole("pod-reader", podTrust)
	other := f.createRole("pod-writer", podTrust)

	// Idempotency: a retried Create answers the same association.
	mk := func(in *eks.CreatePodIdentityAssociationInput) { in.ClientRequestToken = aws.String("token-1") }
	id := f.associate("shop", "cart", role, mk)
	if again := f.associate("shop", "cart", role, mk); again != id {
		t.Fatalf("retried create: %s, want %s", again, id)
	}
	_, err := f.eks.CreatePodIdentityAssociation(ctx, &eks.CreatePodIdentityAssociationInput{
		ClusterName: aws.String("demo"), Namespace: aws.String("shop"), ServiceAccount: aws.String("other"), RoleArn: aws.String(role), ClientRequestToken: aws.String("token-1"),
	})
	if apiCode(err) != "InvalidRequestException" {
		t.Fatalf("token reused for another association: %v", err)
	}

	// Pages of two over five associations, filtered by namespace.
	for i := range 4 {
		f.associate("batch", fmt.Sprintf("job-%d", i), role, nil)
	}
	var seen []string
	p := eks.NewListPodIdentityAssociationsPaginator(f.eks, &eks.ListPodIdentityAssociationsInput{ClusterName: aws.String("demo"), Namespace: aws.String("batch"), MaxResults: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, a := range page.Associations {
			seen = append(seen, *a.ServiceAccount)
		}
	}
	if strings.Join(seen, ",") != "job-0,job-1,job-2,job-3" || pages != 2 {
		t.Fatalf("paged list: %v in %d pages", seen, pages)
	}

	// Update: nothing changed is refused; a new role and a target role are
	// taken, with the external ID the target's trust should match.
	if _, err := f.eks.UpdatePodIdentityAssociation(ctx, &eks.UpdatePodIdentityAssociationInput{ClusterName: aws.String("demo"), AssociationId: aws.String(id), RoleArn: aws.String(role)}); apiCode(err) != "InvalidParameterException" {
		t.Fatalf("update changing nothing: %v", err)
	}
	up, err := f.eks.UpdatePodIdentityAssociation(ctx, &eks.UpdatePodIdentityAssociationInput{ClusterName: aws.String("demo"), AssociationId: aws.String(id), RoleArn: aws.String(other), TargetRoleArn: aws.String("arn:aws:iam::111111111111:role/data")})
	if err != nil {
		t.Fatal(err)
	}
	if *up.Association.RoleArn != other || aws.ToString(up.Association.ExternalId) != "us-east-1/000000000000/demo/shop/cart" {
		t.Fatalf("updated association: role %s external ID %v", *up.Association.RoleArn, aws.ToString(up.Association.ExternalId))
	}

	// Tags on the association's ARN.
	arn := *up.Association.AssociationArn
	if _, err := f.eks.TagResource(ctx, &eks.TagResourceInput{ResourceArn: aws.String(arn), Tags: map[string]string{"env": "dev"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := f.eks.ListTagsForResource(ctx, &eks.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil || tags.Tags["env"] != "dev" {
		t.Fatalf("association tags: %v %v", tags, err)
	}

	// Persisted: a new server on the same state finds it.
	f.startServer(WithEKSCluster(EKSCluster{Name: "demo", IssuerURL: f.issuerURL, CreatedAt: time.Now()}))
	got, err := eks.NewFromConfig(f.cfg).DescribePodIdentityAssociation(ctx, &eks.DescribePodIdentityAssociationInput{ClusterName: aws.String("demo"), AssociationId: aws.String(id)})
	if err != nil || *got.Association.RoleArn != other || got.Association.Tags["env"] != "dev" {
		t.Fatalf("after restart: %+v %v", got, err)
	}
	del, err := eks.NewFromConfig(f.cfg).DeletePodIdentityAssociation(ctx, &eks.DeletePodIdentityAssociationInput{ClusterName: aws.String("demo"), AssociationId: aws.String(id)})
	if err != nil || *del.Association.AssociationId != id {
		t.Fatalf("delete: %+v %v", del, err)
	}
	if f.srv.HasAssociation("shop", "cart") {
		t.Fatal("the deleted association is still found")
	}
}

// TestPodIdentityAssociationPassRole: a role session creating an
// association needs iam:PassRole on the role, as in AWS.
func TestPodIdentityAssociationPassRole(t *testing.T) {
	f := newPodFixture(t)
	ctx := context.Background()
	podRole := f.createRole("pod-reader", podTrust)
	role := newAuthzRole(t, f.fixture)
	c := eks.NewFromConfig(role.creds)
	create := func() error {
		_, err := c.CreatePodIdentityAssociation(ctx, &eks.CreatePodIdentityAssociationInput{ClusterName: aws.String("demo"), Namespace: aws.String("shop"), ServiceAccount: aws.String("cart"), RoleArn: aws.String(podRole)})
		return err
	}
	role.setPolicy("create", statement("Allow", authzPerm{Action: "eks:CreatePodIdentityAssociation", Resource: demoCluster}))
	if err := create(); apiCode(err) != "AccessDeniedException" || !strings.Contains(err.Error(), "iam:PassRole") {
		t.Fatalf("without iam:PassRole: %v", err)
	}
	role.setPolicy("pass", statement("Allow", authzPerm{Action: "iam:PassRole", Resource: podRole}))
	if err := create(); err != nil {
		t.Fatalf("with iam:PassRole: %v", err)
	}
}

// TestAuthzPodIdentityCalls: each association call is refused without its
// action on its resource, allowed with it, refused under an explicit deny.
func TestAuthzPodIdentityCalls(t *testing.T) {
	f := newPodFixture(t)
	ctx := context.Background()
	podRole := f.createRole("pod-reader", podTrust)
	role := newAuthzRole(t, f.fixture)
	role.setPolicy("pass", statement("Allow", authzPerm{Action: "iam:PassRole", Resource: podRole}))
	c := eks.NewFromConfig(role.creds)
	assocARN := func(id string) string {
		return "arn:aws:eks:us-east-1:000000000000:podidentityassociation/demo/" + id
	}
	n := 0
	rows := []struct {
		action, resource string
		call             func() error
	}{
		{"eks:CreatePodIdentityAssociation", demoCluster, func() error {
			n++
			_, err := c.CreatePodIdentityAssociation(ctx, &eks.CreatePodIdentityAssociationInput{ClusterName: aws.String("demo"), Namespace: aws.String("shop"), ServiceAccount: aws.String(fmt.Sprintf("sa-%d", n)), RoleArn: aws.String(podRole)})
			return err
		}},
		{"eks:ListPodIdentityAssociations", demoCluster, func() error {
			_, err := c.ListPodIdentityAssociations(ctx, &eks.ListPodIdentityAssociationsInput{ClusterName: aws.String("demo")})
			return err
		}},
		{"eks:ListAddons", demoCluster, func() error {
			_, err := c.ListAddons(ctx, &eks.ListAddonsInput{ClusterName: aws.String("demo")})
			return err
		}},
		{"eks:DescribeAddon", "arn:aws:eks:us-east-1:000000000000:addon/demo/eks-pod-identity-agent/00000000-0000-0000-0000-000000000000", func() error {
			_, err := c.DescribeAddon(ctx, &eks.DescribeAddonInput{ClusterName: aws.String("demo"), AddonName: aws.String("eks-pod-identity-agent")})
			return err
		}},
	}
	fixed := f.associate("shop", "fixed", podRole, nil)
	rows = append(rows,
		struct {
			action, resource string
			call             func() error
		}{"eks:DescribePodIdentityAssociation", assocARN(fixed), func() error {
			_, err := c.DescribePodIdentityAssociation(ctx, &eks.DescribePodIdentityAssociationInput{ClusterName: aws.String("demo"), AssociationId: aws.String(fixed)})
			return err
		}},
		struct {
			action, resource string
			call             func() error
		}{"eks:UpdatePodIdentityAssociation", assocARN(fixed), func() error {
			d, err := f.eks.DescribePodIdentityAssociation(ctx, &eks.DescribePodIdentityAssociationInput{ClusterName: aws.String("demo"), AssociationId: aws.String(fixed)})
			if err != nil {
				return err
			}
			_, err = c.UpdatePodIdentityAssociation(ctx, &eks.UpdatePodIdentityAssociationInput{ClusterName: aws.String("demo"), AssociationId: aws.String(fixed), DisableSessionTags: aws.Bool(!aws.ToBool(d.Association.DisableSessionTags))})
			return err
		}},
		struct {
			action, resource string
			call             func() error
		}{"eks:DeletePodIdentityAssociation", assocARN(fixed), func() error {
			_, err := c.DeletePodIdentityAssociation(ctx, &eks.DeletePodIdentityAssociationInput{ClusterName: aws.String("demo"), AssociationId: aws.String(fixed)})
			return err
		}},
	)
	for _, row := range rows {
		t.Run(row.action, func(t *testing.T) {
			refused := func(err error) bool {
				return apiCode(err) == "AccessDeniedException" && strings.Contains(err.Error(), "perform: "+row.action+" on resource: "+row.resource)
			}
			grant := authzPerm{Action: row.action, Resource: row.resource}
			if err := row.call(); !refused(err) {
				t.Fatalf("without %s: %v, want AccessDeniedException naming it", row.action, err)
			}
			role.setPolicy("grant", statement("Allow", grant))
			defer role.setPolicy("grant", "")
			if err := row.call(); err != nil {
				t.Fatalf("with %s: %v", row.action, err)
			}
			role.setPolicy("deny", statement("Deny", grant))
			defer role.setPolicy("deny", "")
			if err := row.call(); !refused(err) {
				t.Fatalf("with %s denied: %v", row.action, err)
			}
		})
	}
}

func TestAssumeRoleForPodIdentity(t *testing.T) {
	f := newPodFixture(t)
	ctx := context.Background()
	role := f.createRole("pod-reader", podTrust)
	id := f.associate("shop", "cart", role, nil)

	status, body := f.assumeForPod("demo", f.podToken("shop", "cart", "cart-7d9f", nil), testCreds)
	checkGolden(t, "pod-identity-assume", status, maskPodIdentity(body), nil)
	out := podResult(t, status, body)
	if out.PodIdentityAssociation.AssociationID != id || !strings.HasPrefix(out.AssumedRoleUser.ARN, "arn:aws:sts::000000000000:assumed-role/pod-reader/eks-demo-cart-7d9f-") {
		t.Fatalf("result: %+v", out)
	}
	if d := time.Until(time.Unix(out.Credentials.Expiration, 0)); d < 5*time.Hour || d > 6*time.Hour {
		t.Fatalf("credentials last %v, want six hours", d)
	}
	who, err := sts.NewFromConfig(f.credsOf(out)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || *who.Arn != out.AssumedRoleUser.ARN {
		t.Fatalf("GetCallerIdentity with the credentials: %v %v", who, err)
	}
}

// TestPodIdentityABAC: the six session tags are principal tags, so one
// policy gives each namespace its own prefix.
func TestPodIdentityABAC(t *testing.T) {
	trailPath := filepath.Join(t.TempDir(), "trail.jsonl")
	f := newPodFixture(t, WithTrail(trailPath))
	ctx := context.Background()
	role := f.createRole("pod-reader", podTrust)
	abac := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/${aws:PrincipalTag/kubernetes-namespace}/*"}]}`
	if _, err := f.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("pod-reader"), PolicyName: aws.String("abac"), PolicyDocument: aws.String(abac)}); err != nil {
		t.Fatal(err)
	}
	admin := s3.NewFromConfig(f.cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := admin.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("shared")}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"shop/a.txt", "billing/b.txt"} {
		if _, err := admin.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("shared"), Key: aws.String(k), Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
	}
	f.associate("shop", "cart", role, nil)
	out := podResult2(t)(f.assumeForPod("demo", f.podToken("shop", "cart", "cart-0", nil), testCreds))
	pod := s3.NewFromConfig(f.credsOf(out), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := pod.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("shared"), Key: aws.String("shop/a.txt")}); err != nil {
		t.Fatalf("own namespace's prefix: %v", err)
	}
	if _, err := pod.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("shared"), Key: aws.String("billing/b.txt")}); apiCode(err) != "AccessDenied" {
		t.Fatalf("another namespace's prefix: %v", err)
	}
	// The trail names the pod, the association and the tags of each call.
	b, err := os.ReadFile(trailPath)
	if err != nil {
		t.Fatal(err)
	}
	var last map[string]any
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatal(err)
	}
	sc, _ := json.Marshal(last["userIdentity"].(map[string]any)["sessionContext"])
	for _, want := range []string{`"type":"PodIdentity"`, `"pod":"shop/cart-0"`, `"subject":"system:serviceaccount:shop:cart"`, `"kubernetes-namespace":"shop"`, `:podidentityassociation/demo/a-`} {
		if !strings.Contains(string(sc), want) {
			t.Errorf("the S3 call's session context %s lacks %s", sc, want)
		}
	}
}

func TestAssumeRoleForPodIdentityErrors(t *testing.T) {
	f := newPodFixture(t)
	role := f.createRole("pod-reader", podTrust)
	f.associate("shop", "cart", role, nil)
	noTag := f.createRole("no-tag-session", podTrustNoTagSession)
	f.associate("shop", "no-tag", noTag, nil)
	f.associate("shop", "tags-off", noTag, func(in *eks.CreatePodIdentityAssociationInput) { in.DisableSessionTags = aws.Bool(true) })
	good := func() string { return f.podToken("shop", "cart", "cart-0", nil) }
	gone := f.podToken("shop", "cart", "cart-gone", nil)
	delete(f.pods, "shop/cart-gone")
	other := otherRSAKey(t)
	now := time.Now().Unix()
	cases := []struct {
		name, cluster, token string
		creds                aws.Credentials
	}{
		{"wrong-audience", "demo", f.podToken("shop", "cart", "cart-0", func(c map[string]any) { c["aud"] = []string{"sts.amazonaws.com"} }), testCreds},
		{"expired", "demo", f.podToken("shop", "cart", "cart-0", func(c map[string]any) { c["exp"] = now - 10; c["iat"] = now - 700; c["nbf"] = now - 700 }), testCreds},
		{"bad-signature", "demo", sign(t, jose.RS256, other, f.keys.SigningID, map[string]any{"iss": f.issuerURL, "aud": []string{"pods.eks.amazonaws.com"}, "exp": now + 600}), testCreds},
		{"not-a-jwt", "demo", "not.a.jwt", testCreds},
		{"other-issuer", "demo", f.podToken("shop", "cart", "cart-0", func(c map[string]any) { c["iss"] = "https://example.com/other" }), testCreds},
		{"no-pod-claim", "demo", f.podToken("shop", "cart", "cart-0", func(c map[string]any) { delete(c, "kubernetes.io") }), testCreds},
		{"pod-gone", "demo", gone, testCreds},
		{"no-association", "demo", f.podToken("shop", "unknown", "x-0", nil), testCreds},
		{"no-tag-session", "demo", f.podToken("shop", "no-tag", "n-0", nil), testCreds},
		{"unknown-cluster", "prod", good(), testCreds},
		{"invalid-cluster-name", "-bad", good(), testCreds},
		{"empty-token", "demo", "", testCreds},
		{"other-account-agent", "demo", good(), aws.Credentials{AccessKeyID: "111111111111", SecretAccessKey: "x"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := f.assumeForPod(c.cluster, c.token, c.creds)
			checkGolden(t, "pod-identity-error-"+c.name, status, maskPodIdentity(body), map[string]string{f.issuerURL: "ISSUER-URL"})
			if status == 200 {
				t.Fatalf("%s: credentials handed out: %s", c.name, body)
			}
		})
	}
	// With session tags disabled, sts:TagSession is not needed.
	out := podResult2(t)(f.assumeForPod("demo", f.podToken("shop", "tags-off", "t-0", nil), testCreds))
	if !strings.Contains(out.AssumedRoleUser.ARN, "/no-tag-session/") {
		t.Fatalf("tags disabled: %+v", out)
	}
}

// TestPodIdentityTargetRole: with a target role, the pod's credentials
// are the target's, reached as a second hop that passes the association's
// external ID and the transitive session tags.
func TestPodIdentityTargetRole(t *testing.T) {
	f := newPodFixture(t)
	ctx := context.Background()
	if err := f.srv.CreateAccount("111111111111"); err != nil {
		t.Fatal(err)
	}
	role := f.createRole("pod-reader", podTrust)
	chainPolicy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession"],"Resource":"arn:aws:iam::111111111111:role/data"}]}`
	if _, err := f.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("pod-reader"), PolicyName: aws.String("chain"), PolicyDocument: aws.String(chainPolicy)}); err != nil {
		t.Fatal(err)
	}
	b := iam.NewFromConfig(f.config(credentials.NewStaticCredentialsProvider("111111111111", "x", "")))
	targetTrust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"StringEquals":{"sts:ExternalId":"us-east-1/000000000000/demo/shop/cart","aws:RequestTag/kubernetes-namespace":"shop"},"ArnEquals":{"aws:PrincipalArn":"` + role + `"}}}]}`
	if _, err := b.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("data"), AssumeRolePolicyDocument: aws.String(targetTrust)}); err != nil {
		t.Fatal(err)
	}
	f.associate("shop", "cart", role, func(in *eks.CreatePodIdentityAssociationInput) {
		in.TargetRoleArn = aws.String("arn:aws:iam::111111111111:role/data")
	})
	status, body := f.assumeForPod("demo", f.podToken("shop", "cart", "cart-0", nil), testCreds)
	out := podResult(t, status, body)
	if !strings.HasPrefix(out.AssumedRoleUser.ARN, "arn:aws:sts::111111111111:assumed-role/data/eks-demo-cart-0-") {
		t.Fatalf("assumed role: %s", out.AssumedRoleUser.ARN)
	}
	if d := time.Until(time.Unix(out.Credentials.Expiration, 0)); d > time.Hour {
		t.Fatalf("target role credentials last %v, want at most an hour", d)
	}
	// Without the caller-side permission the second hop fails.
	if _, err := f.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("pod-reader"), PolicyName: aws.String("chain")}); err != nil {
		t.Fatal(err)
	}
	status, body = f.assumeForPod("demo", f.podToken("shop", "cart", "cart-0", nil), testCreds)
	if status != 400 || !strings.Contains(body, "AccessDeniedException") {
		t.Fatalf("second hop refused by the caller's side: %d %s", status, body)
	}
}

// FuzzAssumeRoleForPodIdentity: whatever the cluster name and token,
// eks-auth answers a 4xx error with a code and a message, and hands out
// credentials only for the association of a validly signed token's
// service account.
func FuzzAssumeRoleForPodIdentity(f *testing.F) {
	fx := newPodFixture(f)
	role := fx.createRole("pod-reader", podTrust)
	fx.associate("shop", "cart", role, nil)
	valid := fx.podToken("shop", "cart", "cart-0", nil)
	f.Add("demo", valid)
	f.Add("demo", valid+"x")
	f.Add("demo", strings.Replace(valid, ".", "..", 1))
	f.Add("../demo", valid)
	f.Add("demo", "e30.e30.e30")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, cluster, token string) {
		rec := &eventRecord{}
		rec.RequestParameters = map[string]any{}
		out, assoc, _, e := fx.srv.assumeRoleForPodIdentity(context.Background(), cluster, token, rec)
		if e != nil {
			if e.status >= 500 || e.code == "" || e.message == "" {
				t.Fatalf("error %+v", e)
			}
			return
		}
		if assoc == nil || out.Subject.Namespace != "shop" || out.Subject.ServiceAccount != "cart" || !strings.Contains(out.AssumedRoleUser.ARN, ":assumed-role/pod-reader/") {
			t.Fatalf("credentials for %+v (association %+v)", out, assoc)
		}
	})
}

// TestPodIdentityHostileRequests: paths with ../ and NUL, bodies that are
// not JSON or too large, and a slow agent body all get a 4xx with a code,
// never a 5xx, and change nothing.
func TestPodIdentityHostileRequests(t *testing.T) {
	f := newPodFixture(t)
	role := f.createRole("pod-reader", podTrust)
	f.associate("shop", "cart", role, nil)
	big := `{"namespace":"shop","serviceAccount":"x","roleArn":"` + role + `","tags":{"k":"` + strings.Repeat("v", 2<<20) + `"}}`
	cases := []struct{ method, path, body string }{
		{"GET", "/clusters/demo/pod-identity-associations/..%2F..%2Fetc", ""},
		{"GET", "/clusters/demo/pod-identity-associations/a-%00", ""},
		{"DELETE", "/clusters/..%2Fdemo/pod-identity-associations/a-00000000000000000", ""},
		{"GET", "/clusters/demo/pod-identity-associations/a/b", ""},
		{"POST", "/clusters/demo/pod-identity-associations", "{not json"},
		{"POST", "/clusters/demo/pod-identity-associations", `{"namespace":"../etc","serviceAccount":"x","roleArn":"` + role + `"}`},
		{"POST", "/clusters/demo/pod-identity-associations", big},
		{"GET", "/clusters/demo/pod-identity-associations?nextToken=%00%01", ""},
		{"PUT", "/clusters/demo/pod-identity-associations", "{}"},
	}
	for _, c := range cases {
		status, body := f.eksWire(c.method, c.path, c.body)
		if status < 400 || status >= 500 || !strings.Contains(body, "x-amzn-ErrorType: ") {
			t.Errorf("%s %s: %d %.200s", c.method, c.path, status, body)
		}
	}
	if got := f.srv.Associations(); len(got) != 1 || got[0].ServiceAccount != "cart" {
		t.Fatalf("associations after the hostile requests: %+v", got)
	}
	// eks-auth: an oversize body and a body that is not JSON.
	req, err := http.NewRequest(http.MethodPost, f.http.URL+"/clusters/demo/assume-role-for-pod-identity", strings.NewReader(strings.Repeat("x", 70<<10)))
	if err != nil {
		t.Fatal(err)
	}
	signRequest(t, req, []byte(strings.Repeat("x", 70<<10)), "eks-auth", testCreds)
	if status, body := do(t, req); status != 400 || !strings.Contains(body, "InvalidRequestException") {
		t.Errorf("oversize eks-auth body: %d %s", status, body)
	}
	req, _ = http.NewRequest(http.MethodPost, f.http.URL+"/clusters/demo/assume-role-for-pod-identity", strings.NewReader("{"))
	signRequest(t, req, []byte("{"), "eks-auth", testCreds)
	if status, body := do(t, req); status != 400 || !strings.Contains(body, "InvalidRequestException") {
		t.Errorf("eks-auth body not JSON: %d %s", status, body)
	}
}

// TestPodIdentityAssociationLimit: a cluster holds at most 5000
// associations, as EKS's quota says.
func TestPodIdentityAssociationLimit(t *testing.T) {
	f := newPodFixture(t)
	role := f.createRole("pod-reader", podTrust)
	f.srv.base.mu.Lock()
	for i := range maxAssociations {
		id := fmt.Sprintf("a-%017d", i)
		f.srv.base.PodIdentity[id] = &Association{ID: id, Namespace: "bulk", ServiceAccount: fmt.Sprintf("sa-%d", i), RoleARN: role}
	}
	f.srv.base.mu.Unlock()
	status, body := f.eksWire("POST", "/clusters/demo/pod-identity-associations", `{"namespace":"shop","serviceAccount":"cart","roleArn":"`+role+`"}`)
	checkGolden(t, "pod-identity-create-over-limit", status, body, nil)
}
