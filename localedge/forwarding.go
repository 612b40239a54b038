package localedge

import (
	"crypto/subtle"
	"net"
	"net/http"
	"strings"
)

// This file decides which request fields reach the upstream and with which
// values: the cache's defence against unkeyed-header poisoning, and the
// one definition of "the request actually forwarded" that stored Vary
// selecting values are taken from and compared with (RFC 9111 §4.1).

// EdgeSecretField carries a topology's edge secret from its edges to its
// shield (Proxy.EdgeSecret). It never reaches the origin.
const EdgeSecretField = "Cdnctl-Edge-Secret"

// untrustedField reports whether a request field is removed before the
// request goes anywhere: hop-by-hop fields (RFC 9110 §7.6.1), and fields
// that frameworks and origins read as facts about the client, the URL or
// the method (X-Forwarded-*, Forwarded, X-Original-URL,
// X-HTTP-Method-Override, …). A client could otherwise make the origin
// answer differently to a request the cache then stores for everyone
// (unkeyed-header poisoning). X-Forwarded-For, -Proto and -Host, the
// fields edges set, are kept when trusted is true. A name spelt with "_"
// for "-" (X_Forwarded_For), which CGI-style origins read as the same
// field, counts as that field.
func untrustedField(name string, trusted bool) bool {
	if name == "" {
		return false
	}
	switch name[0] {
	case 'C', 'F', 'K', 'P', 'T', 'U', 'X', 'x': // the initials of the names below
	default:
		// Most fields of a request (Accept*, Sec-*, Host…): one byte
		// and a scan for "_".
		if strings.IndexByte(name, '_') >= 0 {
			return untrustedField(http.CanonicalHeaderKey(strings.ReplaceAll(name, "_", "-")), trusted)
		}
		return false
	}
	switch name {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	case "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host":
		return !trusted
	case "Forwarded", "X-Forwarded", "X-Real-Ip", "X-Client-Ip", "True-Client-Ip", "X-Cluster-Client-Ip",
		"Cf-Connecting-Ip", "Fastly-Client-Ip", "X-Remote-Addr", "X-Remote-Ip", "X-Originating-Ip",
		"X-Rewrite-Url", "X-Override-Url", "X-Http-Destinationurl", "X-Proxy-Url", "X-Host",
		"X-Http-Method-Override", "X-Http-Method", "X-Method-Override",
		"Front-End-Https", "X-Url-Scheme", "X-Scheme", "X-Arr-Ssl", "X-Envoy-Original-Path",
		"X-Middleware-Subrequest", "Proxy":
		return true
	}
	if len(name) > 2 && (name[0] == 'X' || name[0] == 'x') && name[1] == '-' &&
		(strings.HasPrefix(name, "X-Forwarded-") || strings.HasPrefix(name, "X-Original-")) {
		return true // X-Forwarded-Prefix, -Ssl, -Path, -Port, X-Original-Method, -Host, …
	}
	if strings.IndexByte(name, '_') >= 0 {
		return untrustedField(http.CanonicalHeaderKey(strings.ReplaceAll(name, "_", "-")), trusted)
	}
	return false
}

// screenRequest removes in place, in one pass, the fields no upstream may
// see from this request (the fields its Connection lists, then those of
// untrustedField), and returns how many field lines it had: the bound of
// maxRequestFields counts lines, not names, so 1,000 lines of one field
// are refused as 1,000 fields would be. trusted says whether the request's
// forwarding fields were kept (see trusts).
func (p *Proxy) screenRequest(h http.Header) (lines int, trusted bool) {
	if c, ok := h["Connection"]; ok {
		for _, v := range c {
			for rest := v; rest != ""; {
				var f string
				f, rest, _ = strings.Cut(rest, ",")
				f = strings.TrimSpace(f)
				// "close" names no field and Keep-Alive goes below: the
				// usual values cost nothing.
				if f != "" && !strings.EqualFold(f, "close") && !strings.EqualFold(f, "keep-alive") {
					h.Del(f)
				}
			}
		}
	}
	trusted = p.trusts(h)
	for name, values := range h {
		lines += len(values)
		if untrustedField(name, trusted) {
			delete(h, name)
		}
	}
	return lines, trusted
}

// forwardedScheme is the scheme of the cache key of a request whose
// forwarding fields are trusted (a shield's request from its edge): the
// X-Forwarded-Proto the edge set, which is what the origin sees. A shield
// keyed by its own connection's scheme (always http) would hold one entry
// for an edge's http and https requests, and an origin that answers them
// differently (a redirect to https for http, absolute URLs) would have
// its answers mixed. ok is false when the field is absent or not one
// http or https value.
func forwardedScheme(h http.Header) (scheme string, ok bool) {
	v := h["X-Forwarded-Proto"]
	if len(v) != 1 {
		return "", false
	}
	switch s := strings.ToLower(strings.TrimSpace(v[0])); s {
	case "http", "https":
		return s, true
	}
	return "", false
}

// trusts reports whether a request comes from a downstream whose
// forwarding fields this cache keeps: TrustForwarded, and when EdgeSecret
// is set, the request carries it (compared in constant time).
func (p *Proxy) trusts(h http.Header) bool {
	if !p.TrustForwarded {
		return false
	}
	if p.EdgeSecret == "" {
		return true
	}
	v := h[EdgeSecretField]
	return len(v) == 1 && subtle.ConstantTimeCompare([]byte(v[0]), []byte(p.EdgeSecret)) == 1
}

// fromOwnEdge reports whether a shield's request comes from one of its
// topology's edges (it carries the edge secret): such a request's
// Cache-Control is the edge's own (an edge forwards its clients' only when
// the topology honours them), so the shield honours it even with
// IgnoreRequestCacheControl: an edge revalidating a soft-purged response
// asks with no-cache.
func (p *Proxy) fromOwnEdge(h http.Header) bool {
	return p.Role == RoleShield && p.EdgeSecret != "" && p.trusts(h)
}

// fillSkip reports the client fields a cache fill never forwards: it
// fetches the whole current response and answers conditions and ranges
// itself.
func fillSkip(name string) bool {
	switch name {
	case "If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since",
		"If-Range", "Range", "Content-Length", "Content-Type", "Expect":
		return true
	}
	return false
}

// setFields are the fields whose forwarded value the cache sets or
// rewrites (see forwardedField), rather than passing the client's.
var setFields = []string{
	"Via", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "User-Agent",
	"Accept-Language", "Cache-Control", "Pragma", EdgeSecretField,
}

// forwardedField returns the lines of a request field as the cache
// forwards it upstream (fill: a GET for the cache), the request having
// been screened (screenRequest). upstreamRequest builds the forwarded
// request with it, and stored responses' Vary selecting values are
// compared with it, so a response is selected by exactly what the origin
// saw: a field the cache removed (one listed in Connection) cannot select a
// variant the origin never chose (RFC 9111 §4.1).
func (p *Proxy) forwardedField(r *http.Request, k CacheKey, name string, fill bool) ([]string, bool) {
	h := r.Header
	switch name {
	case "Via":
		return []string{joinList(h["Via"], p.via)}, true
	case "X-Forwarded-For":
		if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			return []string{joinList(h[name], ip)}, true
		}
	case "X-Forwarded-Proto":
		if _, ok := h[name]; !ok {
			return []string{k.Scheme}, true
		}
	case "X-Forwarded-Host":
		if _, ok := h[name]; !ok {
			return []string{k.Host}, true
		}
	case "User-Agent":
		if _, ok := h[name]; !ok {
			return []string{""}, true // not Go's default
		}
	case "Accept-Language":
		if v, ok := h[name]; ok && fill && !p.KeepAcceptLanguage {
			return NormalizeAcceptLanguage(v), true
		}
	case "Cache-Control", "Pragma":
		if fill && p.IgnoreRequestCacheControl {
			return nil, false
		}
	case EdgeSecretField:
		// The client's is never passed on; an edge proves itself to its
		// shield with its own.
		if p.Role == RoleEdge && p.EdgeSecret != "" {
			return []string{p.EdgeSecret}, true
		}
		return nil, false
	}
	if fill && fillSkip(name) {
		return nil, false
	}
	v, ok := h[name]
	return v, ok
}

// varyMatches reports whether a request matches the selecting values
// stored with a response: VaryMatches over the request as forwarded.
func (p *Proxy) varyMatches(stored []VaryValue, r *http.Request, k CacheKey) bool {
	for _, v := range stored {
		values, ok := p.forwardedField(r, k, v.Name, true)
		if !fieldMatches(v, values, ok) {
			return false
		}
	}
	return true
}
