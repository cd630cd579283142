package harness

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithy "github.com/aws/smithy-go"
)

// AdminAWSConfig returns an aws.Config for the environment's AWS endpoint
// with the admin credentials, which act as the account root: for setting
// up roles, policies and buckets.
func (e *Env) AdminAWSConfig() aws.Config {
	return e.awsConfig(credentials.NewStaticCredentialsProvider(DefaultAccessKeyID, DefaultSecretAccessKey, ""))
}

// AccountAWSConfig returns an aws.Config acting as the root of another
// account of the environment: its 12-digit ID as the access key, any
// secret. The account is created on first use; its roles, policies and
// buckets are its own, and a call into another account's resources needs
// that account's resource policy to allow it.
func (e *Env) AccountAWSConfig(accountID string) aws.Config {
	return e.awsConfig(credentials.NewStaticCredentialsProvider(accountID, DefaultSecretAccessKey, ""))
}

// AssumeRoleAWSConfig returns an aws.Config whose credentials come from
// sts:AssumeRole of roleARN with the credentials of from, as
// aws-sdk-go-v2's AssumeRoleProvider gets them for a profile with a
// source_profile: from may be WebIdentityAWSConfig's (a role chain) or
// an account's root.
func (e *Env) AssumeRoleAWSConfig(from aws.Config, roleARN string, opts ...func(*stscreds.AssumeRoleOptions)) aws.Config {
	prov := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(from), roleARN, opts...)
	return e.awsConfig(aws.NewCredentialsCache(prov))
}

func (e *Env) awsConfig(creds aws.CredentialsProvider) aws.Config {
	return aws.Config{
		Region:       e.AWS().Region,
		Credentials:  creds,
		BaseEndpoint: aws.String(e.AWSEndpoint()),
	}
}

// WebIdentityAWSConfig returns an aws.Config whose credentials come from
// AssumeRoleWithWebIdentity with the token in tokenFile, read again at every
// refresh, exactly as the SDKs do in a pod.
func (e *Env) WebIdentityAWSConfig(roleARN, tokenFile string) aws.Config {
	stsClient := sts.NewFromConfig(e.awsConfig(aws.AnonymousCredentials{}))
	prov := stscreds.NewWebIdentityRoleProvider(stsClient, roleARN, stscreds.IdentityTokenFile(tokenFile))
	return e.awsConfig(aws.NewCredentialsCache(prov))
}

// Trust says whom a role created with CreateRole trusts.
type Trust struct {
	doc           string
	namespace, sa string
}

// TrustServiceAccount is the EKS-standard trust policy: the environment's
// OIDC provider may assume the role for system:serviceaccount:NS:NAME with
// audience sts.amazonaws.com (StringEquals on ":sub" and ":aud"). A name of
// "*" trusts every service account of the namespace (StringLike).
func TrustServiceAccount(namespace, name string) Trust {
	return Trust{namespace: namespace, sa: name}
}

// TrustPolicy uses doc as the trust policy, verbatim.
func TrustPolicy(doc string) Trust { return Trust{doc: doc} }

// CreateRole creates an IAM role trusting as trust says and attaches the
// managed policies given by ARN (for example
// arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess). It returns the role ARN.
func (e *Env) CreateRole(ctx context.Context, name string, trust Trust, policyARNs ...string) (string, error) {
	doc := trust.doc
	if doc == "" {
		doc = e.TrustPolicyFor(trust.namespace, trust.sa)
	}
	c := iam.NewFromConfig(e.AdminAWSConfig())
	out, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(doc)})
	if err != nil {
		return "", fmt.Errorf("create role %s: %w", name, err)
	}
	for _, arn := range policyARNs {
		if _, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(name), PolicyArn: aws.String(arn)}); err != nil {
			return "", fmt.Errorf("attach %s to role %s: %w", arn, name, err)
		}
	}
	return *out.Role.Arn, nil
}

// PutRolePolicy adds (or replaces) an inline policy of a role.
func (e *Env) PutRolePolicy(ctx context.Context, role, policyName, doc string) error {
	c := iam.NewFromConfig(e.AdminAWSConfig())
	if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(policyName), PolicyDocument: aws.String(doc)}); err != nil {
		return fmt.Errorf("put policy %s on role %s: %w", policyName, role, err)
	}
	return nil
}

// AttachRolePolicy attaches a managed policy to a role.
func (e *Env) AttachRolePolicy(ctx context.Context, role, policyARN string) error {
	c := iam.NewFromConfig(e.AdminAWSConfig())
	if _, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(role), PolicyArn: aws.String(policyARN)}); err != nil {
		return fmt.Errorf("attach %s to role %s: %w", policyARN, role, err)
	}
	return nil
}

// IsAWSError reports whether err carries the AWS error code code.
func IsAWSError(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}
