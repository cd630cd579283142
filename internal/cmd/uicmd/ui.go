// Package uicmd implements `irsa-local ui`: serve the live page of a running
// environment's chain, trail, roles and service accounts.
package uicmd

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/irsa-local/irsa-local/internal/cluster/existing"
	"github.com/irsa-local/irsa-local/internal/cmd/cli"
	"github.com/irsa-local/irsa-local/internal/cmd/doctorcmd"
	"github.com/irsa-local/irsa-local/internal/cmd/policycmd"
	"github.com/irsa-local/irsa-local/internal/doctor"
	"github.com/irsa-local/irsa-local/internal/envdir"
	"github.com/irsa-local/irsa-local/internal/ui"
	"github.com/irsa-local/irsa-local/pkg/harness"
	"github.com/irsa-local/irsa-local/pkg/webhook"
)

type flagpole struct {
	Listen string
	NoOpen bool
}

// NewCommand returns the ui command.
func NewCommand(s cli.Streams, env *cli.EnvFlags) *cobra.Command {
	f := &flagpole{}
	cmd := &cobra.Command{
		Use:   "ui",
		Args:  cobra.NoArgs,
		Short: "Serve a live page of the chain, the trail, the roles and a policy advisor",
		Long: `ui serves a page for the running environment and prints its address:

  - the chain of a service account, one box per link, each marked by
    doctor's check (the same text as irsa-local doctor), checked again on
    every IAM or EKS change and every 10 s;
  - the trail, live and newest first, filterable by service account, role
    and decision; a refused call opens to its reason;
  - roles with their trust and permission policies, service accounts with
    their annotations, and Pod Identity associations;
  - a token inspector: paste a JWT, see its claims and times, and which link
    would refuse it;
  - the policy advisor of irsa-local policy suggest.

The page is embedded in the binary and needs no network. It listens on
loopback unless --listen names another address; then every request must
carry a random token, which the printed address includes. It only reads.`,
		Example: `  irsa-local ui
  irsa-local ui --listen 0.0.0.0:4580     # share it on a workshop network
  irsa-local ui --no-open --listen 127.0.0.1:0`,
		RunE: func(cmd *cobra.Command, _ []string) error { return run(cmd.Context(), s, env, f) },
	}
	cmd.Flags().StringVar(&f.Listen, "listen", "127.0.0.1:4580", "address to serve the page on (HOST:PORT; port 0 picks a free one)")
	cmd.Flags().BoolVar(&f.NoOpen, "no-open", false, "do not open a browser")
	return cmd
}

func run(ctx context.Context, s cli.Streams, env *cli.EnvFlags, f *flagpole) error {
	l, d, err := env.Describe()
	if err != nil {
		return err
	}
	if !d.Running {
		return fmt.Errorf("environment %q is not running; start it with 'irsa-local up'", d.Name)
	}
	host, _, err := net.SplitHostPort(f.Listen)
	if err != nil {
		return fmt.Errorf("parse --listen %q: want HOST:PORT, such as 127.0.0.1:4580", f.Listen)
	}
	ln, err := net.Listen("tcp", f.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (choose another with --listen)", f.Listen, err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	var opts []ui.Option
	address := "http://" + net.JoinHostPort(displayHost(host), port) + "/"
	if ui.IsLoopback(host) {
		opts = append(opts, ui.WithLoopbackHosts(port))
	} else {
		token, err := newToken()
		if err != nil {
			ln.Close()
			return err
		}
		opts = append(opts, ui.WithToken(token))
		address += "?token=" + url.QueryEscape(token)
	}
	srv := &http.Server{
		Handler:           ui.New(&backend{l: l}, opts...),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	fmt.Fprintf(s.Out, "irsa-local ui: the page of environment %q is at %s (Ctrl-C stops it)\n", d.Name, address)
	if !f.NoOpen {
		openBrowser(address)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve the page: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return nil
}

// displayHost is the host to print for a listen host: a wildcard address
// becomes one of this machine's addresses others can reach.
func displayHost(host string) string {
	ip := net.ParseIP(host)
	if host != "" && (ip == nil || !ip.IsUnspecified()) {
		return host
	}
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
				return n.IP.String()
			}
		}
	}
	return "127.0.0.1"
}

func newToken() (string, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make the page's token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// openBrowser opens address in the desktop's browser when there is a
// desktop; the printed address is enough where there is none.
func openBrowser(address string) {
	var name string
	switch {
	case runtime.GOOS == "darwin":
		name = "open"
	case os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != "":
		name = "xdg-open"
	default:
		return
	}
	if p, err := exec.LookPath(name); err == nil {
		c := exec.Command(p, address)
		if c.Start() == nil {
			go func() { _ = c.Wait() }()
		}
	}
}

// backend reads the page's data from the environment in l, afresh on every
// request, so the page follows changes made by any other process.
type backend struct {
	l envdir.Layout
}

func (b *backend) describe() (harness.Description, error) {
	d, err := harness.Inspect(b.l.Dir)
	if err != nil {
		return d, err
	}
	if !d.Running {
		return d, fmt.Errorf("environment %q is not running; start it with 'irsa-local up'", d.Name)
	}
	return d, nil
}

func (b *backend) TrailFile() string { return b.l.TrailFile() }

func (b *backend) Chain(ctx context.Context, q ui.Query) (doctor.Report, error) {
	d, err := b.describe()
	if err != nil {
		return nil, err
	}
	t := doctor.Target{Namespace: q.Namespace, ServiceAccount: q.ServiceAccount, RoleARN: q.RoleARN, Action: q.Action, Resource: q.Resource}
	if q.Token != "" {
		t.Token, t.TokenFrom = q.Token, "the pasted token"
	}
	if err := doctorcmd.ForEnvironment(&t, b.l, d); err != nil {
		return nil, err
	}
	return doctor.Run(ctx, t), nil
}

func (b *backend) Suggest(ctx context.Context, role string, since time.Time) (any, error) {
	d, err := b.describe()
	if err != nil {
		return nil, err
	}
	return policycmd.Suggest(ctx, b.l, d, role, since)
}

func (b *backend) Inventory(ctx context.Context) (ui.Inventory, error) {
	d, err := b.describe()
	if err != nil {
		return ui.Inventory{}, err
	}
	inv := ui.Inventory{
		Environment: ui.Environment{Name: d.Name, ClusterMode: string(d.Cluster.Mode), Issuer: d.Issuer.URL, AccountID: d.AWS.AccountID, Endpoint: d.AWS.Endpoint},
		Roles:       []ui.Role{},
	}
	for _, a := range d.Cluster.PodIdentityAssociations {
		inv.Associations = append(inv.Associations, ui.Association{ID: a.ID, Namespace: a.Namespace, ServiceAccount: a.ServiceAccount, RoleARN: a.RoleARN, TargetRoleARN: a.TargetRoleARN})
	}
	inv.Roles, err = roles(ctx, iam.NewFromConfig(d.AWS.AdminConfig()))
	if err != nil {
		return ui.Inventory{}, err
	}
	if d.Cluster.Kubeconfig == "" {
		inv.Notes = append(inv.Notes, fmt.Sprintf("No service accounts: the environment runs with --cluster %s.", d.Cluster.Mode))
		return inv, nil
	}
	sas, err := serviceAccounts(ctx, d)
	if err != nil {
		inv.Notes = append(inv.Notes, "Cannot list service accounts: "+err.Error())
	}
	inv.ServiceAccounts = sas
	return inv, nil
}

// roles lists the default account's roles with their policies.
func roles(ctx context.Context, client *iam.Client) ([]ui.Role, error) {
	out := []ui.Role{}
	p := iam.NewListRolesPaginator(client, &iam.ListRolesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list roles: %w", err)
		}
		for _, r := range page.Roles {
			role := ui.Role{Name: aws.ToString(r.RoleName), ARN: aws.ToString(r.Arn), Policies: []ui.NamedPolicy{}}
			trust, err := doctor.DecodeDocument(r.AssumeRolePolicyDocument)
			if err != nil {
				role.Error = err.Error()
			}
			role.Trust = pretty(trust)
			named, err := doctor.RolePolicies(ctx, client, role.Name)
			if err != nil {
				role.Error = err.Error()
			}
			for _, np := range named {
				role.Policies = append(role.Policies, ui.NamedPolicy{Name: np.Name, Document: pretty(np.Document)})
			}
			out = append(out, role)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// pretty indents a policy document, or leaves it as it is when it is not
// JSON.
func pretty(doc string) string {
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(doc), "", "  "); err != nil {
		return doc
	}
	return b.String()
}

// serviceAccounts lists the service accounts that carry an
// eks.amazonaws.com annotation, the ones IRSA concerns, but for those
// irsa-local made for itself.
func serviceAccounts(ctx context.Context, d harness.Description) ([]ui.ServiceAccount, error) {
	cfg, err := existing.LoadKubeconfig(d.Cluster.Kubeconfig, d.Cluster.Context)
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to the cluster: %w", err)
	}
	list, err := client.CoreV1().ServiceAccounts("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list service accounts: %w", err)
	}
	out := []ui.ServiceAccount{}
	for _, sa := range list.Items {
		if sa.Labels[webhook.ManagedByLabel] == webhook.ManagedBy {
			continue // irsa-local's own, such as the webhook's readiness probe
		}
		ann := map[string]string{}
		for k, v := range sa.Annotations {
			if strings.HasPrefix(k, "eks.amazonaws.com/") {
				ann[k] = v
			}
		}
		if len(ann) == 0 {
			continue
		}
		out = append(out, ui.ServiceAccount{Namespace: sa.Namespace, Name: sa.Name, RoleARN: ann["eks.amazonaws.com/role-arn"], Annotations: ann})
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Namespace+"/"+out[i].Name < out[j].Namespace+"/"+out[j].Name
	})
	return out, nil
}
