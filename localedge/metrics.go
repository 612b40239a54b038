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
// _purges_total, _upstream_wait_seconds_total, and the gauges _entries,
// _bytes_stored, _capacity_bytes and _healthy.
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
