package stsmock

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func TestRoleLifecycleWithTheSDK(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	arn := f.createProvider(f.issuerURL)
	trust := eksTrust(arn, f.hostPath(false), "default", "app")
	created, err := f.iam.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String("app"), Path: aws.String("/irsa/"), AssumeRolePolicyDocument: aws.String(trust),
		Description: aws.String("reads buckets"), MaxSessionDuration: aws.Int32(7200),
		Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("a")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := created.Role
	if *r.Arn != "arn:aws:iam::000000000000:role/irsa/app" || !strings.HasPrefix(*r.RoleId, "AROA") || len(*r.RoleId) != 21 || r.CreateDate == nil {
		t.Errorf("role %s %s %v", *r.Arn, *r.RoleId, r.CreateDate)
	}
	// IAM sends policy documents URL-encoded; the SDK hands them over as sent.
	if doc, _ := url.QueryUnescape(*r.AssumeRolePolicyDocument); doc != trust {
		t.Errorf("trust policy round trip: %q", doc)
	}
	// Role names are not distinguished by case.
	got, err := f.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("APP")})
	if err != nil {
		t.Fatal(err)
	}
	if *got.Role.RoleName != "app" || *got.Role.MaxSessionDuration != 7200 || *got.Role.Description != "reads buckets" || len(got.Role.Tags) != 1 || got.Role.RoleLastUsed == nil {
		t.Errorf("GetRole fields: %+v", got.Role)
	}
	if _, err := f.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("APP"), AssumeRolePolicyDocument: aws.String(trust)}); apiCode(err) != "EntityAlreadyExists" {
		t.Errorf("duplicate name differing in case: %v", err)
	}

	if _, err := f.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("app"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("app"), PolicyArn: aws.String("arn:aws:iam::aws:policy/NoSuchPolicy")}); apiCode(err) != "NoSuchEntity" {
		t.Errorf("attach unknown managed policy: %v", err)
	}
	att, err := f.iam.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("app")})
	if err != nil || len(att.AttachedPolicies) != 1 || *att.AttachedPolicies[0].PolicyName != "AmazonS3ReadOnlyAccess" {
		t.Fatalf("attached: %+v %v", att, err)
	}
	inline := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}]}`
	if _, err := f.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("no-delete"), PolicyDocument: aws.String(inline)}); err != nil {
		t.Fatal(err)
	}
	rp, err := f.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("no-delete")})
	if err != nil {
		t.Fatal(err)
	}
	if doc, _ := url.QueryUnescape(*rp.PolicyDocument); doc != inline {
		t.Errorf("inline policy round trip: %q", doc)
	}
	// Deleting clients (Terraform) first remove the role from its instance
	// profiles; irsa-local has none.
	ip, err := f.iam.ListInstanceProfilesForRole(ctx, &iam.ListInstanceProfilesForRoleInput{RoleName: aws.String("app")})
	if err != nil || len(ip.InstanceProfiles) != 0 || ip.IsTruncated {
		t.Errorf("instance profiles of the role: %+v %v", ip, err)
	}
	if _, err := f.iam.ListInstanceProfilesForRole(ctx, &iam.ListInstanceProfilesForRoleInput{RoleName: aws.String("nobody")}); apiCode(err) != "NoSuchEntity" {
		t.Errorf("instance profiles of a missing role: %v", err)
	}
	if _, err := f.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("app")}); apiCode(err) != "DeleteConflict" {
		t.Errorf("delete role with policies: %v", err)
	}
	pv, err := f.iam.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"), VersionId: aws.String("v3")})
	if err != nil {
		t.Fatal(err)
	}
	if doc, _ := url.QueryUnescape(*pv.PolicyVersion.Document); !strings.Contains(doc, `"s3:Describe*"`) {
		t.Errorf("AmazonS3ReadOnlyAccess v3: %s", doc)
	}
	if _, err := f.iam.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("app"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("no-delete")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	list, err := f.iam.ListRoles(ctx, &iam.ListRolesInput{})
	if err != nil || len(list.Roles) != 0 {
		t.Fatalf("roles after delete: %+v %v", list, err)
	}
}

func TestMalformedPoliciesAreRejectedAtWriteTime(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::000000000000:oidc-provider/example.com"},"Action":"sts:AssumeRoleWithWebIdentity","Resource":"*"}]}`)})
	if apiCode(err) != "MalformedPolicyDocument" || !strings.Contains(err.Error(), "Has prohibited field Resource") {
		t.Errorf("trust policy with Resource: %v", err)
	}
	_, err = f.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("p"), PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject"}]}`)})
	if apiCode(err) != "MalformedPolicyDocument" || !strings.Contains(err.Error(), "Policy statement must contain resources.") {
		t.Errorf("identity policy without Resource: %v", err)
	}
	_, err = f.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("p"), PolicyDocument: aws.String(`not json`)})
	if apiCode(err) != "MalformedPolicyDocument" {
		t.Errorf("not JSON: %v", err)
	}
}

func TestCustomerManagedPolicies(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b"}]}`
	p, err := f.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("list-b"), PolicyDocument: aws.String(doc)})
	if err != nil {
		t.Fatal(err)
	}
	if *p.Policy.Arn != "arn:aws:iam::000000000000:policy/list-b" || *p.Policy.DefaultVersionId != "v1" || !strings.HasPrefix(*p.Policy.PolicyId, "ANPA") {
		t.Errorf("policy %+v", p.Policy)
	}
	if _, err := f.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("list-b"), PolicyDocument: aws.String(doc)}); apiCode(err) != "EntityAlreadyExists" {
		t.Errorf("duplicate policy: %v", err)
	}
	f.setup()
	if _, err := f.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("app"), PolicyArn: p.Policy.Arn}); err != nil {
		t.Fatal(err)
	}
	got, err := f.iam.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: p.Policy.Arn})
	if err != nil || *got.Policy.AttachmentCount != 1 {
		t.Fatalf("GetPolicy: %+v %v", got, err)
	}
	if _, err := f.iam.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: p.Policy.Arn}); apiCode(err) != "DeleteConflict" {
		t.Errorf("delete attached policy: %v", err)
	}
	v2, err := f.iam.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: p.Policy.Arn, PolicyDocument: aws.String(doc), SetAsDefault: true})
	if err != nil || *v2.PolicyVersion.VersionId != "v2" || !v2.PolicyVersion.IsDefaultVersion {
		t.Fatalf("CreatePolicyVersion: %+v %v", v2, err)
	}
	lp, err := f.iam.ListPolicies(ctx, &iam.ListPoliciesInput{Scope: "Local"})
	if err != nil || len(lp.Policies) != 1 {
		t.Fatalf("ListPolicies Local: %+v %v", lp, err)
	}
}

func TestOIDCProviderOperations(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	arn := f.createProvider(f.issuerURL)
	for _, step := range []func() error{
		func() error {
			_, err := f.iam.AddClientIDToOpenIDConnectProvider(ctx, &iam.AddClientIDToOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn), ClientID: aws.String("other")})
			return err
		},
		func() error {
			_, err := f.iam.UpdateOpenIDConnectProviderThumbprint(ctx, &iam.UpdateOpenIDConnectProviderThumbprintInput{OpenIDConnectProviderArn: aws.String(arn), ThumbprintList: []string{f.ca.Thumbprint()}})
			return err
		},
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	got, err := f.iam.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if *got.Url != f.issuerURL || len(got.ClientIDList) != 2 || got.ThumbprintList[0] != f.ca.Thumbprint() {
		t.Errorf("provider %+v", got)
	}
	if _, err := f.iam.RemoveClientIDFromOpenIDConnectProvider(ctx, &iam.RemoveClientIDFromOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn), ClientID: aws.String("other")}); err != nil {
		t.Fatal(err)
	}
	list, err := f.iam.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	if err != nil || len(list.OpenIDConnectProviderList) != 1 || *list.OpenIDConnectProviderList[0].Arn != arn {
		t.Fatalf("list: %+v %v", list, err)
	}
	if _, err := f.iam.DeleteOpenIDConnectProvider(ctx, &iam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.iam.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)}); apiCode(err) != "NoSuchEntity" {
		t.Errorf("get deleted provider: %v", err)
	}
	if _, err := f.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String("http://insecure.example"), ClientIDList: []string{"x"}}); apiCode(err) != "InvalidInput" {
		t.Errorf("http provider URL: %v", err)
	}
}

// A role session is held to its role's policies for IAM calls too.
func TestSessionsAreAuthorizedForIAMCalls(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	roleARN := f.setup()
	if _, err := f.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("app"), PolicyArn: aws.String("arn:aws:iam::aws:policy/IAMReadOnlyAccess")}); err != nil {
		t.Fatal(err)
	}
	out, err := f.sts.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("sess"), WebIdentityToken: aws.String(f.token("default", "app"))})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	sess := iam.NewFromConfig(f.config(credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)))
	if _, err := sess.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("app")}); err != nil {
		t.Errorf("read allowed by IAMReadOnlyAccess: %v", err)
	}
	_, err = sess.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("x"), AssumeRolePolicyDocument: aws.String(eksTrust(roleARN, "k", "n", "s"))})
	if apiCode(err) != "AccessDenied" || !strings.Contains(err.Error(), "assumed-role/app/sess is not authorized to perform: iam:CreateRole") {
		t.Errorf("write by a read-only session: %v", err)
	}
}

func TestIAMErrorsGolden(t *testing.T) {
	f := newFixture(t)
	form := func(kv ...string) url.Values {
		v := url.Values{"Version": {"2010-05-08"}}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	for _, tc := range []struct {
		name string
		form url.Values
	}{
		{"iam-NoSuchEntity-role", form("Action", "GetRole", "RoleName", "missing")},
		{"iam-NoSuchEntity-provider", form("Action", "GetOpenIDConnectProvider", "OpenIDConnectProviderArn", "arn:aws:iam::000000000000:oidc-provider/example.com/id/X")},
		{"iam-ValidationError-role-name", form("Action", "CreateRole", "RoleName", "bad name", "AssumeRolePolicyDocument", "{}")},
		{"iam-InvalidAction", form("Action", "CreateUserX")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := f.signedWire(tc.form)
			checkGolden(t, "errors/"+tc.name, status, body, nil)
		})
	}
}

func TestTaggingRolesAndProviders(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	arn := f.createProvider(f.issuerURL)
	f.createRole("app", eksTrust(arn, f.hostPath(false), "default", "app"))
	tags := []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("a")}, {Key: aws.String("env"), Value: aws.String("dev")}}
	if _, err := f.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("app"), Tags: tags}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.iam.TagOpenIDConnectProvider(ctx, &iam.TagOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn), Tags: tags}); err != nil {
		t.Fatal(err)
	}
	// Re-tagging a key replaces its value; untagging removes the key.
	retag := []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("b")}}
	if _, err := f.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("app"), Tags: retag}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.iam.UntagOpenIDConnectProvider(ctx, &iam.UntagOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn), TagKeys: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	rt, err := f.iam.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String("app")})
	if err != nil || len(rt.Tags) != 2 || *rt.Tags[0].Key != "team" || *rt.Tags[0].Value != "b" {
		t.Errorf("role tags: %+v %v", rt, err)
	}
	pt, err := f.iam.ListOpenIDConnectProviderTags(ctx, &iam.ListOpenIDConnectProviderTagsInput{OpenIDConnectProviderArn: aws.String(arn)})
	if err != nil || len(pt.Tags) != 1 || *pt.Tags[0].Key != "team" {
		t.Errorf("provider tags: %+v %v", pt, err)
	}
	if _, err := f.iam.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String("missing")}); apiCode(err) != "NoSuchEntity" {
		t.Errorf("tags of a missing role: %v", err)
	}
}

// sized returns an identity (or, with trust, a trust) policy of exactly n
// characters without white space, padded with spaces that IAM does not
// count.
func sized(t *testing.T, n int, trust bool) string {
	t.Helper()
	tmpl := `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::%s"}]}`
	if trust {
		tmpl = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::000000000000:oidc-provider/example.com/%s"}, "Action": "sts:AssumeRoleWithWebIdentity"}]}`
	}
	pad := n - policySize(fmt.Sprintf(tmpl, ""))
	if pad < 1 {
		t.Fatalf("cannot build a %d-character policy", n)
	}
	return fmt.Sprintf(tmpl, strings.Repeat("b", pad)) + strings.Repeat(" ", 100)
}

func TestPolicySizeQuotas(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	limited := func(err error, quota string) bool {
		return apiCode(err) == "LimitExceeded" && strings.Contains(err.Error(), quota)
	}
	_, err := f.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("big"), AssumeRolePolicyDocument: aws.String(sized(t, 2049, true))})
	if !limited(err, "Cannot exceed quota for ACLSizePerRole: 2048") {
		t.Errorf("2,049-character trust policy: %v", err)
	}
	if _, err := f.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("big"), AssumeRolePolicyDocument: aws.String(sized(t, 2048, true))}); err != nil {
		t.Fatalf("2,048-character trust policy: %v", err)
	}
	_, err = f.iam.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("big"), PolicyDocument: aws.String(sized(t, 2049, true))})
	if !limited(err, "ACLSizePerRole") {
		t.Errorf("UpdateAssumeRolePolicy with 2,049 characters: %v", err)
	}
	_, err = f.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("big"), PolicyDocument: aws.String(sized(t, 6145, false))})
	if !limited(err, "Cannot exceed quota for PolicySize: 6144") {
		t.Errorf("6,145-character managed policy: %v", err)
	}
	out, err := f.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("big"), PolicyDocument: aws.String(sized(t, 6144, false))})
	if err != nil {
		t.Fatalf("6,144-character managed policy: %v", err)
	}
	_, err = f.iam.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: out.Policy.Arn, PolicyDocument: aws.String(sized(t, 6145, false))})
	if !limited(err, "PolicySize") {
		t.Errorf("CreatePolicyVersion with 6,145 characters: %v", err)
	}
	// Inline policies count together: 6,000 + 4,240 fits, one more does not.
	put := func(name string, n int) error {
		_, err := f.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("big"), PolicyName: aws.String(name), PolicyDocument: aws.String(sized(t, n, false))})
		return err
	}
	if err := put("a", 6000); err != nil {
		t.Fatal(err)
	}
	if err := put("b", 4241); !limited(err, "Maximum policy size of 10240 bytes exceeded for role big") {
		t.Errorf("inline policies of 10,241 characters: %v", err)
	}
	if err := put("b", 4240); err != nil {
		t.Errorf("inline policies of 10,240 characters: %v", err)
	}
	if err := put("a", 6000); err != nil {
		t.Errorf("replacing an inline policy with one of the same size: %v", err)
	}
}

// TestProvidersReadBackAsWritten pins what GetOpenIDConnectProvider answers
// for what was created, so that a Terraform plan after an apply is clean:
// the Url in IAM's form (no scheme) unless it has a port, where it is
// answered whole; thumbprints and client IDs as written.
func TestProvidersReadBackAsWritten(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	upper := strings.ToUpper(f.ca.Thumbprint())
	for _, tc := range []struct{ url, want string }{
		{"https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E", "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"},
		{"https://127.0.0.1:34269/id/11B6EE4C", "https://127.0.0.1:34269/id/11B6EE4C"},
		{"https://[::1]:8443/id/X", "https://[::1]:8443/id/X"},
		{"https://example.com", "example.com"},
	} {
		out, err := f.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
			Url: aws.String(tc.url), ClientIDList: []string{"sts.amazonaws.com", "other"}, ThumbprintList: []string{upper},
		})
		if err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		got, err := f.iam.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: out.OpenIDConnectProviderArn})
		if err != nil {
			t.Fatal(err)
		}
		if *got.Url != tc.want {
			t.Errorf("%s reads back as %q, want %q", tc.url, *got.Url, tc.want)
		}
		if !terraformSeesNoChange(*got.Url, tc.url) {
			t.Errorf("%s: Terraform's AWS provider would see %q as a changed url", tc.url, *got.Url)
		}
		if len(got.ThumbprintList) != 1 || got.ThumbprintList[0] != upper || strings.Join(got.ClientIDList, ",") != "sts.amazonaws.com,other" {
			t.Errorf("%s: thumbprints %q, client IDs %q: not as written", tc.url, got.ThumbprintList, got.ClientIDList)
		}
	}
}

// terraformSeesNoChange is the url comparison of Terraform's AWS provider
// (aws_iam_openid_connect_provider's DiffSuppressFunc): both sides parsed as
// URLs, IAM's given the https scheme.
func terraformSeesNoChange(read, configured string) bool {
	old, err := url.Parse(read)
	if err != nil {
		return false
	}
	cfg, err := url.Parse(configured)
	if err != nil {
		return false
	}
	old.Scheme = "https"
	return old.String() == cfg.String()
}
