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

func TestLock(t *testing.T) {
	l := Layout{Dir: t.TempDir()}
	if err := Prepare(l); err != nil {
		t.Fatal(err)
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
