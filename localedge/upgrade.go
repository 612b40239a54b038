package localedge

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of the Upgrade pass-through (WebSockets).
const (
	// DefaultUpgradeIdleTimeout closes a tunnel with no byte either way
	// for this long: CloudFront's WebSocket idle timeout (10 minutes);
	// WebSocket clients that ping (Vite's and Next's hot reload do) stay.
	DefaultUpgradeIdleTimeout = 10 * time.Minute
	// DefaultMaxUpgraded bounds a cache's open tunnels; each holds two
	// tunnelBuffer buffers.
	DefaultMaxUpgraded = 1024
	tunnelBuffer       = 8 << 10
)

// upgradeOf returns the protocols a request asks to switch to (its
// Upgrade field) when it is an HTTP/1.1 request whose Connection names
// Upgrade (RFC 9110 §7.8), "" otherwise. HTTP/2 has no Upgrade (RFC 9113
// §8.6), and h2c is a change of this hop's protocol, never passed on: such
// requests are served as ordinary ones, their Upgrade ignored, as the RFC
// lets a server do.
func upgradeOf(r *http.Request) string {
	if r.ProtoMajor != 1 || r.ProtoMinor < 1 || len(r.Header["Upgrade"]) == 0 || !headerHasToken(r.Header["Connection"], "upgrade") {
		return ""
	}
	var protos []string
	for _, line := range r.Header["Upgrade"] {
		for p := range strings.SplitSeq(line, ",") {
			if p = strings.TrimSpace(p); p != "" && !strings.EqualFold(p, "h2c") {
				protos = append(protos, p)
			}
		}
	}
	return strings.Join(protos, ", ")
}

func headerHasToken(lines []string, token string) bool {
	for _, line := range lines {
		for t := range strings.SplitSeq(line, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// upgradeMatches reports whether the protocol a 101 switched to is one
// the client asked for (RFC 9110 §7.8: a server must not switch to
// another).
func upgradeMatches(requested, switched string) bool {
	name := func(p string) string { n, _, _ := strings.Cut(strings.TrimSpace(p), "/"); return n }
	s := strings.TrimSpace(switched)
	if s == "" || strings.Contains(s, ",") {
		return false
	}
	for p := range strings.SplitSeq(requested, ",") {
		p = strings.TrimSpace(p)
		if strings.EqualFold(p, s) || (!strings.Contains(s, "/") && strings.EqualFold(name(p), s)) {
			return true
		}
	}
	return false
}

// upgrades counts a cache's tunnels.
type upgrades struct {
	active   atomic.Int64
	total    atomic.Int64 // switched (101)
	refused  atomic.Int64 // over MaxUpgraded
	idle     atomic.Int64 // closed by the idle timeout
	bytesIn  atomic.Int64 // client to upstream
	bytesOut atomic.Int64 // upstream to client
}

// serveUpgrade passes a request that asks to switch protocols (a
// WebSocket handshake) to the upstream, never cached: the request goes
// with its Upgrade and Connection: Upgrade (the only hop-by-hop fields
// forwarded, and only the protocols the client asked for), and a 101
// answer turns both connections into a tunnel until either side closes,
// nothing passes for UpgradeIdleTimeout, or the cache closes. Any other
// answer is passed through as a normal uncached response.
func (p *Proxy) serveUpgrade(w http.ResponseWriter, r *http.Request, k CacheKey, protos string) outcome {
	cs := CacheStatus{Cache: p.Name, Fwd: FwdBypass, Detail: "upgrade"}
	p.stats.misses.Add(1)
	limit := int64(p.MaxUpgraded)
	if limit == 0 {
		limit = DefaultMaxUpgraded
	}
	if n := p.upgrades.active.Add(1); limit > 0 && n > limit {
		p.upgrades.active.Add(-1)
		p.upgrades.refused.Add(1)
		w.Header().Set("Retry-After", "5")
		return p.errorResponse(w, http.StatusServiceUnavailable, "too many upgraded (WebSocket) connections", FwdBypass, "upgrade-limit")
	}
	defer p.upgrades.active.Add(-1)

	ctx, cancel := context.WithCancel(p.baseCtx)
	defer cancel()
	stop := context.AfterFunc(r.Context(), cancel) // until the client's connection is taken over
	defer stop()
	if p.simulatedDelay(ctx) != nil {
		return outcome{status: 499, cs: cs}
	}
	req := p.upstreamRequest(r, k, r.Method, false).WithContext(ctx)
	req.Header["Connection"] = []string{"Upgrade"}
	req.Header["Upgrade"] = []string{protos}
	p.stats.originFetches.Add(1)
	resp, err := p.rt.RoundTrip(req)
	if err != nil {
		p.log.Warn("upstream upgrade failed", "pop", p.Name, "upstream", p.upstreamName(), "url", k.URL, "err", err)
		status, detail := upstreamError(err)
		return p.errorResponse(w, status, upstreamFailure(detail), FwdBypass, detail)
	}
	cs.FwdStatus = resp.StatusCode
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer resp.Body.Close()
		removeHopByHop(resp.Header)
		p.passHeader(w.Header(), resp.Header, cs)
		w.WriteHeader(resp.StatusCode)
		n, _ := copyFlushing(w, resp.Body)
		return outcome{status: resp.StatusCode, bytes: n, cs: cs}
	}
	switched := resp.Header.Get("Upgrade")
	back, ok := resp.Body.(io.ReadWriteCloser) // http.Transport's, for a 101
	if !ok || !upgradeMatches(protos, switched) {
		resp.Body.Close()
		p.log.Warn("upstream switched to a protocol the client did not ask for", "pop", p.Name, "url", k.URL, "asked", protos, "switched", switched)
		return p.errorResponse(w, http.StatusBadGateway, "the upstream switched to a protocol the client did not ask for", FwdBypass, "upgrade-mismatch")
	}
	defer back.Close()
	removeHopByHop(resp.Header)
	h := w.Header()
	p.passHeader(h, resp.Header, cs)
	h["Connection"] = []string{"Upgrade"}
	h["Upgrade"] = []string{switched}
	stop() // from now on the tunnel decides when to end
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		p.log.Warn("cannot take over the client connection", "pop", p.Name, "err", err)
		return p.errorResponse(w, http.StatusInternalServerError, "the connection cannot be upgraded", FwdBypass, "upgrade-hijack")
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Time{}) // the server's timeouts were for HTTP
	sw := &http.Response{StatusCode: http.StatusSwitchingProtocols, ProtoMajor: 1, ProtoMinor: 1, Header: h}
	if err := sw.Write(brw); err != nil {
		return outcome{status: 499, cs: cs}
	}
	if err := brw.Flush(); err != nil {
		return outcome{status: 499, cs: cs}
	}
	p.upgrades.total.Add(1)
	in, out := p.tunnel(ctx, conn, brw.Reader, back)
	return outcome{status: http.StatusSwitchingProtocols, bytes: out + in, cs: cs}
}

// passHeader copies an upstream response's fields to a client's, with
// this cache's X-Served-By, Via, Cache-Status and X-Cache.
func (p *Proxy) passHeader(h, up http.Header, cs CacheStatus) {
	for name, values := range up {
		switch name {
		case "X-Served-By", "Via", "Cache-Status", "X-Cache":
			continue
		}
		h[name] = values
	}
	h["X-Served-By"] = []string{joinList(up["X-Served-By"], p.Name)}
	h["Via"] = []string{joinList(up["Via"], p.via)}
	h["Cache-Status"] = []string{appendCacheStatus(up["Cache-Status"], cs)}
	h["X-Cache"] = xCacheMiss
}

var tunnelBuffers = sync.Pool{New: func() any { b := make([]byte, tunnelBuffer); return &b }}

// tunnel copies bytes both ways between the client (conn, read through
// its buffered reader, which may hold bytes already) and the upstream until one side ends,
// nothing passes for the idle timeout, or ctx ends. It returns the bytes
// sent each way.
func (p *Proxy) tunnel(ctx context.Context, client net.Conn, clientBuf io.Reader, back io.ReadWriteCloser) (in, out int64) {
	idle := p.UpgradeIdleTimeout
	if idle == 0 {
		idle = DefaultUpgradeIdleTimeout
	}
	var last atomic.Int64 // unix nanoseconds of the last byte either way
	last.Store(time.Now().UnixNano())
	done := make(chan struct{}, 2)
	pipe := func(dst io.Writer, src io.Reader, n *int64, total *atomic.Int64) {
		bp := tunnelBuffers.Get().(*[]byte)
		defer tunnelBuffers.Put(bp)
		buf := *bp
		for {
			m, err := src.Read(buf)
			if m > 0 {
				last.Store(time.Now().UnixNano())
				w, werr := dst.Write(buf[:m])
				*n += int64(w)
				total.Add(int64(w))
				if werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		// Half-close where the connection allows it, so the other way
		// can finish; the caller closes both once either way is done.
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(back, clientBuf, &in, &p.upgrades.bytesIn)
	go pipe(client, back, &out, &p.upgrades.bytesOut)

	closeBoth := func() {
		_ = client.Close()
		_ = back.Close()
	}
	check := time.NewTicker(min(idle/4+time.Millisecond, time.Second))
	defer check.Stop()
	finished := 0
	for finished < 2 {
		select {
		case <-done:
			finished++
			if finished == 1 {
				// One side ended: give the other a moment to drain, then
				// end the tunnel.
				timer := time.AfterFunc(time.Second, closeBoth)
				defer timer.Stop()
			}
		case <-ctx.Done():
			closeBoth()
		case <-check.C:
			if time.Since(time.Unix(0, last.Load())) > idle {
				p.upgrades.idle.Add(1)
				p.log.Info("upgraded connection idle: closed", "pop", p.Name, "idle", idle)
				closeBoth()
			}
		}
	}
	closeBoth()
	return in, out
}

// upgradeCollector exports the tunnels' counters:
// cdnctl_edge_upgrades_total, _upgrades_refused_total,
// _upgrades_idle_closed_total, _upgraded_bytes_total{direction} and the
// gauge _upgraded_connections.
type upgradeCollector struct {
	pops                              func() []*Proxy
	total, refused, idle, bytes, open *prometheus.Desc
}

// NewUpgradeCollector returns a Prometheus collector of the proxies'
// upgraded (WebSocket) connections.
func NewUpgradeCollector(pops func() []*Proxy) prometheus.Collector {
	d := func(name, help string, extra ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(metricsNamespace, "edge", name), help, append([]string{"pop", "role"}, extra...), nil)
	}
	return &upgradeCollector{
		pops:    pops,
		total:   d("upgrades_total", "Connections switched to another protocol (WebSocket) through the cache."),
		refused: d("upgrades_refused_total", "Upgrade requests refused because the cache's upgraded connections were at their bound."),
		idle:    d("upgrades_idle_closed_total", "Upgraded connections closed by the idle timeout."),
		bytes:   d("upgraded_bytes_total", "Bytes relayed over upgraded connections, by direction (in: from clients).", "direction"),
		open:    d("upgraded_connections", "Upgrade requests and upgraded connections open."),
	}
}

func (c *upgradeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.total, c.refused, c.idle, c.bytes, c.open} {
		ch <- d
	}
}

func (c *upgradeCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.pops() {
		u := &p.upgrades
		ch <- prometheus.MustNewConstMetric(c.total, prometheus.CounterValue, float64(u.total.Load()), p.Name, p.Role)
		ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(u.refused.Load()), p.Name, p.Role)
		ch <- prometheus.MustNewConstMetric(c.idle, prometheus.CounterValue, float64(u.idle.Load()), p.Name, p.Role)
		ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.CounterValue, float64(u.bytesIn.Load()), p.Name, p.Role, "in")
		ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.CounterValue, float64(u.bytesOut.Load()), p.Name, p.Role, "out")
		ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(u.active.Load()), p.Name, p.Role)
	}
}
