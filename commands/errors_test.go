package commands

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const usageHint = "Run 'cdnctl --help' for usage."

// TestUsageHintOnlyForUsageErrors: the hint follows a mistake in the
// command line, not a config error, a missing folder or a failure.
func TestUsageHintOnlyForUsageErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "public"), 0o755); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("origin:\n  concurrency: many\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badServe := filepath.Join(dir, "bad-serve.yaml")
	if err := os.WriteFile(badServe, []byte("serve:\n  cache:\n    capacity: lots\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badGlob := filepath.Join(dir, "bad-glob.yaml")
	if err := os.WriteFile(badGlob, []byte("fingerprint:\n  keep: [\"[a-\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		hint     bool
	}{
		{"unknown flag", []string{"push", "--nope"}, ExitUsage, true},
		{"unknown command", []string{"deplyo"}, ExitUsage, true},
		{"missing argument", []string{"push"}, ExitUsage, true},
		{"bad flag value", []string{"resolve", "x", "--dns", "nohost"}, ExitUsage, true},
		{"config error", []string{"--config", bad, "push", filepath.Join(dir, "public")}, ExitUsage, false},
		{"serve config error", []string{"--config", badServe, "serve", "--free-ports"}, ExitUsage, false},
		{"fingerprint config glob", []string{"--config", badGlob, "fingerprint", filepath.Join(dir, "public"), "--out", filepath.Join(dir, "out")}, ExitUsage, false},
		{"missing folder", []string{"push", filepath.Join(dir, "publc"), "--to", "file://" + filepath.Join(dir, "o")}, ExitUsage, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, nil, tt.args...)
			if code != tt.wantCode {
				t.Errorf("cdnctl %v = exit %d; want %d\n%s", tt.args, code, tt.wantCode, stderr)
			}
			if got := strings.Contains(stderr, usageHint); got != tt.hint {
				t.Errorf("cdnctl %v: usage hint printed = %v; want %v\n%s", tt.args, got, tt.hint, stderr)
			}
		})
	}
}

// TestMissingFolderOneAnswer: deploy, push, fingerprint and verify say the
// same thing, with the same exit code, for a site folder that is not there.
func TestMissingFolderOneAnswer(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "public"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "file.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "publc")
	to := "file://" + filepath.Join(dir, "origin")
	for _, args := range [][]string{
		{"deploy", missing, "--to", to, "--yes"},
		{"push", missing, "--to", to},
		{"fingerprint", missing, "--out", filepath.Join(dir, "out")},
		{"verify", missing},
	} {
		code, _, stderr := runCLI(t, nil, args...)
		want := "cdnctl: " + missing + ": no such folder (did you mean " + filepath.Join(dir, "public") + "?)\n"
		if code != ExitUsage || stderr != want {
			t.Errorf("cdnctl %s = exit %d, %q; want exit %d, %q", args[0], code, stderr, ExitUsage, want)
		}
	}
	code, _, stderr := runCLI(t, nil, "push", filepath.Join(dir, "file.txt"), "--to", to)
	if want := ": not a folder"; code != ExitUsage || !strings.Contains(stderr, want) {
		t.Errorf("push FILE = exit %d, %q; want exit %d, %q", code, stderr, ExitUsage, want)
	}
}

// TestVerifySourceFolder: verify given the source instead of the build
// says so before requesting anything.
func TestVerifySourceFolder(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"public/index.html", "dist/index.html", "dist/cdnctl-manifest.json"} {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, _, stderr := runCLI(t, nil, "verify", filepath.Join(dir, "public"), "--edge", "pop1=127.0.0.1:9")
	want := filepath.Join(dir, "public") + " has no cdnctl-manifest.json: did you mean the build folder " + filepath.Join(dir, "dist") + "?"
	if code != ExitUsage || !strings.Contains(stderr, want) {
		t.Errorf("verify SOURCE = exit %d, %q; want exit %d, %q", code, stderr, ExitUsage, want)
	}
}

func TestLogFormats(t *testing.T) {
	var b strings.Builder
	h, err := newLogHandler("auto", &b, true, slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	slog.New(h).With("file", "a b.css").Warn("deploy: the state is public", "n", 2)
	if got, want := b.String(), "warning: deploy: the state is public (file=\"a b.css\", n=2)\n"; got != want {
		t.Errorf("terminal log line = %q; want %q", got, want)
	}
	for format, want := range map[string]string{"auto": "level=WARN msg=", "logfmt": "level=WARN msg=", "json": `"level":"WARN"`} {
		var b strings.Builder
		h, err := newLogHandler(format, &b, false, slog.LevelInfo)
		if err != nil {
			t.Fatal(err)
		}
		slog.New(h).Warn("x")
		if !strings.Contains(b.String(), want) {
			t.Errorf("--log-format %s, piped: %q; want %q", format, b.String(), want)
		}
	}
	if _, err := newLogHandler("yaml", io.Discard, false, slog.LevelInfo); err == nil {
		t.Errorf("--log-format yaml: no error")
	}
}
