package hashing

import (
	"bytes"
	"cmp"
	"fmt"
	"github.com/cdnctl/cdnctl/extfilter"
	"io"
	"net/url"
	"path"
	"slices"
	"strings"
)

// This file finds every place a site names its files, beyond the
// references fingerprint rewrites: a file is renamed only when every
// string of the site that may name it is one of those references.
//
// It scans the text of every text file (HTML attribute values and the
// contents of <script> and <style>; the whole of style sheets, scripts,
// JSON, text, XML, SVG and the rest) for runs of URL characters whose last
// path segment is the name of a file of the site, with JSON and JavaScript
// escapes of "/" undone: a string in a script ("/icons.svg"), a name a
// runtime joins to a base ("assets/About-3f9a.js", "static/chunks/0cz1.js"),
// a URL in a JSON data file, a feed or a sitemap, a precache list of a
// service worker. Such a run names a file when it resolves to it: "/a/b.png"
// or "https://host/a/b.png" from the site root; a relative "b.png",
// "./a/b.png" or "../a/b.png" against the file's folder, or (as a runtime
// may join it to a base the scan cannot know) against any folder. A run
// inside a reference fingerprint rewrites is that reference; any other
// pins the files it may name: they keep their names, and the run is
// reported as the place that pinned them. Source maps are not scanned:
// their "sources" name the files a bundle was built from, not the site's.

// occPin is a place where a file names another (target) in a way
// fingerprint does not rewrite, so the target keeps its name.
type occPin struct {
	target *node
	line   int
	text   string
}

// span is a byte range of a file.
type span struct{ start, end int }

// Why files named where fingerprint does not rewrite keep their names.
const (
	reasonOccurrence = "named where fingerprint does not rewrite references (a script's string, a data file, a feed, a precache list…)"
	reasonInKept     = "named by a file kept byte for byte (content-hashed by its bundler, or declared prehashed), whose references cannot change"
)

// indexBases indexes the files that may be renamed (not entry points nor
// files kept byte for byte, whose names are fixed whatever names them) by
// every suffix of their paths that starts a segment: "a/b/c.png" under
// "a/b/c.png", "b/c.png" and "c.png".
func (b *builder) indexBases() {
	b.bySuffix = make(map[string][]*node, 2*len(b.nodes))
	b.baseExts = extSet{}
	b.lineExts = &extfilter.Set{}
	for _, n := range b.nodes {
		if n.entry || n.keepBytes() {
			continue
		}
		p := n.logical
		b.baseExts.add(path.Base(p))
		b.lineExts.Add(path.Base(p))
		for i := -1; i < len(p); i++ {
			if i < 0 || p[i] == '/' {
				b.bySuffix[p[i+1:]] = append(b.bySuffix[p[i+1:]], n)
			}
		}
	}
	b.needles = occNeedles(b.bySuffix)
	if b.lineExts.Len() > maxLineExts {
		b.lineExts = nil
	} else {
		b.lineExts.AddExt("/") // "./": a module named without its extension
	}
}

// maxLineExts is the most extensions scanLines looks for in a line before
// looking at its runs; beyond, every line is looked at.
const maxLineExts = 64

// minLinesRange is the length from which scanLines looks at a range line
// by line.
const minLinesRange = 256

// scansText reports whether a node's text is searched for the names of
// other files.
func scansText(n *node) bool {
	switch n.kind {
	case kindSourceMap:
		return false
	case kindOther:
		return IsText(ContentType(n.logical))
	}
	return true
}

// applyOccurrences pins the files named where fingerprint does not
// rewrite references, with the first place that names each.
func (b *builder) applyOccurrences() {
	for _, n := range b.nodes {
		reason := reasonOccurrence
		if n.keepBytes() {
			reason = reasonInKept
		}
		for _, o := range n.occ {
			if t := o.target; !t.fixedName() {
				t.pinned = reason
				t.pinnedAt = fmt.Sprintf("%s:%d: %s", displayPath(b.env.label, n.logical), o.line, o.text)
			}
		}
	}
}

// urlRunBytes are the bytes of a run of URL characters (and "\" for the
// escapes of "/").
var urlRunBytes = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80 ||
			strings.IndexByte("-._~!$*+@%/:[]\\", byte(c)) >= 0
	}
	return t
}()

// occScanner finds the runs of one file that name files of the site.
type occScanner struct {
	b       *builder
	n       *node
	covered []span // sorted: the references fingerprint rewrites
	// paths: only runs with a "/" name files (prose: a licence text
	// naming a font is not a URL; an RSC payload's are paths).
	paths  bool
	maxEnd []int // maxEnd[i] is the largest end of covered[:i+1]
	seen   map[*node]bool
	out    []occPin
	// line counting: the line at byte lineOff of the file
	line    int
	lineOff int
}

func (b *builder) newOccScanner(n *node, refs []ref) *occScanner {
	s := &occScanner{b: b, n: n, line: 1}
	switch strings.ToLower(path.Ext(n.logical)) {
	case ".txt", ".md", ".markdown", ".text":
		s.paths = true
	}
	if !n.keepBytes() {
		for _, r := range refs {
			// References to files that keep their names for how they
			// are referenced (workers, import maps) are accounted for.
			if r.integrity {
				continue
			}
			sp := span{r.start, r.end}
			if r.group != nil {
				sp = span{r.group.start, r.group.end}
			}
			s.covered = append(s.covered, sp)
		}
		slices.SortFunc(s.covered, func(a, b span) int { return a.start - b.start })
		s.maxEnd = make([]int, len(s.covered))
		for i, sp := range s.covered {
			s.maxEnd[i] = sp.end
			if i > 0 {
				s.maxEnd[i] = max(sp.end, s.maxEnd[i-1])
			}
		}
	}
	return s
}

// keptRefs records the files that the references of a file kept byte for
// byte name: none of them can be rewritten.
func (s *occScanner) keptRefs(refs []ref, data []byte, whole bool) {
	for _, r := range refs {
		if r.integrity {
			continue
		}
		t, _, res := s.b.site.resolveNode(r.base, r.url)
		if res != resFound {
			continue
		}
		if t.entry || t.keepBytes() || s.seen[t] {
			continue // keeps its name whatever names it
		}
		if s.seen == nil {
			s.seen = map[*node]bool{}
		}
		s.seen[t] = true
		line := 0
		if whole {
			at := r.start
			if r.group != nil {
				at = r.group.start
			}
			line = lineAt(data, at)
		}
		s.out = append(s.out, occPin{target: t, line: line, text: r.url})
	}
}

// scanDecoded searches the decoded value of an attribute of the page
// data (character references undone, as scripts reading it see it).
func (s *occScanner) scanDecoded(data []byte, d decodedAttr) {
	sub := *s
	sub.line, sub.lineOff = lineAt(data, d.start), d.start
	sub.scanRange([]byte(d.val), d.start, 0, len(d.val))
	s.out, s.seen = sub.out, sub.seen
}

// isCovered reports whether [start, end) overlaps a rewritten reference.
func (s *occScanner) isCovered(start, end int) bool {
	i, _ := slices.BinarySearchFunc(s.covered, end, func(sp span, end int) int { return sp.start - end })
	// covered[:i] start before end; one of them ending after start
	// overlaps.
	return i > 0 && s.maxEnd[i-1] > start
}

// scan searches src, which starts at byte off of the file, within the
// regions given (nil: all of it).
func (s *occScanner) scan(src []byte, off int, regions []span) {
	if regions == nil {
		s.scanRange(src, off, 0, len(src))
		return
	}
	for _, r := range regions {
		s.scanRange(src, off, r.start-off, r.end-off)
	}
}

// scanRange searches src[from:to] (src starting at byte off of the file).
// When the files that may be renamed have few names (see occNeedles), it
// looks only at the runs that hold one of them, a "%" or a "\\": the only
// runs in which run can find a name.
func (s *occScanner) scanRange(src []byte, off, from, to int) {
	needles := s.b.needles
	if needles == nil {
		s.scanLines(src, off, from, to)
		return
	}
	var buf [maxNeedles]int
	next := buf[:len(needles)] // where each needle is next found (-1: nowhere)
	for k, nd := range needles {
		next[k] = index(src, from, to, nd)
	}
	i := from
	for i < to {
		p := -1
		for k, nd := range needles {
			if next[k] >= 0 && next[k] < i {
				next[k] = index(src, i, to, nd)
			}
			// An escape that cannot change a name ("100%", "\n")
			// tells nothing.
			for next[k] >= 0 && len(nd) == 1 && !nameEscape(src[next[k]:to]) {
				next[k] = index(src, next[k]+1, to, nd)
			}
			if next[k] >= 0 && (p < 0 || next[k] < p) {
				p = next[k]
			}
		}
		if p < 0 {
			return
		}
		// The run holding p starts after the last byte before p that
		// is not a URL character (or at i, where no run is under way):
		// scanning from there finds the runs a scan of the whole range
		// would.
		q := p
		for q > i && runClass[src[q-1]] != classNone {
			q--
		}
		i = s.scanRuns(src, off, q, to, p)
	}
}

// scanLines is scanRuns over src[from:to], without looking at the lines
// that cannot hold a name run would find (a run never goes on past the
// end of its line): a line needs a "%" or a "\\" (an escape), a "./" (a
// module named without its extension) or a "." followed by the extension
// of a file that may be renamed (the last segment of a name, as written).
// A short range (an attribute value) is looked at whole.
func (s *occScanner) scanLines(src []byte, off, from, to int) {
	if s.b.lineExts == nil || to-from < minLinesRange {
		s.scanRuns(src, off, from, to, to)
		return
	}
	for i := from; i < to; {
		end := to
		if k := bytes.IndexByte(src[i:to], '\n'); k >= 0 {
			end = i + k + 1
		}
		line := src[i:end]
		if bytes.IndexByte(line, '%') >= 0 || bytes.IndexByte(line, '\\') >= 0 || s.b.lineExts.Holds(line) {
			s.scanRuns(src, off, i, end, end)
		}
		i = end
	}
}

// nameEscape reports whether b starts with an escape decodeRun undoes:
// "%" and two hex digits, or an escaped "/" ("\\/", "\\u002f", "\\x2f").
func nameEscape(b []byte) bool {
	if len(b) >= 3 && b[0] == '%' {
		return isHex(b[1]) && isHex(b[2])
	}
	if len(b) < 2 || b[0] != '\\' {
		return false
	}
	return b[1] == '/' || bytes.HasPrefix(b[1:], []byte("u002f")) || bytes.HasPrefix(b[1:], []byte("u002F")) ||
		bytes.HasPrefix(b[1:], []byte("x2f")) || bytes.HasPrefix(b[1:], []byte("x2F"))
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// index returns where nd is first found in src[from:to], -1 if nowhere.
func index(src []byte, from, to int, nd []byte) int {
	if j := bytes.Index(src[from:to], nd); j >= 0 {
		return from + j
	}
	return -1
}

// scanRuns looks at each run of URL characters of src[from:to] (src
// starting at byte off of the file, no run under way at from) up to the
// first run that starts after stop, and returns where it stopped. One
// pass over each run notes where its last segment starts and where its
// last "." and "%" are, for run.
func (s *occScanner) scanRuns(src []byte, off, from, to, stop int) int {
	i := from
	for i < to {
		if i > stop {
			return i
		}
		if runClass[src[i]] == classNone {
			i++
			continue
		}
		start := i
		slash, dot, pct, escaped := -1, -1, -1, false
	run:
		for i < to {
			switch runClass[src[i]] {
			case classNone:
				break run
			case classSlash:
				slash = i
			case classDot:
				dot = i
			case classPct:
				pct, escaped = i, true
			case classBackslash:
				if nameEscape(src[i:to]) { // an escaped "/" goes on
					escaped = true
					i++
					continue
				}
				break run
			}
			i++
		}
		end := i
		if i < to && src[i] == '\\' {
			i += 2 // an escape ("\n", "\"") ends the run
		}
		if dot <= slash && pct <= slash && src[start] != '.' {
			continue // no extension, no escape, not a module: names nothing (see run)
		}
		s.run(src, off, start, end, runMarks{slash, dot, pct, escaped})
	}
	return i
}

// maxNeedles is the most strings scanRange searches for rather than
// looking at every run.
const maxNeedles = 12

// occNeedles returns strings one of which every run naming a file that may
// be renamed holds (see run): the base names of those files (of a script,
// its name without ".js": a module name), "%" and "\\" (escapes), none
// holding another. Nil when there would be more than maxNeedles, or one
// would be shorter than 4 bytes (common enough in text that searching
// for it costs more than looking at every run).
func occNeedles(bySuffix map[string][]*node) [][]byte {
	var names []string
	for suffix := range bySuffix {
		if strings.Contains(suffix, "/") {
			continue // not a base name
		}
		name := suffix
		if stem, ok := strings.CutSuffix(name, ".js"); ok {
			name = stem
		}
		if len(name) < 4 {
			return nil
		}
		names = append(names, name)
	}
	// Shortest first: a name holding one already kept is redundant. Not
	// one holding "%" or "\\" ("50%off.png"): those needles find only
	// escapes (see nameEscape).
	slices.SortFunc(names, func(a, b string) int { return cmp.Or(len(a)-len(b), strings.Compare(a, b)) })
	escapes := 2
	needles := [][]byte{[]byte("%"), []byte("\\")}
	for _, name := range names {
		if !slices.ContainsFunc(needles[escapes:], func(nd []byte) bool { return strings.Contains(name, string(nd)) }) {
			needles = append(needles, []byte(name))
		}
		if len(needles) > maxNeedles {
			return nil
		}
	}
	return needles
}

// Classes of the bytes of runs of URL characters (see urlRunBytes), for
// scanRange.
const (
	classNone = iota // not a URL character
	classOther
	classSlash
	classDot
	classPct
	classBackslash
)

var runClass = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case !urlRunBytes[c]:
		case c == '/':
			t[c] = classSlash
		case c == '.':
			t[c] = classDot
		case c == '%':
			t[c] = classPct
		case c == '\\':
			t[c] = classBackslash
		default:
			t[c] = classOther
		}
	}
	return t
}()

// runMarks are where the bytes run looks at are in a run (indexes in the
// source, -1 for none): the last "/", "." and "%", and whether the run
// has a "%" or a "\".
type runMarks struct {
	slash, dot, pct int
	escaped         bool
}

// runEnd marks the bytes that end a sentence rather than a URL ("see
// a.png.").
var runEnd = func() (t [256]bool) {
	for _, c := range []byte(".:!$*+@~") {
		t[c] = true
	}
	return t
}()

// run looks at one run of URL characters, src[start:end], with its marks.
func (s *occScanner) run(src []byte, off, start, end int, m runMarks) {
	for end > start && runEnd[src[end-1]] {
		end-- // the end of a sentence: "see a.png."
	}
	if m.dot >= end {
		// The last "." ended a sentence: the last one before it.
		m.dot = -1
		if j := bytes.LastIndexByte(src[max(start, m.slash+1):end], '.'); j >= 0 {
			m.dot = max(start, m.slash+1) + j
		}
	}
	r := src[start:end]
	base := src[m.slash+1 : end]
	if m.slash < 0 {
		if s.paths {
			return
		}
		base = r
	}
	if m.dot <= m.slash && m.pct <= m.slash {
		// A module named without its extension, as AMD loaders do
		// (Workbox's service worker: define(["./workbox-5b385ed2"], …)).
		if len(base) > 0 && len(r) >= 2 && r[0] == '.' && (r[1] == '/' || len(r) >= 3 && r[1] == '.' && r[2] == '/') {
			s.module(src, off, start, string(r))
		}
		return
	}
	if !s.b.baseExts.has(base) && !m.escaped || s.isCovered(off+start, off+start+len(r)) {
		// No name, or a reference fingerprint rewrites (looked up
		// before the large map of names).
		return
	}
	if !s.b.baseExts.has(base) || !s.b.hasSuffix(base) {
		if !m.escaped {
			return
		}
		if _, ok := s.b.bySuffix[path.Base(decodeRun(string(r)))]; !ok {
			return
		}
	}
	text := decodeRun(string(r))
	for _, t := range s.b.namedBy(s.n, text) {
		if s.seen[t] {
			continue
		}
		if s.seen == nil {
			s.seen = map[*node]bool{}
		}
		s.seen[t] = true
		s.out = append(s.out, occPin{target: t, line: s.lineAt(src, off, start), text: string(src[start : start+len(r)])})
	}
}

// hasSuffix reports whether some file that may be renamed has a path
// ending with the segments of p.
func (b *builder) hasSuffix(p []byte) bool {
	_, ok := b.bySuffix[string(p)]
	return ok
}

// module looks at a relative module name without extension: it names
// the script of that name.
func (s *occScanner) module(src []byte, off, start int, r string) {
	if _, ok := s.b.bySuffix[path.Base(r)+".js"]; !ok || s.isCovered(off+start, off+start+len(r)) {
		return
	}
	for _, t := range s.b.namedBy(s.n, r+".js") {
		if s.seen[t] {
			continue
		}
		if s.seen == nil {
			s.seen = map[*node]bool{}
		}
		s.seen[t] = true
		s.out = append(s.out, occPin{target: t, line: s.lineAt(src, off, start), text: r})
	}
}

// lineAt returns the line of byte at (of src, which starts at byte off of
// the file); calls must come in increasing order of off+at.
func (s *occScanner) lineAt(src []byte, off, at int) int {
	from := s.lineOff - off
	if from < 0 {
		from = 0 // a new chunk: lineOff was counted to its start
	}
	s.line += bytes.Count(src[from:at], []byte{'\n'})
	s.lineOff = off + at
	return s.line
}

// decodeRun undoes the JSON and JavaScript escapes of "/" and percent
// escapes.
func decodeRun(r string) string {
	if strings.IndexByte(r, '\\') >= 0 {
		r = strings.ReplaceAll(r, `\/`, "/")
		r = strings.ReplaceAll(r, `\u002f`, "/")
		r = strings.ReplaceAll(r, `\u002F`, "/")
		r = strings.ReplaceAll(r, `\x2f`, "/")
		r = strings.ReplaceAll(r, `\x2F`, "/")
	}
	if strings.IndexByte(r, '%') >= 0 {
		if d, err := url.PathUnescape(r); err == nil {
			r = d
		}
	}
	return r
}

// namedBy returns the files that may be renamed which the string text of
// the file n may name.
func (b *builder) namedBy(n *node, text string) []*node {
	p := text
	if i := strings.Index(p, "://"); i >= 0 {
		p = p[i+3:]
		j := strings.IndexByte(p, '/')
		if j < 0 {
			return nil
		}
		p = p[j:]
	} else if strings.HasPrefix(p, "//") {
		j := strings.IndexByte(p[2:], '/')
		if j < 0 {
			return nil
		}
		p = p[2+j:]
	}
	if strings.HasPrefix(p, "/") {
		rest, ok := strings.CutPrefix(path.Clean(p), b.site.root.Path)
		if t := b.byPath[rest]; ok && t != nil && !t.entry && !t.keepBytes() {
			return []*node{t}
		}
		return nil
	}
	tail := path.Clean(p)
	for strings.HasPrefix(tail, "../") {
		tail = tail[3:]
	}
	out := b.bySuffix[tail]
	if t := b.byPath[path.Join(path.Dir(n.logical), p)]; t != nil && !t.entry && !t.keepBytes() && !slices.Contains(out, t) {
		out = append(slices.Clip(out), t)
	}
	return out
}

// occChunk is how much of a large file is searched at a time.
const occChunk = 1 << 20

// scanStream searches a file too large to hold in memory, a chunk at a
// time (a run longer than a chunk is cut).
func (s *occScanner) scanStream(r io.Reader) error {
	buf := make([]byte, occChunk+4096)
	off, keep := 0, 0
	for {
		m, err := io.ReadFull(r, buf[keep:occChunk])
		n := keep + m
		last := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !last {
			return err
		}
		end := n
		if !last {
			// Leave a run cut by the chunk's end for the next chunk.
			for end > 0 && n-end < 4096 && urlRunBytes[buf[end-1]] {
				end--
			}
			if end == 0 || n-end >= 4096 {
				end = n
			}
		}
		s.scanRange(buf[:n], off, 0, end)
		if last {
			return nil
		}
		// Lines were counted up to the last run; count the rest of the
		// chunk so the next one starts right.
		if s.lineOff-off < end {
			s.line += bytes.Count(buf[max(0, s.lineOff-off):end], []byte{'\n'})
			s.lineOff = off + end
		}
		keep = copy(buf, buf[end:n])
		off += end
	}
}

// extSet holds the extensions of a set of base names: a quick test
// before looking a name up in a large map. It keys an extension (from its
// last ".") by its last 8 bytes, so it may say yes for a name whose
// extension is not in the set, never no for one whose is.
type extSet map[uint64]struct{}

func extKey(name []byte) (uint64, bool) {
	i := bytes.LastIndexByte(name, '.')
	if i < 0 {
		return 0, false
	}
	e := name[i:]
	if len(e) > 8 {
		e = e[len(e)-8:]
	}
	var k uint64
	for _, c := range e {
		k = k<<8 | uint64(c)
	}
	return k, true
}

// add adds the extension of base (a name without an extension is
// never looked up).
func (s extSet) add(base string) {
	if k, ok := extKey([]byte(base)); ok {
		s[k] = struct{}{}
	}
}

// has reports whether base may have an extension of the set.
func (s extSet) has(base []byte) bool {
	k, ok := extKey(base)
	if !ok {
		return false
	}
	_, ok = s[k]
	return ok
}
