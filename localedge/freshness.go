package localedge

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// This file holds the freshness and storability rules of RFC 9111 as pure
// functions over http.Header and time.Time; the Proxy calls them and the
// tests exercise them without a server.

// Heuristic configures heuristic freshness (RFC 9111 §4.2.2): a fraction of
// the time since Last-Modified, capped.
type Heuristic struct {
	Fraction float64       // 0.1 (10%) when zero, as the RFC suggests
	Max      time.Duration // 24h when zero
}

func (h Heuristic) fraction() float64 {
	if h.Fraction <= 0 {
		return 0.1
	}
	return h.Fraction
}

func (h Heuristic) max() time.Duration {
	if h.Max <= 0 {
		return 24 * time.Hour
	}
	return h.Max
}

// ParseHTTPDate parses an HTTP-date (RFC 9110 §5.6.7) in any of its three
// formats: IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), the obsolete RFC
// 850 ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime ("Sun Nov  6 08:49:37
// 1994") forms. The grammar is applied strictly — fixed two-digit fields,
// single spaces, "GMT" — so malformed values such as "2:01:18", doubled
// spaces or "UTC" are invalid (an invalid Expires means already expired,
// RFC 9111 §5.3); only the case of names is ignored, as many servers send
// "gmt" or "AUG".
func ParseHTTPDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	var layout string
	switch {
	case matchDate(s, "Www, DD Mmm DDDD DD:DD:DD GMT"):
		layout = http.TimeFormat
	case matchDate(s, "Www Mmm _D DD:DD:DD DDDD"):
		layout = time.ANSIC
	default:
		comma := strings.IndexByte(s, ',')
		if comma < 0 || !isDayName(s[:comma]) || !matchDate(s[comma:], ", DD-Mmm-DD DD:DD:DD GMT") {
			return time.Time{}, false
		}
		layout = time.RFC850
	}
	t, err := time.Parse(layout, canonicalDateCase(s))
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// matchDate reports whether s has the shape of pattern, where D is a digit,
// _ a space or a digit, Www a day name, Mmm a month name and GMT "GMT" in
// any case; every other byte must be itself.
func matchDate(s, pattern string) bool {
	if len(s) != len(pattern) {
		return false
	}
	for i := 0; i < len(pattern); i++ {
		switch {
		case strings.HasPrefix(pattern[i:], "Www"):
			if !isDayName(s[i : i+3]) {
				return false
			}
			i += 2
		case strings.HasPrefix(pattern[i:], "Mmm"):
			if !isMonthName(s[i : i+3]) {
				return false
			}
			i += 2
		case strings.HasPrefix(pattern[i:], "GMT"):
			if !strings.EqualFold(s[i:i+3], "GMT") {
				return false
			}
			i += 2
		case pattern[i] == 'D':
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		case pattern[i] == '_':
			if s[i] != ' ' && (s[i] < '0' || s[i] > '9') {
				return false
			}
		case s[i] != pattern[i]:
			return false
		}
	}
	return true
}

var (
	dayNames   = []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}
	monthNames = []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
)

func isDayName(s string) bool {
	return slices.ContainsFunc(dayNames, func(v string) bool { return strings.EqualFold(v, s) })
}
func isMonthName(s string) bool {
	return slices.ContainsFunc(monthNames, func(v string) bool { return strings.EqualFold(v, s) })
}

// canonicalDateCase rewrites the names of a date already checked by
// matchDate in the case time.Parse expects: "THU, 18 AUG 2050 02:01:18 gmt"
// becomes "Thu, 18 Aug 2050 02:01:18 GMT".
func canonicalDateCase(s string) string {
	b := []byte(s)
	upperNext := true
	for i, c := range b {
		isLetter := c|0x20 >= 'a' && c|0x20 <= 'z'
		switch {
		case isLetter && upperNext:
			b[i] = c &^ 0x20
		case isLetter:
			b[i] = c | 0x20
		}
		upperNext = !isLetter
	}
	if n := len(b); n >= 3 && strings.EqualFold(string(b[n-3:]), "GMT") {
		copy(b[n-3:], "GMT")
	}
	return string(b)
}

// AgeValue returns the Age field value in seconds (RFC 9111 §5.1): the first
// member of a list, ignored (ok false) when not a non-negative integer.
func AgeValue(h http.Header) (int64, bool) {
	values := h["Age"]
	if len(values) == 0 {
		return 0, false
	}
	v := values[0]
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	return parseDeltaSeconds(strings.TrimSpace(v))
}

// DateValue returns the Date of a response, or responseTime when it has
// none or an invalid one (RFC 9110 §6.6.1: the recipient uses the time it
// received the message).
func DateValue(h http.Header, responseTime time.Time) time.Time {
	if t, ok := ParseHTTPDate(h.Get("Date")); ok {
		return t
	}
	return responseTime
}

// CorrectedInitialAge is the age of a response when it was received (RFC
// 9111 §4.2.3):
//
//	apparent_age = max(0, response_time - date_value)
//	corrected_age_value = age_value + (response_time - request_time)
//	corrected_initial_age = max(apparent_age, corrected_age_value)
func CorrectedInitialAge(h http.Header, requestTime, responseTime time.Time) time.Duration {
	age, _ := AgeValue(h)
	return InitialAge(DateValue(h, responseTime), age, requestTime, responseTime)
}

// InitialAge is CorrectedInitialAge from a response's date_value (its Date,
// or responseTime when it has none) and age_value (its Age in seconds, 0
// when it has none), for callers that hold them already parsed.
func InitialAge(dateValue time.Time, ageValue int64, requestTime, responseTime time.Time) time.Duration {
	apparent := responseTime.Sub(dateValue)
	if apparent < 0 {
		apparent = 0
	}
	age := ageValue
	delay := responseTime.Sub(requestTime)
	if delay < 0 {
		delay = 0
	}
	corrected := time.Duration(age)*time.Second + delay
	if apparent > corrected {
		return apparent
	}
	return corrected
}

// CurrentAge is corrected_initial_age + resident_time (RFC 9111 §4.2.3).
func CurrentAge(initialAge time.Duration, responseTime, now time.Time) time.Duration {
	resident := now.Sub(responseTime)
	if resident < 0 {
		resident = 0
	}
	return initialAge + resident
}

// FreshnessLifetime computes how long a response stays fresh in a shared
// cache (RFC 9111 §4.2.1): s-maxage, else max-age, else Expires minus Date,
// else a heuristic (§4.2.2) where allowed. heuristic reports that no
// explicit lifetime was given.
func FreshnessLifetime(status int, h http.Header, d ResponseDirectives, responseTime time.Time, heur Heuristic) (lifetime time.Duration, heuristic bool) {
	switch {
	case d.SMaxAge >= 0:
		return time.Duration(d.SMaxAge) * time.Second, false
	case d.MaxAge >= 0:
		return time.Duration(d.MaxAge) * time.Second, false
	}
	if values, ok := h["Expires"]; ok {
		// An invalid Expires, such as "0", means already expired (§5.3);
		// so does more than one (Expires is a singleton field, and §4.2.1
		// lets a cache consider such a response stale).
		if len(values) != 1 {
			return 0, false
		}
		exp, ok := ParseHTTPDate(values[0])
		if !ok {
			return 0, false
		}
		lifetime := exp.Sub(DateValue(h, responseTime))
		if lifetime < 0 {
			lifetime = 0
		}
		return lifetime, false
	}
	if !HeuristicallyCacheable(status) && !d.Public {
		return 0, true
	}
	lm, ok := ParseHTTPDate(h.Get("Last-Modified"))
	if !ok {
		return 0, true
	}
	since := DateValue(h, responseTime).Sub(lm)
	if since <= 0 {
		return 0, true
	}
	lifetime = time.Duration(float64(since) * heur.fraction())
	if lifetime > heur.max() {
		lifetime = heur.max()
	}
	return lifetime, true
}

// HeuristicallyCacheable reports whether a status code is cacheable by
// default (RFC 9110 §15.1): a cache may store it and assign a heuristic
// lifetime without explicit freshness information.
func HeuristicallyCacheable(status int) bool {
	switch status {
	case 200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// understoodStatus reports whether this cache implements the caching
// requirements of a status code (for must-understand, RFC 9111 §5.2.2.3):
// the final status codes defined by RFC 9110.
func understoodStatus(status int) bool {
	switch status {
	case 200, 201, 202, 203, 204, 205, 206,
		300, 301, 302, 303, 304, 305, 307, 308,
		400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421, 422, 426,
		500, 501, 502, 503, 504, 505:
		return true
	}
	return false
}

// Storable decides whether a shared cache may store a response to a GET
// (RFC 9111 §3, §3.5). reason names the rule that forbids it, as used in
// Cache-Status details.
func Storable(reqHeader http.Header, reqd RequestDirectives, status int, h http.Header, d ResponseDirectives) (ok bool, reason string) {
	switch {
	case status < 200:
		return false, "interim-status"
	case status == http.StatusPartialContent || status == http.StatusNotModified:
		// Partial and 304 responses update stored ones; they are not
		// stored on their own here (§3.3, §4.3.4).
		return false, "partial-or-not-modified"
	}
	if d.MustUnderstand {
		// §5.2.2.3: no-store is ignored when the status is understood.
		if !understoodStatus(status) {
			return false, "must-understand"
		}
	} else if d.NoStore {
		return false, "no-store"
	}
	if reqd.NoStore {
		return false, "request-no-store"
	}
	if d.Private {
		return false, "private"
	}
	if reqHeader.Get("Authorization") != "" && !d.Public && !d.MustRevalidate && d.SMaxAge < 0 {
		return false, "authorization"
	}
	if v := h.Values("Vary"); len(v) > 0 {
		if _, star := VaryFields(h); star {
			return false, "vary-star"
		}
	}
	if d.Public || d.MaxAge >= 0 || d.SMaxAge >= 0 || len(h["Expires"]) > 0 || HeuristicallyCacheable(status) {
		return true, ""
	}
	return false, "uncacheable-status"
}

// allowsStale reports whether a stored response may be served stale (RFC
// 9111 §4.2.4): must-revalidate, proxy-revalidate and no-cache forbid it,
// and so does s-maxage, which implies proxy-revalidate for a shared cache
// (§5.2.2.10). extension says the staleness comes from an explicit
// stale-while-revalidate or stale-if-error in the same response (RFC
// 5861): that overrides the implied proxy-revalidate of s-maxage, so the
// common "s-maxage=60, stale-while-revalidate=30" works as origins intend.
func (d ResponseDirectives) allowsStale(extension bool) bool {
	if d.MustRevalidate || d.ProxyRevalidate || d.NoCache {
		return false
	}
	return d.SMaxAge < 0 || extension
}
