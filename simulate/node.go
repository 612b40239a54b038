package simulate

import (
	"context"
	"net/http"
	"time"

	"github.com/cdnctl/cdnctl/localedge"
)

// node is one cache of the topology (an edge PoP or the shield): a
// localedge Store and the same decisions a localedge.Proxy makes, driven
// by the engine's virtual clock instead of HTTP.
type node struct {
	e       *engine
	idx     int // edge index (-1: the shield)
	name    string
	store   localedge.Store
	up      *node // nil: the origin
	rtt     int64 // round trip to up (or the origin), ns
	maxObj  int64
	grace   time.Duration // SoftPurgeGrace
	sie     time.Duration // StaleIfError
	flights map[string]*flight
	// fills are the fills under way, registered or not: purges are
	// recorded on them (as on the Proxy's).
	fills map[*flight]struct{}
	// hfm is the hit-for-miss table: keys whose last response could not
	// be stored, until when requests for them do not collapse.
	hfm map[string]int64
	st  tierStats
}

var bg = context.Background()

// serve answers an ask arriving from a cache below: from the store when a
// stored response may be used (RFC 9111 §4), else through a fill.
func (n *node) serve(obj *object, w waiter, t int64) {
	n.st.requests++
	variants, _ := n.store.Get(bg, obj.k.Key)
	ent, _ := localedge.SelectVariant(variants, w.cls.matches)
	if ent != nil {
		u, _, _ := localedge.Decide(ent, n.e.reqd, n.e.time(t), n.grace)
		if u != localedge.UseValidate {
			r := n.fromEntry(ent, t)
			r.hit, r.stale = true, u != localedge.UseFresh
			n.st.hit(r.stale)
			n.reply(w, r, t)
			if u == localedge.UseStaleRefresh {
				n.refresh(obj, w.cls, ent, t)
			}
			return
		}
	}
	n.fetch(obj, w, ent, t)
}

// fetch starts a fill for w or joins the one under way (request
// collapsing), as Proxy.fetch does.
func (n *node) fetch(obj *object, w waiter, stale *localedge.Entry, t int64) {
	key := obj.k.Key
	if until, ok := n.hfm[key]; ok {
		if t < until {
			// Hit-for-miss: the last response could not be shared, so
			// requests do not wait for each other.
			n.launch(n.newFlight(obj, w.cls, stale, t, false, &w), t)
			return
		}
		delete(n.hfm, key)
	}
	if f := n.flights[key]; f != nil {
		w.stale = stale
		f.waiters = append(f.waiters, w)
		n.st.collapsed++
		return
	}
	f := n.newFlight(obj, w.cls, stale, t, true, &w)
	n.flights[key] = f
	n.launch(f, t)
}

// refresh starts a background revalidation of a stale entry unless a fill
// for its key is under way (RFC 5861 §3: "refresh it once").
func (n *node) refresh(obj *object, cls *class, stale *localedge.Entry, t int64) {
	if n.flights[obj.k.Key] != nil {
		return
	}
	f := n.newFlight(obj, cls, stale, t, true, nil)
	n.flights[obj.k.Key] = f
	n.launch(f, t)
}

func (n *node) newFlight(obj *object, cls *class, stale *localedge.Entry, t int64, registered bool, leader *waiter) *flight {
	f := &flight{n: n, obj: obj, cls: cls, stale: stale, start: t, registered: registered}
	if leader != nil {
		f.leader, f.hasLeader = *leader, true
	}
	if stale != nil {
		// A fill for a stored response is conditional (RFC 9111 §4.3.1).
		if etag := stale.Header["Etag"]; len(etag) > 0 {
			f.cond = http.Header{"If-None-Match": etag}
		}
	}
	return f
}

// launch sends a fill's request upstream.
func (n *node) launch(f *flight, t int64) {
	n.st.fills++
	n.fills[f] = struct{}{}
	if n.up == nil {
		n.e.q.push(event{at: t + n.rtt/2 + int64(n.e.originTime), kind: evOrigin, n: n, f: f})
		return
	}
	n.e.q.push(event{at: t + n.rtt/2, kind: evArrive, n: n.up, obj: f.obj, w: waiter{down: f, cls: f.cls, cond: f.cond}})
}

// reply sends an answer to a waiter: to the client, or back down to the
// cache whose fill asked (arriving half a round trip later).
func (n *node) reply(w waiter, r response, t int64) {
	if w.client != nil {
		n.e.deliver(w.client, r, t)
		return
	}
	if w.down == nil {
		return // a background refresh
	}
	if w.cond != nil && !r.failed && r.tmpl != nil {
		if localedge.EvaluatePreconditions(w.cond, r.status, r.tmpl.header(r.version), n.e.time(t)) == http.StatusNotModified {
			r.notMod = true
		}
	}
	if !r.failed && !r.notMod {
		n.st.bytes += r.size
		if r.hit {
			n.st.hitBytes += r.size
		}
	}
	d := w.down.n
	n.e.q.push(event{at: t + d.rtt/2, kind: evReply, n: d, f: w.down, r: r})
}

// complete handles the answer to a fill, as Proxy.runFlight does: stale
// if error, 304 revalidation, storing (or hit-for-miss), and every reader
// served — collapsed requests that cannot share the response fetch on
// their own.
func (n *node) complete(f *flight, r response, t int64) {
	e := n.e
	key := f.obj.k.Key
	if f.registered && n.flights[key] == f {
		delete(n.flights, key)
	}
	delete(n.fills, f)
	now := e.time(t)
	if r.failed || (f.stale != nil && isServerError(r.status)) {
		if localedge.StaleIfError(f.stale, e.reqd, now, n.sie) {
			sr := n.fromEntry(f.stale, t)
			sr.hit, sr.stale = true, true
			n.st.staleIfError++
			n.answerAll(f, sr, t, true)
			return
		}
		if r.failed {
			n.st.errors++
			n.answerAll(f, r, t, true)
			return
		}
	}
	if f.stale != nil && r.notMod {
		fresh := n.freshen(f.stale, r, f.start, t)
		n.put(fresh, f)
		fr := n.fromEntry(&fresh.ent, t)
		n.answerAll(f, fr, t, true)
		return
	}
	r.notMod = false
	c := n.newEntry(f, r, t)
	ent := &c.ent
	storing, reason := localedge.Storable(f.cls.h, e.reqd, r.status, ent.Header, r.tmpl.d)
	if storing && r.size > n.maxObj {
		storing, reason = false, "too-large"
	}
	if storing && n.purgedSince(f, ent) {
		storing, reason = false, "purged-during-fetch"
	}
	if !storing {
		if reason != "too-large" && reason != "purged-during-fetch" {
			n.hfm[key] = t + int64(localedge.HitForMissTTL)
		}
	} else {
		delete(n.hfm, key)
		n.put(c, f)
	}
	r.hit, r.stale = false, false
	n.answerAll(f, r, t, storing)
}

// answerAll answers a fill's leader and collapsed waiters. A collapsed
// waiter the response cannot serve (not shared, or another Vary variant)
// fetches on its own, as in Proxy.fetch.
func (n *node) answerAll(f *flight, r response, t int64, shared bool) {
	if f.hasLeader {
		n.reply(f.leader, r, t)
	}
	var vary []localedge.VaryValue
	if r.tmpl != nil {
		vary = r.tmpl.selectingFor(f.cls)
	}
	for _, w := range f.waiters {
		if !r.failed && (!shared || (len(vary) > 0 && !localedge.VaryMatches(vary, w.cls.h))) {
			n.launch(n.newFlight(f.obj, w.cls, w.stale, t, false, &w), t)
			continue
		}
		if w.client != nil {
			n.e.col.collapsed++
		}
		n.reply(w, r, t)
	}
}

func isServerError(status int) bool {
	switch status {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// newEntry builds the stored entry for a fill's answer: the template's
// shared header of that version, the leader's Vary values, and the age
// computed from the answer's Date and Age as Proxy.newEntry does.
func (n *node) newEntry(f *flight, r response, t int64) *entryCell {
	e := n.e
	k := f.obj.k
	c := &entryCell{ent: localedge.Entry{
		Key: k.Key, URL: k.URL, Host: k.Host, Path: k.Path, Status: r.status,
		Header: r.tmpl.header(r.version), Vary: r.tmpl.selectingFor(f.cls),
		RequestTime: e.time(f.start), ResponseTime: e.time(t), StoredAt: e.time(t), Tags: r.tmpl.tags,
	}}
	c.alone[0] = &c.ent
	c.ent.SetDerived(localedge.Derived{
		Directives: r.tmpl.d, Lifetime: r.tmpl.lifetime, Heuristic: r.tmpl.heuristic,
		InitialAge: localedge.InitialAge(e.time(r.date), r.age, e.time(f.start), e.time(t)),
	}, r.size)
	return c
}

// freshen applies a 304 to a stored entry (RFC 9111 §4.3.4): same
// representation, new times.
func (n *node) freshen(stale *localedge.Entry, r response, start, t int64) *entryCell {
	e := n.e
	tmpl, _ := e.tmpls.entryTemplate(stale)
	c := &entryCell{ent: localedge.Entry{
		Key: stale.Key, URL: stale.URL, Host: stale.Host, Path: stale.Path, Status: stale.Status,
		Header: stale.Header, Vary: stale.Vary,
		RequestTime: e.time(start), ResponseTime: e.time(t), StoredAt: stale.StoredAt, Tags: stale.Tags,
	}}
	c.alone[0] = &c.ent
	c.ent.SetDerived(localedge.Derived{
		Directives: tmpl.d, Lifetime: tmpl.lifetime, Heuristic: tmpl.heuristic,
		InitialAge: localedge.InitialAge(e.time(r.date), r.age, e.time(start), e.time(t)),
	}, stale.BodyLen())
	return c
}

// entryCell is an entry of newEntry or freshen with the list of variants
// holding it alone, allocated together: a key's only variant is stored as
// that list, so a hit finds the list and the entry side by side in memory
// (a list of its own is one more cache miss per hit on a large catalogue).
type entryCell struct {
	alone [1]*localedge.Entry // {&ent}
	ent   localedge.Entry
}

// put stores an entry among its key's variants unless a purge since its
// fill asked selects it (Proxy.put).
func (n *node) put(c *entryCell, f *flight) bool {
	ent := &c.ent
	if n.purgedSince(f, ent) {
		return false
	}
	old, _ := n.store.Get(bg, ent.Key)
	var variants []*localedge.Entry
	if len(old) > 0 {
		variants = localedge.AddVariant(old, ent)
	}
	if len(variants) <= 1 {
		variants = c.alone[:] // what AddVariant gives: ent alone
	}
	_ = n.store.Set(bg, ent.Key, variants)
	n.st.stored++
	return true
}

// purgedSince reports whether a purge since fill f asked selects ent, f's
// response (Proxy.purgedSince).
func (n *node) purgedSince(f *flight, ent *localedge.Entry) bool {
	if f.purged {
		return true
	}
	for _, m := range f.tagPurges {
		if m.Matches(ent) {
			return true
		}
	}
	return false
}

// purge applies a purge to the cache, as Proxy.Purge: it is recorded on
// the fills under way, new requests stop joining fills it may select, and
// stored variants it selects are deleted (or marked stale).
func (n *node) purge(m *localedge.PurgeMatcher, soft bool, t int64) {
	for f := range n.fills {
		f.purged, f.tagPurges = m.OnFill(f.obj.k, f.purged, f.tagPurges)
	}
	for key, f := range n.flights {
		if m.MatchesFetch(f.obj.k) {
			delete(n.flights, key)
		}
	}
	keys, ok := m.URLKeys()
	if !ok || len(n.e.sc.Topology.Cache.Key.Headers) > 0 {
		keys = keys[:0]
		_ = n.store.Range(bg, func(key string, variants []*localedge.Entry) bool {
			for _, v := range variants {
				if m.Matches(v) {
					keys = append(keys, key)
					break
				}
			}
			return true
		})
	}
	now := n.e.time(t)
	for _, key := range keys {
		variants, _ := n.store.Get(bg, key)
		if len(variants) == 0 {
			continue
		}
		keep, count := m.Apply(variants, soft, now)
		if count == 0 {
			continue
		}
		n.st.purged += int64(count)
		if len(keep) == 0 {
			_ = n.store.Delete(bg, key)
		} else {
			_ = n.store.Set(bg, key, keep)
		}
	}
}

// fromEntry describes a stored entry served at t: what the Proxy's
// writeEntry sends (its status, header version, body size, Date and Age).
func (n *node) fromEntry(ent *localedge.Entry, t int64) response {
	tmpl, version := n.e.tmpls.entryTemplate(ent)
	r := response{status: ent.Status, tmpl: tmpl, version: version, size: ent.BodyLen(), age: int64(ent.Age(n.e.time(t)) / time.Second)}
	if n.up == nil {
		// Filled from the origin, which dated its answer when it sent it,
		// half a round trip before it arrived.
		r.date = truncSecond(ent.ResponseTime.UnixNano() - n.rtt/2)
	}
	return r
}

func truncSecond(ns int64) int64 { return ns - ns%int64(time.Second) }
