package commands

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cdnctl/cdnctl/providers/s3/s3test"
	"github.com/cdnctl/cdnctl/sample"
)

// slowDownProxy fronts an S3 server and answers the first n PUTs with
// 503 SlowDown, as S3 does under load.
func slowDownProxy(t *testing.T, endpoint string, n int32) (addr string, left, injected *atomic.Int32) {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	left, injected = &atomic.Int32{}, &atomic.Int32{}
	left.Store(n)
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.Host = pr.In.Host // the client signed the proxy's host
	}}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && left.Add(-1) >= 0 {
			injected.Add(1)
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts.URL, left, injected
}

// TestDeployS3Retries: a deploy whose uploads S3 throttles warns at each
// retry, naming the object, and counts them in the summary and --json.
func TestDeployS3Retries(t *testing.T) {
	srv, bucket := s3EnvBucket(t, "retry")
	dir := t.TempDir()
	site := filepath.Join(dir, "public")
	if err := os.CopyFS(site, sample.Site()); err != nil {
		t.Fatal(err)
	}
	endpoint, left, injected := slowDownProxy(t, srv.Endpoint, 3)
	config := filepath.Join(dir, "cdnctl.yaml")
	cfg := fmt.Sprintf("origin:\n  target: s3://%s/www\n  endpoint: %s\n  region: %s\ndeploy:\n  site: %s\n  prewarm: {enabled: false}\n  verify: {enabled: false}\n",
		bucket, endpoint, s3test.Region, site)
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, nil, "--config", config, "deploy", "--json")
	if code != 0 {
		t.Fatalf("deploy: exit %d\n%s\n%s", code, out, errOut)
	}
	if injected.Load() != 3 {
		t.Fatalf("the proxy throttled %d requests; want 3", injected.Load())
	}
	rep := decodeReport(t, out)
	if rep.Retries != 3 {
		t.Errorf("--json retries = %d; want 3", rep.Retries)
	}
	warnings := 0
	for _, l := range strings.Split(errOut, "\n") {
		if strings.Contains(l, `msg="s3: retrying"`) {
			warnings++
			if !strings.Contains(l, "level=WARN") || !strings.Contains(l, "key=www/") && !strings.Contains(l, "key=cdnctl-state/") ||
				!strings.Contains(l, "attempt=") || !strings.Contains(l, `reason="SlowDown (HTTP 503): Please reduce your request rate."`) {
				t.Errorf("retry warning: %s", l)
			}
		}
	}
	if warnings != 3 {
		t.Errorf("%d retry warnings; want 3:\n%s", warnings, errOut)
	}

	// Without --json: the summary's last line says it.
	p := filepath.Join(site, "about", "index.html")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, append(b, "<!-- v2 -->"...), 0o644); err != nil {
		t.Fatal(err)
	}
	left.Store(2)
	code, out, errOut = runCLI(t, nil, "--config", config, "deploy")
	if code != 0 {
		t.Fatalf("second deploy: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, ", 2 storage requests retried in ") {
		t.Errorf("the summary does not count the retries:\n%s", out)
	}
}
