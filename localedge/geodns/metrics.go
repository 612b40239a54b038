package geodns

import (
	"fmt"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// Metric names (registered on Config.Registerer, namespace cdnctl,
// subsystem dns):
//
//	cdnctl_dns_queries_total{proto,rcode}        queries answered, by transport and response code
//	cdnctl_dns_answers_total{pop,reason}         CDN answers by chosen PoP and reason (region, nearest, default, failover)
//	cdnctl_dns_truncated_total                   UDP responses sent truncated (TC)
//	cdnctl_dns_rate_limited_total{action}        UDP responses over the rate limit: slip (sent truncated) or drop
//	cdnctl_dns_query_log_dropped_total           queries not written to the query log (over its rate)
//	cdnctl_dns_pop_healthy{pop}                  1 if the PoP passes its health checks
//	cdnctl_dns_health_checks_total{pop,result}   health checks by result (ok, fail)
const (
	metricsNamespace = "cdnctl"
	metricsSubsystem = "dns"
)

// rcodes with a label of their own; others count as "other".
var rcodeLabels = map[int]string{
	dns.RcodeSuccess:        "NOERROR",
	dns.RcodeFormatError:    "FORMERR",
	dns.RcodeServerFailure:  "SERVFAIL",
	dns.RcodeNameError:      "NXDOMAIN",
	dns.RcodeNotImplemented: "NOTIMP",
	dns.RcodeRefused:        "REFUSED",
	dns.RcodeNotAuth:        "NOTAUTH",
	dns.RcodeBadVers:        "BADVERS",
}

// metrics is the server's instruments, with the label combinations of the
// hot path resolved once. A nil *metrics records nothing.
type metrics struct {
	queries     [2]map[int]prometheus.Counter // [tcp] rcode → counter
	queryOther  [2]prometheus.Counter
	answers     [][4]prometheus.Counter // [pop][reason index]
	truncated   prometheus.Counter
	rateLimited map[string]prometheus.Counter
	qlogDropped prometheus.Counter
	healthy     *prometheus.GaugeVec
	checks      *prometheus.CounterVec
}

var answerReasons = [4]string{ReasonRegion, ReasonNearest, ReasonDefault, "failover"}

func newMetrics(reg prometheus.Registerer, pops []PoP) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	opts := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: name, Help: help}
	}
	queries := prometheus.NewCounterVec(prometheus.CounterOpts(opts("queries_total", "DNS queries answered, by transport and response code.")), []string{"proto", "rcode"})
	answers := prometheus.NewCounterVec(prometheus.CounterOpts(opts("answers_total", "CDN answers, by chosen PoP and reason.")), []string{"pop", "reason"})
	truncated := prometheus.NewCounter(prometheus.CounterOpts(opts("truncated_total", "UDP responses sent truncated (TC).")))
	limited := prometheus.NewCounterVec(prometheus.CounterOpts(opts("rate_limited_total", "UDP responses over the rate limit, sent truncated (slip) or dropped.")), []string{"action"})
	qlogDropped := prometheus.NewCounter(prometheus.CounterOpts(opts("query_log_dropped_total", "Queries not written to the query log, over its rate.")))
	healthy := prometheus.NewGaugeVec(prometheus.GaugeOpts(opts("pop_healthy", "1 if the PoP passes its health checks.")), []string{"pop"})
	checks := prometheus.NewCounterVec(prometheus.CounterOpts(opts("health_checks_total", "PoP health checks, by result.")), []string{"pop", "result"})
	for _, c := range []prometheus.Collector{queries, answers, truncated, limited, qlogDropped, healthy, checks} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("dns: metrics: %w", err)
		}
	}
	m := &metrics{
		truncated:   truncated,
		rateLimited: map[string]prometheus.Counter{"slip": limited.WithLabelValues("slip"), "drop": limited.WithLabelValues("drop")},
		qlogDropped: qlogDropped,
		healthy:     healthy,
		checks:      checks,
		answers:     make([][4]prometheus.Counter, len(pops)),
	}
	for tcp, proto := range []string{"udp", "tcp"} {
		m.queries[tcp] = make(map[int]prometheus.Counter, len(rcodeLabels))
		for rc, label := range rcodeLabels {
			m.queries[tcp][rc] = queries.WithLabelValues(proto, label)
		}
		m.queryOther[tcp] = queries.WithLabelValues(proto, "other")
	}
	for i, p := range pops {
		for j, reason := range answerReasons {
			m.answers[i][j] = answers.WithLabelValues(p.Name, reason)
		}
		healthy.WithLabelValues(p.Name).Set(1)
	}
	return m, nil
}

func (m *metrics) query(tcp bool, rcode int) {
	if m == nil {
		return
	}
	t := 0
	if tcp {
		t = 1
	}
	if c, ok := m.queries[t][rcode]; ok {
		c.Inc()
		return
	}
	m.queryOther[t].Inc()
}

func (m *metrics) answer(d decision) {
	if m == nil || d.pop < 0 {
		return
	}
	j := 2
	switch {
	case d.failoverFrom >= 0:
		j = 3
	case d.reason == ReasonRegion:
		j = 0
	case d.reason == ReasonNearest:
		j = 1
	}
	m.answers[d.pop][j].Inc()
}

func (m *metrics) truncate() {
	if m != nil {
		m.truncated.Inc()
	}
}

func (m *metrics) limited(action string) {
	if m != nil {
		m.rateLimited[action].Inc()
	}
}

func (m *metrics) queryLogDropped() {
	if m != nil {
		m.qlogDropped.Inc()
	}
}

func (m *metrics) setHealthy(pop string, up bool) {
	if m == nil {
		return
	}
	v := 0.0
	if up {
		v = 1
	}
	m.healthy.WithLabelValues(pop).Set(v)
}

func (m *metrics) healthCheck(pop string, ok bool) {
	if m == nil {
		return
	}
	result := "fail"
	if ok {
		result = "ok"
	}
	m.checks.WithLabelValues(pop, result).Inc()
}
