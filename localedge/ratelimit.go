package localedge

import (
	"net/http"
	"net/netip"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdnctl/cdnctl/localedge/ratelimit"
)

// overRateLimit counts a request against its client's bucket (see package
// ratelimit) and, when the client is over its rate, answers 429 with
// Retry-After and reports true.
func (p *Proxy) overRateLimit(w http.ResponseWriter, r *http.Request, out *outcome) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false // not an IP connection: nothing to count by
	}
	ok, wait := p.RateLimit.Allow(ap.Addr(), r.URL.Path)
	if ok {
		return false
	}
	retry := ratelimit.RetryAfterSeconds(wait)
	w.Header().Set("Retry-After", strconv.FormatInt(retry, 10))
	*out = p.errorResponse(w, http.StatusTooManyRequests, "this client sent more requests than the edge's rate limit allows; retry in "+strconv.FormatInt(retry, 10)+" s", FwdBypass, "rate-limited")
	return true
}

// rateLimitCollector exports the rate limiters' counters of the edges
// that have one: cdnctl_edge_rate_limit_allowed_total,
// _limited_total, _evictions_total, and the gauges _clients and
// _capacity.
type rateLimitCollector struct {
	pops                                        func() []*Proxy
	allowed, limited, evictions, clients, capac *prometheus.Desc
}

func newRateLimitCollector(pops func() []*Proxy) *rateLimitCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(metricsNamespace, "edge", "rate_limit_"+name), help, []string{"pop"}, nil)
	}
	return &rateLimitCollector{
		pops:      pops,
		allowed:   d("allowed_total", "Requests the rate limit let through."),
		limited:   d("limited_total", "Requests answered 429 because their client was over its rate."),
		evictions: d("evictions_total", "Client buckets evicted from the full table (the client starts again with a full bucket)."),
		clients:   d("clients", "Client buckets in the table."),
		capac:     d("capacity", "The table's size: the most client buckets kept (serve.rate_limit.max_clients)."),
	}
}

func (c *rateLimitCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.allowed, c.limited, c.evictions, c.clients, c.capac} {
		ch <- d
	}
}

func (c *rateLimitCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.pops() {
		if p.RateLimit == nil {
			continue
		}
		s := p.RateLimit.Stats()
		ch <- prometheus.MustNewConstMetric(c.allowed, prometheus.CounterValue, float64(s.Allowed), p.Name)
		ch <- prometheus.MustNewConstMetric(c.limited, prometheus.CounterValue, float64(s.Limited), p.Name)
		ch <- prometheus.MustNewConstMetric(c.evictions, prometheus.CounterValue, float64(s.Evictions), p.Name)
		ch <- prometheus.MustNewConstMetric(c.clients, prometheus.GaugeValue, float64(s.Clients), p.Name)
		ch <- prometheus.MustNewConstMetric(c.capac, prometheus.GaugeValue, float64(s.Capacity), p.Name)
	}
}
