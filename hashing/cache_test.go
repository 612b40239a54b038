package hashing

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestCacheOnDisk checks that the stored form of the incremental cache
// (paths and texts written once, named by index) gives back the cache it
// was made from, and that an index out of range makes it unusable rather
// than wrong.
func TestCacheOnDisk(t *testing.T) {
	c := &cacheFile{Version: cacheVersion, Options: "o", FileSet: "f", Started: 42, Files: map[string]*cacheEntry{
		"index.html": {Size: 10, MTime: 1, Out: "index.html", OutSize: 12, OutMTime: 2, SHA256: "ab", Integrity: "sha384-x", Rewritten: true,
			Occ:     []cachedOcc{{Path: "img/a.png", Line: 3, Text: "/img/a.png"}, {Path: "r/1/img/a.png", Line: 3, Text: "/img/a.png"}},
			Targets: []cachedTarget{{Path: "css/s.css", Resource: true}, {Path: "app.js", Late: true, Integrity: true, Pin: uint8(pinServiceWorker)}},
			Missing: []MissingRef{{File: "index.html", Line: 4, URL: "/gone.png", Target: "gone.png"}},
			PinDirs: []string{"lib/"}, DepsSig: "d", LateSig: "l",
			Encodings: map[string]cachedEncoding{"br": {Encoding: Encoding{Path: "index.html.br", Size: 5, SHA256: "cd"}, MTime: 3}}},
		"css/s.css": {Size: 3, MTime: 1, Out: "css/s.0123456789.css", Fingerprinted: true, Pinned: false},
		"img/a.png": {Size: 4, MTime: 1, Out: "img/a.png", Pinned: true, SHA1: "e"},
	}}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(c.disk()); err != nil {
		t.Fatal(err)
	}
	var d diskCache
	if err := gob.NewDecoder(&buf).Decode(&d); err != nil {
		t.Fatal(err)
	}
	got, ok := d.cache()
	if !ok {
		t.Fatal("the stored cache is unusable")
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("stored and read back:\n%+v\nwant\n%+v", got.Files["index.html"], c.Files["index.html"])
	}
	// Each path and text is stored once.
	seen := map[string]bool{}
	for _, p := range d.Paths {
		if seen[p] {
			t.Errorf("%q stored twice", p)
		}
		seen[p] = true
	}
	for i, p := range d.Paths {
		if p == "/img/a.png" {
			d.Files[0].OccTexts = append(d.Files[0].OccTexts, int32(len(d.Paths)))
			d.Files[0].OccPaths = append(d.Files[0].OccPaths, int32(i))
			d.Files[0].OccLines = append(d.Files[0].OccLines, 1)
		}
	}
	if _, ok := d.cache(); ok {
		t.Error("a cache naming a path index out of range was used")
	}
}

// TestDepsSig checks depsSig against its definition: the SHA-256 of each
// link's "logical NUL output[ NUL integrity]\n", for the links of the kind
// asked, through buffers of any size.
func TestDepsSig(t *testing.T) {
	n := &node{}
	if depsSig(n, false) != "" {
		t.Error("depsSig of a node without links is not empty")
	}
	for i := range 60 {
		tn := &node{srcFile: srcFile{logical: fmt.Sprintf("img/%03d/%s.png", i, strings.Repeat("x", i))}}
		tn.out = strings.TrimSuffix(tn.logical, ".png") + ".0123456789.png"
		tn.integrity = "sha384-" + strings.Repeat("y", i)
		n.links = append(n.links, link{target: tn, late: i%7 == 0, integrity: i%3 == 0})
	}
	for _, late := range []bool{false, true} {
		var want []byte
		for _, l := range n.links {
			if l.late != late {
				continue
			}
			out := l.target.logical
			if !l.target.fixedName() {
				out = l.target.out
			}
			want = append(want, l.target.logical+"\x00"+out...)
			if l.integrity {
				want = append(want, "\x00"+l.target.integrity...)
			}
			want = append(want, '\n')
		}
		sum := sha256.Sum256(want)
		if got := depsSig(n, late); got != hex.EncodeToString(sum[:16]) {
			t.Errorf("depsSig(late %v) = %s, want %x (%d bytes hashed)", late, got, sum[:16], len(want))
		}
	}
}

// TestDirOutputStat checks that the size and time DirOutput records for a
// file it wrote are what the file system says, and that a file written
// over is looked up again.
func TestDirOutputStat(t *testing.T) {
	d := NewDirOutput(t.TempDir())
	check := func(name string) {
		t.Helper()
		size, mtime, ok := d.stat(name)
		info, err := os.Lstat(d.path(name))
		if err != nil || !ok || size != info.Size() || mtime != info.ModTime().UnixNano() {
			t.Errorf("stat(%s) = %d, %d, %v; the file system says %v, %v (%v)", name, size, mtime, ok, info.Size(), info.ModTime().UnixNano(), err)
		}
	}
	if err := d.WriteFile("a/b.txt", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	check("a/b.txt")
	time.Sleep(10 * time.Millisecond) // a later modification time
	if err := writeOutput(d, "a/b.txt", []byte("hello, again")); err != nil {
		t.Fatal(err)
	}
	check("a/b.txt")
	if _, _, ok := d.stat("a/none.txt"); ok {
		t.Error("stat of a file never written is ok")
	}
}
