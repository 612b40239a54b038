package localedge

import (
	"context"
	"errors"
	"hash/maphash"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Use is the decision for a selected stored response (RFC 9111 §4).
type Use int

// The decisions of Decide.
const (
	UseFresh        Use = iota // fresh enough: serve it
	UseStale                   // stale but the request accepts it (max-stale)
	UseStaleRefresh            // stale-while-revalidate or soft-purge grace: serve, refresh in the background
	UseValidate                // must be validated (or replaced) by the upstream first
)

var noRequestDirectives = RequestDirectives{MaxAge: absent, MaxStale: absent, MinFresh: absent, StaleIfError: absent}

func (p *Proxy) decide(e *Entry, reqd RequestDirectives, now time.Time) (Use, string, string) {
	return Decide(e, reqd, now, p.SoftPurgeGrace)
}

// Decide applies RFC 9111 §4.2 and §5.2.1 (and RFC 5861) to a stored
// response for a request at now; fwd is the Cache-Status reason when it
// must be validated. softPurgeGrace is how long a soft-purged response may
// still be served while it is revalidated (Proxy.SoftPurgeGrace).
func Decide(e *Entry, reqd RequestDirectives, now time.Time, softPurgeGrace time.Duration) (u Use, fwd, detail string) {
	if reqd.NoCache {
		return UseValidate, FwdRequest, "request-no-cache"
	}
	if e.directives.NoCache {
		return UseValidate, FwdStale, "no-cache"
	}
	age := e.Age(now)
	ttl := e.TTL(now)
	if ttl > 0 {
		if reqd.MaxAge >= 0 && age > time.Duration(reqd.MaxAge)*time.Second {
			return UseValidate, FwdRequest, "request-max-age"
		}
		if reqd.MinFresh >= 0 && ttl < time.Duration(reqd.MinFresh)*time.Second {
			return UseValidate, FwdRequest, "request-min-fresh"
		}
		return UseFresh, "", ""
	}
	staleness := -ttl
	if reqd.MaxStale >= 0 && e.directives.allowsStale(false) &&
		staleness <= time.Duration(reqd.MaxStale)*time.Second &&
		(reqd.MaxAge < 0 || age <= time.Duration(reqd.MaxAge)*time.Second) {
		return UseStale, "", "max-stale"
	}
	if reqd.MaxAge >= 0 || reqd.MinFresh >= 0 {
		// The client asked for something fresher than what is stored.
		return UseValidate, FwdStale, ""
	}
	if !e.InvalidatedAt.IsZero() && softPurgeGrace > 0 && e.directives.allowsStale(true) &&
		now.Sub(e.InvalidatedAt) <= softPurgeGrace {
		return UseStaleRefresh, "", "soft-purge-grace"
	}
	if swr := e.directives.StaleWhileRevalidate; swr >= 0 && e.directives.allowsStale(true) &&
		staleness <= time.Duration(swr)*time.Second {
		return UseStaleRefresh, "", "stale-while-revalidate"
	}
	return UseValidate, FwdStale, ""
}

func (p *Proxy) staleIfError(e *Entry, reqd RequestDirectives, now time.Time) bool {
	return StaleIfError(e, reqd, now, p.StaleIfError)
}

// StaleIfError reports whether a stale stored response may be served at
// now because the upstream failed (RFC 5861 §4, RFC 9111 §4.2.4). grace is
// how long a response without a stale-if-error directive may be
// (Proxy.StaleIfError).
func StaleIfError(e *Entry, reqd RequestDirectives, now time.Time, grace time.Duration) bool {
	if e == nil {
		return false
	}
	sie := time.Duration(-1)
	if e.directives.StaleIfError >= 0 {
		sie = time.Duration(e.directives.StaleIfError) * time.Second
	}
	if reqd.StaleIfError >= 0 {
		if r := time.Duration(reqd.StaleIfError) * time.Second; r > sie {
			sie = r
		}
	}
	explicit := sie >= 0
	if grace > sie && e.lifetime > 0 {
		// The configured grace only for a response that had a freshness
		// lifetime: one stored only for validation (max-age=0, no freshness
		// information) was never meant to be served without asking the
		// origin.
		sie = grace
	}
	if sie < 0 || !e.directives.allowsStale(explicit) {
		return false
	}
	ttl := e.TTL(now)
	return ttl > 0 || -ttl <= sie
}

// selectVariant picks the stored response matching the request's Vary
// fields as forwarded (see forwardedField).
func (p *Proxy) selectVariant(variants []*Entry, r *http.Request, k CacheKey) (*Entry, string) {
	return SelectVariant(variants, func(v []VaryValue) bool { return p.varyMatches(v, r, k) })
}

// SelectVariant picks the stored response whose Vary selecting values the
// request matches (matches, given them), the most recent when several do
// (RFC 9111 §4.1). fwd says why none was found.
func SelectVariant(variants []*Entry, matches func([]VaryValue) bool) (*Entry, string) {
	if len(variants) == 0 {
		return nil, FwdURIMiss
	}
	var best *Entry
	for _, e := range variants {
		if len(e.Vary) > 0 && !matches(e.Vary) {
			continue
		}
		if best == nil || e.ResponseTime.After(best.ResponseTime) {
			best = e
		}
	}
	if best == nil {
		return nil, FwdVaryMiss
	}
	return best, ""
}

// serveCacheable answers a GET or HEAD.
func (p *Proxy) serveCacheable(w http.ResponseWriter, r *http.Request, k CacheKey) outcome {
	if !p.KeepAcceptEncoding {
		// Normalised in place: this request is answered here, and the
		// upstream gets exactly what selects the stored variant. A
		// request without Accept-Encoding (curl, scripts) shares the
		// identity variant: identity is always acceptable to it (RFC 9110
		// §12.5.3), and the upstream is asked for exactly that.
		if ae, ok := r.Header["Accept-Encoding"]; ok {
			r.Header["Accept-Encoding"] = NormalizeAcceptEncoding(ae)
		} else {
			r.Header["Accept-Encoding"] = aeForms[0]
		}
	}
	reqd := noRequestDirectives
	if cc := r.Header["Cache-Control"]; len(cc) > 0 && (!p.IgnoreRequestCacheControl || p.fromOwnEdge(r.Header)) {
		reqd = ParseRequestCacheControl(cc)
	}
	variants, err := p.store.Get(r.Context(), k.Key)
	if err != nil {
		p.log.Warn("cache read failed", "pop", p.Name, "key", k.Key, "err", err)
	}
	e, fwd := p.selectVariant(variants, r, k)
	now := p.now()
	detail := ""
	if e != nil {
		var u Use
		u, fwd, detail = p.decide(e, reqd, now)
		if u != UseValidate {
			out, ok := p.serveEntry(w, r, e, CacheStatus{Cache: p.Name, Hit: true, Detail: detail}, now, false)
			if ok {
				p.stats.hits.Add(1)
				if u != UseFresh {
					p.stats.stale.Add(1)
				}
				if u == UseStaleRefresh {
					p.refresh(r, k, e, reqd)
				}
				return out
			}
			e, fwd, detail = nil, FwdMiss, "store-error"
		}
	}
	if reqd.OnlyIfCached {
		p.stats.misses.Add(1)
		return p.errorResponse(w, http.StatusGatewayTimeout, "only-if-cached and no usable stored response", fwd, "only-if-cached")
	}
	if e == nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) && p.sliceSize > 0 {
		if size, large := p.large.get(k.Key); large {
			if size == notSliceable {
				if len(r.Header["Range"]) > 0 {
					p.stats.misses.Add(1)
					return p.forward(w, r, k, CacheStatus{Cache: p.Name, Fwd: fwd, Detail: "not-sliceable"})
				}
			} else {
				out := p.serveSlices(w, r, k, reqd)
				if out.cs.Hit {
					p.stats.hits.Add(1)
				} else {
					p.stats.misses.Add(1)
				}
				return out
			}
		}
	}
	p.stats.misses.Add(1)
	return p.fetch(w, r, k, e, reqd, fwd, detail)
}

// refresh starts a background revalidation of e unless one is already
// under way for its key (RFC 5861 §3: "refresh it once").
func (p *Proxy) refresh(r *http.Request, k CacheKey, stale *Entry, reqd RequestDirectives) {
	p.flightsMu.Lock()
	if _, busy := p.flights[k.Key]; busy {
		p.flightsMu.Unlock()
		return
	}
	f := newFlight(k, stale, reqd, p.budget)
	p.flights[k.Key] = f
	p.flightsMu.Unlock()
	p.launch(f, r)
}

// fetch answers a request the store could not: it joins the flight under
// way for the key, or starts one, and serves its response.
func (p *Proxy) fetch(w http.ResponseWriter, r *http.Request, k CacheKey, stale *Entry, reqd RequestDirectives, fwd, detail string) outcome {
	// solo fetches without letting other requests wait for this one.
	solo := func() outcome {
		f := newFlight(k, stale, reqd, p.budget)
		rd := f.join()
		p.launch(f, r)
		if out, ok := p.serveStaleOnTimeout(w, r, f, rd, stale, reqd); ok {
			return out
		}
		out, _ := p.serveFlight(w, r, f, rd, true, fwd, detail)
		out.cs.Collapsed = false
		return out
	}
	if p.recentlyUncacheable(k.Key) {
		// Hit-for-miss: the last response could not be shared, so
		// requests do not wait for each other; a storable response is
		// still stored.
		return solo()
	}
	p.flightsMu.Lock()
	f, ok := p.flights[k.Key]
	var rd *reader
	if ok {
		rd = f.join()
	}
	leader := rd == nil
	if leader && !p.mayLead(r, k, reqd) {
		// Its own fields may keep the response from being shared: others
		// must not wait for it (it may still join a flight, whose
		// response is shared only when storable).
		p.flightsMu.Unlock()
		return solo()
	}
	if leader {
		f = newFlight(k, stale, reqd, p.budget)
		rd = f.join()
		p.flights[k.Key] = f
	}
	p.flightsMu.Unlock()
	if leader {
		p.launch(f, r)
	} else {
		p.stats.collapsed.Add(1)
	}
	if out, ok := p.serveStaleOnTimeout(w, r, f, rd, stale, reqd); ok {
		return out
	}
	out, released := p.serveFlight(w, r, f, rd, leader, fwd, detail)
	if !released {
		return out
	}
	// The response cannot be shared with this request: fetch on our own,
	// without collapsing.
	return solo()
}

// mayLead reports whether a request may start a flight other requests wait
// for: not when its own fields can keep the response from being shared
// (no-store, Authorization, a Cookie outside CookiePaths, or, at an edge,
// a Via naming caches a loop check upstream may refuse), or a client could
// make every request collapsed onto it fetch again on its own.
func (p *Proxy) mayLead(r *http.Request, k CacheKey, reqd RequestDirectives) bool {
	switch {
	case reqd.NoStore, p.ownFieldsMatter(r, k):
		return false
	case p.Role == RoleEdge && len(r.Header["Via"]) > 0:
		return false
	}
	return true
}

// ownFieldsMatter reports whether a request carries credentials the
// origin may answer by (Authorization, or a Cookie outside CookiePaths):
// collapsed onto another client's fetch, it gets that response only when it
// would have got it on its own from the cache (reusableFresh); otherwise it
// asks the origin itself, with its credentials.
func (p *Proxy) ownFieldsMatter(r *http.Request, k CacheKey) bool {
	return len(r.Header["Authorization"]) > 0 || hasCookie(r.Header) && !pathListed(k.Path, p.CookiePaths)
}

// reusableFresh reports whether a response a flight got could be served
// from the cache without validation at now: fresh, and neither no-cache
// nor with fields withheld until revalidated. A response that must be
// validated on every use (no-cache, max-age=0, no freshness at all) would
// send a request with credentials to the origin.
func reusableFresh(e *Entry, now time.Time) bool {
	return !e.directives.NoCache && !e.hasNoCacheF && e.TTL(now) > 0
}

// launch starts the upstream exchange of f in the background. The flight
// outlives the request that started it, so its context is the proxy's.
func (p *Proxy) launch(f *flight, r *http.Request) {
	req := p.upstreamRequest(r, f.key, http.MethodGet, true)
	f.reqHdr = req.Header // stored Vary selecting values: those forwarded
	if f.stale != nil {
		if !f.stale.InvalidatedAt.IsZero() {
			// A soft-purged response is revalidated with the origin, not
			// with a copy an upstream cache may still hold (or serve from
			// its own soft-purge grace): no-cache asks every cache on the
			// way to validate (RFC 9111 §5.2.1.4).
			req.Header = req.Header.Clone()
			req.Header["Cache-Control"] = append(req.Header["Cache-Control"], "no-cache") // Clone caps each slice
		}
		addValidators(req.Header, f.stale.Header)
	}
	if f.slice != nil {
		req.Header["Range"] = []string{"bytes=" + strconv.FormatInt(f.slice.start, 10) + "-" + strconv.FormatInt(f.slice.end, 10)}
	}
	ctx, cancel := context.WithTimeout(p.baseCtx, p.FetchTimeout)
	f.cancel = cancel
	p.addFill(f)
	p.bg.Add(1)
	go func() {
		defer p.bg.Done()
		defer p.removeFill(f)
		defer cancel()
		p.runFlight(ctx, f, req.WithContext(withInterimTrace(ctx, f.addInterim)))
	}()
}

// addValidators makes a fill a conditional request for the stored response
// (RFC 9111 §4.3.1): If-None-Match with its ETag, If-Modified-Since with
// its Last-Modified.
func addValidators(h, stored http.Header) {
	if etag, ok := parseETag(stored.Get("ETag")); ok {
		h["If-None-Match"] = []string{etagString(etag)}
	}
	if lm := stored.Get("Last-Modified"); lm != "" {
		if _, ok := ParseHTTPDate(lm); ok {
			h["If-Modified-Since"] = []string{lm}
		}
	}
}

func etagString(t entityTag) string {
	if t.weak {
		return "W/" + t.opaque
	}
	return t.opaque
}

// unregister removes f from the in-flight table if it is still there.
func (p *Proxy) unregister(f *flight) {
	p.flightsMu.Lock()
	if p.flights[f.key.Key] == f {
		delete(p.flights, f.key.Key)
	}
	p.flightsMu.Unlock()
}

// runFlight performs the upstream exchange of a flight.
func (p *Proxy) runFlight(ctx context.Context, f *flight, req *http.Request) {
	// Unregister before publishing an outcome, so a request that arrives
	// after a client got its response finds the store, not this flight.
	published := false
	publish := func() {
		if !published {
			published = true
			close(f.ready)
		}
	}
	defer publish()
	defer p.unregister(f)
	defer f.fetched()
	if err := p.simulatedDelay(ctx); err != nil {
		f.err = err
		return
	}
	p.stats.originFetches.Add(1)
	reqTime := p.now()
	start := time.Now()
	resp, err := p.rt.RoundTrip(req)
	respTime := p.now()
	p.stats.observeFetch(time.Since(start))
	if err != nil {
		p.log.Warn("upstream request failed", "pop", p.Name, "upstream", p.upstreamName(), "url", f.key.URL, "err", err)
		if p.staleIfError(f.stale, f.reqd, respTime) {
			f.entry, f.complete, f.shared, f.hitStale, f.detail = f.stale, true, true, true, "stale-if-error"
			return
		}
		f.err = err
		return
	}
	defer resp.Body.Close()
	removeHopByHop(resp.Header)
	f.fwdStatus = resp.StatusCode

	if f.stale != nil && resp.StatusCode == http.StatusNotModified {
		p.drain(resp.Body)
		compressNotModified(f.stale, resp.Header)
		_, setsCookie := resp.Header["Set-Cookie"]
		updated, ok := p.freshen(f.stale, resp.Header, reqTime, respTime)
		if ok && setsCookie {
			// A 304 that sets a cookie answers the client that asked: the
			// stored response is not updated with it, nor shared.
			f.entry, f.complete, f.shared, f.detail = updated, true, false, "set-cookie"
			return
		}
		if !ok {
			// A 304 for another representation: the stored response can
			// no longer be trusted.
			p.deleteVariant(ctx, f.stale)
			f.entry, f.complete, f.shared, f.detail = f.stale, true, false, "validator-mismatch"
			return
		}
		if servedInGrace(resp.Header) {
			updated.InvalidatedAt = respTime
		}
		f.entry, f.complete, f.shared = updated, true, true
		f.stored = p.put(ctx, updated, f)
		return
	}
	if f.stale != nil && isServerError(resp.StatusCode) && p.staleIfError(f.stale, f.reqd, respTime) {
		p.drain(resp.Body)
		f.entry, f.complete, f.shared, f.hitStale, f.detail = f.stale, true, true, true, "stale-if-error"
		return
	}

	if p.Compress != nil {
		defer p.compress(f, resp)()
	}
	e, own := p.newEntry(f.key, f.reqHdr, resp, reqTime, respTime)
	f.own = own
	if servedInGrace(resp.Header) {
		// The upstream cache served a copy it holds soft-purged: stored
		// as soft-purged here too, so it is revalidated with the origin
		// rather than served as fresh for its whole lifetime.
		e.InvalidatedAt = respTime
	}
	storing, reason := Storable(f.reqHdr, f.reqd, e.Status, e.Header, e.directives)
	if f.slice != nil {
		// A slice is stored when it answers the slice fill and the whole
		// response would be storable.
		if complete, ok := sliceOf(e.Status, e.Header, *f.slice); !ok {
			storing, reason = false, "not-a-slice"
		} else {
			storing, reason = Storable(f.reqHdr, f.reqd, http.StatusOK, e.Header, e.directives)
			if complete > p.maxObj {
				object := f.key // a slice's key names its object's URL
				object.Key = f.slice.object
				p.large.set(object, complete)
			}
		}
	} else if p.sliceSize > 0 && e.Status == http.StatusOK && resp.ContentLength > p.maxObj {
		p.large.set(f.key, resp.ContentLength)
	}
	if storing {
		_, source := SelectDirectives(e.Header, p.targeted)
		storing, reason = sharedForRequest(f.reqHdr, e.Header, e.directives, source, pathListed(f.key.Path, p.CookiePaths))
	}
	if storing && resp.ContentLength > p.maxObj {
		storing, reason = false, "too-large"
	}
	if storing && p.purgedSince(f, e) {
		storing, reason = false, "purged-during-fetch"
	}
	if storing && !f.reserve(resp.ContentLength) {
		storing, reason = false, "fill-budget"
	}
	f.entry, f.shared, f.stored, f.detail = e, storing, storing, reason
	if !storing {
		// Collapsed clients must fetch on their own; new ones too.
		p.unregister(f)
		if marksHitForMiss(reason) && !generatedByCache(resp.Header) {
			p.markUncacheable(f.key.Key)
		}
	} else {
		p.uncacheable.Delete(f.key.Key)
	}
	publish()

	body, err := f.fill(ctx, resp.Body, resp.ContentLength, p.maxObj, storing, p.UpstreamTimeout)
	if err != nil {
		if !errors.Is(err, context.Canceled) && !errors.Is(err, errNoReaders) {
			p.log.Warn("upstream body failed", "pop", p.Name, "upstream", p.upstreamName(), "url", f.key.URL, "err", err)
		}
		return
	}
	if body == nil {
		return
	}
	final := e.clone()
	final.mem = body
	p.prepare(final)
	p.put(ctx, final, f)
	p.unregister(f)
	f.end()
}

func isServerError(status int) bool {
	switch status {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// drain reads a little of a body so the connection can be reused.
func (p *Proxy) drain(body io.Reader) {
	_, _ = io.CopyN(io.Discard, body, 64<<10)
}

// newEntry builds the entry for an upstream response (its Body still
// nil): the stored header without hop-by-hop fields and without the fields
// meant for the requesting client alone (see separateFields), which it
// returns, a Date when the upstream sent none (RFC 9110 §6.6.1), its tags
// and selecting request values.
func (p *Proxy) newEntry(k CacheKey, reqHdr http.Header, resp *http.Response, reqTime, respTime time.Time) (*Entry, http.Header) {
	h := resp.Header
	if resp.ContentLength >= 0 {
		h["Content-Length"] = []string{strconv.FormatInt(resp.ContentLength, 10)}
	} else {
		delete(h, "Content-Length")
	}
	if _, ok := h["Date"]; !ok {
		h["Date"] = []string{respTime.UTC().Format(http.TimeFormat)}
	}
	delete(h, "X-Cache")
	e := &Entry{
		Key: k.Key, URL: k.URL, Host: k.Host, Path: k.Path,
		Status: resp.StatusCode, Header: h,
		RequestTime: reqTime, ResponseTime: respTime, StoredAt: respTime,
	}
	d, _ := SelectDirectives(h, p.targeted)
	own := separateFields(h, d)
	names, _ := VaryFields(h)
	e.Vary = SelectingValues(reqHdr, names)
	e.Tags = ParseTags(h)
	p.prepare(e)
	return e, own
}

// notUpdated are the fields a 304 does not change in a stored response
// (RFC 9111 §3.2): Content-Length, and the fields describing the stored
// body's encoding, which must keep matching it.
var notUpdated = map[string]bool{
	"Content-Length": true, "Content-Encoding": true, "Content-Range": true, "Transfer-Encoding": true,
}

// freshen applies a 304 to a stored response (RFC 9111 §4.3.4): its fields
// replace the stored ones and its times restart the age calculation. ok is
// false when the 304 carries a strong validator that does not match the
// stored one.
func (p *Proxy) freshen(stored *Entry, h http.Header, reqTime, respTime time.Time) (*Entry, bool) {
	if tag, ok := parseETag(h.Get("ETag")); ok && !tag.weak {
		have, ok := parseETag(stored.Header.Get("ETag"))
		if !ok || !strongMatch(tag, have) {
			return nil, false
		}
	}
	merged := stored.Header.Clone()
	if ct, ok := h[edgeContentType]; ok {
		// From the shield (see notModifiedToEdge).
		h["Content-Type"] = ct
		delete(h, edgeContentType)
	}
	if _, ok := h["Date"]; !ok {
		h["Date"] = []string{respTime.UTC().Format(http.TimeFormat)}
	}
	delete(h, "X-Cache")
	for name, values := range h {
		if notUpdated[name] {
			continue
		}
		merged[name] = values
	}
	if _, ok := h["Age"]; !ok {
		delete(merged, "Age")
	}
	e := stored.clone()
	e.Header = merged
	e.RequestTime, e.ResponseTime = reqTime, respTime
	e.InvalidatedAt = time.Time{}
	e.Tags = ParseTags(merged)
	p.prepare(e)
	return e, true
}

// prepare derives an entry's cached policy fields and the header template
// served to clients.
func (p *Proxy) prepare(e *Entry) {
	e.directives, _ = SelectDirectives(e.Header, p.targeted)
	e.lifetime, e.heuristic = FreshnessLifetime(e.Status, e.Header, e.directives, e.ResponseTime, p.Heuristic)
	e.initialAge = CorrectedInitialAge(e.Header, e.RequestTime, e.ResponseTime)
	e.variant = variantID(e.Vary)
	e.upstreamCS = e.Header["Cache-Status"]
	e.hasNoCacheF = len(e.directives.NoCacheFields) > 0

	out := make(http.Header, len(e.Header)+4)
	for name, values := range e.Header {
		switch name {
		case "Age", "Cache-Status", "X-Cache", "X-Served-By", "Via", compressedField:
			continue
		case "Surrogate-Key", "Cache-Tag", "Edge-Cache-Tag", "Surrogate-Control":
			// With ESI, Surrogate-Control says whether to process the
			// response: the ESI writer reads and removes it.
			if p.Role == RoleEdge && !p.KeepTagHeaders && (name != "Surrogate-Control" || p.ESI == nil) {
				continue
			}
		}
		out[name] = values
	}
	out["X-Served-By"] = []string{joinList(e.Header["X-Served-By"], p.Name)}
	out["Via"] = []string{joinList(e.Header["Via"], p.via)}
	if e.complete() {
		out["Content-Length"] = []string{strconv.FormatInt(e.BodyLen(), 10)}
		if e.Status == http.StatusOK {
			if _, ok := out["Accept-Ranges"]; !ok {
				out["Accept-Ranges"] = []string{"bytes"}
			}
		}
	}
	e.out = out
	e.size = entrySize(e)
	e.prepared = true
}

// joinList appends v to a list-valued field's lines.
func joinList(prev []string, v string) string {
	if len(prev) == 0 {
		return v
	}
	n := len(v)
	for _, s := range prev {
		n += len(s) + 2
	}
	b := make([]byte, 0, n)
	for _, s := range prev {
		if s == "" {
			continue
		}
		b = append(b, s...)
		b = append(b, ", "...)
	}
	return string(append(b, v...))
}

var lockSeed = maphash.MakeSeed()

func (p *Proxy) keyLock(key string) func() {
	m := &p.keyLocks[maphash.String(lockSeed, key)%uint64(len(p.keyLocks))]
	m.Lock()
	return m.Unlock
}

// put stores e, the response of fill f, as a variant of its key, replacing
// the variant with the same selecting values and dropping the oldest
// beyond maxVariants. It stores nothing when a purge since f asked the
// upstream selects e; the check is made under the key's lock, which purges
// take too, so a purge never misses a response stored concurrently.
func (p *Proxy) put(ctx context.Context, e *Entry, f *flight) bool {
	unlock := p.keyLock(e.Key)
	defer unlock()
	if p.purgedSince(f, e) {
		return false
	}
	old, err := p.store.Get(ctx, e.Key)
	if err != nil {
		p.log.Warn("cache read failed", "pop", p.Name, "key", e.Key, "err", err)
	}
	variants := AddVariant(old, e)
	if err := p.store.Set(ctx, e.Key, variants); err != nil {
		p.log.Warn("cache write failed", "pop", p.Name, "key", e.Key, "err", err)
		return false
	}
	p.reindex(ctx, e.Key, variants)
	if p.purgedSince(f, e) {
		// A purge recorded on f while e was being stored may have looked
		// its keys up in the index before e's was there: undone here, so
		// it cannot miss e.
		if len(old) == 0 {
			if err := p.store.Delete(ctx, e.Key); err != nil {
				p.log.Warn("cache delete failed", "pop", p.Name, "key", e.Key, "err", err)
			}
			p.idx.del(e.Key, nil)
			return false
		}
		if err := p.store.Set(ctx, e.Key, old); err != nil {
			p.log.Warn("cache write failed", "pop", p.Name, "key", e.Key, "err", err)
		}
		p.reindex(ctx, e.Key, old)
		return false
	}
	return true
}

// AddVariant returns the variants of a key once e is stored among old: e
// first, replacing the variant with the same selecting values (RFC 9111
// §4.1), then the others, the oldest dropped beyond a bound. old is not
// modified.
func AddVariant(old []*Entry, e *Entry) []*Entry {
	variants := make([]*Entry, 0, len(old)+1)
	variants = append(variants, e)
	for _, o := range old {
		if o.variant == e.variant {
			continue
		}
		if len(variants) < maxVariants {
			variants = append(variants, o)
		}
	}
	return variants
}

// reindex updates the index after key was set to variants. A store that
// keeps its own copies (DiskStore: without the bodies) is asked for them,
// so the index never pins a body in memory.
func (p *Proxy) reindex(ctx context.Context, key string, variants []*Entry) {
	if _, ok := p.store.(*MemoryStore); !ok {
		stored, err := p.store.Get(ctx, key)
		if err != nil {
			p.log.Warn("cache read failed", "pop", p.Name, "key", key, "err", err)
			return
		}
		variants = stored
	}
	p.idx.set(key, variants)
}

// deleteVariant removes one stored variant.
func (p *Proxy) deleteVariant(ctx context.Context, e *Entry) {
	unlock := p.keyLock(e.Key)
	defer unlock()
	old, _ := p.store.Get(ctx, e.Key)
	keep := make([]*Entry, 0, len(old))
	for _, o := range old {
		if o.variant != e.variant {
			keep = append(keep, o)
		}
	}
	if err := p.store.Set(ctx, e.Key, keep); err != nil {
		p.log.Warn("cache write failed", "pop", p.Name, "key", e.Key, "err", err)
		return
	}
	p.reindex(ctx, e.Key, keep)
}

// HitForMissTTL is how long requests for a key whose last response could
// not be stored skip collapsing (Varnish's hit-for-miss).
const HitForMissTTL = 30 * time.Second

func (p *Proxy) markUncacheable(key string) {
	now := time.Now()
	p.uncacheable.Store(key, now.Add(HitForMissTTL))
	if p.uncacheableMarks.Add(1)%1024 == 0 {
		// Forget expired marks now and then, so they cannot pile up.
		p.uncacheable.Range(func(k, v any) bool {
			if now.After(v.(time.Time)) {
				p.uncacheable.CompareAndDelete(k, v)
			}
			return true
		})
	}
}

func (p *Proxy) recentlyUncacheable(key string) bool {
	v, ok := p.uncacheable.Load(key)
	if !ok {
		return false
	}
	if time.Now().After(v.(time.Time)) {
		p.uncacheable.CompareAndDelete(key, v)
		return false
	}
	return true
}
