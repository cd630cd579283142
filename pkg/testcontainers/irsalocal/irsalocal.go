// Package irsalocal is a testcontainers-go module for irsa-local: Run
// starts the irsa-local image (make image builds it; there is no registry
// copy) with its OIDC issuer and its AWS endpoint — IAM, STS with
// AssumeRoleWithWebIdentity validating tokens as AWS does, S3, EKS — and
// no cluster. A test creates roles with the admin configuration of
// AWSConfig, mints service-account tokens with Token, and assumes roles
// with them through WebIdentityAWSConfig, the way a pod's SDK does.
//
// It follows the testcontainers-go module conventions: Run(ctx, image,
// opts...), With... customizers, a wait strategy, and Terminate (or
// testcontainers.TerminateContainer) from the embedded container.
package irsalocal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"path"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/testcontainers/testcontainers-go"
	tcexec "github.com/testcontainers/testcontainers-go/exec"
	"github.com/testcontainers/testcontainers-go/wait"
)

// Defaults of the image hack/image.sh builds.
const (
	// DefaultImage is the tag make image gives the last build.
	DefaultImage = "irsa-local:latest"
	// IssuerPort serves the issuer's discovery document and keys (HTTPS).
	IssuerPort = "8443/tcp"
	// AWSPort serves the AWS endpoint over plain HTTP, AWSHTTPSPort over
	// HTTPS with a certificate of the container's CA (see CACert).
	AWSPort      = "4566/tcp"
	AWSHTTPSPort = "4567/tcp"
	// AccessKeyID and SecretAccessKey are the admin (account root)
	// credentials, as LocalStack's.
	AccessKeyID     = "test"
	SecretAccessKey = "test"
	// Audience is what AWS STS expects in a web identity token.
	Audience = "sts.amazonaws.com"

	binary      = "/usr/local/bin/irsa-local"
	defaultName = "irsa-local"
)

// Container is a running irsa-local container.
type Container struct {
	testcontainers.Container
	region string
}

// Run starts img (DefaultImage, or a tag of your own build) and waits until
// its environment is up.
func Run(ctx context.Context, img string, opts ...testcontainers.ContainerCustomizer) (*Container, error) {
	settings := &options{region: "us-east-1"}
	for _, o := range opts {
		if so, ok := o.(Option); ok {
			so(settings)
		}
	}
	cmd := []string{"serve", "--cluster", "none", "--listen-host", "0.0.0.0",
		"--issuer-port", port(IssuerPort), "--aws-port", port(AWSPort), "--aws-https-port", port(AWSHTTPSPort),
		"--region", settings.region}
	moduleOpts := []testcontainers.ContainerCustomizer{
		testcontainers.WithExposedPorts(IssuerPort, AWSPort, AWSHTTPSPort),
		testcontainers.WithCmd(cmd...),
		// serve logs this once every server accepts and the issuer is
		// registered as an OIDC provider.
		testcontainers.WithWaitStrategy(wait.ForAll(
			wait.ForLog(`msg="environment running"`),
			wait.ForListeningPort(AWSPort),
		).WithDeadline(time.Minute)),
	}
	moduleOpts = append(moduleOpts, opts...)
	var c *Container
	ctr, err := testcontainers.Run(ctx, img, moduleOpts...)
	if ctr != nil {
		c = &Container{Container: ctr, region: settings.region}
	}
	if err != nil {
		return c, fmt.Errorf("run irsa-local: %w", err)
	}
	for _, f := range settings.envFiles {
		if err := c.Apply(ctx, f); err != nil {
			return c, fmt.Errorf("run irsa-local: %w", err)
		}
	}
	return c, nil
}

func port(p string) string { return strings.TrimSuffix(p, "/tcp") }

type options struct {
	region   string
	envFiles [][]byte
}

// Option is a customizer of this module's own settings.
type Option func(*options)

// Customize is a no-op for the generic request: Run reads the settings.
func (o Option) Customize(*testcontainers.GenericContainerRequest) error { return nil }

// WithRegion sets the region the endpoint reports (default us-east-1).
func WithRegion(region string) Option {
	return func(o *options) { o.region = region }
}

// WithEnvironmentFile applies an irsa-local environment file (roles,
// buckets, accounts; see docs/environments.md) once the container runs.
func WithEnvironmentFile(content []byte) Option {
	return func(o *options) { o.envFiles = append(o.envFiles, content) }
}

// endpoint returns scheme://host:port of a container port on this machine.
func (c *Container) endpoint(ctx context.Context, scheme, p string) (string, error) {
	host, err := c.Host(ctx)
	if err != nil {
		return "", fmt.Errorf("get container host: %w", err)
	}
	mapped, err := c.MappedPort(ctx, p)
	if err != nil {
		return "", fmt.Errorf("get mapped port %s: %w", p, err)
	}
	return scheme + "://" + net.JoinHostPort(host, mapped.Port()), nil
}

// AWSEndpoint is the AWS endpoint's plain-HTTP URL on this machine.
func (c *Container) AWSEndpoint(ctx context.Context) (string, error) {
	return c.endpoint(ctx, "http", AWSPort)
}

// AWSEndpointHTTPS is the AWS endpoint's HTTPS URL on this machine; its
// certificate is signed by CACert and names localhost and 127.0.0.1.
func (c *Container) AWSEndpointHTTPS(ctx context.Context) (string, error) {
	return c.endpoint(ctx, "https", AWSHTTPSPort)
}

// status is what `irsa-local status -o json` says, in part.
type status struct {
	Issuer struct {
		URL    string `json:"url"`
		CAFile string `json:"caFile"`
	} `json:"issuer"`
	AWS struct {
		OIDCProviderARN string `json:"oidcProviderArn"`
		AccountID       string `json:"accountId"`
	} `json:"aws"`
}

func (c *Container) status(ctx context.Context) (*status, error) {
	out, err := c.run(ctx, "status", "-o", "json")
	if err != nil {
		return nil, err
	}
	var s status
	if err := json.Unmarshal(out, &s); err != nil {
		return nil, fmt.Errorf("parse irsa-local status: %w", err)
	}
	return &s, nil
}

// IssuerURL is the issuer of the container's tokens, their "iss", as trust
// policies and the OIDC provider name it. It is served inside the
// container, where the AWS endpoint fetches its keys; from this machine
// the issuer answers on the mapped IssuerPort.
func (c *Container) IssuerURL(ctx context.Context) (string, error) {
	s, err := c.status(ctx)
	if err != nil {
		return "", err
	}
	return s.Issuer.URL, nil
}

// OIDCProviderARN is the ARN of the IAM OIDC provider registered for the
// issuer, the Federated principal of a role's trust policy.
func (c *Container) OIDCProviderARN(ctx context.Context) (string, error) {
	s, err := c.status(ctx)
	if err != nil {
		return "", err
	}
	return s.AWS.OIDCProviderARN, nil
}

// CACert is the PEM of the container's CA, which signs the issuer's and
// the HTTPS endpoint's certificates.
func (c *Container) CACert(ctx context.Context) ([]byte, error) {
	s, err := c.status(ctx)
	if err != nil {
		return nil, err
	}
	r, err := c.CopyFileFromContainer(ctx, s.Issuer.CAFile)
	if err != nil {
		return nil, fmt.Errorf("copy %s from the container: %w", s.Issuer.CAFile, err)
	}
	defer r.Close()
	return io.ReadAll(r)
}

// Token mints a service-account token for namespace/serviceAccount, as
// kube-apiserver would for a pod, with audience sts.amazonaws.com and a
// lifetime of one hour.
func (c *Container) Token(ctx context.Context, namespace, serviceAccount string) (string, error) {
	out, err := c.run(ctx, "token", "-n", namespace, "--service-account", serviceAccount, "--audience", Audience)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// Apply applies an environment file to the running container.
func (c *Container) Apply(ctx context.Context, content []byte) error {
	// The copy belongs to root; the container runs as another user.
	dst := path.Join("/tmp", fmt.Sprintf("environment-%d.yaml", time.Now().UnixNano()))
	if err := c.CopyToContainer(ctx, content, dst, 0o644); err != nil {
		return fmt.Errorf("copy environment file: %w", err)
	}
	if _, err := c.run(ctx, "apply", "-f", dst); err != nil {
		return err
	}
	return nil
}

// AWSConfig is an SDK configuration for the plain-HTTP endpoint with the
// admin credentials: what a test uses to create roles, policies and
// buckets.
func (c *Container) AWSConfig(ctx context.Context) (aws.Config, error) {
	ep, err := c.AWSEndpoint(ctx)
	if err != nil {
		return aws.Config{}, err
	}
	return aws.Config{
		Region:       c.region,
		BaseEndpoint: aws.String(ep),
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
	}, nil
}

// WebIdentityAWSConfig is an SDK configuration whose credentials come from
// AssumeRoleWithWebIdentity into roleARN with tokens of
// namespace/serviceAccount, re-minted when the credentials expire: the
// credentials a pod of that service account gets through IRSA.
func (c *Container) WebIdentityAWSConfig(ctx context.Context, roleARN, namespace, serviceAccount string) (aws.Config, error) {
	cfg, err := c.AWSConfig(ctx)
	if err != nil {
		return aws.Config{}, err
	}
	stsClient := sts.NewFromConfig(aws.Config{Region: cfg.Region, BaseEndpoint: cfg.BaseEndpoint, Credentials: aws.AnonymousCredentials{}})
	provider := stscreds.NewWebIdentityRoleProvider(stsClient, roleARN, tokenRetriever{c: c, namespace: namespace, serviceAccount: serviceAccount})
	cfg.Credentials = aws.NewCredentialsCache(provider)
	return cfg, nil
}

type tokenRetriever struct {
	c                         *Container
	namespace, serviceAccount string
}

func (t tokenRetriever) GetIdentityToken() ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := t.c.Token(ctx, t.namespace, t.serviceAccount)
	return []byte(tok), err
}

// run runs the irsa-local CLI in the container and returns its standard
// output; a failure carries its standard error.
func (c *Container) run(ctx context.Context, args ...string) ([]byte, error) {
	code, r, err := c.Exec(ctx, append([]string{binary}, args...), tcexec.Multiplexed())
	if err != nil {
		return nil, fmt.Errorf("irsa-local %s: %w", args[0], err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("irsa-local %s: read output: %w", args[0], err)
	}
	if code != 0 {
		return nil, fmt.Errorf("irsa-local %s: exit %d: %s", args[0], code, bytes.TrimSpace(out))
	}
	return out, nil
}
