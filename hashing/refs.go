package hashing

import (
	"bytes"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"
)

// refKind says how a reference is used, which decides whether a missing
// target is worth reporting.
type refKind uint8

const (
	// refResource is fetched by the page (img src, stylesheet, url()):
	// a missing target is a broken page and is reported.
	refResource refKind = iota
	// refLink is navigated to (a href, start_url): the server may route
	// it, so a missing target is not reported unless it names a file
	// type that cannot be a page.
	refLink
	// refSource is a source map's "sources" entry: original sources are
	// usually not deployed, so a missing one is not reported.
	refSource
)

// ref is one URL found in a file.
type ref struct {
	start, end int    // byte range of text in the file
	text       string // the URL as written in the file
	url        string // text decoded from its container (HTML entities, CSS or JSON escapes)
	base       *url.URL
	kind       refKind
	// late marks a source map's "file": the generated file names the map
	// and the map names the generated file, so this one is filled in after
	// both are named and does not count in the map's hash.
	late bool
	// integrity marks the integrity="" attribute of the <script> or <link>
	// that loads url: start and end hold its value, which is replaced by
	// the SRI value of the file url names when cdnctl changed that file.
	integrity bool
	// pin, when set, marks a URL whose target keeps its name rather than
	// being rewritten (see pinKind); a missing target is not reported.
	pin pinKind
	// encode writes a URL back in the container's syntax; nil when text
	// and url are the same.
	encode func(string) string
	// group, when set, is an enclosing value written with escapes (an
	// HTML attribute with character references): start and end are
	// offsets in group.val, and the group is written back as a whole.
	group *refGroup
}

// refGroup is a decoded container of references (see ref.group).
type refGroup struct {
	start, end int    // byte range in the file
	val        string // the decoded text
	escape     func(string) string
}

// site resolves URLs found in files to logical paths.
type site struct {
	root *url.URL // the site root: Options.BaseURL or https://cdnctl.invalid/
	// files are the files of the build by logical path.
	files map[string]*node
}

const placeholderHost = "cdnctl.invalid"

func newSite(baseURL string, files map[string]*node) (*site, error) {
	root := &url.URL{Scheme: "https", Host: placeholderHost, Path: "/"}
	if baseURL != "" {
		u, err := url.Parse(baseURL)
		if err != nil {
			return nil, fmt.Errorf("base URL %q: %w", baseURL, err)
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
			return nil, fmt.Errorf("base URL %q: want an absolute http or https URL such as https://www.example.com/", baseURL)
		}
		if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, fmt.Errorf("base URL %q: want no query, fragment or user", baseURL)
		}
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/"
		}
		u.RawPath = ""
		root = u
	}
	return &site{root: root, files: files}, nil
}

// docURL is the URL a logical path is served at.
func (s *site) docURL(logical string) *url.URL {
	return s.root.ResolveReference(&url.URL{Path: logical})
}

// resolution is what a URL points to.
type resolution uint8

const (
	resExternal resolution = iota // another site, data:, mailto:, a fragment of the same document
	resFound                      // a file of the build
	resMissing                    // a path of this site with no file
)

// resolve returns the logical path the URL u (relative to base) names.
// A file found is returned as the build names it (no new string).
func (s *site) resolve(base *url.URL, u string) (logical string, res resolution) {
	n, p, res := s.resolveNode(base, u)
	if n != nil {
		return n.logical, res
	}
	return p, res
}

// resolveNode is resolve returning the file found (and "" as the path)
// or, for a path of this site with no file, that path.
func (s *site) resolveNode(base *url.URL, u string) (file *node, missing string, res resolution) {
	u = strings.TrimSpace(u)
	if u == "" || u[0] == '#' || u[0] == '?' {
		return nil, "", resExternal
	}
	if i := strings.IndexAny(u, ":/?#"); i > 0 && u[i] == ':' {
		switch strings.ToLower(u[:i]) {
		case "http", "https":
		default:
			return nil, "", resExternal // data:, mailto:, javascript:, blob:, tel:, webpack: …
		}
	}
	if strings.ContainsAny(u, "{}$") && (strings.Contains(u, "{{") || strings.Contains(u, "${")) {
		return nil, "", resExternal // a template placeholder
	}
	var buf [256]byte
	p, ok := s.resolvePath(buf[:0], base, u)
	if !ok || !hasPrefix(p, s.root.Path) {
		return nil, "", resExternal // another site, or outside the site's base path
	}
	p = p[len(s.root.Path):]
	if len(p) == 0 || p[len(p)-1] == '/' {
		p = append(p, "index.html"...)
	}
	if n := s.files[string(p)]; n != nil {
		return n, "", resFound
	}
	if !hasExt(p) {
		n := len(p)
		for _, alt := range []string{".html", "/index.html"} {
			p = append(p[:n], alt...)
			if f := s.files[string(p)]; f != nil {
				return f, "", resFound
			}
		}
		p = p[:n]
	}
	return nil, string(p), resMissing
}

// hasPrefix is bytes.HasPrefix for a string prefix, without converting.
func hasPrefix(p []byte, prefix string) bool {
	return len(p) >= len(prefix) && string(p[:len(prefix)]) == prefix
}

// hasExt reports whether the last segment of the path p has a ".".
func hasExt(p []byte) bool {
	for i := len(p) - 1; i >= 0 && p[i] != '/'; i-- {
		if p[i] == '.' {
			return true
		}
	}
	return false
}

// resolveDir returns the logical folder ("js/lib/", "" for the root) a
// folder URL (ending in "/") names on this site.
func (s *site) resolveDir(base *url.URL, u string) (string, bool) {
	u = strings.TrimSpace(u)
	if !strings.HasSuffix(u, "/") {
		return "", false
	}
	if _, res := s.resolve(base, u+"x"); res == resExternal {
		return "", false
	}
	p, ok := s.resolvePath(nil, base, u)
	if !ok || !hasPrefix(p, s.root.Path) {
		return "", false
	}
	return string(p[len(s.root.Path):]), true
}

// resolvePath appends to dst the path u (relative to base) names on this
// site, or returns false when it names another site.
func (s *site) resolvePath(dst []byte, base *url.URL, u string) ([]byte, bool) {
	if isPlainPath(u) && base.Host == s.root.Host && base.Scheme == s.root.Scheme {
		// The common case, without parsing URLs: "../img/a.png".
		start := len(dst)
		if u[0] != '/' {
			dst = append(dst, base.Path[:strings.LastIndexByte(base.Path, '/')+1]...)
		}
		dst = append(dst, u...)
		dst = append(dst[:start], cleanPath(dst[start:])...)
		if strings.HasSuffix(u, "/") || strings.HasSuffix(u, "/.") || strings.HasSuffix(u, "/..") || u == "." || u == ".." {
			dst = append(bytes.TrimSuffix(dst, []byte("/")), '/')
		}
		return dst, true
	}
	ref, err := url.Parse(u)
	if err != nil {
		return dst, false
	}
	abs := base.ResolveReference(ref)
	if abs.Scheme != "http" && abs.Scheme != "https" || !strings.EqualFold(hostOnly(abs), hostOnly(s.root)) || portOf(abs) != portOf(s.root) {
		return dst, false
	}
	return append(dst, abs.Path...), true
}

// cleanPath is path.Clean working in p's array: the shortest path naming
// what p names ("a/../b/./c" is "b/c").
func cleanPath(p []byte) []byte {
	if len(p) == 0 {
		return append(p, '.')
	}
	rooted := p[0] == '/'
	n := len(p)
	// w is where the next byte is written, never after r, the next
	// byte read; dotdot is where ".." can no longer go back.
	r, w, dotdot := 0, 0, 0
	if rooted {
		r, w, dotdot = 1, 1, 1
	}
	for r < n {
		switch {
		case p[r] == '/':
			r++ // an empty segment
		case p[r] == '.' && (r+1 == n || p[r+1] == '/'):
			r++ // "."
		case p[r] == '.' && p[r+1] == '.' && (r+2 == n || p[r+2] == '/'):
			r += 2 // "..": back to the previous "/"
			switch {
			case w > dotdot:
				w--
				for w > dotdot && p[w] != '/' {
					w--
				}
			case !rooted:
				if w > 0 {
					p[w] = '/'
					w++
				}
				p[w], p[w+1] = '.', '.'
				w += 2
				dotdot = w
			}
		default:
			if rooted && w != 1 || !rooted && w != 0 {
				p[w] = '/'
				w++
			}
			for ; r < n && p[r] != '/'; r++ {
				p[w] = p[r]
				w++
			}
		}
	}
	if w == 0 {
		return append(p[:0], '.')
	}
	return p[:w]
}

// isPlainPath reports whether u is a path that resolves like a file path:
// no scheme, host, query, fragment, escapes or empty segments.
func isPlainPath(u string) bool {
	if u == "" || strings.HasPrefix(u, "//") || strings.Contains(u, "//") {
		return false
	}
	for i := 0; i < len(u); i++ {
		switch c := u[i]; c {
		case ':', '?', '#', '%', '\\', ' ', '\t', '\n', '\r':
			return false
		default:
			if c < 0x20 || c >= 0x7f {
				return false
			}
		}
	}
	return true
}

func hostOnly(u *url.URL) string { return u.Hostname() }

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" && !(p == "443" && u.Scheme == "https" || p == "80" && u.Scheme == "http") {
		return p
	}
	return ""
}

// reportMissing says whether a missing target of this kind is an error of
// the site rather than a route the server may answer.
func reportMissing(kind refKind, logical string) bool {
	switch kind {
	case refResource:
		return true
	case refLink:
		ext := strings.ToLower(path.Ext(logical))
		if ext == "" || ext == ".html" || ext == ".htm" || ext == ".php" {
			return false
		}
		_, known := webTypes[ext]
		return known
	}
	return false
}

// rewriteURL returns u pointing at output instead of target: the last
// segment of its path is renamed from target's base name to output's,
// keeping how u spells the rest (relative or absolute, escapes, query,
// fragment). When the last segment does not spell target's base name (a
// folder URL, an odd spelling), the whole path is replaced by output's URL
// under the site root.
func (s *site) rewriteURL(u, target, output string) string {
	oldBase, newBase := path.Base(target), path.Base(output)
	p, suffix := u, ""
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		p, suffix = u[:i], u[i:]
	}
	i := strings.LastIndexByte(p, '/')
	seg := p[i+1:]
	if seg == oldBase {
		return p[:i+1] + newBase + suffix
	}
	if dec, err := url.PathUnescape(seg); err == nil && dec == oldBase {
		// The name was written with escapes ("my%20logo.png"): insert the
		// hash before the extension as written.
		oldStem, oldExt := splitExt(oldBase)
		newStem, newExt := splitExt(newBase)
		if oldExt == newExt && strings.HasPrefix(newStem, oldStem) && strings.HasSuffix(seg, oldExt) {
			return p[:i+1] + seg[:len(seg)-len(oldExt)] + newStem[len(oldStem):] + oldExt + suffix
		}
		return p[:i+1] + (&url.URL{Path: newBase}).EscapedPath() + suffix
	}
	abs := s.docURL(output)
	if parsed, err := url.Parse(p); err == nil && parsed.Host != "" {
		// Keep the scheme and host as written ("//cdn.example.com/…").
		parsed.Path, parsed.RawPath = abs.Path, ""
		return parsed.String() + suffix
	}
	return abs.EscapedPath() + suffix
}

// edit replaces src[start:end] with text.
type edit struct {
	start, end int
	text       string
}

// applyEdits returns src with edits applied; edits must not overlap.
func applyEdits(src []byte, edits []edit) []byte { return applyEditsInto(nil, src, edits) }

// applyEditsInto is applyEdits writing into dst's array when it is large
// enough.
func applyEditsInto(dst, src []byte, edits []edit) []byte {
	if len(edits) == 0 {
		return src
	}
	slices.SortFunc(edits, func(a, b edit) int { return a.start - b.start })
	size := len(src)
	for _, e := range edits {
		size += len(e.text) - (e.end - e.start)
	}
	out := dst[:0]
	if cap(out) < size {
		out = make([]byte, 0, size)
	}
	last := 0
	for _, e := range edits {
		out = append(out, src[last:e.start]...)
		out = append(out, e.text...)
		last = e.end
	}
	return append(out, src[last:]...)
}

// lineAt returns the 1-based line of byte offset off in src.
func lineAt(src []byte, off int) int {
	if off > len(src) {
		off = len(src)
	}
	return bytes.Count(src[:off], []byte{'\n'}) + 1
}
