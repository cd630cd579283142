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
		"wrong kind":      {"apiVersion: irsa-local.dev/v1alpha1\nkind: Cluster\n", "want apiVersion"},
		"unknown field":   {header + "rolez: []\n", `unknown field "rolez"`},
		"role no name":    {header + "roles:\n- trust: {serviceAccount: {namespace: a, name: b}}\n", "roles[0] has no name"},
		"two trusts":      {header + "roles:\n- name: r\n  trust: {serviceAccount: {namespace: a, name: b}, policy: '{}'}\n", "exactly one"},
		"no trust":        {header + "roles:\n- name: r\n  trust: {}\n", "exactly one"},
		"sa no namespace": {header + "serviceAccounts:\n- name: x\n", "needs a namespace"},
		"role and arn":    {header + "serviceAccounts:\n- {namespace: a, name: b, role: r, roleArn: x}\n", "not both"},
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
