package siteaudit

import (
	"bytes"
	"net/url"
	"path"
	"strings"

	"github.com/cdnctl/cdnctl/extfilter"
)

// site is what the resolver knows of an output: the files in it, and the
// source files written there under another name.
type site struct {
	out map[string]bool
	// renamed maps a source path to the output path it was written to,
	// for the files whose name changed.
	renamed map[string]string
	// outTails and renamedTails index the tails of at least two path
	// segments of the output paths ("chunks/a.js" of
	// "_next/static/chunks/a.js") and of the renamed source paths (the
	// value is the source path: the smallest when several share it).
	outTails     map[string]bool
	renamedTails map[string]string
	// bases holds the base names of the renamed source files: a string
	// whose last segment is none of them names none of them.
	bases *baseSet
	hosts map[string]bool
	// basePath is the path of the base URL without its slashes ("docs"
	// for https://example.com/docs/), or "".
	basePath string
}

func newSite(out map[string]bool, renamed map[string]string, hosts []string, basePath string) *site {
	s := &site{out: out, renamed: renamed, outTails: map[string]bool{}, renamedTails: map[string]string{},
		bases: newBaseSet(), hosts: map[string]bool{}, basePath: strings.Trim(basePath, "/")}
	for p := range out {
		forTails(p, func(t string) { s.outTails[t] = true })
	}
	for p := range renamed {
		s.bases.add(p)
		forTails(p, func(t string) {
			if prev, ok := s.renamedTails[t]; !ok || p < prev {
				s.renamedTails[t] = p
			}
		})
	}
	for _, h := range hosts {
		s.hosts[strings.ToLower(h)] = true
	}
	return s
}

// forTails calls f with each proper tail of p that has at least two
// segments: "a/b/c/d.js" gives "b/c/d.js" and "c/d.js".
func forTails(p string, f func(string)) {
	last := strings.LastIndexByte(p, '/')
	for i := 0; i < last; i++ {
		if p[i] == '/' {
			f(p[i+1:])
		}
	}
}

// mayName is a quick filter before dangling: it reports whether tok's
// last path segment is the base name of a renamed file (or may be, once
// percent-decoded).
func (s *site) mayName(tok []byte) bool { return s.bases.mayName(tok) }

// baseSet holds the base names of a set of files.
type baseSet struct {
	bases map[string]bool
	// lens and ends are the lengths and last bytes of bases: a quick
	// test before the map.
	lens [256]bool
	ends [256]bool
	// few lists the bases while there are at most maxFew of them (nil
	// beyond): see absentFrom.
	few      [][]byte
	fewBytes [256]bool // the bytes of few
	// exts are the extensions of the bases, for lineMayName. noExt is
	// set when a base has none (then every line may name one).
	exts  extfilter.Set
	noExt bool
}

func newBaseSet() *baseSet { return &baseSet{bases: map[string]bool{}, few: [][]byte{}} }

// add adds the base name of the path p.
func (s *baseSet) add(p string) {
	b := path.Base(p)
	if !s.bases[b] && s.few != nil {
		s.few = append(s.few, []byte(b))
		for i := range len(b) {
			s.fewBytes[b[i]] = true
		}
		if len(s.few) > maxFew {
			s.few = nil
		}
	}
	if !s.bases[b] && !s.exts.Add(b) {
		s.noExt = true
	}
	s.bases[b] = true
	s.lens[min(len(b), 255)] = true
	s.ends[b[len(b)-1]] = true
}

// lineMayName reports whether a token of line may name one of the bases
// (false: none can). A token names a base when its last segment, before
// any "?" or "#", is the base, which then ends with "." and its
// extension; the bytes of that segment are bytes of the line, except
// percent escapes (the scanner's other escapes only ever give a "/").
// So a line can name a base only if it holds "." followed by one of the
// extensions, or a "%".
func (s *baseSet) lineMayName(line []byte) bool {
	return s.noExt || bytes.IndexByte(line, '%') >= 0 || s.exts.Holds(line)
}

// maxFew is the most bases absentFrom searches a file for (one search
// each), rather than letting the scanner read it.
const maxFew = 8

// absentFrom reports that no string of data can name one of the bases
// (the scanner would find no candidate in it), when there are few bases,
// none of them is in data, and no percent escape of data stands for a
// byte of one of them. It reports false when it cannot tell.
//
// A string names a base when its last segment, as written or with its
// percent escapes undone, is that base. The bytes of that segment are
// bytes of the file (an escape of "/" can only end a segment, any other
// escape ends the string), each as it is or percent-escaped: without an
// escape of one of its bytes, the base is in the file as it is.
func (s *baseSet) absentFrom(data []byte) bool {
	if s.few == nil {
		return false
	}
	for _, b := range s.few {
		if bytes.Contains(data, b) {
			return false
		}
	}
	for i := bytes.IndexByte(data, '%'); i >= 0; {
		if i+2 < len(data) && ishex(data[i+1]) && ishex(data[i+2]) && s.fewBytes[unhex(data[i+1])<<4|unhex(data[i+2])] {
			return false
		}
		k := bytes.IndexByte(data[i+1:], '%')
		if k < 0 {
			break
		}
		i += 1 + k
	}
	return true
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// mayName reports whether tok's last path segment is one of the base
// names (or may be, once percent-decoded).
func (s *baseSet) mayName(tok []byte) bool {
	end := len(tok)
	for i, c := range tok {
		if c == '?' || c == '#' {
			end = i
			break
		}
		if c == '%' {
			return true
		}
	}
	start := 0
	for i := end - 1; i >= 0; i-- {
		if tok[i] == '/' {
			start = i + 1
			break
		}
	}
	seg := tok[start:end]
	if len(seg) == 0 || !s.lens[min(len(seg), 255)] || !s.ends[seg[len(seg)-1]] {
		return false
	}
	return s.bases[string(seg)]
}

// dangling reports whether the URL-like string tok, found in the output
// file in folder dir ("" for the root), names a source file that is not
// in the output under that name (and no output file matches it): it
// returns that source path.
//
// tok is resolved the ways a browser or a runtime may resolve it:
//   - "/a/b.png", and "https://HOST/a/b.png" for a host of the site,
//     against the root (under the base URL's path, if any);
//   - a relative "b.png", "./b.png" or "../a/b.png" against dir and
//     against the root (a runtime joins names to a base the scan cannot
//     know: the page, the site's base);
//   - a relative name of two segments or more without "." segments
//     ("static/chunks/a.js") also against any folder: it matches every
//     file whose path ends with it (Turbopack names chunks relative to
//     "/_next/").
//
// The string is fine when one of these is a file of the output; it is
// dangling when none is and one of them is a renamed source file.
func (s *site) dangling(dir, tok string) (source string, ok bool) {
	if len(tok) < 2 || strings.IndexByte(tok, '.') < 0 && strings.IndexByte(tok, '/') < 0 {
		return "", false
	}
	u := tok
	if i := schemeEnd(u); i > 0 {
		scheme := strings.ToLower(u[:i])
		if scheme != "http" && scheme != "https" || !strings.HasPrefix(u[i+1:], "//") {
			return "", false // data:, mailto:, javascript:, another scheme
		}
		u = u[i+1:]
	}
	if strings.HasPrefix(u, "//") {
		rest := u[2:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		if !s.hosts[strings.ToLower(rest[:end])] {
			return "", false // another site
		}
		u = rest[end:]
		if u == "" || u[0] != '/' {
			return "", false // the home page
		}
	}
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	if u == "" || strings.HasSuffix(u, "/") {
		return "", false // a folder: its index page keeps its name
	}
	if strings.IndexByte(u, '%') >= 0 {
		if d, err := url.PathUnescape(u); err == nil {
			u = d
		}
	}
	var cands [2]string
	n := 0
	if u[0] == '/' {
		p := clean(u)
		if s.basePath != "" {
			rest, ok := strings.CutPrefix(p, s.basePath+"/")
			if !ok {
				return "", false // outside the site
			}
			p = rest
		}
		cands[0], n = p, 1
	} else {
		// The file's folder first, then the root.
		cands[0], n = clean(u), 1
		if dir != "" {
			cands[0], cands[1], n = clean(dir+"/"+u), cands[0], 2
		}
	}
	anywhere := u[0] != '/' && strings.IndexByte(u, '/') > 0 && plain(u)
	for _, c := range cands[:n] {
		if s.out[c] {
			return "", false
		}
	}
	if anywhere && s.outTails[u] {
		return "", false
	}
	for _, c := range cands[:n] {
		if _, ok := s.renamed[c]; ok {
			return c, true
		}
	}
	if anywhere {
		if src, ok := s.renamedTails[u]; ok {
			return src, true
		}
	}
	return "", false
}

// schemeEnd returns the index of the ":" ending a URL scheme at the
// start of u ("https:"), or -1.
func schemeEnd(u string) int {
	for i := 0; i < len(u); i++ {
		c := u[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return i
		default:
			return -1
		}
	}
	return -1
}

// clean returns p as a path relative to the root, with "." and ".."
// resolved (".." at the root stays there, as in a browser).
func clean(p string) string {
	return path.Clean("/" + p)[1:]
}

// plain reports whether the relative path p has no "." or ".." segment
// and no empty one.
func plain(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}
