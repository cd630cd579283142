package stsmock

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// The IAM half of the authorization table (see authz_test.go): every IAM
// action the endpoint serves, called by a role session with no grant,
// with exactly its action on exactly its resource, and with an explicit
// deny added. IAM's AccessDenied names the action and resource it
// refused, so the denials are checked against the row too.

const (
	targetRole     = "arn:aws:iam::000000000000:role/target"
	targetPolicy   = "arn:aws:iam::000000000000:policy/target"
	targetProvider = "arn:aws:iam::000000000000:oidc-provider/example.com/id/T"
	someTrust      = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	someIdentity   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	someThumbprint = "0123456789abcdef0123456789abcdef01234567"
)

type iamCall func(ctx context.Context, c, admin *iam.Client) error

// iamTargets makes sure the role, policy and provider the calls act on
// exist, whatever the row before did to them.
func iamTargets(ctx context.Context, admin *iam.Client) {
	_, _ = admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("target"), AssumeRolePolicyDocument: aws.String(someTrust)})
	_, _ = admin.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("target"), PolicyDocument: aws.String(someIdentity)})
	_, _ = admin.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String("https://example.com/id/T"), ClientIDList: []string{"sts.amazonaws.com"}, ThumbprintList: []string{someThumbprint}})
}

var (
	targetRoleName    = aws.String("target")
	targetProviderARN = aws.String(targetProvider)
	targetPolicyARN   = aws.String(targetPolicy)
)

var iamCalls = map[string]iamCall{
	"CreateOpenIDConnectProvider": func(ctx context.Context, c, admin *iam.Client) error {
		_, _ = admin.DeleteOpenIDConnectProvider(ctx, &iam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String("arn:aws:iam::000000000000:oidc-provider/example.com/id/NEW")})
		_, err := c.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String("https://example.com/id/NEW"), ClientIDList: []string{"sts.amazonaws.com"}, ThumbprintList: []string{someThumbprint}})
		return err
	},
	"GetOpenIDConnectProvider": func(ctx context.Context, c, _ *iam.Client) error {
		_, err := c.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: targetProviderARN})
		return err
	},
	"ListOpenIDConnectProviders": func(ctx context.Context, c, _ *iam.Client) error {
		_, err := c.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
		return err
	},
	"DeleteOpenIDConnectProvider": func(ctx context.Context, c, _ *iam.Client) error {
		_, err := c.DeleteOpenIDConnectProvider(ctx, &iam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: targetProviderARN})
		return err
	},
	"AddClientIDToOpenIDConnectProvider": func(ctx context.Context, c, _ *iam.Client) error {
		_, err := c.AddClientIDToOpenIDConnectProvider(ctx, &iam.AddClientIDToOpenIDConnectProviderInput{OpenIDConnectProviderArn: targetProviderARN, ClientID: aws.String("other")})
		return err
	},
	"RemoveClientIDFromOpenIDConnectProvider": func(ctx context.Context, c, _ *iam.Client) error {
		_, err := c.RemoveClientIDFromOpenIDConnectProvider(ctx, &iam.RemoveClientIDFromOpenIDConnectProviderInput{OpenIDConnectProviderArn: targetProviderARN, ClientID: aws.String("sts.amazonaws.com")})
		return err
	},
	"UpdateOpenIDConnectProviderThumbprint": func(ctx context.Context, c, _ *iam.Client) error {
		_, err := c.UpdateOpenIDConnectProviderThumbprint(ctx, &iam.UpdateOpenIDConnectProviderThumbprintInput{OpenIDConnectProviderArn: targetProviderARN, ThumbprintList: []string{someThumbprint}})
		return err
	},
	"TagOpenIDConnectProvider": func(ctx context.Context, c, _ *iam.Client) error {
		_, err := c.TagOpenIDConnectProvider(ctx, &iam.TagOpenIDConnectProviderInput{OpenIDConnectProviderArn: targetProviderARN, Tags: []iamtypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
		return err
	},
	"UntagOpenIDConnectProvider": func(ctx context.Context, c, _ *iam.Client) error {
		_, err := c.UntagOpenIDConnectProvider(ctx, &iam.UntagOpenIDConnectProviderInput{OpenIDConnectProviderArn: targetProviderARN, TagKeys: []string{"k"}})
		return err
	},
	"ListOpenIDConnectProviderTags": func(ctx context.Context, c, _ *iam.Client) error {
		_, err := c.ListOpenIDConnectProviderTags(ctx, &iam.ListOpenIDConnectProviderTagsInput{OpenIDConnectProviderArn: targetProviderARN})
		return err
	},
	"CreateRole": func(ctx context.Context, c, admin *iam.Client) error {
		_, _ = admin.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("created")})
		_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("created"), AssumeRolePolicyDocument: aws.String(someTrust)})
		return err
	},
	"GetRole": func(ctx context.Context, c, _ *iam.Client) error {
		_, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: targetRoleName})
		return err
	},
	"ListRoles": func(ctx context.Context, c, _ *iam.Client) error {
		_, err := c.ListRoles(ctx, &iam.ListRolesInput{})
		return err
	},
	"DeleteRole": func(ctx context.Context, c, _ *iam.Client) error {
		_, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: targetRoleName})
		return err
	},
	"UpdateRole": func(ctx context.Context, c, _ *iam.Client) error {
		_, err := c.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: targetRoleName, Description: aws.String("updated")})
		return err
	},
	"UpdateAssumeRolePolicy": func(ctx context.Context, c, _ *iam.Client) error {
		_, err := c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: targetRoleName, PolicyDocument: aws.String(someTrust)})
		return err
	},
	"TagRole": func(ctx context.Context, c, _ *iam.Client) error {
		_, err := c.TagRole(ctx, &iam.TagRoleInput{RoleName: targetRoleName, Tags: []iamtypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
		return err
	},
	"UntagRole": func(ctx context.Context, c, _ *iam.Client) error {
		_, err := c.UntagRole(ctx, &iam.UntagRoleInput{RoleName: targetRoleName, TagKeys: []string{"k"}})
		return err
	},
	"ListRoleTags": func(ctx context.Context, c, _ *iam.Client) error {
		_, err := c.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: targetRoleName})
		return err
	},
	"AttachRolePolicy": func(ctx context.Context, c, _ *iam.Client) error {
		_, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: targetRoleName, PolicyArn: targetPolicyARN})
		return err
	},
	"DetachRolePolicy": func(ctx context.Context, c, admin *iam.Client) error {
		_, _ = admin.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: targetRoleName, PolicyArn: targetPolicyARN})
		_, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: targetRoleName, PolicyArn: targetPolicyARN})
		return err
	},
	"ListAttachedRolePolicies": func(ctx context.Context, c, _ *iam.Client) error {
		_, err := c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: targetRoleName})
		return err
	},
	"PutRolePolicy": func(ctx context.Context, c, _ *iam.Client) error {
		_, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: targetRoleName, PolicyName: aws.String("inline"), PolicyDocument: aws.String(someIdentity)})
		return err
	},
	"GetRolePolicy": func(ctx context.Context, c, admin *iam.Client) error {
		_, _ = admin.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: targetRoleName, PolicyName: aws.String("inline"), PolicyDocument: aws.String(someIdentity)})
		_, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: targetRoleName, PolicyName: aws.String("inline")})
		return err
	},
	"DeleteRolePolicy": func(ctx context.Context, c, admin *iam.Client) error {
		_, _ = admin.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: targetRoleName, PolicyName: aws.String("inline"), PolicyDocument: aws.String(someIdentity)})
		_, err := c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: targetRoleName, PolicyName: aws.String("inline")})
		return err
	},
	"ListRolePolicies": func(ctx context.Context, c, _ *iam.Client) error {
		_, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: targetRoleName})
		return err
	},
	"ListInstanceProfilesForRole": func(ctx context.Context, c, _ *iam.Client) error {
		_, err := c.ListInstanceProfilesForRole(ctx, &iam.ListInstanceProfilesForRoleInput{RoleName: targetRoleName})
		return err
	},
	"CreatePolicy": func(ctx context.Context, c, admin *iam.Client) error {
		_, _ = admin.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String("arn:aws:iam::000000000000:policy/created")})
		_, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("created"), PolicyDocument: aws.String(someIdentity)})
		return err
	},
	"GetPolicy": func(ctx context.Context, c, _ *iam.Client) error {
		_, err := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: targetPolicyARN})
		return err
	},
	"DeletePolicy": func(ctx context.Context, c, admin *iam.Client) error {
		_, _ = admin.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: targetRoleName, PolicyArn: targetPolicyARN})
		_, err := c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: targetPolicyARN})
		return err
	},
	"ListPolicies": func(ctx context.Context, c, _ *iam.Client) error {
		_, err := c.ListPolicies(ctx, &iam.ListPoliciesInput{})
		return err
	},
	"GetPolicyVersion": func(ctx context.Context, c, _ *iam.Client) error {
		_, err := c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: targetPolicyARN, VersionId: aws.String("v1")})
		return err
	},
	"ListPolicyVersions": func(ctx context.Context, c, _ *iam.Client) error {
		_, err := c.ListPolicyVersions(ctx, &iam.ListPolicyVersionsInput{PolicyArn: targetPolicyARN})
		return err
	},
	"CreatePolicyVersion": func(ctx context.Context, c, _ *iam.Client) error {
		_, err := c.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: targetPolicyARN, PolicyDocument: aws.String(someIdentity)})
		return err
	},
	"DeletePolicyVersion": func(ctx context.Context, c, admin *iam.Client) error {
		id := aws.String("v2")
		if out, err := admin.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: targetPolicyARN, PolicyDocument: aws.String(someIdentity)}); err == nil {
			id = out.PolicyVersion.VersionId
		}
		_, err := c.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: targetPolicyARN, VersionId: id})
		return err
	},
}

func TestAuthzTableCoversEveryIAMAction(t *testing.T) {
	inTable := map[string]bool{}
	for _, r := range readAuthzTable(t, "iam") {
		inTable[r.Operation] = true
		if iamCalls[r.name()] == nil {
			t.Errorf("row %s has no SDK call in iamCalls", r.name())
		}
	}
	for action := range iamActions {
		if !inTable[action] {
			t.Errorf("IAM action %s is served but has no row in testdata/authz/iam.json", action)
		}
	}
	for op := range inTable {
		if _, ok := iamActions[op]; !ok {
			t.Errorf("testdata/authz/iam.json has a row for %s, which the endpoint does not serve", op)
		}
	}
}

func TestAuthzTableIAM(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	role := newAuthzRole(t, f)
	session := iam.NewFromConfig(role.creds)
	setPolicy := role.setPolicy
	for _, row := range readAuthzTable(t, "iam") {
		t.Run(row.name(), func(t *testing.T) {
			call := iamCalls[row.name()]
			if call == nil {
				t.Fatalf("no SDK call for %s", row.name())
			}
			refused := func(err error) bool {
				return apiCode(err) == "AccessDenied" && strings.Contains(err.Error(), "perform: "+row.Action+" on resource: "+row.Resource+" because")
			}
			grant := authzPerm{Action: row.Action, Resource: row.Resource}
			iamTargets(ctx, f.iam)
			if err := call(ctx, session, f.iam); !refused(err) {
				t.Fatalf("without %s on %s: %v, want AccessDenied naming them", row.Action, row.Resource, err)
			}
			setPolicy("grant", statement("Allow", grant))
			defer setPolicy("grant", "")
			iamTargets(ctx, f.iam)
			if err := call(ctx, session, f.iam); apiCode(err) == "AccessDenied" {
				t.Fatalf("with %s on %s: %v, want it allowed", row.Action, row.Resource, err)
			}
			setPolicy("deny", statement("Deny", grant))
			defer setPolicy("deny", "")
			iamTargets(ctx, f.iam)
			if err := call(ctx, session, f.iam); !refused(err) || !strings.Contains(err.Error(), "explicit deny") {
				t.Fatalf("with %s on %s denied explicitly: %v, want AccessDenied for an explicit deny", row.Action, row.Resource, err)
			}
		})
	}
}
