package geodns

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/time/rate"
)

// queryLog writes one record per query, at most rate per second: a flood
// of random names (60,000 queries a second) would otherwise write
// megabytes a second. Queries over the rate are counted, and summarize
// reports the count.
type queryLog struct {
	logger  *slog.Logger
	limit   *rate.Limiter // nil: every query is logged
	now     func() time.Time
	every   time.Duration // period of the summaries
	metrics *metrics
	// dropped counts the queries not logged since the last summary.
	dropped atomic.Uint64
}

func newQueryLog(cfg *Config, now func() time.Time, m *metrics) *queryLog {
	if cfg.QueryLog == nil {
		return nil
	}
	q := &queryLog{logger: cfg.QueryLog, now: now, every: cfg.QueryLogSummaryEvery, metrics: m}
	if q.every <= 0 {
		q.every = DefaultQueryLogSummaryEvery
	}
	perSecond := cfg.QueryLogRate
	if perSecond == 0 {
		perSecond = DefaultQueryLogRate
	}
	if perSecond > 0 {
		q.limit = rate.NewLimiter(rate.Limit(perSecond), perSecond)
	}
	return q
}

// log records one query, or counts it when over the rate.
func (q *queryLog) log(remote netip.AddrPort, tcp bool, resp *dns.Msg, info *queryInfo, took time.Duration, pops []PoP) {
	if q.limit != nil && !q.limit.AllowN(q.now(), 1) {
		q.dropped.Add(1)
		q.metrics.queryLogDropped()
		return
	}
	proto := "udp"
	if tcp {
		proto = "tcp"
	}
	attrs := []slog.Attr{
		slog.String("client", remote.String()),
		slog.String("proto", proto),
		slog.String("name", info.qname),
		slog.String("type", dns.TypeToString[info.qtype]),
		slog.String("rcode", dns.RcodeToString[resp.Rcode]),
	}
	if info.ecs != nil {
		attrs = append(attrs, slog.String("ecs", info.ecs.String()))
	}
	if len(resp.Answer) > 0 {
		var b strings.Builder
		for i, rr := range resp.Answer {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strings.TrimPrefix(rr.String(), rr.Header().String()))
		}
		attrs = append(attrs, slog.String("answer", b.String()))
	}
	if resp.Truncated {
		attrs = append(attrs, slog.Bool("truncated", true))
	}
	if info.routed {
		if info.d.pop >= 0 {
			attrs = append(attrs, slog.String("pop", pops[info.d.pop].Name))
		}
		attrs = append(attrs, slog.String("reason", info.d.String(pops)))
	}
	attrs = append(attrs, slog.Duration("took", took))
	q.logger.LogAttrs(context.Background(), slog.LevelInfo, "dns query", attrs...)
}

// summarize says how many queries were left out since the last summary,
// if any.
func (q *queryLog) summarize() {
	n := q.dropped.Swap(0)
	if n == 0 {
		return
	}
	q.logger.LogAttrs(context.Background(), slog.LevelWarn, "dns query log: queries over the rate not logged",
		slog.Uint64("not_logged", n), slog.Float64("max_per_second", float64(q.limit.Limit())))
}

// run summarizes every q.every until ctx is done, then one last time.
func (q *queryLog) run(ctx context.Context) {
	if q == nil || q.limit == nil {
		return
	}
	t := time.NewTicker(q.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			q.summarize()
			return
		case <-t.C:
			q.summarize()
		}
	}
}
