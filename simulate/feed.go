package simulate

import (
	"errors"
	"hash/maphash"
	"io"
	"strings"

	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/simulate/workload"
)

// feed reads a workload on a goroutine of its own, a batch at a time, and
// derives there what depends only on each request itself — its URL's
// cache key and rules (a resolver's pathInfo), the PoP of its client's
// network — so that the simulation's goroutine does only the simulating.
// Batches arrive in the source's order: the simulation sees the events it
// would reading the source itself, and gives the same results.
type feed struct {
	full chan *batch
	free chan *batch
	stop chan struct{}
	done chan struct{}
}

// batch is a run of events and what the feed derived from each.
type batch struct {
	evs []workload.Event
	res []resolved
	n   int
	err error
}

// resolved is what the feed derived from one request event. Besides its
// pathInfo, copies of what a hit needs of it: the batch is read in order,
// the pathInfo of an unpopular URL is likely out of the processor's
// caches.
type resolved struct {
	pi *pathInfo
	// home is the position of the PoP whose client networks hold the
	// request's client (-1: none, or the request has a region).
	home int
	// key is the URL's cache key (pi.k.Key); logical, pi.logical.
	key, logical string
	// bad: the URL has no cache key (pi.keyErr); versioned, pi.versioned.
	bad, versioned bool
}

const (
	feedBatches   = 4
	feedBatchSize = 1024
)

// startFeed starts reading src through r. The feed must be closed.
func startFeed(src workload.Source, r *resolver) *feed {
	f := &feed{
		full: make(chan *batch, feedBatches), free: make(chan *batch, feedBatches+1),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	for range feedBatches + 1 {
		f.free <- &batch{evs: make([]workload.Event, feedBatchSize), res: make([]resolved, feedBatchSize)}
	}
	go f.run(src, r)
	return f
}

func (f *feed) run(src workload.Source, r *resolver) {
	defer close(f.done)
	defer close(f.full)
	for {
		var b *batch
		select {
		case b = <-f.free:
		case <-f.stop:
			return
		}
		n, err := src.Read(b.evs)
		for i := range b.evs[:n] {
			if ev := &b.evs[i]; ev.Kind == workload.Request {
				pi := r.resolve(ev)
				b.res[i] = resolved{pi: pi, home: r.home(ev), key: pi.k.Key, logical: pi.logical, bad: pi.keyErr != nil, versioned: pi.versioned}
			}
		}
		if n == 0 && err == nil {
			err = errors.New("the workload returned no events and no error")
		}
		b.n, b.err = n, err
		select {
		case f.full <- b: // b is the reader's now
		case <-f.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

// next returns the next batch (nil at the end, after a batch with an
// error). The batch is the caller's until it calls release.
func (f *feed) next() *batch {
	b, ok := <-f.full
	if !ok {
		return nil
	}
	return b
}

// release hands a batch back to the feed for reuse.
func (f *feed) release(b *batch) {
	clear(b.evs[:b.n]) // no strings kept alive by a batch waiting for reuse
	clear(b.res[:b.n])
	b.n, b.err = 0, nil
	f.free <- b
}

// close stops the feed's goroutine and waits for it: it may be reading
// the source, which its caller closes next.
func (f *feed) close() {
	close(f.stop)
	<-f.done
}

// errEnd tells whether a batch's error is the end of the workload.
func errEnd(err error) bool { return errors.Is(err, io.EOF) }

// resolver derives a request's pathInfo from its host and path, and its
// client's PoP from its address. It runs on the feed's goroutine and
// touches nothing of the engine but what stays the same during a run.
type resolver struct {
	sc        *Scenario
	regions   int // how many regions the workload has
	keyOpts   localedge.KeyOptions
	rules     []*hashing.Glob // of sc.Rules, in order
	versioned []*hashing.Glob
	seed      maphash.Seed
	memo      []memoSlot
}

func newResolver(sc *Scenario, info workload.Info) *resolver {
	r := &resolver{sc: sc, regions: len(info.Regions), keyOpts: sc.Topology.Cache.Key, seed: maphash.MakeSeed(), memo: make([]memoSlot, memoSize)}
	for _, rule := range sc.Rules {
		r.rules = append(r.rules, hashing.MustCompileGlob(rule.Path)) // checked by Validate
	}
	for _, v := range sc.Versioned {
		r.versioned = append(r.versioned, hashing.MustCompileGlob(v))
	}
	return r
}

// pathInfo is what the engine derived from a requested host and path: its
// cache key, template and whether its URL is versioned. A direct-mapped
// memo keeps the recent ones, so popular objects cost no key building.
//
// The resolver sets the fields down to ruled before handing the pathInfo
// to the engine; the engine's goroutine alone uses the others.
type pathInfo struct {
	host, path string
	logical    string
	k          localedge.CacheKey
	keyErr     error
	versioned  bool
	cc         string // after the rules
	ruled      bool
	// The last template used and what chose it.
	tStatus int
	tCC     string
	tVary   string
	tTyp    int
	tmpl    *template
	// The versioned key of vVersion.
	vk       localedge.CacheKey
	vVersion int32
}

// memoSlot is one slot of the direct-mapped memo of pathInfo: the
// workload's object number beside the pointer, so a hit costs no
// dereference until the slot matches.
type memoSlot struct {
	id uint64
	pi *pathInfo
}

const memoSize = 1 << 18

// memoIndex is the memo slot of a workload's object number. Sources
// number objects densely below bit 40 (a log its URLs from 1, a synthetic
// workload each content type's objects by rank) and tell apart what they
// number separately above it (content types, merged logs): the low bits,
// offset by a hash of the high ones, so that no two of the first memoSize
// objects of one numbering share a slot.
func memoIndex(id uint64) uint64 {
	return (id + mix(id>>40)) & (memoSize - 1)
}

func (r *resolver) resolve(ev *workload.Event) *pathInfo {
	var slot *memoSlot
	if ev.Object != 0 {
		slot = &r.memo[memoIndex(ev.Object)]
		if slot.id == ev.Object && slot.pi != nil {
			return slot.pi
		}
	} else {
		h := maphash.String(r.seed, ev.Path) ^ maphash.String(r.seed, ev.Host)<<1
		slot = &r.memo[h&(memoSize-1)]
	}
	pi := slot.pi
	if pi == nil || pi.path != ev.Path || pi.host != ev.Host {
		pi = &pathInfo{host: ev.Host, path: ev.Path, logical: ev.Host + ev.Path, vVersion: -1, tTyp: -2}
		path, query, _ := strings.Cut(ev.Path, "?")
		pi.k, pi.keyErr = r.keyOpts.Build("https", ev.Host, path, query, nil)
		name := strings.TrimPrefix(path, "/")
		for i, g := range r.rules {
			if g.Match(name) {
				pi.cc, pi.ruled = r.sc.Rules[i].CacheControl, true
				break
			}
		}
		for _, g := range r.versioned {
			if g.Match(name) {
				pi.versioned = true
				break
			}
		}
	}
	slot.id, slot.pi = ev.Object, pi
	return pi
}

// home returns the position of the PoP whose client networks hold the
// request's client, when the engine routes it by address (-1: none).
func (r *resolver) home(ev *workload.Event) int {
	if (ev.Region >= 0 && ev.Region < r.regions) || !ev.Client.IsValid() {
		return -1
	}
	home := -1
	for i, p := range r.sc.Topology.PoPs {
		for _, n := range p.Networks {
			if n.Contains(ev.Client) {
				home = i
			}
		}
	}
	return home
}
