package irsalocal_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/testcontainers/testcontainers-go"

	"github.com/irsa-local/irsa-local/pkg/testcontainers/irsalocal"
)

// image is the image under test: IRSA_LOCAL_IMAGE, else the last make image.
func image() string {
	if img := os.Getenv("IRSA_LOCAL_IMAGE"); img != "" {
		return img
	}
	return irsalocal.DefaultImage
}

const environment = `apiVersion: irsa-local.dev/v1alpha1
kind: Environment
roles:
  - name: reader
    trust: {serviceAccount: {namespace: shop, name: cart}}
    inlinePolicies:
      - name: read
        document:
          Version: "2012-10-17"
          Statement:
            - {Effect: Allow, Action: s3:GetObject, Resource: "arn:aws:s3:::orders/*"}
buckets:
  - name: orders
    objects:
      - {key: today.txt, content: three orders}
`

// TestModule runs the container with an environment file, and checks what
// a test suite relies on: the role's token opens what the role allows and
// nothing more, another service account's token is refused, and the HTTPS
// endpoint is served with the CA the module hands out.
func TestModule(t *testing.T) {
	ctx := context.Background()
	ctr, err := irsalocal.Run(ctx, image(), irsalocal.WithRegion("eu-west-1"), irsalocal.WithEnvironmentFile([]byte(environment)))
	testcontainers.CleanupContainer(t, ctr)
	if err != nil {
		t.Fatalf("run %s (make image builds it; Docker must run): %v", image(), err)
	}
	iss, err := ctr.IssuerURL(ctx)
	if err != nil || !strings.HasPrefix(iss, "https://") {
		t.Fatalf("IssuerURL = %q, %v", iss, err)
	}
	tok, err := ctr.Token(ctx, "shop", "cart")
	if err != nil || strings.Count(tok, ".") != 2 {
		t.Fatalf("Token = %q, %v", tok, err)
	}

	role := "arn:aws:iam::000000000000:role/reader"
	pod, err := ctr.WebIdentityAWSConfig(ctx, role, "shop", "cart")
	if err != nil {
		t.Fatal(err)
	}
	if pod.Region != "eu-west-1" {
		t.Errorf("region %q, want eu-west-1", pod.Region)
	}
	obj, err := s3.NewFromConfig(pod, func(o *s3.Options) { o.UsePathStyle = true }).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("orders"), Key: aws.String("today.txt")})
	if err != nil {
		t.Fatalf("the role's read: %v", err)
	}
	obj.Body.Close()
	_, err = s3.NewFromConfig(pod, func(o *s3.Options) { o.UsePathStyle = true }).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("orders"), Key: aws.String("x"), Body: strings.NewReader("x")})
	if code := apiCode(err); code != "AccessDenied" {
		t.Errorf("a write the role does not allow: %v, want AccessDenied", err)
	}

	other, err := ctr.WebIdentityAWSConfig(ctx, role, "shop", "billing")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sts.NewFromConfig(other).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); apiCode(err) != "AccessDenied" {
		t.Errorf("another service account's token: %v, want AccessDenied", err)
	}

	ca, err := ctr.CACert(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		t.Fatalf("CACert is not PEM: %q", ca)
	}
	ep, err := ctr.AWSEndpointHTTPS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := ctr.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	admin.BaseEndpoint = aws.String(ep)
	admin.HTTPClient = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	roles, err := iam.NewFromConfig(admin).ListRoles(ctx, &iam.ListRolesInput{})
	if err != nil {
		t.Fatalf("IAM over HTTPS with the module's CA: %v", err)
	}
	if len(roles.Roles) != 1 || aws.ToString(roles.Roles[0].Arn) != role {
		t.Errorf("roles %v, want the environment file's reader", roles.Roles)
	}
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
