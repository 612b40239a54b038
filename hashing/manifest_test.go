package hashing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
)

// TestManifestEncoding checks that a large manifest, whose entries are
// encoded on several goroutines, is written byte for byte as
// json.MarshalIndent writes it.
func TestManifestEncoding(t *testing.T) {
	for _, n := range []int{-1, 0, 1, 3, 511, 512, 2000} {
		m := &Manifest{Version: ManifestVersion, Algorithm: "sha256<&>", Files: map[string]Entry{}}
		for i := range n {
			key := fmt.Sprintf("dir/%d/caf\u00e9 <&> \"q\".png", i)
			e := Entry{Path: key, Fingerprinted: i%2 == 0, SHA256: "ab", Size: int64(i), ContentType: "image/png", CacheControl: "public, max-age=60"}
			if i%3 == 0 {
				e.Integrity, e.Headers, e.Tags = "sha384-x", map[string]string{"X-B": "2", "X-A": "1 <&>"}, []string{"t1", "t2"}
				e.Encodings = map[string]Encoding{"br": {Path: key + ".br", Size: 1, SHA256: "cd"}, "gzip": {Path: key + ".gz"}}
			}
			m.Files[key] = e
		}
		if n < 0 {
			m.Files = nil
		}
		want, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if _, err := m.WriteTo(&got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), append(want, '\n')) {
			t.Errorf("%d entries: WriteTo differs from json.MarshalIndent:\n%.300s\nwant\n%.300s", n, got.Bytes(), want)
		}
	}
}

// FuzzEntryEncoding checks that appendEntry writes what
// json.MarshalIndent writes, whatever the strings of an entry hold.
func FuzzEntryEncoding(f *testing.F) {
	f.Add("css/app.3f9a.css", "ab12", "sha384-x", "text/css; charset=utf-8", "public, max-age=31536000, immutable", "X-A", "1 <&>", "t", "br", int64(10), true)
	f.Add("caf\u00e9 \"q\"\\.png", "", "", "\u2028\u2029", "\x00\x1f\x7f\b\f\n\r\t", "", "", "", "", int64(-1), false)
	f.Add("\xff\xfe bad utf-8 \xe2\x80", "a", "b", "c", "d", "k\xc3", "v", "t\u2028", "gzip", int64(0), false)
	f.Fuzz(func(t *testing.T, p, sum, integ, ct, cc, hk, hv, tag, enc string, size int64, fp bool) {
		e := Entry{Path: p, Fingerprinted: fp, SHA256: sum, Integrity: integ, Size: size, ContentType: ct, CacheControl: cc}
		if hk != "" {
			e.Headers = map[string]string{hk: hv, hk + "2": hv + tag}
		}
		if tag != "" {
			e.Tags = []string{tag, p}
		}
		if enc != "" {
			e.Encodings = map[string]Encoding{enc: {Path: p + ".br", Size: size, SHA256: sum}, enc + "x": {Path: tag}}
		}
		want, err := json.MarshalIndent(e, "    ", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if got := appendEntry(nil, &e); !bytes.Equal(got, want) {
			t.Errorf("appendEntry(%+v) =\n%s\nwant (json.MarshalIndent)\n%s", e, got, want)
		}
	})
}
