// Package simulate replays a workload (package simulate/workload: access
// logs or a synthetic spec) through the topology of `cdnctl serve` — edge
// PoPs serving client regions, an optional shield, the origin — in
// process, on a virtual clock, with no network and no sleeping.
//
// The caches are not a model of localedge's: each is a localedge.Store
// (serve's memory store with its W-TinyLFU eviction, or an LRU for
// comparing with cache simulators) holding localedge.Entry values without
// their bodies, and every decision is made by the functions the
// localedge.Proxy calls — localedge.Decide (freshness, stale-while-
// revalidate, soft purges), localedge.StaleIfError, localedge.Storable,
// localedge.SelectVariant and VaryMatches, localedge.AddVariant,
// localedge.EvaluatePreconditions (304s between tiers), the
// localedge.PurgeMatcher of purges — with its collapsing and hit-for-miss
// rules replayed by a discrete-event loop: a fill takes the virtual time
// of its round trips, and requests arriving meanwhile wait for it.
//
// Bodies are never stored, only their sizes, so a catalogue of any size
// simulates in the memory of the caches' index.
package simulate

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/simulate/workload"
)

// Options tune a run.
type Options struct {
	// SeriesPoints is about how many points the result's time series has
	// (default 240).
	SeriesPoints int
}

// engine runs one scenario.
type engine struct {
	sc         *Scenario
	info       workload.Info
	now        int64
	started    bool
	edges      []*node
	shield     *node
	q          queue
	reqd       localedge.RequestDirectives
	tmpls      *templates
	classes    []*class
	originTime time.Duration
	keyOpts    localedge.KeyOptions

	// Routing of clients: each workload region (and each PoP position,
	// for clients without one) to a running edge, plus the extra round
	// trip when its own PoP does not run in this scenario.
	regionEdge  []int
	regionExtra []int64
	homeEdge    []int // by PoP position
	homeExtra   []int64

	// The origin's content versions: of whole content types and of paths,
	// with the times of their changes.
	typeGen     []int32
	typeSince   []int64
	typeChanges [][]int64
	bumps       map[string]*bump
	changed     bool

	col *collector
	seq uint64
}

type bump struct {
	gen   int32
	since int64
	times []int64 // of each change
}

// Run replays src through the scenario's topology and returns what
// happened.
func Run(ctx context.Context, sc Scenario, src workload.Source, opts Options) (*Result, error) {
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	e, err := newEngine(&sc, src.Info(), opts)
	if err != nil {
		return nil, err
	}
	defer e.close()
	f := startFeed(src, newResolver(e.sc, e.info))
	defer f.close()
	for {
		b := f.next()
		if b == nil {
			break
		}
		for i := range b.evs[:b.n] {
			e.event(&b.evs[i], &b.res[i])
		}
		err := b.err
		f.release(b)
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		if errEnd(err) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	e.drain()
	return e.result(), nil
}

func newEngine(sc *Scenario, info workload.Info, opts Options) (*engine, error) {
	t := &sc.Topology
	e := &engine{
		sc: sc, info: info, reqd: localedge.ParseRequestCacheControl(nil),
		tmpls: newTemplates(t.Cache.Heuristic), originTime: t.Origin.ServiceTime, keyOpts: t.Cache.Key,
		bumps:   make(map[string]*bump),
		typeGen: make([]int32, len(info.Types)), typeSince: make([]int64, len(info.Types)), typeChanges: make([][]int64, len(info.Types)),
	}
	if len(info.Encodings) == 0 {
		e.classes = []*class{newClass(0, workload.EncodingDefault)}
	}
	for i, ae := range info.Encodings {
		e.classes = append(e.classes, newClass(i, ae))
	}
	active := t.Active
	newStore := func(capacity int64) localedge.Store {
		if t.Cache.Eviction == EvictionLRU {
			return newLRUStore(capacity)
		}
		return localedge.NewInlineMemoryStore(capacity)
	}
	mk := func(name string, idx int, capacity int64) *node {
		return &node{
			e: e, idx: idx, name: name, store: newStore(capacity), maxObj: t.Cache.MaxObjectSize,
			grace: t.Cache.SoftPurgeGrace, sie: t.Cache.StaleIfError,
			flights: make(map[string]*flight), fills: make(map[*flight]struct{}), hfm: make(map[string]int64),
		}
	}
	if t.Shield != nil {
		capacity := t.Shield.Capacity
		if capacity <= 0 {
			capacity = t.Cache.Capacity
		}
		e.shield = mk("shield", -1, capacity)
		e.shield.rtt = int64(t.Shield.OriginRTT)
		if e.shield.rtt == 0 {
			e.shield.rtt = int64(rtt(t.Shield.Location, t.Origin.Location))
		}
		if t.HopRTT != nil {
			e.shield.rtt = int64(*t.HopRTT)
		}
	}
	for i, p := range t.PoPs[:active] {
		n := mk(p.Name, i, t.Cache.Capacity)
		n.up = e.shield
		n.rtt = int64(p.UpstreamRTT)
		if n.rtt == 0 {
			if e.shield != nil {
				n.rtt = int64(rtt(p.Location, t.Shield.Location))
			} else {
				n.rtt = int64(rtt(p.Location, t.Origin.Location))
			}
		}
		if t.HopRTT != nil {
			n.rtt = int64(*t.HopRTT)
		}
		e.edges = append(e.edges, n)
	}
	e.routeRegions()
	e.col = newCollector(e, opts)
	return e, nil
}

// routeRegions maps client regions and PoP positions to running edges.
func (e *engine) routeRegions() {
	t := &e.sc.Topology
	for i := range t.PoPs {
		edge, extra := e.nearestRunning(i)
		e.homeEdge = append(e.homeEdge, edge)
		e.homeExtra = append(e.homeExtra, extra)
	}
	for i, r := range e.info.Regions {
		home := -1
		for j, p := range t.PoPs {
			if r.PoP != "" && p.Name == r.PoP {
				home = j
			}
			for _, name := range p.Regions {
				if r.PoP == "" && name == r.Name && home < 0 {
					home = j
				}
			}
		}
		if home < 0 {
			home = i % len(t.PoPs)
		}
		e.regionEdge = append(e.regionEdge, e.homeEdge[home])
		e.regionExtra = append(e.regionExtra, e.homeExtra[home])
	}
}

// nearestRunning returns the running edge serving the clients of PoP
// position i, and the extra round trip they have to it.
func (e *engine) nearestRunning(i int) (int, int64) {
	if i < len(e.edges) {
		return i, 0
	}
	pops := e.sc.Topology.PoPs
	best, bestRTT := 0, time.Duration(-1)
	for j := range e.edges {
		d := rtt(pops[i].Location, pops[j].Location)
		if bestRTT < 0 || d < bestRTT {
			best, bestRTT = j, d
		}
	}
	return best, int64(bestRTT)
}

func (e *engine) close() {
	for _, n := range e.nodes() {
		if c, ok := n.store.(interface{ Close() error }); ok {
			_ = c.Close()
		}
	}
}

func (e *engine) nodes() []*node {
	if e.shield == nil {
		return e.edges
	}
	return append(append([]*node(nil), e.edges...), e.shield)
}

// time converts a virtual time to the time.Time the localedge functions
// take.
func (e *engine) time(ns int64) time.Time { return time.Unix(0, ns) }

// event handles one workload event, after every queued event that
// happens before it.
func (e *engine) event(ev *workload.Event, res *resolved) {
	t := ev.Time
	if !e.started {
		e.started = true
		e.now = t
		e.col.begin(t)
	}
	if t < e.now {
		t = e.now // a log line slightly out of order
		e.col.reordered++
	}
	e.advance(t)
	e.now = t
	switch ev.Kind {
	case workload.Change:
		e.change(ev, t)
	case workload.Request:
		e.request(ev, res, t)
	}
}

// advance runs the queued events up to t.
func (e *engine) advance(t int64) {
	for {
		at, ok := e.q.peek()
		if !ok || at > t {
			return
		}
		ev := e.q.pop()
		e.now = ev.at
		e.run(&ev)
	}
}

// drain runs every queued event: the fills still under way at the end.
func (e *engine) drain() {
	for e.q.len() > 0 {
		ev := e.q.pop()
		e.now = ev.at
		e.run(&ev)
	}
	e.col.finish(e.now)
}

func (e *engine) run(ev *event) {
	switch ev.kind {
	case evArrive:
		ev.n.serve(ev.obj, ev.w, ev.at)
	case evOrigin:
		r := e.originAnswer(ev.f, ev.at)
		e.q.push(event{at: ev.at + ev.n.rtt/2, kind: evReply, n: ev.n, f: ev.f, r: r})
	case evReply:
		ev.n.complete(ev.f, ev.r, ev.at)
	case evPurge:
		ev.n.purge(ev.m, ev.soft, ev.at)
	}
}

// template returns the template of a request's response.
func (e *engine) template(pi *pathInfo, ev *workload.Event) *template {
	status := ev.Status
	if status == 0 {
		status = 200
	}
	cc := pi.cc
	if !pi.ruled {
		cc = ev.CacheControl
		if cc == "" {
			cc = e.sc.DefaultCacheControl
		}
	}
	if pi.tmpl != nil && pi.tStatus == status && pi.tCC == cc && pi.tVary == ev.Vary && pi.tTyp == ev.Type {
		return pi.tmpl
	}
	tag := ""
	if ev.Type >= 0 && ev.Type < len(e.info.Types) {
		tag = e.info.Types[ev.Type]
	}
	pi.tmpl = e.tmpls.get(status, cc, ev.Vary, tag)
	pi.tStatus, pi.tCC, pi.tVary, pi.tTyp = status, cc, ev.Vary, ev.Type
	return pi.tmpl
}

// key returns the cache key a request uses: its URL's, or for versioned
// content the URL of its current version.
func (e *engine) key(pi *pathInfo, typ int) (localedge.CacheKey, int32) {
	if !pi.versioned {
		return pi.k, -1
	}
	v, _ := e.current(pi.logical, typ)
	if pi.vVersion != v {
		path, query, _ := strings.Cut(pi.path, "?")
		pi.vk, _ = e.keyOpts.Build("https", pi.host, versionedPath(path, v), query, nil)
		pi.vVersion = v
	}
	return pi.vk, v
}

// versionedPath names a version the way fingerprinting does:
// "/img/banner.jpg" version 3 is "/img/banner.v3.jpg".
func versionedPath(path string, v int32) string {
	slash := strings.LastIndexByte(path, '/')
	dot := strings.LastIndexByte(path, '.')
	tag := fmt.Sprintf(".v%d", v)
	if dot <= slash {
		return path + tag
	}
	return path[:dot] + tag + path[dot:]
}

// current is the origin's version of an object now, and since when.
func (e *engine) current(logical string, typ int) (int32, int64) {
	if !e.changed {
		return 0, 0
	}
	var v int32
	var since int64
	if typ >= 0 && typ < len(e.typeGen) {
		v, since = e.typeGen[typ], e.typeSince[typ]
	}
	if b := e.bumps[logical]; b != nil {
		v += b.gen
		since = max(since, b.since)
	}
	return v, since
}

// changedAt is when an object got version v (v ≥ 1).
func (e *engine) changedAt(logical string, typ int, v int32) int64 {
	var times []int64
	if typ >= 0 && typ < len(e.typeChanges) {
		times = e.typeChanges[typ]
	}
	if b := e.bumps[logical]; b != nil {
		if len(times) == 0 {
			times = b.times
		} else {
			times = append(append([]int64(nil), times...), b.times...)
			slices.Sort(times)
		}
	}
	if v < 1 || int(v) > len(times) {
		return 0
	}
	return times[v-1]
}

// route picks the edge of a request and the client's extra round trip;
// home is the PoP whose client networks hold the client (resolver.home).
func (e *engine) route(ev *workload.Event, home int) (*node, int64) {
	switch {
	case ev.Region >= 0 && ev.Region < len(e.regionEdge):
		return e.edges[e.regionEdge[ev.Region]], e.regionExtra[ev.Region]
	case ev.Client.IsValid():
		if home < 0 {
			home = int(addrHash(ev.Client) % uint64(len(e.sc.Topology.PoPs)))
		}
		return e.edges[e.homeEdge[home]], e.homeExtra[home]
	}
	home = int(mix(e.seq) % uint64(len(e.sc.Topology.PoPs)))
	return e.edges[e.homeEdge[home]], e.homeExtra[home]
}

// addrHash spreads client addresses over PoPs: the same for every run, so
// that a replay gives the same results each time.
func addrHash(a netip.Addr) uint64 {
	b := a.As16()
	return mix(binary.BigEndian.Uint64(b[:8]) ^ mix(binary.BigEndian.Uint64(b[8:])))
}

// mix is SplitMix64's finaliser.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// clientRTT draws a client's round trip to a PoP near it.
func (e *engine) clientRTT() int64 {
	r := e.sc.Topology.ClientRTT
	span := int64(r.Max - r.Min)
	if span <= 0 {
		return int64(r.Min)
	}
	return int64(r.Min) + int64(mix(e.seq^0xc1e27)%uint64(span+1))
}

// request handles a client request arriving at its edge at t.
func (e *engine) request(ev *workload.Event, res *resolved, t int64) {
	e.seq++
	edge, extra := e.route(ev, res.home)
	rtt := e.clientRTT() + extra
	pi := res.pi
	if ev.Observed != "" {
		e.col.observe(ev.Observed)
	}
	if res.bad {
		e.col.invalid++
		return
	}
	cls := e.classes[0]
	if ev.Encoding > 0 && ev.Encoding < len(e.classes) {
		cls = e.classes[ev.Encoding]
	}
	head := ev.Method == "HEAD"
	if ev.Method != "GET" && !head {
		e.pass(ev, pi, edge, rtt, t)
		return
	}
	// The key from the feed, so that a hit on an unversioned URL reads
	// nothing of its pathInfo.
	key, version := res.key, int32(-1)
	var k localedge.CacheKey
	if res.versioned {
		k, version = e.key(pi, ev.Type)
		key = k.Key
	}
	edge.st.requests++
	variants, _ := edge.store.Get(bg, key)
	ent, _ := localedge.SelectVariant(variants, cls.matches)
	if ent != nil {
		u, _, _ := localedge.Decide(ent, e.reqd, e.time(t), edge.grace)
		if u != localedge.UseValidate {
			// What a client needs of a hit: the version only when content
			// changed (to tell outdated responses).
			r := response{status: ent.Status, size: ent.BodyLen(), hit: true, stale: u != localedge.UseFresh}
			if e.changed {
				r.tmpl, r.version = e.tmpls.entryTemplate(ent)
			}
			edge.st.hit(r.stale)
			e.col.client(edge, t, rtt, r, head, res.logical, ev.Type, true)
			if u == localedge.UseStaleRefresh {
				if !res.versioned {
					k = pi.k
				}
				edge.refresh(e.object(pi, ev, k, version), cls, ent, t)
			}
			return
		}
	}
	if !res.versioned {
		k = pi.k
	}
	cw := &clientWait{edge: edge, at: t, rtt: rtt, logical: res.logical, typ: ev.Type, head: head}
	edge.fetch(e.object(pi, ev, k, version), waiter{client: cw, cls: cls}, ent, t)
}

func (e *engine) object(pi *pathInfo, ev *workload.Event, k localedge.CacheKey, version int32) *object {
	return &object{k: k, logical: pi.logical, typ: ev.Type, size: ev.Size, status: ev.Status, tmpl: e.template(pi, ev), version: version}
}

// deliver is the answer reaching a waiting client.
func (e *engine) deliver(cw *clientWait, r response, t int64) {
	e.col.client(cw.edge, t, cw.rtt+(t-cw.at), r, cw.head, cw.logical, cw.typ, false)
}

// pass forwards a request the caches do not store (POST, PUT, …) through
// every tier to the origin; after a non-error answer to an unsafe method
// each tier invalidates the URL as the answer passes (RFC 9111 §4.4).
func (e *engine) pass(ev *workload.Event, pi *pathInfo, edge *node, clientRTT, t int64) {
	edge.st.requests++
	edge.st.passed++
	up := edge.rtt
	if e.shield != nil {
		e.shield.st.requests++
		e.shield.st.passed++
		up += e.shield.rtt
	}
	atOrigin := t + up/2 + int64(e.originTime)
	status := ev.Status
	if status == 0 {
		status = 200
	}
	if s, down := e.outage(atOrigin); down {
		status = s
		if s == 0 {
			status = 502
		}
	}
	e.col.originRequest(atOrigin, ev.Size, false)
	back := atOrigin + up/2
	r := response{status: status, size: ev.Size}
	if status >= 500 {
		r.failed = true
	}
	e.col.client(edge, back, clientRTT+(back-t), r, false, pi.logical, ev.Type, false)
	if ev.Method == "OPTIONS" || ev.Method == "TRACE" || status >= 400 {
		return
	}
	m, err := e.keyOpts.CompilePurge(localedge.PurgeRequest{URLs: []string{pi.k.URL}})
	if err != nil {
		return
	}
	if e.shield != nil {
		e.q.push(event{at: atOrigin + e.shield.rtt/2, kind: evPurge, n: e.shield, m: m})
	}
	e.q.push(event{at: back, kind: evPurge, n: edge, m: m})
}

// outage reports whether the origin is down at t, and the status it
// answers then (0: none).
func (e *engine) outage(t int64) (int, bool) {
	for _, o := range e.sc.Topology.Origin.Outages {
		from := e.col.start + int64(o.At)
		if t >= from && t < from+int64(o.For) {
			return o.Status, true
		}
	}
	return 0, false
}

// originAnswer is the origin's answer to a fill reaching it at t: the
// current version of the object (or the version its URL names), 304 when
// the fill's validator matches it.
func (e *engine) originAnswer(f *flight, t int64) response {
	if status, down := e.outage(t); down {
		e.col.originRequest(t, 0, false)
		e.col.originErrors++
		if status == 0 {
			return response{failed: true}
		}
		return response{status: status, tmpl: e.tmpls.get(status, "", "", ""), date: truncSecond(t)}
	}
	o := f.obj
	v := o.version
	if v < 0 {
		v, _ = e.current(o.logical, o.typ)
	}
	status := o.status
	if status == 0 {
		status = 200
	}
	r := response{status: status, tmpl: o.tmpl, version: v, size: o.size, date: truncSecond(t)}
	if f.cond != nil && localedge.EvaluatePreconditions(f.cond, status, o.tmpl.header(v), e.time(t)) == 304 {
		r.notMod = true
	}
	bytes := r.size
	if r.notMod {
		bytes = 0
	}
	e.col.originRequest(t, bytes, r.notMod)
	return r
}

// change applies a content change at t: the origin's new versions, and the
// purges the scenario sends for it.
func (e *engine) change(ev *workload.Event, t int64) {
	e.changed = true
	var urls []string
	var tags []string
	if ev.ChangedType >= 0 && ev.ChangedType < len(e.typeGen) {
		e.typeGen[ev.ChangedType]++
		e.typeSince[ev.ChangedType] = t
		e.typeChanges[ev.ChangedType] = append(e.typeChanges[ev.ChangedType], t)
		tags = append(tags, e.info.Types[ev.ChangedType])
		e.col.changes++
	}
	for _, p := range ev.Changed {
		logical := ev.Host + p
		b := e.bumps[logical]
		if b == nil {
			b = &bump{}
			e.bumps[logical] = b
		}
		b.gen++
		b.since = t
		b.times = append(b.times, t)
		e.col.changes++
		urls = append(urls, "https://"+ev.Host+p)
	}
	if e.sc.Purge == PurgeNone || (len(urls) == 0 && len(tags) == 0) {
		return
	}
	m, err := e.keyOpts.CompilePurge(localedge.PurgeRequest{URLs: urls, Tags: tags, Soft: e.sc.Purge == PurgeSoft})
	if err != nil {
		e.col.invalid++
		return
	}
	e.col.purges++
	at := t + int64(e.sc.PurgeDelay)
	for _, n := range e.nodes() {
		e.q.push(event{at: at, kind: evPurge, n: n, m: m, soft: e.sc.Purge == PurgeSoft})
	}
}
