package stsmock

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"

	"github.com/irsa-local/irsa-local/internal/awsquery"
	"github.com/irsa-local/irsa-local/internal/sigv4"
	"github.com/irsa-local/irsa-local/pkg/policy"
)

// eks-auth's AssumeRoleForPodIdentity: what the Pod Identity agent calls
// with a pod's projected token to get the credentials of the role its
// service account is associated with.

// PodIdentityAudience is the audience of the tokens Pod Identity accepts.
const PodIdentityAudience = "pods.eks.amazonaws.com"

// msgPodIdentityDenied is EKS Auth's answer when the role's trust policy
// refuses the Pod Identity principal (observed text).
const msgPodIdentityDenied = "Unauthorized Exception! EKS does not have permissions to assume the associated role."

// podIdentityDuration is how long Pod Identity credentials last: six hours
// for the association's role, one hour (role chaining) for a target role.
const (
	podIdentityDuration       = 6 * time.Hour
	podIdentityTargetDuration = time.Hour
)

// podIdentityTagKeys are the session tags EKS sets, in its documented order.
var podIdentityTagKeys = []string{"eks-cluster-arn", "eks-cluster-name", "kubernetes-namespace", "kubernetes-service-account", "kubernetes-pod-name", "kubernetes-pod-uid"}

var eksClusterNamePattern = regexp.MustCompile(`^[0-9A-Za-z][A-Za-z0-9\-_]*$`)

// TokenBinding is what a projected service-account token is bound to.
type TokenBinding struct {
	Namespace, ServiceAccount, ServiceAccountUID string
	Pod, PodUID                                  string
}

// BindingChecker confirms that the objects a token is bound to still exist
// with the UIDs the token names, as the apiserver does for its own tokens.
// Its error says which one is gone.
type BindingChecker interface {
	CheckBinding(ctx context.Context, b TokenBinding) error
}

// WithBindingChecker lets AssumeRoleForPodIdentity refuse the token of a
// deleted pod or service account. Without one, only the token itself is
// checked.
func WithBindingChecker(c BindingChecker) Option {
	return optionFunc(func(cfg *config) error {
		cfg.binding = c
		return nil
	})
}

// podTokenClaims are a projected service-account token's claims.
type podTokenClaims struct {
	tokenClaims
	Kubernetes *struct {
		Namespace string `json:"namespace"`
		Pod       *struct {
			Name string `json:"name"`
			UID  string `json:"uid"`
		} `json:"pod"`
		ServiceAccount struct {
			Name string `json:"name"`
			UID  string `json:"uid"`
		} `json:"serviceaccount"`
	} `json:"kubernetes.io"`
}

// eksAuthError is an EKS Auth error: its code, status and message, and the
// reason for the trail.
type eksAuthError struct {
	code    string
	status  int
	message string
	reason  string
}

func authErr(status int, code, msg, reason string) *eksAuthError {
	if reason == "" {
		reason = msg
	}
	return &eksAuthError{code: code, status: status, message: msg, reason: reason}
}

// podIdentityResult is AssumeRoleForPodIdentity's response.
type podIdentityResult struct {
	Subject struct {
		Namespace      string `json:"namespace"`
		ServiceAccount string `json:"serviceAccount"`
	} `json:"subject"`
	Audience               string `json:"audience"`
	PodIdentityAssociation struct {
		AssociationARN string `json:"associationArn"`
		AssociationID  string `json:"associationId"`
	} `json:"podIdentityAssociation"`
	AssumedRoleUser struct {
		ARN          string `json:"arn"`
		AssumeRoleID string `json:"assumeRoleId"`
	} `json:"assumedRoleUser"`
	Credentials struct {
		SessionToken    string `json:"sessionToken"`
		SecretAccessKey string `json:"secretAccessKey"`
		AccessKeyID     string `json:"accessKeyId"`
		Expiration      int64  `json:"expiration"`
	} `json:"credentials"`
}

// maxEKSAuthBody bounds the request: a token is at most a few KiB.
const maxEKSAuthBody = 64 << 10

// serveEKSAuth answers POST /clusters/{name}/assume-role-for-pod-identity.
func (s *Server) serveEKSAuth(w http.ResponseWriter, req *request) {
	r := req.r
	rec := s.newEvent(req, "eks-auth", "AssumeRoleForPodIdentity")
	rec.ManagementEvent = true
	fail := func(e *eksAuthError) {
		rec.fail(e.code, e.message)
		rec.decide(false, e.reason)
		s.record(rec)
		if e.status != 500 {
			s.log.Info("AssumeRoleForPodIdentity refused", "requestId", req.id, "code", e.code, "reason", awsquery.Truncate(e.reason, maxReason))
		}
		writeEKSAuthError(w, req.id, e)
	}
	if r.ContentLength > maxEKSAuthBody {
		fail(authErr(400, "InvalidRequestException", "The request body exceeds 64 KiB", ""))
		return
	}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, maxEKSAuthBody)
	}
	c, err := s.verify(r)
	if err != nil {
		wire, ok := sigv4.ToWire(err, sigv4.ProtocolJSON)
		if !ok {
			wire = sigv4.WireError{Code: "InternalServerException", Status: 500, Message: err.Error()}
		}
		fail(authErr(wire.Status, wire.Code, wire.Message, ""))
		return
	}
	req.caller = c
	rec.identity(s, c)
	path := r.URL.EscapedPath()
	rest, ok := strings.CutPrefix(path, "/clusters/")
	cluster, tail, _ := strings.Cut(rest, "/")
	cluster, _ = url.PathUnescape(cluster)
	if !ok || tail != "assume-role-for-pod-identity" || r.Method != http.MethodPost {
		fail(authErr(404, "ResourceNotFoundException", "irsa-local's EKS Auth endpoint does not serve "+r.Method+" "+awsquery.Truncate(path, awsquery.MaxEchoed), ""))
		return
	}
	rec.RequestParameters["clusterName"] = cluster
	var body struct {
		Token *string `json:"token"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		fail(authErr(400, "InvalidRequestException", "The request body is not valid JSON: "+awsquery.Truncate(err.Error(), awsquery.MaxEchoed), ""))
		return
	}
	// The agent (the node's role) must be allowed to call EKS Auth.
	clusterARN := s.eksARN("cluster/" + cluster)
	if c.session != nil || c.callerAccount() != s.defaultAccount {
		if res := s.authorizeCall(c, "eks-auth:AssumeRoleForPodIdentity", clusterARN, s.defaultAccount, nil, nil); !res.Allowed() {
			who := "arn:aws:iam::" + c.account + ":root"
			if c.session != nil {
				who = c.session.assumedRoleARN()
			}
			fail(authErr(400, "AccessDeniedException", "User: "+who+" is not authorized to perform: eks-auth:AssumeRoleForPodIdentity on resource: "+clusterARN, res.Reason))
			return
		}
	}
	out, assoc, reason, e := s.assumeRoleForPodIdentity(r.Context(), cluster, deref(body.Token), rec)
	if assoc != nil {
		rec.RequestParameters["associationId"] = assoc.ID
	}
	if e != nil {
		fail(e)
		return
	}
	rec.ReadOnly = false
	rec.ResponseElements = map[string]any{
		"subject":                out.Subject,
		"podIdentityAssociation": out.PodIdentityAssociation,
		"assumedRoleUser":        out.AssumedRoleUser,
		"credentials":            map[string]any{"accessKeyId": out.Credentials.AccessKeyID, "expiration": time.Unix(out.Credentials.Expiration, 0).UTC().Format(time.RFC3339)},
	}
	rec.decide(true, reason)
	s.record(rec)
	writeEKSJSON(w, req.id, 200, out)
}

// assumeRoleForPodIdentity validates the token as EKS does and assumes the
// association's role (and its target role). The checks, in order: the
// cluster; the token (a compact JWS of the cluster's issuer, signed by one
// of its keys, for the Pod Identity audience, not expired, bound to a pod);
// the objects it is bound to still exist; the association of its service
// account; the role's trust in pods.eks.amazonaws.com for sts:AssumeRole
// and, with session tags, sts:TagSession; then the target role as a second
// hop with the association's external ID.
func (s *Server) assumeRoleForPodIdentity(ctx context.Context, cluster, raw string, rec *eventRecord) (*podIdentityResult, *Association, string, *eksAuthError) {
	if cluster == "" || len(cluster) > 100 || !eksClusterNamePattern.MatchString(cluster) {
		return nil, nil, "", authErr(400, "InvalidParameterException", "The cluster name "+awsquery.Truncate(cluster, awsquery.MaxEchoed)+" is not valid: 1 to 100 characters of [0-9A-Za-z][A-Za-z0-9-_]*.", "")
	}
	if s.cluster == nil || s.cluster.Name != cluster {
		return nil, nil, "", authErr(404, "ResourceNotFoundException", "No cluster found for name: "+cluster+".", "")
	}
	if raw == "" {
		return nil, nil, "", authErr(400, "InvalidParameterException", "The token is required.", "")
	}
	invalid := func(why string) (*podIdentityResult, *Association, string, *eksAuthError) {
		return nil, nil, "", authErr(400, "InvalidTokenException", "The service account token is not valid: "+why+".", "")
	}
	tok, err := jose.ParseSignedCompact(raw, allowedAlgs)
	if err != nil {
		return invalid("it is not a compact JWS signed with an allowed algorithm")
	}
	var claims podTokenClaims
	dec := json.NewDecoder(bytes.NewReader(tok.UnsafePayloadWithoutVerification()))
	dec.UseNumber()
	if err := dec.Decode(&claims); err != nil {
		return invalid("its claims do not decode")
	}
	if claims.Issuer != s.cluster.IssuerURL {
		return invalid("it was issued by " + awsquery.Truncate(claims.Issuer, awsquery.MaxEchoed) + ", not by the cluster's issuer " + s.cluster.IssuerURL)
	}
	set, _, err := s.keys.keys(ctx, claims.Issuer, tok.Signatures[0].Header.KeyID)
	if err != nil {
		return nil, nil, "", authErr(500, "InternalServerException", "The cluster's signing keys could not be retrieved.", "fetch the cluster's keys: "+err.Error())
	}
	if why := verifySignature(tok, tok.Signatures[0].Header, set); why != "" {
		return invalid("its signature does not verify with the cluster's keys")
	}
	if !contains(claims.Audience, PodIdentityAudience) {
		return invalid("its audience " + strings.Join(claims.Audience, ",") + " does not include " + PodIdentityAudience)
	}
	exp, ok := unixClaim(claims.Expiry)
	if !ok {
		return invalid("it has no integer exp claim")
	}
	now := s.clock.Now()
	if !now.Before(time.Unix(exp, 0)) {
		return nil, nil, "", authErr(400, "ExpiredTokenException", "The service account token has expired.", "token expired at "+time.Unix(exp, 0).UTC().Format(time.RFC3339))
	}
	if nbf, ok := unixClaim(claims.NotBefore); ok && time.Unix(nbf, 0).After(now) {
		return invalid("it is not valid before " + time.Unix(nbf, 0).UTC().Format(time.RFC3339))
	}
	k := claims.Kubernetes
	if k == nil || k.Pod == nil || k.Namespace == "" || k.ServiceAccount.Name == "" || k.Pod.Name == "" {
		return invalid("it is not bound to a pod (no kubernetes.io pod claim)")
	}
	b := TokenBinding{Namespace: k.Namespace, ServiceAccount: k.ServiceAccount.Name, ServiceAccountUID: k.ServiceAccount.UID, Pod: k.Pod.Name, PodUID: k.Pod.UID}
	// The trail names the pod even when the call is refused.
	rec.RequestParameters["pod"] = b.Namespace + "/" + b.Pod
	rec.RequestParameters["serviceAccount"] = b.ServiceAccount
	if s.binding != nil {
		if err := s.binding.CheckBinding(ctx, b); err != nil {
			return invalid(err.Error())
		}
	}
	assoc, found := s.associationFor(b.Namespace, b.ServiceAccount)
	if !found {
		return nil, nil, "", authErr(404, "ResourceNotFoundException", "No Pod Identity Association found for service account "+b.ServiceAccount+" in namespace "+b.Namespace+" of cluster "+cluster+".", "")
	}
	out, reason, e := s.podIdentitySession(&assoc, b, now)
	return out, &assoc, reason, e
}

// podIdentitySession assumes the association's role as the Pod Identity
// principal, then its target role if it has one.
func (s *Server) podIdentitySession(a *Association, b TokenBinding, now time.Time) (*podIdentityResult, string, *eksAuthError) {
	denied := func(why string) (*podIdentityResult, string, *eksAuthError) {
		return nil, "", authErr(400, "AccessDeniedException", msgPodIdentityDenied, why)
	}
	s.base.mu.RLock()
	r, found := s.base.roleByARN(s.defaultAccount, a.RoleARN)
	var trust *policy.Document
	var roleID, roleName string
	if found {
		trust, roleID, roleName = r.trust, r.ID, r.Name
	}
	s.base.mu.RUnlock()
	if !found {
		return denied("the association's role " + a.RoleARN + " does not exist")
	}
	clusterARN := s.cluster.arn(s.region, s.defaultAccount)
	var tags map[string]string
	var trans []string
	if !a.DisableSessionTags {
		tags = map[string]string{
			"eks-cluster-arn": clusterARN, "eks-cluster-name": s.cluster.Name,
			"kubernetes-namespace": b.Namespace, "kubernetes-service-account": b.ServiceAccount,
			"kubernetes-pod-name": b.Pod, "kubernetes-pod-uid": b.PodUID,
		}
		trans = append(trans, podIdentityTagKeys...)
	}
	sessionName := podIdentitySessionName(s.cluster.Name, b.Pod)
	areq := &assumeRequest{tags: tags, transitive: trans}
	ctx := policy.NewContext()
	ctx.Set("sts:RoleSessionName", sessionName)
	ctx.Set("aws:SourceAccount", s.defaultAccount)
	ctx.Set("aws:SourceArn", s.associationARN(a.ID))
	ctx.Set("aws:PrincipalType", "Service")
	ctx.Set("aws:PrincipalServiceName", PodIdentityPrincipal)
	areq.context(ctx)
	var reasons []string
	for _, action := range areq.permissions("sts:AssumeRole") {
		d := policy.Evaluate(policy.Request{Principal: policy.Principal{Type: "Service", IDs: []string{PodIdentityPrincipal}}, Action: action, Context: ctx},
			policy.NamedDocument{Name: "trust policy of " + roleName, Doc: trust})
		if !d.Allowed() {
			return denied(action + ": the trust policy of " + roleName + " does not allow the service principal " + PodIdentityPrincipal + ": " + d.Reason)
		}
		reasons = append(reasons, action+": "+d.Reason)
	}
	if _, perr := s.checkSessionPolicies(a.Policy, a.Policy != "", nil); perr != nil {
		return denied("the association's session policy: " + perr.Message)
	}
	subject := "system:serviceaccount:" + b.Namespace + ":" + b.ServiceAccount
	sess := &session{
		AccessKeyID:     newAccessKeyID(s.defaultAccount),
		SecretAccessKey: newSecret(),
		RoleARN:         a.RoleARN,
		RoleID:          roleID,
		SessionName:     sessionName,
		Issued:          now.UTC().Truncate(time.Second),
		Expiration:      now.Add(podIdentityDuration).UTC().Truncate(time.Second),
		Subject:         subject,
		Audience:        PodIdentityAudience,
		Policy:          a.Policy,
		Tags:            tags,
		Transitive:      trans,
		Chain:           []hop{{Type: "PodIdentity", ARN: s.associationARN(a.ID), Subject: subject, Pod: b.Namespace + "/" + b.Pod}},
	}
	s.touchRole(roleName, now, s.region)
	if a.TargetRoleARN != "" {
		// The second hop: the association's role assumes the target role,
		// as role chaining, with the association's external ID.
		p := awsquery.Params{
			"RoleArn":         {a.TargetRoleARN},
			"RoleSessionName": {sessionName},
			"ExternalId":      {a.ExternalID},
			"DurationSeconds": {"3600"},
		}
		out, why, e := s.assumeRole(&caller{session: sess, account: sess.account(), temporary: true}, p)
		if e != nil {
			return denied("the association's role " + a.RoleARN + " could not assume the target role " + a.TargetRoleARN + ": " + why)
		}
		reasons = append(reasons, "target role: "+why)
		res := out.(*assumeRoleResult)
		return s.podIdentityResult(a, b, res.AssumedRoleUser, res.Credentials.AccessKeyID, res.Credentials.SecretAccessKey, res.Credentials.SessionToken, res.Credentials.Expiration), strings.Join(reasons, "; "), nil
	}
	token, err := s.seal.seal(sess)
	if err != nil {
		return nil, "", authErr(500, "InternalServerException", "issue credentials: "+err.Error(), "")
	}
	user := assumedRoleUser{Arn: sess.assumedRoleARN(), AssumedRoleID: roleID + ":" + sessionName}
	return s.podIdentityResult(a, b, user, sess.AccessKeyID, sess.SecretAccessKey, token, sess.Expiration.Format(time.RFC3339)), strings.Join(reasons, "; "), nil
}

func (s *Server) podIdentityResult(a *Association, b TokenBinding, user assumedRoleUser, keyID, secret, token, expiration string) *podIdentityResult {
	out := &podIdentityResult{Audience: PodIdentityAudience}
	out.Subject.Namespace, out.Subject.ServiceAccount = b.Namespace, b.ServiceAccount
	out.PodIdentityAssociation.AssociationARN, out.PodIdentityAssociation.AssociationID = s.associationARN(a.ID), a.ID
	out.AssumedRoleUser.ARN, out.AssumedRoleUser.AssumeRoleID = user.Arn, user.AssumedRoleID
	out.Credentials.AccessKeyID, out.Credentials.SecretAccessKey, out.Credentials.SessionToken = keyID, secret, token
	if t, err := time.Parse(time.RFC3339, expiration); err == nil {
		out.Credentials.Expiration = t.Unix()
	}
	return out
}

// podIdentitySessionName is "eks-<cluster>-<pod>-<uuid>" with the cluster
// and pod names cut to 10 characters each, as observed on EKS.
func podIdentitySessionName(cluster, pod string) string {
	cut := func(s string) string {
		if len(s) > 10 {
			return s[:10]
		}
		return s
	}
	return "eks-" + cut(cluster) + "-" + cut(pod) + "-" + uuid.NewString()
}

// writeEKSAuthError writes a rest-json error with the code both in
// x-amzn-ErrorType and in the body's __type, as EKS Auth answers.
func writeEKSAuthError(w http.ResponseWriter, requestID string, e *eksAuthError) {
	w.Header().Set("x-amzn-ErrorType", e.code)
	writeEKSJSON(w, requestID, e.status, map[string]string{"__type": e.code, "message": e.message})
}
