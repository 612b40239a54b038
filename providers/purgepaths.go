package providers

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
)

// KeyPaths maps an origin object key to the URL paths a CDN caches it
// under, given the target's origin path (the storage prefix the CDN
// prepends to a viewer's path, CloudFront's OriginPath): with origin path
// "/site", key "site/blog/app.css" is served as "/blog/app.css". An index
// document ("site/blog/index.html") is also served as its directory
// ("/blog/"), so both are returned. A key outside the origin path is not
// served by the target: an error.
func KeyPaths(key, originPath string) ([]string, error) {
	if key == "" || strings.HasPrefix(key, "/") {
		return nil, fmt.Errorf("%w: key %q: want a relative object key such as site/app.css", ErrInvalidPurge, key)
	}
	root := strings.Trim(originPath, "/")
	rel := key
	if root != "" {
		if !strings.HasPrefix(key, root+"/") {
			return nil, fmt.Errorf("%w: key %q is outside the origin path %q, so the CDN does not serve it", ErrInvalidPurge, key, "/"+root)
		}
		rel = strings.TrimPrefix(key, root+"/")
	}
	p := "/" + rel
	if path.Base(p) == "index.html" {
		dir := path.Dir(p)
		if dir != "/" {
			dir += "/"
		}
		return []string{p, dir}, nil
	}
	return []string{p}, nil
}

// CleanURLPaths returns the other URL paths a static host with clean URLs
// may cache the page at path p under, whatever its trailing-slash policy
// (cdnctl serve's serve.static.html_handling, Cloudflare Pages, Netlify):
// "/about" and "/about/" for "/about.html", "/docs" for
// "/docs/index.html" (whose "/docs/" KeyPaths returns). Other paths have
// none.
func CleanURLPaths(p string) []string {
	switch {
	case p == "/index.html" || !strings.HasSuffix(p, ".html"):
		return nil
	case strings.HasSuffix(p, "/index.html"):
		return []string{strings.TrimSuffix(p, "/index.html")}
	case path.Base(p) == ".html":
		return nil
	}
	base := strings.TrimSuffix(p, ".html")
	return []string{base, base + "/"}
}

// IsWildcard reports whether a path ends in the "*" wildcard.
func IsWildcard(p string) bool { return strings.HasSuffix(p, "*") }

// covers reports whether wildcard w matches p (w ends in "*").
func covers(w, p string) bool {
	return w != p && strings.HasPrefix(p, strings.TrimSuffix(w, "*"))
}

// DedupePaths returns paths sorted, without duplicates and without the
// paths a wildcard in the set already covers ("/a/*" covers "/a/b.css" and
// "/a/b*"). It runs in O(n log n): ordered by their text without the
// final "*", the paths a wildcard covers follow it directly.
func DedupePaths(paths []string) []string {
	items := slices.Clone(paths)
	key := func(p string) string { return strings.TrimSuffix(p, "*") }
	slices.SortFunc(items, func(a, b string) int {
		if c := strings.Compare(key(a), key(b)); c != 0 {
			return c
		}
		// The wildcard before the path it covers.
		switch aw, bw := IsWildcard(a), IsWildcard(b); {
		case aw && !bw:
			return -1
		case bw && !aw:
			return 1
		}
		return 0
	})
	items = slices.Compact(items)
	out := items[:0]
	active := "" // the prefix of the last wildcard kept
	for _, p := range items {
		if active != "" && strings.HasPrefix(key(p), active) {
			continue
		}
		out = append(out, p)
		if IsWildcard(p) {
			active = key(p)
		}
	}
	slices.Sort(out)
	return out
}

// CollapsePaths folds paths (each starting with "/", "*" only at the end)
// into at most limit paths by replacing the files of a directory with the
// directory's wildcard, deepest directories first and, on one level, the
// directories holding the most paths first, so each wildcard invalidates as
// little as possible. When nothing narrower fits it returns ["/*"]. The
// result is sorted and deduplicated; it is paths itself (deduplicated) when
// that already fits. Like s3deploy's normalizeInvalidationPaths, but it
// folds only as many directories as the limit needs.
func CollapsePaths(paths []string, limit int) []string {
	if limit < 1 {
		limit = 1
	}
	items := DedupePaths(paths)
	if len(items) <= limit {
		return items
	}
	maxDepth := 0
	for _, p := range items {
		if d := len(dirsOf(p)) - 1; d > maxDepth {
			maxDepth = d
		}
	}
	for depth := maxDepth; depth >= 0; depth-- {
		counts := map[string]int{}
		for _, p := range items {
			if ds := dirsOf(p); depth < len(ds) {
				counts[ds[depth]]++
			}
		}
		var cands []string
		for d, n := range counts {
			if n >= 2 {
				cands = append(cands, d)
			}
		}
		sort.Slice(cands, func(i, j int) bool {
			if counts[cands[i]] != counts[cands[j]] {
				return counts[cands[i]] > counts[cands[j]]
			}
			return cands[i] < cands[j]
		})
		n := len(items)
		fold := map[string]bool{}
		for _, d := range cands {
			if n <= limit {
				break
			}
			fold[d] = true
			n -= counts[d] - 1
		}
		if len(fold) == 0 {
			continue
		}
		next := items[:0:0]
		for _, p := range items {
			if ds := dirsOf(p); depth < len(ds) && fold[ds[depth]] {
				continue
			}
			next = append(next, p)
		}
		for d := range fold {
			next = append(next, d+"*")
		}
		items = DedupePaths(next)
		if len(items) <= limit {
			return items
		}
	}
	return []string{"/*"}
}

// dirsOf lists the directories that contain p, shallowest first: "/a/b.css"
// → ["/", "/a/"]; "/a/b/" and "/a/b/*" → ["/", "/a/", "/a/b/"]; "/a/b*" →
// ["/", "/a/"]. A query string is ignored.
func dirsOf(p string) []string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	p = strings.TrimSuffix(p, "*")
	var ds []string
	for i := 0; i < len(p); i++ {
		if p[i] == '/' {
			ds = append(ds, p[:i+1])
		}
	}
	return ds
}

// Chunk splits items into consecutive slices of at most size items (size
// < 1 means one chunk).
func Chunk[T any](items []T, size int) [][]T {
	if len(items) == 0 {
		return nil
	}
	if size < 1 || size >= len(items) {
		return [][]T{items}
	}
	out := make([][]T, 0, (len(items)+size-1)/size)
	for len(items) > 0 {
		n := min(size, len(items))
		out = append(out, items[:n:n])
		items = items[n:]
	}
	return out
}
