package stsmock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithy "github.com/aws/smithy-go"

	"github.com/irsa-local/irsa-local/internal/backend"
	"github.com/irsa-local/irsa-local/internal/testenv"
	"github.com/irsa-local/irsa-local/internal/trail"
)

// One moto_server serves every gateway test of the package; each test
// resets it through its fixture's Server.Reset.
var (
	motoOnce sync.Once
	moto     *backend.Moto
	motoErr  error
	motoDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if moto != nil {
		_ = moto.Stop(context.Background())
		_ = os.RemoveAll(motoDir)
	}
	os.Exit(code)
}

func sharedMoto(t testing.TB) *backend.Moto {
	t.Helper()
	testenv.Tool(t, backend.MotoBinary)
	motoOnce.Do(func() {
		motoDir, motoErr = os.MkdirTemp("", "irsa-local-moto-")
		if motoErr != nil {
			return
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			motoErr = err
			return
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		moto, motoErr = backend.StartMoto(context.Background(), backend.MotoOptions{Dir: motoDir, Host: "127.0.0.1", Port: port})
	})
	if motoErr != nil {
		t.Fatal(motoErr)
	}
	return moto
}

// gwFixture is an endpoint in front of moto, with a role for default/app
// and clients of every forwarded service for the admin and for a session.
type gwFixture struct {
	*fixture
	trail   string
	roleARN string
	admin   aws.Config
}

func newGatewayFixture(t testing.TB) *gwFixture {
	t.Helper()
	m := sharedMoto(t)
	tr := filepath.Join(t.TempDir(), "trail.jsonl")
	f := newFixture(t, WithTrail(tr), WithBackend(Backend{URL: m.URL(), Reset: func(ctx context.Context) error { return backend.Reset(ctx, m.URL()) }}))
	if err := f.srv.Reset(); err != nil {
		t.Fatal(err)
	}
	return &gwFixture{fixture: f, trail: tr, roleARN: f.setup(), admin: f.cfg}
}

// grant sets the role's one inline policy.
func (g *gwFixture) grant(t testing.TB, doc string) {
	t.Helper()
	if _, err := g.iam.PutRolePolicy(context.Background(), &iam.PutRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("grant"), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
}

// session returns an SDK config for a fresh web identity session of the role.
func (g *gwFixture) session(t testing.TB) aws.Config {
	t.Helper()
	out, err := g.sts.AssumeRoleWithWebIdentity(context.Background(), &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(g.roleARN), RoleSessionName: aws.String("pod"), WebIdentityToken: aws.String(g.token("default", "app")),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	return g.config(credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken))
}

// apiError asserts err is the service error code with a message holding
// every part of want.
func apiError(t *testing.T, err error, code string, want ...string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want %s", err, code)
	}
	if ae.ErrorCode() != code {
		t.Errorf("code = %s (%s), want %s", ae.ErrorCode(), ae.ErrorMessage(), code)
	}
	for _, w := range want {
		if !strings.Contains(ae.ErrorMessage(), w) {
			t.Errorf("message %q lacks %q", ae.ErrorMessage(), w)
		}
	}
}

func ok(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

const sessionARN = "arn:aws:sts::000000000000:assumed-role/app/pod"

func TestGatewaySQS(t *testing.T) {
	g := newGatewayFixture(t)
	ctx := context.Background()
	admin := sqs.NewFromConfig(g.admin)
	orders, err := admin.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("orders")})
	ok(t, "create queue", err)
	other, err := admin.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("audit")})
	ok(t, "create queue", err)
	g.grant(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:SendMessage","sqs:ReceiveMessage","sqs:DeleteMessage","sqs:GetQueueUrl"],"Resource":"arn:aws:sqs:us-east-1:000000000000:orders"}]}`)
	c := sqs.NewFromConfig(g.session(t))

	u, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("orders")})
	ok(t, "GetQueueUrl", err)
	if *u.QueueUrl != *orders.QueueUrl {
		t.Errorf("queue URL = %s, want %s", *u.QueueUrl, *orders.QueueUrl)
	}
	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: orders.QueueUrl, MessageBody: aws.String("order 1")})
	ok(t, "SendMessage", err)
	// A batch is authorized as SendMessage.
	_, err = c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: orders.QueueUrl, Entries: []sqstypes.SendMessageBatchRequestEntry{{Id: aws.String("a"), MessageBody: aws.String("order 2")}}})
	ok(t, "SendMessageBatch", err)
	rcv, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: orders.QueueUrl, MaxNumberOfMessages: 10})
	ok(t, "ReceiveMessage", err)
	if len(rcv.Messages) != 2 {
		t.Fatalf("received %d messages, want 2", len(rcv.Messages))
	}

	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: other.QueueUrl, MessageBody: aws.String("x")})
	apiError(t, err, "AccessDenied", "User: "+sessionARN+" is not authorized to perform: sqs:SendMessage on resource: arn:aws:sqs:us-east-1:000000000000:audit because no identity-based policy allows the sqs:SendMessage action")
	_, err = c.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: orders.QueueUrl})
	apiError(t, err, "AccessDenied", "sqs:PurgeQueue")
	_, err = c.ListQueues(ctx, &sqs.ListQueuesInput{})
	apiError(t, err, "AccessDenied", "sqs:ListQueues on resource: *")

	// A queue policy grants what the role's policies do not; it is read
	// from the backend and re-read when changed through the gateway.
	_, err = admin.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: other.QueueUrl, Attributes: map[string]string{
		"Policy": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + g.roleARN + `"},"Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:000000000000:audit"}]}`,
	}})
	ok(t, "set queue policy", err)
	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: other.QueueUrl, MessageBody: aws.String("x")})
	ok(t, "SendMessage allowed by the queue policy", err)

	// An explicit deny in the queue policy wins over the role's allow.
	_, err = admin.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: orders.QueueUrl, Attributes: map[string]string{
		"Policy": `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"sqs:SendMessage","Resource":"*"}]}`,
	}})
	ok(t, "set deny policy", err)
	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: orders.QueueUrl, MessageBody: aws.String("x")})
	apiError(t, err, "AccessDenied", "with an explicit deny in a resource-based policy")

	recs, err := trail.Read(g.trail, time.Time{})
	ok(t, "read trail", err)
	var denied, allowed int
	for _, r := range recs {
		if r.EventSource != "sqs.amazonaws.com" || r.IrsaLocal == nil {
			continue
		}
		if r.IrsaLocal.Decision == "deny" {
			denied++
			if r.ErrorCode != "AccessDenied" || !strings.Contains(r.IrsaLocal.Reason, "implicitly denied") && !strings.Contains(r.IrsaLocal.Reason, "explicitly denied") {
				t.Errorf("denied record: %+v %+v", r, r.IrsaLocal)
			}
		} else if r.UserIdentity.Type == "AssumedRole" {
			allowed++
		}
	}
	if denied != 4 || allowed != 5 {
		t.Errorf("trail: %d session calls allowed, %d denied; want 5 and 4", allowed, denied)
	}
}

func TestGatewayDynamoDBLeadingKeys(t *testing.T) {
	g := newGatewayFixture(t)
	ctx := context.Background()
	admin := dynamodb.NewFromConfig(g.admin)
	_, err := admin.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String("orders"),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("customer"), AttributeType: ddbtypes.ScalarAttributeTypeS}, {AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeN}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("customer"), KeyType: ddbtypes.KeyTypeHash}, {AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeRange}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	})
	ok(t, "create table", err)
	item := func(customer, id string) map[string]ddbtypes.AttributeValue {
		return map[string]ddbtypes.AttributeValue{"customer": &ddbtypes.AttributeValueMemberS{Value: customer}, "id": &ddbtypes.AttributeValueMemberN{Value: id}}
	}
	_, err = admin.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("orders"), Item: item("bob", "1")})
	ok(t, "admin PutItem", err)
	// The role may touch only the items of customer "alice".
	g.grant(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:PutItem","dynamodb:Query","dynamodb:BatchWriteItem"],"Resource":"arn:aws:dynamodb:us-east-1:000000000000:table/orders","Condition":{"ForAllValues:StringEquals":{"dynamodb:LeadingKeys":["alice"]}}}]}`)
	c := dynamodb.NewFromConfig(g.session(t))

	_, err = c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("orders"), Item: item("alice", "7")})
	ok(t, "PutItem alice", err)
	got, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("orders"), Key: item("alice", "7")})
	ok(t, "GetItem alice", err)
	if len(got.Item) == 0 {
		t.Error("GetItem returned no item")
	}
	q, err := c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("orders"), KeyConditionExpression: aws.String("customer = :c"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":c": &ddbtypes.AttributeValueMemberS{Value: "alice"}}})
	ok(t, "Query alice", err)
	if q.Count != 1 {
		t.Errorf("Query count = %d, want 1", q.Count)
	}

	_, err = c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("orders"), Key: item("bob", "1")})
	apiError(t, err, "AccessDeniedException", "User: "+sessionARN+" is not authorized to perform: dynamodb:GetItem on resource: arn:aws:dynamodb:us-east-1:000000000000:table/orders because no identity-based policy allows the dynamodb:GetItem action")
	_, err = c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("orders"), KeyConditionExpression: aws.String("customer = :c"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":c": &ddbtypes.AttributeValueMemberS{Value: "bob"}}})
	apiError(t, err, "AccessDeniedException", "dynamodb:Query")
	// One foreign item in a batch refuses the whole batch, and nothing of
	// it is written.
	_, err = c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]ddbtypes.WriteRequest{"orders": {
		{PutRequest: &ddbtypes.PutRequest{Item: item("alice", "8")}}, {PutRequest: &ddbtypes.PutRequest{Item: item("carol", "1")}},
	}}})
	apiError(t, err, "AccessDeniedException", "dynamodb:BatchWriteItem")
	if out, err := admin.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("orders"), Key: item("alice", "8")}); err != nil || len(out.Item) != 0 {
		t.Errorf("a refused batch reached the backend: %v %v", out, err)
	}
	_, err = c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("orders")})
	apiError(t, err, "AccessDeniedException", "dynamodb:Scan")
}

func TestGatewaySecretsManager(t *testing.T) {
	g := newGatewayFixture(t)
	ctx := context.Background()
	admin := secretsmanager.NewFromConfig(g.admin)
	created, err := admin.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("db-pass"), SecretString: aws.String("s3cr3t")})
	ok(t, "create secret", err)
	_, err = admin.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("db-pass-admin"), SecretString: aws.String("root")})
	ok(t, "create secret", err)
	// "??????" is the 6-character suffix of the secret's ARN: it matches
	// db-pass and not db-pass-admin.
	g.grant(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:000000000000:secret:db-pass-??????"}]}`)
	c := secretsmanager.NewFromConfig(g.session(t))
	v, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("db-pass")})
	ok(t, "GetSecretValue by name", err)
	if *v.SecretString != "s3cr3t" {
		t.Errorf("secret = %q", *v.SecretString)
	}
	_, err = c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: created.ARN})
	ok(t, "GetSecretValue by ARN", err)
	_, err = c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("db-pass-admin")})
	apiError(t, err, "AccessDeniedException", "secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:us-east-1:000000000000:secret:db-pass-admin-")
	_, err = c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("db-pass"), SecretString: aws.String("x")})
	apiError(t, err, "AccessDeniedException", "secretsmanager:PutSecretValue on resource: "+*created.ARN)

	// A resource policy on the secret grants its reader.
	_, err = admin.PutResourcePolicy(ctx, &secretsmanager.PutResourcePolicyInput{SecretId: aws.String("db-pass-admin"), ResourcePolicy: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + g.roleARN + `"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`)})
	ok(t, "put resource policy", err)
	_, err = c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("db-pass-admin")})
	ok(t, "GetSecretValue granted by the secret's policy", err)
}

func TestGatewaySSMParameterPath(t *testing.T) {
	g := newGatewayFixture(t)
	ctx := context.Background()
	admin := ssm.NewFromConfig(g.admin)
	for _, n := range []string{"/app/db/url", "/app/db/user", "/other/key"} {
		_, err := admin.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(n), Value: aws.String("v:" + n), Type: ssmtypes.ParameterTypeString})
		ok(t, "put parameter", err)
	}
	g.grant(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ssm:GetParameter","ssm:GetParametersByPath"],"Resource":["arn:aws:ssm:us-east-1:000000000000:parameter/app/*","arn:aws:ssm:us-east-1:000000000000:parameter/app"]},{"Effect":"Deny","Action":"ssm:GetParametersByPath","Resource":"*","Condition":{"Bool":{"ssm:Recursive":"true"}}}]}`)
	c := ssm.NewFromConfig(g.session(t))
	p, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/db/url")})
	ok(t, "GetParameter", err)
	if *p.Parameter.Value != "v:/app/db/url" {
		t.Errorf("value = %q", *p.Parameter.Value)
	}
	byPath, err := c.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/app/db")})
	ok(t, "GetParametersByPath", err)
	if len(byPath.Parameters) != 2 {
		t.Errorf("by path: %d parameters, want 2", len(byPath.Parameters))
	}
	_, err = c.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/app"), Recursive: aws.Bool(true)})
	apiError(t, err, "AccessDeniedException", "ssm:GetParametersByPath", "with an explicit deny in an identity-based policy")
	_, err = c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/other/key")})
	apiError(t, err, "AccessDeniedException", "ssm:GetParameter on resource: arn:aws:ssm:us-east-1:000000000000:parameter/other/key")
	_, err = c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/app/db/url"), Value: aws.String("x"), Overwrite: aws.Bool(true), Type: ssmtypes.ParameterTypeString})
	apiError(t, err, "AccessDeniedException", "ssm:PutParameter")
}

func TestGatewayKMS(t *testing.T) {
	g := newGatewayFixture(t)
	ctx := context.Background()
	admin := kms.NewFromConfig(g.admin)
	key, err := admin.CreateKey(ctx, &kms.CreateKeyInput{})
	ok(t, "create key", err)
	_, err = admin.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/orders"), TargetKeyId: key.KeyMetadata.KeyId})
	ok(t, "create alias", err)
	g.grant(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt"],"Resource":"`+*key.KeyMetadata.Arn+`","Condition":{"StringEquals":{"kms:EncryptionContext:tenant":"acme"}}}]}`)
	c := kms.NewFromConfig(g.session(t))
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/orders"), Plaintext: []byte("card"), EncryptionContext: map[string]string{"tenant": "acme"}})
	ok(t, "Encrypt through the alias", err)
	dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"tenant": "acme"}})
	ok(t, "Decrypt without KeyId", err)
	if string(dec.Plaintext) != "card" {
		t.Errorf("plaintext = %q", dec.Plaintext)
	}
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/orders"), Plaintext: []byte("card"), EncryptionContext: map[string]string{"tenant": "umbrella"}})
	apiError(t, err, "AccessDeniedException", "kms:Encrypt on resource: "+*key.KeyMetadata.Arn)

	// A key policy without the account's statement: IAM policies no
	// longer count, as KMS requires.
	_, err = admin.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: key.KeyMetadata.KeyId, PolicyName: aws.String("default"), Policy: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:role/someone-else"},"Action":"kms:*","Resource":"*"}]}`)})
	ok(t, "put key policy", err)
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: key.KeyMetadata.KeyId, Plaintext: []byte("card"), EncryptionContext: map[string]string{"tenant": "acme"}})
	apiError(t, err, "AccessDeniedException", "because no resource-based policy allows the kms:Encrypt action")
}

func TestGatewaySNS(t *testing.T) {
	g := newGatewayFixture(t)
	ctx := context.Background()
	admin := sns.NewFromConfig(g.admin)
	topic, err := admin.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("events")})
	ok(t, "create topic", err)
	other, err := admin.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("alerts")})
	ok(t, "create topic", err)
	g.grant(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sns:Publish","Resource":"`+*topic.TopicArn+`"}]}`)
	c := sns.NewFromConfig(g.session(t))
	_, err = c.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String("hello")})
	ok(t, "Publish", err)
	_, err = c.Publish(ctx, &sns.PublishInput{TopicArn: other.TopicArn, Message: aws.String("hello")})
	apiError(t, err, "AuthorizationError", "User: "+sessionARN+" is not authorized to perform: SNS:Publish on resource: "+*other.TopicArn+" because no identity-based policy allows the SNS:Publish action")
}

// TestGatewayNeverForwardsUnauthenticated sends garbage, unsigned,
// badly signed and foreign-key requests for a forwarded service; none may
// reach the backend, as the queue they would create shows.
func TestGatewayNeverForwardsUnauthenticated(t *testing.T) {
	g := newGatewayFixture(t)
	ctx := context.Background()
	body := `{"QueueName":"smuggled"}`
	send := func(mutate func(r *http.Request)) int {
		r, err := http.NewRequest(http.MethodPost, g.http.URL+"/", strings.NewReader(body))
		ok(t, "request", err)
		r.Header.Set("X-Amz-Target", "AmazonSQS.CreateQueue")
		r.Header.Set("Content-Type", "application/x-amz-json-1.0")
		mutate(r)
		resp, err := http.DefaultClient.Do(r)
		ok(t, "send", err)
		resp.Body.Close()
		return resp.StatusCode
	}
	signWith := func(akid, secret, token string) func(r *http.Request) {
		return func(r *http.Request) {
			signRequest(t, r, []byte(body), "sqs", aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret, SessionToken: token})
		}
	}
	for name, m := range map[string]func(r *http.Request){
		"unsigned":        func(*http.Request) {},
		"garbage auth":    func(r *http.Request) { r.Header.Set("Authorization", "AWS4-HMAC-SHA256 garbage") },
		"wrong secret":    signWith("test", "wrong", ""),
		"foreign key":     signWith("AKIAFOREIGN000000000", "x", ""),
		"forged session":  signWith("ASIAFORGED0000000000", "x", "not-a-token"),
		"admin and token": signWith("test", "test", "token"),
	} {
		if st := send(m); st < 400 || st >= 500 {
			t.Errorf("%s: status %d, want a 4xx refusal", name, st)
		}
	}
	out, err := sqs.NewFromConfig(g.admin).ListQueues(ctx, &sqs.ListQueuesInput{})
	ok(t, "list queues", err)
	if len(out.QueueUrls) != 0 {
		t.Fatalf("a refused request reached the backend: %v", out.QueueUrls)
	}
	// The same request signed by the admin does reach it.
	if st := send(signWith("test", "test", "")); st != 200 {
		t.Fatalf("admin CreateQueue: status %d", st)
	}
}

func TestGatewayRefusesUnmodeledServices(t *testing.T) {
	g := newGatewayFixture(t)
	body := `{}`
	r, err := http.NewRequest(http.MethodPost, g.http.URL+"/", strings.NewReader(body))
	ok(t, "request", err)
	r.Header.Set("X-Amz-Target", "AWSLambda.ListFunctions")
	signRequest(t, r, []byte(body), "lambda", aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"})
	resp, err := http.DefaultClient.Do(r)
	ok(t, "send", err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") != "InvalidAction" || !strings.Contains(string(b), "sqs, ssm") {
		t.Errorf("lambda: %d %s %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), b)
	}
}

// TestGatewayWithoutBackend: the forwarded services say a backend is
// needed, and how to get one.
func TestGatewayWithoutBackend(t *testing.T) {
	f := newFixture(t)
	_, err := sqs.NewFromConfig(f.cfg).ListQueues(context.Background(), &sqs.ListQueuesInput{})
	apiError(t, err, "NotImplemented", "moto_server, a moto or LocalStack container, or the URL of an emulator; see docs/services.md")
}

// TestAdminAuthorizeMatchesTheGateway: the admin API's verdict for an
// action on a resource is the one the gateway gives a real call, with the
// resource policy and the same message.
func TestAdminAuthorizeMatchesTheGateway(t *testing.T) {
	g := newGatewayFixture(t)
	ctx := context.Background()
	admin := sqs.NewFromConfig(g.admin)
	audit, err := admin.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("audit")})
	ok(t, "create queue", err)
	g.grant(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:000000000000:orders"}]}`)
	ask := func(action, resource string) (int, AuthorizeResult) {
		t.Helper()
		body, _ := json.Marshal(AuthorizeRequest{RoleARN: g.roleARN, Action: action, Resource: resource, Subject: "system:serviceaccount:default:app", Issuer: g.issuerURL})
		status, resp := g.adminCall(t, "POST", "/_irsa-local/authorize", "application/json", string(body), adminCreds, nil)
		var out AuthorizeResult
		if status == 200 {
			ok(t, "decode", json.Unmarshal([]byte(resp), &out))
		}
		return status, out
	}
	const auditARN = "arn:aws:sqs:us-east-1:000000000000:audit"
	status, v := ask("sqs:SendMessage", auditARN)
	_, callErr := sqs.NewFromConfig(g.session(t)).SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: audit.QueueUrl, MessageBody: aws.String("x")})
	var ae smithy.APIError
	if status != 200 || v.Allowed || !errors.As(callErr, &ae) || strings.Replace(v.Message, "irsa-local-doctor", "pod", 1) != ae.ErrorMessage() {
		t.Fatalf("verdict %d %+v; the real call said %v", status, v, callErr)
	}
	_, err = admin.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: audit.QueueUrl, Attributes: map[string]string{
		"Policy": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + g.roleARN + `"},"Action":"sqs:SendMessage","Resource":"` + auditARN + `"}]}`,
	}})
	ok(t, "set queue policy", err)
	if status, v := ask("sqs:SendMessage", auditARN); status != 200 || !v.Allowed || !strings.Contains(v.Reason, "queue policy of audit") {
		t.Errorf("after the queue policy: %d %+v", status, v)
	}
	if status, _ := ask("s3:GetObject", "arn:aws:s3:::b/k"); status != 400 {
		t.Errorf("s3: status %d, want 400 (not forwarded)", status)
	}
	body, _ := json.Marshal(AuthorizeRequest{RoleARN: "arn:aws:iam::000000000000:role/none", Action: "sqs:SendMessage", Resource: "*"})
	if status, _ := g.adminCall(t, "POST", "/_irsa-local/authorize", "application/json", string(body), adminCreds, nil); status != 404 {
		t.Errorf("unknown role: status %d, want 404", status)
	}
}

// TestGatewayRefusesOversizedBodies: a body over the gateway's limit is
// refused in the service's shape, even from the admin, and never reaches
// the backend.
func TestGatewayRefusesOversizedBodies(t *testing.T) {
	g := newGatewayFixture(t)
	ctx := context.Background()
	q, err := sqs.NewFromConfig(g.admin).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("orders")})
	ok(t, "create queue", err)
	body := []byte(`{"QueueUrl":"` + *q.QueueUrl + `","MessageBody":"` + strings.Repeat("x", maxGatewayBody) + `"}`)
	r, err := http.NewRequest(http.MethodPost, g.http.URL+"/", bytes.NewReader(body))
	ok(t, "request", err)
	r.Header.Set("X-Amz-Target", "AmazonSQS.SendMessage")
	r.Header.Set("Content-Type", "application/x-amz-json-1.0")
	signRequest(t, r, body, "sqs", *adminCreds)
	resp, err := http.DefaultClient.Do(r)
	ok(t, "send", err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || resp.Header.Get("X-Amzn-ErrorType") != "RequestEntityTooLarge" {
		t.Errorf("status %d, error type %q; want 413 RequestEntityTooLarge", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
	}
	attrs, err := sqs.NewFromConfig(g.admin).GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages"}})
	ok(t, "queue attributes", err)
	if n := attrs.Attributes["ApproximateNumberOfMessages"]; n != "0" {
		t.Errorf("%s messages in the queue after a refused send", n)
	}
}

// TestGatewayMissingResourcesAreTheBackendsToReport: an allowed call on a
// queue, secret, key or table that does not exist gets the backend's own
// answer, not a failed policy lookup.
func TestGatewayMissingResourcesAreTheBackendsToReport(t *testing.T) {
	g := newGatewayFixture(t)
	ctx := context.Background()
	g.grant(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:*","secretsmanager:*","kms:*","dynamodb:*","sns:*"],"Resource":"*"}]}`)
	cfg := g.session(t)
	_, err := sqs.NewFromConfig(cfg).SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(g.http.URL + "/000000000000/nope"), MessageBody: aws.String("x")})
	apiError(t, err, "AWS.SimpleQueueService.NonExistentQueue")
	_, err = secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("nope")})
	apiError(t, err, "ResourceNotFoundException")
	_, err = kms.NewFromConfig(cfg).Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/nope"), Plaintext: []byte("x")})
	apiError(t, err, "NotFoundException")
	_, err = dynamodb.NewFromConfig(cfg).GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("nope"), Key: map[string]ddbtypes.AttributeValue{"k": &ddbtypes.AttributeValueMemberS{Value: "a"}}})
	apiError(t, err, "ResourceNotFoundException")
	_, err = sns.NewFromConfig(cfg).Publish(ctx, &sns.PublishInput{TopicArn: aws.String("arn:aws:sns:us-east-1:000000000000:nope"), Message: aws.String("x")})
	apiError(t, err, "NotFound")
}

// TestGatewayCrossAccountQueue: a queue of account B, sent to by A's role
// session. B's queue policy and A's identity policy must both allow it;
// the backend keeps B's queues apart from A's.
func TestGatewayCrossAccountQueue(t *testing.T) {
	g := newGatewayFixture(t)
	ctx := context.Background()
	adminB := sqs.NewFromConfig(g.config(credentials.NewStaticCredentialsProvider("111111111111", "any", "")))
	q, err := adminB.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("shared-events")})
	ok(t, "create queue in B", err)
	if !strings.Contains(*q.QueueUrl, "/111111111111/shared-events") {
		t.Fatalf("queue URL %s is not in account B", *q.QueueUrl)
	}
	listA, err := sqs.NewFromConfig(g.admin).ListQueues(ctx, &sqs.ListQueuesInput{})
	ok(t, "list A's queues", err)
	if len(listA.QueueUrls) != 0 {
		t.Errorf("account A lists B's queues: %v", listA.QueueUrls)
	}
	queueARN := "arn:aws:sqs:us-east-1:111111111111:shared-events"
	g.grant(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"`+queueARN+`"}]}`)
	c := sqs.NewFromConfig(g.session(t))
	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("x")})
	apiError(t, err, "AccessDenied", "on resource: "+queueARN+" because no resource-based policy allows the sqs:SendMessage action")

	_, err = adminB.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: q.QueueUrl, Attributes: map[string]string{
		"Policy": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"sqs:SendMessage","Resource":"` + queueARN + `"}]}`,
	}})
	ok(t, "set B's queue policy", err)
	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("from A")})
	ok(t, "SendMessage with both sides allowing", err)
	got, err := adminB.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl})
	ok(t, "receive in B", err)
	if len(got.Messages) != 1 || *got.Messages[0].Body != "from A" {
		t.Errorf("B received %v", got.Messages)
	}

	// Without A's identity grant, A's side refuses.
	g.grant(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:ReceiveMessage","Resource":"*"}]}`)
	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("x")})
	apiError(t, err, "AccessDenied", "because no identity-based policy allows the sqs:SendMessage action")
	recs, err := trail.Read(g.trail, time.Time{})
	ok(t, "read trail", err)
	last := recs[len(recs)-1]
	if last.IrsaLocal == nil || !strings.Contains(last.IrsaLocal.Reason, "the caller's account (000000000000) refuses it") {
		t.Errorf("last record: %+v", last.IrsaLocal)
	}
}

// TestGatewayRootCannotReachAcrossInAMultiResourceCall: an account root
// may do anything in its own account, but a call naming its own table
// first and another account's second is still authorized on the second.
func TestGatewayRootCannotReachAcrossInAMultiResourceCall(t *testing.T) {
	g := newGatewayFixture(t)
	ctx := context.Background()
	create := func(c *dynamodb.Client, name string) {
		t.Helper()
		_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName:            aws.String(name),
			AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
			KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}},
			BillingMode:          ddbtypes.BillingModePayPerRequest,
		})
		ok(t, "create table "+name, err)
	}
	rootB := dynamodb.NewFromConfig(g.config(credentials.NewStaticCredentialsProvider("111111111111", "any", "")))
	create(dynamodb.NewFromConfig(g.admin), "ledger")
	create(rootB, "scratch")
	put := func(table string) ddbtypes.TransactWriteItem {
		return ddbtypes.TransactWriteItem{Put: &ddbtypes.Put{TableName: aws.String(table), Item: map[string]ddbtypes.AttributeValue{"id": &ddbtypes.AttributeValueMemberS{Value: "x"}}}}
	}
	_, err := rootB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{
		put("arn:aws:dynamodb:us-east-1:111111111111:table/scratch"),
		put("arn:aws:dynamodb:us-east-1:000000000000:table/ledger"),
	}})
	apiError(t, err, "AccessDeniedException", "User: arn:aws:iam::111111111111:root is not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:000000000000:table/ledger because no resource-based policy allows")
	// Its own table alone is its own business.
	_, err = rootB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("scratch"), Item: map[string]ddbtypes.AttributeValue{"id": &ddbtypes.AttributeValueMemberS{Value: "y"}}})
	ok(t, "PutItem on B's own table", err)
}
