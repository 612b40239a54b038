package localedge

import (
	"net/http"
	"slices"
	"strings"
)

// Targeted cache-control fields (RFC 9213): a response field aimed at one
// class of caches that, when present and valid, replaces Cache-Control for
// them. CDN-Cache-Control is a Structured Field Dictionary (RFC 8941);
// Surrogate-Control (W3C Edge Architecture) uses Cache-Control's syntax.

// defaultTargetedFields are the targeted fields a Proxy honours, in order of
// precedence.
var defaultTargetedFields = []string{"CDN-Cache-Control", "Surrogate-Control"}

// DefaultTargetedFields returns the targeted fields a Proxy honours when
// its TargetedFields is nil.
func DefaultTargetedFields() []string { return slices.Clone(defaultTargetedFields) }

// SelectDirectives returns the caching directives that govern a response
// for this cache (RFC 9213 §2.2): those of the first targeted field in
// fields that is present and valid, else those of Cache-Control. source is
// the field used ("" when neither is present).
func SelectDirectives(h http.Header, fields []string) (d ResponseDirectives, source string) {
	for _, name := range fields {
		values := h.Values(name)
		if len(values) == 0 {
			continue
		}
		if http.CanonicalHeaderKey(name) == "Surrogate-Control" && onlyContentDirective(values) {
			// `content="ESI/1.0"` alone says what to process, not how
			// long to cache: Cache-Control governs (as in Varnish and
			// Fastly).
			continue
		}
		if http.CanonicalHeaderKey(name) == "Cdn-Cache-Control" {
			if td, ok := ParseCDNCacheControl(values); ok {
				return td, name
			}
			// An invalid dictionary is ignored as a whole (RFC 9213 §2.1).
			continue
		}
		return ParseCacheControl(values), name
	}
	cc := h.Values("Cache-Control")
	if len(cc) == 0 {
		return noDirectives(), ""
	}
	return ParseCacheControl(cc), "Cache-Control"
}

// onlyContentDirective reports whether Surrogate-Control lines hold no
// directive but content (the W3C Edge Architecture's processing
// capabilities, such as content="ESI/1.0").
func onlyContentDirective(values []string) bool {
	for _, v := range values {
		quoted, start := false, 0
		for i := 0; i <= len(v); i++ {
			if i < len(v) && v[i] == '"' {
				quoted = !quoted
			}
			if i < len(v) && (quoted || v[i] != ',') {
				continue
			}
			d := strings.TrimSpace(v[start:i])
			start = i + 1
			name, _, _ := strings.Cut(d, "=")
			if name = strings.TrimSpace(name); name != "" && !strings.EqualFold(name, "content") {
				return false
			}
		}
	}
	return true
}

// ParseCDNCacheControl parses CDN-Cache-Control field lines as an RFC 8941
// Dictionary and maps its members onto cache directives (RFC 9213 §2.1).
// ok is false when the field is not a valid Dictionary or a known
// directive has a value of the wrong type (max-age="10"): then the whole
// field must be ignored.
func ParseCDNCacheControl(values []string) (ResponseDirectives, bool) {
	members, ok := parseSFDictionary(strings.Join(values, ", "))
	if !ok {
		return ResponseDirectives{}, false
	}
	d := noDirectives()
	for _, m := range members {
		switch m.key {
		case "max-age", "s-maxage", "stale-while-revalidate", "stale-if-error":
			if m.kind != sfInteger || m.num < 0 {
				return ResponseDirectives{}, false
			}
			n := m.num
			if n > maxDelta {
				n = maxDelta
			}
			switch m.key {
			case "max-age":
				d.MaxAge = n
			case "s-maxage":
				d.SMaxAge = n
			case "stale-while-revalidate":
				d.StaleWhileRevalidate = n
			case "stale-if-error":
				d.StaleIfError = n
			}
		case "no-store", "public", "must-revalidate", "proxy-revalidate", "immutable", "must-understand", "no-transform":
			if m.kind != sfBoolean {
				return ResponseDirectives{}, false
			}
			if !m.boolean {
				continue
			}
			switch m.key {
			case "no-store":
				d.NoStore = true
			case "public":
				d.Public = true
			case "must-revalidate":
				d.MustRevalidate = true
			case "proxy-revalidate":
				d.ProxyRevalidate = true
			case "immutable":
				d.Immutable = true
			case "must-understand":
				d.MustUnderstand = true
			case "no-transform":
				d.NoTransform = true
			}
		case "no-cache", "private":
			var fields []string
			switch {
			case m.kind == sfBoolean && m.boolean:
			case m.kind == sfBoolean:
				continue
			case m.kind == sfString:
				fields = fieldNames(m.str)
			default:
				return ResponseDirectives{}, false
			}
			if m.key == "no-cache" {
				d.NoCacheFields = fields
				d.NoCache = len(fields) == 0
			} else {
				d.PrivateFields = fields
				d.Private = len(fields) == 0
			}
		}
	}
	return d, true
}

type sfKind uint8

const (
	sfBoolean sfKind = iota
	sfInteger
	sfDecimal
	sfString
	sfToken
	sfBinary
	sfInnerList
)

// sfMember is one Dictionary member: only what cache directives need.
type sfMember struct {
	key     string
	kind    sfKind
	boolean bool
	num     int64
	str     string
}

// parseSFDictionary parses an RFC 8941 §4.2.2 Dictionary. Duplicate keys:
// the last one wins (§3.2).
func parseSFDictionary(s string) ([]sfMember, bool) {
	p := sfParser{s: s}
	p.skipSP()
	var out []sfMember
	index := map[string]int{}
	for !p.eof() {
		key, ok := p.key()
		if !ok {
			return nil, false
		}
		m := sfMember{key: key, kind: sfBoolean, boolean: true}
		if p.peek() == '=' {
			p.i++
			if p.peek() == '(' {
				if !p.innerList() {
					return nil, false
				}
				m = sfMember{key: key, kind: sfInnerList}
			} else {
				if !p.bareItem(&m) {
					return nil, false
				}
				if !p.params() {
					return nil, false
				}
			}
		} else if !p.params() {
			return nil, false
		}
		if j, dup := index[key]; dup {
			out[j] = m
		} else {
			index[key] = len(out)
			out = append(out, m)
		}
		p.skipOWS()
		if p.eof() {
			return out, true
		}
		if p.s[p.i] != ',' {
			return nil, false
		}
		p.i++
		p.skipOWS()
		if p.eof() {
			return nil, false // trailing comma
		}
	}
	return out, true
}

type sfParser struct {
	s string
	i int
}

func (p *sfParser) eof() bool { return p.i >= len(p.s) }

func (p *sfParser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.s[p.i]
}

func (p *sfParser) skipSP() {
	for !p.eof() && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *sfParser) skipOWS() {
	for !p.eof() && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *sfParser) key() (string, bool) {
	c := p.peek()
	if !(c >= 'a' && c <= 'z' || c == '*') {
		return "", false
	}
	start := p.i
	for !p.eof() {
		c := p.s[p.i]
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '*' {
			p.i++
			continue
		}
		break
	}
	return p.s[start:p.i], true
}

func (p *sfParser) params() bool {
	for p.peek() == ';' {
		p.i++
		p.skipSP()
		if _, ok := p.key(); !ok {
			return false
		}
		if p.peek() == '=' {
			p.i++
			var m sfMember
			if !p.bareItem(&m) {
				return false
			}
		}
	}
	return true
}

func (p *sfParser) innerList() bool {
	p.i++ // '('
	for !p.eof() {
		p.skipSP()
		if p.peek() == ')' {
			p.i++
			return p.params()
		}
		var m sfMember
		if !p.bareItem(&m) || !p.params() {
			return false
		}
		c := p.peek()
		if c != ' ' && c != ')' {
			return false
		}
	}
	return false
}

func (p *sfParser) bareItem(m *sfMember) bool {
	c := p.peek()
	switch {
	case c == '-' || c >= '0' && c <= '9':
		return p.number(m)
	case c == '"':
		return p.sfString(m)
	case c == ':':
		p.i++
		for !p.eof() && p.s[p.i] != ':' {
			b := p.s[p.i]
			if !(b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '+' || b == '/' || b == '=') {
				return false
			}
			p.i++
		}
		if p.eof() {
			return false
		}
		p.i++
		m.kind = sfBinary
		return true
	case c == '?':
		p.i++
		switch p.peek() {
		case '0':
			m.kind, m.boolean = sfBoolean, false
		case '1':
			m.kind, m.boolean = sfBoolean, true
		default:
			return false
		}
		p.i++
		return true
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '*':
		start := p.i
		for !p.eof() && (isTokenChar(p.s[p.i]) || p.s[p.i] == ':' || p.s[p.i] == '/') {
			p.i++
		}
		m.kind, m.str = sfToken, p.s[start:p.i]
		return true
	}
	return false
}

// number parses an sf-integer (at most 15 digits) or sf-decimal (at most
// 12 integer and 3 fraction digits).
func (p *sfParser) number(m *sfMember) bool {
	neg := false
	if p.peek() == '-' {
		neg = true
		p.i++
	}
	if c := p.peek(); c < '0' || c > '9' {
		return false
	}
	var n int64
	digits, frac := 0, -1
	for !p.eof() {
		c := p.s[p.i]
		if c >= '0' && c <= '9' {
			if frac >= 0 {
				frac++
				if frac > 3 {
					return false
				}
			} else {
				digits++
				if digits > 15 {
					return false
				}
				n = n*10 + int64(c-'0')
			}
			p.i++
			continue
		}
		if c == '.' && frac < 0 {
			if digits > 12 {
				return false
			}
			frac = 0
			p.i++
			continue
		}
		break
	}
	if frac == 0 {
		return false // "1." is not a decimal
	}
	if neg {
		n = -n
	}
	if frac > 0 {
		m.kind = sfDecimal
	} else {
		m.kind, m.num = sfInteger, n
	}
	return true
}

func (p *sfParser) sfString(m *sfMember) bool {
	p.i++ // '"'
	var b strings.Builder
	for !p.eof() {
		c := p.s[p.i]
		p.i++
		switch {
		case c == '\\':
			if p.eof() {
				return false
			}
			next := p.s[p.i]
			if next != '"' && next != '\\' {
				return false
			}
			b.WriteByte(next)
			p.i++
		case c == '"':
			m.kind, m.str = sfString, b.String()
			return true
		case c < 0x20 || c > 0x7e:
			return false
		default:
			b.WriteByte(c)
		}
	}
	return false
}
