package deploystate

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
)

// Metadata is what a store keeps beside an object's body and serves as
// response headers.
type Metadata struct {
	ContentType     string `json:"content_type"`
	CacheControl    string `json:"cache_control"`
	ContentEncoding string `json:"content_encoding,omitempty"`
	// Tags are cache tags (served as Cache-Tag / Surrogate-Key by the
	// local origin, kept as user metadata on S3).
	Tags []string `json:"tags,omitempty"`
	// Headers are other response headers (Content-Disposition, …), keyed
	// by canonical header name.
	Headers map[string]string `json:"headers,omitempty"`
}

// Normalize returns m with tags sorted and deduplicated and header names
// canonical, so two Metadata that mean the same compare equal.
func (m Metadata) Normalize() Metadata {
	if len(m.Tags) > 0 {
		tags := slices.Clone(m.Tags)
		sort.Strings(tags)
		m.Tags = slices.Compact(tags)
	} else {
		m.Tags = nil
	}
	if len(m.Headers) > 0 {
		h := make(map[string]string, len(m.Headers))
		for k, v := range m.Headers {
			h[http.CanonicalHeaderKey(k)] = v
		}
		m.Headers = h
	} else {
		m.Headers = nil
	}
	return m
}

// Diff lists, in a fixed order, the fields of want that differ from m,
// each as `field: "old" → "new"`. Nil means equal.
func (m Metadata) Diff(want Metadata) []string {
	a, b := m.Normalize(), want.Normalize()
	var d []string
	if a.ContentType != b.ContentType {
		d = append(d, fmt.Sprintf("content-type: %q → %q", a.ContentType, b.ContentType))
	}
	if a.CacheControl != b.CacheControl {
		d = append(d, fmt.Sprintf("cache-control: %q → %q", a.CacheControl, b.CacheControl))
	}
	if a.ContentEncoding != b.ContentEncoding {
		d = append(d, fmt.Sprintf("content-encoding: %q → %q", a.ContentEncoding, b.ContentEncoding))
	}
	if !slices.Equal(a.Tags, b.Tags) {
		d = append(d, fmt.Sprintf("tags: %q → %q", a.Tags, b.Tags))
	}
	if !maps.Equal(a.Headers, b.Headers) {
		d = append(d, fmt.Sprintf("headers: %v → %v", a.Headers, b.Headers))
	}
	return d
}
