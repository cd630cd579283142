package stsmock

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// The EKS part of the authorization table (see authz_test.go). EKS's six
// REST routes are a switch in eks.go rather than a table the test could
// ask, so its calls are listed here by hand and must match the rows.

const demoCluster = "arn:aws:eks:us-east-1:000000000000:cluster/demo"

var eksCalls = map[string]func(ctx context.Context, c *eks.Client) error{
	"ListClusters": func(ctx context.Context, c *eks.Client) error {
		_, err := c.ListClusters(ctx, &eks.ListClustersInput{})
		return err
	},
	"DescribeCluster": func(ctx context.Context, c *eks.Client) error {
		_, err := c.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("demo")})
		return err
	},
	"DescribeClusterVersions": func(ctx context.Context, c *eks.Client) error {
		_, err := c.DescribeClusterVersions(ctx, &eks.DescribeClusterVersionsInput{})
		return err
	},
	"ListTagsForResource": func(ctx context.Context, c *eks.Client) error {
		_, err := c.ListTagsForResource(ctx, &eks.ListTagsForResourceInput{ResourceArn: aws.String(demoCluster)})
		return err
	},
	"TagResource": func(ctx context.Context, c *eks.Client) error {
		_, err := c.TagResource(ctx, &eks.TagResourceInput{ResourceArn: aws.String(demoCluster), Tags: map[string]string{"k": "v"}})
		return err
	},
	"UntagResource": func(ctx context.Context, c *eks.Client) error {
		_, err := c.UntagResource(ctx, &eks.UntagResourceInput{ResourceArn: aws.String(demoCluster), TagKeys: []string{"k"}})
		return err
	},
}

func TestAuthzTableEKS(t *testing.T) {
	f := newFixture(t, WithEKSCluster(EKSCluster{Name: "demo", IssuerURL: "https://127.0.0.1:1234/id/X", CertificateAuthority: []byte("-----BEGIN CERTIFICATE-----\n"), CreatedAt: time.Now()}))
	ctx := context.Background()
	rows := readAuthzTable(t, "eks")
	if len(rows) != len(eksCalls) {
		t.Fatalf("%d rows in testdata/authz/eks.json for %d EKS calls", len(rows), len(eksCalls))
	}
	role := newAuthzRole(t, f)
	session := eks.NewFromConfig(role.creds)
	setPolicy := role.setPolicy
	for _, row := range rows {
		t.Run(row.name(), func(t *testing.T) {
			call := eksCalls[row.name()]
			if call == nil {
				t.Fatalf("no SDK call for %s", row.name())
			}
			refused := func(err error) bool {
				return apiCode(err) == "AccessDeniedException" && strings.Contains(err.Error(), "perform: "+row.Action+" on resource: "+row.Resource)
			}
			grant := authzPerm{Action: row.Action, Resource: row.Resource}
			if err := call(ctx, session); !refused(err) {
				t.Fatalf("without %s on %s: %v, want AccessDeniedException naming them", row.Action, row.Resource, err)
			}
			setPolicy("grant", statement("Allow", grant))
			defer setPolicy("grant", "")
			if err := call(ctx, session); err != nil {
				t.Fatalf("with %s on %s: %v, want it allowed", row.Action, row.Resource, err)
			}
			setPolicy("deny", statement("Deny", grant))
			defer setPolicy("deny", "")
			if err := call(ctx, session); !refused(err) {
				t.Fatalf("with %s on %s denied explicitly: %v, want AccessDeniedException", row.Action, row.Resource, err)
			}
		})
	}
}

// STS's GetCallerIdentity needs no permission and cannot be denied, as in
// AWS; AssumeRoleWithWebIdentity is decided by the role's trust policy
// (sts_test.go), not by the caller's identity policies.
func TestGetCallerIdentityCannotBeDenied(t *testing.T) {
	sf := newS3Fixture(t)
	ctx := context.Background()
	deny := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sts:GetCallerIdentity","Resource":"*"}]}`
	if _, err := sf.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("deny"), PolicyDocument: aws.String(deny)}); err != nil {
		t.Fatal(err)
	}
	sf.assumeCreds(t)
	who, err := sts.NewFromConfig(sf.config(credentials.StaticCredentialsProvider{Value: sf.creds})).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || !strings.Contains(*who.Arn, ":assumed-role/app/") {
		t.Fatalf("GetCallerIdentity under an explicit deny: %v %v", who, err)
	}
}

// TestEKSClusterIsTheDefaultAccounts: another account's root, and its
// role sessions whatever their policies say, cannot read the cluster,
// which has no resource policy to grant them.
func TestEKSClusterIsTheDefaultAccounts(t *testing.T) {
	f := newFixture(t, WithEKSCluster(EKSCluster{Name: "demo", IssuerURL: "https://127.0.0.1:1234/id/X", CertificateAuthority: []byte("-----BEGIN CERTIFICATE-----\n"), CreatedAt: time.Now()}))
	ctx := context.Background()
	root := eks.NewFromConfig(f.config(credentials.NewStaticCredentialsProvider("111111111111", "x", "")))
	_, err := root.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("demo")})
	if errorCode(err) != "AccessDeniedException" || !strings.Contains(err.Error(), "User: arn:aws:iam::111111111111:root is not authorized to perform: eks:DescribeCluster") {
		t.Fatalf("another account's root: %v", err)
	}
	if _, err := eks.NewFromConfig(f.cfg).DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("demo")}); err != nil {
		t.Fatalf("the default account's root: %v", err)
	}
}
