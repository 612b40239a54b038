package localedge

import (
	"context"
	"net/http"
	"time"

	"github.com/cdnctl/cdnctl/localedge/edgecompress"
	"github.com/prometheus/client_golang/prometheus"
)

// compressedField marks a stored response whose Vary: Accept-Encoding
// this cache added (edgecompress.AddVary), with the coding it applied
// ("identity" when none): a 304 for it must be applied to what the cache
// made of the origin's response (see compressNotModified). Kept with the
// entry (and on disk), never sent to clients (prepare).
const compressedField = "Cdnctl-Edge-Compressed"

// compressWait is how long a fill waits for one of the compressors
// (edgecompress.Compressor's MaxConcurrent) before it is stored
// uncompressed: a page's burst of asset requests is compressed in turn.
const compressWait = 5 * time.Second

// CompressionConfig turns on compression at a topology's edges.
type CompressionConfig struct {
	// Policy says which responses are compressed
	// (edgecompress.DefaultPolicy: CloudFront's conditions and types).
	Policy edgecompress.Policy
	// MaxConcurrent bounds the responses each edge compresses at once
	// (edgecompress.DefaultMaxConcurrent when 0).
	MaxConcurrent int
}

// compress applies edge compression to the upstream response of fill f,
// before its entry is made: an eligible response varies on
// Accept-Encoding, and one the client accepts a coding for gets a body
// compressed as it streams, its fields rewritten (edgecompress.Transform).
// The stored entry is then that variant, with the selecting value of the
// normalised Accept-Encoding forwarded. It returns what the fill must call
// when it is done with the body (freeing the compressor).
func (p *Proxy) compress(f *flight, resp *http.Response) (done func()) {
	done = func() {}
	delete(resp.Header, compressedField) // only this cache's own mark counts
	if f.slice != nil || p.processesESI(resp.Header) {
		// An ESI page is stored as it is: the edge assembles it.
		return done
	}
	coding, why := p.Compress.Decide(f.reqHdr["Accept-Encoding"], resp.StatusCode, resp.Header, resp.ContentLength)
	if coding == "" {
		return done
	}
	edgecompress.AddVary(resp.Header)
	if why == edgecompress.NotAccepted {
		resp.Header[compressedField] = []string{coding}
		return done
	}
	ctx, cancel := context.WithTimeout(p.baseCtx, compressWait)
	body, err := p.Compress.Reader(ctx, resp.Body, coding)
	cancel()
	if err != nil {
		// No compressor came free: stored as it is (CloudFront does the same).
		p.log.Debug("response not compressed", "pop", p.Name, "url", f.key.URL, "err", err)
		resp.Header[compressedField] = []string{"identity"}
		return done
	}
	edgecompress.Transform(resp.Header, coding)
	resp.Header[compressedField] = []string{coding}
	resp.Body = body
	resp.ContentLength = -1
	return func() { _ = body.Close() }
}

// compressNotModified adapts a 304 from the upstream for a stored response
// this cache compressed: the upstream validated the origin's
// representation, whose strong ETag this cache made weak (so the 304's
// strong ETag is made weak too, when it names the same entity), and a Vary
// in the 304 keeps Accept-Encoding.
func compressNotModified(stored *Entry, h http.Header) {
	coding := firstValue(stored.Header, compressedField)
	if coding == "" {
		return
	}
	if len(h["Vary"]) > 0 {
		edgecompress.AddVary(h)
	}
	if coding == "identity" {
		return
	}
	tag, ok := parseETag(h.Get("ETag"))
	have, haveOK := parseETag(stored.Header.Get("ETag"))
	if ok && !tag.weak && haveOK && have.weak && tag.opaque == have.opaque {
		h["Etag"] = []string{edgecompress.WeakETag(h.Get("ETag"))}
	}
}

// compressCollector exports the edges' compression counters:
// cdnctl_edge_compressed_total{coding}, _compress_bytes_in_total,
// _compress_bytes_out_total, _compress_busy_total and the gauge
// _compressions_active.
type compressCollector struct {
	pops                                   func() []*Proxy
	compressed, in, out, busy, activeGauge *prometheus.Desc
}

// NewCompressCollector returns a Prometheus collector of the compression
// counters of the proxies that compress.
func NewCompressCollector(pops func() []*Proxy) prometheus.Collector {
	d := func(name, help string, extra ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(metricsNamespace, "edge", name), help, append([]string{"pop", "role"}, extra...), nil)
	}
	return &compressCollector{
		pops:        pops,
		compressed:  d("compressed_total", "Responses compressed at the edge, by content coding.", "coding"),
		in:          d("compress_bytes_in_total", "Uncompressed body bytes read by the edge's compressors."),
		out:         d("compress_bytes_out_total", "Compressed body bytes produced by the edge's compressors."),
		busy:        d("compress_busy_total", "Eligible responses not compressed because every compressor was busy."),
		activeGauge: d("compressions_active", "Responses being compressed."),
	}
}

func (c *compressCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.compressed, c.in, c.out, c.busy, c.activeGauge} {
		ch <- d
	}
}

func (c *compressCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.pops() {
		if p.Compress == nil {
			continue
		}
		s := p.Compress.Stats()
		for _, coding := range edgecompress.DefaultEncodings {
			ch <- prometheus.MustNewConstMetric(c.compressed, prometheus.CounterValue, float64(s.Compressed[coding]), p.Name, p.Role, coding)
		}
		ch <- prometheus.MustNewConstMetric(c.in, prometheus.CounterValue, float64(s.BytesIn), p.Name, p.Role)
		ch <- prometheus.MustNewConstMetric(c.out, prometheus.CounterValue, float64(s.BytesOut), p.Name, p.Role)
		ch <- prometheus.MustNewConstMetric(c.busy, prometheus.CounterValue, float64(s.Busy), p.Name, p.Role)
		ch <- prometheus.MustNewConstMetric(c.activeGauge, prometheus.GaugeValue, float64(s.Active), p.Name, p.Role)
	}
}
