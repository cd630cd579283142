package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/irsa-local/irsa-local/internal/engine"
	"github.com/irsa-local/irsa-local/internal/envdir"
)

// parseCreate binds fresh CreateFlags to a command, as up and serve do, and
// parses args.
func parseCreate(t *testing.T, args ...string) (*CreateFlags, error) {
	t.Helper()
	f := &CreateFlags{}
	cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
	f.Bind(cmd)
	cmd.SetArgs(args)
	cmd.SetOut(new(strings.Builder))
	cmd.SetErr(new(strings.Builder))
	if err := cmd.Execute(); err != nil {
		return f, err
	}
	return f, f.Validate()
}

func TestCreateFlagsParse(t *testing.T) {
	defaults := CreateFlags{Cluster: "local", IssuerHost: "127.0.0.1", Region: "us-east-1", GracePeriod: 3 * time.Second, Backend: "auto", Webhook: "auto", Image: "irsa-local:latest"}
	for _, tc := range []struct {
		args    []string
		want    func(*CreateFlags)
		wantErr string
	}{
		{args: nil, want: func(*CreateFlags) {}},
		{args: []string{"--cluster", "none", "--issuer-port", "8443", "--aws-port=4566", "--region", "eu-west-1"}, want: func(f *CreateFlags) {
			f.Cluster, f.IssuerPort, f.AWSPort, f.Region = "none", 8443, 4566, "eu-west-1"
		}},
		{args: []string{"--no-oidc-provider", "--no-endpoint-injection", "--webhook-grace-period", "0s"}, want: func(f *CreateFlags) {
			f.NoOIDCProvider, f.NoInjection, f.GracePeriod = true, true, 0
		}},
		{args: []string{"--cluster", "kind", "--kubernetes-version", "v1.35.0"}, want: func(f *CreateFlags) {
			f.Cluster, f.KubeVersion = "kind", "v1.35.0"
		}},
		{args: []string{"--cluster", "kind", "--kind-image", "kindest/node:v1.35.0"}, want: func(f *CreateFlags) {
			f.Cluster, f.KindImage = "kind", "kindest/node:v1.35.0"
		}},
		{args: []string{"--backend", "http://localhost:4566"}, want: func(f *CreateFlags) { f.Backend = "http://localhost:4566" }},
		{args: []string{"--backend", "none"}, want: func(f *CreateFlags) { f.Backend = "none" }},
		{args: []string{"--backend", "localstack"}, wantErr: `--backend "localstack": want auto, moto, none, container:moto, container:localstack or an http(s):// URL`},
		{args: []string{"--kind-image", "x"}, wantErr: "--kind-image applies to --cluster kind only"},
		{args: []string{"--cluster", "none", "--kubernetes-version", "v1.35.0"}, wantErr: "--kubernetes-version applies to --cluster kind only"},
		{args: []string{"--cluster", "kind", "--kind-image", "x", "--kubernetes-version", "v1.35.0"}, wantErr: "not both"},
		{args: []string{"--cluster", "kind", "--kubernetes-version", "1.35"}, wantErr: "want a version such as v1.35.0"},
		{args: []string{"--issuer-port", "https"}, wantErr: `invalid argument "https"`},
		{args: []string{"--webhook-grace-period", "3"}, wantErr: "missing unit"},
		{args: []string{"--clustr", "none"}, wantErr: "unknown flag: --clustr"},
		{args: []string{"--cluster", "existing", "--context", "kind-dev", "--webhook", "cluster", "--image", "irsa-local:v1", "--pod-aws-endpoint", "https://aws.example:4567"}, want: func(f *CreateFlags) {
			f.Cluster, f.Context, f.Webhook, f.Image, f.PodAWSEndpoint = "existing", "kind-dev", "cluster", "irsa-local:v1", "https://aws.example:4567"
		}},
		{args: []string{"--cluster", "existing", "--aws-https-port", "4567", "--listen-host", "0.0.0.0"}, want: func(f *CreateFlags) {
			f.Cluster, f.AWSHTTPSPort, f.ListenHost = "existing", 4567, "0.0.0.0"
		}},
		{args: []string{"--context", "kind-dev"}, wantErr: "--context applies to --cluster existing only"},
		{args: []string{"--cluster", "kind", "--webhook", "cluster"}, wantErr: "--webhook and --image apply to --cluster existing only"},
		{args: []string{"--cluster", "existing", "--kubeconfig", "/nonexistent/kubeconfig"}, wantErr: "--kubeconfig /nonexistent/kubeconfig: stat /nonexistent/kubeconfig: no such file or directory"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			f, err := parseCreate(t, tc.args...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := defaults
			tc.want(&want)
			f.set, want.set = nil, nil
			if !reflect.DeepEqual(*f, want) {
				t.Fatalf("parsed %+v, want %+v", *f, want)
			}
		})
	}
}

// TestCreateFlagsRoundTrip follows the flags the way `up` hands them to the
// background `serve`: flags → Args → flags must be the same values, and the
// options serve builds from them must create the environment the flags
// describe.
func TestCreateFlagsRoundTrip(t *testing.T) {
	for _, args := range [][]string{
		{"--cluster", "none"},
		{"--cluster", "none", "--issuer-port", "0", "--region", "ap-south-1", "--no-oidc-provider", "--issuer-host", "localhost"},
		{"--cluster", "kind", "--kind-image", "img:1", "--no-endpoint-injection", "--webhook-grace-period", "1m30s"},
		{"--cluster", "kind", "--kubernetes-version", "v1.35.0", "--aws-port", "0"},
		{"--cluster", "existing", "--context", "kind-dev", "--webhook", "cluster", "--pod-aws-endpoint", "http://10.0.0.5:4566"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			first, err := parseCreate(t, args...)
			if err != nil {
				t.Fatal(err)
			}
			second, err := parseCreate(t, first.Args()...)
			if err != nil {
				t.Fatalf("parse %q: %v", first.Args(), err)
			}
			if !reflect.DeepEqual(first.Args(), second.Args()) {
				t.Fatalf("round trip changed the flags:\n%q\n%q", first.Args(), second.Args())
			}
			a, b := *first, *second
			a.set, b.set = nil, nil
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("round trip changed the values: %+v -> %+v", a, b)
			}
			if second.Cluster != "none" {
				return // the options of cluster modes are checked by their specs
			}
			dir := t.TempDir()
			e, err := engine.Start(context.Background(), append(second.Options(), engine.WithStateDir(dir))...)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Stop(context.Background())
			b2, err := os.ReadFile(filepath.Join(dir, "env.json"))
			if err != nil {
				t.Fatal(err)
			}
			var cfg envdir.Config
			if err := json.Unmarshal(b2, &cfg); err != nil {
				t.Fatal(err)
			}
			if string(cfg.Cluster) != second.Cluster || cfg.Region != second.Region || cfg.IssuerHost != second.IssuerHost {
				t.Errorf("environment created as %+v from %+v", cfg, b)
			}
			if registered := e.AWS().OIDCProviderARN != ""; registered == second.NoOIDCProvider {
				t.Errorf("OIDC provider registered %v with --no-oidc-provider %v", registered, second.NoOIDCProvider)
			}
		})
	}
}
