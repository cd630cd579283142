package e2e

import (
	"encoding/json"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("irsa-local policy suggest", Label("none"), func() {
	It("turns the walkthrough role's calls into its least-privilege policy and compares it with AmazonS3ReadOnlyAccess", func() {
		w := newWorld()
		w.must("up", "--cluster", "none")
		s := w.status()
		w.awsEnv(s)
		w.writeFile("trust-policy.json", walkthroughTrust(s, demoSA))
		w.mustAWS("iam", "create-role", "--role-name", demoRole, "--assume-role-policy-document", "file://trust-policy.json")
		w.mustAWS("iam", "attach-role-policy", "--role-name", demoRole, "--policy-arn", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
		w.mustAWS("s3api", "create-bucket", "--bucket", demoBucket)
		w.writeFile("hello.txt", "hello\n")
		Expect(w.aws("s3", "cp", "hello.txt", "s3://"+demoBucket+"/hello.txt").code).To(Equal(0))

		_, _, code := w.run("policy", "suggest", "--role", demoRole)
		Expect(code).To(Equal(0))

		// The pod's calls: a listing and a read allowed, a write refused.
		creds := w.assumeWithToken("arn:aws:iam::"+s.AWS.AccountID+":role/"+demoRole, demoNamespace, demoSA)
		pod := w.withCredentials(creds)
		run := func(args ...string) result {
			saved := w.env
			w.env = pod
			defer func() { w.env = saved }()
			return w.aws(args...)
		}
		Expect(run("s3", "ls", "s3://"+demoBucket).code).To(Equal(0))
		Expect(run("s3api", "get-object", "--bucket", demoBucket, "--key", "hello.txt", "out.txt").code).To(Equal(0))
		Expect(run("s3api", "put-object", "--bucket", demoBucket, "--key", "new.txt").code).NotTo(Equal(0))

		var r struct {
			Policy struct {
				Statement []struct {
					Action   []string
					Resource []string
				}
			} `json:"policy"`
			Comparison struct {
				Broader []struct{ Policy string }           `json:"broader"`
				Missing []struct{ Action, Resource string } `json:"missing"`
			} `json:"comparison"`
		}
		Expect(json.Unmarshal([]byte(w.must("policy", "suggest", "--role", demoRole, "-o", "json")), &r)).To(Succeed())
		var pairs []string
		for _, st := range r.Policy.Statement {
			for _, a := range st.Action {
				for _, res := range st.Resource {
					pairs = append(pairs, a+" "+res)
				}
			}
		}
		Expect(pairs).To(ConsistOf(
			"s3:ListBucket arn:aws:s3:::"+demoBucket,
			"s3:GetObject arn:aws:s3:::"+demoBucket+"/hello.txt",
			"s3:PutObject arn:aws:s3:::"+demoBucket+"/new.txt"))
		Expect(r.Comparison.Broader).To(HaveLen(1))
		Expect(r.Comparison.Broader[0].Policy).To(Equal("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"))
		Expect(r.Comparison.Missing).To(HaveLen(1))
		Expect(r.Comparison.Missing[0].Action).To(Equal("s3:PutObject"))

		text := w.must("policy", "suggest", "--role", demoRole)
		Expect(text).To(ContainSubstring("broader than the use: arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"))
		Expect(text).To(ContainSubstring("missing: s3:PutObject on arn:aws:s3:::" + demoBucket + "/new.txt was refused 1 time(s)"))
		Expect(strings.Count(text, `"Sid"`)).To(BeNumerically(">=", 2))

		_, errOut, code := w.run("policy", "suggest")
		Expect(code).To(Equal(1))
		Expect(oneLine(errOut)).To(ContainSubstring("name the role with --role"))
	})
})
