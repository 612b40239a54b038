package localedge

import (
	"net/http"
	"strings"
)

// This file holds the privacy policy of the caches, as pure functions: what
// RFC 9111 lets a shared cache store, narrowed so that an edge in front of
// an application with logins never gives one client another's session
// (docs/localedge.md, "Security: sessions and private responses").
//
//   - A response that sets a cookie is never stored (Varnish's built-in
//     VCL, nginx and Fastly do the same), unless the origin names the field
//     in private="Set-Cookie" or no-cache="Set-Cookie": then the rest is
//     stored without it.
//   - A response to a request with Cookie is stored only when the origin
//     marks it for shared caches (public, s-maxage, or a CDN-Cache-Control
//     or Surrogate-Control field), or under a path the configuration lists
//     (Proxy.CookiePaths: static assets the browser sends cookies with).
//   - A response to a request with Authorization is stored only with
//     public, s-maxage or must-revalidate (RFC 9111 §3.5; in Storable).

// sharedForRequest applies the cookie rules to a response that Storable
// allows: ok is false, with the Cache-Status detail, when it must not be
// shared. source is the field the response's directives came from (see
// SelectDirectives); cookieShared says the request's path is one of the
// configured exceptions.
func sharedForRequest(req, h http.Header, d ResponseDirectives, source string, cookieShared bool) (ok bool, reason string) {
	if len(h["Set-Cookie"]) > 0 {
		return false, "set-cookie"
	}
	if hasCookie(req) && !cookieShared && !explicitlyShared(d, source) {
		return false, "cookie"
	}
	return true, ""
}

// explicitlyShared reports whether the origin marked a response for shared
// caches: public, s-maxage, or directives from a targeted field
// (CDN-Cache-Control, Surrogate-Control), which only CDNs read.
func explicitlyShared(d ResponseDirectives, source string) bool {
	return d.Public || d.SMaxAge >= 0 || (source != "" && source != "Cache-Control")
}

func hasCookie(h http.Header) bool {
	for _, v := range h["Cookie"] {
		if strings.TrimSpace(v) != "" {
			return true
		}
	}
	return false
}

// pathListed reports whether path is under one of the prefixes.
func pathListed(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// marksHitForMiss reports whether a reason for not storing a response
// comes from the response itself, which then says the URL cannot be shared
// and turns it hit-for-miss. Reasons that come from the request
// (request-no-store, authorization, cookie) say nothing about the URL: a
// client could otherwise switch collapsing off for everyone (Varnish too
// makes hit-for-miss objects only from backend responses).
func marksHitForMiss(reason string) bool {
	switch reason {
	case "no-store", "private", "must-understand", "vary-star", "uncacheable-status", "set-cookie", "interim-status":
		return true
	}
	return false
}

// servedInGrace reports whether an upstream cache served a response it
// holds soft-purged (its Cache-Status member says detail=soft-purge-grace):
// its Age does not tell the downstream cache that it is no longer fresh.
func servedInGrace(h http.Header) bool {
	return lastCacheStatusParam(h, "detail") == "soft-purge-grace"
}

// lastCacheStatusParam returns the value of a parameter of the last member
// of Cache-Status (the closest cache upstream), "" when absent.
func lastCacheStatusParam(h http.Header, name string) string {
	lines := h["Cache-Status"]
	if len(lines) == 0 {
		return ""
	}
	last := lines[len(lines)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	params := strings.Split(last, ";")
	for _, p := range params[1:] {
		n, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if n == name {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// generatedByCache reports whether an upstream response was made by a cache
// of the upstream tier rather than the origin: its last Cache-Status
// member (the closest cache) forwarded nothing and got no response (no hit,
// no fwd-status, RFC 9211 §2.3), as for a refused loop, too many fields or
// an unreachable origin. Such a response says nothing about the URL.
func generatedByCache(h http.Header) bool {
	lines := h["Cache-Status"]
	if len(lines) == 0 {
		return false
	}
	last := lines[len(lines)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	params := strings.Split(last, ";")
	if len(params) < 2 {
		return false
	}
	fwd := false
	for _, p := range params[1:] {
		name, _, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch name {
		case "hit", "fwd-status":
			return false
		case "fwd":
			fwd = true
		}
	}
	return fwd
}

// separateFields removes from a response header the fields that are meant
// for the requesting client alone and must not be stored: those a
// qualified private names (RFC 9111 §5.2.2.7), and Set-Cookie when a
// qualified no-cache names it (a stored cookie would otherwise be sent to
// whoever revalidates it). It returns them, for the client whose request
// fetched the response.
func separateFields(h http.Header, d ResponseDirectives) http.Header {
	var own http.Header
	move := func(name string) {
		if v, ok := h[name]; ok {
			if own == nil {
				own = make(http.Header)
			}
			own[name] = v
			delete(h, name)
		}
	}
	for _, name := range d.PrivateFields {
		move(name)
	}
	for _, name := range d.NoCacheFields {
		if name == "Set-Cookie" {
			move(name)
		}
	}
	return own
}
