package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// AssumeQuestion is what Target.AssumeHook is asked: may a web identity
// session of RoleARN (from a token with these claims) assume
// TargetRoleARN, and, when Action is set, may the assumed session perform
// Action on Resource.
type AssumeQuestion struct {
	RoleARN, TargetRoleARN    string
	Action, Resource          string
	Tags                      map[string]string
	Subject, Audience, Issuer string
}

// AssumeVerdict is the answer. Refused is "trust" when the target role's
// trust policy refused the hop, "caller" when the first role's own
// policies did; Message is STS's error. Permission answers Action.
type AssumeVerdict struct {
	Allowed                  bool
	Reason, Message, Refused string
	Permission               *GatewayVerdict
}

// assume checks the second hop, --assume: sts:AssumeRole from the
// service account's role into another role, in its account or another.
func (r *runner) assume(ctx context.Context) Check {
	t := r.t
	switch {
	case t.Assume == "":
		return skip(CheckAssume, "no --assume")
	case r.pod != nil:
		return skip(CheckAssume, "--assume follows a web identity; a Pod Identity association names its second hop itself (targetRoleArn), checked under "+CheckTrustPolicy)
	case r.roleARN == "":
		return skip(CheckAssume, "no first role to assume it from (see "+CheckServiceAccount+")")
	case t.AssumeHook == nil:
		return skip(CheckAssume, "--assume needs a running irsa-local environment to ask: it decides with both accounts' policies")
	}
	v, err := t.AssumeHook(ctx, r.assumeQuestion(ctx, "", ""))
	if err != nil {
		return fail(CheckAssume, fmt.Sprintf("ask the AWS endpoint whether %s may assume %s: %v", r.roleARN, t.Assume, err), r.awsFix())
	}
	what := roleName(r.roleARN) + " → " + t.Assume
	if v.Allowed {
		return ok(CheckAssume, what+": "+v.Reason)
	}
	return fail(CheckAssume, what+": "+v.Message+" ("+v.Reason+")", assumeFix(r.roleARN, t.Assume, v.Refused))
}

func (r *runner) assumeQuestion(ctx context.Context, action, resource string) AssumeQuestion {
	q := AssumeQuestion{RoleARN: r.roleARN, TargetRoleARN: r.t.Assume, Action: action, Resource: resource, Tags: r.t.SessionTags}
	if tok, _, err := r.workloadToken(ctx); err == nil {
		q.Subject, q.Issuer = tok.Subject, tok.Issuer
		if len(tok.Audience) > 0 {
			q.Audience = tok.Audience[0]
		}
	}
	return q
}

// assumeFix is the statement to add on the side that refused: the trust
// policy of the target role, in its account, or an identity policy of the
// first role, in its own.
func assumeFix(from, to, refused string) string {
	target, account := roleName(to), accountOf(to)
	if refused == "caller" {
		stmt, doc := allowStatement("sts:AssumeRole", to)
		return "add this statement to a policy of role " + roleName(from) + " (account " + accountOf(from) + "): assuming a role of another account needs the caller's own permission too:\n" +
			"  " + stmt + "\n" +
			"for example: aws iam put-role-policy --role-name " + roleName(from) + " --policy-name " + policyName("sts:AssumeRole") + " --policy-document '" + doc + "'"
	}
	stmt := `{"Effect": "Allow", "Principal": {"AWS": "` + from + `"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}`
	doc, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Principal": map[string]string{"AWS": from}, "Action": []string{"sts:AssumeRole", "sts:TagSession"}}}})
	creds := ""
	if account != accountOf(from) {
		creds = "AWS_ACCESS_KEY_ID=" + account + " AWS_SECRET_ACCESS_KEY=any "
	}
	return "add this statement to the trust policy of role " + target + " (account " + account + "), keeping the statements it has:\n" +
		"  " + stmt + "\n" +
		"for example, if it has none other: " + creds + "aws iam update-assume-role-policy --role-name " + target + " --policy-document '" + string(doc) + "'"
}

// assumedPermissions is the permissions check for the assumed role, when
// --assume names one.
func (r *runner) assumedPermissions(ctx context.Context) Check {
	t := r.t
	if t.AssumeHook == nil {
		return skip(CheckPermissions, "--assume needs a running irsa-local environment to ask")
	}
	if r.done[CheckAssume] != OK {
		return skip(CheckPermissions, "the role cannot be assumed (see "+CheckAssume+")")
	}
	v, err := t.AssumeHook(ctx, r.assumeQuestion(ctx, t.Action, t.Resource))
	if err != nil {
		return fail(CheckPermissions, fmt.Sprintf("ask the AWS endpoint about %s on %s: %v", t.Action, t.Resource, err), r.awsFix())
	}
	if v.Permission == nil {
		return fail(CheckPermissions, "the AWS endpoint gave no verdict on "+t.Action, r.awsFix())
	}
	q := GatewayQuestion{RoleARN: t.Assume, Action: t.Action, Resource: t.Resource}
	c := gatewayCheck(q, *v.Permission)
	if c.Status == Fail && strings.Contains(v.Permission.Reason, "the resource's account (") {
		c.Fix = "the resource's account must allow it: name role " + t.Assume + " (or its account) in the resource's policy, for " + t.Action + " on " + t.Resource
	}
	return c
}
