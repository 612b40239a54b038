package localedge

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// upstreamRequest builds the request sent upstream for a client request
// (already screened by screenRequest): the normalised key's path and query
// on the upstream URL, the client's Host, and the fields forwardedField
// gives. A fill (GET for the cache) carries no body and no conditions of
// the client.
func (p *Proxy) upstreamRequest(r *http.Request, k CacheKey, method string, fill bool) *http.Request {
	u := *p.Upstream
	escaped := singleJoin(p.Upstream.EscapedPath(), k.Path)
	u.Path, _ = url.PathUnescape(escaped)
	u.RawPath = escaped
	u.RawQuery = k.RawQuery
	u.Fragment, u.RawFragment = "", ""

	h := make(http.Header, len(r.Header)+4)
	for name, values := range r.Header {
		if fill && fillSkip(name) {
			continue
		}
		h[name] = values
	}
	removeHopByHop(h) // screened already; kept as a second guard
	for _, name := range setFields {
		if v, ok := p.forwardedField(r, k, name, fill); ok {
			h[name] = v
		} else {
			delete(h, name)
		}
	}
	out := &http.Request{
		Method:     method,
		URL:        &u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     h,
		Host:       k.Host,
	}
	if !fill && r.Body != nil && r.Body != http.NoBody {
		out.Body = r.Body
		out.ContentLength = r.ContentLength
		out.GetBody = nil
	}
	return out
}

// singleJoin joins an upstream base path and a request path with one
// slash.
func singleJoin(base, path string) string {
	if base == "" || base == "/" {
		return path
	}
	return strings.TrimSuffix(base, "/") + path
}

// safeMethods do not change resources (RFC 9110 §9.2.1): they never
// invalidate stored responses. Unknown methods count as unsafe.
func safeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, "PROPFIND", "REPORT", "SEARCH", "QUERY":
		return true
	}
	return false
}

// serveUncacheable forwards a request the cache does not store (POST, PUT,
// OPTIONS, …) and, after a non-error response to an unsafe method,
// invalidates the stored responses of the target URI and of the same-host
// Location and Content-Location URIs (RFC 9111 §4.4).
func (p *Proxy) serveUncacheable(w http.ResponseWriter, r *http.Request, k CacheKey) outcome {
	p.stats.misses.Add(1)
	return p.forward(w, r, k, CacheStatus{Cache: p.Name, Fwd: FwdMethod})
}

// forward sends a request upstream as it is (its body, conditions and
// range included), invalidates after an unsafe method, and passes the
// response through uncached; cs is the Cache-Status it reports.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, k CacheKey, cs CacheStatus) outcome {
	ctx, cancel := context.WithTimeout(r.Context(), p.FetchTimeout)
	defer cancel()
	if p.simulatedDelay(ctx) != nil {
		return outcome{status: 499, cs: cs}
	}
	// The handler goroutine waits in RoundTrip while the trace relays.
	ictx := withInterimTrace(ctx, func(ir interimResponse) { writeInterim(w, r, ir) })
	req := p.upstreamRequest(r, k, r.Method, false).WithContext(ictx)
	p.stats.originFetches.Add(1)
	resp, err := p.rt.RoundTrip(req)
	if err != nil {
		p.log.Warn("upstream request failed", "pop", p.Name, "upstream", p.upstreamName(), "method", r.Method, "url", k.URL, "err", err)
		status, detail := upstreamError(err)
		return p.errorResponse(w, status, upstreamFailure(detail), cs.Fwd, detail)
	}
	defer resp.Body.Close()
	removeHopByHop(resp.Header)
	if !safeMethod(r.Method) && resp.StatusCode < 400 {
		p.invalidate(ctx, k, resp.Header)
	}
	cs.FwdStatus = resp.StatusCode
	h := w.Header()
	for name, values := range resp.Header {
		switch name {
		case "X-Served-By", "Via", "Cache-Status", "X-Cache":
			continue
		}
		h[name] = values
	}
	h["X-Served-By"] = []string{joinList(resp.Header["X-Served-By"], p.Name)}
	h["Via"] = []string{joinList(resp.Header["Via"], p.via)}
	h["Cache-Status"] = []string{appendCacheStatus(resp.Header["Cache-Status"], cs)}
	h["X-Cache"] = xCacheMiss
	w.WriteHeader(resp.StatusCode)
	n, _ := copyFlushing(w, resp.Body)
	return outcome{status: resp.StatusCode, bytes: n, cs: cs}
}

// copyFlushing copies a passed-through body, flushing after each read so
// streamed responses (server-sent events) reach the client as they come.
func copyFlushing(w http.ResponseWriter, body io.Reader) (int64, error) {
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	var n int64
	for {
		m, err := body.Read(buf)
		if m > 0 {
			k, werr := w.Write(buf[:m])
			n += int64(k)
			if werr != nil {
				return n, werr
			}
			_ = rc.Flush()
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// invalidate removes the stored responses for the target URI and the
// Location / Content-Location URIs on the same host (RFC 9111 §4.4).
func (p *Proxy) invalidate(ctx context.Context, k CacheKey, h http.Header) {
	targets := []string{k.URL}
	base, _ := url.Parse(k.URL)
	for _, name := range []string{"Location", "Content-Location"} {
		v := h.Get(name)
		if v == "" || base == nil {
			continue
		}
		ref, err := url.Parse(v)
		if err != nil {
			continue
		}
		abs := base.ResolveReference(ref)
		lk, err := p.Key.Build(abs.Scheme, abs.Host, abs.EscapedPath(), abs.RawQuery, nil)
		if err != nil || lk.Host != k.Host {
			continue
		}
		targets = append(targets, lk.URL)
	}
	if _, err := p.Purge(ctx, PurgeRequest{URLs: targets}); err != nil {
		p.log.Warn("invalidation failed", "pop", p.Name, "url", k.URL, "err", err)
	}
}

// simulatedDelay waits the PoP's simulated network delay to its upstream
// (Delay), or until ctx ends, whose error it then returns.
func (p *Proxy) simulatedDelay(ctx context.Context) error {
	if p.Delay <= 0 {
		return nil
	}
	t := time.NewTimer(p.Delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
