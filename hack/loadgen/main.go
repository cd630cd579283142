// Command loadgen drives AssumeRoleWithWebIdentity against a running
// irsa-local environment and reports throughput, latency percentiles and the
// environment's resident memory. hack/load.sh runs it; see the README for
// the figures it measured.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
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
	flag.Parse()
	if err := run(*bin, *concurrency, *duration); err != nil {
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

func run(bin string, concurrency int, duration time.Duration) error {
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
	roleARN, err := ensureRole(st)
	if err != nil {
		return err
	}
	tok, err := exec.Command(bin, "token", "--namespace", "load", "--service-account", "load", "--duration", "24h").Output()
	if err != nil {
		return fmt.Errorf("mint token: %w", err)
	}
	body := url.Values{
		"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "RoleArn": {roleARN},
		"RoleSessionName": {"load"}, "WebIdentityToken": {strings.TrimSpace(string(tok))},
	}.Encode()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: concurrency}}

	var (
		mu        sync.Mutex
		latencies []time.Duration
		failures  atomic.Int64
		wg        sync.WaitGroup
	)
	deadline := time.Now().Add(duration)
	start := time.Now()
	for i := 0; i < concurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1<<16)
			for time.Now().Before(deadline) {
				t0 := time.Now()
				resp, err := client.Post(st.AWS.Endpoint, "application/x-www-form-urlencoded; charset=utf-8", strings.NewReader(body))
				if err != nil {
					failures.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
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
	elapsed := time.Since(start)
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[int(p*float64(len(latencies)-1))]
	}
	fmt.Printf("AssumeRoleWithWebIdentity, concurrency %d, %s\n", concurrency, duration)
	fmt.Printf("  requests:   %d ok, %d failed\n", len(latencies), failures.Load())
	fmt.Printf("  throughput: %.0f requests/s\n", float64(len(latencies))/elapsed.Seconds())
	fmt.Printf("  latency:    p50 %s  p90 %s  p99 %s\n", pct(0.50).Round(10*time.Microsecond), pct(0.90).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond))
	if rss, err := residentMemory(st.PID); err == nil {
		fmt.Printf("  memory:     %.1f MB resident (irsa-local pid %d)\n", float64(rss)/(1<<20), st.PID)
	}
	if failures.Load() > 0 {
		return fmt.Errorf("%d requests failed", failures.Load())
	}
	return nil
}

// ensureRole creates the role the load uses, trusting load/load.
func ensureRole(st status) (string, error) {
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(st.AWS.Endpoint),
	}
	c := iam.NewFromConfig(cfg)
	_, key, _ := strings.Cut(st.AWS.OIDCProviderARN, "oidc-provider/")
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + st.AWS.OIDCProviderARN +
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
