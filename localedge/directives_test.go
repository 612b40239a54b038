package localedge

import (
	"reflect"
	"testing"
)

func rd(mod func(*ResponseDirectives)) ResponseDirectives {
	d := noDirectives()
	if mod != nil {
		mod(&d)
	}
	return d
}

func TestParseCacheControl(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   ResponseDirectives
	}{
		// RFC 9111 §5.2: directives are case-insensitive tokens with an
		// optional token or quoted-string argument.
		{"§5.2.2.1 max-age", []string{"max-age=3600"}, rd(func(d *ResponseDirectives) { d.MaxAge = 3600 })},
		{"§5.2 names are case-insensitive", []string{"MaX-AgE=10, No-StOrE"}, rd(func(d *ResponseDirectives) { d.MaxAge = 10; d.NoStore = true })},
		{"§5.2 quoted argument accepted", []string{`max-age="3600"`}, rd(func(d *ResponseDirectives) { d.MaxAge = 3600 })},
		{"§1.2.2 leading zeros", []string{"max-age=003600"}, rd(func(d *ResponseDirectives) { d.MaxAge = 3600 })},
		{"§1.2.2 overflow is 2^31", []string{"max-age=99999999999"}, rd(func(d *ResponseDirectives) { d.MaxAge = 1 << 31 })},
		{"§4.2.1 invalid argument is stale (0)", []string{"max-age=a100"}, rd(func(d *ResponseDirectives) { d.MaxAge = 0 })},
		{"§4.2.1 trailing garbage is stale (0)", []string{"max-age=100a"}, rd(func(d *ResponseDirectives) { d.MaxAge = 0 })},
		{"§4.2.1 negative is stale (0)", []string{"max-age=-100"}, rd(func(d *ResponseDirectives) { d.MaxAge = 0 })},
		{"§4.2.1 decimal is stale (0)", []string{"max-age=3600.5"}, rd(func(d *ResponseDirectives) { d.MaxAge = 0 })},
		{"§4.2.1 single quotes are not quotes", []string{"max-age='3600'"}, rd(func(d *ResponseDirectives) { d.MaxAge = 0 })},
		{"§5.2 space before = makes the member invalid", []string{"max-age =100"}, rd(nil)},
		{"§5.2 space after = is an invalid argument", []string{"max-age= 100"}, rd(func(d *ResponseDirectives) { d.MaxAge = 0 })},
		{"§4.2.1 first of duplicates wins", []string{"max-age=1800, max-age=1"}, rd(func(d *ResponseDirectives) { d.MaxAge = 1800 })},
		{"§4.2.1 first of duplicates wins across lines", []string{"max-age=1", "max-age=1800"}, rd(func(d *ResponseDirectives) { d.MaxAge = 1 })},
		{"§5.2 quoted strings hide directives", []string{`extension="max-age=3600", max-age=1`}, rd(func(d *ResponseDirectives) { d.MaxAge = 1 })},
		{"§5.2 quoted comma does not split", []string{`private="a,b", max-age=5`}, rd(func(d *ResponseDirectives) { d.PrivateFields = []string{"A", "B"}; d.MaxAge = 5 })},
		{"§5.2.3 unknown directives ignored", []string{"foobar, max-age=3600, x=\"y\""}, rd(func(d *ResponseDirectives) { d.MaxAge = 3600 })},
		{"§5.2.2.10 s-maxage", []string{"max-age=3600, s-maxage=1"}, rd(func(d *ResponseDirectives) { d.MaxAge = 3600; d.SMaxAge = 1 })},
		{"§5.2.2.4 no-cache", []string{"no-cache"}, rd(func(d *ResponseDirectives) { d.NoCache = true })},
		{"§5.2.2.4 qualified no-cache", []string{`no-cache="Set-Cookie, x-foo"`}, rd(func(d *ResponseDirectives) { d.NoCacheFields = []string{"Set-Cookie", "X-Foo"} })},
		{"§5.2.2.4 qualified no-cache token form", []string{`no-cache=a`}, rd(func(d *ResponseDirectives) { d.NoCacheFields = []string{"A"} })},
		{"§5.2.2.7 private", []string{"private, max-age=3600"}, rd(func(d *ResponseDirectives) { d.Private = true; d.MaxAge = 3600 })},
		{"§5.2.2 flags", []string{"public, must-revalidate, proxy-revalidate, no-transform, immutable, must-understand"}, rd(func(d *ResponseDirectives) {
			d.Public, d.MustRevalidate, d.ProxyRevalidate, d.NoTransform, d.Immutable, d.MustUnderstand = true, true, true, true, true, true
		})},
		{"RFC 5861 stale directives", []string{"max-age=0, stale-while-revalidate=30, stale-if-error=60"}, rd(func(d *ResponseDirectives) {
			d.MaxAge, d.StaleWhileRevalidate, d.StaleIfError = 0, 30, 60
		})},
		{"RFC 5861 invalid extension grants nothing", []string{"stale-while-revalidate=x"}, rd(nil)},
		{"empty and junk", []string{"", ",,, ;;; ===", "\"unterminated"}, rd(nil)},
		{"tabs as whitespace", []string{"public,\tmax-age=5\t"}, rd(func(d *ResponseDirectives) { d.Public = true; d.MaxAge = 5 })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseCacheControl(tt.values)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseCacheControl(%q) =\n %+v\nwant\n %+v", tt.values, got, tt.want)
			}
		})
	}
}

func TestParseRequestCacheControl(t *testing.T) {
	base := noRequestDirectives
	tests := []struct {
		name  string
		value string
		want  func(*RequestDirectives)
	}{
		{"§5.2.1.1 max-age", "max-age=0", func(d *RequestDirectives) { d.MaxAge = 0 }},
		{"§5.2.1.2 max-stale with value", "max-stale=1000", func(d *RequestDirectives) { d.MaxStale = 1000 }},
		{"§5.2.1.2 max-stale without value: any", "max-stale", func(d *RequestDirectives) { d.MaxStale = 1 << 31 }},
		{"§5.2.1.3 min-fresh", "min-fresh=2000", func(d *RequestDirectives) { d.MinFresh = 2000 }},
		{"§5.2.1.4 no-cache", "no-cache", func(d *RequestDirectives) { d.NoCache = true }},
		{"§5.2.1.5 no-store", "no-store", func(d *RequestDirectives) { d.NoStore = true }},
		{"§5.2.1.7 only-if-cached", "only-if-cached", func(d *RequestDirectives) { d.OnlyIfCached = true }},
		{"RFC 5861 §4 stale-if-error", "stale-if-error=3600", func(d *RequestDirectives) { d.StaleIfError = 3600 }},
		{"§5.2.1.1 invalid max-age asks for validation", "max-age=abc", func(d *RequestDirectives) { d.MaxAge = 0 }},
		{"§5.2.1.3 invalid min-fresh ignored", "min-fresh=-1", func(*RequestDirectives) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := base
			tt.want(&want)
			if got := ParseRequestCacheControl([]string{tt.value}); got != want {
				t.Errorf("ParseRequestCacheControl(%q) = %+v; want %+v", tt.value, got, want)
			}
		})
	}
}

func TestParseDeltaSeconds(t *testing.T) {
	// RFC 9111 §1.2.2: delta-seconds = 1*DIGIT; beyond 2^31 use 2^31.
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"60", 60, true}, {"0060", 60, true},
		{"2147483648", 1 << 31, true}, {"2147483649", 1 << 31, true},
		{"99999999999999999999999", 1 << 31, true},
		{"", 0, false}, {"-1", 0, false}, {"1.5", 0, false}, {"1e3", 0, false}, {" 1", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseDeltaSeconds(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseDeltaSeconds(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
