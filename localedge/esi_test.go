package localedge

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cdnctl/cdnctl/localedge/edgecompress"
)

const esiOn = `content="ESI/1.0"`

// esiOrigin serves ESI pages and fragments.
func esiOrigin(t *testing.T) *origin {
	o := newOrigin(t, nil)
	var ticks atomic.Int64
	o.static("/page", 200, `<html><esi:include src="/frag/header"/>|<esi:include src="/frag/missing" alt="/frag/alt"/>|`+
		`<esi:include src="/frag/gone" onerror="continue"/>|<esi:include src="frag/tick"/>|<esi:remove>ESI is off</esi:remove><!--esi <p>ESI is on</p> --></html>`,
		"Surrogate-Control", esiOn, "Cache-Control", "public, max-age=60", "Content-Type", "text/html; charset=utf-8", "ETag", `"template"`)
	o.static("/frag/header", 200, "<h1>header</h1>", "Cache-Control", "public, max-age=60")
	o.static("/frag/alt", 200, "ALT", "Cache-Control", "public, max-age=60")
	o.handle("/frag/tick", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintf(w, "tick%d", ticks.Add(1))
	})
	o.static("/loop", 200, `[<esi:include src="/loop" onerror="continue"/>]`, "Surrogate-Control", esiOn, "Cache-Control", "public, max-age=60")
	o.static("/many", 200, strings.Repeat(`<esi:include src="/frag/alt" onerror="continue"/>`, 5), "Surrogate-Control", esiOn, "Cache-Control", "public, max-age=60")
	o.static("/broken", 200, `before<esi:include src="/frag/gone"/>after`+strings.Repeat(".", 64<<10), "Surrogate-Control", esiOn, "Cache-Control", "public, max-age=60")
	o.static("/other-target", 200, `<esi:include src="/frag/header"/>`, "Surrogate-Control", `content="ESI/1.0";akamai, max-age=60`, "Cache-Control", "public, max-age=60")
	return o
}

func TestESIOverHTTP(t *testing.T) {
	o := esiOrigin(t)
	_, srv := newProxy(t, o.URL, nil, func(p *Proxy) { p.ESI = &ESIOptions{MaxIncludes: 8} })

	resp, body := get(t, srv.URL+"/page", "Surrogate-Capability", `evil="ESI/1.0"`)
	want := "<html><h1>header</h1>|ALT||tick1| <p>ESI is on</p> </html>"
	if resp.StatusCode != 200 || body != want {
		t.Fatalf("GET /page = %d %q; want %q", resp.StatusCode, body, want)
	}
	if cl := resp.Header.Get("Content-Length"); cl != "" && cl != fmt.Sprint(len(body)) {
		t.Errorf("Content-Length = %s for %d bytes", cl, len(body))
	}
	for _, name := range []string{"Surrogate-Control", "Etag", "Accept-Ranges"} {
		if v := resp.Header.Get(name); v != "" {
			t.Errorf("assembled page has %s: %q; want none", name, v)
		}
	}
	if cs := resp.Header.Get("Cache-Status"); !strings.Contains(cs, "stored") || !strings.HasSuffix(cs, "; detail=esi") {
		t.Errorf("Cache-Status = %q; want the template stored and detail=esi", cs)
	}
	if got := o.lastRequest("/page").Header.Values("Surrogate-Capability"); len(got) != 1 || got[0] != `cdnctl="Surrogate/1.0 ESI/1.0"` {
		t.Errorf("Surrogate-Capability upstream = %q; want only the edge's", got)
	}

	// Again: the page and the cacheable fragments are hits, the no-store
	// fragment is fetched again, so the assembled page was not stored.
	resp, body = get(t, srv.URL+"/page")
	if want := "<html><h1>header</h1>|ALT||tick2| <p>ESI is on</p> </html>"; body != want {
		t.Errorf("second GET /page = %q; want %q", body, want)
	}
	if !strings.HasPrefix(resp.Header.Get("Cache-Status"), "pop1; hit") {
		t.Errorf("second Cache-Status = %q; want a hit on the template", resp.Header.Get("Cache-Status"))
	}
	for path, n := range map[string]int{"/page": 1, "/frag/header": 1, "/frag/alt": 1, "/frag/missing": 2, "/frag/gone": 2, "/frag/tick": 2} {
		if got := o.count(path); got != n {
			t.Errorf("origin requests for %s = %d; want %d", path, got, n)
		}
	}
	if resp, _ := get(t, srv.URL+"/frag/header"); xcache(resp) != "HIT" {
		t.Errorf("fragment /frag/header = %s; want a hit: fragments are stored", xcache(resp))
	}

	// A range or a condition gets the whole assembled page.
	resp, body = get(t, srv.URL+"/page", "Range", "bytes=0-3", "If-None-Match", `"template"`)
	if resp.StatusCode != 200 || !strings.HasPrefix(body, "<html><h1>header</h1>") {
		t.Errorf("GET /page with Range and If-None-Match = %d %q; want 200 with the assembled page", resp.StatusCode, body)
	}
	resp, body = do(t, http.MethodHead, srv.URL+"/page")
	if resp.StatusCode != 200 || body != "" || resp.Header.Get("Content-Length") != "" {
		t.Errorf("HEAD /page = %d %q, Content-Length %q", resp.StatusCode, body, resp.Header.Get("Content-Length"))
	}

	// Depth: the page and 5 nested levels, then the include fails and
	// onerror="continue" leaves it out.
	if _, body = get(t, srv.URL+"/loop"); body != "[[[[[[]]]]]]" {
		t.Errorf("GET /loop = %q; want 6 levels", body)
	}
	// Count: 8 includes per page at most.
	if _, body = get(t, srv.URL+"/many"); body != "ALTALTALTALTALT" {
		t.Errorf("GET /many = %q", body)
	}

	// An include that fails without onerror="continue" aborts the page.
	// (Before Go's server sent the header, the client gets no response.)
	if r, err := client.Get(srv.URL + "/broken"); err == nil {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err == nil || strings.Contains(string(b), "after") {
			t.Errorf("GET /broken read %q, %v; want the response cut after the failed include", b, err)
		}
	}

	// Targeted at another surrogate: not processed, the field removed.
	resp, body = get(t, srv.URL+"/other-target")
	if body != `<esi:include src="/frag/header"/>` || resp.Header.Get("Surrogate-Control") != "" {
		t.Errorf("GET /other-target = %q, Surrogate-Control %q; want the markup as it is, without the field", body, resp.Header.Get("Surrogate-Control"))
	}
}

func TestESIMaxIncludes(t *testing.T) {
	o := esiOrigin(t)
	_, srv := newProxy(t, o.URL, nil, func(p *Proxy) { p.ESI = &ESIOptions{MaxIncludes: 3} })
	if _, body := get(t, srv.URL+"/many"); body != "ALTALTALT" {
		t.Errorf("GET /many with 3 includes at most = %q; want 3", body)
	}
}

func TestESIOff(t *testing.T) {
	o := esiOrigin(t)
	_, srv := newProxy(t, o.URL, nil, nil)
	_, body := get(t, srv.URL+"/frag/header", "Surrogate-Capability", `x="ESI/1.0"`)
	if body != "<h1>header</h1>" {
		t.Fatalf("body = %q", body)
	}
	if got := o.lastRequest("/frag/header").Header.Get("Surrogate-Capability"); got != "" {
		t.Errorf("a client's Surrogate-Capability reached the origin: %q", got)
	}
	if _, body := get(t, srv.URL+"/loop"); body != `[<esi:include src="/loop" onerror="continue"/>]` {
		t.Errorf("GET /loop without ESI = %q; want the markup", body)
	}
}

// TestESIThroughTopology: edges with compression and a shield assemble
// pages; the page is stored uncompressed for that, the fragments come
// through the shield.
func TestESIThroughTopology(t *testing.T) {
	o := esiOrigin(t)
	top := startTopology(t, func(c *TopologyConfig) {
		c.Origin.Handler, c.Origin.URL = nil, o.URL
		c.ESI = &ESIOptions{}
		c.Compression = &CompressionConfig{Policy: edgecompress.DefaultPolicy()}
	})
	pop1, _ := top.PoP("pop1")
	resp, body := get(t, pop1.URL()+"/page", "Accept-Encoding", "gzip, br", "Host", "www.example.test")
	if resp.StatusCode != 200 || !strings.HasPrefix(body, "<html><h1>header</h1>|ALT||tick1|") || resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("GET /page through pop1 = %d %q, Content-Encoding %q", resp.StatusCode, body, resp.Header.Get("Content-Encoding"))
	}
	pop2, _ := top.PoP("pop2")
	_, body = get(t, pop2.URL()+"/page", "Host", "www.example.test")
	if !strings.HasPrefix(body, "<html><h1>header</h1>|ALT||tick2|") {
		t.Errorf("GET /page through pop2 = %q", body)
	}
	if n := o.count("/frag/header"); n != 1 {
		t.Errorf("origin requests for /frag/header = %d; want 1 (the shield's copy serves pop2)", n)
	}
}

// TestESIOtherHost: a src naming another host is asked of the edge's own
// upstream, with that Host, and keyed by it.
func TestESIOtherHost(t *testing.T) {
	o := newOrigin(t, nil)
	o.static("/page", 200, `<esi:include src="http://fragments.example.test/frag"/>`, "Surrogate-Control", esiOn, "Cache-Control", "public, max-age=60")
	o.handle("/frag", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		io.WriteString(w, "from "+r.Host)
	})
	_, srv := newProxy(t, o.URL, nil, func(p *Proxy) { p.ESI = &ESIOptions{} })
	if _, body := get(t, srv.URL+"/page", "Host", "www.example.test"); body != "from fragments.example.test" {
		t.Errorf("GET /page = %q; want the fragment asked with its own Host", body)
	}
	if resp, _ := get(t, srv.URL+"/frag", "Host", "fragments.example.test"); xcache(resp) != "HIT" {
		t.Errorf("the fragment's own URL = %s; want a hit, stored under its host", xcache(resp))
	}
}
