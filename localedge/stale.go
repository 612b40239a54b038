package localedge

import (
	"net/http"
	"time"
)

// DefaultStaleTimeout is how long a request whose stored response may be
// served stale when the upstream fails (stale-if-error, or the configured
// grace) waits for the upstream before it is served that response.
const DefaultStaleTimeout = 2 * time.Second

// serveStaleOnTimeout waits at most StaleTimeout for the head of f's
// response. When it has not come by then and stale, the response the
// request would revalidate, may be served because the upstream failed
// (staleIfError: a hung upstream has failed for this client), it serves
// stale at once and leaves the flight, which goes on in the background and
// stores what the upstream sends when it does (Varnish's grace, nginx's
// proxy_cache_use_stale timeout with proxy_cache_background_update). ok is
// false when the caller should serve the flight as usual.
func (p *Proxy) serveStaleOnTimeout(w http.ResponseWriter, r *http.Request, f *flight, rd *reader, stale *Entry, reqd RequestDirectives) (out outcome, ok bool) {
	if stale == nil || p.StaleTimeout < 0 {
		return outcome{}, false
	}
	timeout := p.StaleTimeout
	if timeout == 0 {
		timeout = DefaultStaleTimeout
	}
	select {
	case <-f.ready:
		return outcome{}, false
	default:
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-f.ready:
		return outcome{}, false
	case <-r.Context().Done():
		return outcome{}, false
	case <-t.C:
	}
	now := p.now()
	if !p.staleIfError(stale, reqd, now) {
		return outcome{}, false
	}
	cs := CacheStatus{Cache: p.Name, Hit: true, Detail: "stale-timeout"}
	out, ok = p.serveEntry(w, r, stale, cs, now, false)
	if !ok {
		return outcome{}, false
	}
	f.leave(rd)
	p.stats.hits.Add(1)
	p.stats.stale.Add(1)
	return out, true
}
