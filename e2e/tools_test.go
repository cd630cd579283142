package e2e

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// The "tools" specs drive the infrastructure tools users already run against
// irsa-local. They are left out of the default run (see TestE2E) and run by
// `make e2e-tools`. A missing tool is a skipped spec that names it, never a
// passed one. Environment variables they read:
//
//	IRSA_LOCAL_TF_PLUGIN_MIRROR    provider mirror for an offline terraform init (default /opt/tf-plugins)
//	IRSA_LOCAL_REQUIRE_TERRAFORM=1 a missing terraform or mirror fails the spec instead of skipping it
//	EKSCTL                         the eksctl binary (default: the one hack/eksctl.sh caches)
//	IRSA_LOCAL_REQUIRE_EKSCTL=1    a missing eksctl fails the spec instead of skipping it
//	HELM                           the helm binary (default: the one hack/helm.sh caches)
//	IRSA_LOCAL_REQUIRE_HELM=1      a missing helm fails the spec instead of skipping it

// eksctlVersion is the release hack/eksctl.sh builds by default.
const eksctlVersion = "v0.230.0"

// missingTool skips the spec, or fails it when requireEnv is set to 1.
func missingTool(requireEnv, format string, args ...any) {
	if os.Getenv(requireEnv) == "1" {
		Fail(fmt.Sprintf(format, args...) + " (" + requireEnv + "=1)")
	}
	Skip(fmt.Sprintf(format, args...))
}

// caThumbprint is the lower-case hex SHA-1 of the CA certificate in file,
// as IAM's ThumbprintList holds it.
func caThumbprint(file string) string {
	b, err := os.ReadFile(file)
	Expect(err).NotTo(HaveOccurred())
	block, _ := pem.Decode(b)
	Expect(block).NotTo(BeNil(), "no PEM in %s", file)
	sum := sha1.Sum(block.Bytes)
	return hex.EncodeToString(sum[:])
}

// assumeWithToken assumes roleARN with a token for ns/sa through the AWS
// CLI, as a pod's SDK would, and returns the credentials.
func (w *world) assumeWithToken(roleARN, ns, sa string) map[string]any {
	token := strings.TrimSpace(w.must("token", "--namespace", ns, "--service-account", sa))
	out := w.mustAWS("sts", "assume-role-with-web-identity", "--role-arn", roleARN, "--role-session-name", "tools", "--web-identity-token", token)
	return out["Credentials"].(map[string]any)
}

// withCredentials is the world's environment with creds in place of the
// admin keys.
func (w *world) withCredentials(creds map[string]any) []string {
	env := []string{}
	for _, kv := range w.env {
		if !strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID=") && !strings.HasPrefix(kv, "AWS_SECRET_ACCESS_KEY=") && !strings.HasPrefix(kv, "AWS_SESSION_TOKEN=") {
			env = append(env, kv)
		}
	}
	return append(env, "AWS_ACCESS_KEY_ID="+creds["AccessKeyId"].(string), "AWS_SECRET_ACCESS_KEY="+creds["SecretAccessKey"].(string), "AWS_SESSION_TOKEN="+creds["SessionToken"].(string))
}

// terraformIn prepares a copy of examples/<example> in the world's home,
// with vars as an auto-loaded file and the provider installed from the
// offline mirror, and returns terraform run there (tf) and the same,
// failing the spec on a non-zero exit (mustTF). A missing terraform or
// mirror skips the spec (or fails it, with IRSA_LOCAL_REQUIRE_TERRAFORM=1).
func terraformIn(w *world, example string, vars map[string]any) (dir string, tf func(...string) result, mustTF func(...string) string) {
	terraform, err := exec.LookPath("terraform")
	if err != nil {
		missingTool("IRSA_LOCAL_REQUIRE_TERRAFORM", "terraform not found on PATH: %v", err)
	}
	mirror := os.Getenv("IRSA_LOCAL_TF_PLUGIN_MIRROR")
	if mirror == "" {
		mirror = "/opt/tf-plugins"
	}
	if _, err := os.Stat(filepath.Join(mirror, "registry.terraform.io", "hashicorp", "aws")); err != nil {
		missingTool("IRSA_LOCAL_REQUIRE_TERRAFORM", "terraform provider mirror with hashicorp/aws not found: %v (set IRSA_LOCAL_TF_PLUGIN_MIRROR)", err)
	}
	// A copy of the example, so no state or provider lands in the repo;
	// the variables go in as an auto-loaded file.
	dir = filepath.Join(w.home, example)
	ExpectWithOffset(1, os.MkdirAll(dir, 0o700)).To(Succeed())
	tfFiles, err := filepath.Glob("../examples/" + example + "/*.tf")
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	ExpectWithOffset(1, tfFiles).NotTo(BeEmpty())
	for _, f := range tfFiles {
		b, err := os.ReadFile(f)
		ExpectWithOffset(1, err).NotTo(HaveOccurred())
		ExpectWithOffset(1, os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o600)).To(Succeed())
	}
	b, _ := json.Marshal(vars)
	ExpectWithOffset(1, os.WriteFile(filepath.Join(dir, "terraform.tfvars.json"), b, 0o600)).To(Succeed())
	// This machine's TF_CLI_CONFIG_FILE may name a file that does not
	// exist; init installs the provider from the mirror, offline.
	cliConfig := filepath.Join(w.home, "terraform.tfrc")
	ExpectWithOffset(1, os.WriteFile(cliConfig, []byte("provider_installation {\n  filesystem_mirror {\n    path = \""+mirror+"\"\n  }\n}\n"), 0o600)).To(Succeed())
	w.env = append(w.env, "TF_CLI_CONFIG_FILE="+cliConfig, "TF_IN_AUTOMATION=1", "TF_INPUT=0", "CHECKPOINT_DISABLE=1")
	tf = func(args ...string) result {
		return w.cmd(terraform, nil, append([]string{"-chdir=" + dir}, args...)...)
	}
	mustTF = func(args ...string) string {
		r := tf(args...)
		ExpectWithOffset(1, r.code).To(Equal(0), "terraform %s: %s", strings.Join(args, " "), r.stderr)
		return r.stdout
	}
	return dir, tf, mustTF
}

var _ = Describe("Terraform's AWS provider", Label("tools"), func() {
	It("applies examples/terraform with the issuer as describe-cluster reports it, plans no change, and its role reads its bucket; destroy removes all", func() {
		w := newWorld()
		w.must("up", "--cluster", "none", "--no-oidc-provider")
		s := w.status()
		Expect(s.AWS.OIDCProviderARN).To(BeEmpty())
		w.awsEnv(s)

		// Upper case, as some tools print it: IAM keeps a thumbprint as
		// written, so the next plan finds what it wrote.
		thumbprint := strings.ToUpper(caThumbprint(s.Issuer.CAFile))
		dir, tf, mustTF := terraformIn(w, "terraform", map[string]any{
			"endpoint": s.AWS.Endpoint, "namespace": "demo", "service_account": "s3-reader",
			"role_name": "tf-s3-reader", "bucket_name": "tf-demo", "thumbprints": []string{thumbprint},
		})

		// The example registers the issuer exactly as the cluster reports it,
		// port included, as configurations copied from EKS projects do.
		main, err := os.ReadFile(filepath.Join(dir, "main.tf"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(main)).To(ContainSubstring("issuer_url = data.aws_eks_cluster.this.identity[0].oidc[0].issuer"))

		mustTF("init", "-no-color")
		mustTF("apply", "-auto-approve", "-no-color")
		// Every attribute IAM and S3 read back — the provider's url,
		// thumbprints and tags, the trust policy, max_session_duration, the
		// role's and the bucket's tags, the bucket policy, the attachment —
		// matches what was applied.
		plan := tf("plan", "-detailed-exitcode", "-no-color")
		Expect(plan.code).To(Equal(0), "the second plan wants changes (exit 2) or failed:\n%s%s", plan.stdout, plan.stderr)
		Expect(plan.stdout).To(ContainSubstring("No changes."))

		var out map[string]struct {
			Value any `json:"value"`
		}
		Expect(json.Unmarshal([]byte(mustTF("output", "-json")), &out)).To(Succeed())
		providerARN := out["oidc_provider_arn"].Value.(string)
		roleARN := out["role_arn"].Value.(string)
		issuer, err := url.Parse(s.Issuer.URL)
		Expect(err).NotTo(HaveOccurred())
		Expect(providerARN).To(Equal("arn:aws:iam::" + s.AWS.AccountID + ":oidc-provider/" + issuer.Hostname() + issuer.Path))
		Expect(roleARN).To(Equal("arn:aws:iam::" + s.AWS.AccountID + ":role/tf-s3-reader"))
		Expect(out["bucket"].Value).To(Equal("tf-demo"))
		Expect(w.status().AWS.OIDCProviderARN).To(Equal(providerARN))
		got := w.mustAWS("iam", "get-open-id-connect-provider", "--open-id-connect-provider-arn", providerARN)
		Expect(got["ThumbprintList"]).To(ConsistOf(thumbprint))
		Expect(got["Url"]).To(Equal(s.Issuer.URL))
		role := w.mustAWS("iam", "get-role", "--role-name", "tf-s3-reader")["Role"].(map[string]any)
		Expect(role["MaxSessionDuration"]).To(BeNumerically("==", 7200))
		Expect(role["Tags"]).To(ContainElement(map[string]any{"Key": "managed-by", "Value": "terraform"}))
		// The provider validated its credentials with STS, as it does
		// against AWS.
		Expect(w.must("trail")).To(ContainSubstring("sts:GetCallerIdentity by arn:aws:iam::" + s.AWS.AccountID + ":root"))

		// The walkthrough's pod: a token for the service account assumes the
		// Terraform-made role and lists the Terraform-made bucket.
		Expect(os.WriteFile(filepath.Join(w.home, "hello.txt"), []byte("hello\n"), 0o600)).To(Succeed())
		cp := w.aws("s3", "cp", "hello.txt", "s3://tf-demo/reports/hello.txt")
		Expect(cp.code).To(Equal(0), cp.stderr)
		creds := w.assumeWithToken(roleARN, "demo", "s3-reader")
		admin := w.env
		w.env = w.withCredentials(creds)
		ls := w.aws("s3", "ls", "--recursive", "s3://tf-demo")
		Expect(ls.code).To(Equal(0), ls.stderr)
		Expect(ls.stdout).To(ContainSubstring("reports/hello.txt"))
		put := w.aws("s3", "cp", "hello.txt", "s3://tf-demo/nope.txt")
		Expect(put.stderr).To(ContainSubstring("AccessDenied"))
		// The bucket policy lets the role upload under uploads/.
		upload := w.aws("s3", "cp", "hello.txt", "s3://tf-demo/uploads/hello.txt")
		Expect(upload.code).To(Equal(0), upload.stderr)
		w.env = admin
		other := strings.TrimSpace(w.must("token", "--namespace", "demo", "--service-account", "other"))
		refused := w.aws("sts", "assume-role-with-web-identity", "--role-arn", roleARN, "--role-session-name", "tools", "--web-identity-token", other)
		Expect(refused.stderr).To(ContainSubstring("AccessDenied"))

		// Destroy empties the bucket (force_destroy) and removes everything;
		// a plan afterwards wants to create all of it again.
		mustTF("destroy", "-auto-approve", "-no-color")
		again := tf("plan", "-detailed-exitcode", "-no-color")
		Expect(again.code).To(Equal(2), again.stderr)
		Expect(again.stdout).To(MatchRegexp(`Plan: \d+ to add, 0 to change, 0 to destroy`))
		Expect(w.mustAWS("iam", "list-open-id-connect-providers")["OpenIDConnectProviderList"]).To(BeEmpty())
		gone := w.aws("iam", "get-role", "--role-name", "tf-s3-reader")
		Expect(gone.stderr).To(ContainSubstring("NoSuchEntity"))
		buckets := w.mustAWS("s3api", "list-buckets")
		Expect(buckets["Buckets"]).To(BeEmpty())
	})
})

var _ = Describe("Terraform's AWS provider through a role chain", Label("tools"), func() {
	It("applies examples/terraform-chain as the pod's web identity role hopping into another account", func() {
		w := newWorld()
		w.must("up", "--cluster", "none")
		s := w.status()
		w.awsEnv(s)
		// The chain spec's roles and bucket, with a write grant for data
		// in its own account; no service accounts without a cluster.
		env := strings.Replace(chainEnvironment, "serviceAccounts: [{namespace: payments, name: reports, role: reports-app}]\n", "", 1)
		env = strings.Replace(env, "      - name: unshared\n", `        inlinePolicies:
          - name: write-terraform
            document: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: ["s3:PutObject", "s3:GetObject", "s3:GetObjectTagging", "s3:DeleteObject"], Resource: "arn:aws:s3:::shared-data/terraform/*"}]}
      - name: unshared
`, 1)
		w.must("apply", "-f", w.writeFile("chain.yaml", env))
		token := filepath.Join(w.home, "token")
		Expect(os.WriteFile(token, []byte(w.must("token", "-n", chainNamespace, "--service-account", chainSA)), 0o600)).To(Succeed())

		_, _, mustTF := terraformIn(w, "terraform-chain", map[string]any{
			"endpoint": s.AWS.Endpoint, "web_identity_role_arn": "arn:aws:iam::" + s.AWS.AccountID + ":role/" + chainAppRole,
			"web_identity_token_file": token, "role_arn": chainDataRole, "bucket": chainBucket,
		})
		// Nothing but the chain: no static keys for the provider to fall back on.
		w.env = append(w.env, "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=")
		mustTF("init", "-no-color")
		mustTF("apply", "-auto-approve", "-no-color")
		var out map[string]struct {
			Value any `json:"value"`
		}
		Expect(json.Unmarshal([]byte(mustTF("output", "-json")), &out)).To(Succeed())
		Expect(out["caller_arn"].Value).To(Equal("arn:aws:sts::" + chainAccount + ":assumed-role/data/terraform"))

		// The object is in account B's bucket, and the trail names the chain.
		trail := w.must("trail")
		Expect(trail).To(ContainSubstring("s3:PutObject by arn:aws:sts::" + chainAccount + ":assumed-role/data/terraform via system:serviceaccount:" + chainNamespace + ":" + chainSA + " (web identity)"))
		mustTF("destroy", "-auto-approve", "-no-color")
	})
})

// eksctlBinary finds eksctl: $EKSCTL, else the binary hack/eksctl.sh caches
// under the user cache directory ($XDG_CACHE_HOME or ~/.cache).
func eksctlBinary() string {
	if bin := os.Getenv("EKSCTL"); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			missingTool("IRSA_LOCAL_REQUIRE_EKSCTL", "eksctl not found at $EKSCTL: %v", err)
		}
		return bin
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		missingTool("IRSA_LOCAL_REQUIRE_EKSCTL", "eksctl not found: no user cache directory: %v", err)
	}
	bin := filepath.Join(cache, "irsa-local", "tools", "eksctl-"+eksctlVersion, "eksctl")
	if _, err := os.Stat(bin); err != nil {
		missingTool("IRSA_LOCAL_REQUIRE_EKSCTL", "eksctl %s not found at %s (build it with make eksctl, or set EKSCTL): %v", eksctlVersion, bin, err)
	}
	return bin
}

var _ = Describe("eksctl", Label("tools"), func() {
	It("associates the issuer as an IAM OIDC provider, whose tokens then assume a role", func() {
		eksctl := eksctlBinary()
		w := newWorld()
		w.must("up", "--cluster", "none", "--no-oidc-provider")
		s := w.status()
		Expect(s.AWS.OIDCProviderARN).To(BeEmpty())
		w.awsEnv(s)
		// eksctl reaches STS, EKS and IAM through AWS_ENDPOINT_URL and
		// dials the issuer itself for the thumbprint, trusting the system
		// roots: here, the environment CA.
		w.env = append(w.env, "SSL_CERT_FILE="+s.Issuer.CAFile, "AWS_EC2_METADATA_DISABLED=true")
		associate := func() result {
			return w.cmd(eksctl, nil, "utils", "associate-iam-oidc-provider", "--cluster", "irsa-local", "--region", s.AWS.Region, "--approve")
		}

		r := associate()
		Expect(r.code).To(Equal(0), "eksctl: %s%s", r.stdout, r.stderr)
		Expect(r.stdout + r.stderr).To(ContainSubstring("created IAM Open ID Connect provider"))

		// The provider has the port-less ARN, though eksctl sent the URL
		// with the port, and the CA's thumbprint.
		issuer, err := url.Parse(s.Issuer.URL)
		Expect(err).NotTo(HaveOccurred())
		providerARN := "arn:aws:iam::" + s.AWS.AccountID + ":oidc-provider/" + issuer.Hostname() + issuer.Path
		list := w.mustAWS("iam", "list-open-id-connect-providers")
		Expect(list["OpenIDConnectProviderList"]).To(ConsistOf(HaveKeyWithValue("Arn", providerARN)))
		Expect(w.status().AWS.OIDCProviderARN).To(Equal(providerARN))
		got := w.mustAWS("iam", "get-open-id-connect-provider", "--open-id-connect-provider-arn", providerARN)
		Expect(got["ClientIDList"]).To(ConsistOf("sts.amazonaws.com"))
		Expect(got["ThumbprintList"]).To(ConsistOf(caThumbprint(s.Issuer.CAFile)))
		Expect(got["Tags"]).To(ContainElement(And(HaveKeyWithValue("Key", "alpha.eksctl.io/cluster-name"), HaveKeyWithValue("Value", "irsa-local"))))
		cluster := w.mustAWS("eks", "describe-cluster", "--name", "irsa-local")["cluster"].(map[string]any)
		Expect(cluster["tags"]).To(HaveKeyWithValue("alpha.eksctl.io/cluster-oidc-enabled", "true"))

		// Associating again finds the provider and changes nothing.
		again := associate()
		Expect(again.code).To(Equal(0), "eksctl: %s%s", again.stdout, again.stderr)
		Expect(again.stdout + again.stderr).To(ContainSubstring("already associated"))
		Expect(w.mustAWS("iam", "list-open-id-connect-providers")["OpenIDConnectProviderList"]).To(HaveLen(1))

		// Walkthrough step 1 with the provider eksctl made.
		hostPath := issuer.Hostname() + issuer.Path
		trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + providerARN +
			`"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + hostPath + `:sub":"system:serviceaccount:demo:app","` + hostPath + `:aud":"sts.amazonaws.com"}}}]}`
		roleARN := w.mustAWS("iam", "create-role", "--role-name", "app", "--assume-role-policy-document", trust)["Role"].(map[string]any)["Arn"].(string)
		creds := w.assumeWithToken(roleARN, "demo", "app")
		Expect(creds["AccessKeyId"]).To(HavePrefix("ASIA"))
		w.env = w.withCredentials(creds)
		who := w.mustAWS("sts", "get-caller-identity")
		Expect(who["Arn"]).To(Equal("arn:aws:sts::" + s.AWS.AccountID + ":assumed-role/app/tools"))

		// doctor finds every link it can check green after eksctl's step.
		doc := w.cmd(binary, nil, "doctor", "--role-arn", roleARN, "-n", "demo", "--service-account", "app")
		Expect(doc.code).To(Equal(0), "doctor: %s%s", doc.stdout, doc.stderr)
		Expect(doc.stdout).To(MatchRegexp(`✓ oidc-provider\s+` + regexp.QuoteMeta(providerARN)))
		Expect(doc.stdout).To(MatchRegexp(`✓ trust-policy`))
		Expect(doc.stdout).NotTo(ContainSubstring("✗"))
	})
})

var _ = Describe("Terraform's aws_eks_pod_identity_association", Label("tools"), func() {
	It("applies examples/terraform-pod-identity, plans no change, and destroy removes the association", func() {
		w := newWorld()
		w.must("up", "--cluster", "none")
		s := w.status()
		w.awsEnv(s)
		cluster := w.mustAWS("eks", "list-clusters")["clusters"].([]any)[0].(string)
		_, tf, mustTF := terraformIn(w, "terraform-pod-identity", map[string]any{
			"endpoint": s.AWS.Endpoint, "cluster_name": cluster, "namespace": "shop", "service_account": "terraform",
			"role_name": "tf-pod-identity", "bucket": "shared",
		})
		mustTF("init", "-no-color")
		mustTF("apply", "-auto-approve", "-no-color")
		plan := tf("plan", "-detailed-exitcode", "-no-color")
		Expect(plan.code).To(Equal(0), "the second plan wants changes (exit 2) or failed:\n%s%s", plan.stdout, plan.stderr)

		var out map[string]struct {
			Value any `json:"value"`
		}
		Expect(json.Unmarshal([]byte(mustTF("output", "-json")), &out)).To(Succeed())
		id := out["association_id"].Value.(string)
		got := w.mustAWS("eks", "describe-pod-identity-association", "--cluster-name", cluster, "--association-id", id)["association"].(map[string]any)
		Expect(got["roleArn"]).To(Equal("arn:aws:iam::" + s.AWS.AccountID + ":role/tf-pod-identity"))
		Expect(got["serviceAccount"]).To(Equal("terraform"))
		Expect(got["tags"]).To(HaveKeyWithValue("managed-by", "terraform"))

		mustTF("destroy", "-auto-approve", "-no-color")
		gone := w.aws("eks", "describe-pod-identity-association", "--cluster-name", cluster, "--association-id", id)
		Expect(gone.stderr).To(ContainSubstring("ResourceNotFoundException"))
	})
})

var _ = Describe("eksctl's podidentityassociation commands", Label("tools"), func() {
	It("create, get and delete an association for an existing role", func() {
		eksctl := eksctlBinary()
		w := newWorld()
		w.must("up", "--cluster", "none")
		s := w.status()
		w.awsEnv(s)
		w.env = append(w.env, "SSL_CERT_FILE="+s.Issuer.CAFile, "AWS_EC2_METADATA_DISABLED=true")
		roleARN := w.mustAWS("iam", "create-role", "--role-name", "eksctl-pod", "--assume-role-policy-document", podTrustPolicy)["Role"].(map[string]any)["Arn"].(string)
		args := []string{"--cluster", "irsa-local", "--region", s.AWS.Region, "--namespace", podNamespace, "--service-account-name", podSA}

		r := w.cmd(eksctl, nil, append([]string{"create", "podidentityassociation", "--role-arn", roleARN}, args...)...)
		Expect(r.code).To(Equal(0), "eksctl: %s%s", r.stdout, r.stderr)
		list := w.mustAWS("eks", "list-pod-identity-associations", "--cluster-name", "irsa-local")["associations"].([]any)
		Expect(list).To(ConsistOf(And(HaveKeyWithValue("namespace", podNamespace), HaveKeyWithValue("serviceAccount", podSA))))

		got := w.cmd(eksctl, nil, "get", "podidentityassociation", "--cluster", "irsa-local", "--region", s.AWS.Region, "--namespace", podNamespace, "-o", "json")
		Expect(got.code).To(Equal(0), "eksctl: %s%s", got.stdout, got.stderr)
		Expect(got.stdout).To(ContainSubstring(roleARN))

		// delete removes the association, then looks for a service account
		// eksctl made, through the cluster's API with an IAM token: there is
		// no cluster here (--cluster none), so that second step fails.
		del := w.cmd(eksctl, nil, append([]string{"delete", "podidentityassociation"}, args...)...)
		Expect(w.mustAWS("eks", "list-pod-identity-associations", "--cluster-name", "irsa-local")["associations"]).To(BeEmpty(), "eksctl: %s%s", del.stdout, del.stderr)
		Expect(del.stdout + del.stderr).To(ContainSubstring(`failed to delete service account "shop/cart"`))
	})
})
