package e2e

import (
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// The Pod Identity spec's world: role shop-app trusts
// pods.eks.amazonaws.com and reads the prefix of bucket shared named
// after the pod's namespace (its kubernetes-namespace session tag); shop/cart
// also carries an IRSA annotation for role shop-irsa; shop/orders is
// associated with shop-app and the target role data of account
// 111111111111, which trusts shop-app's sessions tagged with namespace shop.
const (
	podNamespace   = "shop"
	podSA          = "cart"
	podTargetSA    = "orders"
	podRole        = "shop-app"
	podIRSARole    = "shop-irsa"
	podBucket      = "shared"
	podOwnKey      = "shop/list.txt"
	podOtherKey    = "billing/ledger.txt"
	podTargetRole  = "arn:aws:iam::" + chainAccount + ":role/data"
	podOnlyAssume  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	podTrustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`
)

const podIdentityEnvironment = `apiVersion: irsa-local.dev/v1alpha1
kind: Environment
roles:
  - name: shop-app
    trust: {podIdentity: true}
    inlinePolicies:
      - name: own-prefix
        document:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Action: s3:GetObject
              Resource: "arn:aws:s3:::shared/${aws:PrincipalTag/kubernetes-namespace}/*"
            - Effect: Allow
              Action: [sts:AssumeRole, sts:TagSession]
              Resource: arn:aws:iam::111111111111:role/data
  - name: shop-irsa
    trust: {serviceAccount: {namespace: shop, name: cart}}
buckets:
  - name: shared
    objects:
      - {key: shop/list.txt, content: shop list}
      - {key: billing/ledger.txt, content: billing ledger}
serviceAccounts:
  - {namespace: shop, name: cart, role: shop-irsa}
  - {namespace: shop, name: orders}
podIdentityAssociations:
  - {namespace: shop, serviceAccount: orders, role: shop-app, targetRoleArn: "arn:aws:iam::111111111111:role/data"}
accounts:
  - id: "111111111111"
    roles:
      - name: data
        trust:
          policy:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Principal: {AWS: "arn:aws:iam::000000000000:root"}
                Action: [sts:AssumeRole, sts:TagSession]
                Condition:
                  StringEquals: {"aws:RequestTag/kubernetes-namespace": shop}
                  ArnEquals: {"aws:PrincipalArn": "arn:aws:iam::000000000000:role/shop-app"}
`

// podReader is e2e/images/pod-reader, built next to the binary under test.
func podReader() string { return filepath.Join(filepath.Dir(binary), "pod-reader") }

var _ = Describe("EKS Pod Identity on a local cluster", Label("local"), func() {
	It("gives an associated service account its role through the agent, checked link by link, and breaks as EKS does", func() {
		requireCluster()
		w := newWorld()
		w.must("up")
		s := w.status()
		w.awsEnv(s)
		w.must("apply", "-f", w.writeFile("pod-identity.yaml", podIdentityEnvironment))
		cluster := w.mustAWS("eks", "list-clusters")["clusters"].([]any)[0].(string)

		// The association, as the EKS guides create it.
		created := w.mustAWS("eks", "create-pod-identity-association", "--cluster-name", cluster, "--namespace", podNamespace,
			"--service-account", podSA, "--role-arn", "arn:aws:iam::"+s.AWS.AccountID+":role/"+podRole)
		association := created["association"].(map[string]any)["associationId"].(string)
		Expect(association).To(MatchRegexp(`^a-[a-z0-9]{17}$`))

		exec := func(sa, script string) result {
			return w.cmd(binary, nil, "exec", "-n", podNamespace, "--service-account", sa, "--", "sh", "-c", script)
		}
		// The AWS CLI: the association wins over the IRSA annotation (the
		// webhook injects the container credentials only), and the pod's
		// namespace tag opens its own prefix and no other.
		cli := exec(podSA, `env | grep -c '^AWS_ROLE_ARN=' || true
aws sts get-caller-identity --query Arn --output text
aws s3 cp s3://`+podBucket+`/`+podOwnKey+` -
echo
aws s3 cp s3://`+podBucket+`/`+podOtherKey+` - || echo refused`)
		Expect(cli.code).To(Equal(0), cli.stderr)
		lines := strings.Split(strings.TrimSpace(cli.stdout), "\n")
		Expect(lines[0]).To(Equal("0"), "the pod got AWS_ROLE_ARN beside the container credentials")
		Expect(lines[1]).To(HavePrefix("arn:aws:sts::" + s.AWS.AccountID + ":assumed-role/" + podRole + "/eks-" + cluster + "-"))
		Expect(cli.stdout).To(ContainSubstring("shop list"))
		Expect(cli.stdout).To(ContainSubstring("refused"))
		Expect(cli.stdout).NotTo(ContainSubstring("billing ledger"))

		// aws-sdk-go-v2's default chain, the same way.
		sdk := w.cmd(binary, nil, "exec", "-n", podNamespace, "--service-account", podSA, "--", podReader(), podBucket, podOwnKey)
		Expect(sdk.code).To(Equal(0), sdk.stderr)
		Expect(sdk.stdout).To(ContainSubstring("caller: arn:aws:sts::" + s.AWS.AccountID + ":assumed-role/" + podRole + "/eks-"))
		Expect(sdk.stdout).To(ContainSubstring("object: shop list"))

		// With both sets of variables in the process (a web identity set
		// by hand, or a pod admitted before the association), the SDKs'
		// chains put the web identity first: the CLI and the Go SDK act as
		// the IRSA role.
		irsaToken := w.writeFile("irsa-token", w.must("token", "-n", podNamespace, "--service-account", podSA))
		both := exec(podSA, `export AWS_ROLE_ARN=arn:aws:iam::`+s.AWS.AccountID+`:role/`+podIRSARole+` AWS_WEB_IDENTITY_TOKEN_FILE=`+irsaToken+`
test -n "$AWS_CONTAINER_CREDENTIALS_FULL_URI" || exit 3
aws sts get-caller-identity --query Arn --output text
`+podReader()+` `+podBucket+` `+podOwnKey+` || true`)
		Expect(both.code).To(Equal(0), both.stderr)
		Expect(both.stdout).To(ContainSubstring("arn:aws:sts::" + s.AWS.AccountID + ":assumed-role/" + podIRSARole + "/"))
		Expect(both.stdout).To(ContainSubstring("caller: arn:aws:sts::" + s.AWS.AccountID + ":assumed-role/" + podIRSARole + "/"))

		// doctor follows the Pod Identity chain and finds it whole.
		expectHealthy(w.doctor("-n", podNamespace, "--service-account", podSA, "--action", "s3:GetObject", "--resource", "arn:aws:s3:::"+podBucket+"/"+podOwnKey))

		// The target role: the pod's credentials are data's, in the other
		// account, reached with the association's external ID and the
		// namespace tag its trust policy asks for.
		target := exec(podTargetSA, `aws sts get-caller-identity --query Arn --output text`)
		Expect(target.code).To(Equal(0), target.stderr)
		Expect(target.stdout).To(HavePrefix("arn:aws:sts::" + chainAccount + ":assumed-role/data/eks-" + cluster + "-"))

		// The trail names the pod, the association and the chain.
		trail := w.must("trail")
		Expect(trail).To(ContainSubstring("eks-auth:AssumeRoleForPodIdentity by arn:aws:iam::" + s.AWS.AccountID + ":root"))
		Expect(trail).To(MatchRegexp(`s3:GetObject by arn:aws:sts::\d{12}:assumed-role/` + podRole + `/eks-\S+ via pod ` + podNamespace + `/\S+ \(pod identity ` + association + `\)`))

		// Without sts:TagSession in the trust policy, eks-auth refuses with
		// EKS's error, which the agent passes on to the CLI.
		w.mustAWS("iam", "update-assume-role-policy", "--role-name", podRole, "--policy-document", podOnlyAssume)
		denied := exec(podSA, `aws sts get-caller-identity`)
		Expect(denied.code).NotTo(Equal(0))
		Expect(denied.stderr).To(ContainSubstring("(AccessDeniedException): Unauthorized Exception! EKS does not have permissions to assume the associated role., fault: client"))
		broken := expectOnlyBroken(w.doctor("-n", podNamespace, "--service-account", podSA), "trust-policy")
		Expect(broken.Detail).To(ContainSubstring("sts:TagSession"))
		Expect(broken.Fix).To(ContainSubstring(`"Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]`))
		w.mustAWS("iam", "update-assume-role-policy", "--role-name", podRole, "--policy-document", podTrustPolicy)

		// A deleted pod's token is refused by eks-auth, which the real
		// AWS CLI calls here as the agent does.
		kubectl := filepath.Join(k8sAssets, "kubectl") + " --kubeconfig " + s.Cluster.Kubeconfig
		eksAuth := `AWS_ACCESS_KEY_ID=` + s.AWS.AccessKeyID + ` AWS_SECRET_ACCESS_KEY=` + s.AWS.SecretAccessKey + ` aws eks-auth assume-role-for-pod-identity --cluster-name ` + cluster + ` --token "$(cat "$AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")" --query assumedRoleUser.arn --output text`
		gone := exec(podSA, eksAuth+`
`+kubectl+` delete pod -n `+podNamespace+` "$HOSTNAME"
`+eksAuth)
		Expect(gone.stdout).To(ContainSubstring(":assumed-role/" + podRole + "/"))
		Expect(gone.stderr).To(MatchRegexp(`InvalidTokenException\) when calling the AssumeRoleForPodIdentity operation: The service account token is not valid: the pod shop/\S+ it is bound to no longer exists`))

		// A deleted association: eks-auth no longer knows the service
		// account, and pods created after it fall back to the IRSA
		// annotation, as on EKS.
		deleted := exec(podSA, `AWS_ACCESS_KEY_ID=`+s.AWS.AccessKeyID+` AWS_SECRET_ACCESS_KEY=`+s.AWS.SecretAccessKey+` aws eks delete-pod-identity-association --cluster-name `+cluster+` --association-id `+association+` > /dev/null
`+eksAuth)
		Expect(deleted.stderr).To(ContainSubstring("(ResourceNotFoundException) when calling the AssumeRoleForPodIdentity operation: No Pod Identity Association found for service account cart in namespace shop"))
		after := exec(podSA, `aws sts get-caller-identity --query Arn --output text`)
		Expect(after.code).To(Equal(0), after.stderr)
		Expect(after.stdout).To(ContainSubstring(":assumed-role/" + podIRSARole + "/"))
		Expect(os.Remove(irsaToken)).To(Succeed())
	})
})
