// Command loadgen drives AssumeRoleWithWebIdentity against a running
// irsa-local environment and reports throughput, latency percentiles and the
// environment's resident memory. With -moto it then sends the same load to
// a moto_server it starts, and prints both side by side. hack/load.sh and
// hack/bench.sh run it; docs/performance.md has the figures it measured.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"
)

func main() {
	bin := flag.String("bin", "bin/irsa-local", "irsa-local binary")
	concurrency := flag.Int("c", 8, "concurrent clients")
	duration := flag.Duration("d", 60*time.Second, "how long to send requests")
	requests := flag.Int("n", 0, "send this many requests instead of for -d")
	moto := flag.String("moto", "", "moto_server to start and load the same way, for comparison")
	flag.Parse()
	if err := run(*bin, load{concurrency: *concurrency, duration: *duration, requests: *requests}, *moto); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

type status struct {
	PID    int `json:"pid"`
	Issuer struct {
		URL string `json:"url"`
	} `json:"issuer"`
	AWS struct {
		Endpoint        string `json:"endpoint"`
		OIDCProviderARN string `json:"oidcProviderArn"`
	} `json:"aws"`
}

// load is how much to send: requests in all when set, else for duration.
type load struct {
	concurrency int
	duration    time.Duration
	requests    int
}

func (l load) String() string {
	if l.requests > 0 {
		return fmt.Sprintf("%d requests at concurrency %d", l.requests, l.concurrency)
	}
	return fmt.Sprintf("concurrency %d for %s", l.concurrency, l.duration)
}

// result is one side's measurement.
type result struct {
	name      string
	ok        int
	failed    int64
	elapsed   time.Duration
	latencies []time.Duration // sorted
	rss       int64
	pid       int
}

func (r result) rps() float64 { return float64(r.ok) / r.elapsed.Seconds() }

func (r result) pct(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[int(p*float64(len(r.latencies)-1))]
}

func run(bin string, l load, motoServer string) error {
	out, err := exec.Command(bin, "status", "-o", "json").Output()
	if err != nil {
		return fmt.Errorf("read status (is the environment up?): %w", err)
	}
	var st status
	if err := json.Unmarshal(out, &st); err != nil {
		return fmt.Errorf("parse status: %w", err)
	}
	if st.AWS.OIDCProviderARN == "" {
		return errors.New("the environment has no OIDC provider; start it without --no-oidc-provider")
	}
	roleARN, err := ensureRole(st.AWS.Endpoint, st.AWS.OIDCProviderARN)
	if err != nil {
		return err
	}
	tok, err := exec.Command(bin, "token", "--namespace", "load", "--service-account", "load", "--duration", "24h").Output()
	if err != nil {
		return fmt.Errorf("mint token: %w", err)
	}
	token := strings.TrimSpace(string(tok))
	ours := send("irsa-local", st.AWS.Endpoint, roleARN, token, l)
	ours.pid = st.PID
	ours.rss, _ = residentMemory(st.PID)
	results := []result{ours}
	if motoServer != "" {
		theirs, err := loadMoto(motoServer, st.AWS.OIDCProviderARN, token, l)
		if err != nil {
			return err
		}
		results = append(results, theirs)
	}
	report(l, results)
	for _, r := range results {
		if r.failed > 0 {
			return fmt.Errorf("%s: %d requests failed", r.name, r.failed)
		}
	}
	return nil
}

// send posts AssumeRoleWithWebIdentity to endpoint from l.concurrency
// clients and measures each answer. Each client keeps one HTTP/1.1
// connection and writes the same prepared request on it, reading the
// answer with http.ReadResponse: the load generator shares the machine's
// cores with the server it measures, and net/http's client (a reader and
// a writer goroutine per connection, a request object per call) would
// take as much CPU per call as the server does.
func send(name, endpoint, roleARN, token string, l load) result {
	body := url.Values{
		"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "RoleArn": {roleARN},
		"RoleSessionName": {"load"}, "WebIdentityToken": {token},
	}.Encode()
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "http" {
		return result{name: name, failed: 1}
	}
	request := []byte("POST / HTTP/1.1\r\nHost: " + u.Host + "\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	var (
		mu        sync.Mutex
		latencies []time.Duration
		failures  atomic.Int64
		left      atomic.Int64
		wg        sync.WaitGroup
	)
	left.Store(int64(l.requests))
	more := func(deadline time.Time) bool {
		if l.requests > 0 {
			return left.Add(-1) >= 0
		}
		return time.Now().Before(deadline)
	}
	deadline := time.Now().Add(l.duration)
	start := time.Now()
	for i := 0; i < l.concurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1<<12)
			c := &conn{addr: u.Host}
			defer c.close()
			for more(deadline) {
				t0 := time.Now()
				if status, err := c.roundTrip(request); err != nil || status != http.StatusOK {
					failures.Add(1)
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			latencies = append(latencies, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	r := result{name: name, ok: len(latencies), failed: failures.Load(), elapsed: time.Since(start), latencies: latencies}
	sort.Slice(r.latencies, func(i, j int) bool { return r.latencies[i] < r.latencies[j] })
	return r
}

// conn is one client's keep-alive connection, dialled again when the
// server closes it (moto_server's may answer HTTP/1.0).
type conn struct {
	addr string
	c    net.Conn
	br   *bufio.Reader
}

func (c *conn) roundTrip(request []byte) (int, error) {
	if c.c == nil {
		nc, err := net.Dial("tcp", c.addr)
		if err != nil {
			return 0, err
		}
		c.c, c.br = nc, bufio.NewReaderSize(nc, 16<<10)
	}
	if _, err := c.c.Write(request); err != nil {
		c.close()
		return 0, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.close()
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.Close {
		c.close()
	}
	return resp.StatusCode, err
}

func (c *conn) close() {
	if c.c != nil {
		c.c.Close()
		c.c = nil
	}
}

// loadMoto starts moto_server on a free port, creates the same provider
// and role in it, and sends it the same load. moto_server does not check
// the token; it is there as the baseline users know.
func loadMoto(motoServer, providerARN, token string, l load) (result, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	cmd := exec.Command(motoServer, "-H", "127.0.0.1", "-p", port)
	if err := cmd.Start(); err != nil {
		return result{}, fmt.Errorf("start moto_server: %w", err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	endpoint := "http://127.0.0.1:" + port
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
			c.Close()
			break
		}
		if i > 300 {
			return result{}, errors.New("moto_server did not listen within 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	roleARN, err := ensureRole(endpoint, providerARN)
	if err != nil {
		return result{}, fmt.Errorf("moto_server: %w", err)
	}
	r := send("moto_server", endpoint, roleARN, token, l)
	r.pid = cmd.Process.Pid
	r.rss, _ = residentMemory(r.pid)
	return r, nil
}

func report(l load, results []result) {
	fmt.Printf("AssumeRoleWithWebIdentity, %s\n", l)
	fmt.Printf("  %-12s %10s %10s %10s %10s %8s %14s\n", "", "ok", "failed", "req/s", "p50", "p99", "RSS after")
	for _, r := range results {
		fmt.Printf("  %-12s %10d %10d %10.0f %10s %8s %11.1f MB\n", r.name, r.ok, r.failed, r.rps(),
			r.pct(0.50).Round(10*time.Microsecond), r.pct(0.99).Round(10*time.Microsecond), float64(r.rss)/(1<<20))
	}
	if len(results) == 2 && results[1].rps() > 0 {
		fmt.Printf("  irsa-local: %.1fx moto_server's throughput, p50 %.0fx lower\n", results[0].rps()/results[1].rps(),
			float64(results[1].pct(0.5))/float64(max(results[0].pct(0.5), 1)))
	}
}

// ensureRole creates the role the load uses at endpoint, trusting
// load/load through the provider.
func ensureRole(endpoint, providerARN string) (string, error) {
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
	}
	c := iam.NewFromConfig(cfg)
	_, key, _ := strings.Cut(providerARN, "oidc-provider/")
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + providerARN +
		`"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + key + `:sub":"system:serviceaccount:load:load","` + key + `:aud":"sts.amazonaws.com"}}}]}`
	out, err := c.CreateRole(context.Background(), &iam.CreateRoleInput{RoleName: aws.String("irsa-local-load"), AssumeRolePolicyDocument: aws.String(trust)})
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "EntityAlreadyExists" {
		got, err := c.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String("irsa-local-load")})
		if err != nil {
			return "", fmt.Errorf("get load role: %w", err)
		}
		return *got.Role.Arn, nil
	}
	if err != nil {
		return "", fmt.Errorf("create load role: %w", err)
	}
	return *out.Role.Arn, nil
}

func residentMemory(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmRSS")
}
