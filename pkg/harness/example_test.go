package harness_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/irsa-local/irsa-local/pkg/harness"
	"github.com/irsa-local/irsa-local/pkg/issuer"
)

// A role trusted by a service account, assumed with a token of that service
// account exactly as an SDK in a pod assumes it. No cluster: the token is
// minted with the environment's key, as kube-apiserver would.
func ExampleStart() {
	ctx := context.Background()
	env, err := harness.Start(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer env.Stop(ctx)

	roleARN, err := env.CreateRole(ctx, "reader", harness.TrustServiceAccount("demo", "app"),
		"arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
	if err != nil {
		log.Fatal(err)
	}
	tok, err := env.Token(issuer.TokenRequest{Namespace: "demo", ServiceAccount: "app",
		Audiences: []string{"sts.amazonaws.com"}, Duration: time.Hour})
	if err != nil {
		log.Fatal(err)
	}
	tokenFile := filepath.Join(os.TempDir(), fmt.Sprintf("irsa-local-example-%d", os.Getpid()))
	if err := os.WriteFile(tokenFile, []byte(tok), 0o600); err != nil {
		log.Fatal(err)
	}
	defer os.Remove(tokenFile)

	id, err := sts.NewFromConfig(env.WebIdentityAWSConfig(roleARN, tokenFile)).GetCallerIdentity(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	arn := aws.ToString(id.Arn)
	fmt.Println(arn[:strings.LastIndexByte(arn, '/')])
	// Output: arn:aws:sts::000000000000:assumed-role/reader
}

// Role chaining across accounts: the service account's role (in the
// default account) assumes a role of account 111111111111 with a session
// tag, as aws-sdk-go-v2's AssumeRoleProvider does on top of the web
// identity. The second account's role trusts the first role; the first
// role's own policy must allow the hop too, as AWS requires across
// accounts.
func ExampleEnv_AssumeRoleAWSConfig() {
	ctx := context.Background()
	env, err := harness.Start(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer env.Stop(ctx)

	appARN, err := env.CreateRole(ctx, "app", harness.TrustServiceAccount("demo", "app"))
	if err != nil {
		log.Fatal(err)
	}
	err = env.PutRolePolicy(ctx, "app", "hop", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Action":["sts:AssumeRole","sts:TagSession"],"Resource":"arn:aws:iam::111111111111:role/data"}]}`)
	if err != nil {
		log.Fatal(err)
	}
	_, err = iam.NewFromConfig(env.AccountAWSConfig("111111111111")).CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String("data"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
			"Principal":{"AWS":"` + appARN + `"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`),
	})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := env.Token(issuer.TokenRequest{Namespace: "demo", ServiceAccount: "app",
		Audiences: []string{"sts.amazonaws.com"}, Duration: time.Hour})
	if err != nil {
		log.Fatal(err)
	}
	tokenFile := filepath.Join(os.TempDir(), fmt.Sprintf("irsa-local-example-chain-%d", os.Getpid()))
	if err := os.WriteFile(tokenFile, []byte(tok), 0o600); err != nil {
		log.Fatal(err)
	}
	defer os.Remove(tokenFile)

	pod := env.WebIdentityAWSConfig(appARN, tokenFile)
	data := env.AssumeRoleAWSConfig(pod, "arn:aws:iam::111111111111:role/data", func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = "report"
		o.Tags = []ststypes.Tag{{Key: aws.String("team"), Value: aws.String("payments")}}
	})
	id, err := sts.NewFromConfig(data).GetCallerIdentity(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(aws.ToString(id.Arn))
	// Output: arn:aws:sts::111111111111:assumed-role/data/report
}

// The Go snippet of the README, on a local cluster (etcd, kube-apiserver
// and kube-controller-manager as processes): the pod is mutated by the real
// webhook, its token comes from TokenRequest, and the SDK trades it at STS.
func ExampleEnv_AWSConfigForServiceAccount_localCluster() {
	ctx := context.Background()
	env, err := harness.Start(ctx, harness.WithCluster(harness.ClusterLocal))
	if err != nil {
		log.Fatal(err)
	}
	defer env.Stop(ctx)

	roleARN, err := env.CreateRole(ctx, "s3-reader", harness.TrustServiceAccount("demo", "s3-reader"),
		"arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := env.CreateServiceAccount(ctx, "demo", "s3-reader", roleARN); err != nil {
		log.Fatal(err)
	}
	cfg, done, err := env.AWSConfigForServiceAccount(ctx, "demo", "s3-reader") // exactly a pod's credentials
	if err != nil {
		log.Fatal(err)
	}
	defer done()

	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	_, err = client.ListBuckets(ctx, nil)
	fmt.Println("ListBuckets:", err)
	_, err = client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("not-allowed")})
	fmt.Println("CreateBucket denied:", harness.IsAWSError(err, "AccessDenied"))
	// Output:
	// ListBuckets: <nil>
	// CreateBucket denied: true
}

// TestReadmeSnippetIsAnExample keeps the README honest: its Go snippet is
// the body of ExampleEnv_AWSConfigForServiceAccount_localCluster, which
// compiles and runs with the tests.
func TestReadmeSnippetIsAnExample(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "```go\n")
	if !ok {
		t.Fatal("the README has no Go snippet")
	}
	snippet, _, _ := strings.Cut(rest, "```")
	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, body, _ := strings.Cut(string(src), "func ExampleEnv_AWSConfigForServiceAccount_localCluster() {\n")
	body, _, _ = strings.Cut(body, "\t// Output:")
	var lines []string
	for _, l := range strings.Split(body, "\n") {
		lines = append(lines, strings.TrimPrefix(l, "\t"))
	}
	if want := strings.TrimSpace(strings.Join(lines, "\n")); strings.TrimSpace(snippet) != want {
		t.Fatalf("the README's Go snippet is not the example's body; make it:\n%s", want)
	}
}
