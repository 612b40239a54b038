package localedge

import (
	"strconv"
	"strings"
)

// Forward reasons of the Cache-Status "fwd" parameter (RFC 9211 §2.2).
const (
	FwdBypass   = "bypass"    // configured or method not to use the cache
	FwdMethod   = "method"    // the request method's semantics require forwarding
	FwdURIMiss  = "uri-miss"  // nothing stored for the URI
	FwdVaryMiss = "vary-miss" // stored responses, none matching the request's Vary fields
	FwdMiss     = "miss"      // no usable stored response (reason not distinguished)
	FwdRequest  = "request"   // the request asked to bypass (no-cache, max-age)
	FwdStale    = "stale"     // the stored response was stale: revalidated
	FwdPartial  = "partial"   // only part of the response was stored
)

// CacheStatus is one cache's entry in the Cache-Status response field (RFC
// 9211 §2): whether it served a hit or forwarded, and why.
type CacheStatus struct {
	Cache     string // identifier: the PoP name
	Hit       bool
	Fwd       string // one of the Fwd* reasons when not a hit
	FwdStatus int    // status of the forwarded response (0: omitted)
	TTL       int64  // seconds of freshness left; negative when stale
	HasTTL    bool
	Stored    bool // the forwarded response was stored
	Collapsed bool // the request was collapsed with another one
	Detail    string
}

// String formats the entry as an RFC 8941 List member:
// `pop1; hit; ttl=30` or `pop1; fwd=uri-miss; fwd-status=200; stored`.
func (s CacheStatus) String() string {
	b := make([]byte, 0, 64)
	return string(s.appendTo(b))
}

func (s CacheStatus) appendTo(b []byte) []byte {
	b = appendSFTokenOrString(b, s.Cache)
	if s.Hit {
		b = append(b, "; hit"...)
	} else if s.Fwd != "" {
		b = append(b, "; fwd="...)
		b = append(b, s.Fwd...)
		if s.FwdStatus > 0 {
			b = append(b, "; fwd-status="...)
			b = strconv.AppendInt(b, int64(s.FwdStatus), 10)
		}
	}
	if s.HasTTL {
		b = append(b, "; ttl="...)
		b = strconv.AppendInt(b, s.TTL, 10)
	}
	if s.Stored {
		b = append(b, "; stored"...)
	}
	if s.Collapsed {
		b = append(b, "; collapsed"...)
	}
	if s.Detail != "" {
		b = append(b, "; detail="...)
		b = appendSFTokenOrString(b, s.Detail)
	}
	return b
}

// appendSFTokenOrString writes v as an sf-token when it is one, else as an
// sf-string with '"' and '\' escaped and other non-printable bytes dropped
// (RFC 8941 §3.3.3, §3.3.4).
func appendSFTokenOrString(b []byte, v string) []byte {
	if isSFToken(v) {
		return append(b, v...)
	}
	b = append(b, '"')
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c > 0x7e:
			// not representable in an sf-string
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

func isSFToken(v string) bool {
	if v == "" {
		return false
	}
	c := v[0]
	if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '*') {
		return false
	}
	for i := 1; i < len(v); i++ {
		if c := v[i]; !isTokenChar(c) && c != ':' && c != '/' {
			return false
		}
	}
	return true
}

// appendCacheStatus returns the Cache-Status field value with s appended
// to the upstream entries in prev (RFC 9211 §2: the cache closest to the
// client comes last).
func appendCacheStatus(prev []string, s CacheStatus) string {
	var b []byte
	for _, p := range prev {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		b = append(b, p...)
		b = append(b, ", "...)
	}
	return string(s.appendTo(b))
}
