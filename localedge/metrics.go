package localedge

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics of the edge caches, read from the proxies' counters at scrape
// time (so the request path costs nothing more), labelled by PoP and role.
const metricsNamespace = "cdnctl"

type metricDesc struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(s Stats, p *Proxy) float64
}

func edgeDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(metricsNamespace, "edge", name), help, []string{"pop", "role"}, nil)
}

// edgeCollector exports every proxy's Stats.
type edgeCollector struct {
	pops    func() []*Proxy
	metrics []metricDesc
}

// NewEdgeCollector returns a Prometheus collector of the proxies' counters:
// cdnctl_edge_requests_total, _hits_total, _misses_total, _stale_total,
// _collapsed_total, _origin_fetches_total, _bytes_served_total,
// _purges_total, _upstream_wait_seconds_total, _fills_over_budget_total,
// _send_timeouts_total, and the gauges _entries, _bytes_stored,
// _capacity_bytes, _fill_bytes, _fill_budget_bytes and _healthy.
func NewEdgeCollector(pops func() []*Proxy) prometheus.Collector {
	counter := func(name, help string, v func(Stats, *Proxy) float64) metricDesc {
		return metricDesc{edgeDesc(name, help), prometheus.CounterValue, v}
	}
	gauge := func(name, help string, v func(Stats, *Proxy) float64) metricDesc {
		return metricDesc{edgeDesc(name, help), prometheus.GaugeValue, v}
	}
	return &edgeCollector{pops: pops, metrics: []metricDesc{
		counter("requests_total", "Requests received (health checks excluded).", func(s Stats, _ *Proxy) float64 { return float64(s.Requests) }),
		counter("hits_total", "Requests answered from the cache without contacting the upstream.", func(s Stats, _ *Proxy) float64 { return float64(s.Hits) }),
		counter("misses_total", "Requests forwarded upstream (misses, revalidations, uncacheable methods).", func(s Stats, _ *Proxy) float64 { return float64(s.Misses) }),
		counter("stale_total", "Responses served stale (stale-while-revalidate, stale-if-error, max-stale, soft-purge grace).", func(s Stats, _ *Proxy) float64 { return float64(s.Stale) }),
		counter("collapsed_total", "Requests that waited for another request's upstream fetch.", func(s Stats, _ *Proxy) float64 { return float64(s.Collapsed) }),
		counter("origin_fetches_total", "Requests sent upstream (to the shield or the origin).", func(s Stats, _ *Proxy) float64 { return float64(s.OriginFetches) }),
		counter("bytes_served_total", "Response body bytes sent to clients.", func(s Stats, _ *Proxy) float64 { return float64(s.BytesServed) }),
		counter("purges_total", "Purge requests applied.", func(s Stats, _ *Proxy) float64 { return float64(s.Purges) }),
		counter("upstream_wait_seconds_total", "Time spent waiting for upstream response headers.", func(_ Stats, p *Proxy) float64 {
			return float64(p.stats.fetchNanos.Load()) / 1e9
		}),
		counter("fills_over_budget_total", "Responses passed through without being stored because the fill budget was spent.", func(s Stats, _ *Proxy) float64 { return float64(s.FillsOverBudget) }),
		counter("send_timeouts_total", "Clients disconnected because they stopped reading a response (idle send timeout or send timeout).", func(s Stats, _ *Proxy) float64 { return float64(s.SendTimeouts) }),
		gauge("fill_bytes", "Response bodies in memory outside the store: fills being stored, and bodies the store let go of that clients are still receiving.", func(s Stats, _ *Proxy) float64 { return float64(s.FillBytes) }),
		gauge("fill_budget_bytes", "The bound of fill_bytes: past it, responses pass through without being stored.", func(s Stats, _ *Proxy) float64 { return float64(s.FillBudget) }),
		gauge("entries", "Keys stored.", func(s Stats, _ *Proxy) float64 { return float64(s.Entries) }),
		gauge("bytes_stored", "Bytes stored, as counted against the capacity.", func(s Stats, _ *Proxy) float64 { return float64(s.BytesStored) }),
		gauge("capacity_bytes", "Configured cache capacity.", func(s Stats, _ *Proxy) float64 { return float64(s.CapacityBytes) }),
		gauge("healthy", "1 when the health endpoint answers 200.", func(s Stats, _ *Proxy) float64 {
			if s.Healthy {
				return 1
			}
			return 0
		}),
	}}
}

func (c *edgeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.metrics {
		ch <- m.desc
	}
}

func (c *edgeCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.pops() {
		s := p.Stats()
		for _, m := range c.metrics {
			ch <- prometheus.MustNewConstMetric(m.desc, m.kind, m.value(s, p), s.Name, s.Role)
		}
	}
}
