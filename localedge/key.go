package localedge

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// KeyOptions configures the cache key: by default scheme + host + path +
// the full query string (RFC 9111 §2). The key is also the request that
// goes upstream: a query parameter left out of the key is left out of the
// upstream request too, so no unkeyed part of a request can change a
// response that others are served (cache poisoning).
type KeyOptions struct {
	// IgnoreQuery drops the whole query string.
	IgnoreQuery bool `json:"ignore_query,omitempty"`
	// SortQuery orders query parameters by name, so ?a=1&b=2 and ?b=2&a=1
	// share an entry.
	SortQuery bool `json:"sort_query,omitempty"`
	// IgnoreParams are query parameters dropped from the key and the
	// upstream request (utm_source, fbclid).
	IgnoreParams []string `json:"ignore_params,omitempty"`
	// Headers are request fields whose values become part of the key.
	Headers []string `json:"headers,omitempty"`
}

// CacheKey is a normalised request target: the primary cache key and the
// parts the upstream request is built from.
type CacheKey struct {
	Key      string // URL plus the configured request fields
	URL      string // scheme://host/path?query
	Scheme   string
	Host     string // lower case, without the scheme's default port
	Path     string // normalised, percent-encoded
	RawQuery string // normalised, without "?"
}

// ErrBadRequestTarget is wrapped by the errors of KeyOptions.Build.
var ErrBadRequestTarget = errors.New("invalid request target")

// Build normalises a request target into a CacheKey: scheme and host
// lower-cased, the scheme's default port removed, percent-encodings
// upper-cased and those of unreserved characters decoded, dot segments
// removed (RFC 3986 §6.2.2), then the query options applied. h supplies
// the values of KeyOptions.Headers.
func (o KeyOptions) Build(scheme, host, path, rawQuery string, h http.Header) (CacheKey, error) {
	scheme = strings.ToLower(scheme)
	if scheme != "http" && scheme != "https" {
		return CacheKey{}, fmt.Errorf("%w: scheme %q: want http or https", ErrBadRequestTarget, scheme)
	}
	host, err := normalizeHost(scheme, host)
	if err != nil {
		return CacheKey{}, err
	}
	if path == "" {
		path = "/"
	}
	if path[0] != '/' {
		return CacheKey{}, fmt.Errorf("%w: path %q: want an absolute path", ErrBadRequestTarget, truncate(path))
	}
	path = removeDotSegments(normalizePercent(path, pathChar))
	query := ""
	if !o.IgnoreQuery && rawQuery != "" {
		query = o.normalizeQuery(normalizePercent(rawQuery, queryChar))
	}
	var b strings.Builder
	b.Grow(len(scheme) + 3 + len(host) + len(path) + 1 + len(query))
	b.WriteString(scheme)
	b.WriteString("://")
	b.WriteString(host)
	b.WriteString(path)
	if query != "" {
		b.WriteByte('?')
		b.WriteString(query)
	}
	u := b.String()
	k := CacheKey{Key: u, URL: u, Scheme: scheme, Host: host, Path: path, RawQuery: query}
	if len(o.Headers) > 0 {
		for _, name := range o.Headers {
			name = http.CanonicalHeaderKey(name)
			b.WriteByte('\n')
			b.WriteString(name)
			if values, ok := h[name]; ok {
				b.WriteString(": ")
				b.WriteString(strings.Map(dropControl, NormalizeFieldValue(values)))
			}
		}
		k.Key = b.String()
	}
	return k, nil
}

// KeyFor builds the key of an incoming request. scheme is "https" when the
// connection used TLS, else "http".
func (o KeyOptions) KeyFor(r *http.Request) (CacheKey, error) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if r.URL.Opaque != "" {
		return CacheKey{}, fmt.Errorf("%w: opaque URL", ErrBadRequestTarget)
	}
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	return o.Build(scheme, host, r.URL.EscapedPath(), r.URL.RawQuery, r.Header)
}

func dropControl(r rune) rune {
	if r < 0x20 || r == 0x7f {
		return -1
	}
	return r
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// normalizeHost lower-cases a Host value and removes the scheme's default
// port. It accepts a registered name (letters, digits, "-", ".", "_", "~"),
// an IPv4 address or a bracketed IPv6 literal, with an optional port.
func normalizeHost(scheme, host string) (string, error) {
	if host == "" {
		return "", fmt.Errorf("%w: missing host", ErrBadRequestTarget)
	}
	if len(host) > 262 {
		return "", fmt.Errorf("%w: host longer than 255 characters", ErrBadRequestTarget)
	}
	host = strings.ToLower(host)
	name, port := host, ""
	if strings.HasPrefix(host, "[") {
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return "", fmt.Errorf("%w: host %q: unterminated IPv6 literal", ErrBadRequestTarget, truncate(host))
		}
		name, port = host[:end+1], host[end+1:]
		for i := 1; i < len(name)-1; i++ {
			c := name[i]
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c == ':' || c == '.') {
				return "", fmt.Errorf("%w: host %q: invalid IPv6 literal", ErrBadRequestTarget, truncate(host))
			}
		}
		if len(name) < 3 {
			return "", fmt.Errorf("%w: host %q: empty IPv6 literal", ErrBadRequestTarget, truncate(host))
		}
	} else if i := strings.IndexByte(host, ':'); i >= 0 {
		name, port = host[:i], host[i:]
	}
	if port != "" {
		if port[0] != ':' {
			return "", fmt.Errorf("%w: host %q: want host[:port]", ErrBadRequestTarget, truncate(host))
		}
		digits := port[1:]
		if len(digits) == 0 || len(digits) > 5 {
			return "", fmt.Errorf("%w: host %q: invalid port", ErrBadRequestTarget, truncate(host))
		}
		for i := 0; i < len(digits); i++ {
			if digits[i] < '0' || digits[i] > '9' {
				return "", fmt.Errorf("%w: host %q: invalid port", ErrBadRequestTarget, truncate(host))
			}
		}
		if (scheme == "http" && digits == "80") || (scheme == "https" && digits == "443") {
			port = ""
		}
	}
	if !strings.HasPrefix(name, "[") {
		if name == "" {
			return "", fmt.Errorf("%w: host %q: empty name", ErrBadRequestTarget, truncate(host))
		}
		for i := 0; i < len(name); i++ {
			c := name[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
				return "", fmt.Errorf("%w: host %q: invalid character %q", ErrBadRequestTarget, truncate(host), c)
			}
		}
	}
	return name + port, nil
}

// Character classes kept literal by normalizePercent (RFC 3986 §3.3, §3.4).
func pathChar(c byte) bool {
	return isUnreserved(c) || isSubDelim(c) || c == ':' || c == '@' || c == '/'
}

func queryChar(c byte) bool { return pathChar(c) || c == '?' }

func isUnreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

func isSubDelim(c byte) bool {
	switch c {
	case '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=':
		return true
	}
	return false
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

const upperHex = "0123456789ABCDEF"

// normalizePercent applies percent-encoding normalisation (RFC 3986
// §6.2.2.1, §6.2.2.2): upper-case hex digits, decode unreserved characters,
// and encode any byte that may not appear literally (including a "%" that
// starts no valid escape).
func normalizePercent(s string, literal func(byte) bool) string {
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' || !literal(c) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) {
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				v := hi<<4 | lo
				if isUnreserved(v) {
					b.WriteByte(v)
				} else {
					b.WriteByte('%')
					b.WriteByte(upperHex[v>>4])
					b.WriteByte(upperHex[v&15])
				}
				i += 2
				continue
			}
		}
		if c != '%' && literal(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&15])
	}
	return b.String()
}

// removeDotSegments resolves "." and ".." segments of an absolute path (RFC
// 3986 §5.2.4), so /a/./b/../c and /a/c are one key and one upstream path.
func removeDotSegments(p string) string {
	if !strings.Contains(p, "/.") {
		return p
	}
	segs := strings.Split(p[1:], "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	return "/" + strings.Join(out, "/")
}

// normalizeQuery applies IgnoreParams and SortQuery to a normalised query.
func (o KeyOptions) normalizeQuery(q string) string {
	if len(o.IgnoreParams) == 0 && !o.SortQuery {
		return q
	}
	params := strings.Split(q, "&")
	kept := params[:0]
	for _, p := range params {
		name, _, _ := strings.Cut(p, "=")
		if slices.Contains(o.IgnoreParams, name) {
			continue
		}
		kept = append(kept, p)
	}
	if o.SortQuery {
		slices.SortStableFunc(kept, func(a, b string) int {
			an, _, _ := strings.Cut(a, "=")
			bn, _, _ := strings.Cut(b, "=")
			return strings.Compare(an, bn)
		})
	}
	return strings.Join(kept, "&")
}
