package workload

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Synthetic generates the events of a Spec: requests arriving as a
// Poisson process of the spec's rate (drawn exactly, by thinning, however
// the rate varies), each for a content type chosen by share, an object of
// that type by Zipf popularity, a region and an Accept-Encoding by share;
// and the content changes. The same spec and seed give the same events.
//
// Objects are not held in memory: an object's size is a function of its
// number, so a catalogue of any size costs nothing until it is cached.
type Synthetic struct {
	spec    Spec
	rng     *rand.Rand
	t       time.Duration // time of the last event since the start
	start   int64         // Unix nanoseconds of Spec.Start
	types   []*synthType
	typeCum []float64
	regCum  []float64
	encCum  []float64
	info    Info
	done    bool
}

type synthType struct {
	Content
	idx            int
	zipf           *zipf
	prefix, suffix string // the path around "{id}"
	sizeSeed       uint64
	memo           []pathMemo
	nextChange     time.Duration // 0: never
	changeRNG      *rand.Rand
}

// pathMemo remembers the path and size of a recently drawn object.
type pathMemo struct {
	rank int64
	path string
	size int64
}

const memoSlots = 1 << 16

// NewSynthetic validates spec (filling in its defaults) and returns its
// generator.
func NewSynthetic(spec Spec) (*Synthetic, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	g := &Synthetic{spec: spec, start: spec.Start.UnixNano()}
	g.rng = rand.New(rand.NewPCG(spec.Seed, 0x5eed))
	g.info = Info{Name: "synthetic", Regions: spec.Regions, Duration: int64(spec.Duration)}
	for _, e := range spec.Encodings {
		g.info.Encodings = append(g.info.Encodings, e.Accept)
		g.encCum = appendCum(g.encCum, e.Share)
	}
	for i := range spec.Regions {
		g.regCum = appendCum(g.regCum, spec.Regions[i].Share)
	}
	for i, c := range spec.Content {
		st := &synthType{Content: c, idx: i, memo: make([]pathMemo, memoSlots)}
		st.prefix, st.suffix, _ = strings.Cut(c.Path, "{id}")
		st.zipf = newZipf(c.Objects, *c.Zipf, g.rng.Float64)
		st.sizeSeed = splitmix(spec.Seed ^ uint64(i+1)*0x9e3779b97f4a7c15)
		if c.ChangeEvery > 0 {
			st.nextChange = c.ChangeEvery
			st.changeRNG = rand.New(rand.NewPCG(spec.Seed, uint64(i+1)))
		}
		g.types = append(g.types, st)
		g.typeCum = appendCum(g.typeCum, c.Share)
		g.info.Types = append(g.info.Types, c.Name)
	}
	return g, nil
}

func appendCum(cum []float64, share float64) []float64 {
	prev := 0.0
	if len(cum) > 0 {
		prev = cum[len(cum)-1]
	}
	return append(cum, prev+share)
}

// pick draws an index by the shares accumulated in cum.
func pick(rng *rand.Rand, cum []float64) int {
	u := rng.Float64() * cum[len(cum)-1]
	for i, c := range cum {
		if u < c {
			return i
		}
	}
	return len(cum) - 1
}

// Info implements Source.
func (g *Synthetic) Info() Info { return g.info }

// Read implements Source.
func (g *Synthetic) Read(evs []Event) (int, error) {
	n := 0
	for n < len(evs) && !g.done {
		if !g.next(&evs[n]) {
			g.done = true
			break
		}
		n++
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// next writes the next event; false at the end.
func (g *Synthetic) next(ev *Event) bool {
	arrival, ok := g.nextArrival()
	if change := g.nextChangeType(); change != nil && (!ok || change.nextChange <= arrival) {
		g.change(ev, change)
		return true
	}
	if !ok {
		return false
	}
	g.t = arrival
	st := g.types[pick(g.rng, g.typeCum)]
	rank := st.zipf.next()
	m := &st.memo[rank&(memoSlots-1)]
	if m.rank != rank || m.path == "" {
		m.rank, m.path, m.size = rank, st.path(rank), st.Size.quantile(uniformOf(st.sizeSeed, uint64(rank)))
	}
	*ev = Event{
		Kind: Request, Time: g.start + int64(arrival), Method: "GET", Host: g.spec.Host, Path: m.path, Object: uint64(st.idx+1)<<40 | uint64(rank),
		Region: -1, Status: st.Status, Size: m.size, CacheControl: st.CacheControl, Vary: st.Vary, Type: st.idx, ChangedType: -1,
	}
	if len(g.regCum) > 0 {
		ev.Region = pick(g.rng, g.regCum)
	}
	if len(g.encCum) > 0 {
		ev.Encoding = pick(g.rng, g.encCum)
	}
	return true
}

// nextArrival draws the next request time after g.t by thinning: candidate
// times at the rate's upper bound, each kept with probability rate/bound
// (exact for a Poisson process of any rate function).
func (g *Synthetic) nextArrival() (time.Duration, bool) {
	t := g.t
	for {
		if t >= g.spec.Duration {
			return 0, false
		}
		bound, until := g.spec.Rate.bound(t)
		if bound <= 0 {
			t = until
			continue
		}
		dt := time.Duration(g.rng.ExpFloat64() / bound * float64(time.Second))
		if dt > until-t { // past a change of shape: start again there
			t = until
			continue
		}
		t += dt
		if t >= g.spec.Duration {
			return 0, false
		}
		if r := g.spec.Rate.rateAt(g.spec.Start, t); r >= bound || g.rng.Float64()*bound < r {
			return t, true
		}
	}
}

// nextChangeType returns the type that changes next, if any changes
// before the end.
func (g *Synthetic) nextChangeType() *synthType {
	var next *synthType
	for _, st := range g.types {
		if st.nextChange > 0 && st.nextChange < g.spec.Duration && (next == nil || st.nextChange < next.nextChange) {
			next = st
		}
	}
	return next
}

// change writes the change event of st and schedules its next one.
func (g *Synthetic) change(ev *Event, st *synthType) {
	*ev = Event{Kind: Change, Time: g.start + int64(st.nextChange), Host: g.spec.Host, Type: st.idx, Region: -1, ChangedType: -1}
	if st.ChangeFraction >= 1 || st.Objects == 1 {
		ev.ChangedType = st.idx
	} else {
		k := int64(math.Round(st.ChangeFraction * float64(st.Objects)))
		for _, rank := range sampleDistinct(st.changeRNG, st.Objects, k) {
			ev.Changed = append(ev.Changed, st.path(rank))
		}
	}
	g.t = max(g.t, st.nextChange)
	st.nextChange += st.ChangeEvery
}

// sampleDistinct draws k distinct numbers of 1..n (Floyd's algorithm), in
// increasing order.
func sampleDistinct(rng *rand.Rand, n, k int64) []int64 {
	chosen := make(map[int64]bool, k)
	for j := n - k + 1; j <= n; j++ {
		t := rng.Int64N(j) + 1
		if chosen[t] {
			t = j
		}
		chosen[t] = true
	}
	out := make([]int64, 0, k)
	for r := range chosen {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

func (st *synthType) path(rank int64) string {
	if st.suffix == "" && st.prefix == st.Path {
		return st.Path
	}
	return st.prefix + strconv.FormatInt(rank, 10) + st.suffix
}

// splitmix is SplitMix64's finaliser: a well-mixed hash of x.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// uniformOf is a number in (0, 1) determined by seed and x.
func uniformOf(seed, x uint64) float64 {
	return (float64(splitmix(seed^splitmix(x))>>11) + 0.5) / (1 << 53)
}

// String describes the spec in a line.
func (g *Synthetic) String() string {
	return fmt.Sprintf("synthetic: %d content types, %v", len(g.types), g.spec.Duration)
}
