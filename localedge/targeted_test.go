package localedge

import (
	"reflect"
	"testing"
)

func TestSelectDirectives(t *testing.T) {
	// RFC 9213 §2.2: the first targeted field present (and valid) replaces
	// Cache-Control; an invalid Dictionary is ignored as a whole (§2.1).
	tests := []struct {
		name       string
		h          []string
		wantSource string
		wantMaxAge int64
		noStore    bool
	}{
		{"CDN-Cache-Control wins over Cache-Control", []string{"Cache-Control", "max-age=1", "CDN-Cache-Control", "max-age=3600"}, "CDN-Cache-Control", 3600, false},
		{"short CDN-Cache-Control wins over long Cache-Control", []string{"Cache-Control", "max-age=3600", "CDN-Cache-Control", "max-age=1"}, "CDN-Cache-Control", 1, false},
		{"CDN-Cache-Control max-age overrides Cache-Control no-store", []string{"Cache-Control", "no-store", "CDN-Cache-Control", "max-age=10000"}, "CDN-Cache-Control", 10000, false},
		{"CDN-Cache-Control no-store", []string{"Cache-Control", "max-age=10000", "CDN-Cache-Control", "no-store"}, "CDN-Cache-Control", -1, true},
		{"invalid dictionary falls back", []string{"Cache-Control", "no-store", "CDN-Cache-Control", "max-age=10000, &&&&&"}, "Cache-Control", -1, true},
		{"string max-age invalidates the field", []string{"Cache-Control", "no-store", "CDN-Cache-Control", `max-age="10000"`}, "Cache-Control", -1, true},
		{"space before = invalid", []string{"Cache-Control", "max-age=1", "CDN-Cache-Control", "max-age =100"}, "Cache-Control", 1, false},
		{"space after = invalid", []string{"Cache-Control", "max-age=1", "CDN-Cache-Control", "max-age= 100"}, "Cache-Control", 1, false},
		{"max-age clamped to 2^31", []string{"CDN-Cache-Control", "max-age=99999999999"}, "CDN-Cache-Control", 1 << 31, false},
		{"extension member ignored", []string{"CDN-Cache-Control", "foobar, max-age=3600"}, "CDN-Cache-Control", 3600, false},
		{"Surrogate-Control when no CDN-Cache-Control", []string{"Cache-Control", "max-age=3600", "Surrogate-Control", "max-age=1"}, "Surrogate-Control", 1, false},
		{"Surrogate-Control no-store", []string{"Cache-Control", "max-age=10000", "Surrogate-Control", "no-store"}, "Surrogate-Control", -1, true},
		{"Surrogate-Control with content only: Cache-Control governs", []string{"Cache-Control", "max-age=60", "Surrogate-Control", `content="ESI/1.0"`}, "Cache-Control", 60, false},
		{"Surrogate-Control with content and max-age", []string{"Cache-Control", "max-age=60", "Surrogate-Control", `content="ESI/1.0, x", max-age=5`}, "Surrogate-Control", 5, false},
		{"Cache-Control only", []string{"Cache-Control", "max-age=5"}, "Cache-Control", 5, false},
		{"nothing", nil, "", -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, src := SelectDirectives(hdr(tt.h...), defaultTargetedFields)
			if src != tt.wantSource || d.MaxAge != tt.wantMaxAge || d.NoStore != tt.noStore {
				t.Errorf("SelectDirectives(%q) = source %q max-age %d no-store %v; want %q %d %v",
					tt.h, src, d.MaxAge, d.NoStore, tt.wantSource, tt.wantMaxAge, tt.noStore)
			}
		})
	}
}

func TestParseCDNCacheControl(t *testing.T) {
	// RFC 9213 §2.1 maps cache directives onto RFC 8941 Dictionary members.
	tests := []struct {
		in   string
		ok   bool
		want func(*ResponseDirectives)
	}{
		{"max-age=60, s-maxage=30, stale-while-revalidate=5, stale-if-error=9", true, func(d *ResponseDirectives) {
			d.MaxAge, d.SMaxAge, d.StaleWhileRevalidate, d.StaleIfError = 60, 30, 5, 9
		}},
		{"no-cache, private, public, must-revalidate", true, func(d *ResponseDirectives) {
			d.NoCache, d.Private, d.Public, d.MustRevalidate = true, true, true, true
		}},
		{`no-cache="set-cookie"`, true, func(d *ResponseDirectives) { d.NoCacheFields = []string{"Set-Cookie"} }},
		{"no-store=?0", true, func(*ResponseDirectives) {}},
		{"max-age=60;foo=bar", true, func(d *ResponseDirectives) { d.MaxAge = 60 }},
		{"x=(a b), max-age=1", true, func(d *ResponseDirectives) { d.MaxAge = 1 }},
		{"max-age=1.5", false, nil},
		{"max-age=-1", false, nil},
		{"no-store=1", false, nil},
		{"MaX-aGe=3600", false, nil},
		{"max-age=1,", false, nil},
		{`x="unterminated`, false, nil},
		{"max-age=1234567890123456", false, nil},
	}
	for _, tt := range tests {
		got, ok := ParseCDNCacheControl([]string{tt.in})
		if ok != tt.ok {
			t.Errorf("ParseCDNCacheControl(%q) ok = %v; want %v", tt.in, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		want := noDirectives()
		tt.want(&want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ParseCDNCacheControl(%q) = %+v; want %+v", tt.in, got, want)
		}
	}
}
