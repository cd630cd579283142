package harness

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/irsa-local/irsa-local/internal/testenv"
	"github.com/irsa-local/irsa-local/pkg/issuer"
	"github.com/irsa-local/irsa-local/pkg/stsmock"
)

func TestLocalClusterMutatesPodsOfAnnotatedServiceAccounts(t *testing.T) {
	testenv.KubeBinaries(t)
	e := start(t, t.TempDir(), WithCluster(ClusterLocal), WithInMemoryS3())
	ctx := context.Background()
	c := e.Client()
	d := e.Describe(ctx)
	if d.Cluster.Kubeconfig == "" {
		t.Fatal("no kubeconfig reported")
	}
	names := map[string]string{}
	for _, comp := range d.Components {
		names[comp.Name] = comp.State
	}
	for _, want := range []string{"issuer", "aws", "etcd", "kube-apiserver", "kube-controller-manager", "webhook"} {
		if names[want] != StateRunning {
			t.Errorf("component %s is %q", want, names[want])
		}
	}
	annotated := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "app", Annotations: map[string]string{RoleARNAnnotation: "arn:aws:iam::000000000000:role/app"}}}
	plain := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "plain"}}
	for _, sa := range []*corev1.ServiceAccount{annotated, plain} {
		if _, err := c.CoreV1().ServiceAccounts("default").Create(ctx, sa, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pod := func(sa string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "p-"}, Spec: corev1.PodSpec{ServiceAccountName: sa, Containers: []corev1.Container{{Name: "c", Image: "x"}}}}
	}
	got, err := c.CoreV1().Pods("default").Create(ctx, pod("app"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	env := got.Spec.Containers[0].Env
	if envValue(env, "AWS_ROLE_ARN") != "arn:aws:iam::000000000000:role/app" || envValue(env, "AWS_WEB_IDENTITY_TOKEN_FILE") == "" || envValue(env, "AWS_ENDPOINT_URL") != e.AWSEndpoint() {
		t.Errorf("annotated pod env: %+v", env)
	}
	untouched, err := c.CoreV1().Pods("default").Create(ctx, pod("plain"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if envValue(untouched.Spec.Containers[0].Env, "AWS_ROLE_ARN") != "" {
		t.Errorf("a pod of a plain service account was mutated: %+v", untouched.Spec.Containers[0].Env)
	}
}

func TestFullChainThroughThePodIdentity(t *testing.T) {
	testenv.KubeBinaries(t)
	e := start(t, t.TempDir(), WithCluster(ClusterLocal), WithInMemoryS3())
	ctx := context.Background()
	admin := s3.NewFromConfig(e.AdminAWSConfig(), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := admin.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("reports")}); err != nil {
		t.Fatal(err)
	}
	roleARN, err := e.CreateRole(ctx, "s3-reader", TrustServiceAccount("demo", "reader"), "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateServiceAccount(ctx, "demo", "reader", roleARN); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateServiceAccount(ctx, "demo", "intruder", roleARN); err != nil {
		t.Fatal(err)
	}
	cfg, done, err := e.AWSConfigForServiceAccount(ctx, "demo", "reader")
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	cfg.RetryMaxAttempts = 1
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("reports")}); err != nil {
		t.Fatalf("list as the pod's role: %v", err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("reports"), Key: aws.String("x"), Body: strings.NewReader("x")}); !IsAWSError(err, "AccessDenied") {
		t.Errorf("write with a read-only role: %v", err)
	}
	// The same role, annotated on a service account its trust policy does
	// not name: the token is real, the trust policy refuses it.
	bad, done2, err := e.AWSConfigForServiceAccount(ctx, "demo", "intruder")
	if err != nil {
		t.Fatal(err)
	}
	defer done2()
	bad.RetryMaxAttempts = 1
	_, err = s3.NewFromConfig(bad, func(o *s3.Options) { o.UsePathStyle = true }).ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("reports")})
	if !IsAWSError(err, "AccessDenied") {
		t.Errorf("trust policy for another service account: %v, want AccessDenied", err)
	}
	// Pods made only for their token are gone when done.
	done()
	pods, err := e.Client().CoreV1().Pods("demo").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.Spec.ServiceAccountName == "reader" && p.DeletionTimestamp == nil {
			t.Errorf("pod %s was left behind", p.Name)
		}
	}
}

func state(e *Env, component string) string {
	for _, c := range e.Describe(context.Background()).Components {
		if c.Name == component {
			return c.State
		}
	}
	return ""
}

func TestResetRestoresACleanState(t *testing.T) {
	testenv.KubeBinaries(t)
	e := start(t, t.TempDir(), WithCluster(ClusterLocal), WithInMemoryS3())
	ctx := context.Background()
	roleARN, err := e.CreateRole(ctx, "r", TrustServiceAccount("team", "app"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateServiceAccount(ctx, "team", "app", roleARN); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateServiceAccount(ctx, "default", "extra", ""); err != nil {
		t.Fatal(err)
	}
	admin := s3.NewFromConfig(e.AdminAWSConfig(), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := admin.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bucket")}); err != nil {
		t.Fatal(err)
	}
	if err := e.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Client().CoreV1().Namespaces().Get(ctx, "team", metav1.GetOptions{}); err == nil {
		t.Error("namespace team survived Reset")
	}
	if _, err := e.Client().CoreV1().ServiceAccounts("default").Get(ctx, "extra", metav1.GetOptions{}); err == nil {
		t.Error("service account default/extra survived Reset")
	}
	list, err := admin.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || len(list.Buckets) != 0 {
		t.Errorf("buckets after Reset: %+v %v", list, err)
	}
	if e.Describe(ctx).AWS.OIDCProviderARN == "" {
		t.Error("the OIDC provider is gone after Reset")
	}
	// The same names work again at once.
	if _, err := e.CreateRole(ctx, "r", TrustServiceAccount("team", "app")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateServiceAccount(ctx, "team", "app", roleARN); err != nil {
		t.Fatal(err)
	}
}

func TestTwoLocalClustersInOneProcess(t *testing.T) {
	testenv.KubeBinaries(t)
	ctx := context.Background()
	a := start(t, t.TempDir(), WithName("a"), WithCluster(ClusterLocal), WithInMemoryS3())
	b := start(t, t.TempDir(), WithName("b"), WithCluster(ClusterLocal), WithInMemoryS3())
	if a.Kubeconfig() == b.Kubeconfig() || a.RESTConfig().Host == b.RESTConfig().Host {
		t.Fatal("two environments share a cluster")
	}
	for _, e := range []*Env{a, b} {
		roleARN, err := e.CreateRole(ctx, "r", TrustServiceAccount("ns", "sa"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.CreateServiceAccount(ctx, "ns", "sa", roleARN); err != nil {
			t.Fatal(err)
		}
		cfg, done, err := e.AWSConfigForServiceAccount(ctx, "ns", "sa")
		if err != nil {
			t.Fatal(err)
		}
		cfg.RetryMaxAttempts = 1
		creds, err := cfg.Credentials.Retrieve(ctx)
		done()
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		if !strings.HasPrefix(creds.AccessKeyID, "ASIA") {
			t.Errorf("%s: credentials %s", e.Name(), creds.AccessKeyID)
		}
	}
	// A token of one environment means nothing to the other's STS.
	tok, err := a.Token(issuer.TokenRequest{Namespace: "ns", ServiceAccount: "sa", Audiences: []string{"sts.amazonaws.com"}, Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := b.WebIdentityAWSConfig("arn:aws:iam::000000000000:role/r", path)
	cfg.RetryMaxAttempts = 1
	if _, err := cfg.Credentials.Retrieve(ctx); !IsAWSError(err, "InvalidIdentityToken") {
		t.Errorf("environment a's token at environment b: %v, want InvalidIdentityToken", err)
	}
}

// TestPodIdentityThroughAWSConfigForServiceAccount: a service account with
// an association gets Pod Identity credentials (through a local agent and
// the SDK's container provider), ahead of its IRSA annotation; eks-auth
// refuses the token of a deleted pod, as the apiserver says it is gone.
func TestPodIdentityThroughAWSConfigForServiceAccount(t *testing.T) {
	testenv.KubeBinaries(t)
	e := start(t, t.TempDir(), WithCluster(ClusterLocal), WithInMemoryS3())
	ctx := context.Background()
	irsa, err := e.CreateRole(ctx, "irsa", TrustServiceAccount("shop", "cart"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateRole(ctx, "cart", TrustPolicy(PodIdentityTrustPolicy)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateServiceAccount(ctx, "shop", "cart", irsa); err != nil {
		t.Fatal(err)
	}
	if err := e.Apply(ctx, &EnvironmentFile{APIVersion: EnvironmentFileAPIVersion, Kind: EnvironmentFileKind,
		PodIdentityAssociations: []PodIdentityAssociationSpec{{Namespace: "shop", ServiceAccount: "cart", Role: "cart"}}}); err != nil {
		t.Fatal(err)
	}
	cfg, done, err := e.AWSConfigForServiceAccount(ctx, "shop", "cart")
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	who, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || !strings.Contains(aws.ToString(who.Arn), ":assumed-role/cart/eks-"+e.Describe(ctx).Cluster.Name+"-") {
		t.Fatalf("GetCallerIdentity: %v %v", who, err)
	}

	// The apiserver's answer about a deleted pod.
	pods, err := e.Client().CoreV1().Pods("shop").List(ctx, metav1.ListOptions{})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("the session's pod: %v %v", pods, err)
	}
	p := pods.Items[0]
	b := stsmock.TokenBinding{Namespace: "shop", ServiceAccount: "cart", Pod: p.Name, PodUID: string(p.UID)}
	if err := CheckBinding(ctx, e.Client(), b); err != nil {
		t.Fatalf("a live pod: %v", err)
	}
	grace := int64(0)
	if err := e.Client().CoreV1().Pods("shop").Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &grace}); err != nil {
		t.Fatal(err)
	}
	if err := CheckBinding(ctx, e.Client(), b); err == nil || !strings.Contains(err.Error(), "no longer exists") {
		t.Fatalf("a deleted pod: %v", err)
	}
}
