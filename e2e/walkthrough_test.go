package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// requireTool fails the spec when a client it needs is missing: on these
// machines every one is installed, so a missing one is a broken machine, not
// a reason to pass.
func requireTool(name string) string {
	path, err := exec.LookPath(name)
	Expect(err).NotTo(HaveOccurred(), "%s is not on PATH; the e2e suite drives the real client", name)
	return path
}

// awsEnv points the AWS CLI and boto3 at the environment with the admin
// credentials, as the walkthrough tells users to.
func (w *world) awsEnv(s status) {
	w.env = append(w.env,
		"AWS_ENDPOINT_URL="+s.AWS.Endpoint,
		"AWS_ACCESS_KEY_ID="+s.AWS.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+s.AWS.SecretAccessKey,
		"AWS_DEFAULT_REGION="+s.AWS.Region,
		"AWS_REGION="+s.AWS.Region,
		"AWS_PAGER=",
	)
}

func (w *world) aws(args ...string) result {
	return w.cmd(requireTool("aws"), nil, args...)
}

func (w *world) mustAWS(args ...string) map[string]any {
	r := w.aws(append(args, "--output", "json")...)
	ExpectWithOffset(1, r.code).To(Equal(0), "aws %s: %s", strings.Join(args, " "), r.stderr)
	var out map[string]any
	if strings.TrimSpace(r.stdout) != "" {
		ExpectWithOffset(1, json.Unmarshal([]byte(r.stdout), &out)).To(Succeed())
	}
	return out
}

var _ = Describe("walkthrough step 1 with the AWS CLI", Label("none"), func() {
	var w *world
	BeforeEach(func() { w = newWorld() })

	It("creates the provider and role, and a token assumes the role", func() {
		w.must("up", "--cluster", "none", "--no-oidc-provider")
		s := w.status()
		Expect(s.AWS.OIDCProviderARN).To(BeEmpty())
		w.awsEnv(s)
		providerURL := strings.TrimPrefix(s.Issuer.URL, "https://")

		// Stands in for eksctl's associate step on a --no-oidc-provider environment.
		out := w.mustAWS("iam", "create-open-id-connect-provider", "--url", s.Issuer.URL, "--client-id-list", "sts.amazonaws.com")
		providerARN := out["OpenIDConnectProviderArn"].(string)
		Expect(providerARN).To(HavePrefix("arn:aws:iam::" + s.AWS.AccountID + ":oidc-provider/"))
		Expect(w.status().AWS.OIDCProviderARN).To(Equal(providerARN))

		trust := `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {"Federated": "arn:aws:iam::` + s.AWS.AccountID + `:oidc-provider/` + providerURL + `"},
      "Action": "sts:AssumeRoleWithWebIdentity",
      "Condition": {"StringEquals": {"` + providerURL + `:sub": "system:serviceaccount:demo:s3-reader"}}
    }
  ]
}`
		Expect(os.WriteFile(filepath.Join(w.home, "trust-policy.json"), []byte(trust), 0o600)).To(Succeed())
		role := w.mustAWS("iam", "create-role", "--role-name", "s3-reader", "--assume-role-policy-document", "file://trust-policy.json")
		roleARN := role["Role"].(map[string]any)["Arn"].(string)
		Expect(roleARN).To(Equal("arn:aws:iam::" + s.AWS.AccountID + ":role/s3-reader"))
		// botocore URL-decodes and parses policy documents: an object, not a string.
		Expect(role["Role"].(map[string]any)["AssumeRolePolicyDocument"]).To(BeAssignableToTypeOf(map[string]any{}))
		w.mustAWS("iam", "attach-role-policy", "--role-name", "s3-reader", "--policy-arn", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
		got := w.mustAWS("iam", "get-role", "--role-name", "s3-reader")
		Expect(got["Role"].(map[string]any)["AssumeRolePolicyDocument"]).To(HaveKey("Statement"))

		token := strings.TrimSpace(w.must("token", "--namespace", "demo", "--service-account", "s3-reader"))
		creds := w.mustAWS("sts", "assume-role-with-web-identity", "--role-arn", roleARN, "--role-session-name", "test", "--web-identity-token", token)
		Expect(creds).To(HaveKeyWithValue("SubjectFromWebIdentityToken", "system:serviceaccount:demo:s3-reader"))
		Expect(creds).To(HaveKeyWithValue("Audience", "sts.amazonaws.com"))
		Expect(creds).To(HaveKeyWithValue("Provider", providerARN))
		Expect(creds["AssumedRoleUser"]).To(HaveKeyWithValue("Arn", "arn:aws:sts::"+s.AWS.AccountID+":assumed-role/s3-reader/test"))
		c := creds["Credentials"].(map[string]any)
		Expect(c["AccessKeyId"]).To(HavePrefix("ASIA"))

		// The issued credentials, and nothing else, sign get-caller-identity.
		w.env = append(w.env, "AWS_ACCESS_KEY_ID="+c["AccessKeyId"].(string), "AWS_SECRET_ACCESS_KEY="+c["SecretAccessKey"].(string), "AWS_SESSION_TOKEN="+c["SessionToken"].(string))
		who := w.mustAWS("sts", "get-caller-identity")
		Expect(who).To(HaveKeyWithValue("Arn", "arn:aws:sts::"+s.AWS.AccountID+":assumed-role/s3-reader/test"))

		// A token for another service account is refused with AWS's message.
		other := strings.TrimSpace(w.must("token", "--namespace", "demo", "--service-account", "other"))
		r := w.aws("sts", "assume-role-with-web-identity", "--role-arn", roleARN, "--role-session-name", "test", "--web-identity-token", other)
		Expect(r.code).NotTo(Equal(0))
		Expect(r.stderr).To(ContainSubstring("AccessDenied"))
		Expect(r.stderr).To(ContainSubstring("Not authorized to perform sts:AssumeRoleWithWebIdentity"))
	})

	It("lets boto3's web identity provider read a token file, over HTTPS trusting the environment CA", func() {
		w.must("up", "--cluster", "none")
		s := w.status()
		w.awsEnv(s)
		providerURL := strings.TrimPrefix(s.Issuer.URL, "https://")
		trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + s.AWS.OIDCProviderARN +
			`"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"` + providerURL + `:sub":"system:serviceaccount:demo:*"}}}]}`
		role := w.mustAWS("iam", "create-role", "--role-name", "py", "--assume-role-policy-document", trust)
		roleARN := role["Role"].(map[string]any)["Arn"].(string)
		tokenFile := filepath.Join(w.home, "token")
		Expect(os.WriteFile(tokenFile, []byte(w.must("token", "--namespace", "demo", "--service-account", "py")), 0o600)).To(Succeed())

		// Only web identity: no static keys, the HTTPS endpoint, the CA bundle.
		env := []string{}
		for _, kv := range w.env {
			if !strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID=") && !strings.HasPrefix(kv, "AWS_SECRET_ACCESS_KEY=") && !strings.HasPrefix(kv, "AWS_ENDPOINT_URL=") {
				env = append(env, kv)
			}
		}
		w.env = append(env, "AWS_ENDPOINT_URL="+s.AWS.EndpointHTTPS, "AWS_CA_BUNDLE="+s.Issuer.CAFile,
			"AWS_ROLE_ARN="+roleARN, "AWS_WEB_IDENTITY_TOKEN_FILE="+tokenFile, "AWS_ROLE_SESSION_NAME=boto")
		script := `import boto3; print(boto3.client("sts").get_caller_identity()["Arn"])`
		r := w.cmd(requireTool("python3"), nil, "-c", script)
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(strings.TrimSpace(r.stdout)).To(Equal("arn:aws:sts::" + s.AWS.AccountID + ":assumed-role/py/boto"))
	})
})

var _ = Describe("the emulator clock", Label("none"), func() {
	It("moves token expiry without sleeping, and reset brings it back", func() {
		w := newWorld()
		w.must("up", "--cluster", "none")
		s := w.status()
		w.awsEnv(s)
		providerURL := strings.TrimPrefix(s.Issuer.URL, "https://")
		trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + s.AWS.OIDCProviderARN +
			`"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + providerURL + `:sub":"system:serviceaccount:default:app"}}}]}`
		roleARN := w.mustAWS("iam", "create-role", "--role-name", "app", "--assume-role-policy-document", trust)["Role"].(map[string]any)["Arn"].(string)
		token := strings.TrimSpace(w.must("token", "--service-account", "app", "--duration", "1h"))
		assume := func() result {
			return w.aws("sts", "assume-role-with-web-identity", "--role-arn", roleARN, "--role-session-name", "clock", "--web-identity-token", token)
		}
		Expect(assume().code).To(Equal(0))
		Expect(w.must("clock", "advance", "66m")).To(ContainSubstring("offset: 1h6m0s"))
		r := assume()
		Expect(r.code).NotTo(Equal(0))
		Expect(r.stderr).To(ContainSubstring("ExpiredTokenException"))
		w.must("clock", "reset")
		Expect(assume().code).To(Equal(0))
		_, errOut, code := w.run("clock", "advance", "soon")
		Expect(code).To(Equal(1))
		Expect(oneLine(errOut)).To(ContainSubstring("invalid duration"))
		_, errOut, code = w.run("clock", "advance", "--", "-1h")
		Expect(code).To(Equal(1))
		Expect(oneLine(errOut)).To(ContainSubstring("the clock only moves forward"))

		// Over HTTP, as `clock --help` documents: signed by the admin
		// credentials with curl's SigV4, and refused unsigned.
		clock := s.AWS.Endpoint + "/_irsa-local/clock"
		signed := w.cmd("curl", nil, "-sS", "--aws-sigv4", "aws:amz:us-east-1:irsa-local", "--user", "test:test",
			"-H", "Content-Type: application/json", "-d", `{"advance":"66m"}`, clock)
		Expect(signed.code).To(Equal(0))
		Expect(signed.stdout).To(ContainSubstring(`"offset":"1h6m0s"`))
		unsigned := w.cmd("curl", nil, "-sS", "-H", "Content-Type: application/json", "-d", `{"reset":true}`, clock)
		Expect(unsigned.stdout).To(ContainSubstring("MissingAuthenticationToken"))
		Expect(w.must("clock")).To(ContainSubstring("offset: 1h6m0s"))
	})
})
