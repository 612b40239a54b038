package hashing

import (
	"reflect"
	"strings"
	"testing"
)

func TestHeadersFor(t *testing.T) {
	rules, err := compileRules([]Rule{
		{Match: []string{"*.css", "*.js"}, Tags: []string{"static"}},
		{Match: []string{"fonts/**"}, Headers: map[string]string{"access-control-allow-origin": "*"}, Tags: []string{"fonts", "static"}},
		{Match: []string{"*.html"}, CacheControl: "public, max-age=60, stale-while-revalidate=600", Tags: []string{"html"}},
		{Match: []string{"legacy/*.txt"}, ContentType: "text/plain; charset=iso-8859-1"},
		{Match: []string{"fonts/special.woff2"}, CacheControl: "no-store", Headers: map[string]string{"Access-Control-Allow-Origin": "https://example.test"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		fingerprinted bool
		cc, ct        string
		headers       map[string]string
		tags          []string
	}{
		{"css/app.css", true, ImmutableCacheControl, "text/css; charset=utf-8", nil, []string{"static"}},
		{"img/a.png", true, ImmutableCacheControl, "image/png", nil, nil},
		{"robots.txt", false, EntryPointCacheControl, "text/plain; charset=utf-8", nil, nil},
		{"blog/index.html", false, "public, max-age=60, stale-while-revalidate=600", "text/html; charset=utf-8", nil, []string{"html"}},
		{"fonts/a.woff2", true, ImmutableCacheControl, "font/woff2", map[string]string{"Access-Control-Allow-Origin": "*"}, []string{"fonts", "static"}},
		{"fonts/special.woff2", true, "no-store", "font/woff2", map[string]string{"Access-Control-Allow-Origin": "https://example.test"}, []string{"fonts", "static"}},
		{"legacy/a.txt", true, ImmutableCacheControl, "text/plain; charset=iso-8859-1", nil, nil},
		{"data/blob.xyz", true, ImmutableCacheControl, DefaultContentType, nil, nil},
	}
	for _, tt := range tests {
		cc, ct, hdr, tags := headersFor(rules, tt.name, tt.fingerprinted)
		if cc != tt.cc || ct != tt.ct || !reflect.DeepEqual(hdr, tt.headers) || !reflect.DeepEqual(tags, tt.tags) {
			t.Errorf("headersFor(%q) = %q, %q, %v, %v; want %q, %q, %v, %v", tt.name, cc, ct, hdr, tags, tt.cc, tt.ct, tt.headers, tt.tags)
		}
	}
}

func TestCompileRulesErrors(t *testing.T) {
	tests := []struct {
		rule Rule
		want string
	}{
		{Rule{}, "rules[0]: match: no glob given"},
		{Rule{Match: []string{"img/[a-"}}, `rules[0].match[0]: glob "img/[a-": syntax error in pattern`},
		{Rule{Match: []string{"*"}, CacheControl: "max-age=1\r\nX-Evil: 1"}, "rules[0].cache_control"},
		{Rule{Match: []string{"*"}, ContentType: "text/"}, "rules[0].content_type"},
		{Rule{Match: []string{"*"}, Headers: map[string]string{"Bad Header": "x"}}, `"Bad Header" is not a valid header name`},
		{Rule{Match: []string{"*"}, Headers: map[string]string{"cache-control": "x"}}, "Cache-Control cannot be set here (use cache_control)"},
		{Rule{Match: []string{"*"}, Headers: map[string]string{"Content-Encoding": "br"}}, "Content-Encoding cannot be set here"},
		{Rule{Match: []string{"*"}, Headers: map[string]string{"X-A": "a\nb"}}, "control character"},
		{Rule{Match: []string{"*"}, Tags: []string{"two words"}}, `rules[0].tags[0] "two words"`},
	}
	for _, tt := range tests {
		_, err := compileRules([]Rule{tt.rule})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("compileRules(%+v) = %v; want an error containing %q", tt.rule, err, tt.want)
		}
	}
}
