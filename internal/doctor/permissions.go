package doctor

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/irsa-local/irsa-local/pkg/policy"
)

// NamedPolicy is one identity policy of a role: Name is the managed
// policy's ARN, or "inline policy NAME".
type NamedPolicy struct {
	Name     string
	Document string
}

// PermissionInput is what DiagnosePermissions looks at.
type PermissionInput struct {
	RoleARN  string
	RoleID   string
	Policies []NamedPolicy // attached managed and inline
	Action   string
	Resource string
	// Token and ProviderARN give the web-identity condition keys a session
	// of the role carries; Token may be nil.
	Token       *Token
	ProviderARN string
	Region      string
	Now         time.Time
}

// DiagnosePermissions decides whether a web identity session of the role
// may perform Action on Resource by its identity policies, with the
// condition keys the AWS endpoint gives such a session. Bucket policies,
// permissions boundaries and session policies are not considered.
func DiagnosePermissions(in PermissionInput) Check {
	role := roleName(in.RoleARN)
	what := in.Action + " on " + in.Resource
	var docs []policy.NamedDocument
	var names, broken []string
	for _, p := range in.Policies {
		d, err := policy.Parse(p.Document, policy.Identity)
		if err != nil {
			broken = append(broken, p.Name+" ("+err.Error()+")")
			continue
		}
		docs = append(docs, policy.NamedDocument{Name: p.Name, Doc: d})
		names = append(names, p.Name)
	}
	info := policy.SessionInfo{RoleARN: in.RoleARN, RoleID: in.RoleID, SessionName: sessionName, Issued: in.Now}
	if in.Token != nil {
		info.Subject, info.Provider = in.Token.Subject, in.ProviderARN
		info.ProviderKeys = policy.ProviderKeys(in.Token.Issuer)
		if len(in.Token.Audience) > 0 {
			info.Audience = in.Token.Audience[0]
		}
	}
	req := policy.Request{Action: in.Action, Resource: in.Resource, Context: policy.SessionContext(info, in.Region, in.Now)}
	res := policy.Evaluate(req, docs...)
	switch res.Decision {
	case policy.Allow:
		return ok(CheckPermissions, what+": allowed by "+res.Decider.String())
	case policy.ExplicitDeny:
		return fail(CheckPermissions, what+": explicitly denied by "+res.Decider.String(),
			fmt.Sprintf("remove that statement, or narrow it so it does not match %s: an explicit Deny wins over every Allow", what))
	}
	var detail string
	switch {
	case len(res.Near) > 0 && res.Near[0].Condition != nil:
		detail = fmt.Sprintf("%s: %s allows %s, but its %s", what, res.Near[0].Statement, in.Action, res.Near[0].Condition)
	case len(res.Near) > 0:
		detail = fmt.Sprintf("%s: %s allows %s, but not on %s", what, res.Near[0].Statement, in.Action, in.Resource)
	case len(docs) == 0:
		detail = fmt.Sprintf("%s: role %s has no policy, so nothing allows it", what, role)
	default:
		detail = fmt.Sprintf("%s: no statement of %s allows it", what, strings.Join(names, ", "))
	}
	if len(broken) > 0 {
		detail += "; policies that do not parse: " + strings.Join(broken, ", ")
	}
	stmt, doc := allowStatement(in.Action, in.Resource)
	return fail(CheckPermissions, detail,
		"add this statement to a policy of role "+role+":\n"+
			"  "+stmt+"\n"+
			"for example: aws iam put-role-policy --role-name "+role+" --policy-name "+policyName(in.Action)+" --policy-document '"+doc+"'")
}

// allowStatement is the least statement allowing action on resource, alone
// and wrapped in a policy document.
func allowStatement(action, resource string) (stmt, doc string) {
	type statement struct {
		Effect   string
		Action   string
		Resource string
	}
	s := statement{Effect: "Allow", Action: action, Resource: resource}
	b, _ := json.Marshal(s)
	d, _ := json.Marshal(struct {
		Version   string
		Statement []statement
	}{policy.Version2012, []statement{s}})
	return string(b), string(d)
}

// policyName names the suggested inline policy after the action, in the
// characters IAM allows.
func policyName(action string) string {
	return "allow-" + strings.NewReplacer(":", "-", "*", "all").Replace(action)
}

// GatewayQuestion is what Target.Gateway is asked: may a web identity
// session of RoleARN, from a token with these claims, perform Action on
// Resource.
type GatewayQuestion struct {
	RoleARN, Action, Resource string
	Subject, Audience, Issuer string
}

// GatewayVerdict is the gateway's answer: Reason is its explanation,
// Message the error the service would send.
type GatewayVerdict struct {
	Allowed         bool
	Reason, Message string
}

// gatewayCheck turns the gateway's verdict into the permissions check.
func gatewayCheck(q GatewayQuestion, v GatewayVerdict) Check {
	what := q.Action + " on " + q.Resource
	if v.Allowed {
		return ok(CheckPermissions, what+": "+v.Reason)
	}
	role := roleName(q.RoleARN)
	stmt, doc := allowStatement(q.Action, q.Resource)
	fix := "add this statement to a policy of role " + role + " (and, if the resource has a policy, make sure it denies nothing of it):\n" +
		"  " + stmt + "\n" +
		"for example: aws iam put-role-policy --role-name " + role + " --policy-name " + policyName(q.Action) + " --policy-document '" + doc + "'"
	if strings.Contains(v.Reason, "explicitly denied") {
		fix = "remove that statement, or narrow it so it does not match " + what + ": an explicit Deny wins over every Allow"
	}
	if strings.Contains(v.Reason, "key policy") && strings.Contains(v.Reason, "identity-based policies cannot grant") {
		fix = "let the key policy allow the account (a statement with Principal {\"AWS\": \"arn:aws:iam::" + accountOf(q.RoleARN) + ":root\"}), or name the role in it"
	}
	return fail(CheckPermissions, what+": "+v.Message+" ("+v.Reason+")", fix)
}
