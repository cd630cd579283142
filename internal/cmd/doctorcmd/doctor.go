// Package doctor implements `irsa-local doctor`: walk every link of the
// IRSA chain and say which one is broken and how to mend it.
package doctorcmd

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"
	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/irsa-local/irsa-local/internal/actions"
	"github.com/irsa-local/irsa-local/internal/cluster/existing"
	"github.com/irsa-local/irsa-local/internal/cmd/cli"
	"github.com/irsa-local/irsa-local/internal/doctor"
	"github.com/irsa-local/irsa-local/internal/envctl"
	"github.com/irsa-local/irsa-local/internal/envdir"
	"github.com/irsa-local/irsa-local/pkg/harness"
	"github.com/irsa-local/irsa-local/pkg/issuer"
	"github.com/irsa-local/irsa-local/pkg/stsmock"
)

type flagpole struct {
	Namespace      string
	ServiceAccount string
	RoleARN        string
	Action         string
	Resource       string
	Assume         string
	SessionTags    map[string]string
	Kubeconfig     string
	Issuer         string
	TokenFile      string
	Output         cli.Output
}

// NewCommand returns the doctor command.
func NewCommand(s cli.Streams, env *cli.EnvFlags) *cobra.Command {
	f := &flagpole{}
	cmd := &cobra.Command{
		Use:   "doctor [-n NS --service-account SA] [--action ACTION --resource ARN]",
		Args:  cobra.NoArgs,
		Short: "Check every link of the IRSA chain and print the fix for a broken one",
		Long: `doctor checks, in order: the cluster answers; the apiserver issues tokens for
the environment's issuer; the issuer's discovery document and JWKS are served
over HTTPS with the key the apiserver signs with; an IAM OIDC provider exists
for the issuer with client ID sts.amazonaws.com; the service account names an
existing role; the pod identity webhook is registered and mutates a dry-run
pod; the role's trust policy lets the service account's token in, evaluated as
STS evaluates it; and the role's policies allow --action on --resource.

Each check prints one line: ✓, ✗ with the concrete fix, or - when it cannot
run and why. The exit status is 1 when a check fails.

Against a running environment it uses the environment's kubeconfig, issuer,
CA and AWS endpoint with the admin credentials. Without one it checks the
cluster of --kubeconfig (or KUBECONFIG) against --issuer (default: the
apiserver's own) and IAM through the standard AWS settings (AWS_ENDPOINT_URL,
AWS_PROFILE, AWS_ACCESS_KEY_ID...).`,
		Example: `  irsa-local doctor -n demo --service-account s3-reader
  irsa-local doctor -n demo --service-account s3-reader --action s3:ListBucket --resource arn:aws:s3:::demo-bucket
  irsa-local doctor -n demo --service-account s3-reader --token saved-token   # why is this token refused?
  irsa-local doctor --kubeconfig ~/.kube/eks -n demo --service-account s3-reader -o json`,
		RunE: func(cmd *cobra.Command, _ []string) error { return run(cmd.Context(), s, env, f) },
	}
	cmd.Flags().StringVarP(&f.Namespace, "namespace", "n", "default", "namespace of the service account")
	cmd.Flags().StringVar(&f.ServiceAccount, "service-account", "", "service account whose pods should get the role")
	cmd.Flags().StringVar(&f.RoleARN, "role-arn", "", "role to check when no service account names one (no cluster, or no --service-account)")
	cmd.Flags().StringVar(&f.Action, "action", "", "IAM action the role must be allowed, e.g. s3:ListBucket (with --resource)")
	cmd.Flags().StringVar(&f.Resource, "resource", "", "resource ARN of --action, e.g. arn:aws:s3:::my-bucket")
	cmd.Flags().StringVar(&f.Assume, "assume", "", "role the service account's role assumes next (sts:AssumeRole, any account); --action is then checked for it")
	cmd.Flags().StringToStringVar(&f.SessionTags, "session-tag", nil, "session tag KEY=VALUE the workload passes with --assume (repeatable)")
	cmd.Flags().StringVar(&f.Kubeconfig, "kubeconfig", "", "kubeconfig of the cluster to check (default: the environment's, else KUBECONFIG)")
	cmd.Flags().StringVar(&f.Issuer, "issuer", "", "issuer URL the chain must use (default: the environment's, else the apiserver's)")
	cmd.Flags().StringVar(&f.TokenFile, "token", "", "diagnose the token in FILE instead of requesting one for the service account")
	cli.BindOutput(cmd, &f.Output)
	return cmd
}

func run(ctx context.Context, s cli.Streams, env *cli.EnvFlags, f *flagpole) error {
	if (f.Action == "") != (f.Resource == "") {
		return errors.New("give --action and --resource together")
	}
	t := doctor.Target{
		Namespace:      f.Namespace,
		ServiceAccount: f.ServiceAccount,
		RoleARN:        f.RoleARN,
		Action:         f.Action,
		Resource:       f.Resource,
		Assume:         f.Assume,
		SessionTags:    f.SessionTags,
	}
	if f.TokenFile != "" {
		b, err := os.ReadFile(f.TokenFile)
		if err != nil {
			return fmt.Errorf("read token: %w", err)
		}
		t.Token, t.TokenFrom = strings.TrimSpace(string(b)), "the token in "+f.TokenFile
	}
	l, err := env.Layout()
	if err != nil {
		return err
	}
	d, err := harness.Inspect(l.Dir)
	switch {
	case errors.Is(err, envdir.ErrNoEnvironment):
		err = withoutEnvironment(ctx, &t, f)
	case err != nil:
		return err
	case !d.Running && f.Kubeconfig == "":
		t.Environment = d.Name
		t.Down = fmt.Sprintf("environment %q is not running", d.Name)
	case !d.Running:
		// A stopped environment has nothing to say about the cluster of
		// --kubeconfig.
		err = withoutEnvironment(ctx, &t, f)
	default:
		err = withEnvironment(&t, f, l, d)
	}
	if err != nil {
		return err
	}
	rep := doctor.Run(ctx, t)
	if f.Output == cli.OutputJSON {
		err = cli.PrintJSON(s.Out, rep)
	} else {
		err = rep.WriteText(s.Out)
	}
	if err != nil {
		return err
	}
	if rep.Failed() {
		return &cli.ExitError{Code: 1}
	}
	return nil
}

// withEnvironment checks a running environment: its kubeconfig (unless
// --kubeconfig), issuer (unless --issuer), CA, and AWS endpoint with the
// admin credentials.
func withEnvironment(t *doctor.Target, f *flagpole, l envdir.Layout, d harness.Description) error {
	if err := ForEnvironment(t, l, d); err != nil {
		return err
	}
	if f.Issuer != "" {
		t.Issuer, t.IssuerFrom = f.Issuer, "--issuer"
	}
	if f.Kubeconfig != "" {
		t.Kube, t.KubeErr = loadKubeconfig(f.Kubeconfig)
		t.KubeFrom = f.Kubeconfig
		t.KeysViaAPIServer, t.NoPodEndpoint, t.NoKube, t.Mint = false, "", "", nil
	}
	return nil
}

// ForEnvironment points t at the running environment d: its cluster,
// issuer, CA, and AWS endpoint with the admin credentials, and the hooks
// that ask its endpoint how it decides. The page of irsa-local ui checks
// the chain through it too, so both say the same.
func ForEnvironment(t *doctor.Target, l envdir.Layout, d harness.Description) error {
	t.Environment = d.Name
	t.Issuer, t.IssuerFrom = d.Issuer.URL, "the environment's issuer"
	roots, err := rootsWith(d.Issuer.CAFile)
	if err != nil {
		return err
	}
	t.RootCAs = roots
	cfg := d.AWS.AdminConfig()
	t.AWS = &cfg
	t.AWSFrom = d.AWS.Endpoint
	t.Gateway = func(ctx context.Context, q doctor.GatewayQuestion) (doctor.GatewayVerdict, bool, error) {
		service, _, _ := strings.Cut(q.Action, ":")
		if !actions.Modeled(service) {
			return doctor.GatewayVerdict{}, false, nil
		}
		var out stsmock.AuthorizeResult
		in := stsmock.AuthorizeRequest{RoleARN: q.RoleARN, Action: q.Action, Resource: q.Resource, Subject: q.Subject, Audience: q.Audience, Issuer: q.Issuer}
		if err := envctl.Open(l).Admin(ctx, http.MethodPost, "/_irsa-local/authorize", in, &out); err != nil {
			return doctor.GatewayVerdict{}, false, err
		}
		return doctor.GatewayVerdict{Allowed: out.Allowed, Reason: out.Reason, Message: out.Message}, true, nil
	}
	t.AssumeHook = func(ctx context.Context, q doctor.AssumeQuestion) (doctor.AssumeVerdict, error) {
		var out stsmock.AssumeCheckResult
		in := stsmock.AssumeCheckRequest{RoleARN: q.RoleARN, TargetRoleARN: q.TargetRoleARN, Action: q.Action, Resource: q.Resource, Tags: q.Tags, Subject: q.Subject, Audience: q.Audience, Issuer: q.Issuer}
		if err := envctl.Open(l).Admin(ctx, http.MethodPost, "/_irsa-local/assume", in, &out); err != nil {
			return doctor.AssumeVerdict{}, err
		}
		v := doctor.AssumeVerdict{Allowed: out.Allowed, Reason: out.Reason, Message: out.Message, Refused: out.Refused}
		if p := out.Permission; p != nil {
			v.Permission = &doctor.GatewayVerdict{Allowed: p.Allowed, Reason: p.Reason, Message: p.Message}
		}
		return v, nil
	}
	t.PodIdentityHook = func(ctx context.Context, q doctor.PodIdentityQuestion) (doctor.PodIdentityVerdict, error) {
		var out stsmock.PodIdentityCheckResult
		in := stsmock.PodIdentityCheckRequest{Namespace: q.Namespace, ServiceAccount: q.ServiceAccount, Action: q.Action, Resource: q.Resource}
		if err := envctl.Open(l).Admin(ctx, http.MethodPost, "/_irsa-local/pod-identity", in, &out); err != nil {
			return doctor.PodIdentityVerdict{}, err
		}
		v := doctor.PodIdentityVerdict{Allowed: out.Allowed, Code: out.Code, Message: out.Message, Reason: out.Reason, RoleARN: out.RoleARN}
		if a := out.Association; a != nil {
			v.Association, v.AssociationRole, v.TargetRole = a.ID, a.RoleARN, a.TargetRoleARN
		}
		if p := out.Permission; p != nil {
			v.Permission = &doctor.GatewayVerdict{Allowed: p.Allowed, Reason: p.Reason, Message: p.Message}
		}
		return v, nil
	}
	t.ClusterName = d.Cluster.Name
	t.LocalAgent = d.Cluster.Mode == harness.ClusterLocal
	switch {
	case d.Cluster.Kubeconfig != "":
		t.Kube, t.KubeErr = existing.LoadKubeconfig(d.Cluster.Kubeconfig, d.Cluster.Context)
		t.KubeFrom = d.Cluster.Kubeconfig
		if d.Cluster.Context != "" {
			t.KubeFrom += ", context " + d.Cluster.Context
		}
		t.KeysViaAPIServer = d.Issuer.ViaAPIServer
		if d.Cluster.Mode == harness.ClusterExisting && d.Cluster.PodAWSEndpoint == "" {
			t.NoPodEndpoint = "no address of this machine is reachable from the adopted cluster's nodes, so its pods' SDKs would call AWS itself"
		}
	default:
		t.NoKube = fmt.Sprintf("environment %q runs with --cluster %s: no Kubernetes API", d.Name, d.Cluster.Mode)
		t.Mint = func(ns, sa, audience string) (string, error) {
			return envctl.Open(l).MintToken(issuer.TokenRequest{Namespace: ns, ServiceAccount: sa, Audiences: []string{audience}, Duration: time.Hour})
		}
	}
	return nil
}

// withoutEnvironment checks a cluster irsa-local does not run: the
// kubeconfig of --kubeconfig or the standard places, and IAM through the
// standard AWS settings.
func withoutEnvironment(ctx context.Context, t *doctor.Target, f *flagpole) error {
	if f.Issuer != "" {
		t.Issuer, t.IssuerFrom = f.Issuer, "--issuer"
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	t.KubeFrom = "from KUBECONFIG or ~/.kube/config"
	if f.Kubeconfig != "" {
		rules.ExplicitPath = f.Kubeconfig
		t.KubeFrom = f.Kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	switch {
	case clientcmd.IsEmptyConfig(err):
		t.NoKube = "no environment (irsa-local up) and no kubeconfig (--kubeconfig or KUBECONFIG)"
	case err != nil:
		t.KubeErr = fmt.Errorf("load kubeconfig %s: %w", t.KubeFrom, err)
	default:
		cfg.Timeout = 10 * time.Second
		t.Kube = cfg
	}
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	// The SDK's own warnings (IMDS fallbacks) would interleave with the report.
	awsCfg, err := config.LoadDefaultConfig(actx, config.WithLogger(logging.Nop{}))
	if err == nil {
		_, err = awsCfg.Credentials.Retrieve(actx)
	}
	if err != nil {
		t.NoAWS = "no environment and no AWS credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
		return nil
	}
	if awsCfg.Region == "" {
		// IAM is global; the SDK still wants a region to sign with.
		awsCfg.Region = harness.DefaultRegion
	}
	t.AWS = &awsCfg
	t.AWSFrom = "AWS"
	if awsCfg.BaseEndpoint != nil {
		t.AWSFrom = *awsCfg.BaseEndpoint
	}
	return nil
}

func loadKubeconfig(path string) (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", path, err)
	}
	cfg.Timeout = 10 * time.Second
	return cfg, nil
}

// rootsWith is the system roots plus the environment CA: STS trusts public
// CAs, irsa-local's emulated STS also the environment's.
func rootsWith(caFile string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read the environment CA: %w", err)
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("read the environment CA: %s holds no PEM certificate", caFile)
	}
	return pool, nil
}
