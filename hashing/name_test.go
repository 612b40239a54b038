package hashing

import "testing"

func TestSplitExt(t *testing.T) {
	tests := []struct{ base, stem, ext string }{
		{"app.css", "app", ".css"},
		{"app.min.js", "app.min", ".js"},
		{"app.js.map", "app", ".js.map"},
		{"app.CSS.MAP", "app", ".CSS.MAP"},
		{"site.tar.gz", "site", ".tar.gz"},
		{"data.json.gz", "data.json", ".gz"},
		{"LICENSE", "LICENSE", ""},
		{".htaccess", ".htaccess", ""},
		{".env.local", ".env", ".local"},
		{".js.map", ".js", ".map"},
	}
	for _, tt := range tests {
		stem, ext := splitExt(tt.base)
		if stem != tt.stem || ext != tt.ext {
			t.Errorf("splitExt(%q) = %q, %q; want %q, %q", tt.base, stem, ext, tt.stem, tt.ext)
		}
	}
}

func TestFingerprintName(t *testing.T) {
	const h = "0123456789"
	tests := []struct{ name, want string }{
		{"app.css", "app.0123456789.css"},
		{"css/app.css", "css/app.0123456789.css"},
		{"js/vendor.min.js", "js/vendor.min.0123456789.js"},
		{"js/app.js.map", "js/app.0123456789.js.map"},
		{"fonts/a b.woff2", "fonts/a b.0123456789.woff2"},
		{"LICENSE", "LICENSE.0123456789"},
		{"deep/er/x.tar.gz", "deep/er/x.0123456789.tar.gz"},
	}
	for _, tt := range tests {
		if got := FingerprintName(tt.name, h); got != tt.want {
			t.Errorf("FingerprintName(%q) = %q; want %q", tt.name, got, tt.want)
		}
	}
}

func TestParseFingerprint(t *testing.T) {
	tests := []struct {
		name          string
		logical, hash string
		ok            bool
	}{
		{"app.0123456789.css", "app.css", "0123456789", true},
		{"css/app.0123abcdef.css", "css/app.css", "0123abcdef", true},
		{"js/app.0123456789.js.map", "js/app.js.map", "0123456789", true},
		{"LICENSE.0123456789", "LICENSE", "0123456789", true},
		{"app.abcdef.css", "app.css", "abcdef", true}, // MinHashLength
		{"app.abcde.css", "", "", false},              // too short
		{"app.0123456789ABCDEF.css", "", "", false},   // upper case is not ours
		{"jquery.min.js", "", "", false},              // not hex
		{"app.css", "", "", false},                    // no hash
		{".0123456789.css", "", "", false},            // no stem
		{"app.0123456789z.css", "", "", false},        // not all hex
		{"v1.2.3/app.css", "", "", false},             // dots in folders do not count
	}
	for _, tt := range tests {
		logical, hash, ok := ParseFingerprint(tt.name)
		if logical != tt.logical || hash != tt.hash || ok != tt.ok {
			t.Errorf("ParseFingerprint(%q) = %q, %q, %v; want %q, %q, %v", tt.name, logical, hash, ok, tt.logical, tt.hash, tt.ok)
		}
	}
	// FingerprintName and ParseFingerprint are inverses.
	for _, name := range []string{"a.css", "x/y/app.js.map", "LICENSE", "a b/c d.png"} {
		fp := FingerprintName(name, "deadbeef00")
		logical, hash, ok := ParseFingerprint(fp)
		if !ok || logical != name || hash != "deadbeef00" {
			t.Errorf("ParseFingerprint(FingerprintName(%q)) = %q, %q, %v", name, logical, hash, ok)
		}
	}
}
