// Package webhookcmd implements `irsa-local webhook`: the pod identity
// webhook alone, as a Deployment of a cluster runs it (the in-cluster part
// the Helm chart charts/irsa-local installs), with the pod's service
// account credentials and a serving certificate from files.
package webhookcmd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/irsa-local/irsa-local/internal/cluster/existing"
	"github.com/irsa-local/irsa-local/internal/cmd/cli"
	"github.com/irsa-local/irsa-local/pkg/webhook"
)

type flagpole struct {
	Listen      string
	CertFile    string
	KeyFile     string
	AWSEndpoint string
	AWSCAFile   string
	Region      string
	Kubeconfig  string
	GracePeriod time.Duration
}

// NewCommand returns the webhook command.
func NewCommand(s cli.Streams) *cobra.Command {
	f := &flagpole{}
	cmd := &cobra.Command{
		Use:   "webhook --tls-cert-file FILE --tls-key-file FILE",
		Args:  cobra.NoArgs,
		Short: "Serve the pod identity webhook alone, as a Deployment in a cluster runs it",
		Long: `webhook serves the EKS pod identity webhook's /mutate over HTTPS on --listen,
with the certificate of --tls-cert-file and --tls-key-file, and the
service-account cache it needs, read with the pod's own service account (or
--kubeconfig). It mutates pods exactly as EKS's webhook does; with
--aws-endpoint it also points every SDK at that endpoint (AWS_ENDPOINT_URL),
and for an https endpoint publishes --aws-ca-file to every namespace and
points AWS_CA_BUNDLE at it.

It does not register itself: the chart's MutatingWebhookConfiguration does.
Pods of service accounts with an EKS Pod Identity association are not given
container credentials by this webhook (it does not know the associations);
irsa-local up's own webhook does that.`,
		Example: `  irsa-local webhook --tls-cert-file /tls/tls.crt --tls-key-file /tls/tls.key \
    --aws-endpoint https://irsa-local.example:4567 --aws-ca-file /ca/ca.crt`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return run(cmd.Context(), s, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Listen, "listen", ":8443", "address to serve HTTPS on")
	fl.StringVar(&f.CertFile, "tls-cert-file", "", "PEM serving certificate (chain) for the webhook's Service name")
	fl.StringVar(&f.KeyFile, "tls-key-file", "", "PEM private key of --tls-cert-file")
	fl.StringVar(&f.AWSEndpoint, "aws-endpoint", "", "AWS endpoint injected as AWS_ENDPOINT_URL (empty: mutate exactly as EKS does)")
	fl.StringVar(&f.AWSCAFile, "aws-ca-file", "", "PEM CA of an https --aws-endpoint, published to every namespace")
	fl.StringVar(&f.Region, "region", "us-east-1", "region injected as AWS_REGION and AWS_DEFAULT_REGION")
	fl.StringVar(&f.Kubeconfig, "kubeconfig", "", "kubeconfig to read service accounts with (default: the pod's service account)")
	fl.DurationVar(&f.GracePeriod, "grace-period", webhook.DefaultGracePeriod, "how long to wait for a pod's service account to reach the cache")
	return cmd
}

func run(ctx context.Context, s cli.Streams, f *flagpole) error {
	if f.CertFile == "" || f.KeyFile == "" {
		return errors.New("give --tls-cert-file and --tls-key-file")
	}
	cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		return fmt.Errorf("load serving certificate: %w", err)
	}
	var caBundle []byte
	if f.AWSCAFile != "" {
		if caBundle, err = os.ReadFile(f.AWSCAFile); err != nil {
			return fmt.Errorf("read --aws-ca-file: %w", err)
		}
	}
	var rc *rest.Config
	if f.Kubeconfig != "" {
		rc, err = existing.LoadKubeconfig(f.Kubeconfig, "")
	} else if rc, err = rest.InClusterConfig(); err != nil {
		err = fmt.Errorf("read the pod's service-account credentials (outside a cluster, give --kubeconfig): %w", err)
	}
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("create Kubernetes client: %w", err)
	}
	opts := []webhook.Option{webhook.WithRegion(f.Region), webhook.WithRegionalSTS(true)}
	if f.AWSEndpoint != "" {
		opts = append(opts, webhook.WithEmulator(webhook.EmulatorConfig{EndpointURL: f.AWSEndpoint}))
	} else if len(caBundle) > 0 {
		return errors.New("--aws-ca-file needs --aws-endpoint")
	}
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", f.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", f.Listen, err)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(s.ErrOut, nil))
	log.Info("serving the pod identity webhook", "listen", l.Addr().String(), "awsEndpoint", f.AWSEndpoint)
	return webhook.Run(ctx, webhook.RunConfig{
		Client:       client,
		Listener:     l,
		TLSConfig:    &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		Options:      opts,
		CacheOptions: []webhook.CacheOption{webhook.WithGracePeriod(f.GracePeriod)},
		CABundle:     caBundle,
		Logger:       log,
	})
}
