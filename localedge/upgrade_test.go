package localedge

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/cdnctl/cdnctl/localedge/edgecompress"
	"github.com/cdnctl/cdnctl/localedge/localca"
)

// wsEcho is a WebSocket echo server (the coder/websocket library) on a
// loopback port that records the handshakes it receives.
type wsEcho struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []http.Header
}

func newWSEcho(t *testing.T) *wsEcho {
	t.Helper()
	e := &wsEcho{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.reqs = append(e.reqs, r.Header.Clone())
		e.mu.Unlock()
		if r.Header.Get("Upgrade") == "" {
			w.Header().Set("Cache-Control", "max-age=60")
			_, _ = io.WriteString(w, "plain "+r.URL.Path)
			return
		}
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"vite-hmr"}, InsecureSkipVerify: true})
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(1 << 20)
		for {
			typ, msg, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if err := c.Write(r.Context(), typ, msg); err != nil {
				return
			}
		}
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *wsEcho) lastHandshake() http.Header {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.reqs[len(e.reqs)-1]
}

// edgeAndShield starts a shield in front of upstream and an edge in front
// of the shield, as a topology links them.
func edgeAndShield(t *testing.T, upstream string, mod func(*Proxy)) (edge, shield *Proxy, edgeURL string) {
	t.Helper()
	shield, shieldSrv := newProxy(t, upstream, nil, func(p *Proxy) {
		p.Name, p.Role, p.TrustForwarded, p.EdgeSecret = "shield", RoleShield, true, "s3cret"
	})
	edge, edgeSrv := newProxy(t, shieldSrv.URL, nil, func(p *Proxy) {
		p.EdgeSecret = "s3cret"
		if mod != nil {
			mod(p)
		}
	})
	return edge, shield, edgeSrv.URL
}

func dialWS(t *testing.T, base string) (*websocket.Conn, *http.Response) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/hmr", &websocket.DialOptions{
		Subprotocols: []string{"vite-hmr"},
		Host:         "www.example.test",
	})
	if err != nil {
		t.Fatalf("dial through the edge: %v", err)
	}
	c.SetReadLimit(1 << 20)
	return c, resp
}

func TestWebSocketThroughEdgeAndShield(t *testing.T) {
	echo := newWSEcho(t)
	edge, shield, edgeURL := edgeAndShield(t, echo.URL, nil)
	c, resp := dialWS(t, edgeURL)
	defer c.CloseNow()
	if resp.StatusCode != http.StatusSwitchingProtocols || c.Subprotocol() != "vite-hmr" {
		t.Fatalf("handshake: %d, subprotocol %q", resp.StatusCode, c.Subprotocol())
	}
	if got := resp.Header.Get("X-Served-By"); got != "shield, pop1" {
		t.Errorf("X-Served-By %q; want the shield and the edge", got)
	}
	if cs := resp.Header.Get("Cache-Status"); !strings.Contains(cs, "pop1; fwd=bypass; fwd-status=101; detail=upgrade") {
		t.Errorf("Cache-Status %q", cs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10/16) // 64 KiB: several tunnel buffers
	for _, m := range []struct {
		typ websocket.MessageType
		msg []byte
	}{{websocket.MessageText, []byte(`{"type":"connected"}`)}, {websocket.MessageBinary, big}, {websocket.MessageText, []byte(`{"type":"update"}`)}} {
		if err := c.Write(ctx, m.typ, m.msg); err != nil {
			t.Fatal(err)
		}
		typ, got, err := c.Read(ctx)
		if err != nil || typ != m.typ || !bytes.Equal(got, m.msg) {
			t.Fatalf("echo of %d bytes: %v, %d bytes, %v", len(m.msg), typ, len(got), err)
		}
	}
	// The origin saw the handshake: only the upgrade asked for, and the
	// edges' forwarding fields.
	h := echo.lastHandshake()
	if h.Get("Upgrade") != "websocket" || !strings.EqualFold(h.Get("Connection"), "Upgrade") || h.Get("Sec-Websocket-Key") == "" {
		t.Errorf("origin handshake fields: %v", h)
	}
	if edge.upgrades.active.Load() != 1 || shield.upgrades.active.Load() != 1 {
		t.Errorf("open tunnels: edge %d, shield %d; want 1 each", edge.upgrades.active.Load(), shield.upgrades.active.Load())
	}
	if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Errorf("close: %v", err)
	}
	waitFor(t, "the tunnels to close", func() bool { return edge.upgrades.active.Load() == 0 && shield.upgrades.active.Load() == 0 })
	if edge.upgrades.total.Load() != 1 || edge.upgrades.bytesIn.Load() < int64(len(big)) || edge.upgrades.bytesOut.Load() < int64(len(big)) {
		t.Errorf("edge counters: total %d, in %d, out %d", edge.upgrades.total.Load(), edge.upgrades.bytesIn.Load(), edge.upgrades.bytesOut.Load())
	}
	// Never cached: nothing stored for the URL at either tier.
	for _, p := range []*Proxy{edge, shield} {
		if n := p.Stats().Entries; n != 0 {
			t.Errorf("%s stored %d entries after a WebSocket", p.Name, n)
		}
	}
}

// rawOrigin answers every request with handler on a raw connection,
// recording the request.
func rawOrigin(t *testing.T, handler func(conn net.Conn, r *http.Request)) (string, func() *http.Request) {
	t.Helper()
	var mu sync.Mutex
	var last *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		last = r.Clone(context.Background())
		mu.Unlock()
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_ = brw.Flush()
		handler(conn, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() *http.Request { mu.Lock(); defer mu.Unlock(); return last }
}

// upgradeRequest sends a raw HTTP/1.1 upgrade request to base and returns
// the response head and the connection.
func upgradeRequest(t *testing.T, base, target string, lines ...string) (*http.Response, net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	req := "GET " + target + " HTTP/1.1\r\nHost: www.example.test\r\n" + strings.Join(lines, "\r\n") + "\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	return resp, conn, br
}

func TestUpgradeHopByHop(t *testing.T) {
	origin, last := rawOrigin(t, func(conn net.Conn, r *http.Request) {
		switch r.URL.Query().Get("switch") {
		case "other":
			_, _ = io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n")
		case "refuse":
			_, _ = io.WriteString(conn, "HTTP/1.1 426 Upgrade Required\r\nContent-Length: 4\r\nCache-Control: max-age=60\r\n\r\nnope")
		default:
			_, _ = io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			_, _ = io.Copy(conn, conn) // echo bytes
		}
	})
	_, edgeURL := newProxy(t, origin, nil, nil)
	// Only the Upgrade asked for is forwarded; the other fields the
	// client's Connection names are removed (RFC 9110 §7.6.1).
	resp, conn, br := upgradeRequest(t, edgeURL.URL, "/hmr", "Connection: Upgrade, X-Hop", "X-Hop: secret", "Upgrade: websocket", "Keep-Alive: timeout=5")
	if resp.StatusCode != 101 || resp.Header.Get("Upgrade") != "websocket" {
		t.Fatalf("answer %d, Upgrade %q", resp.StatusCode, resp.Header.Get("Upgrade"))
	}
	up := last()
	if up.Header.Get("X-Hop") != "" || up.Header.Get("Keep-Alive") != "" || up.Header.Get("Upgrade") != "websocket" || up.Header.Get("Connection") != "Upgrade" {
		t.Errorf("upstream got %v", up.Header)
	}
	if _, err := io.WriteString(conn, "ping"); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4)
	if _, err := io.ReadFull(br, got); err != nil || string(got) != "ping" {
		t.Errorf("tunnel echo: %q, %v", got, err)
	}

	// A 101 to a protocol the client did not ask for: 502.
	resp, _, _ = upgradeRequest(t, edgeURL.URL, "/hmr?switch=other", "Connection: Upgrade", "Upgrade: websocket")
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(resp.Header.Get("Cache-Status"), "upgrade-mismatch") {
		t.Errorf("switch to h2c: %d %q; want 502 upgrade-mismatch", resp.StatusCode, resp.Header.Get("Cache-Status"))
	}
	// Refused by the origin: its answer, not stored.
	for range 2 {
		resp, _, br = upgradeRequest(t, edgeURL.URL, "/hmr?switch=refuse", "Connection: Upgrade", "Upgrade: websocket")
		body, _ := io.ReadAll(io.LimitReader(br, 4))
		if resp.StatusCode != 426 || string(body) != "nope" || resp.Header.Get("X-Cache") != "MISS" {
			t.Errorf("refused: %d %q %s", resp.StatusCode, body, resp.Header.Get("X-Cache"))
		}
	}
}

func TestUpgradeIgnored(t *testing.T) {
	echo := newWSEcho(t)
	_, edgeURL := newProxy(t, echo.URL, nil, nil)
	// Upgrade without Connection: Upgrade, and h2c: ordinary requests,
	// served (and stored) as such.
	for _, lines := range [][]string{{"Upgrade: websocket"}, {"Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c", "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"}} {
		resp, _, br := upgradeRequest(t, edgeURL.URL, "/hmr", lines...)
		body, _ := io.ReadAll(io.LimitReader(br, resp.ContentLength))
		if resp.StatusCode != 200 || string(body) != "plain /hmr" {
			t.Errorf("%q: %d %q; want the plain answer", lines, resp.StatusCode, body)
		}
		if h := echo.lastHandshake(); h.Get("Upgrade") != "" || h.Get("Http2-Settings") != "" {
			t.Errorf("%q: upstream got %v", lines, h)
		}
	}
}

func TestUpgradeBoundsAndIdle(t *testing.T) {
	echo := newWSEcho(t)
	edge, edgeSrv := newProxy(t, echo.URL, nil, func(p *Proxy) {
		p.MaxUpgraded = 1
		p.UpgradeIdleTimeout = 300 * time.Millisecond
	})
	c, _ := dialWS(t, edgeSrv.URL)
	defer c.CloseNow()
	// A second connection over the bound: 503.
	resp, _, _ := upgradeRequest(t, edgeSrv.URL, "/hmr", "Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==")
	if resp.StatusCode != http.StatusServiceUnavailable || edge.upgrades.refused.Load() != 1 {
		t.Errorf("over the bound: %d (refused %d); want 503", resp.StatusCode, edge.upgrades.refused.Load())
	}
	// Idle past the timeout: the edge closes the tunnel.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := c.Read(ctx); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("read on an idle tunnel: %v; want it closed by the edge", err)
	}
	waitFor(t, "the idle tunnel to close", func() bool { return edge.upgrades.active.Load() == 0 })
	if edge.upgrades.idle.Load() != 1 {
		t.Errorf("idle closes = %d; want 1", edge.upgrades.idle.Load())
	}
	// The slot is free again; Close ends open tunnels.
	c2, _ := dialWS(t, edgeSrv.URL)
	defer c2.CloseNow()
	edge.Close()
	if _, _, err := c2.Read(ctx); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("read after Close: %v; want the tunnel closed", err)
	}
}

// TestTopologyCompressionAndUpgrades: a topology with Compression
// compresses at its edges only, relays a WebSocket through an edge and the
// shield, and exports both on /metrics.
func TestTopologyCompressionAndUpgrades(t *testing.T) {
	echo := newWSEcho(t)
	top := startTopology(t, func(c *TopologyConfig) {
		c.Compression = &CompressionConfig{Policy: edgecompress.DefaultPolicy()}
		c.Origin.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/hmr" {
				echo.Config.Handler.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Cache-Control", "public, max-age=60")
			w.Header().Set("Content-Type", "text/css")
			w.Header().Set("Content-Length", cssLength)
			_, _ = io.WriteString(w, cssBody)
		})
	})
	pop1, _ := top.PoP("pop1")
	resp, body := get(t, pop1.URL()+"/app.css", "Accept-Encoding", "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" || decodeBody(t, "gzip", body) != cssBody {
		t.Fatalf("through pop1: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
	c, hs := dialWS(t, pop1.URL())
	if got := hs.Header.Get("X-Served-By"); got != "shield, pop1" {
		t.Errorf("WebSocket X-Served-By %q", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte("hot")); err != nil {
		t.Fatal(err)
	}
	if _, m, err := c.Read(ctx); err != nil || string(m) != "hot" {
		t.Fatalf("echo: %q, %v", m, err)
	}
	_, m := api(t, top, "GET", "/metrics", top.Token(), "")
	for _, w := range []string{
		`cdnctl_edge_compressed_total{coding="gzip",pop="pop1",role="edge"} 1`,
		`cdnctl_edge_compress_bytes_in_total{pop="pop1",role="edge"} ` + cssLength,
		`cdnctl_edge_upgrades_total{pop="pop1",role="edge"} 1`,
		`cdnctl_edge_upgrades_total{pop="shield",role="shield"} 1`,
		`cdnctl_edge_upgraded_connections{pop="pop1",role="edge"} 1`,
	} {
		if !strings.Contains(string(m), w) {
			t.Errorf("metrics lack %q", w)
		}
	}
	if strings.Contains(string(m), `cdnctl_edge_compressed_total{coding="gzip",pop="shield"`) {
		t.Errorf("the shield compresses; want edges only")
	}
	c.Close(websocket.StatusNormalClosure, "")
}

// TestWebSocketOverHTTPS: wss:// through an edge that also speaks HTTP/2:
// a client trusting only the local CA opens its WebSocket over an
// HTTP/1.1 TLS connection (ALPN http/1.1), as browsers do when the
// server does not offer RFC 8441's extended CONNECT.
func TestWebSocketOverHTTPS(t *testing.T) {
	echo := newWSEcho(t)
	ca, _, err := localca.LoadOrCreate(filepath.Join(t.TempDir(), "ca"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	top := startTopology(t, func(c *TopologyConfig) {
		c.HTTPS = &HTTPSConfig{CA: ca, Names: []string{"www.example.test"}}
		c.Origin.Handler = echo.Config.Handler
	})
	pop := top.Info().PoPs[0]
	_, port, _ := net.SplitHostPort(pop.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "wss://www.example.test:"+port+"/hmr", &websocket.DialOptions{
		HTTPClient:   caOnlyClient(ca, pop.Addr, false),
		Subprotocols: []string{"vite-hmr"},
	})
	if err != nil {
		t.Fatalf("wss through %s: %v", pop.Name, err)
	}
	defer c.CloseNow()
	if resp.Header.Get("X-Served-By") != "shield, "+pop.Name {
		t.Errorf("X-Served-By %q", resp.Header.Get("X-Served-By"))
	}
	if err := c.Write(ctx, websocket.MessageText, []byte("over tls")); err != nil {
		t.Fatal(err)
	}
	if _, m, err := c.Read(ctx); err != nil || string(m) != "over tls" {
		t.Errorf("echo over TLS: %q, %v", m, err)
	}
	if h := echo.lastHandshake(); h.Get("X-Forwarded-Proto") != "https" {
		t.Errorf("origin saw X-Forwarded-Proto %q; want https", h.Get("X-Forwarded-Proto"))
	}
}
