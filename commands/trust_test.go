package commands

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/localedge/localca"
	"github.com/cdnctl/cdnctl/localedge/localca/truststores"
)

// TestMain keeps the tests away from the user's config folder: a test
// that creates the local CA without naming its folder writes it under a
// temporary XDG_CONFIG_HOME (and HOME), not in ~/.config.
func TestMain(m *testing.M) {
	tmp, err := os.MkdirTemp("", "cdnctl-commands-test-")
	if err != nil {
		panic(err)
	}
	// Tools the tests build (versitygw) and Go's own caches stay where they
	// are: with HOME moved, they would be downloaded and built again.
	if home, err := os.UserHomeDir(); err == nil {
		cache, _ := os.UserCacheDir()
		for k, v := range map[string]string{
			"CDNCTL_CACHE": filepath.Join(cache, "cdnctl-ci"),
			"GOPATH":       filepath.Join(home, "go"),
			"GOCACHE":      filepath.Join(cache, "go-build"),
		} {
			if _, set := os.LookupEnv(k); !set && cache != "" {
				os.Setenv(k, v)
			}
		}
	}
	os.Setenv("XDG_CONFIG_HOME", filepath.Join(tmp, "config"))
	os.Setenv("HOME", filepath.Join(tmp, "home"))
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

// fakeStore is a trust store in memory; failWith makes its changes fail,
// unavailable makes its Check fail.
type fakeStore struct {
	name        string
	has         map[string]bool
	failWith    error
	unavailable error
}

func (s *fakeStore) store() truststores.Store {
	return truststores.Store{
		Name: s.name,
		Check: func(ca *localca.CA) (bool, error) {
			return s.has[ca.Name()], s.unavailable
		},
		Install: func(ca *localca.CA) error {
			if s.failWith != nil {
				return s.failWith
			}
			s.has[ca.Name()] = true
			return nil
		},
		Uninstall: func(ca *localca.CA) error {
			if s.failWith != nil {
				return s.failWith
			}
			delete(s.has, ca.Name())
			return nil
		},
		Manual: func(ca *localca.CA, uninstall bool) []string {
			if uninstall {
				return []string{"remove " + ca.CertPath() + " from " + s.name}
			}
			return []string{"add " + ca.CertPath() + " to " + s.name}
		},
	}
}

func runTrustWith(t *testing.T, caDir string, stores []*fakeStore, asJSON bool, args ...string) (code int, out, errOut string) {
	t.Helper()
	ios, _, o, e := TestStreams()
	env := map[string]string{"CDNCTL_SERVE_HTTPS_CA_DIR": caDir}
	f := &Factory{IO: ios, LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }, Now: time.Now, JSON: asJSON}
	opts := &TrustOptions{Stores: []string{"system", "nss"}}
	for _, s := range stores {
		opts.stores = append(opts.stores, s.store())
	}
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "--uninstall":
			opts.Uninstall = true
		case "--store":
			opts.Stores = strings.Split(args[i+1], ",")
			i++
		}
	}
	err := runTrust(context.Background(), f, opts)
	if err != nil {
		e.WriteString(err.Error())
	}
	return exitCode(err), o.String(), e.String()
}

func TestTrustInstallAndUninstall(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	system := &fakeStore{name: "system", has: map[string]bool{}}
	nss := &fakeStore{name: "nss", has: map[string]bool{}}
	stores := []*fakeStore{system, nss}

	code, out, errOut := runTrustWith(t, dir, stores, false)
	if code != 0 || !strings.Contains(out, "created now") || !strings.Contains(out, "system  installed: trusted from now on") || !strings.Contains(out, "nss     installed") {
		t.Fatalf("trust: exit %d\n%s%s", code, out, errOut)
	}
	ca, err := localca.Load(dir, time.Now())
	if err != nil {
		t.Fatalf("trust did not create the CA in serve.https.ca_dir: %v", err)
	}
	if !system.has[ca.Name()] || !nss.has[ca.Name()] {
		t.Errorf("CA not in the stores: %v %v", system.has, nss.has)
	}
	code, out, _ = runTrustWith(t, dir, stores, false)
	if code != 0 || strings.Contains(out, "created now") || !strings.Contains(out, "system  already trusted") {
		t.Errorf("second trust: exit %d\n%s", code, out)
	}
	code, out, _ = runTrustWith(t, dir, stores, false, "--uninstall", "--store", "nss")
	if code != 0 || !strings.Contains(out, "nss     uninstalled") || strings.Contains(out, "system") || nss.has[ca.Name()] || !system.has[ca.Name()] {
		t.Errorf("trust --uninstall --store nss: exit %d\n%s", code, out)
	}
	code, out, _ = runTrustWith(t, dir, stores, true, "--uninstall")
	var rep TrustReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 {
		t.Fatalf("trust --json --uninstall: exit %d, %v\n%s", code, err, out)
	}
	if len(rep.Stores) != 2 || rep.Stores[0].Status != "uninstalled" || rep.Stores[1].Status != "absent" || rep.CAFile != ca.CertPath() {
		t.Errorf("trust --json --uninstall = %+v", rep)
	}
	// The CA stays: a later trust installs the same one.
	if again, _ := localca.Load(dir, time.Now()); again == nil || again.Name() != ca.Name() || again.Certificate().SerialNumber.Cmp(ca.Certificate().SerialNumber) != 0 {
		t.Errorf("uninstall changed the CA")
	}
}

func TestTrustFailuresPrintManualSteps(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	system := &fakeStore{name: "system", has: map[string]bool{}, failWith: errors.New("sudo: a password is required")}
	nss := &fakeStore{name: "nss", has: map[string]bool{}, unavailable: errors.New("certutil not found (install it: apt install libnss3-tools)")}
	code, out, errOut := runTrustWith(t, dir, []*fakeStore{system, nss}, false)
	caFile := filepath.Join(dir, localca.CertFile)
	for _, want := range []string{
		"system  FAILED: sudo: a password is required",
		"nss     not changed: certutil not found (install it: apt install libnss3-tools)",
		"By hand (system):\n  add " + caFile + " to system",
		"By hand (nss):\n  add " + caFile + " to nss",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if code != ExitFailure || !strings.Contains(errOut, "1 of 2 trust stores could not be changed") {
		t.Errorf("exit %d, %q; want 1 naming the failed store", code, errOut)
	}
	// Only unavailable stores: nothing failed, the steps are printed.
	code, out, _ = runTrustWith(t, dir, []*fakeStore{system, nss}, false, "--store", "nss")
	if code != 0 || !strings.Contains(out, "By hand (nss)") {
		t.Errorf("trust --store nss with no certutil: exit %d\n%s", code, out)
	}
}

func TestTrustUsage(t *testing.T) {
	code, _, errOut := runTrustWith(t, t.TempDir(), []*fakeStore{{name: "system", has: map[string]bool{}}}, false, "--store", "java")
	if code != ExitUsage || !strings.Contains(errOut, `--store "java": want system or nss`) {
		t.Errorf("--store java: exit %d %q", code, errOut)
	}
	empty := filepath.Join(t.TempDir(), "none")
	code, out, errOut := runTrustWith(t, empty, []*fakeStore{{name: "system", has: map[string]bool{}}}, false, "--uninstall", "--store", "system")
	if code != 0 || out != "" || !strings.Contains(errOut, "No local CA in "+empty+": nothing to uninstall") {
		t.Errorf("--uninstall without a CA: exit %d %q %q", code, out, errOut)
	}
	if _, err := os.Stat(empty); err == nil {
		t.Errorf("--uninstall created the CA folder")
	}
}
