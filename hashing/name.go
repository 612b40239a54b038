package hashing

import (
	"path"
	"strings"
)

// DefaultHashLength is the number of hex digits of the SHA-256 put in a
// fingerprinted name: 40 bits, enough that a changed file practically never
// keeps its name, short enough to read.
const DefaultHashLength = 10

// Limits of Options.HashLength, and of the hex run FingerprintName
// recognises as a fingerprint.
const (
	MinHashLength = 6
	MaxHashLength = 64
)

// multiExts are double extensions kept whole, so the hash goes before them:
// "app.js.map" becomes "app.<hash>.js.map", like webpack's "[name].[contenthash].js.map".
var multiExts = []string{".js.map", ".mjs.map", ".cjs.map", ".css.map", ".tar.gz", ".tar.br", ".tar.bz2", ".tar.xz", ".tar.zst"}

// splitExt splits a base name into stem and extension: "app.min.js" is
// ("app.min", ".js"), "app.js.map" is ("app", ".js.map"); a name without a
// dot, or a dot file such as ".htaccess", has no extension.
func splitExt(base string) (stem, ext string) {
	lower := strings.ToLower(base)
	for _, m := range multiExts {
		if strings.HasSuffix(lower, m) && len(base) > len(m) {
			return base[:len(base)-len(m)], base[len(base)-len(m):]
		}
	}
	i := strings.LastIndexByte(base, '.')
	if i <= 0 {
		return base, ""
	}
	return base[:i], base[i:]
}

// FingerprintName inserts hash into the base name of name, before its
// extension: ("css/app.css", "3f9a1c0e2b") is "css/app.3f9a1c0e2b.css".
func FingerprintName(name, hash string) string {
	dir, base := path.Split(name)
	stem, ext := splitExt(base)
	return dir + stem + "." + hash + ext
}

// ParseFingerprint reports whether name looks fingerprinted: its base name
// is stem.HASH.ext with HASH a run of MinHashLength to MaxHashLength
// lowercase hex digits. It returns the name without the hash and the hash.
// Looking fingerprinted is not enough to be treated as such: Build also
// checks that HASH is a prefix of the file's SHA-256.
func ParseFingerprint(name string) (logical, hash string, ok bool) {
	dir, base := path.Split(name)
	stem, ext := splitExt(base)
	if i := strings.LastIndexByte(stem, '.'); i > 0 && isHash(stem[i+1:]) {
		return dir + stem[:i] + ext, stem[i+1:], true
	}
	// A name without extension gets the hash as one: "LICENSE.0123456789".
	if ext != "" && stem != "" && !strings.Contains(stem, ".") && isHash(ext[1:]) {
		return dir + stem, ext[1:], true
	}
	return "", "", false
}

func isHash(s string) bool {
	return len(s) >= MinHashLength && len(s) <= MaxHashLength && isLowerHex(s)
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return s != ""
}
