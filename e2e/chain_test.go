package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// chainMode is what the whole-chain specs need from a cluster mode: how to
// bring an environment up, and how to run the walkthrough's bucket listing
// as the s3-reader pod.
type chainMode struct {
	// name is the cluster mode, also the specs' label.
	name string
	// require fails the spec when the mode's prerequisites are missing.
	require func()
	// up starts an environment with extra arguments and returns its status.
	up func(w *world, extra ...string) status
	// listBucket lists the walkthrough's bucket as the pod of the service
	// account demoSA, and returns what the client printed and its exit code.
	listBucket func(w *world, s status) result
	// runOrders runs orders-app as the pod of ordersNamespace/ordersSA.
	runOrders func(w *world, s status) result
	// runChain runs chain-reader with args as the pod of
	// chainNamespace/chainSA.
	runChain func(w *world, s status, args ...string) result
	// runPodReader runs pod-reader (BUCKET KEY) as a pod of
	// podNamespace/sa.
	runPodReader func(w *world, s status, sa, bucket, key string) result
}

// trailRecord is the part of a trail record the specs look at.
type trailRecord struct {
	EventSource     string `json:"eventSource"`
	EventName       string `json:"eventName"`
	SourceIPAddress string `json:"sourceIPAddress"`
	ErrorCode       string `json:"errorCode"`
	UserIdentity    struct {
		Type     string `json:"type"`
		ARN      string `json:"arn"`
		UserName string `json:"userName"`
	} `json:"userIdentity"`
}

func (w *world) trail() []trailRecord {
	var recs []trailRecord
	dec := json.NewDecoder(strings.NewReader(w.must("trail", "-o", "json")))
	for dec.More() {
		var r trailRecord
		ExpectWithOffset(1, dec.Decode(&r)).To(Succeed())
		recs = append(recs, r)
	}
	return recs
}

// chainSpecs declares the walkthrough's chain and its troubleshooting cases,
// run the same way in every cluster mode: only how the pod runs differs.
func chainSpecs(m chainMode) bool {
	Describe("the whole chain on a "+m.name+" cluster", Label(m.name), func() {
		var w *world
		BeforeEach(func() {
			m.require()
			w = newWorld()
		})

		It("lists the bucket as the pod's role, through STS and S3 on the emulator", func() {
			s := m.up(w)
			Expect(s.Cluster.Mode).To(Equal(m.name))
			Expect(s.Cluster.Kubeconfig).To(BeAnExistingFile())
			w.setUpWalkthrough(s, demoSA, "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
			Expect(w.mustKubectl(s, "get", "serviceaccount", demoSA, "-n", demoNamespace, "-o", "yaml")).To(ContainSubstring("eks.amazonaws.com/role-arn: arn:aws:iam::" + s.AWS.AccountID + ":role/" + demoRole))

			ls := m.listBucket(w, s)
			Expect(ls.code).To(Equal(0), ls.stderr)
			Expect(ls.stdout).To(ContainSubstring("hello.txt"))

			// The trail shows the web identity exchange for the service
			// account and the listing made with the role's session.
			var assumed, listed bool
			for _, r := range w.trail() {
				if r.EventName == "AssumeRoleWithWebIdentity" && r.ErrorCode == "" && r.UserIdentity.UserName == "system:serviceaccount:"+demoNamespace+":"+demoSA {
					assumed = true
				}
				if r.EventSource == "s3.amazonaws.com" && strings.HasPrefix(r.EventName, "ListObjects") && r.ErrorCode == "" &&
					strings.HasPrefix(r.UserIdentity.ARN, "arn:aws:sts::"+s.AWS.AccountID+":assumed-role/"+demoRole+"/") {
					listed = true
				}
			}
			Expect(assumed).To(BeTrue(), "no successful AssumeRoleWithWebIdentity for the service account in the trail")
			Expect(listed).To(BeTrue(), "no ListObjects by the role's session in the trail")

			// doctor sees the same chain healthy, whatever runs the cluster.
			expectHealthy(w.doctor("-n", demoNamespace, "--service-account", demoSA,
				"--action", "s3:ListBucket", "--resource", "arn:aws:s3:::"+demoBucket))
		})

		Describe("the walkthrough's troubleshooting cases fail with AWS's exact errors", func() {
			It("no OIDC provider: InvalidIdentityToken", func() {
				s := m.up(w, "--no-oidc-provider")
				w.setUpWalkthrough(s, demoSA, "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
				r := m.listBucket(w, s)
				Expect(r.code).NotTo(Equal(0))
				Expect(r.stderr).To(ContainSubstring("InvalidIdentityToken"))
				Expect(r.stderr).To(ContainSubstring("No OpenIDConnect provider found in your account for " + s.Issuer.URL))
				expectOnlyBroken(w.doctor("-n", demoNamespace, "--service-account", demoSA), "oidc-provider")
			})

			It("trust policy for another service account: AccessDenied", func() {
				s := m.up(w)
				w.setUpWalkthrough(s, "someone-else", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
				r := m.listBucket(w, s)
				Expect(r.code).NotTo(Equal(0))
				Expect(r.stderr).To(ContainSubstring("AccessDenied"))
				Expect(r.stderr).To(ContainSubstring("Not authorized to perform sts:AssumeRoleWithWebIdentity"))
			})

			It("role without S3 permissions: S3 AccessDenied", func() {
				s := m.up(w)
				w.setUpWalkthrough(s, demoSA, "")
				r := m.listBucket(w, s)
				Expect(r.code).NotTo(Equal(0))
				Expect(r.stderr).To(ContainSubstring("AccessDenied"))
				Expect(r.stderr).To(ContainSubstring("ListObjectsV2"))
			})
		})

		It("gives the pod's role one queue, its customer's items, one secret and one parameter path, and nothing else", func() {
			s := m.up(w)
			w.setUpOrders(s)
			r := m.runOrders(w, s)
			Expect(r.code).To(Equal(0), r.stderr)
			expectOrdersOutcomes(r.stdout, s.AWS.AccountID)
			w.expectOrdersTrail(s.AWS.AccountID)
			// doctor gives the gateway's verdict, with the same message.
			sa := []string{"-n", ordersNamespace, "--service-account", ordersSA}
			expectHealthy(w.doctor(append(sa, "--action", "sqs:SendMessage", "--resource", "arn:aws:sqs:us-east-1:"+s.AWS.AccountID+":orders")...))
			broken := expectOnlyBroken(w.doctor(append(sa, "--action", "sqs:SendMessage", "--resource", "arn:aws:sqs:us-east-1:"+s.AWS.AccountID+":audit")...), "permissions")
			Expect(broken.Detail).To(ContainSubstring("is not authorized to perform: sqs:SendMessage on resource: arn:aws:sqs:us-east-1:" + s.AWS.AccountID + ":audit because no identity-based policy allows the sqs:SendMessage action"))
		})

		It("chains the pod's role into another account's role with a session tag, which the bucket policy there checks", func() {
			s := m.up(w)
			w.must("apply", "-f", w.writeFile("chain.yaml", chainEnvironment))
			Expect(w.status().AWS.Accounts).To(Equal([]string{s.AWS.AccountID, chainAccount}))
			Expect(w.must("status")).To(MatchRegexp(`Other accounts:\s+` + chainAccount))

			ok := m.runChain(w, s, chainDataRole, chainBucket, "report.csv", "payments", "alice")
			Expect(ok.code).To(Equal(0), "%s%s", ok.stdout, ok.stderr)
			Expect(ok.stdout).To(ContainSubstring("caller: arn:aws:sts::" + chainAccount + ":assumed-role/data/chain-reader"))
			Expect(ok.stdout).To(ContainSubstring("object: q3 figures"))
			other := m.runChain(w, s, chainDataRole, chainBucket, "report.csv", "marketing", "bob")
			Expect(other.code).NotTo(Equal(0))
			Expect(other.stdout + other.stderr).To(ContainSubstring("AccessDenied"))

			// The trail names the whole chain of the read, and can be
			// narrowed to one source identity.
			line := ""
			for _, l := range strings.Split(w.must("trail", "--source-identity", "alice"), "\n") {
				if strings.Contains(l, "s3:GetObject") {
					line = l
				}
			}
			Expect(line).To(ContainSubstring("ok    s3:GetObject by arn:aws:sts::" + chainAccount + ":assumed-role/data/chain-reader via system:serviceaccount:" + chainNamespace + ":" + chainSA + " (web identity) -> arn:aws:sts::" + s.AWS.AccountID + ":assumed-role/" + chainAppRole + "/"))
			Expect(line).To(ContainSubstring("source-identity=alice"))
			Expect(w.must("trail", "--source-identity", "alice")).NotTo(ContainSubstring("bob"))
			Expect(w.must("trail", "--source-identity", "bob")).To(ContainSubstring("DENY  s3:GetObject"))

			// doctor checks the second hop too.
			expectHealthy(w.doctor("-n", chainNamespace, "--service-account", chainSA, "--assume", chainDataRole, "--session-tag", "team=payments",
				"--action", "s3:GetObject", "--resource", "arn:aws:s3:::"+chainBucket+"/report.csv"))
			denied := expectOnlyBroken(w.doctor("-n", chainNamespace, "--service-account", chainSA, "--assume", chainDataRole, "--session-tag", "team=marketing",
				"--action", "s3:GetObject", "--resource", "arn:aws:s3:::"+chainBucket+"/report.csv"), "permissions")
			Expect(denied.Detail).To(ContainSubstring("aws:PrincipalTag/team"))
			broken := expectOnlyBroken(w.doctor("-n", chainNamespace, "--service-account", chainSA, "--assume", "arn:aws:iam::"+chainAccount+":role/unshared"), "assume")
			Expect(broken.Fix).To(ContainSubstring(`"AWS": "arn:aws:iam::` + s.AWS.AccountID + `:role/` + chainAppRole + `"`))
		})

		It("gives a pod of an associated service account its role through EKS Pod Identity", func() {
			s := m.up(w)
			w.awsEnv(s)
			w.must("apply", "-f", w.writeFile("pod-identity.yaml", podIdentityEnvironment))
			cluster := w.mustAWS("eks", "list-clusters")["clusters"].([]any)[0].(string)
			w.mustAWS("eks", "create-pod-identity-association", "--cluster-name", cluster, "--namespace", podNamespace,
				"--service-account", podSA, "--role-arn", "arn:aws:iam::"+s.AWS.AccountID+":role/"+podRole)

			// The pod's namespace tag opens its own prefix, and no other.
			own := m.runPodReader(w, s, podSA, podBucket, podOwnKey)
			Expect(own.code).To(Equal(0), own.stderr)
			Expect(own.stdout).To(ContainSubstring("caller: arn:aws:sts::" + s.AWS.AccountID + ":assumed-role/" + podRole + "/eks-"))
			Expect(own.stdout).To(ContainSubstring("object: shop list"))
			other := m.runPodReader(w, s, podSA, podBucket, podOtherKey)
			Expect(other.code).NotTo(Equal(0))
			Expect(other.stdout + other.stderr).To(ContainSubstring("AccessDenied"))

			// An association with a target role: the pod acts as data, in
			// the other account.
			target := m.runPodReader(w, s, podTargetSA, podBucket, podOwnKey)
			Expect(target.stdout).To(ContainSubstring("caller: arn:aws:sts::" + chainAccount + ":assumed-role/data/eks-" + cluster + "-"))

			// doctor: the association, the webhook, the agent, the trust
			// and the permissions with the session's tags.
			run := w.doctor("-n", podNamespace, "--service-account", podSA, "--action", "s3:GetObject", "--resource", "arn:aws:s3:::"+podBucket+"/"+podOwnKey)
			expectHealthy(run)
			Expect(run.check("agent").Detail).NotTo(BeEmpty())
		})

		It("keeps tokens working across a key rotation until the old key is retired", func() {
			s := m.up(w)
			w.setUpWalkthrough(s, demoSA, "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
			// A token the apiserver signed before the rotation.
			old := strings.TrimSpace(w.mustKubectl(s, "create", "token", demoSA, "-n", demoNamespace, "--audience", "sts.amazonaws.com"))
			assumeOld := func() result {
				return w.aws("sts", "assume-role-with-web-identity", "--role-arn", "arn:aws:iam::"+s.AWS.AccountID+":role/"+demoRole,
					"--role-session-name", "old", "--web-identity-token", old)
			}
			Expect(assumeOld().code).To(Equal(0))

			w.must("keys", "rotate")
			Expect(assumeOld().code).To(Equal(0), "a token of the previous key still verifies")
			r := m.listBucket(w, s)
			Expect(r.code).To(Equal(0), "a token signed with the new key: %s", r.stderr)
			fresh := strings.TrimSpace(w.mustKubectl(s, "create", "token", demoSA, "-n", demoNamespace, "--audience", "sts.amazonaws.com"))
			var keys []struct {
				KID     string `json:"kid"`
				Signing bool   `json:"signing"`
			}
			Expect(json.Unmarshal([]byte(w.must("keys", "list", "-o", "json")), &keys)).To(Succeed())
			Expect(keys).To(HaveLen(2))
			Expect(keys[0].Signing).To(BeTrue())
			var decoded struct {
				Header map[string]any `json:"header"`
			}
			Expect(json.Unmarshal([]byte(w.cmd(binary, []byte(fresh), "token", "decode", "-o", "json", "-").stdout), &decoded)).To(Succeed())
			Expect(decoded.Header).To(HaveKeyWithValue("kid", keys[0].KID), "the apiserver signs with the new key after the rotation")

			w.must("keys", "retire")
			retired := assumeOld()
			Expect(retired.code).NotTo(Equal(0))
			Expect(retired.stderr).To(ContainSubstring("InvalidIdentityToken"))
			Expect(m.listBucket(w, s).code).To(Equal(0))
		})
	})
	return true
}

var _ = chainSpecs(chainMode{
	name:    "local",
	require: requireCluster,
	up: func(w *world, extra ...string) status {
		w.must(append([]string{"up"}, extra...)...)
		return w.status()
	},
	listBucket: func(w *world, s status) result {
		return w.execPod(filepath.Join(w.home, "s3-test-pod.yaml"), "aws", "s3", "ls", "s3://"+demoBucket)
	},
	runOrders: func(w *world, s status) result {
		return w.cmd(binary, nil, "exec", "-n", ordersNamespace, "--service-account", ordersSA, "--", ordersApp())
	},
	runPodReader: func(w *world, s status, sa, bucket, key string) result {
		return w.cmd(binary, nil, "exec", "-n", podNamespace, "--service-account", sa, "--", podReader(), bucket, key)
	},
	runChain: func(w *world, s status, args ...string) result {
		return w.cmd(binary, nil, append([]string{"exec", "-n", chainNamespace, "--service-account", chainSA, "--", chainReader()}, args...)...)
	},
})
