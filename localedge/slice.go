package localedge

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Range slices: a representation larger than MaxObjectSize is fetched and
// stored in slices of SliceSize bytes, as nginx's slice module, Fastly's
// Segmented Caching and CloudFront's range GETs do. Each slice is an
// ordinary cached response (a 206) under its own key, the object's key
// plus " bytes=START-END", fetched upstream with that Range; a range of
// the object, or the whole of it, is answered by joining the slices it
// covers, fetching the missing ones in turn. Video seeking and download
// resumption then cost the slices they need, once.
//
// The proxy learns that an object is large when a fill's Content-Length
// exceeds MaxObjectSize (largeObjects). Slices are combined only when each
// carries the same strong validator and complete length (RFC 9111 §3.4);
// when the upstream does not answer a slice with a 206 of that range and a
// strong validator, range requests for the object are forwarded upstream
// as they are, uncached.

// DefaultSliceSize is the slice size of a proxy whose SliceSize is 0.
const DefaultSliceSize = 1 << 20

// sliceSep separates an object's key from a slice's range in the slice's
// key: normalised URLs hold no space.
const sliceSep = " bytes="

// sliceSpec is the range a slice fill asks for.
type sliceSpec struct {
	start, end int64  // first and last byte
	object     string // the key of the whole representation
}

// sliceKey returns the key of the slice with index i of k's object.
func (p *Proxy) sliceKey(k CacheKey, i int64) (CacheKey, sliceSpec) {
	s := sliceSpec{start: i * p.sliceSize, end: (i+1)*p.sliceSize - 1, object: k.Key}
	sk := k
	sk.Key = k.Key + sliceSep + strconv.FormatInt(s.start, 10) + "-" + strconv.FormatInt(s.end, 10)
	return sk, s
}

// parseContentRange reads "bytes FIRST-LAST/COMPLETE" (RFC 9110 §14.4);
// an unknown complete length ("/*") is not accepted.
func parseContentRange(v string) (first, last, complete int64, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(v), "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	rng, size, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, 0, false
	}
	a, b, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, 0, false
	}
	var ok1, ok2, ok3 bool
	first, ok1 = parseDigits(a)
	last, ok2 = parseDigits(b)
	complete, ok3 = parseDigits(size)
	if !ok1 || !ok2 || !ok3 || last < first || last >= complete {
		return 0, 0, 0, false
	}
	return first, last, complete, true
}

// strongValidator is what slices of one representation must share to be
// combined (RFC 9111 §3.4): a strong ETag, else a Last-Modified date.
func strongValidator(h http.Header) (string, bool) {
	if t, ok := parseETag(h.Get("ETag")); ok {
		if t.weak {
			return "", false
		}
		return t.opaque, true
	}
	if lm := h.Get("Last-Modified"); lm != "" {
		if _, ok := ParseHTTPDate(lm); ok {
			return "lm:" + lm, true
		}
	}
	return "", false
}

// sliceOf checks that a response answers a slice fill: a 206 starting at
// the slice's first byte and ending at its last (or the representation's),
// with a strong validator. It returns the complete length.
func sliceOf(status int, h http.Header, s sliceSpec) (int64, bool) {
	if status != http.StatusPartialContent || len(h["Content-Range"]) != 1 {
		return 0, false
	}
	first, last, complete, ok := parseContentRange(h["Content-Range"][0])
	if !ok || first != s.start || (last != s.end && !(last < s.end && last == complete-1)) {
		return 0, false
	}
	if _, ok := strongValidator(h); !ok {
		return 0, false
	}
	return complete, true
}

// sameRepresentation reports whether two slices can be combined.
func sameRepresentation(a, b *Entry) bool {
	_, _, ta, ok1 := parseContentRange(firstValue(a.Header, "Content-Range"))
	_, _, tb, ok2 := parseContentRange(firstValue(b.Header, "Content-Range"))
	va, ok3 := strongValidator(a.Header)
	vb, ok4 := strongValidator(b.Header)
	return ok1 && ok2 && ok3 && ok4 && ta == tb && va == vb
}

// largeObjects remembers, for the keys of objects larger than
// MaxObjectSize, their complete length, or notSliceable when range
// requests for them are forwarded as they are. It holds at most
// maxLargeObjects keys, forgetting arbitrary ones beyond. A purge that
// selects the URL of an object marked notSliceable forgets the mark
// (forget), so an object the upstream can now slice is learnt again; a
// size is kept: slice 0 tells the current one.
type largeObjects struct {
	mu sync.Mutex
	m  map[string]largeObject // guarded by mu
}

type largeObject struct {
	size int64
	k    CacheKey // the object's URL, for purges
}

const (
	maxLargeObjects = 1 << 16
	notSliceable    = -1
)

func (l *largeObjects) get(key string) (int64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.m[key]
	return v.size, ok
}

// set records the size of the object k.Key (k names its URL).
func (l *largeObjects) set(k CacheKey, v int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = make(map[string]largeObject)
	}
	if _, ok := l.m[k.Key]; !ok && len(l.m) >= maxLargeObjects {
		for key := range l.m {
			delete(l.m, key)
			break
		}
	}
	l.m[k.Key] = largeObject{size: v, k: k}
}

// forget drops the notSliceable marks of the objects whose URL a purge
// selects.
func (l *largeObjects) forget(m *PurgeMatcher) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for key, o := range l.m {
		if o.size == notSliceable && (m.all || m.urlMatch(o.k.URL, pathAndQuery(o.k), o.k.Host)) {
			delete(l.m, key)
		}
	}
}

// errNotSliceable means the upstream's answer to a slice fill cannot be
// combined with other slices.
var errNotSliceable = errors.New("the upstream answered a slice without a 206 of that range and a strong validator")

// sliceSource is one slice being written: stored (body) or arriving (f,
// rd).
type sliceSource struct {
	entry *Entry
	body  openBody
	f     *flight
	rd    *reader
	hit   bool
	cs    CacheStatus
}

func (s *sliceSource) close() {
	if s.f != nil {
		s.f.leave(s.rd)
		return
	}
	s.body.close()
}

// write writes the slice's bytes [from, from+n).
func (s *sliceSource) write(ctx context.Context, w http.ResponseWriter, from, n int64) (int64, error) {
	if s.f == nil {
		return s.body.writeRange(w, from, n)
	}
	s.f.advance(s.rd, from) // skip what comes before
	written, complete := s.f.copyTo(ctx, w, s.rd, from+n)
	if !complete {
		return written, errors.New("slice body ended early")
	}
	return written, nil
}

// slice returns slice i of k's object: stored and usable, or fetched
// (collapsing with other requests for it).
func (p *Proxy) slice(r *http.Request, k CacheKey, i int64, reqd RequestDirectives) (*sliceSource, error) {
	sk, spec := p.sliceKey(k, i)
	variants, err := p.store.Get(r.Context(), sk.Key)
	if err != nil {
		p.log.Warn("cache read failed", "pop", p.Name, "key", sk.Key, "err", err)
	}
	e, fwd := p.selectVariant(variants, r, k)
	detail := ""
	if e != nil {
		var u Use
		u, fwd, detail = p.decide(e, reqd, p.now())
		if u == UseFresh || u == UseStale {
			body, err := e.open()
			if err == nil {
				return &sliceSource{entry: e, body: body, hit: true, cs: CacheStatus{Cache: p.Name, Hit: true, Detail: detail}}, nil
			}
			p.log.Warn("cache body unreadable", "pop", p.Name, "key", e.Key, "err", err)
			p.deleteVariant(r.Context(), e)
			e, fwd, detail = nil, FwdMiss, "store-error"
		}
	}
	for collapse := true; ; collapse = false {
		var f *flight
		var rd *reader
		leader := true
		p.flightsMu.Lock()
		if collapse {
			if f = p.flights[sk.Key]; f != nil {
				rd = f.join()
				leader = rd == nil
			}
		}
		if leader {
			f = newFlight(sk, e, reqd, p.budget)
			f.slice = &spec
			rd = f.join()
			if collapse && p.mayLead(r, k, reqd) {
				p.flights[sk.Key] = f
			}
		}
		p.flightsMu.Unlock()
		if leader {
			p.launch(f, r)
		} else {
			p.stats.collapsed.Add(1)
		}
		select {
		case <-f.ready:
		case <-r.Context().Done():
			f.leave(rd)
			return nil, r.Context().Err()
		}
		if f.err != nil {
			f.leave(rd)
			return nil, f.err
		}
		fe := f.entry
		if !leader && (!f.shared || (len(fe.Vary) > 0 && !p.varyMatches(fe.Vary, r, k)) ||
			(p.ownFieldsMatter(r, k) && !f.hitStale && !reusableFresh(fe, p.now()))) {
			f.leave(rd)
			continue // fetch on our own (as in serveFlight)
		}
		if fwd == "" {
			fwd = FwdMiss
		}
		cs := CacheStatus{Cache: p.Name, Fwd: fwd, FwdStatus: f.fwdStatus, Stored: f.stored, Collapsed: !leader, Detail: detail}
		if f.detail != "" {
			cs.Detail = f.detail
		}
		if f.complete {
			// A 304 freshened the stored slice, or it is served stale.
			f.leave(rd)
			body, err := fe.open()
			if err != nil {
				return nil, err
			}
			return &sliceSource{entry: fe, body: body, hit: f.hitStale, cs: cs}, nil
		}
		if _, ok := sliceOf(fe.Status, fe.Header, spec); !ok {
			f.leave(rd)
			return nil, errNotSliceable
		}
		return &sliceSource{entry: fe, f: f, rd: rd, cs: cs}, nil
	}
}

// serveSlices answers a GET for a large object from its slices: the range
// asked for (206), or the whole object (200) without a Range, with a Range
// that is not a single satisfiable range, or with an If-Range that does
// not match.
func (p *Proxy) serveSlices(w http.ResponseWriter, r *http.Request, k CacheKey, reqd RequestDirectives) outcome {
	rangeHdr := firstValue(r.Header, "Range")
	if r.Method == http.MethodHead {
		rangeHdr = "" // Range is defined for GET only (RFC 9110 §14.2)
	}
	want := func(complete int64, e *Entry) (byteRange, int) {
		whole := byteRange{0, complete}
		if rangeHdr == "" || (e != nil && !ifRangeMatches(firstValue(r.Header, "If-Range"), e.Header)) {
			return whole, http.StatusOK
		}
		ranges, err := parseRange(rangeHdr, complete)
		if err == errNoOverlap {
			return byteRange{}, http.StatusRequestedRangeNotSatisfiable
		}
		if ranges = planRanges(ranges, complete); err != nil || len(ranges) != 1 {
			return whole, http.StatusOK
		}
		return ranges[0], http.StatusPartialContent
	}
	// The first slice: where the range starts, as far as the object's
	// length is known.
	first := int64(0)
	if size, ok := p.large.get(k.Key); ok && size > 0 {
		rg, status := want(size, nil)
		if status != http.StatusRequestedRangeNotSatisfiable {
			first = rg.start / p.sliceSize
		}
	}
	src, err := p.slice(r, k, first, reqd)
	for guess := 0; ; guess++ {
		if err == nil && guess > 1 {
			src.close() // the object keeps changing length
			err = errors.New("the object's length changed between slices")
		}
		if errors.Is(err, errNotSliceable) {
			p.large.set(k, notSliceable)
			return p.forward(w, r, k, CacheStatus{Cache: p.Name, Fwd: FwdMiss, Detail: "not-sliceable"})
		}
		if err != nil {
			if r.Context().Err() != nil {
				return outcome{status: 499, cs: CacheStatus{Cache: p.Name, Fwd: FwdMiss, Detail: "client-gone"}}
			}
			status, detail := upstreamError(err)
			p.log.Warn("upstream request failed", "pop", p.Name, "url", k.URL, "upstream", p.upstreamName(), "err", err)
			return p.errorResponse(w, status, upstreamFailure(detail), FwdMiss, detail)
		}
		_, _, complete, _ := parseContentRange(firstValue(src.entry.Header, "Content-Range"))
		rg, status := want(complete, src.entry)
		if status == http.StatusRequestedRangeNotSatisfiable || rg.start/p.sliceSize == first {
			return p.writeSlices(w, r, k, reqd, src, first, rg, status, complete)
		}
		// The range starts in another slice than guessed.
		src.close()
		first = rg.start / p.sliceSize
		src, err = p.slice(r, k, first, reqd)
	}
}

// writeSlices writes the response head from the first slice (src, index
// first), then the range rg of the object, slice after slice.
func (p *Proxy) writeSlices(w http.ResponseWriter, r *http.Request, k CacheKey, reqd RequestDirectives, src *sliceSource, first int64, rg byteRange, status int, complete int64) outcome {
	head := src.entry
	cur := src
	defer func() { cur.close() }()
	now := p.now()
	cs := src.cs
	if cs.Hit {
		cs.TTL, cs.HasTTL = int64(head.TTL(now)/time.Second), true
	}
	h := w.Header()
	for name, values := range head.out {
		h[name] = values
	}
	h["Age"] = []string{formatSeconds(head.Age(now))}
	h["Cache-Status"] = []string{appendCacheStatus(head.upstreamCS, cs)}
	if cs.Hit {
		h["X-Cache"] = xCacheHit
	} else {
		h["X-Cache"] = xCacheMiss
	}
	h["Accept-Ranges"] = []string{"bytes"}
	delete(h, "Content-Range")
	out := outcome{status: status, cs: cs}
	if code := EvaluatePreconditions(r.Header, http.StatusOK, head.Header, head.ResponseTime); code != 0 {
		p.writeConditional(w, r, code)
		out.status = code
		return out
	}
	if status == http.StatusRequestedRangeNotSatisfiable {
		writeUnsatisfiable(w, complete)
		return out
	}
	h["Content-Length"] = []string{strconv.FormatInt(rg.length, 10)}
	if status == http.StatusPartialContent {
		h["Content-Range"] = []string{rg.contentRange(complete)}
	}
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return out
	}
	end := rg.start + rg.length
	for i, pos := first, rg.start; pos < end; i++ {
		if i > first {
			next, err := p.slice(r, k, i, reqd)
			if err == nil && !sameRepresentation(head, next.entry) {
				// The object changed between slices: its stored slices
				// are dropped, the client sees a truncated response.
				next.close()
				p.log.Warn("slices of different representations", "pop", p.Name, "url", k.URL)
				if _, perr := p.Purge(r.Context(), PurgeRequest{URLs: []string{k.URL}}); perr != nil {
					p.log.Warn("purge failed", "pop", p.Name, "url", k.URL, "err", perr)
				}
				err = errors.New("representation changed")
			}
			if err != nil {
				if r.Context().Err() == nil {
					p.log.Warn("slice failed", "pop", p.Name, "url", k.URL, "slice", i, "err", err)
					panic(http.ErrAbortHandler)
				}
				return out
			}
			cur.close()
			cur = next
		}
		sliceStart := i * p.sliceSize
		n := min(end, sliceStart+p.sliceSize) - pos
		written, err := cur.write(r.Context(), w, pos-sliceStart, n)
		out.bytes += written
		if err != nil {
			if r.Context().Err() == nil {
				panic(http.ErrAbortHandler)
			}
			return out
		}
		pos += n
	}
	return out
}
