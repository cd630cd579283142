package harness

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

func writeEnvFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "env.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const header = "apiVersion: irsa-local.dev/v1alpha1\nkind: Environment\n"

func TestLoadEnvironmentFileRefusesMistakes(t *testing.T) {
	for name, tc := range map[string]struct{ body, want string }{
		"wrong kind":       {"apiVersion: irsa-local.dev/v1alpha1\nkind: Cluster\n", "want apiVersion"},
		"unknown field":    {header + "rolez: []\n", `unknown field "rolez"`},
		"role no name":     {header + "roles:\n- trust: {serviceAccount: {namespace: a, name: b}}\n", "roles[0] has no name"},
		"two trusts":       {header + "roles:\n- name: r\n  trust: {serviceAccount: {namespace: a, name: b}, policy: '{}'}\n", "exactly one"},
		"no trust":         {header + "roles:\n- name: r\n  trust: {}\n", "exactly one"},
		"sa no namespace":  {header + "serviceAccounts:\n- name: x\n", "needs a namespace"},
		"role and arn":     {header + "serviceAccounts:\n- {namespace: a, name: b, role: r, roleArn: x}\n", "not both"},
		"account id":       {header + "accounts:\n- {id: \"12345\"}\n", "not a 12-digit account id"},
		"account twice":    {header + "accounts:\n- {id: \"111111111111\"}\n- {id: \"111111111111\"}\n", "appears twice"},
		"account sa trust": {header + "accounts:\n- id: \"111111111111\"\n  roles:\n  - {name: r, trust: {serviceAccount: {namespace: a, name: b}}}\n", "trust a role of that account with trust.policy"},
		"account role":     {header + "accounts:\n- id: \"111111111111\"\n  roles:\n  - {trust: {policy: '{}'}}\n", "account 111111111111: roles[0] has no name"},
		"pod and sa trust": {header + "roles:\n- name: r\n  trust: {podIdentity: true, serviceAccount: {namespace: a, name: b}}\n", "exactly one"},
		"assoc no sa":      {header + "podIdentityAssociations:\n- {namespace: a, role: r}\n", "podIdentityAssociations[0] needs a namespace and a serviceAccount"},
		"assoc no role":    {header + "podIdentityAssociations:\n- {namespace: a, serviceAccount: b}\n", "exactly one of role and roleArn"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := LoadEnvironmentFile(writeEnvFile(t, tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestApplyIsIdempotentWithoutACluster(t *testing.T) {
	e := start(t, t.TempDir(), WithInMemoryS3())
	f, err := LoadEnvironmentFile(writeEnvFile(t, header+`
policies:
  - name: p
    document: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "s3:ListBucket", Resource: "*"}]}
roles:
  - name: r
    trust: {serviceAccount: {namespace: ns, name: sa}}
    managedPolicies: [p, arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]
    inlinePolicies:
      - {name: i, document: '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:PutObject","Resource":"*"}]}'}
buckets:
  - name: data-bucket
    objects: [{key: a.txt, content: a}]
`))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := e.Apply(context.Background(), f); err != nil {
			t.Fatalf("apply #%d: %v", i+1, err)
		}
	}
	c := iam.NewFromConfig(e.AdminAWSConfig())
	att, err := c.ListAttachedRolePolicies(context.Background(), &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("r")})
	if err != nil || len(att.AttachedPolicies) != 2 {
		t.Fatalf("attached: %+v %v", att, err)
	}
	role, err := c.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String("r")})
	if err != nil || !strings.Contains(*role.Role.AssumeRolePolicyDocument, "system%3Aserviceaccount%3Ans%3Asa") {
		t.Fatalf("trust policy: %v %v", role, err)
	}
	g, err := LoadEnvironmentFile(writeEnvFile(t, header+"serviceAccounts:\n- {namespace: a, name: b}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Apply(context.Background(), g); err == nil || !strings.Contains(err.Error(), "without a cluster") {
		t.Fatalf("service accounts without a cluster: %v", err)
	}
}

func TestApplyOtherAccounts(t *testing.T) {
	e := start(t, t.TempDir(), WithInMemoryS3())
	f, err := LoadEnvironmentFile(writeEnvFile(t, header+`
accounts:
  - id: "111111111111"
    policies:
      - name: read
        document: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "s3:GetObject", Resource: "*"}]}
    roles:
      - name: data
        trust: {policy: {Version: "2012-10-17", Statement: [{Effect: Allow, Principal: {AWS: "arn:aws:iam::000000000000:root"}, Action: "sts:AssumeRole"}]}}
        managedPolicies: [read]
    buckets:
      - name: shared
        objects: [{key: a.txt, content: a}]
`))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := e.Apply(context.Background(), f); err != nil {
			t.Fatalf("apply #%d: %v", i+1, err)
		}
	}
	ctx := context.Background()
	b := iam.NewFromConfig(e.AccountAWSConfig("111111111111"))
	att, err := b.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("data")})
	if err != nil || len(att.AttachedPolicies) != 1 || *att.AttachedPolicies[0].PolicyArn != "arn:aws:iam::111111111111:policy/read" {
		t.Fatalf("B's role data: %+v %v", att, err)
	}
	if _, err := iam.NewFromConfig(e.AdminAWSConfig()).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("data")}); !IsAWSError(err, "NoSuchEntity") {
		t.Fatalf("the default account sees B's role: %v", err)
	}
	if got := e.Describe(ctx).AWS.Accounts; strings.Join(got, ",") != "000000000000,111111111111" {
		t.Errorf("accounts = %v", got)
	}
}
