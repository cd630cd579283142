package actions

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/irsa-local/irsa-local/internal/golden"
)

// backend answers lookups as a backend holding one secret, one alias, one
// table and one ciphertext would. The models only ever ask a Resolver;
// the gateway's tests run the real resolver against moto.
type backend struct{}

const (
	account = "000000000000"
	keyARN  = "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab"
)

func (backend) SecretARN(_ context.Context, id string) (string, bool, error) {
	switch id {
	case "db-pass", "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-pass":
		return "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-pass-AbCdEf", true, nil
	case "broken":
		return "", false, errors.New("backend down")
	}
	return "", false, nil
}

func (backend) KeyARN(_ context.Context, alias string) (string, bool, error) {
	if alias == "alias/orders" {
		return keyARN, true, nil
	}
	return "", false, nil
}

func (backend) CiphertextKeyARN(_ context.Context, blob string, _ map[string]string) (string, bool, error) {
	return keyARN, blob == "Y2lwaGVy", nil
}

func (backend) PartitionKey(_ context.Context, table string) (string, bool, error) {
	if table == "orders" {
		return "customer", true, nil
	}
	return "", false, nil
}

// call is one request of a golden table: a JSON body with its target, or
// Query parameters.
type call struct{ op, body string }

var tables = map[string][]call{
	"sqs": {
		{"SendMessage", `{"QueueUrl":"http://localhost:4566/000000000000/orders","MessageBody":"x"}`},
		{"SendMessageBatch", `{"QueueUrl":"https://sqs.eu-west-1.amazonaws.com/111122223333/orders","Entries":[]}`},
		{"ReceiveMessage", `{"QueueUrl":"http://localhost/000000000000/orders"}`},
		{"DeleteMessage", `{"QueueUrl":"http://localhost/000000000000/orders","ReceiptHandle":"r"}`},
		{"DeleteMessageBatch", `{"QueueUrl":"http://localhost/000000000000/orders"}`},
		{"ChangeMessageVisibility", `{"QueueUrl":"http://localhost/000000000000/orders"}`},
		{"ChangeMessageVisibilityBatch", `{"QueueUrl":"http://localhost/000000000000/orders"}`},
		{"GetQueueUrl", `{"QueueName":"orders"}`},
		{"GetQueueUrl", `{"QueueName":"orders","QueueOwnerAWSAccountId":"111122223333"}`},
		{"CreateQueue", `{"QueueName":"orders.fifo"}`},
		{"GetQueueAttributes", `{"QueueUrl":"http://localhost/000000000000/orders"}`},
		{"SetQueueAttributes", `{"QueueUrl":"http://localhost/000000000000/orders"}`},
		{"PurgeQueue", `{"QueueUrl":"http://localhost/000000000000/orders"}`},
		{"DeleteQueue", `{"QueueUrl":"http://localhost/000000000000/orders"}`},
		{"TagQueue", `{"QueueUrl":"http://localhost/000000000000/orders"}`},
		{"ListQueueTags", `{"QueueUrl":"http://localhost/000000000000/orders"}`},
		{"ListDeadLetterSourceQueues", `{"QueueUrl":"http://localhost/000000000000/dlq"}`},
		{"ListQueues", `{}`},
		{"ListQueues", ``},
		{"StartMessageMoveTask", `{"SourceArn":"arn:aws:sqs:us-east-1:000000000000:dlq"}`},
		{"SendMessage", `{"QueueUrl":"http://localhost/orders"}`},
		{"SendMessage", `{"QueueUrl":"http://localhost/../000000000000/../orders"}`},
		{"SendMessage", `{}`},
		{"CancelMessageMoveTask", `{"TaskHandle":"t"}`},
		{"", "Action=SendMessage&QueueUrl=http%3A%2F%2Flocalhost%2F000000000000%2Forders&MessageBody=x"},
	},
	"sns": {
		{"", "Action=Publish&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3Aevents&Message=x"},
		{"", "Action=Publish&TargetArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3Aendpoint%2FAPNS%2Fapp%2Fid"},
		{"", "Action=Publish&PhoneNumber=%2B15555550100&Message=x"},
		{"", "Action=Publish&Message=x"},
		{"", "Action=PublishBatch&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3Aevents"},
		{"", "Action=CreateTopic&Name=events"},
		{"", "Action=DeleteTopic&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3Aevents"},
		{"", "Action=Subscribe&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3Aevents&Protocol=sqs&Endpoint=arn%3Aaws%3Asqs%3Aus-east-1%3A000000000000%3Aorders"},
		{"", "Action=Unsubscribe&SubscriptionArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3Aevents%3A6b0e71bd-7e97-4d97-80ce-4a0994e55286"},
		{"", "Action=GetSubscriptionAttributes&SubscriptionArn=garbage"},
		{"", "Action=GetTopicAttributes&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3Aevents"},
		{"", "Action=SetTopicAttributes&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3Aevents"},
		{"", "Action=ListSubscriptionsByTopic&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3Aevents"},
		{"", "Action=TagResource&ResourceArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3Aevents"},
		{"", "Action=ListTopics"},
		{"", "Action=ListSubscriptions"},
		{"", "Action=CreatePlatformApplication&Name=app"},
		{"", "Action=CreatePlatformEndpoint&PlatformApplicationArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3Aapp%2FGCM%2Fapp&Token=t"},
		{"", "Action=DeleteEndpoint&EndpointArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3Aendpoint%2FGCM%2Fapp%2Fid"},
		{"", "Action=GetEndpointAttributes"},
		{"", "Action=ConfirmSubscription&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3Aevents&Token=t"},
		{"", "Action=OptInPhoneNumber&phoneNumber=1"},
		{"", "Version=2010-03-31"},
	},
	"dynamodb": {
		{"GetItem", `{"TableName":"orders","Key":{"customer":{"S":"alice"},"id":{"N":"7"}}}`},
		{"GetItem", `{"TableName":"orders","Key":{"customer":{"S":"alice"}},"ProjectionExpression":"#t, total, items[0].sku","ExpressionAttributeNames":{"#t":"status"}}`},
		{"GetItem", `{"TableName":"orders","Key":{"customer":{"S":"alice"}},"AttributesToGet":["total"]}`},
		{"PutItem", `{"TableName":"orders","Item":{"customer":{"S":"alice"},"id":{"N":"7"},"total":{"N":"3"}},"ReturnValues":"ALL_OLD"}`},
		{"UpdateItem", `{"TableName":"orders","Key":{"customer":{"S":"bob"}},"UpdateExpression":"SET #t = :t, total = if_not_exists(total, :z) + :one REMOVE notes","ExpressionAttributeNames":{"#t":"status"},"ExpressionAttributeValues":{":t":{"S":"paid"},":z":{"N":"0"},":one":{"N":"1"}}}`},
		{"DeleteItem", `{"TableName":"orders","Key":{"customer":{"S":"carol"}}}`},
		{"Query", `{"TableName":"orders","KeyConditionExpression":"customer = :c AND id BETWEEN :a AND :b","ExpressionAttributeValues":{":c":{"S":"alice"},":a":{"N":"1"},":b":{"N":"9"}}}`},
		{"Query", `{"TableName":"orders","IndexName":"by-status","KeyConditionExpression":"(#c = :c)","ExpressionAttributeNames":{"#c":"customer"},"ExpressionAttributeValues":{":c":{"S":"dave"}},"Select":"COUNT"}`},
		{"Query", `{"TableName":"orders","KeyConditions":{"customer":{"ComparisonOperator":"EQ","AttributeValueList":[{"S":"erin"}]}}}`},
		{"Scan", `{"TableName":"orders"}`},
		{"Scan", `{"TableName":"orders","IndexName":"by-status","ProjectionExpression":"customer"}`},
		{"BatchGetItem", `{"RequestItems":{"orders":{"Keys":[{"customer":{"S":"alice"}},{"customer":{"S":"bob"}}]},"archive":{"Keys":[{"id":{"N":"1"}}]}}}`},
		{"BatchWriteItem", `{"RequestItems":{"orders":[{"PutRequest":{"Item":{"customer":{"S":"alice"},"total":{"N":"1"}}}},{"DeleteRequest":{"Key":{"customer":{"S":"bob"}}}}]}}`},
		{"TransactWriteItems", `{"TransactItems":[{"ConditionCheck":{"TableName":"orders","Key":{"customer":{"S":"alice"}}}},{"Put":{"TableName":"orders","Item":{"customer":{"S":"bob"}}}},{"Update":{"TableName":"archive","Key":{"id":{"N":"1"}},"UpdateExpression":"SET n = :n"}},{"Delete":{"TableName":"orders","Key":{"customer":{"S":"carol"}}}}]}`},
		{"TransactGetItems", `{"TransactItems":[{"Get":{"TableName":"orders","Key":{"customer":{"S":"alice"}}}}]}`},
		{"DescribeTable", `{"TableName":"orders"}`},
		{"CreateTable", `{"TableName":"orders"}`},
		{"DeleteTable", `{"TableName":"arn:aws:dynamodb:us-east-1:000000000000:table/orders"}`},
		{"ListTables", `{}`},
		{"TagResource", `{"ResourceArn":"arn:aws:dynamodb:us-east-1:000000000000:table/orders"}`},
		{"ExecuteStatement", `{"Statement":"SELECT * FROM orders WHERE customer = 'alice'"}`},
		{"ExecuteStatement", `{"Statement":"select total from \"orders\".\"by-status\" where status = 'paid'"}`},
		{"ExecuteStatement", `{"Statement":"INSERT INTO \"orders\" VALUE {'customer': 'bob'}"}`},
		{"ExecuteStatement", `{"Statement":"UPDATE orders SET total = 3 WHERE customer = 'bob'"}`},
		{"ExecuteStatement", `{"Statement":"DELETE FROM \"my\"\"table\" WHERE customer = 'bob'"}`},
		{"ExecuteStatement", `{"Statement":"EXISTS(SELECT 1)"}`},
		{"BatchExecuteStatement", `{"Statements":[{"Statement":"SELECT * FROM orders"},{"Statement":"DELETE FROM archive WHERE id = 1"}]}`},
		{"ExecuteTransaction", `{"TransactStatements":[{"Statement":"UPDATE orders SET n = 1 WHERE customer = 'a'"}]}`},
		{"DescribeStream", `{}`},
		{"GetItem", `{"Key":{}}`},
		{"GetItem", `[1,2]`},
		{"BatchWriteItem", `{}`},
	},
	"secretsmanager": {
		{"GetSecretValue", `{"SecretId":"db-pass"}`},
		{"GetSecretValue", `{"SecretId":"db-pass","VersionStage":"AWSPREVIOUS"}`},
		{"GetSecretValue", `{"SecretId":"arn:aws:secretsmanager:us-east-1:000000000000:secret:db-pass"}`},
		{"GetSecretValue", `{"SecretId":"missing"}`},
		{"GetSecretValue", `{"SecretId":"arn:aws:secretsmanager:us-east-1:000000000000:secret:missing-AbCdEf"}`},
		{"GetSecretValue", `{"SecretId":"broken"}`},
		{"DescribeSecret", `{"SecretId":"db-pass"}`},
		{"PutSecretValue", `{"SecretId":"db-pass","SecretString":"s"}`},
		{"UpdateSecret", `{"SecretId":"db-pass"}`},
		{"DeleteSecret", `{"SecretId":"db-pass"}`},
		{"CreateSecret", `{"Name":"db-pass","SecretString":"s"}`},
		{"BatchGetSecretValue", `{"SecretIdList":["db-pass","missing"]}`},
		{"GetResourcePolicy", `{"SecretId":"db-pass"}`},
		{"PutResourcePolicy", `{"SecretId":"db-pass","ResourcePolicy":"{}"}`},
		{"ListSecrets", `{}`},
		{"GetRandomPassword", `{}`},
		{"ListSecretVersionIds", `{"SecretId":"db-pass"}`},
		{"GetSecretValue", `{}`},
	},
	"ssm": {
		{"GetParameter", `{"Name":"/app/db/url"}`},
		{"GetParameter", `{"Name":"app/db/url:3","WithDecryption":true}`},
		{"GetParameter", `{"Name":"arn:aws:ssm:us-east-1:000000000000:parameter/app/db/url:prod"}`},
		{"PutParameter", `{"Name":"/app/db/url","Value":"v","Overwrite":true}`},
		{"PutParameter", `{"Name":"/app/db/url","Value":"v"}`},
		{"DeleteParameter", `{"Name":"/app/db/url"}`},
		{"GetParameters", `{"Names":["/app/db/url","/app/db/user"]}`},
		{"DeleteParameters", `{"Names":["/app/a"]}`},
		{"GetParametersByPath", `{"Path":"/app/db","Recursive":true}`},
		{"GetParametersByPath", `{"Path":"/app"}`},
		{"GetParameterHistory", `{"Name":"/app/db/url"}`},
		{"AddTagsToResource", `{"ResourceType":"Parameter","ResourceId":"/app/db/url","Tags":[]}`},
		{"AddTagsToResource", `{"ResourceType":"Document","ResourceId":"d"}`},
		{"DescribeParameters", `{}`},
		{"SendCommand", `{}`},
		{"GetParameters", `{"Names":[]}`},
	},
	"kms": {
		{"Encrypt", `{"KeyId":"alias/orders","Plaintext":"eA==","EncryptionContext":{"tenant":"acme","app":"orders"}}`},
		{"Encrypt", `{"KeyId":"1234abcd-12ab-34cd-56ef-1234567890ab","Plaintext":"eA=="}`},
		{"Encrypt", `{"KeyId":"arn:aws:kms:us-east-1:000000000000:alias/orders","Plaintext":"eA=="}`},
		{"Encrypt", `{"KeyId":"alias/none","Plaintext":"eA=="}`},
		{"Encrypt", `{"KeyId":"arn:aws:kms:us-east-1:000000000000:alias/none","Plaintext":"eA=="}`},
		{"Decrypt", `{"CiphertextBlob":"Y2lwaGVy","EncryptionContext":{"tenant":"acme"}}`},
		{"Decrypt", `{"CiphertextBlob":"Y2lwaGVy","KeyId":"alias/orders","EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}`},
		{"Decrypt", `{"CiphertextBlob":"b3RoZXI="}`},
		{"GenerateDataKey", `{"KeyId":"alias/orders","KeySpec":"AES_256","EncryptionContext":{"tenant":"acme"}}`},
		{"ReEncrypt", `{"CiphertextBlob":"Y2lwaGVy","DestinationKeyId":"alias/orders","DestinationEncryptionContext":{"k":"v"}}`},
		{"DescribeKey", `{"KeyId":"alias/orders"}`},
		{"GetKeyPolicy", `{"KeyId":"1234abcd-12ab-34cd-56ef-1234567890ab","PolicyName":"default"}`},
		{"PutKeyPolicy", `{"KeyId":"1234abcd-12ab-34cd-56ef-1234567890ab","PolicyName":"default","Policy":"{}"}`},
		{"CreateAlias", `{"AliasName":"alias/new","TargetKeyId":"1234abcd-12ab-34cd-56ef-1234567890ab"}`},
		{"UpdateAlias", `{"AliasName":"alias/orders","TargetKeyId":"5678abcd-12ab-34cd-56ef-1234567890ab"}`},
		{"DeleteAlias", `{"AliasName":"alias/orders"}`},
		{"CreateAlias", `{"AliasName":"orders","TargetKeyId":"k"}`},
		{"CreateKey", `{}`},
		{"ListKeys", `{}`},
		{"ListAliases", `{}`},
		{"Sign", `{"KeyId":"alias/orders","Message":"eA==","SigningAlgorithm":"RSASSA_PSS_SHA_256"}`},
		{"ImportKeyMaterial", `{"KeyId":"k"}`},
		{"RevokeGrant", `{"KeyId":"alias/orders","GrantId":"g"}`},
		{"ConnectCustomKeyStore", `{"CustomKeyStoreId":"c"}`},
	},
}

// TestGoldenTables writes, per service, what each request is authorized
// as: operation → action, resource and condition keys, or the error that
// refuses it before any authorization.
func TestGoldenTables(t *testing.T) {
	for _, service := range Services() {
		t.Run(service, func(t *testing.T) {
			var b strings.Builder
			fmt.Fprintf(&b, "# %s: operation -> action on resource {condition keys}\n", service)
			for _, c := range tables[service] {
				req := Request{Service: service, Header: http.Header{}, Query: url.Values{}, Body: []byte(c.body), Account: account, Region: "us-east-1"}
				name := c.op
				if c.op != "" {
					req.Header.Set("X-Amz-Target", targetPrefixes[service]+c.op)
				} else {
					name = "(query) " + c.body
				}
				got, err := Parse(context.Background(), req, backend{})
				if err != nil {
					fmt.Fprintf(&b, "\n%s\n  error %v\n", name, err)
					continue
				}
				fmt.Fprintf(&b, "\n%s\n", name)
				for _, ch := range got.Checks {
					fmt.Fprintf(&b, "  %s on %s", ch.Action, ch.Resource)
					for _, k := range slices.Sorted(maps.Keys(ch.Keys)) {
						fmt.Fprintf(&b, " %s=%q", k, ch.Keys[k])
					}
					b.WriteString("\n")
				}
			}
			golden.Assert(t, filepath.Join("testdata", service+".golden"), []byte(b.String()))
		})
	}
}

// TestEveryServiceHasATable keeps the golden tables in step with the
// models.
func TestEveryServiceHasATable(t *testing.T) {
	for _, s := range Services() {
		if len(tables[s]) == 0 {
			t.Errorf("no golden table for %s", s)
		}
	}
	if want := []string{"dynamodb", "kms", "secretsmanager", "sns", "sqs", "ssm"}; strings.Join(Services(), ",") != strings.Join(want, ",") {
		t.Errorf("Services() = %v, want %v", Services(), want)
	}
}

// TestUnmodeled says an operation without a model is refused as such, so
// the gateway never forwards it unauthorized.
func TestUnmodeled(t *testing.T) {
	for _, tc := range []struct{ service, target string }{
		{"dynamodb", "DynamoDB_20120810.RestoreTableFromBackup"},
		{"lambda", ""},
		{"kms", "TrentService.ConnectCustomKeyStore"},
	} {
		h := http.Header{}
		if tc.target != "" {
			h.Set("X-Amz-Target", tc.target)
		}
		_, err := Parse(context.Background(), Request{Service: tc.service, Header: h, Body: []byte(`{"KeyId":"k"}`), Account: account, Region: "us-east-1"}, backend{})
		var e *Error
		if !errors.As(err, &e) || !e.Unmodeled {
			t.Errorf("%s %s: err = %v, want an unmodeled-operation error", tc.service, tc.target, err)
		}
	}
}

// TestResolverFailureIsNotADecision: a lookup that fails is an error, not
// an ARN to authorize.
func TestResolverFailureIsNotADecision(t *testing.T) {
	h := http.Header{"X-Amz-Target": {"secretsmanager.GetSecretValue"}}
	_, err := Parse(context.Background(), Request{Service: "secretsmanager", Header: h, Body: []byte(`{"SecretId":"broken"}`), Account: account, Region: "us-east-1"}, backend{})
	if !errors.Is(err, errResolve) {
		t.Fatalf("err = %v, want a lookup error", err)
	}
}
