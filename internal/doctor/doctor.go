package doctor

import (
	"context"
	"crypto/x509"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// DefaultAudience is the audience the pod identity webhook projects tokens
// for unless a service account asks for another.
const DefaultAudience = "sts.amazonaws.com"

// Target is what Run diagnoses: a cluster, an issuer, an AWS endpoint and
// optionally a service account, a role and an action. Fields left empty
// make the checks that need them skip, saying why.
type Target struct {
	// Environment names the irsa-local environment the target belongs to,
	// "" for a cluster irsa-local does not run: fixes then name irsa-local
	// commands or upstream ones.
	Environment string
	// Down, when set, says the environment is not running; every check but
	// the first is then skipped, since nothing can answer.
	Down string

	// Kube connects to the cluster; nil when there is none to check, and
	// NoKube then says why. KubeErr is a kubeconfig that could not be
	// loaded. KubeFrom names where the configuration came from.
	Kube     *rest.Config
	KubeFrom string
	NoKube   string
	KubeErr  error

	// Issuer is the issuer URL the chain must use; "" takes the
	// apiserver's. IssuerFrom names where it came from ("the environment's",
	// "--issuer").
	Issuer     string
	IssuerFrom string
	// KeysViaAPIServer: the issuer is an adopted cluster's whose URL this
	// machine cannot reach; its discovery document and keys are read
	// through the apiserver, as the environment's STS reads them.
	KeysViaAPIServer bool
	// NoPodEndpoint, when set, says why the adopted cluster's pods are
	// given no AWS endpoint: the webhook check fails with it.
	NoPodEndpoint string
	// RootCAs verify the issuer's HTTPS certificate: the environment's CA
	// plus the system roots.
	RootCAs *x509.CertPool

	// AWS reaches IAM; nil when there are no AWS credentials, and NoAWS then
	// says why. AWSFrom names the endpoint for messages.
	AWS     *aws.Config
	AWSFrom string
	NoAWS   string

	// Namespace and ServiceAccount name the workload (Namespace defaults to
	// "default"); RoleARN names the role when no service account does.
	Namespace      string
	ServiceAccount string
	RoleARN        string
	// Action and Resource, when both set, are checked against the role's
	// policies.
	Action   string
	Resource string
	// Gateway, when set, asks the environment's AWS endpoint how its
	// gateway decides Action on Resource for a session of the role: for
	// the services it forwards (SQS, SNS, DynamoDB, Secrets Manager, SSM,
	// KMS) that verdict, with the resource's policy and KMS's key policy
	// rule, is the one real calls get. ok is false when the endpoint does
	// not decide that action.
	Gateway func(ctx context.Context, q GatewayQuestion) (v GatewayVerdict, ok bool, err error)

	// Assume, when set, is a role the service account's role assumes next
	// (sts:AssumeRole, in its account or another): the assume check
	// decides that hop, and the permissions check then judges Action for
	// the assumed role. AssumeHook asks the environment's AWS endpoint,
	// which holds both accounts' policies.
	Assume     string
	AssumeHook func(ctx context.Context, q AssumeQuestion) (AssumeVerdict, error)
	// SessionTags are the session tags the workload passes on that hop.
	SessionTags map[string]string

	// PodIdentityHook asks the environment's AWS endpoint what eks-auth
	// answers a pod of the service account: with an association, the
	// checks follow the EKS Pod Identity chain instead of IRSA's, as the
	// webhook gives Pod Identity precedence. ClusterName names the EKS
	// cluster in fixes; LocalAgent says the cluster has no nodes, so
	// irsa-local exec serves the agent.
	PodIdentityHook func(ctx context.Context, q PodIdentityQuestion) (PodIdentityVerdict, error)
	ClusterName     string
	LocalAgent      bool

	// Token, when set, is diagnosed instead of one requested for the
	// service account; TokenFrom names it.
	Token     string
	TokenFrom string
	// Mint signs a token for a service account without a cluster (an
	// environment with --cluster none); nil elsewhere.
	Mint func(namespace, serviceAccount, audience string) (string, error)

	// Now is the clock tokens are judged by; nil means time.Now.
	Now func() time.Time
}

// stepTimeout bounds each check, so an unreachable endpoint costs seconds,
// not the caller's whole deadline.
const stepTimeout = 15 * time.Second

// Run performs every check in chain order and returns the report. It never
// fails as a whole: what goes wrong is a failed check.
func Run(ctx context.Context, t Target) Report {
	if t.Namespace == "" {
		t.Namespace = "default"
	}
	if t.Now == nil {
		t.Now = time.Now
	}
	r := &runner{t: t, done: map[string]Status{}, tokens: map[string]*Token{}}
	if t.AWS != nil {
		r.iam = iam.NewFromConfig(*t.AWS)
	}
	steps := []struct {
		name string
		run  func(context.Context) Check
	}{
		{CheckCluster, r.cluster},
		{CheckIssuer, r.issuer},
		{CheckJWKS, r.jwks},
		{CheckOIDCProvider, r.oidcProvider},
		{CheckServiceAccount, r.serviceAccount},
		{CheckWebhook, r.webhook},
		{CheckAgent, r.agent},
		{CheckTrustPolicy, r.trustPolicy},
		{CheckAssume, r.assume},
		{CheckPermissions, r.permissions},
	}
	var rep Report
	for i, s := range steps {
		if t.Down != "" {
			if i == 0 {
				rep = append(rep, fail(s.name, t.Down, "start it: irsa-local up"+envFlag(t.Environment)))
			} else {
				rep = append(rep, skip(s.name, t.Down))
			}
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, stepTimeout)
		c := s.run(sctx)
		cancel()
		c.Name = s.name
		rep = append(rep, c)
		r.done[s.name] = c.Status
	}
	return rep
}

// envFlag is the --name flag that selects the environment in a suggested
// command, "" for the default one.
func envFlag(name string) string {
	if name == "" || name == "irsa-local" {
		return ""
	}
	return " --name " + name
}

// runner carries what each check learns to the checks after it.
type runner struct {
	t    Target
	done map[string]Status

	client kubernetes.Interface
	// issuerURL is the issuer every later check uses; issuerMismatch says
	// the apiserver signs for another one.
	issuerURL      string
	issuerMismatch bool

	iam         *iam.Client
	providerARN string
	// clientIDs are the provider's; nil while it is not found.
	clientIDs []string

	saFound     bool
	saAnnotated bool
	saAudience  string // the service account's eks.amazonaws.com/audience
	roleARN     string
	roleMissing bool // the annotated role does not exist (reported)
	podAudience string
	// pod is eks-auth's verdict for a service account with a Pod Identity
	// association, nil for IRSA.
	pod *PodIdentityVerdict

	tokens map[string]*Token // by audience
}
