package envdir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestResolve(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("IRSA_LOCAL_HOME", "")
	if got, _ := Resolve("", "dev"); got != filepath.Join(home, ".irsa-local", "dev") {
		t.Errorf("default: %s", got)
	}
	t.Setenv("IRSA_LOCAL_HOME", "/srv/envs")
	if got, _ := Resolve("", "dev"); got != "/srv/envs/dev" {
		t.Errorf("IRSA_LOCAL_HOME: %s", got)
	}
	if got, _ := Resolve("/tmp/explicit", "dev"); got != "/tmp/explicit" {
		t.Errorf("an explicit directory wins: %s", got)
	}
}

func TestValidateName(t *testing.T) {
	for name, ok := range map[string]bool{
		"irsa-local": true, "a": true, "a1-b2": true, strings.Repeat("a", 40): true,
		"": false, "-a": false, "a-": false, "A": false, "a_b": false, "a.b": false, "../x": false, strings.Repeat("a", 41): false,
	} {
		if err := ValidateName(name); (err == nil) != ok {
			t.Errorf("ValidateName(%q) = %v", name, err)
		}
	}
}

func TestConfigRoundTripAndRefusals(t *testing.T) {
	l := Layout{Dir: t.TempDir()}
	if err := Prepare(l); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(l); !errors.Is(err, ErrNoEnvironment) {
		t.Fatalf("empty directory: %v", err)
	}
	c := &Config{Version: ConfigVersion, Name: "dev", IssuerID: "ABC", IssuerHost: "127.0.0.1", IssuerPort: 8443, Region: "eu-west-1", Cluster: ClusterNone, CreatedAt: time.Unix(0, 0).UTC()}
	if err := SaveConfig(l, c); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(l.ConfigFile()); fi.Mode().Perm() != 0o600 {
		t.Errorf("env.json mode %v", fi.Mode().Perm())
	}
	got, err := LoadConfig(l)
	if err != nil || *got != *c {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for content, want := range map[string]string{
		"{":              "restore it from a backup, or remove the state directory",
		`{"version": 9}`: "config version 9 is not supported",
	} {
		if err := os.WriteFile(l.ConfigFile(), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadConfig(l); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", content, err, want)
		}
	}
}

// A process that died while running leaves its components reported as
// failed, with its log's last line; never as running.
func TestInspectAfterACrash(t *testing.T) {
	l := Layout{Dir: t.TempDir()}
	if err := Prepare(l); err != nil {
		t.Fatal(err)
	}
	c := &Config{Version: ConfigVersion, Name: "dev", IssuerID: "ABC", IssuerHost: "127.0.0.1", IssuerPort: 8443, AWSPort: 1, Cluster: ClusterNone}
	if err := SaveConfig(l, c); err != nil {
		t.Fatal(err)
	}
	d := Describe(l, c)
	d.PID = 4242
	d.Components = []Component{{Name: "issuer", State: StateRunning}, {Name: "aws", State: StateStopped}}
	if err := WriteStatus(l, d); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(l.LogFile(), []byte("starting\nlisten tcp: address already in use\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Inspect(l)
	if err != nil {
		t.Fatal(err)
	}
	if got.Running || got.PID != 0 {
		t.Errorf("no process holds the lock, yet running %v pid %d", got.Running, got.PID)
	}
	if got.Components[0].State != StateFailed || !strings.Contains(got.Components[0].Error, "pid 4242") || !strings.Contains(got.Components[0].Error, "address already in use") {
		t.Errorf("crashed component: %+v", got.Components[0])
	}
	if got.Components[1].State != StateStopped {
		t.Errorf("a stopped component became %s", got.Components[1].State)
	}

	lock, err := AcquireLock(l.LockFile())
	if err != nil {
		t.Fatal(err)
	}
	if !LockHeld(l.LockFile()) {
		t.Error("LockHeld does not see the lock")
	}
	if _, err := AcquireLock(l.LockFile()); !errors.Is(err, ErrRunning) {
		t.Errorf("a second lock: %v", err)
	}
	if err := lock.Release(); err != nil || LockHeld(l.LockFile()) {
		t.Errorf("release: %v", err)
	}
}
