package localedge

import (
	"net/http"
	"strings"
)

// This file parses Cache-Control style directive lists (RFC 9111 §5.2) into
// the small structures the freshness functions use. Parsing never fails: a
// malformed member is skipped, as RFC 9111 §5.2 and §4.2.1 ask of caches,
// and an invalid argument of a known directive is recorded as such so the
// response can be treated as stale.

// maxDelta is the value a cache uses for a delta-seconds it cannot
// represent: 2^31 (RFC 9111 §1.2.2).
const maxDelta = 1 << 31

// absent marks a numeric directive that was not present.
const absent = -1

// ResponseDirectives are the response cache directives of RFC 9111 §5.2.2
// and RFC 5861, as they apply to a shared cache. Numeric fields are seconds,
// or -1 when the directive is absent; a directive present with an invalid
// argument (max-age=abc) is 0, which makes the response stale (§4.2.1).
type ResponseDirectives struct {
	MaxAge  int64 // max-age (§5.2.2.1)
	SMaxAge int64 // s-maxage (§5.2.2.10)

	NoCache       bool     // no-cache (§5.2.2.4)
	NoCacheFields []string // its field-name form: those fields need revalidation
	NoStore       bool     // no-store (§5.2.2.5)
	Private       bool     // unqualified private (§5.2.2.7)
	PrivateFields []string // private="field": a shared cache stores the rest

	Public          bool // public (§5.2.2.9)
	MustRevalidate  bool // must-revalidate (§5.2.2.2)
	ProxyRevalidate bool // proxy-revalidate (§5.2.2.8)
	MustUnderstand  bool // must-understand (§5.2.2.3)
	NoTransform     bool // no-transform (§5.2.2.6)
	Immutable       bool // immutable (RFC 8246)

	StaleWhileRevalidate int64 // stale-while-revalidate (RFC 5861 §3)
	StaleIfError         int64 // stale-if-error (RFC 5861 §4)
}

// noDirectives returns ResponseDirectives with every numeric directive
// absent.
func noDirectives() ResponseDirectives {
	return ResponseDirectives{MaxAge: absent, SMaxAge: absent, StaleWhileRevalidate: absent, StaleIfError: absent}
}

// ParseCacheControl parses the Cache-Control field lines of a response (RFC
// 9111 §5.2). Several lines are one comma-separated list (RFC 9110 §5.3).
// Directive names are case-insensitive; unknown directives are ignored
// (§5.2.3); when a directive repeats, the first occurrence counts (§4.2.1).
func ParseCacheControl(values []string) ResponseDirectives {
	d := noDirectives()
	seen := 0 // bit set of directives already taken
	for _, v := range values {
		parseDirectiveList(v, func(name, arg string, hasArg, ok bool) {
			d.set(&seen, name, arg, hasArg, ok)
		})
	}
	return d
}

// Bits of ResponseDirectives.set's "seen" set.
const (
	seenMaxAge = 1 << iota
	seenSMaxAge
	seenNoCache
	seenPrivate
	seenSWR
	seenSIE
)

func (d *ResponseDirectives) set(seen *int, name, arg string, hasArg, ok bool) {
	first := func(bit int) bool {
		if *seen&bit != 0 {
			return false
		}
		*seen |= bit
		return true
	}
	switch name {
	case "max-age":
		if first(seenMaxAge) {
			d.MaxAge = deltaOrZero(arg, hasArg, ok)
		}
	case "s-maxage":
		if first(seenSMaxAge) {
			d.SMaxAge = deltaOrZero(arg, hasArg, ok)
		}
	case "no-cache":
		if first(seenNoCache) {
			if hasArg && ok {
				d.NoCacheFields = fieldNames(arg)
			}
			// An argument that names no field, or a malformed one, is the
			// unqualified (stricter) form.
			if len(d.NoCacheFields) == 0 {
				d.NoCache = true
			}
		}
	case "no-store":
		d.NoStore = true
	case "private":
		if first(seenPrivate) {
			if hasArg && ok {
				d.PrivateFields = fieldNames(arg)
			}
			if len(d.PrivateFields) == 0 {
				d.Private = true
			}
		}
	case "public":
		d.Public = true
	case "must-revalidate":
		d.MustRevalidate = true
	case "proxy-revalidate":
		d.ProxyRevalidate = true
	case "must-understand":
		d.MustUnderstand = true
	case "no-transform":
		d.NoTransform = true
	case "immutable":
		d.Immutable = true
	case "stale-while-revalidate":
		if first(seenSWR) {
			d.StaleWhileRevalidate = deltaOrAbsent(arg, hasArg, ok)
		}
	case "stale-if-error":
		if first(seenSIE) {
			d.StaleIfError = deltaOrAbsent(arg, hasArg, ok)
		}
	}
}

// deltaOrZero is the value of a freshness directive: its delta-seconds, or
// 0 (stale) when the argument is missing or invalid (RFC 9111 §4.2.1:
// "consider responses that have invalid freshness information ... to be
// stale").
func deltaOrZero(arg string, hasArg, ok bool) int64 {
	if !hasArg || !ok {
		return 0
	}
	n, valid := parseDeltaSeconds(arg)
	if !valid {
		return 0
	}
	return n
}

// deltaOrAbsent is the value of a directive that only extends what a cache
// may do: an invalid argument grants nothing.
func deltaOrAbsent(arg string, hasArg, ok bool) int64 {
	if !hasArg || !ok {
		return absent
	}
	n, valid := parseDeltaSeconds(arg)
	if !valid {
		return absent
	}
	return n
}

// RequestDirectives are the request cache directives of RFC 9111 §5.2.1
// (and stale-if-error, RFC 5861 §4). Numeric fields are seconds, -1 when
// absent.
type RequestDirectives struct {
	MaxAge       int64 // max-age (§5.2.1.1)
	MaxStale     int64 // max-stale (§5.2.1.2); maxDelta when given without a value
	MinFresh     int64 // min-fresh (§5.2.1.3)
	NoCache      bool  // no-cache (§5.2.1.4)
	NoStore      bool  // no-store (§5.2.1.5)
	OnlyIfCached bool  // only-if-cached (§5.2.1.7)
	StaleIfError int64 // stale-if-error (RFC 5861 §4)
}

// ParseRequestCacheControl parses the Cache-Control lines of a request (RFC
// 9111 §5.2.1). Invalid arguments make the directive absent, except
// max-age, where an invalid value asks for validation (0).
func ParseRequestCacheControl(values []string) RequestDirectives {
	d := RequestDirectives{MaxAge: absent, MaxStale: absent, MinFresh: absent, StaleIfError: absent}
	for _, v := range values {
		parseDirectiveList(v, func(name, arg string, hasArg, ok bool) {
			switch name {
			case "max-age":
				if d.MaxAge == absent {
					d.MaxAge = deltaOrZero(arg, hasArg, ok)
				}
			case "max-stale":
				if d.MaxStale == absent {
					if !hasArg {
						d.MaxStale = maxDelta // any staleness (§5.2.1.2)
					} else {
						d.MaxStale = deltaOrAbsent(arg, hasArg, ok)
					}
				}
			case "min-fresh":
				if d.MinFresh == absent {
					d.MinFresh = deltaOrAbsent(arg, hasArg, ok)
				}
			case "no-cache":
				d.NoCache = true
			case "no-store":
				d.NoStore = true
			case "only-if-cached":
				d.OnlyIfCached = true
			case "stale-if-error":
				if d.StaleIfError == absent {
					d.StaleIfError = deltaOrAbsent(arg, hasArg, ok)
				}
			}
		})
	}
	return d
}

// parseDirectiveList splits one field line of a Cache-Control style list
// into directives and calls fn with each lower-cased name and its
// argument. hasArg reports an "=", ok whether the member was well formed:
// a token name directly followed by "=" and a token or a complete
// quoted-string (whose escapes are removed), then only whitespace before
// the next comma. Members with an invalid name are skipped; commas inside
// quoted strings do not split.
func parseDirectiveList(s string, fn func(name, arg string, hasArg, ok bool)) {
	i := 0
	for i < len(s) {
		// Skip separators and whitespace before a member.
		for i < len(s) && (s[i] == ',' || s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i >= len(s) {
			return
		}
		start := i
		for i < len(s) && isTokenChar(s[i]) {
			i++
		}
		name := s[start:i]
		if name == "" {
			// Not a directive: skip to the next comma outside quotes.
			i = skipMember(s, i)
			continue
		}
		if i >= len(s) || s[i] == ',' {
			fn(strings.ToLower(name), "", false, true)
			continue
		}
		if s[i] == ' ' || s[i] == '\t' {
			// Whitespace after the name: fine before a comma or the end,
			// invalid before "=" ("max-age =5").
			j := i
			for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
				j++
			}
			if j >= len(s) || s[j] == ',' {
				fn(strings.ToLower(name), "", false, true)
				i = j
				continue
			}
			i = skipMember(s, i)
			continue
		}
		if s[i] != '=' {
			i = skipMember(s, i)
			continue
		}
		i++ // '='
		var arg string
		ok := true
		switch {
		case i < len(s) && s[i] == '"':
			var closed bool
			arg, i, closed = readQuoted(s, i)
			ok = closed
		default:
			vs := i
			for i < len(s) && isTokenChar(s[i]) {
				i++
			}
			arg = s[vs:i]
			ok = arg != ""
		}
		// Only whitespace may follow the argument.
		j := i
		for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
			j++
		}
		if j < len(s) && s[j] != ',' {
			ok = false
			j = skipMember(s, j)
		}
		i = j
		fn(strings.ToLower(name), arg, true, ok)
	}
}

// readQuoted reads the quoted-string starting at s[i] == '"' and returns its
// unescaped content, the index after it and whether it was terminated.
func readQuoted(s string, i int) (string, int, bool) {
	i++ // opening quote
	var b strings.Builder
	plain := i
	for i < len(s) {
		switch s[i] {
		case '"':
			if b.Len() == 0 {
				return s[plain:i], i + 1, true
			}
			b.WriteString(s[plain:i])
			return b.String(), i + 1, true
		case '\\':
			b.WriteString(s[plain:i])
			if i+1 < len(s) {
				b.WriteByte(s[i+1])
				i += 2
			} else {
				i++
			}
			plain = i
		default:
			i++
		}
	}
	b.WriteString(s[plain:])
	return b.String(), i, false
}

// skipMember advances past the rest of a list member: to the next comma
// that is not inside a quoted string.
func skipMember(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case ',':
			return i
		case '"':
			_, i, _ = readQuoted(s, i)
		default:
			i++
		}
	}
	return i
}

// isTokenChar reports whether c is a tchar (RFC 9110 §5.6.2).
func isTokenChar(c byte) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// parseDeltaSeconds parses delta-seconds (RFC 9111 §1.2.2): one or more
// digits, leading zeros allowed; values beyond 2^31 become 2^31.
func parseDeltaSeconds(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n < maxDelta {
			n = n*10 + int64(c-'0')
		}
	}
	if n > maxDelta {
		n = maxDelta
	}
	return n, true
}

// fieldNames splits the argument of a qualified no-cache or private
// directive ("Set-Cookie, X-Foo") into canonical field names.
func fieldNames(arg string) []string {
	var names []string
	for _, f := range strings.Split(arg, ",") {
		f = strings.TrimSpace(f)
		if f == "" || !isToken(f) {
			continue
		}
		names = append(names, http.CanonicalHeaderKey(f))
	}
	return names
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}
