package origin

import "testing"

func TestNegotiate(t *testing.T) {
	all := []string{"br", "zstd", "gzip"}
	brGzip := []string{"br", "gzip"}
	tests := []struct {
		name      string
		header    []string // nil: no Accept-Encoding field
		available []string
		want      string
	}{
		{"no field", nil, all, "identity"},
		{"empty field", []string{""}, all, "identity"},
		{"br", []string{"br"}, all, "br"},
		{"browser order prefers br", []string{"gzip, deflate, br, zstd"}, all, "br"},
		{"zstd when no br", []string{"gzip, zstd"}, all, "zstd"},
		{"gzip only", []string{"gzip"}, all, "gzip"},
		{"x-gzip alias", []string{"x-gzip"}, brGzip, "gzip"},
		{"weights win over preference", []string{"br;q=0.5, gzip"}, brGzip, "gzip"},
		{"weights with spaces and case", []string{"BR ; Q=0.9 , GZIP;q=0.8"}, brGzip, "br"},
		{"identity only", []string{"identity"}, all, "identity"},
		{"star", []string{"*"}, brGzip, "br"},
		{"star excluded, gzip listed", []string{"*;q=0, gzip"}, brGzip, "gzip"},
		{"everything refused falls back to identity", []string{"br;q=0, gzip;q=0"}, brGzip, "identity"},
		{"identity preferred by weight", []string{"identity;q=1, gzip;q=0.5"}, brGzip, "identity"},
		{"identity refused", []string{"identity;q=0, gzip;q=0.1"}, brGzip, "gzip"},
		{"unavailable coding", []string{"br"}, []string{"gzip"}, "identity"},
		{"nothing available", []string{"br, gzip"}, nil, "identity"},
		{"invalid q ignored", []string{"br;q=2, gzip;q=abc"}, brGzip, "identity"},
		{"several field lines", []string{"gzip;q=0.5", "br;q=0.8"}, brGzip, "br"},
		{"duplicate keeps highest", []string{"gzip;q=0.1, br;q=0.5, gzip;q=0.9"}, brGzip, "gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := negotiate(parseAcceptEncoding(tt.header), tt.available)
			if got != tt.want {
				t.Errorf("negotiate(%q, %q) = %q; want %q", tt.header, tt.available, got, tt.want)
			}
		})
	}
}

func TestCleanKey(t *testing.T) {
	tests := []struct {
		in         string
		wantKey    string
		wantStatus int
	}{
		{"/", "", 0},
		{"/index.html", "index.html", 0},
		{"/a/b/", "a/b", 0},
		{"/a//b/./c", "a/b/c", 0},
		{"/..", "", 400},
		{"/a/../b", "", 400},
		{"/a/..", "", 400},
		{"/..\\x", "", 400},
		{"/a\x00b", "", 400},
		{"relative", "", 400},
		{"", "", 400},
		{"/...", "...", 0},
		{"/a..b", "a..b", 0},
	}
	for _, tt := range tests {
		key, status := cleanKey(tt.in)
		if key != tt.wantKey || status != tt.wantStatus {
			t.Errorf("cleanKey(%q) = %q, %d; want %q, %d", tt.in, key, status, tt.wantKey, tt.wantStatus)
		}
	}
}
