package simulate

import (
	"math"
	"slices"
	"time"
)

// Result is what happened in one scenario.
type Result struct {
	Scenario string `json:"scenario"`
	// Start is the time of the first request; Seconds how long the
	// workload ran, in virtual seconds.
	Start   time.Time `json:"start"`
	Seconds float64   `json:"seconds"`

	// Requests and Bytes are what clients asked for and received (body
	// bytes).
	Requests int64 `json:"requests"`
	Bytes    int64 `json:"bytes"`

	// Edge is every PoP together; PoPs each one; Shield the shield (nil
	// when there is none).
	Edge   Tier   `json:"edge"`
	PoPs   []Tier `json:"pops"`
	Shield *Tier  `json:"shield,omitempty"`

	// Offload is the share of client requests and bytes the origin did
	// not have to serve.
	Offload Ratio      `json:"offload"`
	Origin  OriginLoad `json:"origin"`

	// Collapsed is how many client requests waited for a fill another
	// request had started instead of starting their own.
	Collapsed int64 `json:"collapsed"`
	// Stale is how many responses clients got from a stale stored
	// response (stale-while-revalidate, soft purges, stale-if-error).
	Stale int64 `json:"stale"`
	// Errors is how many client requests got a 5xx or no answer.
	Errors   int64    `json:"errors"`
	Outdated Outdated `json:"outdated"`
	Latency  Latency  `json:"latency"`

	// Observed is the hit ratio the log itself reports (nginx's
	// $upstream_cache_status, CloudFront's x-edge-result-type,
	// Cloudflare's CacheCacheStatus), when it does.
	Observed *float64 `json:"observed_hit_ratio,omitempty"`

	// Series is the run over time.
	Series Series `json:"series"`

	// Changes is how many content changes the workload made; Purges how
	// many purges the scenario sent for them.
	Changes int64 `json:"changes"`
	Purges  int64 `json:"purges"`
	// Reordered is how many log lines were out of time order (replayed at
	// the latest time seen); Invalid how many requests had a URL no cache
	// key can be made of.
	Reordered int64 `json:"reordered,omitempty"`
	Invalid   int64 `json:"invalid,omitempty"`
}

// Tier is what one cache (or all the PoPs) did.
type Tier struct {
	Name string `json:"name"`
	// Requests it received and Hits it answered from its store.
	Requests int64 `json:"requests"`
	Hits     int64 `json:"hits"`
	// Bytes it sent and HitBytes of them from its store.
	Bytes    int64 `json:"bytes"`
	HitBytes int64 `json:"hit_bytes"`
	HitRatio Ratio `json:"hit_ratio"`
	// Stale responses it served from its store (StaleIfError of them
	// because its upstream failed), Collapsed requests it held for a fill
	// under way, Fills it sent upstream.
	Stale        int64 `json:"stale"`
	StaleIfError int64 `json:"stale_if_error"`
	Collapsed    int64 `json:"collapsed"`
	Fills        int64 `json:"fills"`
	Purged       int64 `json:"purged"`
}

// Ratio is a share of requests and of bytes.
type Ratio struct {
	Requests float64 `json:"requests"`
	Bytes    float64 `json:"bytes"`
}

// OriginLoad is what reached the origin.
type OriginLoad struct {
	Requests int64 `json:"requests"`
	// Bytes is the origin's egress: body bytes it sent.
	Bytes int64 `json:"bytes"`
	// NotModified is how many requests it answered 304 (revalidations).
	NotModified int64 `json:"not_modified"`
	Errors      int64 `json:"errors"`
	// PerSecond is its requests per second over the run: mean, 99th
	// percentile and maximum of the counts of each second.
	PerSecond PerSecond `json:"per_second"`
}

// PerSecond summarises a count per second.
type PerSecond struct {
	Mean float64 `json:"mean"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// Outdated is how long clients saw content older than the origin's after
// a change: for each change of an object that some client was served a
// version older than, the time from the change to the last such response.
type Outdated struct {
	// Responses is how many responses carried an outdated version.
	Responses int64 `json:"responses"`
	// Changes is how many changes (of one object each) clients were
	// served outdated content after.
	Changes int     `json:"changes"`
	Longest float64 `json:"longest_s"`
	Median  float64 `json:"median_s"`
}

// Latency estimates what clients waited for the first byte, from the
// round trips of each hop (no handshakes, no transfer time).
type Latency struct {
	Mean float64 `json:"mean_ms"`
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
}

// Series is the run over time, in steps.
type Series struct {
	StepSeconds float64 `json:"step_s"`
	Points      []Point `json:"points"`
}

// Point is one step of a Series.
type Point struct {
	// At is the step's start, seconds since the first request.
	At float64 `json:"at_s"`
	// Requests and Hits are client requests and edge hits in the step.
	Requests int64 `json:"requests"`
	Hits     int64 `json:"hits"`
	// HitRatio is Hits/Requests (0 without requests).
	HitRatio float64 `json:"hit_ratio"`
	// OriginPerSecond is the origin's mean request rate in the step;
	// OriginBytes its egress.
	OriginPerSecond float64 `json:"origin_per_second"`
	OriginBytes     int64   `json:"origin_bytes"`
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (e *engine) result() *Result {
	c := e.col
	seconds := float64(c.end-c.start) / float64(time.Second)
	if seconds < 1 {
		seconds = 1
	}
	r := &Result{
		Scenario: e.sc.Name, Start: time.Unix(0, c.start).UTC(), Seconds: seconds,
		Requests: c.requests, Bytes: c.bytes,
		Collapsed: c.collapsed, Stale: c.stale, Errors: c.failed,
		Changes: c.changes, Purges: c.purges, Reordered: c.reordered, Invalid: c.invalid,
	}
	r.Edge = Tier{Name: "edge", Requests: c.requests, Hits: c.hits, Bytes: c.bytes, HitBytes: c.hitBytes}
	for _, n := range e.edges {
		t := n.tier()
		r.PoPs = append(r.PoPs, t)
		r.Edge.Stale += t.Stale
		r.Edge.StaleIfError += t.StaleIfError
		r.Edge.Collapsed += t.Collapsed
		r.Edge.Fills += t.Fills
		r.Edge.Purged += t.Purged
	}
	r.Edge.HitRatio = Ratio{ratio(r.Edge.Hits, r.Edge.Requests), ratio(r.Edge.HitBytes, r.Edge.Bytes)}
	if e.shield != nil {
		t := e.shield.tier()
		r.Shield = &t
	}
	r.Offload = Ratio{1 - ratio(c.originRequests, c.requests), 1 - ratio(c.originBytes, c.bytes)}
	if c.requests == 0 {
		r.Offload = Ratio{}
	}
	r.Origin = OriginLoad{Requests: c.originRequests, Bytes: c.originBytes, NotModified: c.originNotMod, Errors: c.originErrors}
	secs := int(math.Ceil(seconds))
	counts := make([]int32, max(secs, len(c.originSec)))
	copy(counts, c.originSec)
	slices.Sort(counts)
	r.Origin.PerSecond = PerSecond{Mean: float64(c.originRequests) / seconds}
	if len(counts) > 0 {
		r.Origin.PerSecond.Max = float64(counts[len(counts)-1])
		r.Origin.PerSecond.P99 = float64(counts[min(len(counts)-1, int(math.Ceil(0.99*float64(len(counts))))-1)])
	}
	r.Outdated = Outdated{Responses: c.outdated, Changes: len(c.windows)}
	if len(c.windows) > 0 {
		r.Outdated.Longest = float64(c.windows[len(c.windows)-1]) / float64(time.Second)
		r.Outdated.Median = float64(c.windows[(len(c.windows)-1)/2]) / float64(time.Second)
	}
	if c.requests > 0 {
		r.Latency = Latency{
			Mean: float64(c.latencySum) / float64(c.requests) / float64(time.Millisecond),
			P50:  ms(c.latencyQuantile(0.50)), P90: ms(c.latencyQuantile(0.90)), P99: ms(c.latencyQuantile(0.99)),
			Max: float64(c.latencyMax) / float64(time.Millisecond),
		}
	}
	if n := c.observedHits + c.observedMisses; n > 0 {
		o := ratio(c.observedHits, n)
		r.Observed = &o
	}
	step := float64(c.step) / float64(time.Second)
	r.Series.StepSeconds = step
	for i, p := range c.series {
		r.Series.Points = append(r.Series.Points, Point{
			At: float64(i) * step, Requests: p.requests, Hits: p.hits, HitRatio: ratio(p.hits, p.requests),
			OriginPerSecond: float64(p.origin) / step, OriginBytes: p.originBytes,
		})
	}
	return r
}

func (n *node) tier() Tier {
	s := n.st
	return Tier{
		Name: n.name, Requests: s.requests, Hits: s.hits, Bytes: s.bytes, HitBytes: s.hitBytes,
		HitRatio: Ratio{ratio(s.hits, s.requests), ratio(s.hitBytes, s.bytes)},
		Stale:    s.stale + s.staleIfError, StaleIfError: s.staleIfError, Collapsed: s.collapsed, Fills: s.fills, Purged: s.purged,
	}
}
