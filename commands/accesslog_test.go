package commands

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAccessLogTarget(t *testing.T) {
	tests := []struct {
		set  AccessLogSetting
		tty  bool
		want string
	}{
		{"", true, AccessLogStderr}, // cdnctl serve in a terminal
		{"", false, AccessLogOff},   // CI, a service, a pipe
		{"off", true, AccessLogOff},
		{"false", true, AccessLogOff}, // --access-log=false, CDNCTL_SERVE_ACCESS_LOG=false
		{"stderr", false, AccessLogStderr},
		{"true", false, AccessLogStderr},
		{"STDOUT", false, AccessLogStdout},
		{" /var/log/cdnctl/access.log ", false, "/var/log/cdnctl/access.log"},
		{"access.log", true, "access.log"},
	}
	for _, tt := range tests {
		if got := accessLogTarget(tt.set, tt.tty); got != tt.want {
			t.Errorf("accessLogTarget(%q, tty %v) = %q; want %q", tt.set, tt.tty, got, tt.want)
		}
	}
}

// TestAccessLogConfig: serve.access_log takes off, stdout, stderr, a
// path, and the booleans older configurations have.
func TestAccessLogConfig(t *testing.T) {
	for body, want := range map[string]AccessLogSetting{
		"serve:\n  access_log: false\n":           AccessLogOff,
		"serve:\n  access_log: true\n":            AccessLogStderr,
		"serve:\n  access_log: off\n":             "off",
		"serve:\n  access_log: /tmp/access.log\n": "/tmp/access.log",
		"serve:\n  name: x\n":                     "",
	} {
		cfg, err := LoadConfig(writeConfig(t, body), true, noEnv)
		if err != nil {
			t.Errorf("%q: %v", body, err)
			continue
		}
		if cfg.Serve.AccessLog != want {
			t.Errorf("%q: access_log %q; want %q", body, cfg.Serve.AccessLog, want)
		}
	}
	_, err := LoadConfig(writeConfig(t, "serve:\n  access_log: [a]\n"), true, noEnv)
	if err == nil || !strings.Contains(err.Error(), "access_log") || !strings.Contains(err.Error(), "want off, stdout, stderr or a file path") {
		t.Errorf("a list: %v", err)
	}
}

func TestOpenAccessLog(t *testing.T) {
	ios, _, _, _ := TestStreams()
	f := &Factory{IO: ios, Logger: slog.New(slog.DiscardHandler)}
	if l, _, err := openAccessLog(f, ""); l != nil || err != nil {
		t.Errorf("unset, not a terminal: %v, %v; want off", l, err)
	}
	ios.SetTTY(true)
	if l, _, err := openAccessLog(f, ""); l != f.Logger || err != nil {
		t.Errorf("unset, on a terminal: %v, %v; want the logger of stderr", l, err)
	}
	f.JSON = true
	if _, _, err := openAccessLog(f, "stdout"); err == nil || !strings.Contains(err.Error(), "--json") {
		t.Errorf("stdout with --json: %v; want a usage error", err)
	}
	dir := t.TempDir()
	if _, _, err := openAccessLog(f, AccessLogSetting(dir)); err == nil || !strings.Contains(err.Error(), "is a folder") {
		t.Errorf("a folder: %v", err)
	}
	if _, _, err := openAccessLog(f, AccessLogSetting(filepath.Join(dir, "no", "such", "access.log"))); err == nil || !strings.Contains(err.Error(), "no such file or directory") {
		t.Errorf("a file in a missing folder: %v", err)
	}
}

// TestServeAccessLog runs cdnctl serve (stderr is not a terminal here)
// and requests a page through an edge.
func TestServeAccessLog(t *testing.T) {
	dir := writeSite(t, map[string]string{"index.html": "<h1>home</h1>"})
	logFile := filepath.Join(t.TempDir(), "access.log")
	requests := func(stderr string) int { return strings.Count(stderr, `msg=request`) }
	edge := func(info serveInfo) string {
		for _, p := range info.PoPs {
			if p.Role == "edge" {
				return p.URL
			}
		}
		t.Fatal("no edge")
		return ""
	}
	base := []string{"--json", "serve", "--origin", dir, "--free-ports", "--no-dns", "--token", "tok"}

	// The default without a terminal: no access log.
	info, stop, stderr := startServeCmdStderr(t, base...)
	getThroughPoP(t, edge(info), "/")
	stop()
	if n := requests(string(stderr.Bytes())); n != 0 {
		t.Errorf("default, not a terminal: %d access records on stderr; want none:\n%s", n, stderr.Bytes())
	}

	// A file: appended to, logfmt, with the cache verdict.
	for range 2 {
		info, stop, stderr = startServeCmdStderr(t, append(base, "--access-log", logFile)...)
		getThroughPoP(t, edge(info), "/")
		stop()
		if n := requests(string(stderr.Bytes())); n != 0 {
			t.Errorf("--access-log FILE: %d records on stderr", n)
		}
	}
	data, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string // the edge's (the shield logs its own)
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if !strings.Contains(l, "pop=shield ") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("access log has %d lines of an edge; want 2 (one per run, appended):\n%s", len(lines), data)
	}
	for _, l := range lines {
		for _, want := range []string{"level=INFO", "msg=request", "method=GET", "host=www.example.test", "uri=/ ", "status=200", "cache=MISS", "cache_status="} {
			if !strings.Contains(l, want) {
				t.Errorf("access line lacks %q: %s", want, l)
			}
		}
	}

	// Asked for on stderr, from the configuration.
	cfg := writeConfig(t, "serve:\n  access_log: stderr\n")
	info, stop, stderr = startServeCmdStderr(t, append([]string{"--config", cfg}, base...)...)
	getThroughPoP(t, edge(info), "/")
	getThroughPoP(t, edge(info), "/")
	stop()
	if n := requests(string(stderr.Bytes())); n != 3 {
		t.Errorf("serve.access_log: stderr: %d records; want 3 (the edge's two, the shield's miss):\n%s", n, stderr.Bytes())
	}
	if !strings.Contains(string(stderr.Bytes()), "cache=HIT") {
		t.Errorf("the second request is not a hit:\n%s", stderr.Bytes())
	}

	// stdout carries --json.
	code, _, errOut := runCLI(t, nil, append(base, "--access-log", "stdout")...)
	if code != ExitUsage || !strings.Contains(errOut, "stdout carries the --json output") {
		t.Errorf("--access-log stdout --json: exit %d\n%s", code, errOut)
	}
}
