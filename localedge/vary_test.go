package localedge

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestVaryFields(t *testing.T) {
	// RFC 9110 §12.5.5: a list of field names or "*".
	tests := []struct {
		h     []string
		names []string
		star  bool
	}{
		{[]string{"Vary", "Accept-Encoding"}, []string{"Accept-Encoding"}, false},
		{[]string{"Vary", "foo, BAR", "Vary", "foo"}, []string{"Foo", "Bar"}, false},
		{[]string{"Vary", "*"}, nil, true},
		{[]string{"Vary", "Accept, *"}, []string{"Accept"}, true},
		{[]string{"Vary", " , bad name, ok"}, []string{"Ok"}, false},
		{nil, nil, false},
	}
	for _, tt := range tests {
		names, star := VaryFields(hdr(tt.h...))
		if !reflect.DeepEqual(names, tt.names) || star != tt.star {
			t.Errorf("VaryFields(%q) = %q, %v; want %q, %v", tt.h, names, star, tt.names, tt.star)
		}
	}
}

func TestVaryMatches(t *testing.T) {
	// RFC 9111 §4.1: selecting fields must match, normalised by combining
	// lines and removing whitespace; absent must match absent.
	stored := func(h http.Header, names ...string) []VaryValue { return SelectingValues(h, names) }
	tests := []struct {
		name   string
		stored []VaryValue
		req    http.Header
		want   bool
	}{
		{"same value", stored(hdr("Foo", "1"), "Foo"), hdr("Foo", "1"), true},
		{"different value", stored(hdr("Foo", "1"), "Foo"), hdr("Foo", "2"), false},
		{"request omits field", stored(hdr("Foo", "1"), "Foo"), hdr(), false},
		{"both omit field", stored(hdr("Foo", "1"), "Foo", "Bar"), hdr("Foo", "1"), true},
		{"whitespace normalised", stored(hdr("Foo", "1,2"), "Foo"), hdr("Foo", " 1, 2 "), true},
		{"lines combined", stored(hdr("Foo", "1, 2"), "Foo"), hdr("Foo", "1", "Foo", "2"), true},
		{"other fields ignored", stored(hdr("Foo", "1", "Other", "2"), "Foo"), hdr("Foo", "1", "Other", "3"), true},
		{"three-way order of fields", stored(hdr("Foo", "1", "Bar", "abc4", "Baz", "789"), "Foo", "Bar", "Baz"), hdr("Foo", "1", "Bar", "abc", "Baz", "789"), false},
		{"empty value differs from absent", stored(hdr("Foo", ""), "Foo"), hdr(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VaryMatches(tt.stored, tt.req); got != tt.want {
				t.Errorf("VaryMatches(%+v, %v) = %v; want %v", tt.stored, tt.req, got, tt.want)
			}
		})
	}
}

func TestSelectVariant(t *testing.T) {
	// RFC 9111 §4.1: with several matching responses, use the most recent.
	gz := &Entry{Vary: SelectingValues(hdr("Accept-Encoding", "gzip"), []string{"Accept-Encoding"}), ResponseTime: t0}
	br := &Entry{Vary: SelectingValues(hdr("Accept-Encoding", "br"), []string{"Accept-Encoding"}), ResponseTime: t0}
	plainOld := &Entry{ResponseTime: t0}
	plainNew := &Entry{ResponseTime: t0.Add(1)}
	p := &Proxy{Name: "pop1"}
	sel := func(variants []*Entry, h http.Header) (*Entry, string) {
		r := &http.Request{Header: h, RemoteAddr: "127.0.0.1:1234"}
		return p.selectVariant(variants, r, CacheKey{Scheme: "http", Host: "h"})
	}
	if e, _ := sel([]*Entry{gz, br}, hdr("Accept-Encoding", "br")); e != br {
		t.Errorf("selectVariant(br) picked %+v; want the br variant", e)
	}
	if e, fwd := sel([]*Entry{gz, br}, hdr("Accept-Encoding", "zstd")); e != nil || fwd != FwdVaryMiss {
		t.Errorf("selectVariant(zstd) = %v, %q; want nil, vary-miss", e, fwd)
	}
	if e, fwd := sel(nil, hdr()); e != nil || fwd != FwdURIMiss {
		t.Errorf("selectVariant(none) = %v, %q; want nil, uri-miss", e, fwd)
	}
	if e, _ := sel([]*Entry{plainOld, plainNew}, hdr()); e != plainNew {
		t.Errorf("selectVariant picked the older of two matching responses")
	}
}

func TestNormalizeAcceptEncoding(t *testing.T) {
	// RFC 9110 §12.5.3: codings with q=0 are not acceptable; "*" matches
	// the codings not listed.
	tests := []struct {
		in   []string
		want string
	}{
		{[]string{"gzip, deflate, br, zstd"}, "br, zstd, gzip"},
		{[]string{"gzip, deflate, br"}, "br, gzip"},
		{[]string{"gzip", "br"}, "br, gzip"},
		{[]string{"GZIP;q=0.5, Br;q=1.0"}, "br, gzip"},
		{[]string{"br;q=0, gzip"}, "gzip"},
		{[]string{"deflate"}, "identity"},
		{[]string{""}, "identity"},
		{[]string{"*"}, "br, zstd, gzip"},
		{[]string{"*;q=0.1, br;q=0"}, "zstd, gzip"},
		{[]string{"x-gzip"}, "gzip"},
		{[]string{"gzip;q=bad"}, "gzip"},
		{[]string{"identity;q=1, *;q=0"}, "identity"},
		// Unequal weights survive as an order (RFC 9110 §12.5.3).
		{[]string{"gzip;q=1, br;q=0.5"}, "gzip, br;q=0.9"},
		{[]string{"br;q=0.2, zstd;q=0.8, gzip;q=0.5"}, "zstd, gzip;q=0.9, br;q=0.8"},
		{[]string{"gzip, br;q=0.5, zstd;q=0.4"}, "gzip, br;q=0.9, zstd;q=0.8"},
		{[]string{"gzip;q=0.3, br;q=0.3"}, "br, gzip"},
		{[]string{"gzip;q=0.5, br;q=0.5, zstd;q=0.1"}, "br, gzip, zstd;q=0.9"},
		{[]string{"br;q=0.9, zstd;q=0.5, gzip;q=0.1"}, "br, zstd, gzip"}, // the tie order already
		{[]string{"gzip, *;q=0.5"}, "gzip, br;q=0.9, zstd;q=0.9"},
		{[]string{"identity;q=0, gzip"}, "gzip"},
	}
	for _, tt := range tests {
		if got := strings.Join(NormalizeAcceptEncoding(tt.in), ","); got != tt.want {
			t.Errorf("NormalizeAcceptEncoding(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}
