package localedge

import (
	"sync/atomic"
	"time"
)

// counters are a proxy's cumulative request counters. They are plain
// atomics, read by Stats and by the Prometheus collector at scrape time, so
// the request path pays no more than an atomic add.
//
// The counters every hit updates sit on their own cache lines, so two
// cores serving hits do not invalidate each other's copy of the rest.
type counters struct {
	requests    atomic.Int64
	_           [56]byte
	hits        atomic.Int64
	_           [56]byte
	bytesServed atomic.Int64
	_           [56]byte

	misses        atomic.Int64
	stale         atomic.Int64
	collapsed     atomic.Int64
	originFetches atomic.Int64
	purges        atomic.Int64
	fetchNanos    atomic.Int64 // total time waiting for upstream response heads
	sendTimeouts  atomic.Int64 // clients disconnected by a send timeout
}

func (c *counters) observeFetch(d time.Duration) { c.fetchNanos.Add(int64(d)) }

// Stats are a proxy's counters since it started and the size of its store
// (contract §2, GET /api/v1/stats).
type Stats struct {
	Name          string  `json:"name"`
	Role          string  `json:"role"`
	Healthy       bool    `json:"healthy"`
	Requests      int64   `json:"requests"`
	Hits          int64   `json:"hits"`
	Misses        int64   `json:"misses"`
	Stale         int64   `json:"stale"`
	Collapsed     int64   `json:"collapsed"`
	OriginFetches int64   `json:"origin_fetches"`
	BytesServed   int64   `json:"bytes_served"`
	HitRatio      float64 `json:"hit_ratio"`
	Entries       int64   `json:"entries"`
	BytesStored   int64   `json:"bytes_stored"`
	CapacityBytes int64   `json:"capacity_bytes"`
	Purges        int64   `json:"purges"`
	// FillBytes is what the fill budget holds now (FillBudget its
	// limit); FillsOverBudget counts the responses passed through
	// without being stored because it was spent, SendTimeouts the clients
	// disconnected because they stopped reading.
	FillBytes       int64 `json:"fill_bytes"`
	FillBudget      int64 `json:"fill_budget"`
	FillsOverBudget int64 `json:"fills_over_budget"`
	SendTimeouts    int64 `json:"send_timeouts"`
}

// Stats returns the proxy's counters and store size.
func (p *Proxy) Stats() Stats {
	p.init()
	s := Stats{
		Name:          p.Name,
		Role:          p.Role,
		Healthy:       p.Healthy(),
		Requests:      p.stats.requests.Load(),
		Hits:          p.stats.hits.Load(),
		Misses:        p.stats.misses.Load(),
		Stale:         p.stats.stale.Load(),
		Collapsed:     p.stats.collapsed.Load(),
		OriginFetches: p.stats.originFetches.Load(),
		BytesServed:   p.stats.bytesServed.Load(),
		Purges:        p.stats.purges.Load(),

		FillBytes:       p.budget.used.Load(),
		FillBudget:      p.budget.limit,
		FillsOverBudget: p.budget.refused.Load(),
		SendTimeouts:    p.stats.sendTimeouts.Load(),
	}
	if lookups := s.Hits + s.Misses; lookups > 0 {
		s.HitRatio = float64(s.Hits) / float64(lookups)
	}
	if st, ok := p.store.(statser); ok {
		ss := st.Stats()
		s.Entries, s.BytesStored, s.CapacityBytes = ss.Keys, ss.Bytes, ss.Capacity
	}
	return s
}
