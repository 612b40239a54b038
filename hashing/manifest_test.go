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
	for _, n := range []int{0, 3, 511, 512, 2000} {
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
		if n == 0 {
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
