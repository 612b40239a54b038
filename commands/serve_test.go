package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"", 0}, {"1048576", 1 << 20}, {"64MiB", 64 << 20}, {"64MB", 64 << 20}, {"64m", 64 << 20},
		{"512k", 512 << 10}, {"1.5GiB", 3 << 29}, {"2 GiB", 2 << 30}, {"1T", 1 << 40},
	}
	for _, tt := range tests {
		if got, err := parseByteSize("k", tt.in); err != nil || got != tt.want {
			t.Errorf("parseByteSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"lots", "64XB", "-1", "1e3", "99999999T"} {
		if _, err := parseByteSize("serve.cache.capacity", bad); err == nil || !strings.Contains(err.Error(), "serve.cache.capacity") {
			t.Errorf("parseByteSize(%q) = %v; want an error naming the key", bad, err)
		}
	}
}

func TestServeConfigTopology(t *testing.T) {
	cfg := defaultServeConfig()
	tc, err := cfg.topology(false)
	if err != nil {
		t.Fatal(err)
	}
	if len(tc.PoPs) != 3 || tc.PoPs[1].Addr != "127.0.2.1:8082" || tc.Shield.Addr != "127.0.0.1:8090" || tc.AdminAddr != "127.0.0.1:8099" || tc.Cache.Capacity != 64<<20 {
		t.Errorf("default topology = %+v", tc)
	}
	tc, _ = cfg.topology(true)
	if tc.PoPs[0].Addr != "127.0.1.1:0" || tc.Origin.Addr != "127.0.0.1:0" {
		t.Errorf("free ports: %s %s", tc.PoPs[0].Addr, tc.Origin.Addr)
	}
	cfg.Delay = 150 * time.Millisecond
	cfg.PoPs[2].Delay = 10 * time.Millisecond
	tc, _ = cfg.topology(false)
	if tc.PoPs[0].Delay != 150*time.Millisecond || tc.PoPs[2].Delay != 10*time.Millisecond {
		t.Errorf("delays %v %v", tc.PoPs[0].Delay, tc.PoPs[2].Delay)
	}
	for _, bad := range []func(*ServeConfig){
		func(c *ServeConfig) { c.Admin = "8099" },
		func(c *ServeConfig) { c.PoPs[0].Addr = "127.0.1.1:99999" },
		func(c *ServeConfig) { c.PoPs = nil },
		func(c *ServeConfig) { c.Cache.Capacity = "lots" },
		func(c *ServeConfig) { c.Cache.MaxObjectSize = "1GiB" },
		func(c *ServeConfig) { c.Origin, c.Upstream = "dist", "http://x" },
		func(c *ServeConfig) { c.Cache.FillBudget = "much" },
		func(c *ServeConfig) { c.Cache.FillBudget = "4MiB" },
		func(c *ServeConfig) { c.Cache.SliceSize = "16MiB" },
		func(c *ServeConfig) { c.Cache.IdleSendTimeout = -time.Second },
		func(c *ServeConfig) { c.Cache.SendTimeout = -time.Second },
	} {
		c := defaultServeConfig()
		bad(&c)
		var usage *UsageError
		if _, err := c.topology(false); !errors.As(err, &usage) {
			t.Errorf("topology(%+v) = %v; want a usage error", c, err)
		}
	}
}

func TestServeConfigFromFileAndEnv(t *testing.T) {
	p := writeConfig(t, `serve:
  upstream: http://127.0.0.1:3000
  admin: 127.0.0.1:0
  shield:
    enabled: false
  pops:
    - name: sg
      addr: 127.0.1.1:0
      regions: [127.1.0.0/16]
      location: {lat: 1.35, lon: 103.8}
      delay: 150ms
  cache:
    capacity: 16MiB
    fill_budget: 24MiB
    slice_size: 0
    idle_send_timeout: 0s
    send_timeout: 2m
    stale_timeout: 500ms
    cookie_paths: [/assets/, /static/]
    key:
      sort_query: true
`)
	env := map[string]string{"CDNCTL_SERVE_CACHE_CAPACITY": "32MiB", "CDNCTL_SERVE_TOKEN": "s3cret"}
	cfg, err := LoadConfig(p, true, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	tc, err := cfg.Serve.topology(false)
	if err != nil {
		t.Fatal(err)
	}
	if tc.Shield != nil || len(tc.PoPs) != 1 || tc.PoPs[0].Name != "sg" || tc.PoPs[0].Delay != 150*time.Millisecond ||
		tc.PoPs[0].Location.Lat != 1.35 || tc.Cache.Capacity != 32<<20 || !tc.Cache.Key.SortQuery || tc.Token != "s3cret" || tc.Origin.URL != "http://127.0.0.1:3000" ||
		tc.Cache.FillBudget != 24<<20 || tc.Cache.SliceSize >= 0 || tc.Cache.IdleSendTimeout >= 0 || tc.Cache.SendTimeout != 2*time.Minute {
		t.Errorf("topology from file = %+v", tc)
	}
	if tc.Cache.StaleTimeout != 500*time.Millisecond || len(tc.Cache.CookiePaths) != 2 || tc.Cache.CookiePaths[1] != "/static/" {
		t.Errorf("stale_timeout %s, cookie_paths %q; want 500ms and the two prefixes", tc.Cache.StaleTimeout, tc.Cache.CookiePaths)
	}
	for yaml, want := range map[string]string{
		"serve:\n  cache:\n    cookie_paths: [assets/]\n": `serve.cache.cookie_paths[0] "assets/": want a path prefix starting with /`,
		"serve:\n  cache:\n    stale_timeout: -1s\n":      "serve.cache.stale_timeout -1s: want a positive duration",
	} {
		cfg, err := LoadConfig(writeConfig(t, yaml), true, noEnv)
		if err == nil {
			_, err = cfg.Serve.topology(false)
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v; want %q", yaml, err, want)
		}
	}
	if cfg, err := LoadConfig(writeConfig(t, "serve:\n  cache:\n    stale_timeout: 0s\n"), true, noEnv); err != nil {
		t.Error(err)
	} else if tc, err := cfg.Serve.topology(false); err != nil || tc.Cache.StaleTimeout >= 0 {
		t.Errorf("stale_timeout 0s: %s, %v; want negative (wait for the upstream)", tc.Cache.StaleTimeout, err)
	}
	if _, err := LoadConfig(writeConfig(t, "serve:\n  pops:\n    - nme: x\n"), true, noEnv); err == nil || !strings.Contains(err.Error(), `"nme"`) {
		t.Errorf("unknown key in serve.pops: %v", err)
	}
}

// TestServeCommand runs the command in-process over an upstream, checks
// the JSON line and stops it.
func TestServeCommand(t *testing.T) {
	up := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		if r.URL.Path == "/aged" {
			w.Header().Set("Age", "61") // stale on arrival, by one second
		}
		w.Write([]byte("upstream " + r.URL.Path))
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go up.Serve(ln)
	defer up.Close()

	info, stop := startServeCmd(t, "--json", "serve", "--free-ports", "--no-shield", "--upstream", "http://"+ln.Addr().String(), "--token", "tok", "--edge", "edge9=127.0.9.1:0")
	if len(info.PoPs) != 4 || info.PoPs[3].Name != "edge9" || info.Token != "tok" {
		t.Errorf("topology = %+v", info)
	}
	req, _ := http.NewRequest("GET", info.PoPs[3].URL+"/x", nil)
	req.Host = "www.example.test"
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("X-Served-By") != "edge9" {
		t.Errorf("through edge9: %v %v", resp, err)
	}
	if resp != nil {
		resp.Body.Close()
	}
	// The default cache.stale_if_error grace: with the upstream gone, a
	// stale response is served (RFC 9111 §4.2.4 allows it when
	// disconnected) rather than a 502.
	getEdge := func(path string) (int, string, string) {
		code, body, h := getThroughPoP(t, info.PoPs[3].URL, path)
		return code, body, h.Get("Cache-Status")
	}
	getEdge("/aged")
	up.Close()
	if code, body, cs := getEdge("/aged"); code != 200 || body != "upstream /aged" || !strings.Contains(cs, "stale-if-error") {
		t.Errorf("upstream down, stale stored: %d %q (Cache-Status %q); want the stale response", code, body, cs)
	}
	stop()
}

// getThroughPoP requests path of www.example.test at the PoP whose base
// URL is pop.
func getThroughPoP(t *testing.T, pop, path string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", pop+path, nil)
	req.Host = "www.example.test"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s through %s: %v", path, pop, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

// serveInfo is the first line of `cdnctl --json serve`.
type serveInfo struct {
	PoPs  []struct{ Name, URL, Role string }
	Token string
}

// startServeCmd runs cdnctl with args (a --json serve) in-process until
// stop, which checks the exit code, and returns its first JSON line.
func startServeCmd(t *testing.T, args ...string) (info serveInfo, stop func()) {
	t.Helper()
	info, stop, _ = startServeCmdStderr(t, args...)
	return info, stop
}

// startServeCmdStderr is startServeCmd, with the command's stderr.
func startServeCmdStderr(t *testing.T, args ...string) (info serveInfo, stop func(), stderr *syncBuffer) {
	t.Helper()
	out, errOut := &syncBuffer{}, &syncBuffer{}
	ios := &IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut}
	f := &Factory{IO: ios, LookupEnv: noEnv, Now: time.Now}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- f.Run(ctx, args) }()
	stop = func() {
		t.Helper()
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("exit code after SIGINT = %d; want 0 (stderr %s)", code, errOut.Bytes())
		}
	}
	waitLine := time.Now().Add(10 * time.Second)
	for {
		if line, _, ok := bytes.Cut(out.Bytes(), []byte("\n")); ok {
			if err := json.Unmarshal(line, &info); err != nil {
				stop()
				t.Fatalf("first line %q: %v", line, err)
			}
			return info, stop, errOut
		}
		select {
		case code := <-done:
			cancel()
			t.Fatalf("cdnctl %v exited %d before serving; stderr: %s", args, code, errOut.Bytes())
		default:
		}
		if time.Now().After(waitLine) {
			cancel()
			<-done
			t.Fatalf("no JSON line; stderr: %s", errOut.Bytes())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestServeUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--origin", "dist", "--upstream", "http://x"},
		{"serve", "--edge", "nope"},
		{"serve", "--origin", "/no/such/folder"},
		{"serve", "--cache-size", "lots"},
		{"serve", "--upstream", "http://x", "--allow-dotfile", ".htaccess"},
		{"serve", "--origin", t.TempDir(), "--free-ports", "--allow-dotfile", "[.env"},
	} {
		ios, _, _, errOut := TestStreams()
		f := &Factory{IO: ios, LookupEnv: noEnv, Now: time.Now}
		if code := f.Run(context.Background(), args); code != ExitUsage {
			t.Errorf("cdnctl %v = exit %d (%s); want %d", args, code, errOut, ExitUsage)
		}
	}
	// A taken port: a clear error, exit 1.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ios, _, _, errOut := TestStreams()
	f := &Factory{IO: ios, LookupEnv: noEnv, Now: time.Now}
	code := f.Run(context.Background(), []string{"serve", "--upstream", "http://127.0.0.1:1", "--admin", ln.Addr().String(),
		"--edge", "pop1=127.0.1.1:0", "--edge", "pop2=127.0.2.1:0", "--edge", "pop3=127.0.3.1:0", "--shield-addr", "127.0.0.1:0"})
	if code != ExitFailure || !strings.Contains(errOut.String(), "admin: cannot listen on "+ln.Addr().String()+": the address is already in use") {
		t.Errorf("taken admin port: exit %d, %s", code, errOut)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader in two
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.b.Bytes()...)
}

// TestServeFolderDotfiles is the attack of issue 12 through the edges of
// `cdnctl serve --origin`: dotfiles are not found (twice: nothing secret
// is cached), a file's path with a trailing slash is not found, and
// --allow-dotfile (added to serve.allow_dotfiles) serves what it names.
func TestServeFolderDotfiles(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"index.html":               "<h1>home</h1>",
		".env":                     "SECRET_KEY=env-secret",
		".git/config":              "url = https://token-secret@example.test/",
		".htpasswd":                "admin:secret",
		".npmrc":                   "_authToken=npm-secret",
		".htaccess":                "Options -Indexes",
		".well-known/security.txt": "Contact: mailto:security@example.test",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := writeConfig(t, "serve:\n  allow_dotfiles: [/.htaccess]\n")
	info, stop := startServeCmd(t, "--json", "--config", cfg, "serve", "--origin", dir, "--free-ports", "--no-dns", "--token", "tok", "--access-log=false")
	defer stop()
	get := func(pop, path string) (int, string) {
		code, body, _ := getThroughPoP(t, pop, path)
		return code, body
	}
	for _, p := range info.PoPs {
		if p.Role == "shield" {
			continue
		}
		for range 2 {
			for _, path := range []string{"/.env", "/.git/config", "/.htpasswd", "/.npmrc", "/.env/", "/index.html/"} {
				if code, body := get(p.URL, path); code != http.StatusNotFound || strings.Contains(body, "secret") || strings.Contains(body, "<h1>") {
					t.Errorf("%s GET %s = %d %q; want 404", p.Name, path, code, body)
				}
			}
		}
		for path, want := range map[string]string{"/index.html": "<h1>home</h1>", "/.well-known/security.txt": "Contact: mailto:security@example.test", "/.htaccess": "Options -Indexes"} {
			if code, body := get(p.URL, path); code != http.StatusOK || body != want {
				t.Errorf("%s GET %s = %d %q; want 200 %q", p.Name, path, code, body, want)
			}
		}
	}
}

// TestServeStatic runs `cdnctl serve --origin` over a site with clean
// URLs, a 404.html, _redirects and _headers, with serve.static from the
// config file and --not-found on the command line, and checks the answers
// through a PoP.
func TestServeStatic(t *testing.T) {
	dir := writeSite(t, map[string]string{
		"index.html": "<h1>home</h1>",
		"about.html": "<h1>about</h1>",
		"404.html":   "<h1>not here</h1>",
		"_redirects": "/old /about 301\n",
		"_headers":   "/*\n  X-Frame-Options: DENY\n",
	})
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(pop, path string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", pop+path, nil)
		req.Host = "www.example.test"
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	info, stop := startServeCmd(t, "--json", "serve", "--origin", dir, "--free-ports", "--no-dns", "--token", "tok", "--access-log=false")
	pop := info.PoPs[0].URL
	for path, want := range map[string]string{"/about": "200 <h1>about</h1>", "/missing": "404 <h1>not here</h1>", "/old": "301 ", "/about.html": "308 ", "/_redirects": "404 <h1>not here</h1>"} {
		resp, body := get(pop, path)
		if got := fmt.Sprintf("%d %s", resp.StatusCode, body); !strings.HasPrefix(got, want) || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s = %s (X-Frame-Options %q); want %s… with DENY", path, got, resp.Header.Get("X-Frame-Options"), want)
		}
	}
	stop()

	cfg := writeConfig(t, "serve:\n  static:\n    html_handling: none\n    headers: false\n")
	info, stop = startServeCmd(t, "--json", "--config", cfg, "serve", "--origin", dir, "--free-ports", "--no-dns", "--token", "tok", "--access-log=false", "--not-found", "single-page-application")
	defer stop()
	pop = info.PoPs[0].URL
	for path, want := range map[string]string{"/about.html": "200 <h1>about</h1>", "/about": "200 <h1>home</h1>", "/old": "301 "} {
		resp, body := get(pop, path)
		if got := fmt.Sprintf("%d %s", resp.StatusCode, body); !strings.HasPrefix(got, want) || resp.Header.Get("X-Frame-Options") != "" {
			t.Errorf("none + SPA: GET %s = %s (X-Frame-Options %q); want %s… without _headers", path, got, resp.Header.Get("X-Frame-Options"), want)
		}
	}
}

// TestServeStaticErrors: bad values and a _redirects that does not parse
// are usage errors naming the key or the file's line.
func TestServeStaticErrors(t *testing.T) {
	bad := writeSite(t, map[string]string{"_redirects": "/a /b 301\n/c /d 30\n"})
	for _, tt := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"serve", "--origin", t.TempDir(), "--free-ports", "--no-dns", "--html-handling", "auto"}, nil,
			`serve.static.html_handling (--html-handling) "auto": want auto-trailing-slash, force-trailing-slash, drop-trailing-slash or none`},
		{[]string{"serve", "--origin", t.TempDir(), "--free-ports", "--no-dns", "--not-found", "spa"}, nil, `"spa": want 404-page, single-page-application or none`},
		{[]string{"serve", "--upstream", "http://127.0.0.1:1", "--not-found", "none"}, nil, "--not-found applies to a folder origin"},
		{[]string{"serve", "--origin", t.TempDir(), "--free-ports", "--no-dns"}, map[string]string{"CDNCTL_SERVE_STATIC_REDIRECT_STATUS": "200"}, "serve.static.redirect_status 200: want 301, 302, 303, 307 or 308"},
		{[]string{"serve", "--origin", bad, "--free-ports", "--no-dns"}, nil, `_redirects:2: unknown status "30"; want 301, 302, 303, 307, 308 or 200`},
	} {
		ios, _, _, errOut := TestStreams()
		f := &Factory{IO: ios, LookupEnv: func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }, Now: time.Now}
		if code := f.Run(context.Background(), tt.args); code != ExitUsage || !strings.Contains(errOut.String(), tt.want) {
			t.Errorf("cdnctl %v = exit %d, %s; want %d and %q", tt.args, code, errOut, ExitUsage, tt.want)
		}
	}
}

// TestDocsServeConfigExample: the serve example of docs/config.md decodes
// strictly and its static section is valid.
func TestDocsServeConfigExample(t *testing.T) {
	found := false
	for _, y := range fencedBlocks(t, filepath.Join("..", "docs", "config.md"), "yaml") {
		if !strings.HasPrefix(y, "serve:") {
			continue
		}
		found = true
		cfg, err := LoadConfig(writeConfig(t, y), true, noEnv)
		if err != nil {
			t.Fatalf("docs/config.md serve example: %v", err)
		}
		o, err := cfg.Serve.Static.originOptions()
		if err != nil || o.NotFound != "single-page-application" || o.HTMLHandling != "auto-trailing-slash" || o.RedirectStatus != 302 {
			t.Errorf("serve.static of the example = %+v, %v", o, err)
		}
	}
	if !found {
		t.Error("docs/config.md has no serve example")
	}
}
