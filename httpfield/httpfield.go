// Package httpfield checks HTTP field names and values as RFC 9110
// defines them, for the places that take headers from users (fingerprint
// rules, _headers files) before they reach a response.
package httpfield

import "strings"

// ValidName reports whether s is a field name: a token (RFC 9110 §5.1,
// §5.6.2).
func ValidName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// ValidValue reports whether s can be a field value (RFC 9110 §5.5):
// visible characters, spaces, tabs and obs-text, but no other control
// character (CR, LF and NUL included).
func ValidValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
