package commands

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/localedge/edgetest"
	"github.com/cdnctl/cdnctl/providers/deploy"
)

// TestCommandsOverHTTPS deploys to a local topology with HTTPS
// (serve.https.enabled: the site is https://www.example.test/), then
// prewarms, verifies and probes it: each finds the topology's CA through
// its admin API and reaches the edges over HTTP/2.
func TestCommandsOverHTTPS(t *testing.T) {
	e := newDeployEnv(t, func(c *localedge.TopologyConfig) { edgetest.HTTPS(t, c) }, "serve:\n  https:\n    enabled: true\n")
	code, out, errOut := e.run(t, "deploy", "--json")
	if code != 0 {
		t.Fatalf("deploy: exit %d\n%s", code, errOut)
	}
	rep := decodeReport(t, out)
	warm := rep.Step(deploy.StepPrewarm)
	check := rep.Step(deploy.StepVerify)
	if warm == nil || warm.Prewarm == nil || len(warm.Prewarm.Targets) != 1 || warm.Prewarm.Targets[0].BaseURL != "https://www.example.test/" {
		t.Fatalf("prewarm step = %+v; want the site at https://www.example.test/", warm)
	}
	if r := warm.Prewarm.Targets[0].Report; r == nil || r.Errors != 0 || r.Requests == 0 {
		t.Errorf("prewarm over HTTPS = %+v; want requests and no error", r)
	}
	if check == nil || check.Verify == nil || check.Verify.Targets[0].Report == nil || !check.Verify.Targets[0].Report.Passed {
		t.Errorf("verify over HTTPS = %+v; want passed", check)
	}

	admin := []string{"--admin", e.edge.AdminURL}
	code, out, errOut = e.run(t, append([]string{"prewarm", "/", "/about/"}, admin...)...)
	if code != 0 || !strings.Contains(out, " 0 errors") {
		t.Errorf("prewarm: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = e.run(t, append([]string{"verify"}, admin...)...)
	if code != 0 || !strings.Contains(out, "every answer has the deployed content") {
		t.Errorf("verify: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = e.run(t, append([]string{"probe", "https://www.example.test/about/"}, admin...)...)
	if code != 0 || !strings.Contains(out, "status\t200 HTTP/2.0\t200 HTTP/2.0\t200 HTTP/2.0\n") {
		t.Errorf("probe: exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestHTTPSDocExamples runs the examples of the "HTTPS and HTTP/2" section
// of docs/localedge.md: its cdnctl command lines parse, and its
// configuration starts a topology whose edges answer as the section's
// policy table says, with a certificate that names the extra hostname.
func TestHTTPSDocExamples(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "docs", "localedge.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "\n## HTTPS and HTTP/2\n")
	if !ok {
		t.Fatal("docs/localedge.md has no HTTPS and HTTP/2 section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	doc := filepath.Join(t.TempDir(), "section.md")
	os.WriteFile(doc, []byte(section), 0o644)

	// The command lines.
	parsed := 0
	for _, block := range fencedBlocks(t, doc, "sh") {
		for _, line := range strings.Split(block, "\n") {
			words := shellWords(strings.TrimSpace(line))
			if len(words) == 0 || words[0] != "cdnctl" {
				continue
			}
			root := NewRootCmd(&Factory{IO: &IOStreams{}, LookupEnv: noEnv, Now: time.Now})
			cmd, rest, err := root.Find(words[1:])
			if err == nil {
				err = cmd.ParseFlags(rest)
			}
			if err != nil || cmd == root {
				t.Errorf("docs: %q: %v", line, err)
			}
			parsed++
		}
	}
	if parsed < 3 {
		t.Errorf("%d cdnctl commands in the section; want the serve, trust and trust --uninstall examples", parsed)
	}

	// The configuration, started.
	yamls := fencedBlocks(t, doc, "yaml")
	if len(yamls) != 1 {
		t.Fatalf("%d yaml examples in the section; want 1", len(yamls))
	}
	cfgFile := filepath.Join(t.TempDir(), "cdnctl.yaml")
	os.WriteFile(cfgFile, []byte(yamls[0]), 0o644)
	cfg, err := LoadConfig(cfgFile, true, nil)
	if err != nil {
		t.Fatalf("the section's config does not load: %v", err)
	}
	sc := cfg.Serve
	sc.HTTPS.CADir = filepath.Join(t.TempDir(), "ca")
	sc.AccessLog = AccessLogOff
	lc, err := startLocalCDN(t.Context(), &ServeOptions{Config: sc, DNS: cfg.DNS, FreePorts: true, LookupEnv: noEnv})
	if err != nil {
		t.Fatalf("the section's config does not start: %v", err)
	}
	defer lc.close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- lc.top.Run(ctx) }()
	defer func() { cancel(); <-done }()
	info := lc.top.Info()
	pop := info.PoPs[0]
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(info.HTTPS.CACert))
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, pop.Addr)
	}
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	plain := &http.Client{Timeout: 10 * time.Second, CheckRedirect: noRedirect, Transport: &http.Transport{DialContext: dial}}
	secure := &http.Client{Timeout: 10 * time.Second, CheckRedirect: noRedirect,
		Transport: &http.Transport{DialContext: dial, ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{RootCAs: roots}}}
	for host, want := range map[string]int{"www.example.test": 301, "app.example.test": 403} {
		for scheme, client := range map[string]*http.Client{"http": plain, "https": secure} {
			resp, err := client.Get(scheme + "://" + host + "/")
			if err != nil {
				t.Fatalf("%s://%s: %v", scheme, host, err)
			}
			resp.Body.Close()
			w := want
			if scheme == "https" {
				w = 200
				if resp.Proto != "HTTP/2.0" {
					t.Errorf("https://%s over %s; want HTTP/2", host, resp.Proto)
				}
			}
			if resp.StatusCode != w {
				t.Errorf("%s://%s/: %d; want %d (the section's policies)", scheme, host, resp.StatusCode, w)
			}
		}
	}
}

// TestServeHTTPSPrintsWorkingCurl runs cdnctl serve --https and then the
// curl command it prints: it must reach pop1 over HTTP/2 with the CA.
func TestServeHTTPSPrintsWorkingCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("curl is needed under CI")
		}
		t.Skip("no curl")
	}
	out, errOut := &syncBuffer{}, &syncBuffer{}
	ios := &IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut}
	caDir := filepath.Join(t.TempDir(), "ca")
	env := map[string]string{"CDNCTL_SERVE_HTTPS_CA_DIR": caDir}
	f := &Factory{IO: ios, LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }, Now: time.Now}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() {
		done <- f.Run(ctx, []string{"serve", "--https", "--free-ports", "--no-dns", "--access-log=false", "--stop-after", "60s"})
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d: %s", code, errOut.Bytes())
		}
	}()
	var line string
	for deadline := time.Now().Add(15 * time.Second); line == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, l := range strings.Split(string(out.Bytes()), "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "curl -si --http2 --cacert ") {
				line = strings.TrimSpace(l)
			}
		}
	}
	if line == "" {
		t.Fatalf("no curl --http2 line in the output:\n%s%s", out.Bytes(), errOut.Bytes())
	}
	if !strings.Contains(string(out.Bytes()), "HTTPS: the edges' certificate is signed by your local CA, "+filepath.Join(caDir, "rootCA.pem")) ||
		!strings.Contains(string(out.Bytes()), "Browsers trust it after: cdnctl trust") {
		t.Errorf("serve --https does not say how to trust the CA:\n%s", out.Bytes())
	}
	args := append(shellWords(line)[1:], "-o", os.DevNull, "-w", "%{http_version} %{http_code}")
	args[slices.Index(args, "-si")] = "-sS"
	res, err := exec.Command(curl, args...).CombinedOutput()
	if err != nil || string(res) != "2 200" {
		t.Errorf("the printed curl (%s): %q, %v; want HTTP/2 200", line, res, err)
	}
}
