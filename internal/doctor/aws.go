package doctor

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	smithy "github.com/aws/smithy-go"

	"github.com/irsa-local/irsa-local/pkg/policy"
)

func (r *runner) noIAM() string { return r.t.NoAWS }

// awsFix is the fix for an AWS endpoint that does not answer.
func (r *runner) awsFix() string {
	if r.t.Environment != "" {
		return "irsa-local status" + envFlag(r.t.Environment) + " shows the AWS endpoint's state"
	}
	return "check AWS_ENDPOINT_URL, the credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) and AWS_REGION"
}

func isNoSuchEntity(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "NoSuchEntity"
}

func (r *runner) oidcProvider(ctx context.Context) Check {
	iss := r.issuerURL
	switch {
	case iss == "":
		return skip(CheckOIDCProvider, "no issuer known: no cluster and no --issuer")
	case r.iam == nil:
		return skip(CheckOIDCProvider, r.noIAM())
	}
	out, err := r.iam.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	if err != nil {
		return fail(CheckOIDCProvider, fmt.Sprintf("list IAM OIDC providers at %s: %v", r.t.AWSFrom, err), r.awsFix())
	}
	spellings := policy.ProviderKeys(iss)
	arn := ""
	for _, p := range out.OpenIDConnectProviderList {
		_, res, _ := strings.Cut(aws.ToString(p.Arn), ":oidc-provider/")
		if contains(spellings, res) {
			arn = aws.ToString(p.Arn)
			break
		}
	}
	if arn == "" {
		fix := "aws iam create-open-id-connect-provider --url " + iss + " --client-id-list " + DefaultAudience
		if r.t.Environment == "" {
			fix += "\n(on EKS: eksctl utils associate-iam-oidc-provider --cluster CLUSTER --approve)"
		}
		return fail(CheckOIDCProvider,
			fmt.Sprintf("no IAM OIDC provider for %s among %d provider(s): STS answers InvalidIdentityToken (No OpenIDConnect provider found in your account)", iss, len(out.OpenIDConnectProviderList)),
			fix)
	}
	got, err := r.iam.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)})
	if err != nil {
		return fail(CheckOIDCProvider, fmt.Sprintf("get IAM OIDC provider %s: %v", arn, err), r.awsFix())
	}
	r.providerARN = arn
	r.clientIDs = append([]string{}, got.ClientIDList...)
	if !contains(got.ClientIDList, DefaultAudience) {
		return fail(CheckOIDCProvider,
			fmt.Sprintf("%s has client IDs %s, not %s: STS refuses the tokens pods get (Incorrect token audience)", arn, quoteList(got.ClientIDList), DefaultAudience),
			"aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn "+arn+" --client-id "+DefaultAudience)
	}
	return ok(CheckOIDCProvider, arn+" with client ID "+DefaultAudience)
}

// getRole looks the role of an ARN up by name.
func (r *runner) getRole(ctx context.Context, arn string) (*types.Role, error) {
	out, err := r.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(roleName(arn))})
	if err != nil {
		return nil, err
	}
	return out.Role, nil
}

// DecodeDocument undoes IAM's URL encoding of policy documents; '+' is a
// literal there, never a space.
func DecodeDocument(s *string) (string, error) {
	doc, err := url.PathUnescape(aws.ToString(s))
	if err != nil {
		return "", fmt.Errorf("decode policy document: %w", err)
	}
	return doc, nil
}

// trustingRole finds a role whose trust policy lets the service account's
// token in, to name in the fix for a missing annotation; "" when none does
// or IAM cannot say.
func (r *runner) trustingRole(ctx context.Context) string {
	if r.iam == nil {
		return ""
	}
	tok, _, err := r.workloadToken(ctx)
	if err != nil {
		return ""
	}
	p := iam.NewListRolesPaginator(r.iam, &iam.ListRolesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return ""
		}
		for _, role := range page.Roles {
			doc, err := DecodeDocument(role.AssumeRolePolicyDocument)
			if err != nil {
				continue
			}
			c := DiagnoseTrust(TrustInput{RoleARN: aws.ToString(role.Arn), Policy: doc, Token: tok, ProviderARN: r.providerARN, Now: r.t.Now()})
			if c.Status == OK {
				return aws.ToString(role.Arn)
			}
		}
	}
	return ""
}

func (r *runner) trustPolicy(ctx context.Context) Check {
	t := r.t
	if r.pod != nil {
		return r.podIdentityTrust()
	}
	switch {
	case r.roleMissing:
		return skip(CheckTrustPolicy, "the role does not exist (see "+CheckServiceAccount+")")
	case r.roleARN == "" && t.ServiceAccount != "" && r.done[CheckServiceAccount] == Fail:
		return skip(CheckTrustPolicy, "the service account names no role (see "+CheckServiceAccount+")")
	case r.roleARN == "":
		return skip(CheckTrustPolicy, "no role: name an annotated --service-account, or --role-arn")
	case t.ServiceAccount == "" && t.Token == "":
		return skip(CheckTrustPolicy, "no --service-account or --token: no token to check")
	case r.iam == nil:
		return skip(CheckTrustPolicy, r.noIAM())
	}
	tok, _, err := r.workloadToken(ctx)
	if err != nil {
		if r.client == nil && t.Mint == nil {
			return skip(CheckTrustPolicy, "no cluster to request a token from: pass one with --token")
		}
		return fail(CheckTrustPolicy, err.Error(), "allow the caller to create serviceaccounts/token in "+t.Namespace+", or pass a token with --token")
	}
	role, err := r.getRole(ctx, r.roleARN)
	if err != nil {
		if isNoSuchEntity(err) {
			return fail(CheckTrustPolicy, "role "+r.roleARN+" does not exist", "create it, or name an existing role")
		}
		return fail(CheckTrustPolicy, fmt.Sprintf("get role %s: %v", r.roleARN, err), r.awsFix())
	}
	doc, err := DecodeDocument(role.AssumeRolePolicyDocument)
	if err != nil {
		return fail(CheckTrustPolicy, err.Error(), "")
	}
	return DiagnoseTrust(TrustInput{
		RoleARN:     aws.ToString(role.Arn),
		Policy:      doc,
		Token:       tok,
		ProviderARN: r.providerARN,
		ClientIDs:   r.clientIDs,
		Now:         t.Now(),
	})
}

func (r *runner) permissions(ctx context.Context) Check {
	t := r.t
	switch {
	case t.Action == "" || t.Resource == "":
		return skip(CheckPermissions, "no --action and --resource")
	case r.roleMissing:
		return skip(CheckPermissions, "the role does not exist (see "+CheckServiceAccount+")")
	case r.roleARN == "" && t.ServiceAccount != "" && r.done[CheckServiceAccount] == Fail:
		return skip(CheckPermissions, "the service account names no role (see "+CheckServiceAccount+")")
	case r.roleARN == "":
		return skip(CheckPermissions, "no role: name an annotated --service-account, or --role-arn")
	case r.iam == nil:
		return skip(CheckPermissions, r.noIAM())
	case r.pod != nil:
		return r.podIdentityPermissions()
	case t.Assume != "":
		return r.assumedPermissions(ctx)
	}
	role, err := r.getRole(ctx, r.roleARN)
	if err != nil {
		if isNoSuchEntity(err) {
			return fail(CheckPermissions, "role "+r.roleARN+" does not exist", "create it, or name an existing role")
		}
		return fail(CheckPermissions, fmt.Sprintf("get role %s: %v", r.roleARN, err), r.awsFix())
	}
	policies, err := r.rolePolicies(ctx, aws.ToString(role.RoleName))
	if err != nil {
		return fail(CheckPermissions, err.Error(), r.awsFix())
	}
	in := PermissionInput{
		RoleARN:  aws.ToString(role.Arn),
		RoleID:   aws.ToString(role.RoleId),
		Policies: policies,
		Action:   t.Action,
		Resource: t.Resource,
		Region:   t.AWS.Region,
		Now:      t.Now(),
	}
	// The token only adds the web-identity condition keys; without one the
	// policies are still judged.
	tok, _, tokErr := r.workloadToken(ctx)
	if t.Gateway != nil {
		q := GatewayQuestion{RoleARN: aws.ToString(role.Arn), Action: t.Action, Resource: t.Resource}
		if tokErr == nil {
			q.Subject, q.Issuer = tok.Subject, tok.Issuer
			if len(tok.Audience) > 0 {
				q.Audience = tok.Audience[0]
			}
		}
		v, decided, err := t.Gateway(ctx, q)
		if err != nil {
			return fail(CheckPermissions, fmt.Sprintf("ask the AWS endpoint about %s on %s: %v", t.Action, t.Resource, err), r.awsFix())
		}
		if decided {
			return gatewayCheck(q, v)
		}
	}
	if tokErr == nil {
		in.Token = tok
		in.ProviderARN = r.providerARN
		if in.ProviderARN == "" {
			in.ProviderARN = policy.ProviderARN(accountOf(in.RoleARN), tok.Issuer)
		}
	}
	return DiagnosePermissions(in)
}

func (r *runner) rolePolicies(ctx context.Context, role string) ([]NamedPolicy, error) {
	return RolePolicies(ctx, r.iam, role)
}

// RolePolicies returns the role's attached managed policies (their default
// versions) and its inline policies, read through IAM.
func RolePolicies(ctx context.Context, client *iam.Client, role string) ([]NamedPolicy, error) {
	var out []NamedPolicy
	attached := iam.NewListAttachedRolePoliciesPaginator(client, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(role)})
	for attached.HasMorePages() {
		page, err := attached.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list policies attached to role %s: %w", role, err)
		}
		for _, ap := range page.AttachedPolicies {
			arn := aws.ToString(ap.PolicyArn)
			p, err := client.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
			if err != nil {
				return nil, fmt.Errorf("get policy %s: %w", arn, err)
			}
			v, err := client.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: p.Policy.DefaultVersionId})
			if err != nil {
				return nil, fmt.Errorf("get policy %s version %s: %w", arn, aws.ToString(p.Policy.DefaultVersionId), err)
			}
			doc, err := DecodeDocument(v.PolicyVersion.Document)
			if err != nil {
				return nil, err
			}
			out = append(out, NamedPolicy{Name: arn, Document: doc})
		}
	}
	inline := iam.NewListRolePoliciesPaginator(client, &iam.ListRolePoliciesInput{RoleName: aws.String(role)})
	for inline.HasMorePages() {
		page, err := inline.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list inline policies of role %s: %w", role, err)
		}
		for _, name := range page.PolicyNames {
			p, err := client.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(name)})
			if err != nil {
				return nil, fmt.Errorf("get inline policy %s of role %s: %w", name, role, err)
			}
			doc, err := DecodeDocument(p.PolicyDocument)
			if err != nil {
				return nil, err
			}
			out = append(out, NamedPolicy{Name: "inline policy " + name, Document: doc})
		}
	}
	return out, nil
}
