package harness

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// The forwarded services' resources of an environment file. They are
// created through the AWS endpoint, so they need a backend.

// QueueSpec is an SQS queue, with optional attributes and queue policy.
type QueueSpec struct {
	Name       string            `json:"name"`
	Attributes map[string]string `json:"attributes,omitempty"`
	Policy     Document          `json:"policy,omitempty"`
}

// TableSpec is a DynamoDB table (on-demand) with its key.
type TableSpec struct {
	Name         string         `json:"name"`
	PartitionKey AttributeSpec  `json:"partitionKey"`
	SortKey      *AttributeSpec `json:"sortKey,omitempty"`
}

// AttributeSpec is a key attribute: its name and type (S, N or B; default
// S).
type AttributeSpec struct {
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
}

// SecretSpec is a Secrets Manager secret with a string value and an
// optional resource policy.
type SecretSpec struct {
	Name   string   `json:"name"`
	Value  string   `json:"value"`
	Policy Document `json:"policy,omitempty"`
}

// ParameterSpec is an SSM parameter (type String by default).
type ParameterSpec struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Type  string `json:"type,omitempty"`
}

func (f *EnvironmentFile) validateServices() error {
	for i, q := range f.Queues {
		if q.Name == "" {
			return fmt.Errorf("queues[%d] has no name", i)
		}
	}
	for i, t := range f.Tables {
		if t.Name == "" || t.PartitionKey.Name == "" {
			return fmt.Errorf("tables[%d] needs a name and a partitionKey", i)
		}
		for _, k := range []*AttributeSpec{&t.PartitionKey, t.SortKey} {
			if k != nil && k.Type != "" && k.Type != "S" && k.Type != "N" && k.Type != "B" {
				return fmt.Errorf("table %s: key %s has type %q; want S, N or B", t.Name, k.Name, k.Type)
			}
		}
	}
	for i, s := range f.Secrets {
		if s.Name == "" {
			return fmt.Errorf("secrets[%d] has no name", i)
		}
	}
	for i, p := range f.Parameters {
		if p.Name == "" {
			return fmt.Errorf("parameters[%d] has no name", i)
		}
		switch p.Type {
		case "", "String", "StringList", "SecureString":
		default:
			return fmt.Errorf("parameter %s has type %q; want String, StringList or SecureString", p.Name, p.Type)
		}
	}
	return nil
}

// applyServices creates the queues, tables, secrets and parameters of f,
// or brings them in line.
func applyServices(ctx context.Context, cfg aws.Config, f *EnvironmentFile) error {
	if len(f.Queues) > 0 {
		c := sqs.NewFromConfig(cfg)
		for _, q := range f.Queues {
			attrs := map[string]string{}
			for k, v := range q.Attributes {
				attrs[k] = v
			}
			if q.Policy != "" {
				attrs["Policy"] = string(q.Policy)
			}
			out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(q.Name)})
			if err == nil && len(attrs) > 0 {
				_, err = c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: out.QueueUrl, Attributes: attrs})
			}
			if err != nil {
				return fmt.Errorf("apply queue %s: %w", q.Name, err)
			}
		}
	}
	if len(f.Tables) > 0 {
		c := dynamodb.NewFromConfig(cfg)
		for _, t := range f.Tables {
			if err := applyTable(ctx, c, t); err != nil {
				return fmt.Errorf("apply table %s: %w", t.Name, err)
			}
		}
	}
	if len(f.Secrets) > 0 {
		c := secretsmanager.NewFromConfig(cfg)
		for _, s := range f.Secrets {
			_, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(s.Name), SecretString: aws.String(s.Value)})
			if IsAWSError(err, "ResourceExistsException") {
				_, err = c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(s.Name), SecretString: aws.String(s.Value)})
			}
			if err == nil && s.Policy != "" {
				_, err = c.PutResourcePolicy(ctx, &secretsmanager.PutResourcePolicyInput{SecretId: aws.String(s.Name), ResourcePolicy: aws.String(string(s.Policy))})
			}
			if err != nil {
				return fmt.Errorf("apply secret %s: %w", s.Name, err)
			}
		}
	}
	if len(f.Parameters) > 0 {
		c := ssm.NewFromConfig(cfg)
		for _, p := range f.Parameters {
			typ := ssmtypes.ParameterType(p.Type)
			if typ == "" {
				typ = ssmtypes.ParameterTypeString
			}
			if _, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(p.Name), Value: aws.String(p.Value), Type: typ, Overwrite: aws.Bool(true)}); err != nil {
				return fmt.Errorf("apply parameter %s: %w", p.Name, err)
			}
		}
	}
	return nil
}

func applyTable(ctx context.Context, c *dynamodb.Client, t TableSpec) error {
	attr := func(k AttributeSpec) ddbtypes.AttributeDefinition {
		typ := ddbtypes.ScalarAttributeType(k.Type)
		if typ == "" {
			typ = ddbtypes.ScalarAttributeTypeS
		}
		return ddbtypes.AttributeDefinition{AttributeName: aws.String(k.Name), AttributeType: typ}
	}
	in := &dynamodb.CreateTableInput{
		TableName:            aws.String(t.Name),
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{attr(t.PartitionKey)},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String(t.PartitionKey.Name), KeyType: ddbtypes.KeyTypeHash}},
	}
	if t.SortKey != nil {
		in.AttributeDefinitions = append(in.AttributeDefinitions, attr(*t.SortKey))
		in.KeySchema = append(in.KeySchema, ddbtypes.KeySchemaElement{AttributeName: aws.String(t.SortKey.Name), KeyType: ddbtypes.KeyTypeRange})
	}
	_, err := c.CreateTable(ctx, in)
	if IsAWSError(err, "ResourceInUseException") {
		return nil // exists; its key cannot change
	}
	return err
}
