package localedge

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"time"
)

// Shared single-value header slices: net/http never modifies them.
var (
	xCacheHit  = []string{"HIT"}
	xCacheMiss = []string{"MISS"}
)

// serveEntry writes a stored (complete) response: the hot path of a hit.
// validated says the response was just validated with the upstream, so
// fields a qualified no-cache names may be sent.
//
// The body of an entry kept on disk is opened first: if that fails, the
// entry is dropped and ok is false (nothing was written).
func (p *Proxy) serveEntry(w http.ResponseWriter, r *http.Request, e *Entry, cs CacheStatus, now time.Time, validated bool) (out outcome, ok bool) {
	var body openBody
	if r.Method != http.MethodHead {
		var err error
		if body, err = e.open(); err != nil {
			p.log.Warn("cache body unreadable", "pop", p.Name, "key", e.Key, "err", err)
			p.deleteVariant(r.Context(), e)
			return outcome{}, false
		}
		defer body.close()
	}
	return p.writeEntry(w, r, e, body, cs, now, validated), true
}

// writeEntry writes a stored response with its body (nothing for a HEAD).
func (p *Proxy) writeEntry(w http.ResponseWriter, r *http.Request, e *Entry, body openBody, cs CacheStatus, now time.Time, validated bool) outcome {
	age := e.Age(now)
	ageS := int64(age / time.Second)
	if cs.Hit {
		e.hits.Add(1)
		cs.TTL, cs.HasTTL = int64(e.TTL(now)/time.Second), true
	}
	h := w.Header()
	for name, values := range e.out {
		h[name] = values
	}
	if e.hasNoCacheF && !validated {
		for _, name := range e.directives.NoCacheFields {
			delete(h, name)
		}
	}
	if plain := cs == (CacheStatus{Cache: p.Name, Hit: true, TTL: cs.TTL, HasTTL: true}); plain {
		hh := e.hitHdr.Load()
		if hh == nil || hh.age != ageS || hh.ttl != cs.TTL {
			hh = &hitHeaders{age: ageS, ttl: cs.TTL,
				ageV:    []string{strconv.FormatInt(ageS, 10)},
				statusV: []string{appendCacheStatus(e.upstreamCS, cs)}}
			e.hitHdr.Store(hh)
		}
		h["Age"], h["Cache-Status"] = hh.ageV, hh.statusV
	} else {
		h["Age"] = []string{strconv.FormatInt(ageS, 10)}
		h["Cache-Status"] = []string{appendCacheStatus(e.upstreamCS, cs)}
	}
	if cs.Hit {
		h["X-Cache"] = xCacheHit
	} else {
		h["X-Cache"] = xCacheMiss
	}
	out := outcome{status: e.Status, cs: cs}

	if code := EvaluatePreconditions(r.Header, e.Status, e.Header, e.ResponseTime); code != 0 {
		p.writeConditional(w, r, code)
		out.status = code
		return out
	}
	if rv := r.Header["Range"]; len(rv) > 0 && r.Method == http.MethodGet && e.Status == http.StatusOK &&
		ifRangeMatches(firstValue(r.Header, "If-Range"), e.Header) {
		ranges, err := parseRange(rv[0], e.BodyLen())
		if err == nil {
			ranges = planRanges(ranges, e.BodyLen())
		}
		switch {
		case err == errNoOverlap:
			writeUnsatisfiable(w, e.BodyLen())
			out.status = http.StatusRequestedRangeNotSatisfiable
			return out
		case err == nil && len(ranges) == 1:
			rg := ranges[0]
			h["Content-Range"] = []string{rg.contentRange(e.BodyLen())}
			h["Content-Length"] = []string{strconv.FormatInt(rg.length, 10)}
			w.WriteHeader(http.StatusPartialContent)
			out.status = http.StatusPartialContent
			out.bytes, _ = body.writeRange(w, rg.start, rg.length)
			return out
		case err == nil && len(ranges) > 1:
			out.status = http.StatusPartialContent
			out.bytes = writeMultipart(w, ranges, body, firstValue(e.Header, "Content-Type"))
			return out
		}
	}
	w.WriteHeader(e.Status)
	if r.Method != http.MethodHead && body.size > 0 {
		out.bytes, _ = body.writeRange(w, 0, body.size)
	}
	return out
}

// writeConditional answers a request whose preconditions evaluated to
// code, 304 or 412 (RFC 9110 §13.2.2), with the response fields already
// in w's header: a 304 carries the validators and caching fields, not the
// content's metadata (§15.4.5) — except from a shield to its own edges,
// which need an updated Content-Type (see notModifiedToEdge).
func (p *Proxy) writeConditional(w http.ResponseWriter, r *http.Request, code int) {
	h := w.Header()
	if code == http.StatusNotModified && p.Role == RoleShield && p.EdgeSecret != "" && p.trusts(r.Header) {
		notModifiedToEdge(h)
	} else {
		for _, name := range notModifiedHeaders {
			delete(h, name)
		}
	}
	if code == http.StatusPreconditionFailed {
		h["Content-Length"] = []string{"0"}
	}
	w.WriteHeader(code)
}

// writeUnsatisfiable answers a range request none of whose ranges overlap
// a representation of size bytes (RFC 9110 §15.5.17).
func writeUnsatisfiable(w http.ResponseWriter, size int64) {
	h := w.Header()
	for _, name := range notModifiedHeaders {
		delete(h, name)
	}
	h["Content-Range"] = []string{"bytes */" + strconv.FormatInt(size, 10)}
	h["Content-Length"] = []string{"0"}
	w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
}

// writeMultipart answers a multi-range request with multipart/byteranges
// (RFC 9110 §14.6).
func writeMultipart(w http.ResponseWriter, ranges []byteRange, body openBody, contentType string) int64 {
	var b [12]byte
	_, _ = rand.Read(b[:])
	boundary := "cdnctl-" + hex.EncodeToString(b[:])
	h := w.Header()
	delete(h, "Content-Length")
	h["Content-Type"] = []string{"multipart/byteranges; boundary=" + boundary}
	w.WriteHeader(http.StatusPartialContent)
	cw := &countingWriter{w: w}
	mw := multipart.NewWriter(cw)
	_ = mw.SetBoundary(boundary)
	size := body.size
	for _, rg := range ranges {
		ph := textproto.MIMEHeader{"Content-Range": {rg.contentRange(size)}}
		if contentType != "" {
			ph["Content-Type"] = []string{contentType}
		}
		part, err := mw.CreatePart(ph)
		if err != nil {
			return cw.n
		}
		if _, err := body.writeRange(part, rg.start, rg.length); err != nil {
			return cw.n
		}
	}
	_ = mw.Close()
	return cw.n
}

type countingWriter struct {
	w interface{ Write([]byte) (int, error) }
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// serveFlight serves the response of a flight to one of its readers.
// released is true when a collapsed request cannot use the response (not
// storable, or another variant) and must fetch on its own.
func (p *Proxy) serveFlight(w http.ResponseWriter, r *http.Request, f *flight, rd *reader, leader bool, fwd, detail string) (out outcome, released bool) {
	if !p.awaitHead(w, r, f, rd, leader) {
		f.leave(rd)
		return outcome{status: 499, cs: CacheStatus{Cache: p.Name, Fwd: fwd, Detail: "client-gone"}}, false
	}
	if f.err != nil {
		f.leave(rd)
		status, detail := upstreamError(f.err)
		return p.errorResponse(w, status, upstreamFailure(detail), fwd, detail), false
	}
	e := f.entry
	if !leader && (!f.shared || (len(e.Vary) > 0 && !p.varyMatches(e.Vary, r, f.key)) ||
		(p.ownFieldsMatter(r, f.key) && !f.hitStale && !reusableFresh(e, p.now()))) {
		f.leave(rd)
		return outcome{}, true
	}
	if fwd == "" {
		fwd = FwdMiss
	}
	cs := CacheStatus{Cache: p.Name, Fwd: fwd, FwdStatus: f.fwdStatus, Stored: f.stored, Collapsed: !leader, Detail: detail}
	if f.detail != "" {
		cs.Detail = f.detail
	}
	now := p.now()
	if f.complete {
		f.leave(rd)
		if f.hitStale {
			p.stats.stale.Add(1)
			cs.TTL, cs.HasTTL = int64(e.TTL(now)/time.Second), true
		}
		out, ok := p.serveEntry(w, r, e, cs, now, !f.hitStale)
		if !ok {
			return p.errorResponse(w, http.StatusBadGateway, "stored response unreadable", fwd, "store-error"), false
		}
		return out, false
	}
	return p.serveStreaming(w, r, f, rd, e, cs, now, leader), false
}

// serveStreaming writes a response whose body is still arriving.
func (p *Proxy) serveStreaming(w http.ResponseWriter, r *http.Request, f *flight, rd *reader, e *Entry, cs CacheStatus, now time.Time, leader bool) outcome {
	defer f.leave(rd)
	if p.sliceable(r, f) && f.detail == "too-large" {
		// Too large to store: the range is served from slices instead.
		f.leave(rd)
		return p.serveSlices(w, r, f.key, f.reqd)
	}
	out := outcome{status: e.Status, cs: cs}
	conditional := len(r.Header["If-None-Match"])+len(r.Header["If-Modified-Since"])+len(r.Header["If-Match"])+len(r.Header["If-Unmodified-Since"]) > 0
	if f.shared && (r.Method == http.MethodHead || len(r.Header["Range"]) > 0 || conditional) {
		// Ranges and conditions are answered from the whole response, and
		// a HEAD answers once the cache holds it (so prewarming with HEAD
		// works).
		body, state := p.awaitBody(r, f)
		switch state {
		case bodyComplete:
			full := e.clone()
			full.mem = body
			p.prepare(full)
			return p.writeEntry(w, r, full, openBody{mem: body, size: body.size}, cs, now, true)
		case bodyFailed:
			out.status = 499
			return out
		case bodyTooLarge:
			if p.sliceable(r, f) {
				f.leave(rd)
				return p.serveSlices(w, r, f.key, f.reqd)
			}
		}
		// Too large to hold: stream it whole, ignoring the range and
		// conditions (RFC 9110 §14.2 lets a server ignore Range).
	}
	h := w.Header()
	for name, values := range e.out {
		h[name] = values
	}
	if leader {
		for name, values := range f.own {
			h[name] = values
		}
	}
	h["Age"] = []string{formatSeconds(e.Age(now))}
	h["Cache-Status"] = []string{appendCacheStatus(e.upstreamCS, cs)}
	h["X-Cache"] = xCacheMiss
	if !f.shared && conditional {
		// Not stored: the client's conditions apply to this response.
		if code := EvaluatePreconditions(r.Header, e.Status, e.Header, e.ResponseTime); code != 0 {
			for _, name := range notModifiedHeaders {
				delete(h, name)
			}
			w.WriteHeader(code)
			out.status = code
			return out
		}
	}
	w.WriteHeader(e.Status)
	if r.Method == http.MethodHead || !bodyAllowed(e.Status) {
		return out
	}
	n, complete := f.copyTo(r.Context(), w, rd, -1)
	out.bytes = n
	if !complete && r.Context().Err() == nil {
		// The upstream body broke off: make the client see a truncated
		// response rather than a short one that looks complete.
		panic(http.ErrAbortHandler)
	}
	return out
}

// sliceable reports whether a range request answered by a whole
// response that is too large to store may be served from slices instead.
func (p *Proxy) sliceable(r *http.Request, f *flight) bool {
	if p.sliceSize <= 0 || f.slice != nil || r.Method != http.MethodGet || len(r.Header["Range"]) == 0 || f.entry.Status != http.StatusOK {
		return false
	}
	size, _ := p.large.get(f.key.Key)
	return size != notSliceable
}

type bodyState int

const (
	bodyComplete bodyState = iota
	bodyFailed
	bodyTooLarge
)

// awaitBody waits for a flight's complete body. It gives up when the body
// turns out too large to keep (the flight starts dropping what was sent).
// The flight keeps the body in use while the caller is one of its readers.
func (p *Proxy) awaitBody(r *http.Request, f *flight) (*memBody, bodyState) {
	for {
		f.mu.Lock()
		done, err, wait, trim := f.done, f.bodyErr, f.changed, f.trim
		f.mu.Unlock()
		switch {
		case done && err != nil:
			return nil, bodyFailed
		case trim:
			return nil, bodyTooLarge
		case done:
			return f.whole(), bodyComplete
		}
		select {
		case <-wait:
		case <-r.Context().Done():
			return nil, bodyFailed
		}
	}
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// upstreamFailure is the body text of an error answering an upstream
// failure: generic, naming the Cache-Status detail. The upstream's address
// and the network error go to the log only, never to clients.
func upstreamFailure(detail string) string {
	if detail == "upstream-timeout" {
		return "the upstream did not answer in time (" + detail + ")"
	}
	return "the upstream could not be reached or failed (" + detail + ")"
}

func (p *Proxy) upstreamName() string {
	if p.Upstream == nil {
		return ""
	}
	return p.Upstream.Host
}

// serveHealth answers the health endpoint (contract §1).
func (p *Proxy) serveHealth(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Served-By", p.Name)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	status, code := "ok", http.StatusOK
	if !p.Healthy() {
		status, code = "draining", http.StatusServiceUnavailable
	}
	body, _ := json.Marshal(struct {
		Pop    string `json:"pop"`
		Role   string `json:"role"`
		Status string `json:"status"`
	}{p.Name, p.Role, status})
	body = append(body, '\n')
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}

// Healthy reports whether the health endpoint answers 200: not marked down
// and not shutting down.
func (p *Proxy) Healthy() bool { return !p.down.Load() && !p.draining.Load() }

// SetDown marks the proxy down (its health endpoint answers 503) or up
// again. Requests are still served: only health checkers see it.
func (p *Proxy) SetDown(down bool) { p.down.Store(down) }

// SetDraining makes the health endpoint answer 503 while shutting down.
func (p *Proxy) SetDraining(draining bool) { p.draining.Store(draining) }
