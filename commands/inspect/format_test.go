package inspect

import "testing"

func TestTruncateKey(t *testing.T) {
	for _, tt := range []struct {
		key   string
		width int
		want  string
	}{
		{"http://www.example.test/404.html", 40, "http://www.example.test/404.html"},
		{"http://www.example.test/assets/file000.css", 38, "http://www.example.test/a…/file000.css"},
		{"http://www.example.test/assets/file000.css", 30, "www.example.test/…/file000.css"},
		{"http://www.example.test/assets/file001.css", 26, "www.example.test/…e001.css"},
		{"https://static.example.test/a/b/c/d/e/app.js", 40, "https://static.example.test/a/b/…/app.js"},
		{"http://www.example.test/a-very-long-file-name-indeed.css", 30, "www.example.test/…e-indeed.css"},
		{"no-scheme/path/to/file.css", 15, "no-s…o/file.css"},
	} {
		got := truncateKey(tt.key, tt.width)
		if got != tt.want {
			t.Errorf("truncateKey(%q, %d) = %q; want %q", tt.key, tt.width, got, tt.want)
		}
		if n := len([]rune(got)); n > tt.width {
			t.Errorf("truncateKey(%q, %d) is %d cells wide", tt.key, tt.width, n)
		}
	}
}
