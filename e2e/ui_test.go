package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// chromium finds Debian's Chromium: $CHROMIUM, else /usr/bin/chromium. A
// missing browser skips the spec, or fails it with
// IRSA_LOCAL_REQUIRE_CHROMIUM=1 (as CI sets).
func chromium() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	missingTool("IRSA_LOCAL_REQUIRE_CHROMIUM", "chromium not found on PATH (apt-get install chromium), or set CHROMIUM")
	return ""
}

// screenshotDir is where the spec writes its screenshots: $ARTIFACTS, else
// bin/e2e-artifacts of the repository.
func screenshotDir() string {
	dir := os.Getenv("ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "bin", "e2e-artifacts")
	}
	Expect(os.MkdirAll(dir, 0o755)).To(Succeed())
	return dir
}

// startUI runs irsa-local ui on a free loopback port until the spec ends
// and returns the address it printed.
func (w *world) startUI(args ...string) string {
	c := exec.Command(binary, append([]string{"ui", "--no-open", "--listen", "127.0.0.1:0"}, args...)...)
	c.Env, c.Dir = w.env, w.home
	out, err := c.StdoutPipe()
	Expect(err).NotTo(HaveOccurred())
	c.Stderr = GinkgoWriter
	Expect(c.Start()).To(Succeed())
	DeferCleanup(func() {
		_ = c.Process.Signal(os.Interrupt)
		_ = c.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	Expect(err).NotTo(HaveOccurred(), "irsa-local ui printed no address")
	go func() { _, _ = io.Copy(GinkgoWriter, out) }()
	addr := regexp.MustCompile(`http://\S+`).FindString(line)
	Expect(addr).NotTo(BeEmpty(), "irsa-local ui printed: %s", line)
	return addr
}

// browser is a headless Chromium tab for one spec.
type browser struct {
	ctx context.Context
	dir string
}

// shots numbers the screenshots of the whole run.
var shots int

func newBrowser() *browser {
	exe := chromium()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox refuses to start
		chromedp.WindowSize(1400, 1100),
		chromedp.Flag("lang", "en-US"),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	DeferCleanup(func() { cancel(); cancelAlloc() })
	// The first action starts the browser and ties its life to the context
	// it runs on: start it on the tab's own, not on a per-action timeout.
	Expect(chromedp.Do(ctx)).To(Succeed())
	return &browser{ctx: ctx, dir: screenshotDir()}
}

func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	ExpectWithOffset(1, chromedp.Do(ctx, actions...)).To(Succeed())
}

// eval evaluates a JavaScript expression in the page and decodes its value.
func evalIn[T any](b *browser, expr string) T {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	ExpectWithOffset(1, err).NotTo(HaveOccurred(), "evaluate %s", expr)
	return v
}

// screenshot saves the viewport as NN-name.png among the artifacts.
func (b *browser) screenshot(name string) {
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	Expect(err).NotTo(HaveOccurred())
	shots++
	path := filepath.Join(b.dir, fmt.Sprintf("ui-%02d-%s.png", shots, name))
	Expect(os.WriteFile(path, png, 0o644)).To(Succeed())
	GinkgoWriter.Printf("screenshot: %s\n", path)
}

// box is one link of the chain as the page shows it.
type box struct {
	Check  string `json:"check"`
	Status string `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix"`
}

const boxesJS = `[...document.querySelectorAll("#chain li.link")].map(l => ({
  check: l.dataset.check, status: l.dataset.status,
  detail: l.querySelector(".detail").textContent,
  fix: (l.querySelector(".fix pre") || {textContent: ""}).textContent}))`

func boxes(b *browser) []box { return evalIn[[]box](b, boxesJS) }

func boxOf(b *browser, check string) box {
	for _, x := range boxes(b) {
		if x.Check == check {
			return x
		}
	}
	return box{}
}

var _ = Describe("irsa-local ui in headless Chromium", Label("local"), func() {
	It("shows the walkthrough's chain, turns the broken trust box red with doctor's text, and lists a refused call live", func() {
		requireCluster()
		w := newWorld()
		b := newBrowser()
		w.must("up")
		s := w.status()
		pod := w.setUpWalkthrough(s, demoSA, readOnlyARN)
		addr := w.startUI()

		b.do(chromedp.Navigate(addr))
		// The only annotated service account is chosen, and every link
		// the walkthrough has holds.
		Eventually(func() []string {
			var got []string
			for _, x := range boxes(b) {
				got = append(got, x.Check+"="+x.Status)
			}
			return got
		}).WithTimeout(20 * time.Second).WithPolling(200 * time.Millisecond).Should(And(
			ContainElements("cluster=ok", "issuer=ok", "jwks=ok", "oidc-provider=ok", "service-account=ok", "webhook=ok", "trust-policy=ok"),
			Not(ContainElement(HaveSuffix("=fail")))))
		Expect(evalIn[string](b, `document.getElementById("chain-sa").value`)).To(Equal(demoNamespace + "/" + demoSA))
		Expect(evalIn[string](b, `document.getElementById("live").textContent`)).To(ContainSubstring("live"))
		b.screenshot("chain-green")

		// Break the trust policy: the page sees the IAM write in the trail
		// and checks the chain again.
		w.mustAWS("iam", "update-assume-role-policy", "--role-name", demoRole, "--policy-document", trustWith(s, "system:serviceaccount:default:"+demoSA, "sts.amazonaws.com"))
		Eventually(func() string { return boxOf(b, "trust-policy").Status }).
			WithTimeout(2 * time.Second).WithPolling(100 * time.Millisecond).Should(Equal("fail"))
		shown := boxOf(b, "trust-policy")
		doc := w.doctor("-n", demoNamespace, "--service-account", demoSA).check("trust-policy")
		Expect(doc.Status).To(Equal("fail"))
		Expect(shown.Detail).To(Equal(doc.Detail))
		Expect(shown.Fix).To(Equal(doc.Fix))
		Expect(evalIn[string](b, `document.querySelector('#chain li[data-check="trust-policy"] .state').textContent`)).To(Equal("BROKEN"))
		b.screenshot("trust-broken")

		// Mend it; a refused write appears in the live trail with its reason.
		w.mustAWS("iam", "update-assume-role-policy", "--role-name", demoRole, "--policy-document", trustWith(s, demoSubject, "sts.amazonaws.com"))
		Eventually(func() string { return boxOf(b, "trust-policy").Status }).WithTimeout(5 * time.Second).Should(Equal("ok"))
		put := w.execPod(pod, "aws", "s3", "cp", filepath.Join(w.home, "hello.txt"), "s3://"+demoBucket+"/new.txt")
		Expect(put.stderr).To(ContainSubstring("AccessDenied"))
		const deniedJS = `[...document.querySelectorAll('#trail li[data-decision="deny"][data-action="PutObject"] .why')].map(e => e.textContent)`
		Eventually(func() []string { return evalIn[[]string](b, deniedJS) }).
			WithTimeout(2 * time.Second).WithPolling(100 * time.Millisecond).Should(ContainElement(
			And(ContainSubstring("s3:PutObject on arn:aws:s3:::"+demoBucket+"/new.txt"), ContainSubstring(readOnlyARN))))
		b.screenshot("trail-denied")

		// The decision filter leaves only refusals.
		b.do(chromedp.SetValue("#filter-decision", "deny"))
		evalIn[any](b, `document.getElementById("filter-decision").dispatchEvent(new Event("change"))`)
		Expect(evalIn[[]string](b, `[...document.querySelectorAll("#trail li")].map(l => l.dataset.decision)`)).To(And(Not(BeEmpty()), HaveEach("deny")))
	})

	It("inspects a token, suggests the least-privilege policy, and every view is reachable from the keyboard", func() {
		requireCluster()
		w := newWorld()
		b := newBrowser()
		w.must("up")
		s := w.status()
		pod := w.setUpWalkthrough(s, demoSA, readOnlyARN)
		Expect(w.execPod(pod, "aws", "s3", "ls", "s3://"+demoBucket).code).To(Equal(0))
		Expect(w.execPod(pod, "aws", "s3", "cp", filepath.Join(w.home, "hello.txt"), "s3://"+demoBucket+"/new.txt").code).NotTo(Equal(0))
		addr := w.startUI()
		b.do(chromedp.Navigate(addr))
		Eventually(func() string { return boxOf(b, "trust-policy").Status }).WithTimeout(20 * time.Second).Should(Equal("ok"))

		// Keys 1-4 switch views; Tab reaches the controls of each.
		b.do(chromedp.KeyEvent("3"))
		Expect(evalIn[bool](b, `!document.getElementById("view-token").hidden && document.activeElement.id === "tab-token"`)).To(BeTrue())
		b.do(chromedp.KeyEvent("\t"))
		Expect(evalIn[string](b, `document.activeElement.id`)).To(Equal("token-input"))

		// A token of another service account is refused at the trust policy.
		w.mustKubectl(s, "create", "serviceaccount", "someone-else", "-n", demoNamespace)
		other := strings.TrimSpace(w.must("token", "-n", demoNamespace, "--service-account", "someone-else"))
		b.do(chromedp.SendKeys("#token-input", other), chromedp.KeyEvent("\t"), chromedp.KeyEvent("\r"))
		Eventually(func() string {
			return evalIn[string](b, `(document.querySelector("#token-result .verdict-box") || {textContent: ""}).textContent`)
		}).WithTimeout(15 * time.Second).Should(HavePrefix("✗ Refused at "))
		Expect(evalIn[string](b, `[...document.querySelectorAll("#token-result dd")].map(d => d.textContent).join(" ")`)).To(ContainSubstring("system:serviceaccount:" + demoNamespace + ":someone-else"))
		b.screenshot("token-refused")

		// The advisor: the walkthrough role's three calls, and the write
		// reported missing.
		b.do(chromedp.KeyEvent("4"), chromedp.KeyEvent("\t"))
		Expect(evalIn[string](b, `document.activeElement.id`)).To(Equal("advisor-role"))
		b.do(chromedp.SetValue("#advisor-role", "arn:aws:iam::"+s.AWS.AccountID+":role/"+demoRole), chromedp.Click("#advisor-form button"))
		Eventually(func() string {
			return evalIn[string](b, `(document.getElementById("advisor-policy") || {textContent: ""}).textContent`)
		}).WithTimeout(15 * time.Second).Should(And(ContainSubstring(`"s3:ListBucket"`), ContainSubstring(`"arn:aws:s3:::`+demoBucket+`/new.txt"`)))
		findings := evalIn[[]string](b, `[...document.querySelectorAll("#advisor-result .finding")].map(e => e.textContent)`)
		Expect(findings).To(ContainElement(HavePrefix("Broader than the use: " + readOnlyARN)))
		Expect(findings).To(ContainElement("Missing: s3:PutObject on arn:aws:s3:::" + demoBucket + "/new.txt was refused 1 time(s)"))
		b.screenshot("advisor")

		// The inventory lists the role with its trust policy and the
		// annotated service account.
		b.do(chromedp.KeyEvent("2"))
		Eventually(func() string {
			return evalIn[string](b, `document.getElementById("view-inventory").textContent`)
		}).WithTimeout(10 * time.Second).Should(And(ContainSubstring(demoRole), ContainSubstring("eks.amazonaws.com/role-arn"), ContainSubstring("sts:AssumeRoleWithWebIdentity")))
	})

	It("shared beyond loopback, asks for the printed token", func() {
		w := newWorld()
		w.must("up", "--cluster", "none")
		addr := w.startUI("--listen", "0.0.0.0:0")
		Expect(addr).To(MatchRegexp(`\?token=[A-Za-z0-9_-]{20,}$`))
		bare := strings.SplitN(addr, "?", 2)[0]
		res, err := http.Get(bare + "api/inventory")
		Expect(err).NotTo(HaveOccurred())
		res.Body.Close()
		Expect(res.StatusCode).To(Equal(http.StatusUnauthorized))
		b := newBrowser()
		b.do(chromedp.Navigate(addr))
		Eventually(func() string { return evalIn[string](b, `document.getElementById("env").textContent`) }).
			WithTimeout(10 * time.Second).Should(ContainSubstring("cluster none"))
		// The token left the address bar for a cookie, which the page's
		// requests carry.
		Expect(evalIn[string](b, `location.search`)).To(BeEmpty())
		Eventually(func() string { return evalIn[string](b, `document.getElementById("live").textContent`) }).
			WithTimeout(10 * time.Second).Should(ContainSubstring("live"))
	})
})
