package providers

import (
	"fmt"
	"path"
	"strings"
)

// Glob is a compiled key pattern, as used in ordering, exclusion and header
// rules. The syntax is path.Match's (`*`, `?`, `[a-z]`) within one path
// segment, plus `**` for any number of segments:
//
//   - a pattern without a slash matches the last segment of a key, at any
//     depth: `*.html` matches "index.html" and "docs/a/b.html";
//   - a pattern with a slash matches the whole key from the root (a leading
//     slash is ignored): `assets/**` matches everything under assets/,
//     `/robots.txt` only the top-level file;
//   - a trailing slash means "everything under": `.git/` is `**/.git/**`
//     when it has no other slash, `docs/old/` is `docs/old/**`.
type Glob struct {
	pattern string
	parts   []string // segments matched against the key; nil for base-name patterns
	base    string   // base-name pattern
}

// CompileGlob checks a pattern and compiles it.
func CompileGlob(pattern string) (Glob, error) {
	p := strings.TrimSpace(pattern)
	if p == "" {
		return Glob{}, fmt.Errorf("glob %q: empty pattern", pattern)
	}
	dir := strings.HasSuffix(p, "/")
	anchored := strings.Contains(strings.TrimSuffix(p, "/"), "/")
	p = strings.Trim(p, "/")
	if p == "" {
		return Glob{}, fmt.Errorf("glob %q: matches nothing", pattern)
	}
	g := Glob{pattern: pattern}
	switch {
	case !anchored && !dir:
		g.base = p
		if _, err := path.Match(p, ""); err != nil {
			return Glob{}, fmt.Errorf("glob %q: %w", pattern, err)
		}
		return g, nil
	case !anchored && dir:
		g.parts = []string{"**", p, "**"}
	default:
		g.parts = strings.Split(p, "/")
		if dir {
			g.parts = append(g.parts, "**")
		}
	}
	for _, s := range g.parts {
		if s == "" {
			return Glob{}, fmt.Errorf("glob %q: empty path segment", pattern)
		}
		if _, err := path.Match(s, ""); err != nil {
			return Glob{}, fmt.Errorf("glob %q: %w", pattern, err)
		}
	}
	return g, nil
}

// MustCompileGlob is CompileGlob for patterns known to be valid (defaults).
func MustCompileGlob(pattern string) Glob {
	g, err := CompileGlob(pattern)
	if err != nil {
		panic(err)
	}
	return g
}

// String returns the pattern as written.
func (g Glob) String() string { return g.pattern }

// Match reports whether key (slash-separated, no leading slash) matches.
func (g Glob) Match(key string) bool {
	if g.parts == nil {
		if g.base == "" {
			return false
		}
		ok, _ := path.Match(g.base, path.Base(key))
		return ok
	}
	return matchSegments(g.parts, strings.Split(key, "/"))
}

func matchSegments(pat, segs []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			// Collapse runs of ** and try every split point.
			for len(pat) > 0 && pat[0] == "**" {
				pat = pat[1:]
			}
			if len(pat) == 0 {
				return true
			}
			for i := 0; i <= len(segs); i++ {
				if matchSegments(pat, segs[i:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], segs[0]); !ok {
			return false
		}
		pat, segs = pat[1:], segs[1:]
	}
	return len(segs) == 0
}

// Globs is a list of patterns; a key matches when any of them does.
type Globs []Glob

// CompileGlobs compiles every pattern, naming the first bad one.
func CompileGlobs(patterns []string) (Globs, error) {
	gs := make(Globs, 0, len(patterns))
	for _, p := range patterns {
		g, err := CompileGlob(p)
		if err != nil {
			return nil, err
		}
		gs = append(gs, g)
	}
	return gs, nil
}

// Match reports whether any glob matches key.
func (gs Globs) Match(key string) bool {
	return gs.Index(key) >= 0
}

// Index returns the position of the first glob that matches key, or -1.
func (gs Globs) Index(key string) int {
	for i, g := range gs {
		if g.Match(key) {
			return i
		}
	}
	return -1
}
