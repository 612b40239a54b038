package localedge

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestUntrustedField(t *testing.T) {
	for _, tt := range []struct {
		name    string
		trusted bool
		want    bool
	}{
		{"Accept", false, false},
		{"Cookie", false, false},
		{"X-Request-Id", false, false},
		{"Connection", true, true},
		{"Keep-Alive", false, true},
		{"X-Forwarded-For", false, true},
		{"X-Forwarded-For", true, false},
		{"X-Forwarded-Host", true, false},
		{"X-Forwarded-Proto", true, false},
		{"X-Forwarded-Prefix", true, true},
		{"X-Forwarded-Ssl", true, true},
		{"X-Forwarded-Path", false, true},
		{"X-Forwarded-Port", true, true},
		{"X-Original-Method", false, true},
		{"X-Original-Url", true, true},
		{"Front-End-Https", false, true},
		{"Forwarded", true, true},
		{"X-Http-Method-Override", true, true},
		{"X-Middleware-Subrequest", false, true},
		{"X_forwarded_for", false, true},
		{"X_forwarded_for", true, false},
		{"X_original_url", true, true},
		{"Proxy", false, true},
	} {
		if got := untrustedField(tt.name, tt.trusted); got != tt.want {
			t.Errorf("untrustedField(%q, trusted %v) = %v; want %v", tt.name, tt.trusted, got, tt.want)
		}
	}
}

// TestForwardedFieldIsUpstreamRequest: the values Vary selection compares
// are exactly those of the request sent upstream, field by field.
func TestForwardedFieldIsUpstreamRequest(t *testing.T) {
	for _, mod := range []func(*Proxy){
		func(p *Proxy) {},
		func(p *Proxy) { p.IgnoreRequestCacheControl, p.KeepAcceptLanguage = true, true },
		func(p *Proxy) { p.Role, p.TrustForwarded, p.EdgeSecret = RoleShield, true, "s3cret" },
		func(p *Proxy) { p.EdgeSecret = "s3cret" },
	} {
		p := &Proxy{Name: "pop1", Upstream: mustURL("http://127.0.0.1:9")}
		mod(p)
		p.init()
		r, err := http.NewRequest("GET", "http://www.example.test/a?b=1", nil)
		if err != nil {
			t.Fatal(err)
		}
		r.RemoteAddr = "127.0.0.9:5555"
		for name, v := range map[string]string{
			"Accept-Language": "en, DE;q=0.5", "Cache-Control": "no-cache", "Pragma": "no-cache", "Via": "1.1 corp",
			"X-Forwarded-For": "10.0.0.1", "X-Forwarded-Host": "evil.example", "If-None-Match": `"x"`, "Range": "bytes=0-1",
			"Origin": "https://app.example", EdgeSecretField: "s3cret", "Cookie": "a=b",
		} {
			r.Header.Set(name, v)
		}
		p.screenRequest(r.Header)
		k, err := p.Key.KeyFor(r)
		if err != nil {
			t.Fatal(err)
		}
		up := p.upstreamRequest(r, k, http.MethodGet, true).Header
		names := []string{"User-Agent", "Accept", "Authorization"}
		for name := range up {
			names = append(names, name)
		}
		for name := range r.Header {
			names = append(names, name)
		}
		for _, name := range names {
			got, ok := p.forwardedField(r, k, name, true)
			want, wantOK := up[name]
			if ok != wantOK || !slices.Equal(got, want) {
				t.Errorf("%+v: forwardedField(%q) = %q, %v; upstream request has %q, %v", p.Role, name, got, ok, want, wantOK)
			}
		}
		if v := up.Get(EdgeSecretField); (p.Role == RoleEdge && p.EdgeSecret != "") != (v == p.EdgeSecret && v != "") {
			t.Errorf("role %s, secret %q: upstream %s = %q", p.Role, p.EdgeSecret, EdgeSecretField, v)
		}
	}
}

// TestConnectionCannotPoisonVary: a client that lists a selecting field
// in Connection (so the edge drops it upstream) cannot store the response
// under its value of that field (issue 12, Medium 3).
func TestConnectionCannotPoisonVary(t *testing.T) {
	o := newOrigin(t, nil)
	o.handle("/api", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		w.Header().Set("Vary", "Origin, Accept-Language")
		if origin := r.Header.Get("Origin"); origin != "" {
			w.Header().Set("Access-Control-Allow-Origin", origin)
		}
		fmt.Fprintf(w, "lang=%s", r.Header.Get("Accept-Language"))
	})
	_, srv := newProxy(t, o.URL, nil, nil)
	// The attack: the fields are dropped upstream as Connection asks.
	get(t, srv.URL+"/api", "Origin", "https://app.example", "Accept-Language", "de", "Connection", "Origin, Accept-Language")
	if up := o.lastRequest("/api"); up.Header.Get("Origin") != "" || up.Header.Get("Accept-Language") != "" {
		t.Fatalf("Connection-listed fields forwarded: %v", up.Header)
	}
	r, body := get(t, srv.URL+"/api", "Origin", "https://app.example", "Accept-Language", "de")
	if r.Header.Get("Access-Control-Allow-Origin") != "https://app.example" || body != "lang=de" {
		t.Errorf("CORS request got Access-Control-Allow-Origin %q, body %q (X-Cache %s): the poisoned variant", r.Header.Get("Access-Control-Allow-Origin"), body, xcache(r))
	}
	// The variant the origin did choose (without the fields) is a hit for
	// requests without them.
	r, body = get(t, srv.URL+"/api")
	if xcache(r) != "HIT" || body != "lang=" || r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("plain request: X-Cache %s, body %q, ACAO %q; want the stored field-less variant", xcache(r), body, r.Header.Get("Access-Control-Allow-Origin"))
	}
}

func TestNormalizeAcceptLanguage(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"en, de", "de,en"},
		{"de, en", "de,en"},
		{"eN, De", "de,en"},
		{" en ,   de", "de,en"},
		{"en-US,en;q=0.9,de;q=0.8", "en-us,en;q=0.9,de;q=0.8"},
		{"fr;q=0.5, de;q=1.0", "de,fr;q=0.5"},
		{"de;q=1.000, en;q=0.50", "de,en;q=0.5"},
		{"*;q=0.1, en", "en,*;q=0.1"},
		{"en, en;q=0.1", "en"},
		{"da;level=1;q=0.7", "da;q=0.7"},
		{"fr;q=0", "fr;q=0"},
		{"fr;q=abc", "fr"},
		{"", ""},
	} {
		if got := NormalizeAcceptLanguage([]string{tt.in}); len(got) != 1 || got[0] != tt.want {
			t.Errorf("NormalizeAcceptLanguage(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
	if got := NormalizeAcceptLanguage([]string{"en", "de"}); got[0] != "de,en" {
		t.Errorf("two lines: %q; want de,en", got)
	}
}

// TestAcceptLanguageNormalised: the spellings of one preference share a
// variant, and the origin sees the canonical value it was selected by.
func TestAcceptLanguageNormalised(t *testing.T) {
	o := newOrigin(t, nil)
	o.handle("/l", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		io.WriteString(w, r.Header.Get("Accept-Language"))
	})
	_, srv := newProxy(t, o.URL, nil, nil)
	if _, body := get(t, srv.URL+"/l", "Accept-Language", "en, de"); body != "de,en" {
		t.Errorf("origin saw Accept-Language %q; want de,en", body)
	}
	for _, v := range []string{"de, en", "eN, De", " en ,   de", "de;q=1.0, en"} {
		if r, _ := get(t, srv.URL+"/l", "Accept-Language", v); xcache(r) != "HIT" {
			t.Errorf("Accept-Language %q: X-Cache %s; want a hit", v, xcache(r))
		}
	}
	if r, _ := get(t, srv.URL+"/l", "Accept-Language", "fr"); xcache(r) == "HIT" {
		t.Errorf("another language got the stored variant")
	}
	if n := o.count("/l"); n != 2 {
		t.Errorf("origin requests = %d; want 2", n)
	}
}

// TestUntrustedFieldsNeverReachOrigin: override and forwarding fields a
// client sends do not reach the origin, whatever their spelling (issue
// 12, Low 15).
func TestUntrustedFieldsNeverReachOrigin(t *testing.T) {
	o := newOrigin(t, nil)
	o.static("/p", 200, "p", "Cache-Control", "max-age=60")
	_, srv := newProxy(t, o.URL, nil, nil)
	req, _ := http.NewRequest("GET", srv.URL+"/p", nil)
	for _, name := range []string{"X-Forwarded-Prefix", "X-Forwarded-Ssl", "X-Forwarded-Path", "Front-End-Https",
		"X-Original-Method", "X-Original-Url", "X-Http-Method-Override", "Forwarded", "X-Real-Ip", "X-Middleware-Subrequest"} {
		req.Header.Set(name, "evil")
	}
	req.Header["X_forwarded_host"] = []string{"evil.example"}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for name, v := range o.lastRequest("/p").Header {
		if strings.Contains(strings.Join(v, ","), "evil") {
			t.Errorf("origin got %s: %q", name, v)
		}
	}
}

// TestFieldLinesLimit: the 256-field bound counts lines, so 1,000 lines of
// one field are refused (issue 12, Low 15).
func TestFieldLinesLimit(t *testing.T) {
	o := newOrigin(t, nil)
	o.static("/f", 200, "f")
	_, srv := newProxy(t, o.URL, nil, nil)
	req, _ := http.NewRequest("GET", srv.URL+"/f", nil)
	for i := range 1000 {
		req.Header.Add("X-A", fmt.Sprint(i))
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge || o.count("/f") != 0 {
		t.Errorf("1,000 lines of one field: status %d, origin requests %d; want 431 and none", resp.StatusCode, o.count("/f"))
	}
}

// TestContentLengthAndChunkedCloses: after a request with both
// Content-Length and Transfer-Encoding the connection is closed (RFC 9112
// §6.1), so nothing a front proxy framed differently can follow on it.
func TestContentLengthAndChunkedCloses(t *testing.T) {
	o := newOrigin(t, nil)
	o.static("/x", 200, "x", "Cache-Control", "max-age=60")
	_, srv := newProxy(t, o.URL, nil, nil)
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(conn, "GET /x HTTP/1.1\r\nHost: www.example.test\r\nContent-Length: 30\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"+
		"GET /x HTTP/1.1\r\nHost: www.example.test\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if !resp.Close {
		t.Errorf("response has no Connection: close (header %v)", resp.Header)
	}
	if resp2, err := http.ReadResponse(br, nil); err == nil {
		t.Errorf("a second response (%d) came on the connection; want it closed", resp2.StatusCode)
	}
}

// TestShieldTrustsOnlyItsEdges: a request sent straight to the shield
// cannot make it forward override or forwarding fields to the origin (and
// so store a response for every PoP); the edges' own X-Forwarded-* go
// through (issue 12, Medium 7).
func TestShieldTrustsOnlyItsEdges(t *testing.T) {
	o := newOrigin(t, nil)
	o.handle("/page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		fmt.Fprintf(w, "host=%s", r.Header.Get("X-Forwarded-Host"))
	})
	top := startTopology(t, func(c *TopologyConfig) { c.Origin.Handler, c.Origin.URL = nil, o.URL })
	shield, _ := top.PoP("shield")
	pop1, _ := top.PoP("pop1")
	attack := []string{"Host", "www.example.test", "X-Forwarded-Host", "evil.example", "X-Forwarded-For", "6.6.6.6",
		"X-Original-Url", "/admin", "X-Http-Method-Override", "DELETE", "Forwarded", "host=evil.example",
		EdgeSecretField, "guess"}
	_, body := get(t, shield.URL()+"/page", attack...)
	up := o.lastRequest("/page")
	if body != "host=www.example.test" || up.Header.Get("X-Original-Url") != "" || up.Header.Get("X-Http-Method-Override") != "" ||
		up.Header.Get("Forwarded") != "" || strings.Contains(up.Header.Get("X-Forwarded-For"), "6.6.6.6") || up.Header.Get(EdgeSecretField) != "" {
		t.Errorf("direct to the shield: body %q, origin saw %v", body, up.Header)
	}
	// Through an edge: the client's fields are dropped by the edge, the
	// edge's own are trusted by the shield and never passed on.
	r, body := get(t, pop1.URL()+"/page?via-edge", attack...)
	up = o.lastRequest("/page")
	if body != "host=www.example.test" || up.Header.Get(EdgeSecretField) != "" || strings.Contains(up.Header.Get("X-Forwarded-For"), "6.6.6.6") {
		t.Errorf("through pop1: body %q, origin saw %v", body, up.Header)
	}
	if xff := up.Header.Get("X-Forwarded-For"); strings.Count(xff, ",") != 1 {
		t.Errorf("origin X-Forwarded-For %q; want the client, then the edge", xff)
	}
	if r.Header.Get("X-Served-By") != "shield, pop1" {
		t.Errorf("X-Served-By %q", r.Header.Get("X-Served-By"))
	}
}

// TestNotModifiedThroughShieldUpdatesEdge: a Content-Type that a 304 from
// the origin updates reaches the edge's stored response through the shield.
func TestNotModifiedThroughShieldUpdatesEdge(t *testing.T) {
	clock := newClock()
	o := newOrigin(t, clock)
	o.handle("/doc", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == `"v1"` {
			// Go's server would drop Content-Type from a 304: write it raw.
			c, buf, _ := w.(http.Hijacker).Hijack()
			fmt.Fprintf(buf, "HTTP/1.1 304 Not Modified\r\nDate: %s\r\nETag: \"v1\"\r\nCache-Control: max-age=1\r\nContent-Type: text/html\r\nX-Version: 2\r\n\r\n", clock.Now().Format(http.TimeFormat))
			buf.Flush()
			c.Close()
			return
		}
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Cache-Control", "max-age=1")
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Version", "1")
		io.WriteString(w, "doc")
	})
	_, shieldSrv := newProxy(t, o.URL, clock, func(p *Proxy) {
		p.Name, p.Role, p.TrustForwarded, p.EdgeSecret = "shield", RoleShield, true, "s3cret"
	})
	_, pop := newProxy(t, shieldSrv.URL, clock, func(p *Proxy) { p.EdgeSecret = "s3cret" })
	get(t, pop.URL+"/doc")
	clock.Advance(5 * time.Second)
	r, body := get(t, pop.URL+"/doc")
	if r.Header.Get("Content-Type") != "text/html" || r.Header.Get("X-Version") != "2" || body != "doc" || r.Header.Get(edgeContentType) != "" {
		t.Errorf("after revalidation through the shield: Content-Type %q X-Version %q %s %q body %q; want text/html, 2",
			r.Header.Get("Content-Type"), r.Header.Get("X-Version"), edgeContentType, r.Header.Get(edgeContentType), body)
	}
	if r, _ := get(t, pop.URL+"/doc"); xcache(r) != "HIT" || r.Header.Get("Content-Type") != "text/html" {
		t.Errorf("edge hit: X-Cache %s Content-Type %q; want the updated type stored", xcache(r), r.Header.Get("Content-Type"))
	}
}

// TestErrorBodiesHideUpstream: a client is told the upstream failed, with
// the Cache-Status detail, never its address or the network error; the
// log has them (issue 12, Low 11).
func TestErrorBodiesHideUpstream(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close() // nothing listens there any more
	var logged strings.Builder
	var mu sync.Mutex
	_, srv := newProxy(t, "http://"+dead, nil, func(p *Proxy) {
		p.Logger = slog.New(slog.NewTextHandler(writerFunc(func(b []byte) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			return logged.Write(b)
		}), nil))
	})
	for _, method := range []string{"GET", "POST"} {
		r, body := do(t, method, srv.URL+"/x")
		if r.StatusCode != http.StatusBadGateway || strings.Contains(body, "127.0.0.1") || strings.Contains(body, "dial") ||
			!strings.Contains(body, "upstream-error") {
			t.Errorf("%s: status %d body %q; want 502 naming upstream-error and not the upstream", method, r.StatusCode, body)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logged.String(), dead) {
		t.Errorf("log lacks the upstream address %s: %s", dead, logged.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
