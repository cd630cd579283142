package stsmock

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/irsa-local/irsa-local/internal/awsquery"
	"github.com/irsa-local/irsa-local/pkg/policy"
)

// Messages of AssumeRole. msgChainedDuration is STS's text; the others are
// irsa-local's where STS's wording was never captured (docs/accounts.md).
const (
	msgChainedDuration = "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
	msgDuplicateTags   = "Duplicate tag keys found. Please note that Tag keys are case insensitive."
)

var (
	externalIDPattern = regexp.MustCompile(`^[\w+=,.@:/-]*$`)
	tagKeyPattern     = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`)
	tagValuePattern   = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
)

// maxSessionTags is how many tags a session may carry, inherited ones
// included.
const maxSessionTags = 50

type assumeRoleResult struct {
	SourceIdentity   string          `xml:"SourceIdentity,omitempty"`
	AssumedRoleUser  assumedRoleUser `xml:"AssumedRoleUser"`
	Credentials      credentialsXML  `xml:"Credentials"`
	PackedPolicySize *int            `xml:"PackedPolicySize,omitempty"`
}

// assumeRequest is what AssumeRole and AssumeRoleWithWebIdentity ask of a
// role beyond its trust in the principal: the tags, source identity and
// external ID they pass, as condition keys and as extra permissions.
type assumeRequest struct {
	tags           map[string]string // new tags, by key as given
	transitive     []string          // keys of tags that pass on
	sourceIdentity string            // requested ("" when not)
	externalID     string
	hasExternalID  bool
}

// context adds the request's keys: sts:ExternalId, sts:SourceIdentity,
// aws:RequestTag/…, aws:TagKeys and sts:TransitiveTagKeys.
func (a *assumeRequest) context(ctx policy.Context) {
	if a.hasExternalID {
		ctx.Set("sts:ExternalId", a.externalID)
	}
	if a.sourceIdentity != "" {
		ctx.Set("sts:SourceIdentity", a.sourceIdentity)
	}
	if len(a.tags) > 0 {
		keys := make([]string, 0, len(a.tags))
		for k, v := range a.tags {
			ctx.Set("aws:RequestTag/"+k, v)
			keys = append(keys, k)
		}
		sort.Strings(keys)
		ctx.Set("aws:TagKeys", keys...)
	}
	if len(a.transitive) > 0 {
		ctx.Set("sts:TransitiveTagKeys", a.transitive...)
	}
}

// permissions lists the actions the role's trust (and the caller's
// identity) must allow: sts:AssumeRole-like action first, then
// sts:TagSession when tags are passed and sts:SetSourceIdentity when a
// source identity is.
func (a *assumeRequest) permissions(action string) []string {
	out := []string{action}
	if len(a.tags) > 0 || len(a.transitive) > 0 {
		out = append(out, "sts:TagSession")
	}
	if a.sourceIdentity != "" {
		out = append(out, "sts:SetSourceIdentity")
	}
	return out
}

// readSessionTags reads Tags.member.N.Key/Value and TransitiveTagKeys.member.N.
func readSessionTags(p awsquery.Params, v *awsquery.Validation) (*assumeRequest, *awsquery.Error) {
	a := &assumeRequest{}
	list := p.StructList("Tags", "Key", "Value")
	if len(list) > maxSessionTags {
		n := strconv.Itoa(len(list))
		v.Add(&n, "tags", "Member must have length less than or equal to 50")
	}
	seen := map[string]bool{}
	for i, t := range list {
		k, val := t["Key"], t["Value"]
		member := fmt.Sprintf("tags.%d.member.key", i+1)
		switch {
		case len([]rune(k)) < 1:
			v.Add(&k, member, "Member must have length greater than or equal to 1")
		case len([]rune(k)) > 128:
			v.Add(&k, member, "Member must have length less than or equal to 128")
		case !tagKeyPattern.MatchString(k):
			v.Add(&k, member, `Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+`)
		}
		member = fmt.Sprintf("tags.%d.member.value", i+1)
		switch {
		case len([]rune(val)) > 256:
			v.Add(&val, member, "Member must have length less than or equal to 256")
		case !tagValuePattern.MatchString(val):
			v.Add(&val, member, `Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]*`)
		}
		lk := strings.ToLower(k)
		if seen[lk] && v.Err() == nil {
			return nil, awsquery.Errorf(400, "InvalidParameterValue", "%s", msgDuplicateTags)
		}
		seen[lk] = true
		if a.tags == nil {
			a.tags = map[string]string{}
		}
		a.tags[k] = val
	}
	trans := p.List("TransitiveTagKeys")
	if len(trans) > maxSessionTags {
		n := strconv.Itoa(len(trans))
		v.Add(&n, "transitiveTagKeys", "Member must have length less than or equal to 50")
	}
	if e := v.Err(); e != nil {
		return nil, e
	}
	for k := range a.tags {
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return nil, awsquery.Errorf(400, "InvalidParameterValue", "Session tag key %s uses the reserved prefix aws:", awsquery.Truncate(k, 128))
		}
	}
	for _, k := range trans {
		if _, ok := tagKey(a.tags, k); !ok {
			return nil, awsquery.Errorf(400, "InvalidParameterValue", "Transitive tag key %s is not among the session tags passed with it", awsquery.Truncate(k, 128))
		}
		a.transitive = append(a.transitive, k)
	}
	return a, nil
}

// tagKey finds key among tags' keys, whatever its case.
func tagKey(tags map[string]string, key string) (string, bool) {
	for k := range tags {
		if strings.EqualFold(k, key) {
			return k, true
		}
	}
	return "", false
}

// inherit merges the calling session's transitive tags into the request's
// tags: they pass on unchanged and may not be set again.
func (a *assumeRequest) inherit(caller *session) *awsquery.Error {
	if caller == nil {
		return nil
	}
	for _, k := range caller.Transitive {
		if given, ok := tagKey(a.tags, k); ok {
			return awsquery.Errorf(400, "InvalidParameterValue", "The session tag %s is transitive from the calling session and cannot be set again", given)
		}
	}
	if len(caller.Transitive)+len(a.tags) > maxSessionTags {
		return awsquery.Errorf(400, "PackedPolicyTooLarge", "The session carries %d tags with the transitive ones it inherits; at most %d are allowed.", len(caller.Transitive)+len(a.tags), maxSessionTags)
	}
	return nil
}

// addInherited adds the calling session's transitive tags to the
// request's tags.
func (a *assumeRequest) addInherited(caller *session) {
	if caller == nil {
		return
	}
	for _, k := range caller.Transitive {
		if a.tags == nil {
			a.tags = map[string]string{}
		}
		a.tags[k] = caller.Tags[k]
	}
}

// sessionTags are the tags and transitive keys of a session issued for a,
// with what caller passes on.
func (a *assumeRequest) sessionTags(caller *session) (map[string]string, []string) {
	var tags map[string]string
	var trans []string
	if caller != nil {
		for _, k := range caller.Transitive {
			if tags == nil {
				tags = map[string]string{}
			}
			tags[k] = caller.Tags[k]
			trans = append(trans, k)
		}
	}
	for k, v := range a.tags {
		if tags == nil {
			tags = map[string]string{}
		}
		tags[k] = v
	}
	trans = append(trans, a.transitive...)
	return tags, trans
}

// assumeRole serves sts:AssumeRole for a signed caller: a role session (role
// chaining) or an account root. It checks, in order: parameters; the role
// (in its own account); the trust policy for sts:AssumeRole and, as
// needed, sts:TagSession and sts:SetSourceIdentity; the caller's own
// policies for the same actions (within one account only where the trust
// policy does not name the caller's role or session itself; across
// accounts always); the duration; the session policies.
func (s *Server) assumeRole(c *caller, p awsquery.Params) (_ any, denial string, _ *awsquery.Error) {
	var v awsquery.Validation
	roleARN, _ := v.CheckString(p, "RoleArn", true, 20, 2048, nil, "")
	sessionName, _ := v.CheckString(p, "RoleSessionName", true, 2, 64, sessionNamePattern, `[\w+=,.@-]*`)
	duration, hasDuration := v.CheckInt(p, "DurationSeconds", 900, 43200)
	sessPolicy, hasPolicy := v.CheckString(p, "Policy", false, 1, 2048, policyCharset, `[\u0009\u000A\u000D\u0020-\u00FF]+`)
	externalID, hasExternalID := v.CheckString(p, "ExternalId", false, 2, 1224, externalIDPattern, `[\w+=,.@:\/-]*`)
	sourceIdentity, _ := v.CheckString(p, "SourceIdentity", false, 2, 64, sessionNamePattern, `[\w+=,.@-]*`)
	policyARNs := sessionPolicyARNs(p, &v)
	req, e := readSessionTags(p, &v)
	if e != nil {
		return nil, e.Message, e
	}
	if p.Has("SerialNumber") || p.Has("TokenCode") {
		e := awsquery.Errorf(400, "ValidationError", "irsa-local does not emulate MFA devices: SerialNumber and TokenCode are not accepted")
		return nil, e.Message, e
	}
	req.externalID, req.hasExternalID, req.sourceIdentity = externalID, hasExternalID, sourceIdentity
	if !hasDuration {
		duration = 3600
	}
	account, res, ok := arnAccountResource(roleARN, "iam")
	if !ok || !strings.HasPrefix(res, "role/") {
		e := awsquery.Errorf(400, "ValidationError", "%s is invalid", roleARN)
		return nil, e.Message, e
	}
	caller := c.session
	if e := req.inherit(caller); e != nil {
		return nil, e.Message, e
	}
	// Inherited transitive tags are part of the request: the trust policy
	// sees them as aws:RequestTag/… and must allow sts:TagSession, as the
	// target roles of EKS Pod Identity associations rely on.
	req.addInherited(caller)
	if caller != nil && caller.SourceIdentity != "" {
		if sourceIdentity != "" && sourceIdentity != caller.SourceIdentity {
			e := awsquery.Errorf(400, "ValidationError", "The source identity of a role chain cannot be changed: the calling session's is %s", caller.SourceIdentity)
			return nil, e.Message, e
		}
		// Inherited, not set again: no sts:SetSourceIdentity needed.
		req.sourceIdentity = ""
	}
	callerARN := "arn:aws:iam::" + c.account + ":root"
	if caller != nil {
		callerARN = caller.assumedRoleARN()
	}
	denied := func(action string) *awsquery.Error {
		return awsquery.Errorf(403, "AccessDenied", "User: %s is not authorized to perform: %s on resource: %s", callerARN, action, roleARN)
	}

	// The role, in its own account.
	target, ok := s.in(account)
	var trust *policy.Document
	var roleID, roleName string
	var maxDuration int
	if ok {
		target.iam.mu.RLock()
		r, found := target.iam.roleByARN(account, roleARN)
		if found {
			trust, roleID, roleName, maxDuration = r.trust, r.ID, r.Name, r.MaxSessionDuration
		}
		target.iam.mu.RUnlock()
		ok = found
	}
	if !ok {
		return nil, "role " + roleARN + " does not exist", denied("sts:AssumeRole")
	}

	// Trust, then the caller's own policies, for every action needed.
	extra := policy.NewContext()
	extra.Set("sts:RoleSessionName", sessionName)
	req.context(extra)
	var reasons []string
	for _, action := range req.permissions("sts:AssumeRole") {
		why, ok := s.mayAssume(c, action, roleARN, account, roleName, trust, extra)
		if !ok {
			return nil, why, denied(action)
		}
		reasons = append(reasons, why)
	}

	// Duration: one hour at most for role chaining, else the role's cap.
	if caller != nil && hasDuration && duration > 3600 {
		return nil, fmt.Sprintf("DurationSeconds %d exceeds the one-hour cap of role chaining", duration), awsquery.Errorf(400, "ValidationError", "%s", msgChainedDuration)
	}
	if int(duration) > maxDuration {
		return nil, fmt.Sprintf("DurationSeconds %d exceeds the role's MaxSessionDuration %d", duration, maxDuration), awsquery.Errorf(400, "ValidationError", "%s", msgDuration)
	}

	// Session policies, in the role's account.
	packed, perr := target.checkSessionPolicies(sessPolicy, hasPolicy, policyARNs)
	if perr != nil {
		return nil, perr.Message, perr
	}

	now := s.clock.Now()
	tags, trans := req.sessionTags(caller)
	sess := &session{
		AccessKeyID:     newAccessKeyID(account),
		SecretAccessKey: newSecret(),
		RoleARN:         roleARN,
		RoleID:          roleID,
		SessionName:     sessionName,
		Issued:          now.UTC().Truncate(time.Second),
		Expiration:      now.Add(time.Duration(duration) * time.Second).UTC().Truncate(time.Second),
		Policy:          sessPolicy,
		PolicyARNs:      policyARNs,
		SourceIdentity:  sourceIdentity,
		Tags:            tags,
		Transitive:      trans,
	}
	if caller != nil {
		sess.Chain = caller.links()
		if caller.SourceIdentity != "" {
			sess.SourceIdentity = caller.SourceIdentity
		}
	} else {
		sess.Chain = []hop{{Type: "Root", ARN: callerARN}}
	}
	token, err := s.seal.seal(sess)
	if err != nil {
		return nil, err.Error(), awsquery.Errorf(500, "ServiceFailure", "issue credentials: %v", err)
	}
	target.touchRole(roleName, now, s.region)
	out := &assumeRoleResult{
		SourceIdentity:  sess.SourceIdentity,
		AssumedRoleUser: assumedRoleUser{Arn: sess.assumedRoleARN(), AssumedRoleID: roleID + ":" + sessionName},
		Credentials: credentialsXML{
			AccessKeyID:     sess.AccessKeyID,
			SecretAccessKey: sess.SecretAccessKey,
			SessionToken:    token,
			Expiration:      sess.Expiration.Format(time.RFC3339),
		},
	}
	if hasPolicy || len(policyARNs) > 0 || len(req.tags) > 0 {
		out.PackedPolicySize = &packed
	}
	return out, strings.Join(reasons, "; "), nil
}

// mayAssume decides one action of assuming roleARN (in account) for c: the
// trust policy must allow the caller, and the caller's own account must
// allow the action too unless, within one account, the trust policy names
// the caller's role or session itself. It returns the reason either way.
func (s *Server) mayAssume(c *caller, action, roleARN, account, roleName string, trust *policy.Document, extra policy.Context) (string, bool) {
	trustDocs := []policy.NamedDocument{{Name: "trust policy of " + roleName, Doc: trust}}
	var req policy.Request
	if c.session != nil {
		req = s.sessionRequest(c.session, action, roleARN, extra)
	} else {
		req = policy.Request{Principal: rootPrincipal(c.account), Action: action, Resource: roleARN, Context: rootContext(c.account, extra)}
	}
	// Trust policies have no Resource: ask them without one.
	tr := req
	tr.Resource = ""
	t := policy.Evaluate(tr, trustDocs...)
	if !t.Allowed() {
		return action + ": the role's trust policy does not allow " + req.Principal.IDs[0] + ": " + t.Reason, false
	}
	callerAccount := c.callerAccount()
	if c.session == nil {
		if callerAccount == account {
			return action + ": " + t.Reason + ", for the account root", true
		}
		return action + ": " + t.Reason + "; the caller is the root of account " + callerAccount + ", which may ask anything of another account", true
	}
	if callerAccount == account {
		identity, sessionDocs := s.sessionDocs(c.session, true)
		res := policy.Authorize(req, identity, sessionDocs, []policy.NamedDocument{{Name: "trust policy of " + roleName, Doc: trust}})
		if !res.Allowed() {
			return action + ": the trust policy names the caller's account, which leaves it to the caller's identity-based policies: " + res.Reason, false
		}
		return action + ": " + res.Reason, true
	}
	identity, sessionDocs := s.sessionDocs(c.session, true)
	res := policy.AuthorizeCrossAccount(req, identity, sessionDocs, trustDocs)
	r := crossAccount(res, callerAccount, account)
	return action + ": " + r.Reason, r.Allowed()
}

// rootContext holds the condition keys of a call an account root makes.
func rootContext(account string, extra policy.Context) policy.Context {
	ctx := policy.NewContext()
	ctx.Set("aws:PrincipalArn", "arn:aws:iam::"+account+":root")
	ctx.Set("aws:PrincipalAccount", account)
	ctx.Set("aws:PrincipalType", "Account")
	for k, v := range extra {
		ctx.Set(k, v...)
	}
	return ctx
}

// sessionPolicyARNs reads PolicyArns.member.N.arn (and the flat list form).
func sessionPolicyARNs(p awsquery.Params, v *awsquery.Validation) []string {
	arns := p.List("PolicyArns")
	for _, st := range p.StructList("PolicyArns", "arn") {
		arns = append(arns, st["arn"])
	}
	if len(arns) > 10 {
		n := strconv.Itoa(len(arns))
		v.Add(&n, "policyArns", "Member must have length less than or equal to 10")
	}
	return arns
}
