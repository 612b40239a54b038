package simulate

import (
	"slices"
	"time"
)

// tierStats counts what one cache did.
type tierStats struct {
	requests     int64 // requests it received (clients', or fills from below)
	hits         int64 // answered from its store (fresh or stale)
	hitBytes     int64
	bytes        int64 // body bytes it sent
	stale        int64 // stale responses served from its store
	staleIfError int64 // stale responses served because the upstream failed
	collapsed    int64 // requests that joined a fill under way
	fills        int64 // requests it sent upstream
	stored       int64 // responses it stored
	purged       int64 // stored responses purged
	errors       int64 // fills that failed with no stale response to serve
	passed       int64 // requests forwarded without caching (unsafe methods)
}

// hit counts a request answered from the store; its bytes are counted
// where they are sent (a 304 sends none).
func (s *tierStats) hit(stale bool) {
	s.hits++
	if stale {
		s.stale++
	}
}

// point is one step of the time series.
type point struct {
	requests, hits, bytes, hitBytes, origin, originBytes int64
}

// exposure is, for one changed object, when clients were last served a
// version older than each of its changes: last[v-1] for version v (0:
// never).
type exposure struct {
	last []int64
}

// latencyBuckets is the resolution of the latency histogram: 1 ms up to a
// minute.
const latencyBuckets = 60_000

// collector accumulates a run's results.
type collector struct {
	e          *engine
	start, end int64
	step       int64
	points     int
	series     []point
	originSec  []int32

	latency    []int64 // by millisecond
	latencySum int64
	latencyMax int64

	requests, bytes, hits, hitBytes int64
	stale, outdated, failed         int64
	collapsed, invalid, reordered   int64
	changes, purges                 int64

	edgeBytes []int64

	originRequests, originBytes, originNotMod, originErrors int64

	exposures     map[string]*exposure
	exposureTypes map[string]int
	windows       []int64

	observedHits, observedMisses int64
}

func newCollector(e *engine, opts Options) *collector {
	points := opts.SeriesPoints
	if points <= 0 {
		points = 240
	}
	c := &collector{
		e: e, points: points, latency: make([]int64, latencyBuckets+1),
		edgeBytes: make([]int64, len(e.edges)), exposures: make(map[string]*exposure), exposureTypes: make(map[string]int),
	}
	c.step = int64(time.Second)
	if d := e.info.Duration; d > 0 {
		c.step = niceStep(d / int64(points))
	}
	return c
}

// niceStep rounds a step up to 1, 2, 5, 10, 15, 30 s, 1, 2, 5, 10, 15,
// 30 min, 1, 2, 3, 6, 12 h or a whole number of days.
func niceStep(d int64) int64 {
	steps := []time.Duration{
		time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
	}
	for _, s := range steps {
		if int64(s) >= d {
			return int64(s)
		}
	}
	day := int64(24 * time.Hour)
	return (d + day - 1) / day * day
}

func (c *collector) begin(t int64) { c.start, c.end = t, t }

// bucket returns the series point of time t, growing the series (and,
// for workloads of unknown length, coarsening it) as needed.
func (c *collector) bucket(t int64) *point {
	if t > c.end {
		c.end = t
	}
	i := int((t - c.start) / c.step)
	for c.e.info.Duration == 0 && i >= 2*c.points {
		// Twice as coarse: merge pairs of points.
		half := (len(c.series) + 1) / 2
		for j := 0; j < half; j++ {
			p := c.series[2*j]
			if 2*j+1 < len(c.series) {
				q := c.series[2*j+1]
				p.requests += q.requests
				p.hits += q.hits
				p.bytes += q.bytes
				p.hitBytes += q.hitBytes
				p.origin += q.origin
				p.originBytes += q.originBytes
			}
			c.series[j] = p
		}
		c.series = c.series[:half]
		c.step *= 2
		i = int((t - c.start) / c.step)
	}
	for len(c.series) <= i {
		c.series = append(c.series, point{})
	}
	return &c.series[i]
}

// client records a response reaching a client.
func (c *collector) client(edge *node, t, latency int64, r response, head bool, logical string, typ int, hit bool) {
	c.requests++
	bytes := r.size
	if head || r.failed || r.notMod {
		bytes = 0
	}
	c.bytes += bytes
	edge.st.bytes += bytes
	p := c.bucket(t)
	p.requests++
	p.bytes += bytes
	if hit {
		edge.st.hitBytes += bytes
		c.hits++
		c.hitBytes += bytes
		p.hits++
		p.hitBytes += bytes
	}
	if r.stale {
		c.stale++
	}
	if r.failed || r.status >= 500 {
		c.failed++
	}
	ms := latency / int64(time.Millisecond)
	c.latency[min(ms, latencyBuckets)]++
	c.latencySum += latency
	c.latencyMax = max(c.latencyMax, latency)
	if c.e.changed && !r.failed && r.tmpl != nil {
		if cur, _ := c.e.current(logical, typ); r.version < cur {
			// Outdated: the client missed every change after its version.
			c.outdated++
			ex := c.exposures[logical]
			if ex == nil {
				ex = &exposure{}
				c.exposures[logical] = ex
				c.exposureTypes[logical] = typ
			}
			for len(ex.last) < int(cur) {
				ex.last = append(ex.last, 0)
			}
			for v := r.version + 1; v <= cur; v++ {
				ex.last[v-1] = t
			}
		}
	}
}

// originRequest records a request reaching the origin.
func (c *collector) originRequest(t, bytes int64, notMod bool) {
	c.originRequests++
	c.originBytes += bytes
	if notMod {
		c.originNotMod++
	}
	p := c.bucket(t)
	p.origin++
	p.originBytes += bytes
	sec := int((t - c.start) / int64(time.Second))
	for len(c.originSec) <= sec {
		c.originSec = append(c.originSec, 0)
	}
	c.originSec[sec]++
}

func (c *collector) observe(o string) {
	switch o {
	case "hit":
		c.observedHits++
	case "miss":
		c.observedMisses++
	}
}

func (c *collector) finish(t int64) {
	if t > c.end {
		c.end = t
	}
	for logical, ex := range c.exposures {
		typ := c.exposureTypes[logical]
		for i, last := range ex.last {
			if last != 0 {
				c.windows = append(c.windows, last-c.e.changedAt(logical, typ, int32(i+1)))
			}
		}
	}
	c.exposures = nil
	slices.Sort(c.windows)
}

// latencyQuantile is the latency under which a share q of the requests
// were answered (to the millisecond).
func (c *collector) latencyQuantile(q float64) time.Duration {
	if c.requests == 0 {
		return 0
	}
	want := int64(q*float64(c.requests) + 0.5)
	want = max(want, 1)
	var seen int64
	for ms, n := range c.latency {
		seen += n
		if seen >= want {
			return time.Duration(ms) * time.Millisecond
		}
	}
	return time.Duration(c.latencyMax)
}
