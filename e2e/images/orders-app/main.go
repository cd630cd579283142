// Command orders-app is the e2e suites' workload for the forwarded
// services: an unmodified aws-sdk-go-v2 application whose role may use one
// queue, the items of one customer in a table, one secret and one
// parameter path. It makes each call it is allowed and one it is not, for
// every service, and prints one line per call: "NAME: ok" or
// "NAME: CODE: MESSAGE". It exits 1 only when it cannot start.
//
// It runs on the host under `irsa-local exec` in local mode and as a pod in
// kind mode, from the same FROM-scratch image as s3-reader.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRetryMaxAttempts(1))
	if err != nil {
		fmt.Fprintln(os.Stderr, "error: load AWS config:", err)
		os.Exit(1)
	}
	q, db := sqs.NewFromConfig(cfg), dynamodb.NewFromConfig(cfg)
	sm, ps := secretsmanager.NewFromConfig(cfg), ssm.NewFromConfig(cfg)
	key := func(customer string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"customer": &types.AttributeValueMemberS{Value: customer}}
	}
	send := func(queue string) error {
		u, err := q.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(queue)})
		if err != nil {
			return err
		}
		_, err = q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: u.QueueUrl, MessageBody: aws.String("order 42")})
		return err
	}
	calls := []struct {
		name string
		call func() error
	}{
		{"sqs send orders", func() error { return send("orders") }},
		{"sqs send audit", func() error { return send("audit") }},
		{"dynamodb get alice", func() error {
			_, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("carts"), Key: key("alice")})
			return err
		}},
		{"dynamodb get bob", func() error {
			_, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("carts"), Key: key("bob")})
			return err
		}},
		{"secret orders/db", func() error {
			_, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("orders/db")})
			return err
		}},
		{"secret billing/db", func() error {
			_, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("billing/db")})
			return err
		}},
		{"parameters /orders", func() error {
			_, err := ps.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/orders")})
			return err
		}},
		{"parameters /billing", func() error {
			_, err := ps.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/billing")})
			return err
		}},
	}
	for _, c := range calls {
		err := c.call()
		var ae smithy.APIError
		switch {
		case err == nil:
			fmt.Printf("%s: ok\n", c.name)
		case errors.As(err, &ae):
			fmt.Printf("%s: %s: %s\n", c.name, ae.ErrorCode(), ae.ErrorMessage())
		default:
			fmt.Printf("%s: error: %v\n", c.name, err)
		}
	}
}
