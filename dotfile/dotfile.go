// Package dotfile holds cdnctl's one rule for hidden files: a path with a
// segment that starts with "." (".env", ".git/config", "config/.npmrc") is
// a dotfile, except the contents of the site's "/.well-known/" folder (RFC
// 8615), which exist to be published.
//
// Dotfiles hold secrets and tool state (.env, .htpasswd, .npmrc,
// .git/config) far more often than content, so the folder origin does not
// serve them, push does not upload them and fingerprint does not copy
// them, unless an allow-list names them. Netlify and Hugo's deploy skip
// them the same way (with the same .well-known exception); Jekyll excludes
// them unless its "include" list names them.
package dotfile

import "strings"

// WellKnown is the one hidden folder published by default: the site's
// "/.well-known/" (RFC 8615: security.txt, Apple and Android app links,
// ACME challenges).
const WellKnown = ".well-known"

// Hidden reports whether key — a slash-separated path relative to the
// site's root, with or without a leading "/" — names a dotfile or a path
// inside a hidden folder. Only the top folder named exactly ".well-known"
// is not hidden; dotfiles inside it are (".well-known/.git/config").
func Hidden(key string) bool {
	key = strings.TrimPrefix(key, "/")
	for i, seg := range strings.Split(key, "/") {
		if strings.HasPrefix(seg, ".") && (i > 0 || seg != WellKnown) {
			return true
		}
	}
	return false
}

// Matcher matches slash-separated keys without a leading "/"
// (hashing.Globs does).
type Matcher interface {
	Match(key string) bool
}

// Denied reports whether key is a dotfile that allow (nil: none) does not
// name: one that is not served, uploaded or copied.
func Denied(key string, allow Matcher) bool {
	if !Hidden(key) {
		return false
	}
	return allow == nil || !allow.Match(strings.TrimPrefix(key, "/"))
}
