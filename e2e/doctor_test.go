package e2e

import (
	"encoding/json"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// doctorCheck is one element of `irsa-local doctor -o json`.
type doctorCheck struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix"`
}

type doctorRun struct {
	checks []doctorCheck
	text   string
	code   int
}

// The chain's links in the order doctor checks them.
var doctorChecks = []string{"cluster", "issuer", "jwks", "oidc-provider", "service-account", "webhook", "agent", "trust-policy", "assume", "permissions"}

// doctor runs `irsa-local doctor` with args twice, as JSON and as text, and
// checks both say the same.
func (w *world) doctor(args ...string) doctorRun {
	js := w.cmd(binary, nil, append([]string{"doctor", "-o", "json"}, args...)...)
	var checks []doctorCheck
	ExpectWithOffset(1, json.Unmarshal([]byte(js.stdout), &checks)).To(Succeed(), "doctor -o json: %s", js.stderr)
	names := make([]string, 0, len(checks))
	for _, c := range checks {
		names = append(names, c.Name)
	}
	ExpectWithOffset(1, names).To(Equal(doctorChecks))
	txt := w.cmd(binary, nil, append([]string{"doctor"}, args...)...)
	ExpectWithOffset(1, txt.code).To(Equal(js.code), "text and JSON exit differently")
	return doctorRun{checks: checks, text: txt.stdout, code: js.code}
}

func (r doctorRun) check(name string) doctorCheck {
	for _, c := range r.checks {
		if c.Name == name {
			return c
		}
	}
	Fail("no check " + name)
	return doctorCheck{}
}

// expectHealthy asserts every link is ✓ (the second hop may be skipped
// when there is none to check) and doctor exits 0.
func expectHealthy(r doctorRun) {
	want := len(doctorChecks)
	for _, c := range r.checks {
		if c.Name == "assume" && c.Status == "skip" && c.Detail == "no --assume" {
			want--
			continue
		}
		if c.Name == "agent" && c.Status == "skip" && strings.HasPrefix(c.Detail, "no Pod Identity association") {
			want--
			continue
		}
		ExpectWithOffset(1, c.Status).To(Equal("ok"), "%s: %s", c.Name, c.Detail)
	}
	ExpectWithOffset(1, r.code).To(Equal(0))
	ExpectWithOffset(1, strings.Count(r.text, "\n✓ ")+1).To(Equal(want), r.text)
}

// expectOnlyBroken asserts that doctor marks exactly the named link ✗,
// prints its fix, leaves the others ✓ or skipped, and exits 1.
func expectOnlyBroken(r doctorRun, name string) doctorCheck {
	var broken doctorCheck
	for _, c := range r.checks {
		if c.Name == name {
			broken = c
			continue
		}
		ExpectWithOffset(1, c.Status).To(BeElementOf("ok", "skip"), "%s should not fail: %s", c.Name, c.Detail)
	}
	ExpectWithOffset(1, broken.Status).To(Equal("fail"), "%s: %s", name, broken.Detail)
	ExpectWithOffset(1, broken.Fix).NotTo(BeEmpty())
	ExpectWithOffset(1, r.code).To(Equal(1))
	ExpectWithOffset(1, r.text).To(ContainSubstring("✗ " + name))
	first, _, _ := strings.Cut(broken.Fix, "\n")
	ExpectWithOffset(1, r.text).To(ContainSubstring("fix: " + first))
	return broken
}

// trustWith is the walkthrough's trust policy with conditions on sub and
// aud, keys and principal spelled with the issuer's port as users copy it.
func trustWith(s status, sub, aud string) string {
	p := strings.TrimPrefix(s.Issuer.URL, "https://")
	return `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
  "Principal": {"Federated": "arn:aws:iam::` + s.AWS.AccountID + `:oidc-provider/` + p + `"},
  "Action": "sts:AssumeRoleWithWebIdentity",
  "Condition": {"StringEquals": {"` + p + `:sub": "` + sub + `", "` + p + `:aud": "` + aud + `"}}}]}`
}

// policyLine reads a corrected policy line `"key": "value"` from a fix.
func policyLine(fix, key string) string {
	for _, l := range strings.Split(fix, "\n") {
		var m map[string]string
		if json.Unmarshal([]byte("{"+strings.TrimSpace(l)+"}"), &m) == nil {
			if v, ok := m[key]; ok {
				return v
			}
		}
	}
	Fail("the fix has no line for " + key + ":\n" + fix)
	return ""
}

const (
	demoSubject = "system:serviceaccount:" + demoNamespace + ":" + demoSA
	readOnlyARN = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
)

var _ = Describe("irsa-local doctor on a local cluster", Label("local"), func() {
	var w *world
	var s status
	sa := []string{"-n", demoNamespace, "--service-account", demoSA}
	listBucket := append(append([]string{}, sa...), "--action", "s3:ListBucket", "--resource", "arn:aws:s3:::"+demoBucket)
	BeforeEach(func() {
		requireCluster()
		w = newWorld()
	})
	start := func(upArgs ...string) {
		w.must(append([]string{"up"}, upArgs...)...)
		s = w.status()
	}

	It("marks every link ✓ on a healthy set-up and exits 0", func() {
		start()
		w.setUpWalkthrough(s, demoSA, readOnlyARN)
		r := w.doctor(listBucket...)
		expectHealthy(r)
		Expect(r.check("trust-policy").Detail).To(ContainSubstring("trusts " + demoSubject))
		Expect(r.check("permissions").Detail).To(ContainSubstring("allowed by statement 0 of " + readOnlyARN))
	})

	It("no OIDC provider: names the provider to create, and the command works", func() {
		start("--no-oidc-provider")
		w.setUpWalkthrough(s, demoSA, readOnlyARN)
		c := expectOnlyBroken(w.doctor(sa...), "oidc-provider")
		Expect(c.Detail).To(ContainSubstring("No OpenIDConnect provider found"))
		Expect(c.Fix).To(Equal("aws iam create-open-id-connect-provider --url " + s.Issuer.URL + " --client-id-list sts.amazonaws.com"))
		w.mustAWS(strings.Fields(c.Fix)[1:]...)
		expectHealthy(w.doctor(listBucket...))
	})

	Describe("a trust policy that does not let the token in", func() {
		var key string
		BeforeEach(func() {
			start()
			w.setUpWalkthrough(s, demoSA, readOnlyARN)
			key = strings.TrimPrefix(s.Issuer.URL, "https://")
		})
		setTrust := func(doc string) {
			w.mustAWS("iam", "update-assume-role-policy", "--role-name", demoRole, "--policy-document", doc)
		}

		It("for another namespace: shows the failing condition, the token's value and the corrected line", func() {
			setTrust(trustWith(s, "system:serviceaccount:default:"+demoSA, "sts.amazonaws.com"))
			c := expectOnlyBroken(w.doctor(sa...), "trust-policy")
			Expect(c.Detail).To(ContainSubstring(`wants "system:serviceaccount:default:s3-reader", but the token's sub is "` + demoSubject + `" (another namespace: default)`))
			Expect(policyLine(c.Fix, key+":sub")).To(Equal(demoSubject))
			setTrust(trustWith(s, policyLine(c.Fix, key+":sub"), "sts.amazonaws.com"))
			expectHealthy(w.doctor(listBucket...))
		})

		It("for another service account", func() {
			setTrust(trustWith(s, "system:serviceaccount:"+demoNamespace+":someone-else", "sts.amazonaws.com"))
			c := expectOnlyBroken(w.doctor(sa...), "trust-policy")
			Expect(c.Detail).To(ContainSubstring("(another service account: someone-else)"))
			Expect(policyLine(c.Fix, key+":sub")).To(Equal(demoSubject))
		})

		It("for another audience", func() {
			setTrust(trustWith(s, demoSubject, "https://kubernetes.default.svc"))
			c := expectOnlyBroken(w.doctor(sa...), "trust-policy")
			Expect(c.Detail).To(ContainSubstring(`wants "https://kubernetes.default.svc", but the token's aud is "sts.amazonaws.com"`))
			Expect(policyLine(c.Fix, key+":aud")).To(Equal("sts.amazonaws.com"))
			setTrust(trustWith(s, demoSubject, policyLine(c.Fix, key+":aud")))
			expectHealthy(w.doctor(listBucket...))
		})
	})

	It("a role without the needed permission: suggests the statement, and the suggested command grants it", func() {
		start()
		w.setUpWalkthrough(s, demoSA, "")
		c := expectOnlyBroken(w.doctor(listBucket...), "permissions")
		Expect(c.Detail).To(ContainSubstring("s3:ListBucket on arn:aws:s3:::demo-bucket: role " + demoRole + " has no policy"))
		Expect(c.Fix).To(ContainSubstring(`{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::demo-bucket"}`))
		_, command, found := strings.Cut(c.Fix, "for example: ")
		Expect(found).To(BeTrue())
		Expect(w.cmd("sh", nil, "-c", command).code).To(Equal(0))
		expectHealthy(w.doctor(listBucket...))
	})

	It("a service account without the annotation: names the role that trusts it", func() {
		start()
		w.setUpWalkthrough(s, demoSA, readOnlyARN)
		w.mustKubectl(s, "annotate", "serviceaccount", demoSA, "-n", demoNamespace, "eks.amazonaws.com/role-arn-")
		r := w.doctor(listBucket...)
		c := expectOnlyBroken(r, "service-account")
		roleARN := "arn:aws:iam::" + s.AWS.AccountID + ":role/" + demoRole
		annotate, alternative, _ := strings.Cut(c.Fix, "\n")
		Expect(annotate).To(Equal("kubectl annotate serviceaccount " + demoSA + " -n " + demoNamespace + " eks.amazonaws.com/role-arn=" + roleARN))
		// The other way to give the pods a role: an EKS Pod Identity
		// association.
		Expect(alternative).To(ContainSubstring("aws eks create-pod-identity-association --cluster-name irsa-local --namespace " + demoNamespace + " --service-account " + demoSA + " --role-arn ROLE_ARN"))
		Expect(r.check("trust-policy").Status).To(Equal("skip"))
		w.mustKubectl(s, strings.Fields(annotate)[1:]...)
		expectHealthy(w.doctor(listBucket...))
	})

	It("the webhook not registered: says so, and a restart registers it again", func() {
		start()
		w.setUpWalkthrough(s, demoSA, readOnlyARN)
		w.mustKubectl(s, "delete", "mutatingwebhookconfiguration", "pod-identity-webhook")
		c := expectOnlyBroken(w.doctor(sa...), "webhook")
		Expect(c.Detail).To(ContainSubstring("pod-identity-webhook is not registered"))
		Expect(c.Fix).To(ContainSubstring("irsa-local down && irsa-local up"))
		w.must("down")
		w.must("up")
		expectHealthy(w.doctor(listBucket...))
	})

	It("a token signed by a retired key fails the kid check; the apiserver's fresh tokens pass", func() {
		start()
		w.setUpWalkthrough(s, demoSA, readOnlyARN)
		old := w.writeFile("old-token", w.mustKubectl(s, "create", "token", demoSA, "-n", demoNamespace, "--audience", "sts.amazonaws.com"))
		w.must("keys", "rotate")
		w.must("keys", "retire")
		c := expectOnlyBroken(w.doctor(append(sa, "--token", old)...), "jwks")
		Expect(c.Detail).To(ContainSubstring("that signed the token in " + old))
		Expect(c.Fix).To(ContainSubstring("kubectl create token " + demoSA + " -n " + demoNamespace + " --audience sts.amazonaws.com"))
		expectHealthy(w.doctor(listBucket...))
	})
})

var _ = Describe("irsa-local doctor without a cluster", Label("none"), func() {
	It("checks the issuer, the provider and the role with minted tokens, and skips the cluster's links", func() {
		w := newWorld()
		w.must("up", "--cluster", "none")
		s := w.status()
		w.awsEnv(s)
		w.writeFile("trust-policy.json", walkthroughTrust(s, demoSA))
		w.mustAWS("iam", "create-role", "--role-name", demoRole, "--assume-role-policy-document", "file://trust-policy.json")
		roleARN := "arn:aws:iam::" + s.AWS.AccountID + ":role/" + demoRole
		args := []string{"-n", demoNamespace, "--service-account", demoSA, "--role-arn", roleARN}

		r := w.doctor(args...)
		Expect(r.code).To(Equal(0), r.text)
		for _, name := range []string{"cluster", "issuer", "service-account", "webhook", "permissions"} {
			Expect(r.check(name).Status).To(Equal("skip"), name)
		}
		Expect(r.check("cluster").Detail).To(ContainSubstring("--cluster none"))
		for _, name := range []string{"jwks", "oidc-provider", "trust-policy"} {
			Expect(r.check(name).Status).To(Equal("ok"), "%s: %s", name, r.check(name).Detail)
		}

		c := expectOnlyBroken(w.doctor("-n", demoNamespace, "--service-account", "other", "--role-arn", roleARN), "trust-policy")
		Expect(c.Detail).To(ContainSubstring("another service account: " + demoSA))

		w.must("down")
		r = w.doctor(args...)
		Expect(expectOnlyBroken(r, "cluster").Detail).To(ContainSubstring("is not running"))
		Expect(r.check("jwks").Detail).To(ContainSubstring("is not running"))
	})
})
