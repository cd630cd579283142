package stsmock

import (
	"context"
	"fmt"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// STS checks mutation testing found unguarded.

// The thumbprint check, when on, applies to providers that have
// thumbprints; one registered without any is trusted through its CA.
func TestThumbprintCheckSkipsProvidersWithoutThumbprints(t *testing.T) {
	f := newFixture(t, WithThumbprintCheck(true))
	arn := f.createProvider(f.issuerURL)
	roleARN := f.createRole("app", eksTrust(arn, f.hostPath(false), "default", "app"))
	if code, body := f.wire(assumeForm(roleARN, f.token("default", "app"))); code != 200 {
		t.Fatalf("provider without thumbprints: %d %s", code, body)
	}
}

// A key whose JWK names an algorithm verifies only tokens of that one,
// even when its type could verify another.
func TestJWKAlgorithmBindsTheKey(t *testing.T) {
	f := newFixture(t)
	roleARN := f.setup()
	tok := sign(t, jose.RS384, f.keys.Signing, f.keys.SigningID, f.claims())
	code, body := f.wire(assumeForm(roleARN, tok))
	if code != 400 || !strings.Contains(body, "InvalidIdentityToken") {
		t.Fatalf("RS384 token for an RS256 key: %d %s", code, body)
	}
}

// A token without azp sets no :azp key: a trust policy may require it to
// be absent.
func TestAZPIsAbsentWhenTheTokenHasNone(t *testing.T) {
	f := newFixture(t)
	arn := f.createProvider(f.issuerURL)
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":%q},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"Null":{%q:"true"}}}]}`, arn, f.hostPath(false)+":azp")
	roleARN := f.createRole("noazp", trust)
	if code, body := f.wire(assumeForm(roleARN, f.token("default", "app"))); code != 200 {
		t.Fatalf("token without azp under Null azp=true: %d %s", code, body)
	}
	c := f.claims()
	c["azp"] = "client"
	if code, _ := f.wire(assumeForm(roleARN, f.signClaims(c))); code != 403 {
		t.Fatalf("token with azp under Null azp=true: %d", code)
	}
}

// PackedPolicySize is reported only with session policies, and 100 % is
// still within the allotted space.
func TestPackedPolicySize(t *testing.T) {
	f := newFixture(t)
	roleARN := f.setup()
	assume := func(policy string, arns ...string) (*sts.AssumeRoleWithWebIdentityOutput, error) {
		in := &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("pack"), WebIdentityToken: aws.String(f.token("default", "app"))}
		if policy != "" {
			in.Policy = aws.String(policy)
		}
		for _, a := range arns {
			in.PolicyArns = append(in.PolicyArns, ststypes.PolicyDescriptorType{Arn: aws.String(a)})
		}
		return f.sts.AssumeRoleWithWebIdentity(context.Background(), in)
	}
	out, err := assume("")
	if err != nil || packedPolicySize(out) != nil {
		t.Fatalf("no session policy: %v, PackedPolicySize %v", err, packedPolicySize(out))
	}
	tmpl := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::%s"}]}`
	full := fmt.Sprintf(tmpl, strings.Repeat("b", 2048-len(fmt.Sprintf(tmpl, ""))))
	out, err = assume(full)
	if err != nil || packedPolicySize(out) == nil || *packedPolicySize(out) != 100 {
		t.Fatalf("a 2,048-byte session policy: %v, PackedPolicySize %v", err, out)
	}
	if _, err := assume(full, "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"); apiCode(err) != "PackedPolicyTooLarge" {
		t.Fatalf("2,048 bytes and a policy ARN: %v, want PackedPolicyTooLarge", err)
	}
}
