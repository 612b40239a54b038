package hashing

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// TestWalkSourceOrder checks that walking folders on several goroutines
// gives what a depth-first walk in name order gives: every file, sorted;
// the skipped paths in walk order; and of several errors, the first.
func TestWalkSourceOrder(t *testing.T) {
	fsys := fstest.MapFS{}
	for i := range 40 {
		for j := range 5 {
			dir := fmt.Sprintf("d%02d/s%d", i, j)
			fsys[dir+"/a.css"] = &fstest.MapFile{Data: []byte("a")}
			fsys[dir+"/.env"] = &fstest.MapFile{Data: []byte("x")}
			if j == 2 {
				fsys[dir+"/.git/config"] = &fstest.MapFile{Data: []byte("x")}
				fsys[dir+"/skip/b.png"] = &fstest.MapFile{Data: []byte("x")}
			}
		}
	}
	skip := func(name string, dir bool) (bool, string) {
		base := name[strings.LastIndexByte(name, '/')+1:]
		switch {
		case strings.HasPrefix(base, "."):
			return true, "dot"
		case dir && base == "skip":
			return true, ""
		}
		return false, ""
	}
	var wantFiles []string
	var wantSkipped []Skipped
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "." {
			return err
		}
		if s, reason := skip(p, d.IsDir()); s {
			if reason != "" {
				name := p
				if d.IsDir() {
					name += "/"
				}
				wantSkipped = append(wantSkipped, Skipped{name, reason})
			}
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !d.IsDir() {
			wantFiles = append(wantFiles, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(wantFiles)
	for range 20 {
		files, skipped, err := walkSource(context.Background(), fsys, "", skip)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range files {
			got = append(got, f.logical)
		}
		if !slices.Equal(got, wantFiles) {
			t.Fatalf("files %q…, want %q…", got[:3], wantFiles[:3])
		}
		if !slices.Equal(skipped, wantSkipped) {
			t.Fatalf("skipped %v…, want %v…", skipped[:3], wantSkipped[:3])
		}
	}
	// Two special files: the error names the first in walk order.
	fsys["d07/s1/dev"] = &fstest.MapFile{Mode: fs.ModeDevice}
	fsys["d31/s4/dev"] = &fstest.MapFile{Mode: fs.ModeDevice}
	for range 20 {
		_, _, err := walkSource(context.Background(), fsys, "", skip)
		if err == nil || !strings.Contains(err.Error(), "d07/s1/dev") {
			t.Fatalf("error %v, want one naming d07/s1/dev", err)
		}
	}
}
