package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/providers/fastly/fastlytest"
	"github.com/cdnctl/cdnctl/providers/s3/s3test"
)

// runIn runs cdnctl in-process with env, in the current directory.
func runIn(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	return runCLI(t, env, args...)
}

// startLocalServe runs `cdnctl serve --free-ports` in-process with env (a
// runtime folder, so that it records itself) until the test ends.
func startLocalServe(t *testing.T, env map[string]string, args ...string) {
	t.Helper()
	out, errOut := &syncBuffer{}, &syncBuffer{}
	ios := &IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut}
	f := &Factory{IO: ios, LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }, Now: time.Now}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- f.Run(ctx, append([]string{"--json", "serve", "--free-ports", "--access-log=false", "--no-dns"}, args...))
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	deadline := time.Now().Add(15 * time.Second)
	for !bytes.Contains(out.Bytes(), []byte("\n")) {
		select {
		case code := <-done:
			t.Fatalf("serve exited %d: %s", code, errOut.Bytes())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", errOut.Bytes())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func doctorJSON(t *testing.T, env map[string]string) (int, doctorReport, string) {
	t.Helper()
	code, out, errOut := runIn(t, env, "--json", "doctor")
	var rep doctorReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("doctor --json: %v\n%s\n%s", err, out, errOut)
	}
	return code, rep, errOut
}

func checkOf(rep doctorReport, name string) doctorCheck {
	for _, c := range rep.Checks {
		if c.Name == name {
			return c
		}
	}
	return doctorCheck{Name: name, Status: "missing"}
}

// TestDoctorLocal walks a new project: nothing built and no local CDN
// (two failures, each with its fix), then built and served (all ok).
func TestDoctorLocal(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	env := map[string]string{"XDG_RUNTIME_DIR": filepath.Join(t.TempDir(), "run")}
	os.WriteFile("hugo.toml", []byte("baseURL = 'https://example.org/'\n"), 0o644)
	if code, _, errOut := runIn(t, env, "init"); code != 0 {
		t.Fatalf("init: %d %s", code, errOut)
	}
	code, rep, _ := doctorJSON(t, env)
	if code != ExitFailure || rep.OK {
		t.Errorf("doctor before build and serve: exit %d, ok %v; want 1, false", code, rep.OK)
	}
	for _, w := range []struct{ name, status, detail, fix string }{
		{"config", checkOK, "cdnctl.yaml loads", ""},
		{"site", checkFail, "public/ does not exist", "`hugo --minify`"},
		{"origin", checkOK, "file://", ""},
		{"deploy state", checkOK, "which cdnctl's origin never serves", ""},
		{"cdn local", checkFail, "no local CDN running for ", "cdnctl serve"},
	} {
		c := checkOf(rep, w.name)
		if c.Status != w.status || !strings.Contains(c.Detail, w.detail) || !strings.Contains(c.Fix, w.fix) {
			t.Errorf("check %s = %+v; want %s, detail with %q, fix with %q", w.name, c, w.status, w.detail, w.fix)
		}
	}
	// The written probe file is gone: only the state folder's own files.
	if names, _ := filepath.Glob(".cdnctl/origin/.cdnctl/doctor-*"); len(names) > 0 {
		t.Errorf("doctor left %v", names)
	}

	os.MkdirAll("public", 0o755)
	os.WriteFile("public/index.html", []byte("<h1>hi</h1>"), 0o644)
	startLocalServe(t, env)
	code, out, errOut := runIn(t, env, "doctor")
	if code != 0 || !strings.Contains(out, "All 5 checks passed: ready to deploy.") {
		t.Errorf("doctor built and served: exit %d\n%s%s", code, out, errOut)
	}
	for _, w := range []string{"site          public/: 1 file", "cdn local     local edge http://127.0.0.1:", "reachable, token accepted"} {
		if !strings.Contains(out, w) {
			t.Errorf("doctor output lacks %q:\n%s", w, out)
		}
	}

	// A wrong token in the environment is caught.
	env["CDNCTL_ADMIN_TOKEN"] = "wrong"
	code, rep, _ = doctorJSON(t, env)
	if c := checkOf(rep, "cdn local"); code != ExitFailure || c.Status != checkFail || !strings.Contains(c.Fix, "CDNCTL_ADMIN_TOKEN") {
		t.Errorf("wrong token: exit %d, check %+v", code, c)
	}
}

// TestDoctorS3 checks an S3 origin on a real server (versitygw): the
// credential chain, reachable and writable, where the state lies; and
// CDN credentials by provider.
func TestDoctorS3(t *testing.T) {
	srv, bucket := s3EnvBucket(t, "doctor")
	fy := fastlytest.New(t, "SU1Z0isxPaozGVKXdv0eY", "fastly-token-doctor")
	fy.Scopes = []string{fastlytest.ScopePurgeSelect}
	t.Chdir(t.TempDir())
	os.MkdirAll("dist", 0o755)
	os.WriteFile("dist/index.html", []byte("x"), 0o644)
	write := func(target string) {
		cfg := "deploy:\n  site: dist\norigin:\n  target: " + target + "\n  endpoint: " + srv.Endpoint + "\n  region: " + s3test.Region + "\n" +
			"cdns:\n  - name: cf\n    provider: cloudflare\n    zone_id: 023e105f4ecef8ad9ca31a8372d0c353\n" +
			"  - name: ak\n    provider: akamai\n    edgerc: " + filepath.Join(t.TempDir(), "none") + "\n" +
			"  - name: fy\n    provider: fastly\n    service_id: " + fy.ServiceID + "\n    endpoint: " + fy.URL + "\n"
		if err := os.WriteFile("cdnctl.yaml", []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("s3://" + bucket + "/www")
	code, rep, _ := doctorJSON(t, nil)
	for _, w := range []struct{ name, status, detail, fix string }{
		{"credentials", checkOK, "AWS: environment (AWS_ACCESS_KEY_ID)", ""},
		{"origin", checkOK, "s3://" + bucket + "/www: reachable and writable", ""},
		{"deploy state", checkOK, "outside what the CDN serves", ""},
		{"cdn cf", checkFail, "no API token: CLOUDFLARE_API_TOKEN is not set", "Cache Purge"},
		{"cdn ak", checkFail, "no credentials", "Fast Purge"},
		{"cdn fy", checkFail, "no API token: FASTLY_API_TOKEN is not set", "purge_select"},
	} {
		c := checkOf(rep, w.name)
		if c.Status != w.status || !strings.Contains(c.Detail, w.detail) || !strings.Contains(c.Fix, w.fix) {
			t.Errorf("check %s = %+v; want %s, detail with %q, fix with %q", w.name, c, w.status, w.detail, w.fix)
		}
	}
	if code != ExitFailure {
		t.Errorf("exit %d; want 1", code)
	}
	for _, c := range rep.Checks {
		if strings.Contains(c.Detail+c.Fix, srv.SecretKey) {
			t.Errorf("check %s prints the secret key", c.Name)
		}
	}
	// Tokens are asked about: the Fastly fake knows its token and scopes.
	_, rep, _ = doctorJSON(t, map[string]string{"FASTLY_API_TOKEN": "fastly-token-doctor"})
	if c := checkOf(rep, "cdn fy"); c.Status != checkOK || c.Detail != "fastly service SU1Z0isxPaozGVKXdv0eY (fy): API token in FASTLY_API_TOKEN valid, scopes purge_select (without purge_all: --all is refused)" {
		t.Errorf("fastly token: %+v", c)
	}
	_, rep, _ = doctorJSON(t, map[string]string{"FASTLY_API_TOKEN": "wrong-token"})
	if c := checkOf(rep, "cdn fy"); c.Status != checkFail || !strings.Contains(c.Detail, "was rejected") || strings.Contains(c.Detail+c.Fix, "wrong-token") {
		t.Errorf("wrong fastly token: %+v", c)
	}
	fy.Services = []string{"AnotherService1"}
	_, rep, _ = doctorJSON(t, map[string]string{"FASTLY_API_TOKEN": "fastly-token-doctor"})
	if c := checkOf(rep, "cdn fy"); c.Status != checkFail || !strings.Contains(c.Detail, "limited to the services AnotherService1") {
		t.Errorf("fastly token of another service: %+v", c)
	}

	// The site at the bucket's root: the state is under it.
	write("s3://" + bucket)
	_, rep, _ = doctorJSON(t, nil)
	if c := checkOf(rep, "deploy state"); c.Status != checkFail || !strings.Contains(c.Fix, "origin.state") {
		t.Errorf("state at the root of the served bucket: %+v; want a failure naming origin.state", c)
	}

	// A bucket that does not exist.
	write("s3://no-such-bucket-here/www")
	_, rep, _ = doctorJSON(t, nil)
	if c := checkOf(rep, "origin"); c.Status != checkFail || !strings.Contains(c.Detail, "not reachable") {
		t.Errorf("missing bucket: %+v", c)
	}
}

func TestDoctorBadConfig(t *testing.T) {
	t.Chdir(t.TempDir())
	os.WriteFile("cdnctl.yaml", []byte("origin:\n  targt: s3://x\n"), 0o644)
	code, out, _ := runIn(t, nil, "doctor")
	if code != ExitFailure || !strings.Contains(out, "FAIL  config") || !strings.Contains(out, "targt") || !strings.Contains(out, "fix: ") {
		t.Errorf("bad config: exit %d\n%s", code, out)
	}
}
