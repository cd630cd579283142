package policy_test

import (
	"fmt"

	"github.com/irsa-local/irsa-local/pkg/policy"
)

func ExampleEvaluate() {
	const provider = "arn:aws:iam::123456789012:oidc-provider/oidc.example.com/id/X"
	trust, err := policy.Parse(`{
	  "Version": "2012-10-17",
	  "Statement": [{
	    "Sid": "AllowEKS",
	    "Effect": "Allow",
	    "Principal": {"Federated": "`+provider+`"},
	    "Action": "sts:AssumeRoleWithWebIdentity",
	    "Condition": {"StringEquals": {"oidc.example.com/id/X:sub": "system:serviceaccount:default:app"}}
	  }]
	}`, policy.Trust)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := policy.NewContext()
	ctx.Set("oidc.example.com/id/X:sub", "system:serviceaccount:default:other")
	res := policy.Evaluate(policy.Request{
		Principal: policy.Principal{Type: policy.PrincipalFederated, IDs: []string{provider}},
		Action:    "sts:AssumeRoleWithWebIdentity",
		Context:   ctx,
	}, policy.NamedDocument{Name: "trust policy", Doc: trust})
	fmt.Println(res.Decision)
	fmt.Println(res.Reason)
	// Output:
	// ImplicitDeny
	// implicitly denied: condition StringEquals on "oidc.example.com/id/X:sub" expected "system:serviceaccount:default:app" but the request had "system:serviceaccount:default:other" (statement 0 ("AllowEKS") of trust policy)
}

func ExampleParse() {
	_, err := policy.Parse(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject"}}`, policy.Identity)
	if me, ok := err.(*policy.MalformedError); ok {
		fmt.Println(me.Message)
		fmt.Println(me.Detail)
	}
	// Output:
	// Policy statement must contain resources.
	// statement 0: the statement has no Resource or NotResource
}
