package localedge

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/localedge/localca"
)

func TestPlainHTTPAnswer(t *testing.T) {
	for _, tc := range []struct {
		policy       ViewerProtocolPolicy
		method       string
		major, minor int
		want         int
	}{
		{AllowAll, "GET", 1, 1, 0},
		{AllowAll, "POST", 1, 0, 0},
		{RedirectToHTTPS, "GET", 1, 1, 301},
		{RedirectToHTTPS, "HEAD", 1, 0, 301},
		{RedirectToHTTPS, "POST", 1, 1, 307},
		{RedirectToHTTPS, "PUT", 2, 0, 307},
		{RedirectToHTTPS, "DELETE", 1, 1, 307},
		{RedirectToHTTPS, "OPTIONS", 1, 1, 307},
		{RedirectToHTTPS, "PATCH", 1, 1, 307},
		{RedirectToHTTPS, "POST", 1, 0, 403},
		{HTTPSOnly, "GET", 1, 1, 403},
		{HTTPSOnly, "POST", 1, 1, 403},
	} {
		if got := tc.policy.PlainHTTPAnswer(tc.method, tc.major, tc.minor); got != tc.want {
			t.Errorf("%s.PlainHTTPAnswer(%s, HTTP/%d.%d) = %d; want %d", tc.policy, tc.method, tc.major, tc.minor, got, tc.want)
		}
	}
}

func TestParseViewerProtocolPolicy(t *testing.T) {
	for in, want := range map[string]ViewerProtocolPolicy{"": AllowAll, "allow-all": AllowAll, "Redirect-To-HTTPS": RedirectToHTTPS, " https-only ": HTTPSOnly} {
		if got, err := ParseViewerProtocolPolicy(in); err != nil || got != want {
			t.Errorf("ParseViewerProtocolPolicy(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"redirect", "https", "match-viewer"} {
		if _, err := ParseViewerProtocolPolicy(in); err == nil || !strings.Contains(err.Error(), "want allow-all, redirect-to-https or https-only") {
			t.Errorf("ParseViewerProtocolPolicy(%q) = %v; want an error listing the policies", in, err)
		}
	}
}

// httpsTopology runs the default topology with HTTPS over a new CA; topMods
// change the rest of its configuration.
func httpsTopology(t *testing.T, mod func(*HTTPSConfig), topMods ...func(*TopologyConfig)) (*Topology, *localca.CA) {
	t.Helper()
	ca, _, err := localca.LoadOrCreate(filepath.Join(t.TempDir(), "ca"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	hc := &HTTPSConfig{CA: ca, Names: []string{"www.example.test", "www.example.cdn.test"}}
	if mod != nil {
		mod(hc)
	}
	top := startTopology(t, func(c *TopologyConfig) {
		c.HTTPS = hc
		for _, m := range topMods {
			m(c)
		}
	})
	return top, ca
}

// caOnlyClient trusts nothing but ca, dials addr whatever the URL says,
// and speaks HTTP/2 when h2 is true (HTTP/1.1 otherwise).
func caOnlyClient(ca *localca.CA, addr string, h2 bool) *http.Client {
	roots := x509.NewCertPool()
	roots.AddCert(ca.Certificate())
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig:   &tls.Config{RootCAs: roots},
		ForceAttemptHTTP2: h2,
	}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func fetch(t *testing.T, c *http.Client, method, url string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestHTTPSAndHTTP2AtEveryEdge(t *testing.T) {
	// The caches' clock stands still, so a hit's ttl does not depend on
	// how long the requests take on a loaded machine.
	clock := newClock()
	top, ca := httpsTopology(t, nil, func(c *TopologyConfig) { c.Now = clock.Now })
	for _, p := range top.Info().PoPs {
		if p.Role == RoleShield {
			if p.HTTPSURL != "" {
				t.Errorf("shield lists %s; want plain HTTP only", p.HTTPSURL)
			}
			continue
		}
		if p.HTTPSURL != "https://"+p.Addr {
			t.Errorf("%s: HTTPSURL %q; want https://%s", p.Name, p.HTTPSURL, p.Addr)
		}
		_, port, _ := net.SplitHostPort(p.Addr)
		h2 := caOnlyClient(ca, p.Addr, true)
		resp, body := fetch(t, h2, "GET", "https://www.example.test:"+port+"/h2.css?pop="+p.Name)
		if resp.StatusCode != 200 || resp.Proto != "HTTP/2.0" || resp.TLS == nil || resp.TLS.NegotiatedProtocol != "h2" {
			t.Fatalf("%s over HTTPS: %d %s (ALPN %v); want 200 over HTTP/2", p.Name, resp.StatusCode, resp.Proto, resp.TLS)
		}
		if !strings.HasPrefix(body, "page /h2.css") || !strings.Contains(resp.Header.Get("Cache-Status"), "fwd=uri-miss") {
			t.Errorf("%s: body %q, Cache-Status %q; want the page, a miss", p.Name, body, resp.Header.Get("Cache-Status"))
		}
		resp, _ = fetch(t, h2, "GET", "https://www.example.test:"+port+"/h2.css?pop="+p.Name)
		if cs := resp.Header.Get("Cache-Status"); !strings.HasSuffix(cs, ", "+p.Name+"; hit; ttl=60") {
			t.Errorf("%s: second HTTP/2 request Cache-Status %q; want a hit", p.Name, cs)
		}
		h1 := caOnlyClient(ca, p.Addr, false)
		resp, _ = fetch(t, h1, "GET", "https://www.example.test:"+port+"/h2.css?pop="+p.Name)
		if resp.Proto != "HTTP/1.1" || resp.TLS == nil || !strings.Contains(resp.Header.Get("Cache-Status"), ", "+p.Name+"; hit") {
			t.Errorf("%s over HTTPS/1.1: %s %q; want a hit over HTTP/1.1", p.Name, resp.Proto, resp.Header.Get("Cache-Status"))
		}
		// Plain HTTP on the same address (allow-all).
		resp, body = fetch(t, &http.Client{Timeout: 10 * time.Second}, "GET", "http://"+p.Addr+"/plain.css")
		if resp.StatusCode != 200 || resp.TLS != nil || !strings.HasPrefix(body, "page /plain.css") {
			t.Errorf("%s over plain HTTP: %d %q", p.Name, resp.StatusCode, body)
		}
		// The certificate names the PoP and its address.
		host, _, _ := net.SplitHostPort(p.Addr)
		for _, name := range []string{p.Name, host, "www.example.cdn.test", "localhost"} {
			roots := x509.NewCertPool()
			roots.AddCert(ca.Certificate())
			conn, err := tls.Dial("tcp", p.Addr, &tls.Config{ServerName: name, RootCAs: roots})
			if err != nil {
				t.Errorf("%s: TLS as %s: %v", p.Name, name, err)
				continue
			}
			conn.Close()
		}
	}
	info := top.Info()
	if info.HTTPS == nil || !strings.Contains(info.HTTPS.CACert, "BEGIN CERTIFICATE") || info.HTTPS.CAFile != ca.CertPath() || info.HTTPS.Policy != AllowAll {
		t.Errorf("Info().HTTPS = %+v", info.HTTPS)
	}
}

func TestHTTPSUntrustedOrUnnamedFails(t *testing.T) {
	top, ca := httpsTopology(t, nil)
	pop := top.Info().PoPs[0]
	// The system roots do not include a CA made a moment ago.
	if _, err := (&http.Client{Timeout: 5 * time.Second}).Get(pop.HTTPSURL + "/"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("GET with the system roots = %v; want a certificate error", err)
	}
	c := caOnlyClient(ca, pop.Addr, true)
	if _, err := c.Get("https://www.example.com/"); err == nil || !strings.Contains(err.Error(), "www.example.com") {
		t.Errorf("GET for a name the certificate does not list = %v; want a certificate error", err)
	}
}

func TestViewerProtocolPolicies(t *testing.T) {
	top, ca := httpsTopology(t, func(c *HTTPSConfig) {
		c.Policy = HTTPSOnly
		c.HostPolicies = map[string]ViewerProtocolPolicy{"www.example.test": RedirectToHTTPS, "Open.Example.Test": AllowAll}
	})
	pop := top.Info().PoPs[0]
	_, port, _ := net.SplitHostPort(pop.Addr)
	plain := &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{Proxy: nil, DialContext: func(ctx context.Context, n, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, n, pop.Addr)
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base := "http://www.example.test:" + port
	resp, _ := fetch(t, plain, "GET", base+"/a/b.css?x=1&y=%2F")
	if resp.StatusCode != 301 || resp.Header.Get("Location") != "https://www.example.test:"+port+"/a/b.css?x=1&y=%2F" {
		t.Errorf("GET over HTTP under redirect-to-https: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if cs := resp.Header.Get("Cache-Status"); cs != pop.Name+"; detail=redirect-to-https" {
		t.Errorf("redirect Cache-Status %q", cs)
	}
	resp, body := fetch(t, plain, "HEAD", base+"/")
	if resp.StatusCode != 301 || body != "" {
		t.Errorf("HEAD over HTTP: %d %q; want 301 without body", resp.StatusCode, body)
	}
	resp, _ = fetch(t, plain, "POST", base+"/form")
	if resp.StatusCode != 307 || resp.Header.Get("Location") != "https://www.example.test:"+port+"/form" {
		t.Errorf("POST over HTTP/1.1: %d %q; want 307 to HTTPS", resp.StatusCode, resp.Header.Get("Location"))
	}
	// HTTP/1.0 has no 307: CloudFront answers 403.
	if status := rawStatus(t, pop.Addr, "POST /form HTTP/1.0\r\nHost: www.example.test\r\nContent-Length: 0\r\n\r\n"); status != 403 {
		t.Errorf("POST over HTTP/1.0: %d; want 403", status)
	}
	// The redirect is followed to the same PoP over HTTPS.
	follow := caOnlyClient(ca, pop.Addr, true)
	follow.CheckRedirect = nil
	resp, body = fetch(t, follow, "GET", base+"/followed.css")
	if resp.StatusCode != 200 || resp.TLS == nil || resp.Proto != "HTTP/2.0" || !strings.HasPrefix(body, "page /followed.css") {
		t.Errorf("following the redirect: %d %s TLS %v %q", resp.StatusCode, resp.Proto, resp.TLS != nil, body)
	}
	// Another host falls under the default policy, https-only.
	resp, body = fetch(t, plain, "GET", "http://other.example.test:"+port+"/")
	if resp.StatusCode != 403 || !strings.Contains(body, "HTTPS only") || resp.Header.Get("Location") != "" {
		t.Errorf("GET over HTTP under https-only: %d %q", resp.StatusCode, body)
	}
	resp, _ = fetch(t, plain, "GET", "http://open.example.test:"+port+"/")
	if resp.StatusCode != 200 {
		t.Errorf("GET over HTTP under allow-all (host named in mixed case): %d", resp.StatusCode)
	}
	// The GeoDNS checks health over HTTP, whatever the policy.
	resp, _ = fetch(t, plain, "GET", "http://other.example.test:"+port+HealthPath)
	if resp.StatusCode != 200 {
		t.Errorf("health over HTTP under https-only: %d; want 200", resp.StatusCode)
	}
	// Over HTTPS every policy serves.
	resp, _ = fetch(t, caOnlyClient(ca, pop.Addr, true), "GET", "https://www.example.test:"+port+"/")
	if resp.StatusCode != 200 {
		t.Errorf("GET over HTTPS: %d", resp.StatusCode)
	}
}

func rawStatus(t *testing.T, addr, req string) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, req)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestHTTPSConfigErrors(t *testing.T) {
	ca, _, err := localca.LoadOrCreate(filepath.Join(t.TempDir(), "ca"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		hc   HTTPSConfig
		want string
	}{
		{HTTPSConfig{}, "no CA"},
		{HTTPSConfig{CA: ca, Policy: "redirect"}, `"redirect": want allow-all`},
		{HTTPSConfig{CA: ca, HostPolicies: map[string]ViewerProtocolPolicy{"https://www.example.test": HTTPSOnly}}, `host "https://www.example.test": want a hostname`},
		{HTTPSConfig{CA: ca, HostPolicies: map[string]ViewerProtocolPolicy{"www.example.test": "nope"}}, "host www.example.test: viewer protocol policy"},
		{HTTPSConfig{CA: ca, Names: []string{"www.example.test:443"}}, `"www.example.test:443": want a hostname`},
	} {
		cfg := DefaultTopologyConfig(true)
		cfg.Origin.Handler = http.NotFoundHandler()
		cfg.HTTPS = &tc.hc
		if _, err := NewTopology(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewTopology(%+v) = %v; want %q", tc.hc, err, tc.want)
		}
	}
}

// TestHTTPSCertificateRenewed moves the clock past two thirds of the
// certificate's life: the next handshake gets a new one. The clock starts
// in the past, so that both certificates are valid for the client.
func TestHTTPSCertificateRenewed(t *testing.T) {
	clock := time.Now().Add(-2*time.Hour - time.Minute)
	var mu sync.Mutex // guards clock
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	top, ca := httpsTopology(t, func(c *HTTPSConfig) { c.Now = now; c.LeafLifetime = 3 * time.Hour })
	pop := top.Info().PoPs[0]
	serial := func() string {
		roots := x509.NewCertPool()
		roots.AddCert(ca.Certificate())
		conn, err := tls.Dial("tcp", pop.Addr, &tls.Config{ServerName: "www.example.test", RootCAs: roots})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	first := serial()
	if again := serial(); again != first {
		t.Errorf("certificate changed between two handshakes")
	}
	mu.Lock()
	clock = time.Now() // 59 minutes of the first certificate's 3 hours left
	mu.Unlock()
	if renewed := serial(); renewed == first {
		t.Errorf("certificate not renewed with less than a third of its life left")
	}
}

// TestCurlHTTP2 checks the edges with curl, an HTTP/2 client that shares
// nothing with Go's: ALPN h2 over TLS trusting only the CA, and HTTP/1.1
// kept.
func TestCurlHTTP2(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("curl is needed under CI")
		}
		t.Skip("no curl")
	}
	top, ca := httpsTopology(t, nil)
	pop := top.Info().PoPs[1]
	host, port, _ := net.SplitHostPort(pop.Addr)
	run := func(args ...string) string {
		args = append([]string{"-sS", "--max-time", "10", "--cacert", ca.CertPath(), "--resolve", "www.example.test:" + port + ":" + host, "-o", os.DevNull}, args...)
		out, err := exec.Command(curl, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	url := "https://www.example.test:" + port + "/curl.css"
	if out := run("--http2", "-w", "%{http_version} %{http_code}", url); out != "2 200" {
		t.Errorf("curl --http2: %q; want \"2 200\"", out)
	}
	if out := run("--http1.1", "-w", "%{http_version} %{http_code}", url); out != "1.1 200" {
		t.Errorf("curl --http1.1: %q; want \"1.1 200\"", out)
	}
	// Without the CA curl refuses the certificate.
	out, err := exec.Command(curl, "-sS", "--max-time", "10", "--resolve", "www.example.test:"+port+":"+host, "-o", os.DevNull, url).CombinedOutput()
	if err == nil {
		t.Errorf("curl without --cacert succeeded: %s", out)
	}
}

// TestHTTPSEntriesAndPurges: an edge keeps http:// and https:// responses
// as entries of their own (the scheme is part of its cache key); a purge
// by absolute URL removes only that scheme's, a purge by path both; the
// shield, reached over HTTP, keys by the scheme its edge forwards
// (X-Forwarded-Proto), so it holds one entry for each too
// (TestShieldKeysByForwardedScheme).
func TestHTTPSEntriesAndPurges(t *testing.T) {
	top, ca := httpsTopology(t, nil)
	pop := top.Info().PoPs[0]
	_, port, _ := net.SplitHostPort(pop.Addr)
	tlsClient := caOnlyClient(ca, pop.Addr, true)
	plain := &http.Client{Timeout: 10 * time.Second}
	getBoth := func(path string) (httpsCS, httpCS string) {
		t.Helper()
		resp, _ := fetch(t, tlsClient, "GET", "https://www.example.test:"+port+path)
		req, _ := http.NewRequest("GET", "http://"+pop.Addr+path, nil)
		req.Host = "www.example.test:" + port
		r2, err := plain.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		// Read to the end: the cache holds a response once a client has
		// it whole, not while its body is still being sent.
		_, _ = io.Copy(io.Discard, r2.Body)
		r2.Body.Close()
		return resp.Header.Get("Cache-Status"), r2.Header.Get("Cache-Status")
	}
	s, h := getBoth("/both.css")
	if !strings.HasPrefix(s, "shield; fwd=uri-miss") || !strings.Contains(s, pop.Name+"; fwd=uri-miss") || !strings.HasPrefix(h, "shield; fwd=uri-miss") || !strings.Contains(h, pop.Name+"; fwd=uri-miss") {
		t.Fatalf("first requests: https %q, http %q; want a miss at the edge and at the shield each", s, h)
	}
	// A hit, or (on a loaded machine) the fill the last request started,
	// not yet stored when its client had the whole body.
	edgeHit := func(cs string) bool {
		return strings.Contains(cs, pop.Name+"; hit") || strings.HasSuffix(cs, "; collapsed")
	}
	// hits asks for path over both schemes until both are stored hits at
	// the edge (a fill is stored just after its client has the body), so
	// that a purge then finds both entries.
	hits := func(path string) (s, h string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			s, h = getBoth(path)
			if strings.Contains(s, pop.Name+"; hit") && strings.Contains(h, pop.Name+"; hit") {
				return s, h
			}
			if !edgeHit(s) || !edgeHit(h) || time.Now().After(deadline) {
				t.Fatalf("%s: https %q, http %q; want two hits", path, s, h)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	hits("/both.css")
	edge, _ := top.PoP(pop.Name)
	if n, err := edge.Proxy.Purge(context.Background(), PurgeRequest{URLs: []string{"http://www.example.test:" + port + "/both.css"}}); err != nil || n != 1 {
		t.Fatalf("purge of the http:// URL = %d, %v; want 1 entry", n, err)
	}
	s, h = getBoth("/both.css")
	if !edgeHit(s) || strings.Contains(h, pop.Name+"; hit") {
		t.Errorf("after purging the http:// URL: https %q, http %q; want the https entry kept", s, h)
	}
	// Both schemes' entries of another path, purged by the path.
	getBoth("/path.css")
	hits("/path.css")
	if n, err := edge.Proxy.Purge(context.Background(), PurgeRequest{URLs: []string{"/path.css"}}); err != nil || n != 2 {
		t.Fatalf("purge of the path = %d, %v; want both entries", n, err)
	}
	s, h = getBoth("/path.css")
	if strings.Contains(s, pop.Name+"; hit") || strings.Contains(h, pop.Name+"; hit") {
		t.Errorf("after purging the path: https %q, http %q; want two misses", s, h)
	}
}

// TestShieldKeysByForwardedScheme: behind edges answering HTTP and HTTPS,
// an origin that answers by X-Forwarded-Proto (a cacheable redirect of
// http:// to https://, as Rails' force_ssl or Django's
// SECURE_SSL_REDIRECT with SECURE_PROXY_SSL_HEADER do) never gets its two
// answers mixed at the shield: an https client is never sent the redirect
// meant for http (a redirect loop), nor an http client the https page.
// Before, the shield keyed both by its own connection's scheme (http).
func TestShieldKeysByForwardedScheme(t *testing.T) {
	ca, _, err := localca.LoadOrCreate(filepath.Join(t.TempDir(), "ca"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	top := startTopology(t, func(c *TopologyConfig) {
		c.HTTPS = &HTTPSConfig{CA: ca, Names: []string{"www.example.test"}}
		c.Origin.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=60")
			if r.Header.Get("X-Forwarded-Proto") != "https" {
				http.Redirect(w, r, "https://"+r.Host+r.URL.RequestURI(), http.StatusMovedPermanently)
				return
			}
			io.WriteString(w, "secure page")
		})
	})
	pops := top.Info().PoPs
	host := "www.example.test"
	request := func(pop PoPInfo, path string, overTLS bool) {
		t.Helper()
		var status int
		var body string
		if overTLS {
			_, port, _ := net.SplitHostPort(pop.Addr)
			r, b := fetch(t, caOnlyClient(ca, pop.Addr, true), "GET", "https://"+host+":"+port+path)
			status, body = r.StatusCode, b
			if status != 200 || body != "secure page" {
				t.Errorf("%s %s over HTTPS: %d %q; want the page, not the redirect meant for http", pop.Name, path, status, body)
			}
			return
		}
		_, port, _ := net.SplitHostPort(pop.Addr)
		r, b := get(t, pop.URL+path, "Host", host+":"+port)
		if r.StatusCode != http.StatusMovedPermanently {
			t.Errorf("%s %s over HTTP: %d %q; want the origin's redirect to https", pop.Name, path, r.StatusCode, b)
		}
	}
	// One edge answers both schemes on one address (the Host is the
	// same), keyed apart by the scheme; the shield keyed them alike.
	for _, tlsFirst := range []bool{false, true} {
		path := fmt.Sprintf("/account?tls-first=%t", tlsFirst)
		for range 2 {
			request(pops[0], path, tlsFirst)
		}
		for range 2 {
			request(pops[0], path, !tlsFirst)
		}
	}
	// A purge by https:// URL reaches the shield's https entry only.
	_, port, _ := net.SplitHostPort(pops[0].Addr)
	resp, b := api(t, top, "POST", "/api/v1/purge", top.Token(), `{"urls":["https://www.example.test:`+port+`/account?tls-first=true"]}`)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `{"name":"shield","purged":1}`) {
		t.Errorf("purge of the https:// URL: %d %s; want the shield's https entry purged", resp.StatusCode, b)
	}
}
