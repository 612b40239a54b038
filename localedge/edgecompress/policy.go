// Package edgecompress is the compression a CDN edge applies to the
// responses it caches: which responses are compressed (the conditions and
// file types CloudFront documents for "Compress objects automatically"),
// which content coding a request gets (RFC 9110 §12.5.3 negotiation over
// br, zstd and gzip), how the response's fields change (Content-Encoding,
// Vary, a weak ETag, no Content-Length) and the streaming compressors
// themselves, pooled and bounded in number.
//
// The rules are pure functions over http.Header (Eligible, Negotiate,
// Transform); a Compressor applies them and owns the encoders.
package edgecompress

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Content codings an edge produces.
const (
	Brotli = "br"
	Zstd   = "zstd"
	Gzip   = "gzip"
)

// identity is the absence of a content coding (RFC 9110 §8.4.1).
const identity = "identity"

// Size bounds of the responses compressed, CloudFront's: an object smaller
// than 1,000 bytes gains little, a larger one than 10,000,000 bytes costs
// the edge too much.
const (
	DefaultMinSize = 1000
	DefaultMaxSize = 10_000_000
)

// DefaultEncodings are the codings produced, in order of preference when
// a client weighs them equally: brotli first, as CloudFront and the folder
// origin choose, then zstd, then gzip.
var DefaultEncodings = []string{Brotli, Zstd, Gzip}

// DefaultTypes are the media types compressed: the list CloudFront
// documents under "File types that CloudFront compresses".
var DefaultTypes = []string{
	"application/dash+xml",
	"application/eot",
	"application/font",
	"application/font-sfnt",
	"application/javascript",
	"application/json",
	"application/opentype",
	"application/otf",
	"application/pkcs7-mime",
	"application/protobuf",
	"application/rss+xml",
	"application/truetype",
	"application/ttf",
	"application/vnd.apple.mpegurl",
	"application/vnd.mapbox-vector-tile",
	"application/vnd.ms-fontobject",
	"application/wasm",
	"application/xhtml+xml",
	"application/xml",
	"application/x-font-opentype",
	"application/x-font-truetype",
	"application/x-font-ttf",
	"application/x-httpd-cgi",
	"application/x-javascript",
	"application/x-mpegurl",
	"application/x-opentype",
	"application/x-otf",
	"application/x-perl",
	"application/x-ttf",
	"font/eot",
	"font/opentype",
	"font/otf",
	"font/ttf",
	"image/svg+xml",
	"text/css",
	"text/csv",
	"text/html",
	"text/javascript",
	"text/js",
	"text/plain",
	"text/richtext",
	"text/tab-separated-values",
	"text/xml",
	"text/x-component",
	"text/x-java-source",
	"text/x-script",
}

// Policy says which responses are compressed. The zero value is not
// usable: start from DefaultPolicy.
type Policy struct {
	// Encodings are the codings produced, in order of preference among
	// equal weights (a subset of br, zstd, gzip).
	Encodings []string
	// MinSize and MaxSize bound the Content-Length of the responses
	// compressed (inclusive).
	MinSize, MaxSize int64
	// Types are the media types compressed ("text/html", without
	// parameters, lower case); "text/*" matches every subtype.
	Types []string
}

// DefaultPolicy is CloudFront's: br, zstd and gzip, objects of 1,000 to
// 10,000,000 bytes, its list of types.
func DefaultPolicy() Policy {
	return Policy{
		Encodings: slices.Clone(DefaultEncodings),
		MinSize:   DefaultMinSize,
		MaxSize:   DefaultMaxSize,
		Types:     slices.Clone(DefaultTypes),
	}
}

// Check reports what is wrong with a policy, in the words of its settings.
func (p Policy) Check() error {
	var errs []error
	if len(p.Encodings) == 0 {
		errs = append(errs, errors.New("encodings: name at least one of br, zstd, gzip"))
	}
	seen := map[string]bool{}
	for _, e := range p.Encodings {
		switch e {
		case Brotli, Zstd, Gzip:
		default:
			errs = append(errs, fmt.Errorf("encodings: %q is not a coding the edge produces (want br, zstd or gzip)", e))
		}
		if seen[e] {
			errs = append(errs, fmt.Errorf("encodings: %q is listed twice", e))
		}
		seen[e] = true
	}
	if p.MinSize < 0 {
		errs = append(errs, fmt.Errorf("min_size %d: want 0 or more bytes", p.MinSize))
	}
	if p.MaxSize < p.MinSize {
		errs = append(errs, fmt.Errorf("max_size %d is smaller than min_size %d", p.MaxSize, p.MinSize))
	}
	if len(p.Types) == 0 {
		errs = append(errs, errors.New("types: name at least one media type, such as text/html"))
	}
	for _, t := range p.Types {
		typ, sub, ok := strings.Cut(t, "/")
		if !ok || typ == "" || sub == "" || strings.ContainsAny(t, " ;,") || t != strings.ToLower(t) {
			errs = append(errs, fmt.Errorf("types: %q is not a media type (want lower case type/subtype, such as text/html or text/*)", t))
		}
	}
	return errors.Join(errs...)
}

// Reasons a response is not compressed (Eligible), for logs and tests.
const (
	NotStatus    = "status"            // not 200, 403 or 404
	NotEncoded   = "already-encoded"   // Content-Encoding present
	NotPartial   = "partial"           // Content-Range present
	NotTransform = "no-transform"      // Cache-Control: no-transform
	NotType      = "type"              // media type not in the list
	NotLength    = "no-content-length" // length unknown
	NotSize      = "size"              // outside MinSize..MaxSize
	NotAccepted  = "identity"          // the client accepts no coding produced
	NotBusy      = "busy"              // every compressor slot in use
)

// Eligible reports whether a response (its status, fields and
// Content-Length, -1 when unknown) may be compressed at the edge, and
// when not, why. These are CloudFront's conditions: status 200, 403 or
// 404; no Content-Encoding (the origin's own encoding, such as a
// precompressed sibling, wins); a Content-Length within the size bounds;
// a listed media type; and, as RFC 9110 §7.7 requires of a proxy, no
// Cache-Control: no-transform.
func (p Policy) Eligible(status int, h http.Header, contentLength int64) (bool, string) {
	switch status {
	case http.StatusOK, http.StatusForbidden, http.StatusNotFound:
	default:
		return false, NotStatus
	}
	for _, v := range h["Content-Encoding"] {
		if v = strings.TrimSpace(v); v != "" && !strings.EqualFold(v, identity) {
			return false, NotEncoded
		}
	}
	if len(h["Content-Range"]) > 0 {
		return false, NotPartial
	}
	if hasNoTransform(h["Cache-Control"]) {
		return false, NotTransform
	}
	if !p.compressibleType(h.Get("Content-Type")) {
		return false, NotType
	}
	if contentLength < 0 {
		return false, NotLength
	}
	if contentLength < p.MinSize || contentLength > p.MaxSize {
		return false, NotSize
	}
	return true, ""
}

func hasNoTransform(lines []string) bool {
	for _, line := range lines {
		for d := range strings.SplitSeq(line, ",") {
			name, _, _ := strings.Cut(d, "=")
			if strings.EqualFold(strings.TrimSpace(name), "no-transform") {
				return true
			}
		}
	}
	return false
}

func (p Policy) compressibleType(ct string) bool {
	if ct == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	typ, _, _ := strings.Cut(mt, "/")
	for _, t := range p.Types {
		if t == mt || (strings.HasSuffix(t, "/*") && t[:len(t)-2] == typ) {
			return true
		}
	}
	return false
}

// Negotiate picks the content coding for a request's Accept-Encoding
// (its field lines; nil when absent) among the codings produced
// (encodings, in order of preference), or "identity" (RFC 9110 §12.5.3):
// the acceptable coding with the highest weight, "*" standing for the
// codings not listed, ties going to the earlier of encodings and any
// coding beating identity at the same weight; q=0 excludes. A request
// without the field gets identity: what curl and simple clients read
// (RFC 9110 allows any coding then, as nginx and CloudFront do not).
// Identity is always acceptable unless the request excludes it, and even
// then it is the answer when nothing else is, as §12.5.3 recommends over
// a 406.
func Negotiate(ae []string, encodings []string) string {
	if len(ae) == 0 {
		return identity
	}
	q := parseAcceptEncoding(ae)
	weight := func(c string) float64 {
		if w, ok := q[c]; ok {
			return w
		}
		if w, ok := q["*"]; ok {
			return w
		}
		if c == identity {
			return 0.0001 // below any listed coding, above refusal
		}
		return 0
	}
	best, bestQ := identity, weight(identity)
	for _, c := range encodings {
		w := weight(c)
		if w > 0 && (w > bestQ || (w == bestQ && best == identity)) {
			best, bestQ = c, w
		}
	}
	return best
}

// parseAcceptEncoding maps each coding (lower case; x-gzip is gzip) to its
// weight; a coding listed twice keeps its highest, members with an invalid
// weight are ignored.
func parseAcceptEncoding(lines []string) map[string]float64 {
	q := map[string]float64{}
	for _, line := range lines {
		for member := range strings.SplitSeq(line, ",") {
			coding, params, _ := strings.Cut(member, ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			if coding == "" {
				continue
			}
			if coding == "x-gzip" {
				coding = Gzip
			}
			w, ok := 1.0, true
			for param := range strings.SplitSeq(params, ";") {
				k, v, _ := strings.Cut(param, "=")
				if !strings.EqualFold(strings.TrimSpace(k), "q") {
					continue
				}
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f < 0 || f > 1 {
					ok = false
					break
				}
				w = f
			}
			if !ok {
				continue
			}
			if old, seen := q[coding]; !seen || w > old {
				q[coding] = w
			}
		}
	}
	return q
}

// Transform rewrites the fields of a response compressed with coding:
// Content-Encoding set, Vary naming Accept-Encoding, the ETag made weak
// (the compressed bytes are not those the origin's strong validator
// names; CloudFront and nginx do the same), and the fields describing the
// uncompressed bytes (Content-Length and digests) removed. Accept-Ranges
// stays: ranges are of the compressed representation.
func Transform(h http.Header, coding string) {
	h["Content-Encoding"] = []string{coding}
	AddVary(h)
	if etag := h.Get("ETag"); etag != "" {
		h["Etag"] = []string{WeakETag(etag)}
	}
	for _, name := range []string{"Content-Length", "Content-Md5", "Digest", "Content-Digest", "Repr-Digest"} {
		delete(h, name)
	}
}

// AddVary makes a response's Vary name Accept-Encoding (once): every
// response the edge could compress varies on it, the identity ones too,
// or a stored identity response would answer clients that accept br.
func AddVary(h http.Header) {
	for _, line := range h["Vary"] {
		for f := range strings.SplitSeq(line, ",") {
			f = strings.TrimSpace(f)
			if f == "*" || strings.EqualFold(f, "Accept-Encoding") {
				return
			}
		}
	}
	if len(h["Vary"]) == 0 {
		h["Vary"] = []string{"Accept-Encoding"}
		return
	}
	h["Vary"] = append(slices.Clone(h["Vary"]), "Accept-Encoding")
}

// WeakETag returns the weak form of an entity tag ("x" → W/"x"); a weak
// one, or a value that is not an entity tag, is returned as it is.
func WeakETag(etag string) string {
	etag = strings.TrimSpace(etag)
	if strings.HasPrefix(etag, `"`) && strings.HasSuffix(etag, `"`) && len(etag) >= 2 {
		return "W/" + etag
	}
	return etag
}
