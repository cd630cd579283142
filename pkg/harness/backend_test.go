package harness

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	smithy "github.com/aws/smithy-go"
	"sigs.k8s.io/yaml"

	"github.com/irsa-local/irsa-local/internal/backend"
	"github.com/irsa-local/irsa-local/internal/testenv"
	"github.com/irsa-local/irsa-local/pkg/issuer"
)

func requireMoto(t *testing.T) { testenv.Tool(t, backend.MotoBinary) }

const servicesFile = `
apiVersion: irsa-local.dev/v1alpha1
kind: Environment
roles:
  - name: orders-app
    trust: {serviceAccount: {namespace: shop, name: orders}}
    inlinePolicies:
      - name: work
        document:
          Version: "2012-10-17"
          Statement:
            - {Effect: Allow, Action: [sqs:SendMessage, sqs:GetQueueUrl], Resource: "arn:aws:sqs:us-east-1:000000000000:orders"}
            - {Effect: Allow, Action: dynamodb:GetItem, Resource: "arn:aws:dynamodb:us-east-1:000000000000:table/carts",
               Condition: {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["alice"]}}}
            - {Effect: Allow, Action: secretsmanager:GetSecretValue, Resource: "arn:aws:secretsmanager:us-east-1:000000000000:secret:orders/db-??????"}
            - {Effect: Allow, Action: ssm:GetParametersByPath, Resource: "arn:aws:ssm:us-east-1:000000000000:parameter/orders"}
queues:
  - name: orders
  - name: audit
tables:
  - name: carts
    partitionKey: {name: customer}
secrets:
  - name: orders/db
    value: s3cr3t
parameters:
  - {name: /orders/url, value: "postgres://db"}
  - {name: /orders/pool, value: "5"}
`

// TestBackendMoto runs moto as a component of the environment: the
// environment file creates the forwarded services' resources, a service
// account's session gets exactly its grant, status reports the backend,
// Reset empties it, a crash shows as failed, and Stop ends it.
func TestBackendMoto(t *testing.T) {
	requireMoto(t)
	ctx := context.Background()
	e := start(t, t.TempDir(), WithBackend(BackendMoto))
	var f EnvironmentFile
	if err := yaml.UnmarshalStrict([]byte(servicesFile), &f); err != nil {
		t.Fatal(err)
	}
	if err := f.validate(); err != nil {
		t.Fatal(err)
	}
	if err := e.Apply(ctx, &f); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if err := e.Apply(ctx, &f); err != nil {
		t.Fatalf("Apply again (idempotent): %v", err)
	}
	cfg := e.webIdentityConfig(t, "shop", "orders", "arn:aws:iam::000000000000:role/orders-app")

	q := sqs.NewFromConfig(cfg)
	u, err := q.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("orders")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: u.QueueUrl, MessageBody: aws.String("o-1")}); err != nil {
		t.Fatal(err)
	}
	_, err = q.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("audit")})
	wantCode(t, err, "AccessDenied")
	key := map[string]ddbtypes.AttributeValue{"customer": &ddbtypes.AttributeValueMemberS{Value: "alice"}}
	if _, err := dynamodb.NewFromConfig(cfg).GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("carts"), Key: key}); err != nil {
		t.Fatal(err)
	}
	key["customer"] = &ddbtypes.AttributeValueMemberS{Value: "bob"}
	_, err = dynamodb.NewFromConfig(cfg).GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("carts"), Key: key})
	wantCode(t, err, "AccessDeniedException")
	sec, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("orders/db")})
	if err != nil || *sec.SecretString != "s3cr3t" {
		t.Fatalf("GetSecretValue: %v", err)
	}
	ps, err := ssm.NewFromConfig(cfg).GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/orders")})
	if err != nil || len(ps.Parameters) != 2 {
		t.Fatalf("GetParametersByPath: %v %v", ps, err)
	}

	d := e.Describe(ctx)
	if d.Backend == nil || d.Backend.Kind != "moto" || len(d.Backend.Services) != 6 || state(e, "backend") != StateRunning {
		t.Fatalf("Describe: backend %+v, components %+v", d.Backend, d.Components)
	}
	if in, err := Inspect(e.StateDir()); err != nil || in.Backend == nil || in.Backend.URL != d.Backend.URL {
		t.Errorf("Inspect: %+v, %v", in.Backend, err)
	}

	if err := e.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if out, err := sqs.NewFromConfig(e.AdminAWSConfig()).ListQueues(ctx, &sqs.ListQueuesInput{}); err != nil || len(out.QueueUrls) != 0 {
		t.Errorf("after Reset: queues %v, %v", out, err)
	}

}

// TestBackendAutoWithoutMoto: with moto_server missing, auto starts without
// a backend and says so; the forwarded services answer NotImplemented.
func TestBackendAutoWithoutMoto(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	var steps []string
	e := start(t, t.TempDir(), WithBackend(BackendAuto), WithProgress(func(s string) { steps = append(steps, s) }))
	d := e.Describe(context.Background())
	if d.Backend == nil || d.Backend.Kind != "none" || !strings.Contains(d.Backend.Note, "moto_server is not on PATH") {
		t.Errorf("backend = %+v", d.Backend)
	}
	if !strings.Contains(strings.Join(steps, "\n"), "pip install") {
		t.Errorf("steps say nothing of the missing backend: %q", steps)
	}
	_, err := sqs.NewFromConfig(e.AdminAWSConfig()).ListQueues(context.Background(), &sqs.ListQueuesInput{})
	wantCode(t, err, "NotImplemented")

	// Asked for by name, a missing moto_server is an error that says how
	// to get it.
	_, err = Start(context.Background(), WithBackend(BackendMoto))
	if err == nil || !strings.Contains(err.Error(), "pip install") {
		t.Errorf("Start with moto missing: %v", err)
	}
}

func TestBackendOptions(t *testing.T) {
	for _, bad := range []Option{WithBackend("localstack"), WithBackendURL("localhost:4566")} {
		if _, err := Start(context.Background(), bad); err == nil {
			t.Error("bad backend option accepted")
		}
	}
	e := start(t, t.TempDir(), WithBackendURL("http://127.0.0.1:1/"))
	d := e.Describe(context.Background())
	if d.Backend == nil || d.Backend.Kind != "url" || d.Backend.URL != "http://127.0.0.1:1" || component(e, "backend").Listen != "http://127.0.0.1:1" {
		t.Errorf("url backend: %+v %+v", d.Backend, d.Components)
	}
	// A backend that does not answer is the service's 503, not a hang.
	_, err := sqs.NewFromConfig(e.AdminAWSConfig()).ListQueues(context.Background(), &sqs.ListQueuesInput{})
	wantCode(t, err, "ServiceUnavailable")
}

// webIdentityConfig returns the config of a session of roleARN for a token
// of namespace/name, as a pod's SDK would get it.
func (e *Env) webIdentityConfig(t *testing.T, namespace, name, roleARN string) aws.Config {
	t.Helper()
	tok, err := e.Token(issuer.TokenRequest{Namespace: namespace, ServiceAccount: name, Audiences: []string{"sts.amazonaws.com"}, Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := e.WebIdentityAWSConfig(roleARN, file)
	cfg.RetryMaxAttempts = 1
	return cfg
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Errorf("err = %v, want %s", err, code)
	}
}

func component(e *Env, name string) Component {
	for _, c := range e.Describe(context.Background()).Components {
		if c.Name == name {
			return c
		}
	}
	return Component{}
}
