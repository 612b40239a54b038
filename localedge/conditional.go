package localedge

import (
	"cmp"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file evaluates the conditional and range requests a cache answers
// from a stored response (RFC 9110 §13, §14; RFC 9111 §4.3.2).

// entityTag is a parsed entity-tag: its opaque-tag (with quotes) and
// weakness.
type entityTag struct {
	opaque string
	weak   bool
}

// parseETag parses one entity-tag (RFC 9110 §8.8.3), tolerating a missing
// pair of quotes ("abc" and abc are the same tag) and a lower-case w/.
func parseETag(s string) (entityTag, bool) {
	s = strings.TrimSpace(s)
	weak := false
	if len(s) >= 2 && (s[0] == 'W' || s[0] == 'w') && s[1] == '/' {
		weak = true
		s = s[2:]
	}
	if s == "" {
		return entityTag{}, false
	}
	if s[0] != '"' {
		s = `"` + s + `"`
	}
	if len(s) < 2 || s[len(s)-1] != '"' {
		return entityTag{}, false
	}
	return entityTag{opaque: s, weak: weak}, true
}

// etagList splits an If-Match / If-None-Match value into entity-tags;
// any is true for "*".
func etagList(values []string) (tags []entityTag, any bool) {
	for _, v := range values {
		for v != "" {
			v = strings.TrimLeft(v, " \t,")
			if v == "" {
				break
			}
			if v[0] == '*' {
				any = true
				v = v[1:]
				continue
			}
			// An entity-tag ends after its closing quote; a bare tag at
			// the next comma.
			end := len(v)
			start := 0
			if strings.HasPrefix(v, "W/") || strings.HasPrefix(v, "w/") {
				start = 2
			}
			if start < len(v) && v[start] == '"' {
				if q := strings.IndexByte(v[start+1:], '"'); q >= 0 {
					end = start + 1 + q + 1
				}
			} else if c := strings.IndexByte(v, ','); c >= 0 {
				end = c
			}
			if t, ok := parseETag(v[:end]); ok {
				tags = append(tags, t)
			}
			v = v[end:]
		}
	}
	return tags, any
}

// weakMatch compares two entity-tags ignoring weakness (RFC 9110 §8.8.3.2).
func weakMatch(a, b entityTag) bool { return a.opaque == b.opaque }

// strongMatch compares two entity-tags that must both be strong.
func strongMatch(a, b entityTag) bool { return !a.weak && !b.weak && a.opaque == b.opaque }

// lastModified returns the time a stored response was last modified, for
// If-Modified-Since: Last-Modified, else Date, else the time it was
// received (RFC 9111 §4.3.2).
func lastModified(h http.Header, responseTime time.Time) time.Time {
	if t, ok := ParseHTTPDate(h.Get("Last-Modified")); ok {
		return t
	}
	return DateValue(h, responseTime)
}

// EvaluatePreconditions answers a client's conditional GET or HEAD from a
// stored response, in the order of RFC 9110 §13.2.2: it returns 0 to send
// the stored response, 304 (Not Modified) or 412 (Precondition Failed).
// Conditions apply only to a stored 2xx response (§13.2.1).
func EvaluatePreconditions(req http.Header, status int, h http.Header, responseTime time.Time) int {
	if status < 200 || status > 299 {
		return 0
	}
	if len(req["If-Match"])+len(req["If-Unmodified-Since"])+len(req["If-None-Match"])+len(req["If-Modified-Since"]) == 0 {
		return 0 // the common case: an unconditional request
	}
	etag, hasETag := parseETag(h.Get("ETag"))
	if im := req["If-Match"]; len(im) > 0 {
		tags, any := etagList(im)
		ok := any
		for _, t := range tags {
			if hasETag && strongMatch(t, etag) {
				ok = true
			}
		}
		if !ok {
			return http.StatusPreconditionFailed
		}
	} else if ius, ok := ParseHTTPDate(firstValue(req, "If-Unmodified-Since")); ok {
		if lm, ok := ParseHTTPDate(h.Get("Last-Modified")); ok && lm.After(ius) {
			return http.StatusPreconditionFailed
		}
	}
	if inm := req["If-None-Match"]; len(inm) > 0 {
		tags, any := etagList(inm)
		match := any
		for _, t := range tags {
			if hasETag && weakMatch(t, etag) {
				match = true
			}
		}
		if match {
			return http.StatusNotModified
		}
		return 0
	}
	if ims, ok := ParseHTTPDate(firstValue(req, "If-Modified-Since")); ok {
		if !lastModified(h, responseTime).After(ims) {
			return http.StatusNotModified
		}
	}
	return 0
}

func firstValue(h http.Header, name string) string {
	if v := h[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// notModifiedHeaders are the representation fields left out of a 304
// generated from a stored response (RFC 9110 §15.4.5): it carries the
// validators and caching fields, not the content's metadata.
var notModifiedHeaders = []string{"Content-Length", "Content-Type", "Content-Encoding", "Content-Range", "Content-Language", "Transfer-Encoding"}

// edgeContentType carries Content-Type in a shield's 304 to its own edges:
// Go's server removes Content-Type from every 304, and without it a
// Content-Type that a 304 from the origin updated at the shield would never
// reach the edges' stored responses (RFC 9111 §4.3.4).
const edgeContentType = "Cdnctl-Content-Type"

// notModifiedToEdge prepares the fields of a shield's 304 to one of its
// edges: the representation metadata stays (a downstream cache updates its
// stored response with it, RFC 9110 §15.4.5 "for the purpose of guiding
// cache updates"), only the fields describing the stored bytes go.
func notModifiedToEdge(h http.Header) {
	for _, name := range []string{"Content-Length", "Content-Encoding", "Content-Range", "Transfer-Encoding"} {
		delete(h, name)
	}
	if ct, ok := h["Content-Type"]; ok {
		h[edgeContentType] = ct
		delete(h, "Content-Type")
	}
}

// byteRange is a resolved range: [start, start+length).
type byteRange struct {
	start, length int64
}

func (r byteRange) contentRange(size int64) string {
	return "bytes " + strconv.FormatInt(r.start, 10) + "-" + strconv.FormatInt(r.start+r.length-1, 10) + "/" + strconv.FormatInt(size, 10)
}

var (
	errNoOverlap    = errors.New("range: no satisfiable range")
	errInvalidRange = errors.New("range: invalid")
)

// parseRange resolves a Range field value against a representation of size
// bytes (RFC 9110 §14.1.2). It returns errInvalidRange for a value that is
// not a valid bytes range set (the field is then ignored, §14.2) and
// errNoOverlap when no range is satisfiable (416, §15.5.17).
func parseRange(s string, size int64) ([]byteRange, error) {
	s = strings.TrimSpace(s)
	unit, set, ok := strings.Cut(s, "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(unit), "bytes") {
		return nil, errInvalidRange
	}
	var out []byteRange
	specs := 0
	for _, spec := range strings.Split(set, ",") {
		spec = strings.TrimSpace(spec)
		if spec == "" {
			continue
		}
		specs++
		if specs > 64 {
			return nil, errInvalidRange // a range set this long is abuse
		}
		first, last, ok := strings.Cut(spec, "-")
		if !ok {
			return nil, errInvalidRange
		}
		first, last = strings.TrimSpace(first), strings.TrimSpace(last)
		var r byteRange
		if first == "" {
			// suffix-range: the last N bytes.
			n, ok := parseDigits(last)
			if !ok {
				return nil, errInvalidRange
			}
			if n == 0 || size == 0 {
				continue
			}
			if n > size {
				n = size
			}
			r = byteRange{start: size - n, length: n}
		} else {
			start, ok := parseDigits(first)
			if !ok {
				return nil, errInvalidRange
			}
			end := size - 1
			if last != "" {
				e, ok := parseDigits(last)
				if !ok || e < start {
					return nil, errInvalidRange
				}
				if e < end {
					end = e
				}
			}
			if start >= size {
				continue
			}
			r = byteRange{start: start, length: end - start + 1}
		}
		out = append(out, r)
	}
	if specs == 0 {
		return nil, errInvalidRange
	}
	if len(out) == 0 {
		return nil, errNoOverlap
	}
	return out, nil
}

// planRanges decides how to answer a satisfiable range set on a
// representation of size bytes. When the ranges add up to more than the
// representation (bytes=0-,0-,… would make a 64-range request of an 8 MB
// object a 512 MB response), it returns nil: the Range field is ignored and
// the whole representation sent with 200, as Go's http.ServeContent
// (sumRangesSize) and nginx's range filter do. Otherwise overlapping and
// adjacent ranges are merged, in ascending order (RFC 9110 §15.3.7.2 lets
// a server coalesce them whatever their order), so no byte is sent twice.
func planRanges(ranges []byteRange, size int64) []byteRange {
	var sum int64
	for _, r := range ranges {
		sum += r.length
	}
	if sum > size {
		return nil
	}
	if len(ranges) < 2 {
		return ranges
	}
	sorted := slices.SortedFunc(slices.Values(ranges), func(a, b byteRange) int { return cmp.Compare(a.start, b.start) })
	out := sorted[:1]
	for _, r := range sorted[1:] {
		last := &out[len(out)-1]
		if end := last.start + last.length; r.start <= end {
			last.length = max(end, r.start+r.length) - last.start
			continue
		}
		out = append(out, r)
	}
	return out
}

func parseDigits(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || s[0] == '+' || s[0] == '-' {
		return 0, false
	}
	return n, true
}

// ifRangeMatches evaluates If-Range (RFC 9110 §13.1.5): the range applies
// only if the validator matches the stored response (strong ETag
// comparison, or an exactly equal Last-Modified date).
func ifRangeMatches(v string, h http.Header) bool {
	v = strings.TrimSpace(v)
	if v == "" {
		return true
	}
	if strings.HasPrefix(v, `"`) || strings.HasPrefix(v, "W/") {
		want, ok1 := parseETag(v)
		have, ok2 := parseETag(h.Get("ETag"))
		return ok1 && ok2 && strongMatch(want, have)
	}
	t, ok := ParseHTTPDate(v)
	if !ok {
		return false
	}
	lm, ok := ParseHTTPDate(h.Get("Last-Modified"))
	return ok && lm.Equal(t)
}
