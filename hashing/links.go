package hashing

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/cespare/xxhash/v2"
	"golang.org/x/sync/errgroup"
)

// linkAll finds the references of every file that can hold some: read
// from the file, or from the previous run's cache when neither the file
// nor the set of files it could name changed.
func (b *builder) linkAll(ctx context.Context, res *Result) error {
	fromCache := b.env.prev != nil && b.env.prev.FileSet == b.fileSet()
	var (
		read, cached []*node
		readBytes    int64
	)
	for _, n := range b.nodes {
		if n.kind == kindOther && !scansText(n) {
			continue
		}
		if n.cached != nil && fromCache {
			cached = append(cached, n)
			continue
		}
		read = append(read, n)
		readBytes += n.size
	}
	// What the cache says of the others (each node's own fields only).
	inParallel(len(cached), b.o.workers, func(i int) {
		n := cached[i]
		c := n.cached
		for _, t := range c.Targets {
			if tn := b.byPath[t.Path]; tn != nil {
				n.links = append(n.links, link{target: tn, late: t.Late, integrity: t.Integrity, resource: t.Resource, pin: pinKind(t.Pin)})
			}
		}
		for _, o := range c.Occ {
			if tn := b.byPath[o.Path]; tn != nil {
				n.occ = append(n.occ, occPin{target: tn, line: o.Line, text: o.Text})
			}
		}
		n.missing = c.Missing
		n.pinDirs = c.PinDirs
	})
	b.progress.start(PhaseRead, len(read), readBytes)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(b.o.workers)
	for _, n := range read {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			refs, data, whole, regions, decoded, err := b.readRefs(n)
			if err != nil {
				return err
			}
			b.resolveRefs(n, refs, data, whole)
			if whole && n.size <= maxWholeSize {
				b.hold(n, data)
			}
			if !scansText(n) {
				b.progress.done(n.size)
				return nil
			}
			s := b.newOccScanner(n, refs)
			if n.keepBytes() {
				s.keptRefs(refs, data, whole)
			}
			if whole {
				s.scan(data, 0, regions)
				for _, d := range decoded {
					s.scanDecoded(data, d)
				}
			} else if err := b.scanLarge(n, s); err != nil {
				return err
			}
			n.occ = s.out
			b.progress.done(n.size)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, n := range b.nodes {
		res.Missing = append(res.Missing, n.missing...)
		b.applyPins(n)
	}
	b.markNgsw()
	b.applyOccurrences()
	inParallel(len(b.nodes), b.o.workers, func(i int) { b.nodes[i].setDeps() })
	return nil
}

// applyPins makes the files a node pins keep their names.
func (b *builder) applyPins(n *node) {
	for _, l := range n.links {
		switch l.pin {
		case pinWorker:
			l.target.pin("a worker script that " + n.logical + " names relative to the page (name it with new URL(…, import.meta.url) to have it fingerprinted)")
		case pinServiceWorker:
			l.target.pin("a service worker script, registered by " + n.logical)
		}
	}
	for _, dir := range n.pinDirs {
		reason := "under " + dir + ", where an import map of " + n.logical + " maps module specifiers"
		i, _ := slices.BinarySearchFunc(b.nodes, dir, func(m *node, dir string) int { return strings.Compare(m.logical, dir) })
		for _, m := range b.nodes[i:] {
			if !strings.HasPrefix(m.logical, dir) {
				break
			}
			m.pin(reason)
		}
	}
}

// setDeps lists the nodes a node waits for: the files it names that are
// renamed.
func (n *node) setDeps() {
	n.deps = n.deps[:0]
	if n.keepBytes() || len(n.links) == 0 {
		return // written as it is, or names nothing: waits for nothing
	}
	var seen map[*node]bool // for many links; a few are searched
	if len(n.links) > 8 {
		seen = make(map[*node]bool, len(n.links))
	}
	for _, l := range n.links {
		if l.late {
			n.hasLate = true
			continue
		}
		// An integrity attribute needs the content of its file, even
		// of one that keeps its name.
		if l.target.fixedName() && !(l.integrity && l.target != n) {
			continue
		}
		if seen == nil && slices.Contains(n.deps, l.target) || seen[l.target] {
			continue
		}
		if seen != nil {
			seen[l.target] = true
		}
		n.deps = append(n.deps, l.target)
	}
}

// resolveRefs records the files a node's references name (once each) and
// the references to missing files.
func (b *builder) resolveRefs(n *node, refs []ref, data []byte, whole bool) {
	idx := make(map[link]int, len(refs))
	targets := make([]*node, len(refs))
	for i, r := range refs {
		if r.pin == pinImportMapDir {
			if dir, ok := b.site.resolveDir(r.base, r.url); ok && !slices.Contains(n.pinDirs, dir) {
				n.pinDirs = append(n.pinDirs, dir)
			}
			continue
		}
		t, target, res := b.site.resolveNode(r.base, r.url)
		targets[i] = t
		switch res {
		case resMissing:
			if r.integrity || r.pin != pinNone || !reportMissing(r.kind, target) {
				continue
			}
			line := 0 // unknown: only a script's tail was read
			if whole {
				at := r.start
				if r.group != nil {
					at = r.group.start
				}
				line = lineAt(data, at)
			}
			n.missing = append(n.missing, MissingRef{File: n.logical, Line: line, URL: r.url, Target: target})
		case resFound:
			l := link{target: t, late: r.late, integrity: r.integrity, pin: r.pin}
			resource := r.kind == refResource
			if i, ok := idx[l]; ok {
				n.links[i].resource = n.links[i].resource || resource
				continue
			}
			idx[l] = len(n.links)
			l.resource = resource
			n.links = append(n.links, l)
		}
	}
	if !whole || len(n.links) == 0 || n.tailOnly() {
		return // streamed: nothing to remember
	}
	if b.memoBudget.Add(-int64(len(refs))) >= 0 {
		n.memo = &parseMemo{sum: xxhash.Sum64(data), refs: refs, targets: targets}
	} else {
		b.memoBudget.Add(int64(len(refs)))
	}
}

// parseMemo keeps a file's parsed and resolved references from linkAll to
// processText, which then need not parse it again if it reads the same
// bytes. The builder's memoBudget bounds how many references are kept.
type parseMemo struct {
	sum     uint64 // xxhash of the content parsed
	refs    []ref
	targets []*node // per ref, the file it names (nil if none)
}

// maxMemoRefs bounds the references kept between the two passes (about
// 250 bytes each, with their strings). A site's pages name a hundred
// files each or more: at 256Ki, a quarter of the pages of the 10,000-file
// benchmark (2,000 pages) were parsed twice; at 512Ki none are, for 25 MB
// more at the peak.
const maxMemoRefs = 512 << 10

// fileSet identifies the set of logical paths of the build: references
// resolve the same way as long as it is the same.
func (b *builder) fileSet() string {
	h := sha256.New()
	for _, n := range b.nodes {
		io.WriteString(h, n.logical)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// readRefs reads a file that can hold references and parses them. For a
// script too large to scan only its tail is read (whole is false).
func (b *builder) readRefs(n *node) (refs []ref, data []byte, whole bool, regions []span, decoded []decodedAttr, err error) {
	if n.tailOnly() || n.kind == kindOther && n.size > maxJSScanSize {
		tail, off, err := b.readTail(n)
		if err != nil {
			return nil, nil, false, nil, nil, err
		}
		if off == 0 {
			refs, err := b.parse(n, tail)
			return refs, tail, true, nil, nil, err
		}
		if n.kind != kindJS {
			return nil, tail, false, nil, nil, nil
		}
		return jsTailRefs(tail, off, b.site.docURL(n.logical)), tail, false, nil, nil, nil
	}
	if data, err = b.readSource(n, make([]byte, 0, n.size+1)); err != nil {
		return nil, nil, false, nil, nil, b.fileError(n, err)
	}
	if n.kind == kindHTML {
		refs, regions, decoded = htmlScan(data, b.site.docURL(n.logical))
		return refs, data, true, regions, decoded, nil
	}
	refs, err = b.parse(n, data)
	return refs, data, true, nil, nil, err
}

// scanLarge searches a file too large to hold in memory for the names of
// other files.
func (b *builder) scanLarge(n *node, s *occScanner) error {
	f, err := b.src.Open(n.logical)
	if err != nil {
		return b.fileError(n, err)
	}
	defer f.Close()
	if err := s.scanStream(f); err != nil {
		return b.fileError(n, err)
	}
	return nil
}

func (b *builder) fileError(n *node, err error) error {
	return fmt.Errorf("%s: %w", displayPath(b.env.label, n.logical), unwrapPathError(err))
}

// parse returns the references of a whole file.
func (b *builder) parse(n *node, data []byte) ([]ref, error) {
	doc := b.site.docURL(n.logical)
	switch n.kind {
	case kindHTML:
		return htmlRefs(data, doc), nil
	case kindCSS:
		return cssRefs(data, 0, doc), nil
	case kindJS:
		var refs []ref
		// A script kept byte for byte is searched for every name it
		// holds (see occurrences); only its source map comment is a
		// reference of its own.
		if !n.tailOnly() && !n.keepBytes() {
			refs = jsRefs(data, 0, doc, nil, b.site.root)
		}
		off := max(0, len(data)-jsSourceMapWindow)
		return append(refs, jsTailRefs(data[off:], off, doc)...), nil
	case kindSourceMap:
		refs, err := sourceMapRefs(data, doc)
		if err != nil {
			return nil, fmt.Errorf("%s: source map: %w", displayPath(b.env.label, n.logical), err)
		}
		return refs, nil
	case kindNgsw:
		refs, _, err := ngswParse(data, doc)
		if err != nil {
			// Not an Angular service worker manifest: copy it as is.
			return nil, nil
		}
		return refs, nil
	case kindWebManifest:
		refs, err := webManifestRefs(data, doc)
		if err != nil {
			// Not every manifest.json is a web app manifest: copy it as is.
			return nil, nil
		}
		return refs, nil
	}
	return nil, nil
}

// readTail reads the last jsSourceMapWindow bytes of a file.
func (b *builder) readTail(n *node) ([]byte, int, error) {
	f, err := b.src.Open(n.logical)
	if err != nil {
		return nil, 0, b.fileError(n, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, 0, b.fileError(n, err)
	}
	size := info.Size()
	if ra, ok := f.(io.ReaderAt); ok && size > jsSourceMapWindow {
		off := size - jsSourceMapWindow
		tail := make([]byte, jsSourceMapWindow)
		if _, err := ra.ReadAt(tail, off); err != nil && !errors.Is(err, io.EOF) {
			return nil, 0, b.fileError(n, err)
		}
		return tail, int(off), nil
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, 0, b.fileError(n, err)
	}
	return data, 0, nil
}
