package stsmock

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// BenchmarkGateway measures SQS SendMessage and DynamoDB GetItem sent
// straight to moto_server and the same calls sent through irsa-local by a
// role session (authenticated, authorized with a condition key and a
// resource-policy lookup, recorded, re-signed and forwarded), over real
// HTTP on loopback, one call at a time. It reports the median latency of
// each path and the median of the paired differences, added-p50-ms: the
// gateway's cost.
// docs/performance.md has the figures.
func BenchmarkGateway(b *testing.B) {
	g := newGatewayFixture(b)
	ctx := context.Background()
	direct := g.admin.Copy()
	direct.BaseEndpoint = aws.String(moto.URL())
	g.grant(b, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:000000000000:orders"},
		{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"arn:aws:dynamodb:us-east-1:000000000000:table/carts",
		 "Condition":{"ForAllValues:StringEquals":{"dynamodb:LeadingKeys":["alice"]}}}]}`)
	session := g.session(b)

	q, err := sqs.NewFromConfig(g.admin).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("orders")})
	if err != nil {
		b.Fatal(err)
	}
	db := dynamodb.NewFromConfig(g.admin)
	if _, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String("carts"),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("customer"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("customer"), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	}); err != nil {
		b.Fatal(err)
	}
	key := map[string]ddbtypes.AttributeValue{"customer": &ddbtypes.AttributeValueMemberS{Value: "alice"}}
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("carts"), Item: key}); err != nil {
		b.Fatal(err)
	}

	calls := map[string]func(cfg aws.Config) func() error{
		"SQS.SendMessage": func(cfg aws.Config) func() error {
			c := sqs.NewFromConfig(cfg)
			return func() error {
				_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("order")})
				return err
			}
		},
		"DynamoDB.GetItem": func(cfg aws.Config) func() error {
			c := dynamodb.NewFromConfig(cfg)
			return func() error {
				_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("carts"), Key: key})
				return err
			}
		},
	}
	// The two paths alternate call by call, so both see the same backend
	// state (moto's SendMessage slows down as a queue grows).
	for _, name := range []string{"SQS.SendMessage", "DynamoDB.GetItem"} {
		b.Run(name, func(b *testing.B) {
			viaMoto, viaGateway := calls[name](direct), calls[name](session)
			for _, call := range []func() error{viaMoto, viaGateway} { // warm connections and caches
				if err := call(); err != nil {
					b.Fatal(err)
				}
			}
			var moto, gateway []time.Duration
			timed := func(call func() error, into *[]time.Duration) {
				start := time.Now()
				if err := call(); err != nil {
					b.Fatal(err)
				}
				*into = append(*into, time.Since(start))
			}
			for b.Loop() {
				timed(viaMoto, &moto)
				timed(viaGateway, &gateway)
			}
			// Each gateway call is paired with the direct call before it:
			// the median of the differences is the gateway's cost, less
			// noisy than the difference of two medians.
			added := make([]time.Duration, len(moto))
			for i := range moto {
				added[i] = gateway[i] - moto[i]
			}
			b.ReportMetric(ms(p50(moto)), "moto-p50-ms")
			b.ReportMetric(ms(p50(gateway)), "irsa-local-p50-ms")
			b.ReportMetric(ms(p50(added)), "added-p50-ms")
		})
	}
}

func p50(d []time.Duration) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
