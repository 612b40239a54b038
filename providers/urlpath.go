package providers

import "strings"

// CanonicalPath returns a URL path (with its query string, if any) in the
// one form a browser sends it and a CDN keys its cache on, however it was
// typed: "/a b/", "/a%20b/" and "/a%20b/" from "https://host/a b/" all
// become "/a%20b/". Purging a path in another form than the cached one
// purges nothing, so every provider that sends URLs or prefixes uses it.
//
// The rules are the WHATWG URL Standard's (what browsers do) with RFC 3986
// §6.2.2 normalization (what CDNs that normalize URLs do):
//   - control characters, space, non-ASCII bytes and " < > ` { } ^ are
//     percent-encoded in the path (the URL Standard's path percent-encode
//     set); in the query, control characters, space, non-ASCII, " < > and
//     ' are (its special-query percent-encode set);
//   - existing escapes are kept, with upper-case hex digits (§6.2.2.1),
//     except escapes of unreserved characters (letters, digits, - . _ ~),
//     which are decoded (§6.2.2.2);
//   - a % that starts no escape becomes %25.
//
// A fragment must have been removed before.
func CanonicalPath(p string) string {
	path, query, hasQuery := strings.Cut(p, "?")
	out := canonicalEscape(path, "\"<>`{}^")
	if hasQuery {
		out += "?" + canonicalEscape(query, "\"<>'")
	}
	return out
}

// canonicalEscape percent-encodes controls, space, non-ASCII and the bytes
// of extra, and normalizes the escapes already there.
func canonicalEscape(s, extra string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			d := unhex(s[i+1])<<4 | unhex(s[i+2])
			if isUnreserved(d) {
				b.WriteByte(d)
			} else {
				b.WriteByte('%')
				b.WriteByte(hexDigits[d>>4])
				b.WriteByte(hexDigits[d&15])
			}
			i += 2
		case c <= ' ' || c >= 0x7f || c == '%' || strings.IndexByte(extra, c) >= 0:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// isUnreserved reports whether c is an RFC 3986 unreserved character.
func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}
