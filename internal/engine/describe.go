package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/irsa-local/irsa-local/internal/cluster/existing"
	"github.com/irsa-local/irsa-local/internal/envdir"
	"github.com/irsa-local/irsa-local/internal/fsutil"
	"github.com/irsa-local/irsa-local/pkg/issuer"
	"github.com/irsa-local/irsa-local/pkg/stsmock"
)

// componentOrder is the order components are started and reported in.
var componentOrder = []string{"issuer", "aws", "aws-https", podAWSComponent}

// Component is one server or process an environment runs.
type Component struct {
	Name   string `json:"name"`
	State  string `json:"state"`
	Listen string `json:"listen,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Description is what `irsa-local status -o json` prints of an environment.
type Description struct {
	Name     string      `json:"name"`
	StateDir string      `json:"stateDir"`
	Running  bool        `json:"running"`
	PID      int         `json:"pid,omitempty"`
	Issuer   IssuerInfo  `json:"issuer"`
	AWS      AWSInfo     `json:"aws"`
	Cluster  ClusterInfo `json:"cluster"`
	// Backend is the emulator behind the forwarded services; nil in the
	// description of an environment that does not run.
	Backend    *BackendInfo `json:"backend,omitempty"`
	Components []Component  `json:"components"`
}

// IssuerInfo describes the OIDC issuer.
type IssuerInfo struct {
	URL     string `json:"url"`
	JWKSURL string `json:"jwksURL"`
	CAFile  string `json:"caFile"`
	// Listen is the host:port the issuer's HTTPS server listens on.
	Listen string `json:"listen"`
	// ViaAPIServer: the issuer is an adopted cluster's, whose URL this
	// machine cannot reach; its keys are read from the apiserver's
	// /openid/v1/jwks (JWKSURL), with the kubeconfig's credentials.
	ViaAPIServer bool `json:"viaAPIServer,omitempty"`
}

// AWSInfo describes the AWS endpoint. Endpoint is plain HTTP (what
// AWS_ENDPOINT_URL usually points at); EndpointHTTPS is the same service over
// HTTPS with a certificate of the environment CA. OIDCProviderARN is empty
// while the issuer is not registered in IAM.
type AWSInfo struct {
	Endpoint        string `json:"endpoint"`
	EndpointHTTPS   string `json:"endpointHTTPS"`
	Region          string `json:"region"`
	AccountID       string `json:"accountId"`
	OIDCProviderARN string `json:"oidcProviderArn"`
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	// Accounts lists the environment's accounts, the default one first
	// (only while it runs). Each account's root signs with its 12-digit ID
	// as the access key and any secret.
	Accounts []string `json:"accounts,omitempty"`
}

// AdminConfig is an SDK configuration for the plain-HTTP endpoint with the
// admin credentials, for a process that did not start the environment.
func (a AWSInfo) AdminConfig() aws.Config {
	return aws.Config{
		Region:       a.Region,
		BaseEndpoint: aws.String(a.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(a.AccessKeyID, a.SecretAccessKey, ""),
	}
}

// ClusterInfo describes the Kubernetes side.
type ClusterInfo struct {
	Mode       ClusterMode `json:"mode"`
	Name       string      `json:"name"`
	Kubeconfig string      `json:"kubeconfig"`
	// PodIdentityAssociations are the EKS cluster's Pod Identity
	// associations (only while the environment runs).
	PodIdentityAssociations []AssociationInfo `json:"podIdentityAssociations,omitempty"`
	// KindCluster, NodeImage and PodAWSEndpoint describe a kind-mode
	// cluster: its kind name, node image, and the AWS endpoint its pods
	// are pointed at.
	KindCluster    string `json:"kindCluster,omitempty"`
	NodeImage      string `json:"nodeImage,omitempty"`
	PodAWSEndpoint string `json:"podAWSEndpoint,omitempty"`
	// Context, Server and Reach describe an adopted cluster (existing
	// mode): the kubeconfig's context, its apiserver, and how the cluster
	// reaches this machine's webhook and AWS endpoint.
	Context string `json:"context,omitempty"`
	Server  string `json:"server,omitempty"`
	Reach   string `json:"reach,omitempty"`
}

// AssociationInfo is one EKS Pod Identity association.
type AssociationInfo struct {
	ID             string `json:"associationId"`
	Namespace      string `json:"namespace"`
	ServiceAccount string `json:"serviceAccount"`
	RoleARN        string `json:"roleArn"`
	TargetRoleARN  string `json:"targetRoleArn,omitempty"`
}

func associationInfos(as []stsmock.Association) []AssociationInfo {
	out := make([]AssociationInfo, 0, len(as))
	for _, a := range as {
		out = append(out, AssociationInfo{ID: a.ID, Namespace: a.Namespace, ServiceAccount: a.ServiceAccount, RoleARN: a.RoleARN, TargetRoleARN: a.TargetRoleARN})
	}
	return out
}

// describeConfig is what the configuration alone says of an environment.
func describeConfig(l envdir.Layout, c *envdir.Config) Description {
	u := issuer.URL(c.IssuerHost, c.IssuerPort, c.IssuerID)
	d := Description{
		Name:     c.Name,
		StateDir: l.Dir,
		Issuer: IssuerInfo{
			URL:     u,
			JWKSURL: u + issuer.JWKSPath,
			CAFile:  l.PKIDir() + "/" + issuer.CACertFile,
			Listen:  fmt.Sprintf("%s:%d", c.IssuerHost, c.IssuerPort),
		},
		AWS: AWSInfo{
			Endpoint:        fmt.Sprintf("http://%s", net.JoinHostPort(c.IssuerHost, strconv.Itoa(c.AWSPort))),
			EndpointHTTPS:   fmt.Sprintf("https://%s", net.JoinHostPort(c.IssuerHost, strconv.Itoa(c.AWSTLSPort))),
			Region:          c.Region,
			AccountID:       c.AccountID,
			AccessKeyID:     DefaultAccessKeyID,
			SecretAccessKey: DefaultSecretAccessKey,
		},
		Cluster:    ClusterInfo{Mode: c.Cluster, Name: c.ClusterName, KindCluster: kindCluster(c)},
		Components: []Component{},
	}
	if c.Cluster == ClusterExisting {
		d.Issuer = IssuerInfo{URL: c.ClusterIssuer, CAFile: d.Issuer.CAFile, ViaAPIServer: true}
		d.Cluster.Kubeconfig, d.Cluster.Context = c.Kubeconfig, c.KubeContext
	}
	return d
}

// runtimeStatus is what a running environment records in run/status.json.
type runtimeStatus struct {
	PID             int          `json:"pid"`
	OIDCProviderARN string       `json:"oidcProviderArn,omitempty"`
	Kubeconfig      string       `json:"kubeconfig,omitempty"`
	NodeImage       string       `json:"nodeImage,omitempty"`
	PodAWSEndpoint  string       `json:"podAWSEndpoint,omitempty"`
	Server          string       `json:"server,omitempty"`
	Reach           string       `json:"reach,omitempty"`
	Backend         *BackendInfo `json:"backend,omitempty"`
	Components      []Component  `json:"components"`
}

// Inspect is documented at harness.Inspect.
func Inspect(stateDir string) (Description, error) {
	l := envdir.Layout{Dir: stateDir}
	cfg, err := envdir.LoadConfig(l)
	if err != nil {
		return Description{}, err
	}
	d := describeConfig(l, cfg)
	var rs runtimeStatus
	if b, err := os.ReadFile(l.StatusFile()); err == nil {
		if err := json.Unmarshal(b, &rs); err != nil {
			return d, fmt.Errorf("parse %s: %w", l.StatusFile(), err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return d, fmt.Errorf("read status: %w", err)
	}
	d.Running = envdir.LockHeld(l.LockFile())
	if d.Running {
		d.PID = rs.PID
	}
	d.AWS.OIDCProviderARN = rs.OIDCProviderARN
	if rs.Kubeconfig != "" {
		d.Cluster.Kubeconfig = rs.Kubeconfig
	}
	d.Cluster.Server, d.Cluster.Reach = rs.Server, rs.Reach
	if d.Issuer.ViaAPIServer && rs.Server != "" {
		d.Issuer.JWKSURL = strings.TrimSuffix(rs.Server, "/") + existing.JWKSPath
	}
	d.Cluster.NodeImage, d.Cluster.PodAWSEndpoint = rs.NodeImage, rs.PodAWSEndpoint
	d.Backend = rs.Backend
	if d.Running {
		// IAM changes while the environment runs; ask it rather than trust
		// what it recorded at start.
		if arn, err := liveProviderARN(d.AWS, d.Issuer.URL); err == nil {
			d.AWS.OIDCProviderARN = arn
		}
		if accts, err := liveAccounts(d.AWS); err == nil {
			d.AWS.Accounts = accts
		}
		var body struct {
			Associations []stsmock.Association `json:"associations"`
		}
		if err := envdir.AdminCall(context.Background(), envdir.Admin{Endpoint: d.AWS.Endpoint, Region: d.AWS.Region, AccessKeyID: d.AWS.AccessKeyID, SecretAccessKey: d.AWS.SecretAccessKey}, http.MethodGet, "/_irsa-local/pod-identity-associations", nil, &body); err == nil && len(body.Associations) > 0 {
			d.Cluster.PodIdentityAssociations = associationInfos(body.Associations)
		}
	}
	for _, c := range rs.Components {
		if !d.Running && c.State == StateRunning {
			c.State = StateFailed
			c.Error = fmt.Sprintf("the irsa-local process (pid %d) exited without stopping it; last log line: %s", rs.PID, lastLine(l.LogFile()))
		}
		d.Components = append(d.Components, c)
	}
	return d, nil
}

// lastLine returns the last non-empty line of a log file, for status to say
// why a process died.
func lastLine(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "(no log)"
	}
	defer f.Close()
	last := "(empty log)"
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64*1024), 1024*1024)
	for s.Scan() {
		if t := strings.TrimSpace(s.Text()); t != "" {
			last = t
		}
	}
	return last
}

// liveProviderARN asks a running AWS endpoint for the ARN of the OIDC
// provider registered for issuerURL.
func liveProviderARN(info AWSInfo, issuerURL string) (string, error) {
	var body struct {
		ARN string `json:"arn"`
	}
	err := envdir.AdminCall(context.Background(), envdir.Admin{Endpoint: info.Endpoint, Region: info.Region, AccessKeyID: info.AccessKeyID, SecretAccessKey: info.SecretAccessKey}, http.MethodGet, "/_irsa-local/oidc-provider?url="+url.QueryEscape(issuerURL), nil, &body)
	return body.ARN, err
}

// liveAccounts asks a running AWS endpoint for its accounts.
func liveAccounts(info AWSInfo) ([]string, error) {
	var body struct {
		Accounts []string `json:"accounts"`
	}
	err := envdir.AdminCall(context.Background(), envdir.Admin{Endpoint: info.Endpoint, Region: info.Region, AccessKeyID: info.AccessKeyID, SecretAccessKey: info.SecretAccessKey}, http.MethodGet, "/_irsa-local/accounts", nil, &body)
	return orderAccounts(body.Accounts, info.AccountID), err
}

// orderAccounts puts the default account first.
func orderAccounts(ids []string, def string) []string {
	out := []string{def}
	for _, id := range ids {
		if id != def {
			out = append(out, id)
		}
	}
	return out
}

// kindCluster is the kind cluster an environment in kind mode runs ("" in
// other modes, even if an earlier run in kind mode recorded one).
func kindCluster(c *envdir.Config) string {
	if c.Cluster != ClusterKind {
		return ""
	}
	return c.KindCluster
}

// writeStatusFile records what the running process reports of d in
// run/status.json.
func writeStatusFile(l envdir.Layout, d Description) error {
	b, err := json.MarshalIndent(runtimeStatus{PID: d.PID, OIDCProviderARN: d.AWS.OIDCProviderARN, Kubeconfig: d.Cluster.Kubeconfig, NodeImage: d.Cluster.NodeImage, PodAWSEndpoint: d.Cluster.PodAWSEndpoint, Server: d.Cluster.Server, Reach: d.Cluster.Reach, Backend: d.Backend, Components: d.Components}, "", "  ")
	if err != nil {
		return fmt.Errorf("marshal status: %w", err)
	}
	if err := fsutil.WriteFileAtomic(l.StatusFile(), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write status: %w", err)
	}
	return nil
}

// podAWSComponent is the AWS endpoint as pods of a kind cluster reach it:
// HTTPS on the kind network's gateway address.
const podAWSComponent = "aws-pods"
