package hashing

import (
	"fmt"
	"path"
	"strings"
)

// Glob matches slash-separated logical paths ("css/app.css") with the
// syntax of .gitignore-style globs, the one every path pattern of cdnctl
// uses (keep, prehashed, exclude and rule matches):
//
//   - "*", "?", "[a-z]" and "\x" match within one path segment (path.Match);
//   - "**" as a whole segment matches any number of segments, including none;
//   - "{a,b}" matches either alternative ("*.{png,jpg}");
//   - a pattern without "/" matches the base name at any depth ("*.html"
//     matches "blog/post/index.html");
//   - a pattern with "/" is anchored at the site root ("/" or "./" in front
//     is allowed: "/robots.txt", "fonts/**");
//   - a trailing "/" matches everything below a folder ("assets/" is
//     "assets/**").
//
// Matching is case-sensitive, like URLs.
type Glob struct {
	pattern string
	// alts are the brace expansions, each split into segments.
	alts [][]segment
}

// segment is one compiled path segment of a pattern. Most segments of real
// patterns are a literal ("fonts"), a suffix ("*.html") or a prefix
// ("sitemap*"): those are matched without path.Match, which matters when
// every file of a 10,000-file site is matched against dozens of globs.
type segment struct {
	kind segmentKind
	pat  string // the segment as written (kind segGlob), or its literal part
}

type segmentKind uint8

const (
	segAnyDirs segmentKind = iota // "**": any number of segments
	segLiteral                    // no wildcard: equal
	segSuffix                     // "*" + literal
	segPrefix                     // literal + "*"
	segGlob                       // anything else: path.Match
)

func compileSegment(s string) segment {
	if s == "**" {
		return segment{kind: segAnyDirs}
	}
	const meta = "*?[\\"
	switch {
	case !strings.ContainsAny(s, meta):
		return segment{kind: segLiteral, pat: s}
	case len(s) > 1 && s[0] == '*' && !strings.ContainsAny(s[1:], meta):
		return segment{kind: segSuffix, pat: s[1:]}
	case len(s) > 1 && s[len(s)-1] == '*' && !strings.ContainsAny(s[:len(s)-1], meta):
		return segment{kind: segPrefix, pat: s[:len(s)-1]}
	}
	return segment{kind: segGlob, pat: s}
}

// match reports whether one segment of a path (no slash) matches.
func (s segment) match(name string) bool {
	switch s.kind {
	case segLiteral:
		return name == s.pat
	case segSuffix:
		return strings.HasSuffix(name, s.pat)
	case segPrefix:
		return strings.HasPrefix(name, s.pat)
	case segGlob:
		ok, _ := path.Match(s.pat, name)
		return ok
	}
	return false
}

// CompileGlob checks pattern and returns its matcher. The error names the
// pattern and what is wrong with it.
func CompileGlob(pattern string) (*Glob, error) {
	p := strings.TrimSpace(pattern)
	if p == "" {
		return nil, fmt.Errorf("glob %q: empty pattern", pattern)
	}
	if strings.ContainsRune(p, '\\') && strings.HasSuffix(p, "\\") {
		return nil, fmt.Errorf("glob %q: trailing backslash", pattern)
	}
	expanded, err := expandBraces(p)
	if err != nil {
		return nil, fmt.Errorf("glob %q: %w", pattern, err)
	}
	g := &Glob{pattern: pattern}
	for _, e := range expanded {
		anchored := strings.Contains(strings.TrimSuffix(e, "/"), "/")
		e = strings.TrimPrefix(e, "./")
		e = strings.TrimPrefix(e, "/")
		if strings.HasSuffix(e, "/") {
			e += "**"
		}
		if e == "" {
			return nil, fmt.Errorf("glob %q: matches nothing", pattern)
		}
		segs := strings.Split(e, "/")
		if !anchored {
			segs = append([]string{"**"}, segs...)
		}
		compiled := make([]segment, 0, len(segs))
		for _, s := range segs {
			if s == "" {
				return nil, fmt.Errorf("glob %q: empty path segment", pattern)
			}
			if s != "**" {
				if _, err := path.Match(s, ""); err != nil {
					return nil, fmt.Errorf("glob %q: %w", pattern, err)
				}
			}
			compiled = append(compiled, compileSegment(s))
		}
		g.alts = append(g.alts, compiled)
	}
	return g, nil
}

// MustCompileGlob is CompileGlob for patterns known to be valid; it panics
// otherwise.
func MustCompileGlob(pattern string) *Glob {
	g, err := CompileGlob(pattern)
	if err != nil {
		panic(err)
	}
	return g
}

// String returns the pattern as written.
func (g *Glob) String() string { return g.pattern }

// Match reports whether the logical path name (slash-separated, no leading
// slash) matches.
func (g *Glob) Match(name string) bool {
	return g.matchSplit(name, strings.Split(name, "/"))
}

func (g *Glob) matchSplit(name string, segs []string) bool {
	for _, alt := range g.alts {
		if len(alt) == 2 && alt[0].kind == segAnyDirs && alt[1].kind != segAnyDirs {
			// The common "*.html" form: only the base name matters.
			if alt[1].match(segs[len(segs)-1]) {
				return true
			}
			continue
		}
		if matchSegments(alt, segs) {
			return true
		}
	}
	return false
}

// matchesAllBelow reports whether every path below the folder dir matches,
// so a walk can skip the folder ("node_modules/**" or ".git/").
func (g *Glob) matchesAllBelow(dir string) bool {
	segs := strings.Split(dir, "/")
	for _, alt := range g.alts {
		if len(alt) > 0 && alt[len(alt)-1].kind == segAnyDirs && matchSegments(alt[:len(alt)-1], segs) {
			return true
		}
	}
	return false
}

func matchSegments(pat []segment, name []string) bool {
	for len(pat) > 0 {
		if pat[0].kind == segAnyDirs {
			rest := pat[1:]
			for len(rest) > 0 && rest[0].kind == segAnyDirs {
				rest = rest[1:]
			}
			if len(rest) == 0 {
				return len(name) > 0 // "dir/**" is what is inside dir
			}
			for i := 0; i <= len(name); i++ {
				if matchSegments(rest, name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if !pat[0].match(name[0]) {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

// expandBraces expands "{a,b}" alternatives (nested braces allowed).
func expandBraces(p string) ([]string, error) {
	open := -1
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '{':
			open = i
		}
		if open >= 0 {
			break
		}
	}
	if open < 0 {
		for i := 0; i < len(p); i++ {
			switch p[i] {
			case '\\':
				i++
			case '}':
				return nil, fmt.Errorf("unmatched '}'")
			}
		}
		return []string{p}, nil
	}
	depth := 0
	var parts []string
	start := open + 1
	for i := open; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				parts = append(parts, p[start:i])
				var out []string
				for _, part := range parts {
					exp, err := expandBraces(p[:open] + part + p[i+1:])
					if err != nil {
						return nil, err
					}
					out = append(out, exp...)
				}
				return out, nil
			}
		case ',':
			if depth == 1 {
				parts = append(parts, p[start:i])
				start = i + 1
			}
		}
	}
	return nil, fmt.Errorf("unmatched '{'")
}

// Globs is a compiled list of globs; a path matches when any glob does.
type Globs []*Glob

// CompileGlobs compiles every pattern; the error names the first bad one.
func CompileGlobs(patterns []string) (Globs, error) {
	return compileGlobs("", patterns)
}

func compileGlobs(what string, patterns []string) (Globs, error) {
	l := make(Globs, 0, len(patterns))
	for i, p := range patterns {
		g, err := CompileGlob(p)
		if err != nil {
			if what == "" {
				return nil, err
			}
			return nil, fmt.Errorf("%s[%d]: %w", what, i, err)
		}
		l = append(l, g)
	}
	return l, nil
}

// Match reports whether any glob matches the logical path name.
func (l Globs) Match(name string) bool {
	return l.Index(name) >= 0
}

// Index returns the position of the first glob that matches name, or -1.
func (l Globs) Index(name string) int {
	if len(l) == 0 {
		return -1
	}
	segs := strings.Split(name, "/")
	for i, g := range l {
		if g.matchSplit(name, segs) {
			return i
		}
	}
	return -1
}

func (l Globs) matchesAllBelow(dir string) bool {
	for _, g := range l {
		if g.matchesAllBelow(dir) {
			return true
		}
	}
	return false
}
