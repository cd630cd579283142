package e2e

import (
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// motoImage is the image hack/moto-image.sh builds; make e2e-kind builds it
// before the Docker specs run.
const motoImage = "irsa-local/moto:5.2.1-r2"

// backendContainers lists the containers labelled with an environment's
// state directory.
func backendContainers(dir string) []string {
	out, err := exec.Command("docker", "ps", "-aq", "--filter", "label=dev.irsa-local.env="+dir).Output()
	Expect(err).NotTo(HaveOccurred())
	return strings.Fields(string(out))
}

var _ = Describe("the backend in a container", Label("container"), func() {
	It("runs moto's image through testcontainers-go, authorizes in front of it, and is removed by down even after a crash", func() {
		out, err := exec.Command("docker", "image", "inspect", "--format", "{{.Id}}", motoImage).CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "image %s is not built; run hack/moto-image.sh: %s", motoImage, out)
		w := newWorld()
		w.must("up", "--cluster", "none", "--backend", "container:moto")
		s := w.status()
		var d struct {
			Backend struct {
				Kind string `json:"kind"`
				URL  string `json:"url"`
			} `json:"backend"`
		}
		Expect(json.Unmarshal([]byte(w.must("status", "-o", "json")), &d)).To(Succeed())
		Expect(d.Backend.Kind).To(Equal("container:moto"))
		Expect(backendContainers(s.StateDir)).To(HaveLen(1))

		// The admin creates a queue in the container; a web identity
		// session of a role without SQS permissions is refused.
		w.awsEnv(s)
		queue := w.mustAWS("sqs", "create-queue", "--queue-name", "orders", "--endpoint-url", s.AWS.Endpoint)
		Expect(queue["QueueUrl"]).To(HaveSuffix("/" + s.AWS.AccountID + "/orders"))
		w.writeFile("trust.json", walkthroughTrust(s, "app"))
		w.mustAWS("iam", "create-role", "--role-name", "app", "--assume-role-policy-document", "file://trust.json")
		token := strings.TrimSpace(w.must("token", "-n", demoNamespace, "--service-account", "app"))
		creds := w.mustAWS("sts", "assume-role-with-web-identity", "--role-arn", "arn:aws:iam::"+s.AWS.AccountID+":role/app",
			"--role-session-name", "pod", "--web-identity-token", token)["Credentials"].(map[string]any)
		session := w.cmd("env", nil, "AWS_ACCESS_KEY_ID="+creds["AccessKeyId"].(string), "AWS_SECRET_ACCESS_KEY="+creds["SecretAccessKey"].(string),
			"AWS_SESSION_TOKEN="+creds["SessionToken"].(string), requireTool("aws"), "sqs", "send-message", "--endpoint-url", s.AWS.Endpoint,
			"--queue-url", queue["QueueUrl"].(string), "--message-body", "x")
		Expect(session.code).NotTo(Equal(0))
		Expect(session.stderr).To(ContainSubstring("is not authorized to perform: sqs:SendMessage on resource: arn:aws:sqs:us-east-1:" + s.AWS.AccountID + ":orders"))

		// A container that dies shows as failed.
		id := backendContainers(s.StateDir)[0]
		Expect(exec.Command("docker", "kill", id).Run()).To(Succeed())
		Eventually(func() string {
			for _, c := range w.status().Components {
				if c.Name == "backend" {
					return c.State + " " + c.Error
				}
			}
			return ""
		}).WithTimeout(30 * time.Second).WithPolling(time.Second).Should(HavePrefix("failed container"))
		w.must("down")
		Expect(backendContainers(s.StateDir)).To(BeEmpty(), "down removes the container")

		// After a crash of irsa-local itself, down finds the container by
		// its label.
		w.must("up", "--cluster", "none", "--backend", "container:moto")
		s = w.status()
		Expect(backendContainers(s.StateDir)).To(HaveLen(1))
		Expect(exec.Command("kill", "-9", strconv.Itoa(s.PID)).Run()).To(Succeed())
		Eventually(func() bool { return w.status().Running }).WithTimeout(10 * time.Second).Should(BeFalse())
		w.must("down")
		Expect(backendContainers(s.StateDir)).To(BeEmpty(), "down after a crash removes the container")
	})
})
