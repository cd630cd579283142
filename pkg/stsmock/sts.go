package stsmock

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/irsa-local/irsa-local/internal/awsquery"
	"github.com/irsa-local/irsa-local/internal/trail"
	"github.com/irsa-local/irsa-local/pkg/policy"
)

// Messages real STS sends (reference §1.6). The two spaces after the comma
// in msgKeyRetrieval are in real captures and kept on purpose.
const (
	msgNotAuthorized     = "Not authorized to perform sts:AssumeRoleWithWebIdentity"
	msgKeyRetrieval      = "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements"
	msgIncorrectAudience = "Incorrect token audience"
	msgThumbprint        = "OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint"
	// msgInvalidToken is the model's description of InvalidIdentityToken.
	// STS's wording for an unparsable token or a bad signature was never
	// captured, so irsa-local uses it for both; the audit trail and the log
	// say exactly which check failed.
	msgInvalidToken = "The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request."
	msgDuration     = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
)

// clockSkew is how long after exp IAM still accepts a token (IAM User Guide,
// "OIDC federation"); irsa-local applies the same slack to nbf.
const clockSkew = 5 * time.Minute

// allowedAlgs are the signature algorithms STS documents for web identity
// tokens. Parsing with this list rejects "none" and every HMAC algorithm
// before any key is looked at.
var allowedAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512}

var (
	sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]*$`)
	policyCharset      = regexp.MustCompile("^[\u0009\u000A\u000D\u0020-\u00FF]+$")
)

func (s *Server) serveSTS(w http.ResponseWriter, req *request, action string, rec *eventRecord) {
	var result any
	var err *awsquery.Error
	rec.ReadOnly = true
	switch action {
	case "AssumeRoleWithWebIdentity":
		var wi webIdentity
		var reason string
		result, reason, err = s.assumeRoleWithWebIdentity(req.r.Context(), req.p, &wi)
		rec.ReadOnly = false
		s.auditAssume(rec, req.p, &wi, result)
		if err != nil {
			s.log.Info("AssumeRoleWithWebIdentity refused", "requestId", req.id, "code", err.Code, "reason", awsquery.Truncate(reason, maxReason))
		}
		rec.decide(err == nil, reason)
	case "AssumeRole":
		var reason string
		result, reason, err = s.assumeRole(req.caller, req.p)
		rec.ReadOnly = false
		s.auditAssumeRole(rec, req.p, result)
		if err != nil {
			s.log.Info("AssumeRole refused", "requestId", req.id, "code", err.Code, "reason", awsquery.Truncate(reason, maxReason))
		}
		rec.decide(err == nil, reason)
	case "GetCallerIdentity":
		result = s.getCallerIdentity(req.caller)
		rec.decide(true, "GetCallerIdentity needs no permission")
	case "GetSessionToken":
		result, err = s.getSessionToken(req.caller, req.p)
		rec.ReadOnly = false
		if out, ok := result.(*getSessionTokenResult); ok {
			rec.ResponseElements = map[string]any{"credentials": map[string]string{"accessKeyId": out.Credentials.AccessKeyID, "expiration": out.Credentials.Expiration}}
		}
		rec.decide(err == nil, "GetSessionToken: the account root's own credentials")
	case "GetAccessKeyInfo":
		result, err = s.getAccessKeyInfo(req.p)
		rec.decide(err == nil, "GetAccessKeyInfo needs no permission")
	default:
		err = awsquery.Errorf(400, "InvalidAction", "Could not find operation %s for version 2011-06-15", action)
	}
	if err != nil {
		rec.fail(err.Code, err.Message)
		s.record(rec)
		s.queryError(w, req, "sts", err)
		return
	}
	s.record(rec)
	awsquery.WriteResult(w, stsNamespace, action, result, req.id)
}

// webIdentity is what a web identity token said, as far as it was read: the
// audit trail names the caller by it even when the call is refused.
type webIdentity struct {
	subject, audience, provider string
}

// auditAssume fills the trail record of AssumeRoleWithWebIdentity as
// CloudTrail does: a WebIdentityUser caller, the role and session name as
// parameters (never the token), and the issued session without its secret
// key or token.
func (s *Server) auditAssume(rec *eventRecord, p awsquery.Params, wi *webIdentity, result any) {
	provider := wi.provider
	rec.UserIdentity = trail.UserIdentity{Type: "WebIdentityUser", UserName: wi.subject, IdentityProvider: provider}
	if wi.subject != "" {
		rec.UserIdentity.PrincipalID = provider + ":" + wi.audience + ":" + wi.subject
	}
	rec.RequestParameters = map[string]any{"roleArn": p.Get("RoleArn"), "roleSessionName": p.Get("RoleSessionName")}
	if d := p.Get("DurationSeconds"); d != "" {
		rec.RequestParameters["durationSeconds"] = d
	}
	if out, ok := result.(*assumeRoleWithWebIdentityResult); ok {
		rec.ResponseElements = map[string]any{
			"credentials":                 map[string]string{"accessKeyId": out.Credentials.AccessKeyID, "expiration": out.Credentials.Expiration},
			"subjectFromWebIdentityToken": out.SubjectFromWebIdentityToken,
			"assumedRoleUser":             map[string]string{"assumedRoleId": out.AssumedRoleUser.AssumedRoleID, "arn": out.AssumedRoleUser.Arn},
			"provider":                    out.Provider,
			"audience":                    out.Audience,
		}
	}
}

type assumedRoleUser struct {
	Arn           string `xml:"Arn"`
	AssumedRoleID string `xml:"AssumedRoleId"`
}

type credentialsXML struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type assumeRoleWithWebIdentityResult struct {
	SubjectFromWebIdentityToken string          `xml:"SubjectFromWebIdentityToken"`
	Audience                    string          `xml:"Audience"`
	AssumedRoleUser             assumedRoleUser `xml:"AssumedRoleUser"`
	Credentials                 credentialsXML  `xml:"Credentials"`
	PackedPolicySize            *int            `xml:"PackedPolicySize,omitempty"`
	Provider                    string          `xml:"Provider"`
	SourceIdentity              string          `xml:"SourceIdentity,omitempty"`
}

// tokenClaims are the claims STS reads. Times are integers: STS requires
// "an integer or a long integer", so a float or string is refused.
type tokenClaims struct {
	Issuer    string       `json:"iss"`
	Subject   string       `json:"sub"`
	Audience  audience     `json:"aud"`
	Expiry    *json.Number `json:"exp"`
	NotBefore *json.Number `json:"nbf"`
	IssuedAt  *json.Number `json:"iat"`
	AZP       string       `json:"azp"`
	// Session tags and a source identity an identity provider may pass.
	Tags           *tokenTags `json:"https://aws.amazon.com/tags"`
	SourceIdentity string     `json:"https://aws.amazon.com/source_identity"`
}

// tokenTags is the session-tags claim: each tag's value is a one-element
// array, as IAM's documentation shows it.
type tokenTags struct {
	PrincipalTags     map[string][]string `json:"principal_tags"`
	TransitiveTagKeys []string            `json:"transitive_tag_keys"`
}

// assumeRequest reads the session tags and source identity a token
// passes, or says why they are not acceptable.
func (c *tokenClaims) assumeRequest() (*assumeRequest, string) {
	a := &assumeRequest{}
	if c.SourceIdentity != "" {
		if n := len(c.SourceIdentity); n < 2 || n > 64 || !sessionNamePattern.MatchString(c.SourceIdentity) {
			return nil, "the token's source identity must be 2 to 64 characters of [\\w+=,.@-]"
		}
		a.sourceIdentity = c.SourceIdentity
	}
	if c.Tags == nil {
		return a, ""
	}
	if len(c.Tags.PrincipalTags) > maxSessionTags {
		return nil, fmt.Sprintf("the token carries %d session tags; at most %d are allowed", len(c.Tags.PrincipalTags), maxSessionTags)
	}
	seen := map[string]bool{}
	for k, vs := range c.Tags.PrincipalTags {
		if len(vs) != 1 {
			return nil, "session tag " + strconv.Quote(k) + " in the token must have exactly one value"
		}
		if len(k) > 128 || !tagKeyPattern.MatchString(k) || len(vs[0]) > 256 || !tagValuePattern.MatchString(vs[0]) || strings.HasPrefix(strings.ToLower(k), "aws:") {
			return nil, "session tag " + strconv.Quote(k) + " in the token is not a valid tag"
		}
		if seen[strings.ToLower(k)] {
			return nil, msgDuplicateTags
		}
		seen[strings.ToLower(k)] = true
		if a.tags == nil {
			a.tags = map[string]string{}
		}
		a.tags[k] = vs[0]
	}
	for _, k := range c.Tags.TransitiveTagKeys {
		if _, ok := tagKey(a.tags, k); !ok {
			return nil, "transitive tag key " + strconv.Quote(k) + " in the token is not among its session tags"
		}
		a.transitive = append(a.transitive, k)
	}
	return a, ""
}

// audience accepts aud as a string or an array of strings, as STS does:
// Kubernetes always sends an array, other issuers a string.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("aud is neither a string nor an array of strings")
	}
	*a = many
	return nil
}

func unixClaim(n *json.Number) (int64, bool) {
	if n == nil {
		return 0, false
	}
	v, err := strconv.ParseInt(n.String(), 10, 64)
	return v, err == nil
}

// assumeRoleWithWebIdentity runs STS's validation pipeline (reference §1.7)
// in a fixed order and refuses at the first failed check. denial explains a
// refusal in more detail than the wire message, for the log and the trail.
func (s *Server) assumeRoleWithWebIdentity(ctx context.Context, p awsquery.Params, wi *webIdentity) (_ any, denial string, _ *awsquery.Error) {
	// 1. Parameters.
	var v awsquery.Validation
	roleARN, _ := v.CheckString(p, "RoleArn", true, 20, 2048, nil, "")
	sessionName, _ := v.CheckString(p, "RoleSessionName", true, 2, 64, sessionNamePattern, `[\w+=,.@-]*`)
	raw, _ := v.CheckString(p, "WebIdentityToken", true, 4, 20000, nil, "")
	duration, hasDuration := v.CheckInt(p, "DurationSeconds", 900, 43200)
	sessPolicy, hasPolicy := v.CheckString(p, "Policy", false, 1, 2048, policyCharset, `[\u0009\u000A\u000D\u0020-\u00FF]+`)
	policyARNs := sessionPolicyARNs(p, &v)
	if e := v.Err(); e != nil {
		return nil, e.Message, e
	}
	if p.Has("ProviderId") {
		e := awsquery.Errorf(400, "ValidationError", "ProviderId is only for OAuth 2.0 access tokens from www.amazon.com or graph.facebook.com; do not send it with an OpenID Connect ID token")
		return nil, e.Message, e
	}
	if !hasDuration {
		duration = 3600
	}
	account, res, ok := arnAccountResource(roleARN, "iam")
	if !ok || !strings.HasPrefix(res, "role/") {
		e := awsquery.Errorf(400, "ValidationError", "%s is not a valid role ARN", roleARN)
		return nil, e.Message, e
	}
	invalid := func(why string) (any, string, *awsquery.Error) {
		return nil, why, awsquery.Errorf(400, "InvalidIdentityToken", "%s", msgInvalidToken)
	}

	// 2. Parse the JWT: compact JWS, allowed algorithms only. Claims are
	// decoded with the standard library so that numbers stay numbers.
	// A token seen before with a good signature is not parsed again.
	cached := s.tokens.get(raw)
	var tok *jose.JSONWebSignature
	var claims tokenClaims
	if cached != nil {
		tok, claims = cached.jws, cached.claims
	} else {
		var err error
		if tok, err = jose.ParseSignedCompact(raw, allowedAlgs); err != nil {
			return invalid("token is not a compact JWS signed with an allowed algorithm: " + err.Error())
		}
		dec := json.NewDecoder(bytes.NewReader(tok.UnsafePayloadWithoutVerification()))
		dec.UseNumber()
		if err := dec.Decode(&claims); err != nil {
			return invalid("token claims do not decode: " + err.Error())
		}
	}

	// 3. Required claims.
	for _, c := range []struct{ name, value string }{{"iss", claims.Issuer}, {"sub", claims.Subject}} {
		if c.value == "" {
			return nil, "token has no " + c.name, awsquery.Errorf(400, "InvalidIdentityToken", "Missing a required claim: %s", c.name)
		}
	}
	if len(claims.Audience) == 0 {
		return nil, "token has no aud", awsquery.Errorf(400, "InvalidIdentityToken", "Missing a required claim: aud")
	}
	exp, ok := unixClaim(claims.Expiry)
	if !ok {
		if claims.Expiry == nil {
			return nil, "token has no exp", awsquery.Errorf(400, "InvalidIdentityToken", "Missing a required claim: exp")
		}
		return invalid("exp is not an integer: " + claims.Expiry.String())
	}
	nbf, hasNBF := unixClaim(claims.NotBefore)
	if claims.NotBefore != nil && !hasNBF {
		return invalid("nbf is not an integer: " + claims.NotBefore.String())
	}
	if claims.IssuedAt != nil {
		if _, ok := unixClaim(claims.IssuedAt); !ok {
			return invalid("iat is not an integer: " + claims.IssuedAt.String())
		}
	}

	wi.subject, wi.audience = claims.Subject, claims.Audience[0]

	// 4. Issuer → IAM OIDC provider in the role's account.
	name := policy.ParseProvider(claims.Issuer)
	wi.provider = claims.Issuer
	if !strings.HasPrefix(claims.Issuer, "https://") {
		return nil, "iss is not an https URL", awsquery.Errorf(400, "InvalidIdentityToken", "No OpenIDConnect provider found in your account for %s", claims.Issuer)
	}
	target, found := s.in(account)
	var clientIDs, thumbs []string
	if found {
		target.iam.mu.RLock()
		var prov *oidcProvider
		prov, found = target.iam.Providers[name.Canonical]
		if found {
			clientIDs = append(clientIDs, prov.ClientIDs...)
			thumbs = append(thumbs, prov.Thumbprints...)
		}
		target.iam.mu.RUnlock()
	}
	if !found {
		return nil, "no IAM OIDC provider for " + name.Canonical + " in account " + account, awsquery.Errorf(400, "InvalidIdentityToken", "No OpenIDConnect provider found in your account for %s", claims.Issuer)
	}
	provARN := name.ARN(account)
	wi.provider = provARN

	// 5, 6. Discovery and keys over HTTPS; optional thumbprint.
	header := tok.Signatures[0].Header
	set, chain, err := s.keys.keys(ctx, claims.Issuer, header.KeyID)
	if err != nil {
		return nil, err.Error(), awsquery.Errorf(400, "InvalidIdentityToken", "%s", msgKeyRetrieval)
	}
	if s.thumbprints && len(thumbs) > 0 {
		tp := thumbprint(chain)
		if !containsFold(thumbs, tp) {
			return nil, "JWKS host's top certificate has thumbprint " + tp, awsquery.Errorf(400, "InvalidIdentityToken", "%s", msgThumbprint)
		}
	}

	// 7. Signature, by kid and alg.
	if cached == nil || cached.set != set {
		if why := verifySignature(tok, header, set); why != "" {
			return invalid(why)
		}
		s.tokens.add(raw, &parsedToken{jws: tok, claims: claims, set: set})
	}

	// 8. Audience against the provider's client IDs.
	audience := ""
	for _, a := range claims.Audience {
		if contains(clientIDs, a) {
			audience = a
			break
		}
	}
	if audience == "" {
		return nil, fmt.Sprintf("token audience %q is not among the provider's client IDs %q", []string(claims.Audience), clientIDs), awsquery.Errorf(400, "InvalidIdentityToken", "%s", msgIncorrectAudience)
	}
	wi.audience = audience

	// 9. Time, on the emulator's clock, with AWS's five-minute skew.
	now := s.clock.Now()
	if now.After(time.Unix(exp, 0).Add(clockSkew)) {
		return nil, "token expired at " + time.Unix(exp, 0).UTC().Format(time.RFC3339), awsquery.Errorf(400, "ExpiredTokenException", "Token expired: current date/time %d must be before the expiration date/time %d", now.Unix(), exp)
	}
	if hasNBF && time.Unix(nbf, 0).After(now.Add(clockSkew)) {
		return invalid("token is not valid before " + time.Unix(nbf, 0).UTC().Format(time.RFC3339))
	}

	// 10. Role and trust policy.
	target.iam.mu.RLock()
	r, found := target.iam.roleByARN(account, roleARN)
	var trust *policy.Document
	var roleID, roleName string
	var maxDuration int
	if found {
		trust, roleID, roleName, maxDuration = r.trust, r.ID, r.Name, r.MaxSessionDuration
	}
	target.iam.mu.RUnlock()
	if !found {
		return nil, "role " + roleARN + " does not exist", awsquery.Errorf(403, "AccessDenied", "%s", msgNotAuthorized)
	}
	keys := name.Spellings()
	// Session tags and a source identity may come in the token, which then
	// needs sts:TagSession and sts:SetSourceIdentity in the trust policy.
	treq, why := claims.assumeRequest()
	if why != "" {
		return invalid(why)
	}
	preq := policy.TrustRequest(account, policy.WebIdentityClaims{Issuer: claims.Issuer, Subject: claims.Subject, Audience: audience, AZP: claims.AZP}, sessionName, now)
	treq.context(preq.Context)
	var allowedBy []string
	for _, action := range treq.permissions("sts:AssumeRoleWithWebIdentity") {
		preq.Action = action
		decision := policy.Evaluate(preq, policy.NamedDocument{Name: "trust policy of " + roleName, Doc: trust})
		if !decision.Allowed() {
			msg := msgNotAuthorized
			if action != "sts:AssumeRoleWithWebIdentity" {
				msg = "Not authorized to perform " + action
			}
			return nil, action + ": " + decision.Reason, awsquery.Errorf(403, "AccessDenied", "%s", msg)
		}
		allowedBy = append(allowedBy, decision.Reason)
	}

	// 11. Duration.
	if int(duration) > maxDuration {
		return nil, fmt.Sprintf("DurationSeconds %d exceeds the role's MaxSessionDuration %d", duration, maxDuration), awsquery.Errorf(400, "ValidationError", "%s", msgDuration)
	}

	// 12. Session policies.
	packed, perr := target.checkSessionPolicies(sessPolicy, hasPolicy, policyARNs)
	if perr != nil {
		return nil, perr.Message, perr
	}

	// 13. Issue.
	sess := &session{
		AccessKeyID:     newAccessKeyID(account),
		SecretAccessKey: newSecret(),
		RoleARN:         roleARN,
		RoleID:          roleID,
		SessionName:     sessionName,
		Issued:          now.UTC().Truncate(time.Second),
		Expiration:      now.Add(time.Duration(duration) * time.Second).UTC().Truncate(time.Second),
		Subject:         claims.Subject,
		Audience:        audience,
		Provider:        provARN,
		ProviderKeys:    keys,
		Policy:          sessPolicy,
		PolicyARNs:      policyARNs,
		SourceIdentity:  treq.sourceIdentity,
	}
	sess.Tags, sess.Transitive = treq.sessionTags(nil)
	token, err := s.seal.seal(sess)
	if err != nil {
		return nil, err.Error(), awsquery.Errorf(500, "ServiceFailure", "issue credentials: %v", err)
	}
	target.touchRole(roleName, now, s.region)
	out := &assumeRoleWithWebIdentityResult{
		SubjectFromWebIdentityToken: claims.Subject,
		Audience:                    audience,
		AssumedRoleUser:             assumedRoleUser{Arn: sess.assumedRoleARN(), AssumedRoleID: roleID + ":" + sessionName},
		Credentials: credentialsXML{
			AccessKeyID:     sess.AccessKeyID,
			SecretAccessKey: sess.SecretAccessKey,
			SessionToken:    token,
			Expiration:      sess.Expiration.Format(time.RFC3339),
		},
		Provider:       provARN,
		SourceIdentity: sess.SourceIdentity,
	}
	if hasPolicy || len(policyARNs) > 0 || len(sess.Tags) > 0 {
		out.PackedPolicySize = &packed
	}
	return out, strings.Join(allowedBy, "; "), nil
}

// verifySignature checks tok's signature with a key of set chosen by the
// header's kid (or, without one, keys without a kid, then every key). The
// key's type and its JWK alg, when given, must agree with the header's alg.
// It returns why no key verified, or "".
func verifySignature(tok *jose.JSONWebSignature, h jose.Header, set *jose.JSONWebKeySet) string {
	var candidates []jose.JSONWebKey
	if h.KeyID != "" {
		candidates = set.Key(h.KeyID)
	} else {
		for _, k := range set.Keys {
			if k.KeyID == "" {
				candidates = append(candidates, k)
			}
		}
		if len(candidates) == 0 {
			candidates = set.Keys
		}
	}
	if len(candidates) == 0 {
		return "no key with kid " + strconv.Quote(h.KeyID) + " in the issuer's JWKS"
	}
	why := ""
	for _, k := range candidates {
		if k.Algorithm != "" && k.Algorithm != h.Algorithm {
			why = fmt.Sprintf("token alg %s does not match key %s's alg %s", h.Algorithm, k.KeyID, k.Algorithm)
			continue
		}
		if !keyFitsAlg(k, h.Algorithm) {
			why = fmt.Sprintf("token alg %s does not fit key %s's type", h.Algorithm, k.KeyID)
			continue
		}
		if _, err := tok.Verify(k.Key); err == nil {
			return ""
		}
		why = "signature does not verify with key " + k.KeyID
	}
	return why
}

// keyFitsAlg refuses an RSA key for an EC algorithm and the reverse, and an
// EC key on another curve than its algorithm names.
func keyFitsAlg(k jose.JSONWebKey, alg string) bool {
	switch key := k.Key.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS")
	case *ecdsa.PublicKey:
		want := map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}[alg]
		return want != nil && key.Curve == want
	}
	return false
}

// checkSessionPolicies validates session policies and returns their packed
// size in percent. STS packs (compresses) them; irsa-local approximates the
// packed size as the compacted plain text plus the ARNs against a 2048-byte
// allowance.
func (s *Server) checkSessionPolicies(doc string, has bool, arns []string) (int, *awsquery.Error) {
	size := 0
	if has {
		d, err := policy.Parse(doc, policy.Identity)
		if err != nil {
			var me *policy.MalformedError
			if errors.As(err, &me) {
				return 0, awsquery.Errorf(400, "MalformedPolicyDocument", "%s", me.Message)
			}
			return 0, awsquery.Errorf(400, "MalformedPolicyDocument", "%v", err)
		}
		size += len(compactJSON(d.Text()))
	}
	s.iam.mu.RLock()
	defer s.iam.mu.RUnlock()
	for _, a := range arns {
		if _, ok := s.lookupPolicy(a); !ok {
			return 0, awsquery.Errorf(400, "InvalidParameterValue", "Policy %s does not exist or is not attachable.", a)
		}
		size += len(a)
	}
	pct := size * 100 / 2048
	if pct > 100 {
		return pct, awsquery.Errorf(400, "PackedPolicyTooLarge", "Packed policy consumes %d%% of allotted space, please use smaller policy.", pct)
	}
	return pct, nil
}

func compactJSON(s string) string {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

type getCallerIdentityResult struct {
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
	Arn     string `xml:"Arn"`
}

// getCallerIdentity needs no permission and cannot be denied.
func (s *Server) getCallerIdentity(c *caller) any {
	if c.session != nil {
		return &getCallerIdentityResult{
			UserID:  c.session.RoleID + ":" + c.session.SessionName,
			Account: c.session.account(),
			Arn:     c.session.assumedRoleARN(),
		}
	}
	return &getCallerIdentityResult{UserID: c.account, Account: c.account, Arn: "arn:aws:iam::" + c.account + ":root"}
}

type getSessionTokenResult struct {
	Credentials credentialsXML `xml:"Credentials"`
}

// getSessionToken issues temporary credentials of the calling account's
// root. Role sessions may not call it; MFA is not emulated. A root's
// session lasts one hour at most, as AWS caps it without an error.
func (s *Server) getSessionToken(c *caller, p awsquery.Params) (any, *awsquery.Error) {
	if c.session != nil || c.temporary {
		return nil, awsquery.Errorf(403, "AccessDenied", "Cannot call GetSessionToken with session credentials")
	}
	var v awsquery.Validation
	duration, has := v.CheckInt(p, "DurationSeconds", 900, 129600)
	if e := v.Err(); e != nil {
		return nil, e
	}
	if p.Has("SerialNumber") || p.Has("TokenCode") {
		return nil, awsquery.Errorf(400, "ValidationError", "irsa-local does not emulate MFA devices: SerialNumber and TokenCode are not accepted")
	}
	if !has || duration > 3600 {
		duration = 3600
	}
	now := s.clock.Now()
	sess := &session{
		AccessKeyID: newAccessKeyID(c.account), SecretAccessKey: newSecret(), Root: c.account,
		Issued:     now.UTC().Truncate(time.Second),
		Expiration: now.Add(time.Duration(duration) * time.Second).UTC().Truncate(time.Second),
	}
	token, err := s.seal.seal(sess)
	if err != nil {
		return nil, awsquery.Errorf(500, "ServiceFailure", "issue credentials: %v", err)
	}
	return &getSessionTokenResult{Credentials: credentialsXML{
		AccessKeyID: sess.AccessKeyID, SecretAccessKey: sess.SecretAccessKey, SessionToken: token, Expiration: sess.Expiration.Format(time.RFC3339),
	}}, nil
}

type getAccessKeyInfoResult struct {
	Account string `xml:"Account"`
}

// getAccessKeyInfo names the account of an access key ID, read from the
// key itself as AWS does: irsa-local's temporary keys carry it, an account
// root's key is its ID, and the admin key is the default account's.
func (s *Server) getAccessKeyInfo(p awsquery.Params) (any, *awsquery.Error) {
	switch id := p.Get("AccessKeyId"); {
	case id == s.adminKey:
		return &getAccessKeyInfoResult{Account: s.defaultAccount}, nil
	case isAccountID(id):
		return &getAccessKeyInfoResult{Account: id}, nil
	}
	var v awsquery.Validation
	id, _ := v.CheckString(p, "AccessKeyId", true, 16, 128, accessKeyPattern, `[\w]*`)
	if e := v.Err(); e != nil {
		return nil, e
	}
	if acct, ok := accessKeyAccount(id); ok {
		return &getAccessKeyInfoResult{Account: acct}, nil
	}
	return nil, awsquery.Errorf(400, "InvalidParameterValue", "%s is not an access key ID: want ASIA or AKIA followed by 16 characters of A-Z and 2-7", id)
}

var accessKeyPattern = regexp.MustCompile(`^[\w]*$`)

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func containsFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}
