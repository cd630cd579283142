package harness

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
)

// AWSConfigForServiceAccount returns an aws.Config whose credentials are a
// pod's: a pod of the service account is created through the apiserver so
// the webhook mutates it, its token comes from TokenRequest bound to the
// pod, and stscreds.WebIdentityRoleProvider trades it at STS for the role in
// AWS_ROLE_ARN. For a service account with a Pod Identity association (which
// takes precedence, as on EKS) the SDK's container-credentials provider asks
// a local Pod Identity agent instead. The returned func deletes the pod and
// the token file.
func (e *Env) AWSConfigForServiceAccount(ctx context.Context, namespace, serviceAccount string) (aws.Config, func(), error) {
	if e.Client() == nil {
		return aws.Config{}, nil, errors.New("pod identity needs a cluster: start the environment with WithCluster(ClusterLocal)")
	}
	dir, err := os.MkdirTemp("", "irsa-local-pod-")
	if err != nil {
		return aws.Config{}, nil, fmt.Errorf("create token directory: %w", err)
	}
	s, err := StartPodSession(ctx, e.Client(), DefaultPod(namespace, serviceAccount), dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return aws.Config{}, nil, err
	}
	if s.PodIdentity {
		cfg, stop, err := e.podIdentityAWSConfig(ctx, s)
		if err != nil {
			_ = s.Close(ctx)
			return aws.Config{}, nil, err
		}
		if r := s.EnvValue("AWS_REGION"); r != "" {
			cfg.Region = r
		}
		return cfg, func() { stop(); _ = s.Close(context.Background()) }, nil
	}
	roleARN := s.EnvValue("AWS_ROLE_ARN")
	if roleARN == "" {
		_ = s.Close(ctx)
		return aws.Config{}, nil, fmt.Errorf("pod identity for %s/%s: the container already sets its own AWS variables", namespace, serviceAccount)
	}
	cfg := e.WebIdentityAWSConfig(roleARN, s.TokenFile)
	if r := s.EnvValue("AWS_REGION"); r != "" {
		cfg.Region = r
	}
	return cfg, func() { _ = s.Close(context.Background()) }, nil
}

// podIdentityAWSConfig returns an aws.Config whose credentials come from a
// local agent, as the SDKs' container provider reads them with the token
// file's contents as the authorization header.
func (e *Env) podIdentityAWSConfig(ctx context.Context, s *PodSession) (aws.Config, func(), error) {
	a, err := StartLocalAgent(ctx, e.AWSEndpoint(), e.AWS().Region, e.ClusterName())
	if err != nil {
		return aws.Config{}, nil, err
	}
	s.UseAgent(a.URL)
	// The SDK's own container provider, reading the token file on every
	// retrieval as it does in a pod.
	prov := endpointcreds.New(a.URL, func(o *endpointcreds.Options) {
		o.AuthorizationTokenProvider = endpointcreds.TokenProviderFunc(func() (string, error) {
			b, err := os.ReadFile(s.TokenFile)
			return string(b), err
		})
	})
	cfg := e.awsConfig(aws.NewCredentialsCache(prov))
	return cfg, func() { _ = a.Close() }, nil
}
