package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// The services spec's names: a shop whose orders service may use the
// queue "orders", the items of customer alice in table "carts", the
// secret "orders/db" and the parameters under /orders.
const (
	ordersNamespace = "shop"
	ordersSA        = "orders"
	ordersRole      = "orders-app"
)

// ordersApp is e2e/images/orders-app, built next to the binary under test.
func ordersApp() string { return filepath.Join(filepath.Dir(binary), "orders-app") }

// ordersEnvironment is the environment file of the services spec.
const ordersEnvironment = `apiVersion: irsa-local.dev/v1alpha1
kind: Environment
roles:
  - name: orders-app
    trust: {serviceAccount: {namespace: shop, name: orders}}
    inlinePolicies:
      - name: orders
        document:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Action: [sqs:GetQueueUrl, sqs:SendMessage, sqs:ReceiveMessage]
              Resource: arn:aws:sqs:us-east-1:000000000000:orders
            - Effect: Allow
              Action: [dynamodb:GetItem, dynamodb:PutItem]
              Resource: arn:aws:dynamodb:us-east-1:000000000000:table/carts
              Condition: {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [alice]}}
            - Effect: Allow
              Action: secretsmanager:GetSecretValue
              Resource: arn:aws:secretsmanager:us-east-1:000000000000:secret:orders/db-??????
            - Effect: Allow
              Action: ssm:GetParametersByPath
              Resource: arn:aws:ssm:us-east-1:000000000000:parameter/orders
queues: [{name: orders}, {name: audit}]
tables: [{name: carts, partitionKey: {name: customer}}]
secrets: [{name: orders/db, value: s3cr3t}, {name: billing/db, value: t0ps3cr3t}]
parameters:
  - {name: /orders/db-url, value: "postgres://orders-db:5432/orders"}
  - {name: /billing/db-url, value: "postgres://billing-db:5432/billing"}
serviceAccounts: [{namespace: shop, name: orders, role: orders-app}]
`

func (w *world) setUpOrders(s status) {
	w.must("apply", "-f", w.writeFile("orders.yaml", ordersEnvironment))
}

// expectOrdersOutcomes checks orders-app's lines: each allowed call
// succeeds, each call outside the grant is refused with its service's
// error and AWS's message.
func expectOrdersOutcomes(out, account string) {
	session := "User: arn:aws:sts::" + account + ":assumed-role/" + ordersRole + "/"
	lines := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		name, rest, _ := strings.Cut(l, ": ")
		lines[name] = rest
	}
	for _, ok := range []string{"sqs send orders", "dynamodb get alice", "secret orders/db", "parameters /orders"} {
		ExpectWithOffset(1, lines).To(HaveKeyWithValue(ok, "ok"), "orders-app printed:\n%s", out)
	}
	for name, want := range map[string][]string{
		"sqs send audit":      {"AccessDenied: " + session, "is not authorized to perform: sqs:GetQueueUrl on resource: arn:aws:sqs:us-east-1:" + account + ":audit because no identity-based policy allows the sqs:GetQueueUrl action"},
		"dynamodb get bob":    {"AccessDeniedException: " + session, "dynamodb:GetItem on resource: arn:aws:dynamodb:us-east-1:" + account + ":table/carts"},
		"secret billing/db":   {"AccessDeniedException: " + session, "secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:us-east-1:" + account + ":secret:billing/db-"},
		"parameters /billing": {"AccessDeniedException: " + session, "ssm:GetParametersByPath on resource: arn:aws:ssm:us-east-1:" + account + ":parameter/billing"},
	} {
		for _, part := range want {
			ExpectWithOffset(1, lines[name]).To(ContainSubstring(part), "%s; orders-app printed:\n%s", name, out)
		}
	}
}

// expectOrdersTrail checks that the trail holds the allowed and the refused
// calls of the session, with irsa-local's reasons.
func (w *world) expectOrdersTrail(account string) {
	type record struct {
		EventSource  string `json:"eventSource"`
		EventName    string `json:"eventName"`
		ErrorCode    string `json:"errorCode"`
		UserIdentity struct {
			ARN string `json:"arn"`
		} `json:"userIdentity"`
		Resources []struct {
			ARN string `json:"ARN"`
		} `json:"resources"`
		IrsaLocal struct {
			Decision string `json:"decision"`
			Reason   string `json:"reason"`
		} `json:"irsaLocal"`
	}
	dec := json.NewDecoder(strings.NewReader(w.must("trail", "-o", "json")))
	seen := map[string]record{}
	for dec.More() {
		var r record
		ExpectWithOffset(1, dec.Decode(&r)).To(Succeed())
		if strings.Contains(r.UserIdentity.ARN, ":assumed-role/"+ordersRole+"/") && len(r.Resources) > 0 {
			seen[r.EventName+" "+r.Resources[0].ARN+" "+r.IrsaLocal.Decision] = r
		}
	}
	allowed := seen["SendMessage arn:aws:sqs:us-east-1:"+account+":orders allow"]
	ExpectWithOffset(1, allowed.IrsaLocal.Reason).To(ContainSubstring("allowed by statement 0 of inline policy orders of role orders-app"), "trail: %v", seen)
	denied := seen["GetItem arn:aws:dynamodb:us-east-1:"+account+":table/carts deny"]
	ExpectWithOffset(1, denied.ErrorCode).To(Equal("AccessDeniedException"), "trail: %v", seen)
	ExpectWithOffset(1, denied.IrsaLocal.Reason).To(ContainSubstring("dynamodb:LeadingKeys"), "the reason names the condition that failed")
	// The text trail shows the refusal and why.
	text := w.must("trail")
	ExpectWithOffset(1, text).To(ContainSubstring("DENY  sqs:GetQueueUrl"))
	ExpectWithOffset(1, text).To(ContainSubstring("why: "))
}

var _ = Describe("the forwarded services with the AWS CLI and boto3", Label("local"), func() {
	It("authorizes each call of a pod's CLI and boto3 as the role's policy says", func() {
		requireCluster()
		w := newWorld()
		w.must("up")
		s := w.status()
		w.setUpOrders(s)
		exec := func(args ...string) result {
			return w.cmd(binary, nil, append([]string{"exec", "-n", ordersNamespace, "--service-account", ordersSA, "--"}, args...)...)
		}
		ok := exec("aws", "secretsmanager", "get-secret-value", "--secret-id", "orders/db", "--query", "SecretString", "--output", "text")
		Expect(ok.code).To(Equal(0), ok.stderr)
		Expect(strings.TrimSpace(ok.stdout)).To(Equal("s3cr3t"))
		// AWS CLI v1 sends SQS calls in us-east-1 to its legacy
		// queue.amazonaws.com whatever AWS_ENDPOINT_URL says, unless
		// --endpoint-url is given (its update_endpoint_url customization).
		denied := exec("sh", "-c", `aws --endpoint-url "$AWS_ENDPOINT_URL" sqs purge-queue --queue-url "$AWS_ENDPOINT_URL/`+s.AWS.AccountID+`/orders"`)
		Expect(denied.code).NotTo(Equal(0))
		Expect(denied.stderr).To(ContainSubstring("(AccessDenied)"))
		Expect(denied.stderr).To(ContainSubstring("is not authorized to perform: sqs:PurgeQueue"))
		denied = exec("sh", "-c", `aws --endpoint-url "$AWS_ENDPOINT_URL" sqs get-queue-url --queue-name audit`)
		Expect(denied.code).NotTo(Equal(0))
		Expect(denied.stderr).To(ContainSubstring("is not authorized to perform: sqs:GetQueueUrl on resource: arn:aws:sqs:us-east-1:" + s.AWS.AccountID + ":audit"))

		script := `
import boto3, botocore
sqs = boto3.client("sqs")
url = sqs.get_queue_url(QueueName="orders")["QueueUrl"]
sqs.send_message(QueueUrl=url, MessageBody="from boto3")
print("received:", sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"])
ddb = boto3.client("dynamodb")
ddb.put_item(TableName="carts", Item={"customer": {"S": "alice"}, "total": {"N": "3"}})
try:
    ddb.put_item(TableName="carts", Item={"customer": {"S": "mallory"}})
except botocore.exceptions.ClientError as e:
    print("denied:", e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"])
`
		py := exec("python3", "-c", script)
		Expect(py.code).To(Equal(0), py.stderr)
		Expect(py.stdout).To(ContainSubstring("received: from boto3"))
		Expect(py.stdout).To(ContainSubstring("denied: AccessDeniedException 400"))
	})
})
