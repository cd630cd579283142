package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/irsa-local/irsa-local/pkg/webhook"
)

// Annotations of the pod identity webhook the doctor reads.
const (
	roleARNAnnotation  = webhook.DefaultAnnotationPrefix + "/role-arn"
	audienceAnnotation = webhook.DefaultAnnotationPrefix + "/audience"
)

// tokenSeconds is the shortest lifetime TokenRequest grants.
const tokenSeconds = 600

func (r *runner) cluster(ctx context.Context) Check {
	t := r.t
	switch {
	case t.KubeErr != nil:
		return fail(CheckCluster, t.KubeErr.Error(), "point --kubeconfig (or KUBECONFIG) at a readable kubeconfig")
	case t.Kube == nil:
		return skip(CheckCluster, t.NoKube)
	}
	c, err := kubernetes.NewForConfig(t.Kube)
	if err != nil {
		return fail(CheckCluster, "create a Kubernetes client: "+err.Error(), "check the kubeconfig "+t.KubeFrom)
	}
	v, err := c.Discovery().ServerVersion()
	if err != nil {
		fix := "check the kubeconfig's server and credentials: kubectl cluster-info"
		if t.Environment != "" {
			fix = "irsa-local status" + envFlag(t.Environment) + " shows which process failed; irsa-local down && irsa-local up restarts them"
		}
		return fail(CheckCluster, fmt.Sprintf("the apiserver at %s does not answer: %v", t.Kube.Host, err), fix)
	}
	r.client = c
	return ok(CheckCluster, fmt.Sprintf("kube-apiserver %s at %s (kubeconfig %s)", v.GitVersion, t.Kube.Host, t.KubeFrom))
}

func (r *runner) issuer(ctx context.Context) Check {
	t := r.t
	r.issuerURL = t.Issuer
	if r.client == nil {
		if t.Issuer == "" {
			return skip(CheckIssuer, "no cluster and no --issuer: nothing says which issuer to check")
		}
		return skip(CheckIssuer, "no cluster: "+t.Issuer+" ("+t.IssuerFrom+") is checked as given")
	}
	got, how, err := r.apiserverIssuer(ctx)
	if err != nil {
		return fail(CheckIssuer, "read the apiserver's issuer: "+err.Error(),
			"allow the caller to get /.well-known/openid-configuration (ClusterRole system:service-account-issuer-discovery) or to create service-account tokens")
	}
	if t.Issuer == "" {
		r.issuerURL = got
		return skip(CheckIssuer, "no environment and no --issuer to compare with; the apiserver's issuer "+got+" ("+how+") is used")
	}
	if got != t.Issuer {
		r.issuerMismatch = true
		fix := "start kube-apiserver with --service-account-issuer=" + t.Issuer + ", or check against the apiserver's issuer with --issuer " + got
		if t.Environment != "" && t.IssuerFrom != "--issuer" {
			fix = "the kubeconfig belongs to another cluster: use the environment's (irsa-local status -o json" + envFlag(t.Environment) + " | jq -r .cluster.kubeconfig), or drop --kubeconfig"
		}
		return fail(CheckIssuer, fmt.Sprintf("the apiserver issues tokens for %s (%s), not %s (%s)", got, how, t.Issuer, t.IssuerFrom), fix)
	}
	return ok(CheckIssuer, fmt.Sprintf("the apiserver issues tokens for %s, %s", got, t.IssuerFrom))
}

// apiserverIssuer reads the apiserver's issuer from its discovery document,
// or, when the caller may not read it, from a token it issues.
func (r *runner) apiserverIssuer(ctx context.Context) (issuer, how string, _ error) {
	raw, derr := r.client.CoreV1().RESTClient().Get().AbsPath("/.well-known/openid-configuration").DoRaw(ctx)
	if derr == nil {
		var doc struct {
			Issuer string `json:"issuer"`
		}
		if err := json.Unmarshal(raw, &doc); err == nil && doc.Issuer != "" {
			return doc.Issuer, "its /.well-known/openid-configuration", nil
		}
		derr = errors.New("its /.well-known/openid-configuration names no issuer")
	}
	tok, err := r.anyToken(ctx)
	if err != nil {
		return "", "", fmt.Errorf("%v; %w", derr, err)
	}
	return tok.Issuer, "the iss of a token it signed", nil
}

// anyToken is a token of the service account, else of the namespace's
// default one, else of default/default: any token shows the apiserver's
// issuer and signing key.
func (r *runner) anyToken(ctx context.Context) (*Token, error) {
	type ref struct{ ns, sa string }
	refs := []ref{{r.t.Namespace, "default"}, {"default", "default"}}
	if r.t.ServiceAccount != "" {
		refs = append([]ref{{r.t.Namespace, r.t.ServiceAccount}}, refs...)
	}
	var first error
	for _, x := range refs {
		tok, err := r.requestToken(ctx, x.ns, x.sa, DefaultAudience)
		if err == nil {
			return tok, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}

// requestToken obtains a token as a pod of the service account would:
// through TokenRequest, or minted with the environment's key without a
// cluster.
func (r *runner) requestToken(ctx context.Context, ns, sa, audience string) (*Token, error) {
	var raw string
	switch {
	case r.client != nil:
		exp := int64(tokenSeconds)
		tr, err := r.client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
			Spec: authenticationv1.TokenRequestSpec{Audiences: []string{audience}, ExpirationSeconds: &exp},
		}, metav1.CreateOptions{})
		if err != nil {
			return nil, fmt.Errorf("request a token for %s/%s: %w", ns, sa, err)
		}
		raw = tr.Status.Token
	case r.t.Mint != nil:
		var err error
		if raw, err = r.t.Mint(ns, sa, audience); err != nil {
			return nil, fmt.Errorf("mint a token for %s/%s: %w", ns, sa, err)
		}
	default:
		return nil, errors.New("no cluster to request a token from")
	}
	return ParseToken(raw)
}

// workloadToken is the token the checks diagnose: --token, else one for
// the service account with the audience its pods get.
func (r *runner) workloadToken(ctx context.Context) (*Token, string, error) {
	if r.t.Token != "" {
		tok, err := ParseToken(r.t.Token)
		return tok, r.t.TokenFrom, err
	}
	if r.t.ServiceAccount == "" {
		return nil, "", errors.New("no --service-account or --token")
	}
	aud := r.audience()
	if tok, ok := r.tokens[aud]; ok {
		return tok, "a token of " + r.t.Namespace + "/" + r.t.ServiceAccount, nil
	}
	tok, err := r.requestToken(ctx, r.t.Namespace, r.t.ServiceAccount, aud)
	if err != nil {
		return nil, "", err
	}
	r.tokens[aud] = tok
	return tok, "a token of " + r.t.Namespace + "/" + r.t.ServiceAccount, nil
}

// audience is the audience the webhook projects tokens with for the
// service account: what a mutated pod showed, else the annotation's, else
// the default.
func (r *runner) audience() string {
	switch {
	case r.podAudience != "":
		return r.podAudience
	case r.saAudience != "":
		return r.saAudience
	}
	return DefaultAudience
}

func (r *runner) serviceAccount(ctx context.Context) Check {
	t := r.t
	r.roleARN = t.RoleARN
	if t.ServiceAccount == "" {
		return skip(CheckServiceAccount, "no --service-account")
	}
	if r.client == nil {
		return skip(CheckServiceAccount, "no cluster to read "+t.Namespace+"/"+t.ServiceAccount+" from")
	}
	sa, err := r.client.CoreV1().ServiceAccounts(t.Namespace).Get(ctx, t.ServiceAccount, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fail(CheckServiceAccount, fmt.Sprintf("service account %s/%s does not exist", t.Namespace, t.ServiceAccount),
			fmt.Sprintf("kubectl create serviceaccount %s -n %s, then annotate it with %s", t.ServiceAccount, t.Namespace, roleARNAnnotation))
	}
	if err != nil {
		return fail(CheckServiceAccount, fmt.Sprintf("get service account %s/%s: %v", t.Namespace, t.ServiceAccount, err),
			"allow the caller to get service accounts")
	}
	r.saFound = true
	r.saAudience = sa.Annotations[audienceAnnotation]
	arn := strings.TrimSpace(sa.Annotations[roleARNAnnotation])
	if r.lookupAssociation(ctx); r.pod != nil {
		v := r.pod
		r.roleARN = v.RoleARN
		what := fmt.Sprintf("%s/%s has Pod Identity association %s with role %s", t.Namespace, t.ServiceAccount, v.Association, v.AssociationRole)
		if v.TargetRole != "" {
			what += " (target role " + v.TargetRole + ")"
		}
		if arn != "" {
			what += "; it takes precedence over the " + roleARNAnnotation + " annotation (" + arn + "), as on EKS"
		}
		return ok(CheckServiceAccount, what)
	}
	if arn == "" {
		suggestion := "ROLE_ARN"
		if found := r.trustingRole(ctx); found != "" {
			suggestion = found
		}
		return fail(CheckServiceAccount,
			fmt.Sprintf("service account %s/%s has no %s annotation: the webhook leaves its pods alone", t.Namespace, t.ServiceAccount, roleARNAnnotation),
			fmt.Sprintf("kubectl annotate serviceaccount %s -n %s %s=%s\nor, for EKS Pod Identity: %s", t.ServiceAccount, t.Namespace, roleARNAnnotation, suggestion, associationFix(t.ClusterName, t.Namespace, t.ServiceAccount)))
	}
	r.saAnnotated = true
	r.roleARN = arn
	if r.iam == nil {
		return ok(CheckServiceAccount, fmt.Sprintf("%s/%s is annotated with %s (not looked up in IAM: %s)", t.Namespace, t.ServiceAccount, arn, r.noIAM()))
	}
	if _, err := r.getRole(ctx, arn); err != nil {
		if isNoSuchEntity(err) {
			r.roleMissing = true
			return fail(CheckServiceAccount,
				fmt.Sprintf("%s/%s is annotated with %s, which does not exist", t.Namespace, t.ServiceAccount, arn),
				fmt.Sprintf("create the role (aws iam create-role --role-name %s --assume-role-policy-document file://trust-policy.json)\nor annotate the service account with an existing role's ARN", roleName(arn)))
		}
		return fail(CheckServiceAccount, fmt.Sprintf("get role %s: %v", arn, err), r.awsFix())
	}
	return ok(CheckServiceAccount, fmt.Sprintf("%s/%s is annotated with %s, which exists", t.Namespace, t.ServiceAccount, arn))
}

func (r *runner) webhook(ctx context.Context) Check {
	t := r.t
	if r.client == nil {
		return skip(CheckWebhook, "no cluster")
	}
	_, err := r.client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, webhook.ConfigurationName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		fix := "install amazon-eks-pod-identity-webhook (EKS runs it for you)"
		if t.Environment != "" {
			fix = "restart the environment, which registers it again: irsa-local down" + envFlag(t.Environment) + " && irsa-local up" + envFlag(t.Environment)
		}
		return fail(CheckWebhook, fmt.Sprintf("MutatingWebhookConfiguration %s is not registered: pods get no AWS_ROLE_ARN and no token", webhook.ConfigurationName), fix)
	}
	if err != nil {
		return fail(CheckWebhook, fmt.Sprintf("get MutatingWebhookConfiguration %s: %v", webhook.ConfigurationName, err),
			"allow the caller to get mutatingwebhookconfigurations")
	}
	switch {
	case t.ServiceAccount == "":
		return ok(CheckWebhook, webhook.ConfigurationName+" is registered (no --service-account: mutation not tried)")
	case r.pod == nil && !r.saAnnotated:
		return ok(CheckWebhook, webhook.ConfigurationName+" is registered (mutation not tried: the service account has no role annotation)")
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "irsa-local-doctor-", Namespace: t.Namespace},
		Spec: corev1.PodSpec{
			ServiceAccountName: t.ServiceAccount,
			Containers:         []corev1.Container{{Name: "doctor", Image: "irsa-local/doctor"}},
		},
	}
	got, err := r.client.CoreV1().Pods(t.Namespace).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		return fail(CheckWebhook, fmt.Sprintf("a dry-run pod in %s/%s was refused: %v", t.Namespace, t.ServiceAccount, err),
			"allow the caller to create pods in "+t.Namespace)
	}
	if r.pod != nil {
		return r.podIdentityWebhook(got)
	}
	var missing []string
	if envValue(got.Spec.Containers[0].Env, "AWS_ROLE_ARN") == "" {
		missing = append(missing, "AWS_ROLE_ARN")
	}
	if proj := tokenProjection(got); proj == nil {
		missing = append(missing, "the "+webhook.TokenVolumeName+" volume")
	} else {
		r.podAudience = proj.Audience
	}
	if len(missing) > 0 {
		fix := "the webhook is registered but does not answer (its failure policy Ignore hides that): check its pods, service and caBundle"
		if t.Environment != "" {
			fix = "irsa-local status" + envFlag(t.Environment) + " shows the webhook's state; irsa-local down && irsa-local up restarts it"
		}
		return fail(CheckWebhook, fmt.Sprintf("%s is registered, but a dry-run pod of %s/%s came back without %s", webhook.ConfigurationName, t.Namespace, t.ServiceAccount, strings.Join(missing, " and ")), fix)
	}
	if t.NoPodEndpoint != "" {
		return fail(CheckWebhook, fmt.Sprintf("a dry-run pod of %s/%s gets AWS_ROLE_ARN and the %s volume, but no AWS endpoint: %s", t.Namespace, t.ServiceAccount, webhook.TokenVolumeName, t.NoPodEndpoint),
			"give the pods an endpoint they reach: irsa-local down && irsa-local up --cluster existing --pod-aws-endpoint URL (a port forwarded to this machine, a tunnel, or irsa-local running in the cluster)")
	}
	return ok(CheckWebhook, fmt.Sprintf("a dry-run pod of %s/%s gets AWS_ROLE_ARN and the %s volume (audience %s)", t.Namespace, t.ServiceAccount, webhook.TokenVolumeName, r.podAudience))
}

func envValue(env []corev1.EnvVar, name string) string {
	for _, v := range env {
		if v.Name == name {
			return v.Value
		}
	}
	return ""
}

// tokenProjection is the service-account token source of the webhook's
// volume, nil when the pod has none.
func tokenProjection(p *corev1.Pod) *corev1.ServiceAccountTokenProjection {
	for _, v := range p.Spec.Volumes {
		if v.Name != webhook.TokenVolumeName || v.Projected == nil {
			continue
		}
		for _, src := range v.Projected.Sources {
			if src.ServiceAccountToken != nil {
				return src.ServiceAccountToken
			}
		}
	}
	return nil
}

// podIdentityWebhook checks a dry-run pod of a service account with an
// association: the container credentials and a token for
// pods.eks.amazonaws.com.
func (r *runner) podIdentityWebhook(got *corev1.Pod) Check {
	t := r.t
	var missing []string
	if envValue(got.Spec.Containers[0].Env, "AWS_CONTAINER_CREDENTIALS_FULL_URI") == "" {
		missing = append(missing, "AWS_CONTAINER_CREDENTIALS_FULL_URI")
	}
	var audience string
	for _, v := range got.Spec.Volumes {
		if v.Name == webhook.PodIdentityVolumeName && v.Projected != nil {
			for _, src := range v.Projected.Sources {
				if src.ServiceAccountToken != nil {
					audience = src.ServiceAccountToken.Audience
				}
			}
		}
	}
	if audience == "" {
		missing = append(missing, "the "+webhook.PodIdentityVolumeName+" volume")
	}
	if len(missing) > 0 {
		fix := "the webhook must know the association: EKS's learns it from the control plane a few seconds after it is created; pods created before keep what they got"
		if t.Environment != "" {
			fix = "irsa-local status" + envFlag(t.Environment) + " shows the webhook's state; irsa-local down && irsa-local up restarts it"
		}
		return fail(CheckWebhook, fmt.Sprintf("a dry-run pod of %s/%s came back without %s", t.Namespace, t.ServiceAccount, strings.Join(missing, " and ")), fix)
	}
	if audience != PodIdentityAudience {
		return fail(CheckWebhook, fmt.Sprintf("a dry-run pod of %s/%s gets a token for audience %s; eks-auth accepts only %s", t.Namespace, t.ServiceAccount, audience, PodIdentityAudience),
			"let the webhook project the token: remove the pod's own "+webhook.PodIdentityVolumeName+" volume")
	}
	r.podAudience = audience
	return ok(CheckWebhook, fmt.Sprintf("a dry-run pod of %s/%s gets the container credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI) and the %s volume (audience %s)", t.Namespace, t.ServiceAccount, webhook.PodIdentityVolumeName, audience))
}
