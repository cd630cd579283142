// Package agentcmd implements `irsa-local agent`: the EKS Pod Identity
// agent, as a node of a cluster runs it (a DaemonSet with the host's
// network, answering on 169.254.170.23:80).
package agentcmd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/irsa-local/irsa-local/internal/agent"
	"github.com/irsa-local/irsa-local/internal/cmd/cli"
)

type flagpole struct {
	ClusterName string
	Endpoint    string
	Region      string
	Bind        []string
	ProbeAddr   string
	CAFile      string
}

// NewCommand returns the agent command.
func NewCommand(s cli.Streams) *cobra.Command {
	f := &flagpole{}
	cmd := &cobra.Command{
		Use:   "agent --cluster-name NAME --endpoint URL",
		Args:  cobra.NoArgs,
		Short: "Serve EKS Pod Identity credentials to the pods of a node, as eks-pod-identity-agent does",
		Long: `agent answers GET /v1/credentials on each --bind address with the credentials
eks-auth's AssumeRoleForPodIdentity gives for the pod's token (the Authorization
header), as eks-pod-identity-agent does on every EKS node: same Host check,
same JSON, same error bodies. It signs its eks-auth calls with the node's
credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. /healthz and
/readyz answer on --probe-address.

irsa-local up --cluster kind runs it on the node as the DaemonSet
kube-system/eks-pod-identity-agent; irsa-local exec serves the same agent on
a loopback port for local clusters.`,
		Example: `  irsa-local agent --cluster-name demo --endpoint http://172.18.0.1:31674 --bind 169.254.170.23:80`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return run(cmd.Context(), s, f)
		},
	}
	cmd.Flags().StringVarP(&f.ClusterName, "cluster-name", "c", "", "the EKS cluster the node belongs to")
	cmd.Flags().StringVar(&f.Endpoint, "endpoint", "", "eks-auth's URL (irsa-local's AWS endpoint)")
	cmd.Flags().StringVar(&f.Region, "region", "us-east-1", "region that signs the eks-auth calls")
	cmd.Flags().StringSliceVarP(&f.Bind, "bind", "b", []string{agent.IPv4Address + ":80"}, "address to serve credentials on (repeatable)")
	cmd.Flags().StringVar(&f.ProbeAddr, "probe-address", "localhost:2703", "address of /healthz and /readyz")
	cmd.Flags().StringVar(&f.CAFile, "ca-file", "", "PEM bundle that verifies an https --endpoint (default: the system's)")
	return cmd
}

func run(ctx context.Context, s cli.Streams, f *flagpole) error {
	if f.ClusterName == "" || f.Endpoint == "" {
		return errors.New("give --cluster-name and --endpoint")
	}
	key, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if key == "" || secret == "" {
		return errors.New("the agent signs its eks-auth calls with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: set both")
	}
	log := slog.New(slog.NewTextHandler(s.ErrOut, nil))
	client := &http.Client{Timeout: 5 * time.Second}
	if f.CAFile != "" {
		pem, err := os.ReadFile(f.CAFile)
		if err != nil {
			return fmt.Errorf("read --ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("read --ca-file %s: no PEM certificate in it", f.CAFile)
		}
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	a, err := agent.New(agent.Config{
		ClusterName: f.ClusterName, Endpoint: f.Endpoint, Region: f.Region, Logger: log, Client: client,
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, os.Getenv("AWS_SESSION_TOKEN")),
	})
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	var servers []*http.Server
	serve := func(addr string, h http.Handler) error {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", addr, err)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
		servers = append(servers, srv)
		g.Go(func() error {
			if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
		return nil
	}
	for _, b := range f.Bind {
		if err := serve(b, a); err != nil {
			return err
		}
	}
	probes := http.NewServeMux()
	ready := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }
	probes.HandleFunc("/healthz", ready)
	probes.HandleFunc("/readyz", ready)
	if err := serve(f.ProbeAddr, probes); err != nil {
		return err
	}
	log.Info("serving Pod Identity credentials", "cluster", f.ClusterName, "endpoint", f.Endpoint, "bind", f.Bind)
	g.Go(func() error {
		<-gctx.Done()
		for _, srv := range servers {
			_ = srv.Close()
		}
		return nil
	})
	return g.Wait()
}
