package providers

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestKeyPaths(t *testing.T) {
	tests := []struct {
		key, origin string
		want        []string
		wantErr     bool
	}{
		{"app.css", "", []string{"/app.css"}, false},
		{"site/app.css", "/site", []string{"/app.css"}, false},
		{"site/app.css", "site/", []string{"/app.css"}, false},
		{"site/a/b/app.css", "/site/a", []string{"/b/app.css"}, false},
		{"index.html", "", []string{"/index.html", "/"}, false},
		{"site/blog/index.html", "/site", []string{"/blog/index.html", "/blog/"}, false},
		{"site/index.html", "/site", []string{"/index.html", "/"}, false},
		{"blog/index.htm", "", []string{"/blog/index.htm"}, false},
		{"other/app.css", "/site", nil, true},
		{"siteother/app.css", "/site", nil, true},
		{"/app.css", "", nil, true},
		{"", "", nil, true},
	}
	for _, tt := range tests {
		got, err := KeyPaths(tt.key, tt.origin)
		if (err != nil) != tt.wantErr {
			t.Errorf("KeyPaths(%q, %q) error = %v; want error %v", tt.key, tt.origin, err, tt.wantErr)
			continue
		}
		if err != nil && !errors.Is(err, ErrInvalidPurge) {
			t.Errorf("KeyPaths(%q, %q) error %v does not wrap ErrInvalidPurge", tt.key, tt.origin, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("KeyPaths(%q, %q) mismatch (-want +got):\n%s", tt.key, tt.origin, diff)
		}
	}
}

func TestCleanURLPaths(t *testing.T) {
	for p, want := range map[string][]string{
		"/about.html":           {"/about", "/about/"},
		"/blog/first-post.html": {"/blog/first-post", "/blog/first-post/"},
		"/docs/index.html":      {"/docs"},
		"/index.html":           nil,
		"/app.css":              nil,
		"/about.htm":            nil,
		"/a/.html":              nil,
	} {
		if got := CleanURLPaths(p); !slices.Equal(got, want) {
			t.Errorf("CleanURLPaths(%q) = %q; want %q", p, got, want)
		}
	}
}

func TestDedupePaths(t *testing.T) {
	tests := []struct {
		in, want []string
	}{
		{nil, []string{}},
		{[]string{"/b", "/a", "/b"}, []string{"/a", "/b"}},
		{[]string{"/a/x.css", "/a/*", "/a/y/z.js", "/b.css"}, []string{"/a/*", "/b.css"}},
		{[]string{"/a/b*", "/a/bc", "/a/b", "/a/c"}, []string{"/a/b*", "/a/c"}},
		{[]string{"/*", "/a/*", "/x"}, []string{"/*"}},
		// A wildcard does not cover itself, and "/a/" is covered by "/a/*".
		{[]string{"/a/*", "/a/*", "/a/"}, []string{"/a/*"}},
		{[]string{"/img.jpg*", "/img.jpg?w=100", "/img.jpeg"}, []string{"/img.jpeg", "/img.jpg*"}},
	}
	for _, tt := range tests {
		got := DedupePaths(tt.in)
		if got == nil {
			got = []string{}
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("DedupePaths(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestCollapsePaths(t *testing.T) {
	many := func(dir string, n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("%sf%03d.html", dir, i))
		}
		return out
	}
	tests := []struct {
		name  string
		in    []string
		limit int
		want  []string
	}{
		{"fits", []string{"/b.css", "/a.css"}, 5, []string{"/a.css", "/b.css"}},
		{"exactly the limit", []string{"/a", "/b", "/c"}, 3, []string{"/a", "/b", "/c"}},
		{
			"one busy directory folds, the rest stays exact",
			append(many("/blog/2024/", 40), "/index.html", "/about/"),
			5,
			[]string{"/about/", "/blog/2024/*", "/index.html"},
		},
		{
			"deepest directories fold first",
			[]string{"/a/b/c/1", "/a/b/c/2", "/a/b/d/1", "/a/b/d/2", "/a/x", "/y"},
			4,
			[]string{"/a/b/c/*", "/a/b/d/*", "/a/x", "/y"},
		},
		{
			"folding goes up a level when one is not enough",
			[]string{"/a/b/c/1", "/a/b/c/2", "/a/b/d/1", "/a/b/d/2", "/a/x", "/y"},
			2,
			[]string{"/a/*", "/y"},
		},
		{
			"on one level the fullest directory folds first",
			append(append(many("/p/", 3), many("/q/", 10)...), "/r/1", "/r/2"),
			8,
			[]string{"/p/f000.html", "/p/f001.html", "/p/f002.html", "/q/*", "/r/1", "/r/2"},
		},
		{
			"everything at the root falls back to /*",
			[]string{"/a", "/b", "/c", "/d"},
			2,
			[]string{"/*"},
		},
		{
			"existing wildcards merge into their parent",
			[]string{"/a/b/*", "/a/c/*", "/a/d/*", "/e"},
			2,
			[]string{"/a/*", "/e"},
		},
		{
			"query strings fold with their directory",
			[]string{"/img/a.jpg?w=1", "/img/a.jpg?w=2", "/img/b.jpg", "/x"},
			2,
			[]string{"/img/*", "/x"},
		},
		{"limit below one means one", []string{"/a", "/b"}, 0, []string{"/*"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.in)
			got := CollapsePaths(in, tt.limit)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("CollapsePaths(%d paths, %d) mismatch (-want +got):\n%s", len(tt.in), tt.limit, diff)
			}
			if len(got) > max(tt.limit, 1) {
				t.Errorf("CollapsePaths returned %d paths; limit %d", len(got), tt.limit)
			}
			// Every input stays covered by the output.
			for _, p := range tt.in {
				if !slices.Contains(got, p) && !slices.ContainsFunc(got, func(w string) bool { return IsWildcard(w) && covers(w, p) }) {
					t.Errorf("input %q is not covered by %q", p, got)
				}
			}
			if !slices.Equal(in, tt.in) {
				t.Errorf("CollapsePaths modified its input")
			}
		})
	}
}

func TestChunk(t *testing.T) {
	tests := []struct {
		n, size int
		want    []int // chunk lengths
	}{
		{0, 3, nil},
		{5, 0, []int{5}},
		{5, 5, []int{5}},
		{5, 10, []int{5}},
		{7, 3, []int{3, 3, 1}},
		{6, 3, []int{3, 3}},
	}
	for _, tt := range tests {
		items := make([]int, tt.n)
		for i := range items {
			items[i] = i
		}
		chunks := Chunk(items, tt.size)
		var lens []int
		var flat []int
		for _, c := range chunks {
			lens = append(lens, len(c))
			flat = append(flat, c...)
		}
		if diff := cmp.Diff(tt.want, lens); diff != "" {
			t.Errorf("Chunk(%d items, %d) lengths mismatch (-want +got):\n%s", tt.n, tt.size, diff)
		}
		if tt.n > 0 && !slices.Equal(flat, items) {
			t.Errorf("Chunk(%d items, %d) lost or reordered items: %v", tt.n, tt.size, flat)
		}
	}
	// Appending to a chunk must not overwrite the next one.
	items := []string{"a", "b", "c", "d"}
	chunks := Chunk(items, 2)
	_ = append(chunks[0], "x")
	if chunks[1][0] != "c" {
		t.Errorf("append to chunk 0 overwrote chunk 1: %q", chunks[1])
	}
}

// BenchmarkCollapsePaths folds the paths of a large deploy: 20,000 files
// spread over 4 levels of 10 directories each.
func BenchmarkCollapsePaths(b *testing.B) {
	var paths []string
	for i := range 20000 {
		paths = append(paths, fmt.Sprintf("/d%d/e%d/f%d/g%d/file-%05d.html", i%10, (i/10)%10, (i/100)%10, (i/1000)%10, i))
	}
	b.ReportAllocs()
	for b.Loop() {
		if out := CollapsePaths(paths, 15); len(out) > 15 {
			b.Fatalf("%d paths", len(out))
		}
	}
}
