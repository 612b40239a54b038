package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/s3/s3test"
	"github.com/cdnctl/cdnctl/providers/storetest"
)

// runPushCLI runs cdnctl in-process in dir with env as the CDNCTL_*
// environment and returns the exit code, stdout and stderr.
func runPushCLI(t *testing.T, dir string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	ios, _, out, errOut := TestStreams()
	f := &Factory{
		IO:        ios,
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Now:       time.Now,
		Logger:    slog.New(slog.DiscardHandler),
	}
	if dir != "" {
		wd, _ := os.Getwd()
		if err := os.Chdir(dir); err != nil {
			t.Fatal(err)
		}
		defer os.Chdir(wd)
	}
	code := f.Run(context.Background(), args)
	return code, out.String(), errOut.String()
}

var pushSite = storetest.Site{
	"index.html":             `<link href="/css/app.3f9a1c0e2b.css">`,
	"css/app.3f9a1c0e2b.css": "body{}",
	"robots.txt":             "User-agent: *\n",
}

func TestPushToFolder(t *testing.T) {
	src := pushSite.Write(t)
	out := filepath.Join(t.TempDir(), "origin")

	// Dry run: the plan, and nothing written.
	code, stdout, stderr := runPushCLI(t, "", nil, "push", src, "--to", "file://"+out, "--dry-run")
	if code != 0 {
		t.Fatalf("dry run exit %d: %s", code, stderr)
	}
	for _, want := range []string{"upload\tcss/app.3f9a1c0e2b.css\t6 B\tassets\tnew", "upload\tindex.html", "entry-points", "3 files (", "3 to upload"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, stdout)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("dry run created %s", out)
	}

	code, stdout, stderr = runPushCLI(t, "", nil, "push", src, "--to", "file://"+out)
	if code != 0 {
		t.Fatalf("push exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "3 uploaded") || !strings.Contains(stdout, "deploy #1") {
		t.Errorf("push output: %s", stdout)
	}
	for k, v := range pushSite {
		b, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(k)))
		if err != nil || string(b) != v {
			t.Errorf("%s = %q, %v; want %q", k, b, err, v)
		}
	}

	// JSON, no change.
	code, stdout, stderr = runPushCLI(t, "", nil, "--json", "push", src, "--to", out)
	if code != 0 {
		t.Fatalf("second push exit %d: %s", code, stderr)
	}
	var rep struct {
		Target string            `json:"target"`
		DryRun bool              `json:"dry_run"`
		Plan   providers.Plan    `json:"plan"`
		Result *providers.Result `json:"result"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("--json output is not JSON: %v\n%s", err, stdout)
	}
	if rep.Target != "file://"+filepath.ToSlash(out) || rep.DryRun || rep.Plan.Summary.Keep != 3 || rep.Result == nil || rep.Result.Uploaded != 0 || !rep.Result.Complete {
		t.Errorf("json report = %+v; want 3 keeps, complete", rep)
	}
	if len(rep.Plan.Changes) != 3 || rep.Plan.Changes[0].Reason != providers.ReasonUnchanged {
		t.Errorf("json changes = %+v", rep.Plan.Changes)
	}
}

func TestPushConfigAndFlags(t *testing.T) {
	work := t.TempDir()
	src := pushSite.Write(t)
	cfg := `origin:
  target: file://./origin
  max_deletes: 0
  keep_for: 72h
  exclude: ["*.txt"]
  rules:
    - match: "*.html"
      cache_control: "public, max-age=30"
      tags: [pages]
`
	if err := os.WriteFile(filepath.Join(work, "cdnctl.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runPushCLI(t, work, nil, "--json", "push", src, "--dry-run")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep pushReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Target != "file://"+filepath.ToSlash(filepath.Join(work, "origin")) {
		t.Errorf("target = %q; want origin.target resolved in the working directory", rep.Target)
	}
	if rep.Plan.Summary.Upload != 2 {
		t.Errorf("uploads = %d; want 2 (robots.txt excluded by origin.exclude)", rep.Plan.Summary.Upload)
	}
	code, _, stderr = runPushCLI(t, work, nil, "push", src)
	if code != 0 {
		t.Fatal(stderr)
	}
	idx, err := os.ReadFile(filepath.Join(work, "origin", ".cdnctl", "objects.json"))
	if err != nil || !strings.Contains(string(idx), `"cache_control":"public, max-age=30","tags":["pages"]`) {
		t.Errorf("objects.json = %s, %v; want the rule's headers", idx, err)
	}

	// A stale file in the origin is kept by max_deletes: 0 from the file,
	// deleted when the flag overrides it, and the env var overrides the
	// file too.
	if err := os.WriteFile(filepath.Join(work, "origin", "stale.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = runPushCLI(t, work, nil, "push", src, "--dry-run")
	if code != 0 || !strings.Contains(stdout, "max-deletes") {
		t.Errorf("config max_deletes 0: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = runPushCLI(t, work, map[string]string{"CDNCTL_ORIGIN_MAX_DELETES": "5"}, "push", src, "--dry-run")
	if code != 0 || !strings.Contains(stdout, "delete\tstale.txt") {
		t.Errorf("env max_deletes 5: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = runPushCLI(t, work, nil, "push", src, "--max-deletes", "-1")
	if code != 0 || !strings.Contains(stdout, "1 deleted") {
		t.Errorf("--max-deletes -1: exit %d\n%s", code, stdout)
	}
	if _, err := os.Stat(filepath.Join(work, "origin", "stale.txt")); !os.IsNotExist(err) {
		t.Error("stale.txt not deleted")
	}
}

func TestPushUsageErrors(t *testing.T) {
	src := pushSite.Write(t)
	work := t.TempDir()
	badCfg := filepath.Join(work, "bad.yaml")
	if err := os.WriteFile(badCfg, []byte("origin:\n  exclude: [\"[z-\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no dir", []string{"push"}, "accepts 1 arg"},
		{"no target", []string{"push", src}, "no target"},
		{"bad scheme", []string{"push", src, "--to", "gs://bucket/x"}, `unsupported scheme "gs"`},
		{"s3 without bucket", []string{"push", src, "--to", "s3:///x"}, "want s3://bucket/prefix"},
		{"endpoint with a folder", []string{"push", src, "--to", work, "--endpoint", "http://127.0.0.1:1"}, "--endpoint applies to s3://"},
		{"target inside the site", []string{"push", src, "--to", filepath.Join(src, "out")}, "overlap"},
		{"site inside the target", []string{"push", src, "--to", filepath.Dir(src)}, "overlap"},
		{"bad precompressed", []string{"push", src, "--to", work, "--precompressed", "zip"}, `origin.precompressed "zip"`},
		{"bad concurrency", []string{"push", src, "--to", work, "--concurrency", "0"}, "origin.concurrency 0"},
		{"bad max deletes", []string{"push", src, "--to", work, "--max-deletes", "-2"}, "origin.max_deletes -2"},
		{"bad exclude glob", []string{"push", src, "--to", work, "--exclude", "[a-"}, "origin.exclude"},
		{"bad glob in config", []string{"--config", badCfg, "push", src, "--to", work}, `origin.exclude: glob "[z-"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runPushCLI(t, "", nil, tt.args...)
			if code != ExitUsage {
				t.Errorf("exit %d; want %d (stderr %q)", code, ExitUsage, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q does not contain %q", stderr, tt.want)
			}
		})
	}

	// The site folder is missing: the answer deploy and fingerprint give
	// too (exit 2, without the usage hint).
	code, _, stderr := runPushCLI(t, "", nil, "push", filepath.Join(work, "nope"), "--to", filepath.Join(work, "o"))
	if code != ExitUsage || !strings.Contains(stderr, "nope: no such folder") || strings.Contains(stderr, "--help") {
		t.Errorf("missing site: exit %d, %q", code, stderr)
	}
}

func TestParseTarget(t *testing.T) {
	wd, _ := os.Getwd()
	tests := []struct {
		in   string
		want target
	}{
		{"s3://bucket", target{bucket: "bucket"}},
		{"s3://bucket/", target{bucket: "bucket"}},
		{"s3://bucket/a/b/", target{bucket: "bucket", prefix: "a/b"}},
		{"S3://bucket/p", target{bucket: "bucket", prefix: "p"}},
		{"file:///srv/origin", target{dir: "/srv/origin"}},
		{"file://./out", target{dir: filepath.Join(wd, "out")}},
		{"file://out/x", target{dir: filepath.Join(wd, "out", "x")}},
		{"file:///srv/with%20space", target{dir: "/srv/with space"}},
		{"out", target{dir: filepath.Join(wd, "out")}},
		{"/abs/dir", target{dir: "/abs/dir"}},
	}
	for _, tt := range tests {
		got, err := parseTarget(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("parseTarget(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

// TestPushS3 runs the command against a real S3-compatible server with
// credentials from the environment, as CI does.
func TestPushS3(t *testing.T) {
	srv, bucket := s3EnvBucket(t, "cmd")
	src := pushSite.Write(t)
	to := "s3://" + bucket + "/www"

	code, stdout, stderr := runPushCLI(t, "", nil, "--log-level", "debug", "push", src, "--to", to, "--endpoint", srv.Endpoint, "--region", s3test.Region)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "Pushed "+to+": 3 uploaded") {
		t.Errorf("stdout: %s", stdout)
	}
	if strings.Contains(stdout+stderr, srv.SecretKey) {
		t.Error("the secret key was printed")
	}
	code, stdout, _ = runPushCLI(t, "", nil, "push", src, "--to", to, "--endpoint", srv.Endpoint, "--region", s3test.Region)
	if code != 0 || !strings.Contains(stdout, "3 unchanged") || !strings.Contains(stdout, "nothing changed") {
		t.Errorf("second push: exit %d: %s", code, stdout)
	}

	// Wrong secret: exit 1, a message that says what to check, no secret.
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-for-this-test")
	code, _, stderr = runPushCLI(t, "", nil, "push", src, "--to", to, "--endpoint", srv.Endpoint, "--region", s3test.Region)
	if code != ExitFailure || !strings.Contains(stderr, "credentials") || strings.Contains(stderr, "wrong-secret-for-this-test") {
		t.Errorf("wrong credentials: exit %d, stderr %q", code, stderr)
	}
	// A missing bucket.
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	code, _, stderr = runPushCLI(t, "", nil, "push", src, "--to", "s3://nonexistent-bucket-x/www", "--endpoint", srv.Endpoint)
	if code != ExitFailure || !strings.Contains(stderr, `bucket does not exist: "nonexistent-bucket-x"`) {
		t.Errorf("missing bucket: exit %d, stderr %q", code, stderr)
	}
	if !bytes.Contains([]byte(stderr), []byte(srv.Endpoint)) {
		t.Errorf("missing bucket error does not name the endpoint: %q", stderr)
	}
}

func TestPushProgressOnTerminal(t *testing.T) {
	for _, color := range []bool{true, false} {
		ios, _, out, errOut := TestStreams()
		ios.SetTTY(true)
		if !color {
			ios.DisableColor()
		}
		f := &Factory{IO: ios, LookupEnv: func(string) (string, bool) { return "", false }, Now: time.Now, Logger: slog.New(slog.DiscardHandler)}
		code := f.Run(context.Background(), []string{"push", pushSite.Write(t), "--to", filepath.Join(t.TempDir(), "o")})
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		e := errOut.String()
		if !strings.Contains(e, "\r") || !strings.Contains(e, "3/3 changes") || !strings.Contains(e, "100%") {
			t.Errorf("color %v: stderr on a terminal = %q; want a progress bar ending at 100%%, 3/3 changes", color, e)
		}
		if !color && strings.Contains(e, "\x1b[38") {
			t.Errorf("--no-color progress bar has colour: %q", e)
		}
		if strings.Contains(out.String(), "\r") {
			t.Errorf("progress went to stdout: %q", out)
		}
	}
}

// TestPushSkipsDotfiles is issue 12's push: .env, .htpasswd and .npmrc were
// planned for upload. Dotfiles and hidden folders are left out and listed
// (grouped by hidden folder), /.well-known/ is uploaded, and
// origin.allow_dotfiles with --allow-dotfile uploads what they name.
func TestPushSkipsDotfiles(t *testing.T) {
	site := storetest.Site{
		"index.html":               "<h1>home</h1>",
		".env":                     "SECRET_KEY=1",
		".htpasswd":                "admin:x",
		".npmrc":                   "_authToken=x",
		".nojekyll":                "",
		"sub/.htaccess":            "Require all denied",
		".cache/a.json":            "{}",
		".cache/deep/b.json":       "{}",
		".git/config":              "[core]", // excluded by default, silently
		".well-known/security.txt": "Contact: mailto:security@example.test",
	}
	src := site.Write(t)
	out := filepath.Join(t.TempDir(), "origin")

	code, stdout, stderr := runPushCLI(t, "", nil, "push", src, "--to", "file://"+out, "--dry-run")
	if code != 0 {
		t.Fatalf("dry run exit %d: %s", code, stderr)
	}
	const listed = ".cache/ (2 files), .env, .htpasswd, .nojekyll, .npmrc, sub/.htaccess; upload one with --allow-dotfile GLOB or origin.allow_dotfiles"
	if !strings.Contains(stdout, "Not uploading 7 dotfiles (they often hold secrets): "+listed) || !strings.Contains(stdout, "2 files (") {
		t.Errorf("dry run output:\n%s", stdout)
	}
	for _, secret := range []string{"upload\t.env", "upload\t.htpasswd", "upload\t.npmrc", ".git/config"} {
		if strings.Contains(stdout, secret) {
			t.Errorf("dry run plans %q:\n%s", secret, stdout)
		}
	}

	code, stdout, stderr = runPushCLI(t, "", nil, "push", src, "--to", "file://"+out)
	if code != 0 {
		t.Fatalf("push exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "2 uploaded") || !strings.Contains(stdout, "Not uploaded 7 dotfiles (they often hold secrets): "+listed) {
		t.Errorf("push output:\n%s", stdout)
	}
	for name := range site {
		_, err := os.Stat(filepath.Join(out, filepath.FromSlash(name)))
		if uploaded := err == nil; uploaded != (name == "index.html" || name == ".well-known/security.txt") {
			t.Errorf("%s: uploaded %v", name, uploaded)
		}
	}

	// The allow-list: config and flag add up.
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "cdnctl.yaml"), []byte("origin:\n  allow_dotfiles: [.htaccess]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runPushCLI(t, work, nil, "--json", "push", src, "--to", "file://"+out, "--allow-dotfile", "/.nojekyll")
	if code != 0 {
		t.Fatalf("push with allow-list exit %d: %s", code, stderr)
	}
	var rep struct {
		Result          *providers.Result          `json:"result"`
		SkippedDotfiles []providers.SkippedDotfile `json:"skipped_dotfiles"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s", err, stdout)
	}
	want := []providers.SkippedDotfile{{Path: ".cache/", Files: 2}, {Path: ".env", Files: 1}, {Path: ".htpasswd", Files: 1}, {Path: ".npmrc", Files: 1}}
	if rep.Result == nil || rep.Result.Uploaded != 2 || fmt.Sprint(rep.SkippedDotfiles) != fmt.Sprint(want) {
		t.Errorf("allow-list push: %+v, skipped %v; want 2 uploaded (.nojekyll, sub/.htaccess), skipped %v", rep.Result, rep.SkippedDotfiles, want)
	}
	for _, name := range []string{".nojekyll", "sub/.htaccess"} {
		if _, err := os.Stat(filepath.Join(out, filepath.FromSlash(name))); err != nil {
			t.Errorf("allowed %s not uploaded: %v", name, err)
		}
	}

	// Without the allow-list again, they are no longer published: deleted
	// like any object no uploaded file names, and the plan says why.
	code, stdout, stderr = runPushCLI(t, "", nil, "push", src, "--to", "file://"+out, "--dry-run")
	if code != 0 || !strings.Contains(stdout, "delete\t.nojekyll\t0 B\tdeletes\torphan\ta dotfile: uploaded only when origin.allow_dotfiles (--allow-dotfile) names it") {
		t.Errorf("dry run without the allow-list: exit %d\n%s%s", code, stdout, stderr)
	}
}
