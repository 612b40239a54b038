package localedge

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestKeyBuild(t *testing.T) {
	tests := []struct {
		name                      string
		opts                      KeyOptions
		scheme, host, path, query string
		h                         http.Header
		wantKey                   string
	}{
		{"RFC 9111 §2 scheme host path query", KeyOptions{}, "http", "www.example.test", "/a/b", "x=1&y=2", nil, "http://www.example.test/a/b?x=1&y=2"},
		{"RFC 3986 §6.2.2.1 host case", KeyOptions{}, "HTTP", "WWW.Example.TEST", "/", "", nil, "http://www.example.test/"},
		{"RFC 3986 §6.2.3 default port removed", KeyOptions{}, "http", "h.test:80", "/", "", nil, "http://h.test/"},
		{"RFC 3986 §6.2.3 https default port", KeyOptions{}, "https", "h.test:443", "/", "", nil, "https://h.test/"},
		{"other port kept", KeyOptions{}, "http", "127.0.1.1:8081", "/x", "", nil, "http://127.0.1.1:8081/x"},
		{"RFC 3986 §6.2.2.1 percent-encoding case", KeyOptions{}, "http", "h", "/a%2fb", "q=%c3%a9", nil, "http://h/a%2Fb?q=%C3%A9"},
		{"RFC 3986 §6.2.2.2 unreserved decoded", KeyOptions{}, "http", "h", "/%7Euser/%41", "", nil, "http://h/~user/A"},
		{"RFC 3986 §6.2.2.3 dot segments", KeyOptions{}, "http", "h", "/a/./b/../c", "", nil, "http://h/a/c"},
		{"dot segments above root", KeyOptions{}, "http", "h", "/../../x", "", nil, "http://h/x"},
		{"encoded dots are dots", KeyOptions{}, "http", "h", "/a/%2e%2E/b", "", nil, "http://h/b"},
		{"empty path is /", KeyOptions{}, "http", "h", "", "", nil, "http://h/"},
		{"space encoded", KeyOptions{}, "http", "h", "/a b", "", nil, "http://h/a%20b"},
		{"stray percent encoded", KeyOptions{}, "http", "h", "/100%", "a=%zz", nil, "http://h/100%25?a=%25zz"},
		{"query order kept by default", KeyOptions{}, "http", "h", "/", "b=2&a=1", nil, "http://h/?b=2&a=1"},
		{"sort query", KeyOptions{SortQuery: true}, "http", "h", "/", "b=2&a=1&a=0", nil, "http://h/?a=1&a=0&b=2"},
		{"ignore query", KeyOptions{IgnoreQuery: true}, "http", "h", "/", "b=2", nil, "http://h/"},
		{"ignore params", KeyOptions{IgnoreParams: []string{"utm_source"}}, "http", "h", "/", "utm_source=x&id=3", nil, "http://h/?id=3"},
		{"header in key", KeyOptions{Headers: []string{"x-device"}}, "http", "h", "/", "", hdr("X-Device", "mobile"), "http://h/\nX-Device: mobile"},
		{"absent header in key", KeyOptions{Headers: []string{"x-device"}}, "http", "h", "/", "", hdr(), "http://h/\nX-Device"},
		{"IPv6 literal", KeyOptions{}, "http", "[::1]:8080", "/", "", nil, "http://[::1]:8080/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := tt.opts.Build(tt.scheme, tt.host, tt.path, tt.query, tt.h)
			if err != nil {
				t.Fatalf("Build(%q, %q, %q, %q) error: %v", tt.scheme, tt.host, tt.path, tt.query, err)
			}
			if k.Key != tt.wantKey {
				t.Errorf("Build(%q, %q, %q, %q).Key = %q; want %q", tt.scheme, tt.host, tt.path, tt.query, k.Key, tt.wantKey)
			}
		})
	}
}

func TestKeyBuildErrors(t *testing.T) {
	tests := []struct {
		scheme, host, path string
		want               string
	}{
		{"ftp", "h", "/", "scheme"},
		{"http", "", "/", "missing host"},
		{"http", "a b", "/", "invalid character"},
		{"http", "h:99999x", "/", "invalid port"},
		{"http", "h:", "/", "invalid port"},
		{"http", "[::1", "/", "unterminated"},
		{"http", "[zz]", "/", "IPv6"},
		{"http", "h/x", "/", "invalid character"},
		{"http", "h", "x", "absolute path"},
		{"http", strings.Repeat("a", 300), "/", "longer than 255"},
	}
	for _, tt := range tests {
		_, err := KeyOptions{}.Build(tt.scheme, tt.host, tt.path, "", nil)
		if err == nil || !errors.Is(err, ErrBadRequestTarget) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Build(%q, %q, %q) error = %v; want one containing %q", tt.scheme, tt.host, tt.path, err, tt.want)
		}
	}
}

func TestCacheStatusString(t *testing.T) {
	// RFC 9211 §2: an sf-list member per cache, parameters after ";".
	tests := []struct {
		cs   CacheStatus
		want string
	}{
		{CacheStatus{Cache: "pop1", Hit: true, TTL: 30, HasTTL: true}, "pop1; hit; ttl=30"},
		{CacheStatus{Cache: "pop1", Hit: true, TTL: -5, HasTTL: true, Detail: "stale-while-revalidate"}, "pop1; hit; ttl=-5; detail=stale-while-revalidate"},
		{CacheStatus{Cache: "shield", Fwd: FwdURIMiss, FwdStatus: 200, Stored: true}, "shield; fwd=uri-miss; fwd-status=200; stored"},
		{CacheStatus{Cache: "pop2", Fwd: FwdMiss, FwdStatus: 200, Collapsed: true}, "pop2; fwd=miss; fwd-status=200; collapsed"},
		{CacheStatus{Cache: "my pop", Fwd: FwdBypass, Detail: `a "b"`}, `"my pop"; fwd=bypass; detail="a \"b\""`},
	}
	for _, tt := range tests {
		if got := tt.cs.String(); got != tt.want {
			t.Errorf("CacheStatus%+v.String() = %q; want %q", tt.cs, got, tt.want)
		}
	}
	if got := appendCacheStatus([]string{"shield; fwd=uri-miss; stored"}, CacheStatus{Cache: "pop1", Hit: true}); got != "shield; fwd=uri-miss; stored, pop1; hit" {
		t.Errorf("appendCacheStatus = %q; want the shield first, pop1 last", got)
	}
}

func TestParseTags(t *testing.T) {
	h := hdr("Surrogate-Key", "a b  c", "Cache-Tag", "c,d, e", "Edge-Cache-Tag", "f")
	got := ParseTags(h)
	want := "a b c d e f"
	if strings.Join(got, " ") != want {
		t.Errorf("ParseTags(%v) = %q; want %q", h, got, want)
	}
}
