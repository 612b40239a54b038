package hashing

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"golang.org/x/sync/errgroup"
)

// stateDir is cdnctl's own folder in an output (the incremental cache);
// it is never read as source and never served.
const stateDir = ".cdnctl"

// Result is what a build produced.
type Result struct {
	// Manifest describes every output file (also written to the output).
	Manifest *Manifest
	// Missing lists references to files that are not in the source,
	// sorted by file and line.
	Missing []MissingRef
	// Skipped lists source files not copied, and why.
	Skipped []Skipped
	Stats   Stats
}

// MissingRef is a reference to a file that is not in the source.
type MissingRef struct {
	File   string `json:"file"`   // logical path of the file holding the reference
	Line   int    `json:"line"`   // 1-based
	URL    string `json:"url"`    // the reference as written
	Target string `json:"target"` // the logical path it names
}

func (m MissingRef) String() string {
	return fmt.Sprintf("%s:%d: %s: no such file %s", m.File, m.Line, m.URL, m.Target)
}

// Skipped is a source file that was not copied.
type Skipped struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Stats counts what a build did.
type Stats struct {
	Files         int   `json:"files"`         // output files described by the manifest
	Fingerprinted int   `json:"fingerprinted"` // of which carry a content hash
	Kept          int   `json:"kept"`          // of which are entry points
	Rewritten     int   `json:"rewritten"`     // of which had references rewritten
	Reused        int   `json:"reused"`        // of which were unchanged since the previous build
	Bytes         int64 `json:"bytes"`         // size of the output files (without precompressed copies)
	// Encoded counts precompressed copies per content coding.
	Encoded map[string]EncodedStats `json:"encoded,omitempty"`
}

// EncodedStats counts the precompressed copies of one content coding.
type EncodedStats struct {
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
}

// Build fingerprints the files of src into out: it copies every file,
// renaming assets to name.<hash>.ext, rewrites the references of HTML,
// CSS, JavaScript source map comments, source maps and web manifests,
// writes precompressed copies and the manifest. Files are processed in
// parallel, each after the files it names, and copied as a stream.
//
// Build does not clean up out on error; Fingerprint, which writes a
// folder, does.
func Build(ctx context.Context, src fs.FS, out Output, opts Options) (*Result, error) {
	return build(ctx, src, out, opts, buildEnv{})
}

// buildEnv is what Fingerprint adds to a build.
type buildEnv struct {
	label string     // how errors name the source root
	prev  *cacheFile // the previous build's cache, for reuse
	now   func() time.Time
}

type fileKind uint8

const (
	kindOther fileKind = iota
	kindHTML
	kindCSS
	kindJS
	kindSourceMap
	kindWebManifest
)

func kindOf(logical string) fileKind {
	base := strings.ToLower(path.Base(logical))
	switch path.Ext(base) {
	case ".html", ".htm", ".xhtml":
		return kindHTML
	case ".css":
		return kindCSS
	case ".js", ".mjs", ".cjs":
		return kindJS
	case ".map":
		return kindSourceMap
	case ".webmanifest":
		return kindWebManifest
	}
	if base == "manifest.json" {
		return kindWebManifest
	}
	return kindOther
}

// node is one source file and, once processed, its output.
type node struct {
	srcFile
	kind      fileKind
	entry     bool // keeps its name: an entry point
	prehashed bool // keeps its name: hashed by another tool
	cached    *cacheEntry

	links      []link
	missing    []MissingRef
	memo       *parseMemo
	deps       []*node // renamed files it names (late ones excluded)
	dependents []*node
	pending    atomic.Int32
	hasLate    bool

	// Set by the worker that processes the node.
	out           string
	fingerprinted bool
	sha256        string
	integrity     string
	outSize       int64
	rewritten     bool
	reused        bool
	reusePending  *cacheEntry // a source map reused once its late links are checked
	encodings     map[string]Encoding
	record        *cacheEntry // what the next build's cache records
}

// fixedName reports whether the node keeps its logical path whatever its
// content.
func (n *node) fixedName() bool { return n.entry || n.prehashed }

// link says that a node names another one (once, however many times its
// content does).
type link struct {
	target   *node
	late     bool // see ref.late
	resource bool // named as a resource (fetched with the page), not only as a link
}

type builder struct {
	src    fs.FS
	out    Output
	dir    *DirOutput // out, when it is a folder (reuse by hard link)
	o      *compiledOptions
	env    buildEnv
	site   *site
	nodes  []*node
	byPath map[string]*node
	start  time.Time

	claimMu sync.Mutex
	claims  map[string]string // output name → logical path that produced it

	bufs sync.Pool // *[]byte copy buffers

	memoBudget atomic.Int64 // references parseMemo may still keep

	// unchanged is set when the previous output already is this build's
	// (see takeUnchanged): nothing was written.
	unchanged bool
}

const copyBufSize = 256 << 10

func build(ctx context.Context, src fs.FS, out Output, opts Options, env buildEnv) (*Result, error) {
	_, res, err := buildWith(ctx, src, out, opts, env)
	return res, err
}

func buildWith(ctx context.Context, src fs.FS, out Output, opts Options, env buildEnv) (*builder, *Result, error) {
	o, err := opts.compile()
	if err != nil {
		return nil, nil, err
	}
	if env.now == nil {
		env.now = time.Now
	}
	b := &builder{
		src:    src,
		out:    out,
		o:      o,
		env:    env,
		byPath: make(map[string]*node),
		claims: make(map[string]string),
		start:  env.now(),
	}
	b.bufs.New = func() any { buf := make([]byte, copyBufSize); return &buf }
	b.memoBudget.Store(maxMemoRefs)
	if d, ok := out.(*DirOutput); ok {
		b.dir = d
	}
	b.site, err = newSite(o.baseURL, func(p string) bool { _, ok := b.byPath[p]; return ok })
	if err != nil {
		return nil, nil, err
	}
	res := &Result{}
	if err := b.scan(ctx, res); err != nil {
		return nil, nil, err
	}
	if err := b.linkAll(ctx, res); err != nil {
		return nil, nil, err
	}
	if o.strict && len(res.Missing) > 0 {
		return nil, nil, missingError(res.Missing, env.label)
	}
	if err := b.order(); err != nil {
		return nil, nil, err
	}
	if b.takeUnchanged() {
		// Nothing to write: the previous output is this build's.
		res.Manifest = b.manifest()
		res.Stats = b.stats()
		return b, res, nil
	}
	if err := b.runGraph(ctx); err != nil {
		return nil, nil, err
	}
	if err := b.finishLate(ctx); err != nil {
		return nil, nil, err
	}
	res.Manifest = b.manifest()
	if err := b.writeManifests(res.Manifest); err != nil {
		return nil, nil, err
	}
	res.Stats = b.stats()
	return b, res, nil
}

func missingError(missing []MissingRef, label string) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d reference(s) to missing files (strict mode):", len(missing))
	for i, m := range missing {
		if i == 20 {
			fmt.Fprintf(&sb, "\n  … and %d more", len(missing)-i)
			break
		}
		m.File = displayPath(label, m.File)
		fmt.Fprintf(&sb, "\n  %s", m)
	}
	return errors.New(sb.String())
}

// scan lists the source files and decides what each one is.
func (b *builder) scan(ctx context.Context, res *Result) error {
	skip := func(name string, dir bool) bool {
		if dir {
			return name == stateDir || b.o.exclude.matchesAllBelow(name)
		}
		return b.o.exclude.Match(name)
	}
	files, err := walkSource(ctx, b.src, b.env.label, skip)
	if err != nil {
		return err
	}
	present := make(map[string]bool, len(files))
	for _, f := range files {
		present[f.logical] = true
	}
	b.claims[b.o.manifest] = "the manifest"
	if b.o.vite != "" {
		b.claims[b.o.vite] = "the Vite manifest"
	}
	for _, f := range files {
		switch {
		case f.logical == b.o.manifest:
			if _, err := LoadManifest(b.src, f.logical); err != nil {
				return fmt.Errorf("%s: the source has a file where the manifest goes; choose another manifest name", displayPath(b.env.label, f.logical))
			}
			res.Skipped = append(res.Skipped, Skipped{f.logical, "the manifest of a previous fingerprint run"})
			continue
		case f.logical == b.o.vite:
			res.Skipped = append(res.Skipped, Skipped{f.logical, "replaced by the Vite manifest"})
			continue
		}
		if base, ok := strings.CutSuffix(f.logical, ".br"); ok && present[base] {
			res.Skipped = append(res.Skipped, Skipped{f.logical, "precompressed copy of " + base + " (written again from it)"})
			continue
		}
		if base, ok := strings.CutSuffix(f.logical, ".gz"); ok && present[base] {
			res.Skipped = append(res.Skipped, Skipped{f.logical, "precompressed copy of " + base + " (written again from it)"})
			continue
		}
		n := &node{
			srcFile:   f,
			kind:      kindOf(f.logical),
			entry:     b.o.keep.Match(f.logical),
			prehashed: b.o.prehashed.Match(f.logical),
		}
		n.cached = b.env.prev.lookup(f)
		b.nodes = append(b.nodes, n)
		b.byPath[f.logical] = n
	}
	return nil
}

// linkAll finds the references of every file that can hold some: read
// from the file, or from the previous run's cache when neither the file
// nor the set of files it could name changed.
func (b *builder) linkAll(ctx context.Context, res *Result) error {
	fromCache := b.env.prev != nil && b.env.prev.FileSet == b.fileSet()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(b.o.workers)
	for _, n := range b.nodes {
		if n.kind == kindOther {
			continue
		}
		if c := n.cached; c != nil && fromCache {
			for _, t := range c.Targets {
				if tn := b.byPath[t.Path]; tn != nil {
					n.links = append(n.links, link{target: tn, late: t.Late, resource: t.Resource})
				}
			}
			n.missing = c.Missing
			continue
		}
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			refs, data, whole, err := b.readRefs(n)
			if err != nil {
				return err
			}
			b.resolveRefs(n, refs, data, whole)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, n := range b.nodes {
		res.Missing = append(res.Missing, n.missing...)
		seen := make(map[*node]bool)
		for _, l := range n.links {
			if l.late {
				n.hasLate = true
				continue
			}
			if l.target.fixedName() || seen[l.target] {
				continue
			}
			seen[l.target] = true
			n.deps = append(n.deps, l.target)
		}
	}
	return nil
}

// resolveRefs records the files a node's references name (once each) and
// the references to missing files.
func (b *builder) resolveRefs(n *node, refs []ref, data []byte, whole bool) {
	idx := make(map[link]int)
	targets := make([]string, len(refs))
	for i, r := range refs {
		target, res := b.site.resolve(r.base, r.url)
		if res == resFound {
			targets[i] = target
		}
		switch res {
		case resMissing:
			if !reportMissing(r.kind, target) {
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
			l := link{target: b.byPath[target], late: r.late}
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
	if whole && n.kind != kindJS && b.memoBudget.Add(-int64(len(refs))) >= 0 {
		n.memo = &parseMemo{sum: xxhash.Sum64(data), refs: refs, targets: targets}
	} else if whole && n.kind != kindJS {
		b.memoBudget.Add(int64(len(refs)))
	}
}

// parseMemo keeps a file's parsed and resolved references from linkAll to
// processText, which then need not parse it again if it reads the same
// bytes. The builder's memoBudget bounds how many references are kept.
type parseMemo struct {
	sum     uint64 // xxhash of the content parsed
	refs    []ref
	targets []string // per ref, the logical path it names ("" if none)
}

// maxMemoRefs bounds the references kept between the two passes (about
// 200 bytes each).
const maxMemoRefs = 256 << 10

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
// large script only its tail is read (whole is false).
func (b *builder) readRefs(n *node) (refs []ref, data []byte, whole bool, err error) {
	if n.kind == kindJS {
		tail, off, err := b.readTail(n)
		if err != nil {
			return nil, nil, false, err
		}
		if off == 0 {
			refs, err := b.parse(n, tail)
			return refs, tail, true, err
		}
		return jsTailRefs(tail, off, b.site.docURL(n.logical)), tail, false, nil
	}
	data, err = fs.ReadFile(b.src, n.logical)
	if err != nil {
		return nil, nil, false, b.fileError(n, err)
	}
	refs, err = b.parse(n, data)
	return refs, data, true, err
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
		off := max(0, len(data)-jsSourceMapWindow)
		return jsTailRefs(data[off:], off, doc), nil
	case kindSourceMap:
		refs, err := sourceMapRefs(data, doc)
		if err != nil {
			return nil, fmt.Errorf("%s: source map: %w", displayPath(b.env.label, n.logical), err)
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

// order sets up the dependency counts and fails on a reference cycle.
func (b *builder) order() error {
	for _, n := range b.nodes {
		n.pending.Store(int32(len(n.deps)))
		for _, d := range n.deps {
			d.dependents = append(d.dependents, n)
		}
	}
	// Kahn's algorithm, to find what is left in cycles.
	left := make(map[*node]int, len(b.nodes))
	var queue []*node
	for _, n := range b.nodes {
		left[n] = len(n.deps)
		if len(n.deps) == 0 {
			queue = append(queue, n)
		}
	}
	done := 0
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		done++
		for _, d := range n.dependents {
			left[d]--
			if left[d] == 0 {
				queue = append(queue, d)
			}
		}
	}
	if done == len(b.nodes) {
		return nil
	}
	// Walk from the first node still waiting until a node repeats.
	var start *node
	for _, n := range b.nodes {
		if left[n] > 0 {
			start = n
			break
		}
	}
	var chain []string
	seenAt := map[*node]int{}
	for n := start; ; {
		if i, ok := seenAt[n]; ok {
			chain = append(chain[i:], n.logical)
			break
		}
		seenAt[n] = len(chain)
		chain = append(chain, n.logical)
		var next *node
		for _, d := range n.deps {
			if left[d] > 0 {
				next = d
				break
			}
		}
		n = next
	}
	for i := range chain {
		chain[i] = displayPath(b.env.label, chain[i])
	}
	return fmt.Errorf("reference cycle: %s (a file's hash depends on the names of the files it references, so they cannot reference each other; keep one of them under its name with a keep glob)", strings.Join(chain, " → "))
}

// runGraph processes every node once all the nodes it depends on are done.
func (b *builder) runGraph(ctx context.Context) error {
	if len(b.nodes) == 0 {
		return nil
	}
	g, ctx := errgroup.WithContext(ctx)
	ready := make(chan *node, len(b.nodes))
	var remaining atomic.Int64
	remaining.Store(int64(len(b.nodes)))
	for _, n := range b.nodes {
		if len(n.deps) == 0 {
			ready <- n
		}
	}
	for range b.o.workers {
		g.Go(func() error {
			for {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case n, ok := <-ready:
					if !ok {
						return nil
					}
					if err := b.process(ctx, n); err != nil {
						return err
					}
					for _, d := range n.dependents {
						if d.pending.Add(-1) == 0 {
							ready <- d
						}
					}
					if remaining.Add(-1) == 0 {
						close(ready)
					}
				}
			}
		})
	}
	return g.Wait()
}

// claim registers an output name; two files wanting the same name is an
// error naming both.
func (b *builder) claim(name, logical string) error {
	b.claimMu.Lock()
	defer b.claimMu.Unlock()
	if prev, ok := b.claims[name]; ok && prev != logical {
		a, c := prev, logical
		if c < a && !strings.HasPrefix(a, "the ") {
			a, c = c, a
		}
		if strings.HasPrefix(a, "the ") {
			return fmt.Errorf("%s would be written as %s, the path of %s", displayPath(b.env.label, c), name, a)
		}
		return fmt.Errorf("%s and %s would both be written as %s; rename one of them", displayPath(b.env.label, a), displayPath(b.env.label, c), name)
	}
	b.claims[name] = logical
	return nil
}

// process writes one node's output.
func (b *builder) process(ctx context.Context, n *node) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.reuse(n) {
		if n.memo != nil {
			b.memoBudget.Add(int64(len(n.memo.refs)))
			n.memo = nil
		}
		return nil
	}
	switch n.kind {
	case kindHTML, kindCSS, kindSourceMap, kindWebManifest:
		return b.processText(n)
	default:
		return b.processStream(n)
	}
}

// processText rewrites a file held in memory.
func (b *builder) processText(n *node) error {
	data, err := fs.ReadFile(b.src, n.logical)
	if err != nil {
		return b.fileError(n, err)
	}
	var (
		refs    []ref
		targets []string
	)
	if m := n.memo; m != nil && m.sum == xxhash.Sum64(data) {
		refs, targets = m.refs, m.targets
	} else if refs, err = b.parse(n, data); err != nil {
		return err
	}
	if n.memo != nil {
		b.memoBudget.Add(int64(len(n.memo.refs)))
		n.memo = nil
	}
	content, canonical, late := b.rewrite(n, data, refs, targets, false)
	n.rewritten = !bytes.Equal(content, data) || late
	sum := sha256.Sum256(canonical)
	name, fp := b.nameFor(n, sum[:])
	if err := b.claim(name, n.logical); err != nil {
		return err
	}
	n.out, n.fingerprinted = name, fp
	if late {
		// Written by finishLate once the files it names back are named.
		return nil
	}
	return b.writeBytes(n, content)
}

// writeBytes writes a node's final content and its precompressed copies.
func (b *builder) writeBytes(n *node, content []byte) error {
	f, err := b.out.Create(path.Dir(n.logical))
	if err != nil {
		return err
	}
	defer f.Abort()
	h256, h384 := sha256.New(), b.integrityHash(n)
	if _, err := io.MultiWriter(writers(f, h256, h384)...).Write(content); err != nil {
		return fmt.Errorf("output %s: %w", n.out, err)
	}
	if err := f.Commit(n.out); err != nil {
		return err
	}
	b.setSums(n, h256, h384, int64(len(content)))
	return b.precompress(n, func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(content)), nil })
}

func hexSum(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func (b *builder) setSums(n *node, h256, h384 hash.Hash, size int64) {
	n.sha256 = hex.EncodeToString(h256.Sum(nil))
	n.integrity = ""
	if h384 != nil {
		n.integrity = "sha384-" + base64.StdEncoding.EncodeToString(h384.Sum(nil))
	}
	n.outSize = size
}

// integrityHash returns the hash of the Subresource Integrity value for
// the files integrity checks apply to (see Entry.Integrity), nil for the
// others.
func (b *builder) integrityHash(n *node) hash.Hash {
	_, ct, _, _ := headersFor(b.o.rules, n.logical, false)
	mt, _, _ := strings.Cut(ct, ";")
	if IsText(ct) || strings.TrimSpace(mt) == "application/wasm" {
		return sha512.New384()
	}
	return nil
}

// writers lists the writers that are not nil.
func writers(ws ...io.Writer) []io.Writer {
	out := ws[:0]
	for _, w := range ws {
		if w != nil {
			out = append(out, w)
		}
	}
	return out
}

// processStream copies a file that is not held in memory, rewriting only
// a script's sourceMappingURL in its tail.
func (b *builder) processStream(n *node) error {
	r, _, rewritten, err := b.openContent(n)
	if err != nil {
		return err
	}
	defer r.Close()
	n.rewritten = rewritten
	f, err := b.out.Create(path.Dir(n.logical))
	if err != nil {
		return err
	}
	defer f.Abort()
	h256, h384 := sha256.New(), b.integrityHash(n)
	bufp := b.bufs.Get().(*[]byte)
	written, err := io.CopyBuffer(io.MultiWriter(writers(f, h256, h384)...), onlyReader{r}, *bufp)
	b.bufs.Put(bufp)
	if err != nil {
		return b.fileError(n, err)
	}
	sum := h256.Sum(nil)
	name, fp := b.nameFor(n, sum)
	if err := b.claim(name, n.logical); err != nil {
		return err
	}
	n.out, n.fingerprinted = name, fp
	if err := f.Commit(name); err != nil {
		return err
	}
	b.setSums(n, h256, h384, written)
	if !b.compressible(n) {
		return nil
	}
	return b.precompress(n, func() (io.ReadCloser, error) {
		r, _, _, err := b.openContent(n)
		return r, err
	})
}

// openContent opens a streamed file's output content: the source, with a
// script's sourceMappingURL rewritten.
func (b *builder) openContent(n *node) (io.ReadCloser, int64, bool, error) {
	f, err := b.src.Open(n.logical)
	if err != nil {
		return nil, 0, false, b.fileError(n, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, false, b.fileError(n, err)
	}
	size := info.Size()
	if n.kind != kindJS || !hasResolvedLinks(n) {
		return f, size, false, nil
	}
	ra, ok := f.(io.ReaderAt)
	if !ok || size <= jsSourceMapWindow {
		data, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, 0, false, b.fileError(n, err)
		}
		refs, _ := b.parse(n, data)
		out, _, _ := b.rewrite(n, data, refs, nil, false)
		return io.NopCloser(bytes.NewReader(out)), int64(len(out)), !bytes.Equal(out, data), nil
	}
	off := size - jsSourceMapWindow
	tail := make([]byte, jsSourceMapWindow)
	if _, err := ra.ReadAt(tail, off); err != nil && !errors.Is(err, io.EOF) {
		f.Close()
		return nil, 0, false, b.fileError(n, err)
	}
	refs := jsTailRefs(tail, 0, b.site.docURL(n.logical))
	out, _, _ := b.rewrite(n, tail, refs, nil, false)
	r := io.MultiReader(io.LimitReader(f, off), bytes.NewReader(out))
	return readCloser{r, f}, off + int64(len(out)), !bytes.Equal(out, tail), nil
}

func hasResolvedLinks(n *node) bool { return len(n.links) > 0 }

// onlyReader hides a reader's WriteTo (an *os.File has one), so
// io.CopyBuffer uses the builder's large buffer instead of allocating a
// small one per file.
type onlyReader struct{ io.Reader }

type readCloser struct {
	io.Reader
	io.Closer
}

// rewrite applies the renames to a file's references. It returns the
// content, the content the name's hash is taken from (late references
// blanked, see ref.late), and whether there are late references still to
// fill in (unless final is set, when they are filled in).
func (b *builder) rewrite(n *node, data []byte, refs []ref, targets []string, final bool) (content, canonical []byte, late bool) {
	var edits, blanks []edit
	groups := map[*refGroup][]edit{}
	groupBlanks := map[*refGroup][]edit{}
	for i, r := range refs {
		var target string
		if targets != nil {
			target = targets[i]
		} else if t, res := b.site.resolve(r.base, r.url); res == resFound {
			target = t
		}
		if target == "" {
			continue
		}
		t := b.byPath[target]
		if t.fixedName() {
			continue // keeps its name (and may be being processed)
		}
		if r.late && !final {
			late = true
			e := edit{r.start, r.end, encodeRef(r, "")}
			if r.group != nil {
				groupBlanks[r.group] = append(groupBlanks[r.group], e)
			} else {
				blanks = append(blanks, e)
			}
			continue
		}
		if t.out == target {
			continue // already fingerprinted
		}
		nu := b.site.rewriteURL(r.url, target, t.out)
		if nu == r.url {
			continue
		}
		e := edit{r.start, r.end, encodeRef(r, nu)}
		if r.group != nil {
			groups[r.group] = append(groups[r.group], e)
			continue
		}
		edits = append(edits, e)
	}
	allGroups := map[*refGroup]bool{}
	for g := range groups {
		allGroups[g] = true
	}
	for g := range groupBlanks {
		allGroups[g] = true
	}
	canonEdits := slices.Clone(edits)
	canonEdits = append(canonEdits, blanks...)
	for g := range allGroups {
		val := []byte(g.val)
		e := edit{g.start, g.end, g.escape(string(applyEdits(val, slices.Clone(groups[g]))))}
		if len(groups[g]) > 0 {
			edits = append(edits, e)
		}
		ce := edit{g.start, g.end, g.escape(string(applyEdits(val, append(slices.Clone(groups[g]), groupBlanks[g]...))))}
		canonEdits = append(canonEdits, ce)
	}
	content = applyEdits(data, edits)
	if !late {
		return content, content, false
	}
	return content, applyEdits(data, canonEdits), true
}

// encodeRef writes a URL in the syntax of the reference's container.
func encodeRef(r ref, u string) string {
	if r.encode != nil {
		return r.encode(u)
	}
	return u
}

// isExternal reports whether a reference certainly leaves the site, before
// resolving it.
func (s *site) isExternal(r ref) bool {
	_, res := s.resolve(r.base, r.url)
	return res == resExternal
}

// nameFor decides a node's output name from the SHA-256 of its content.
func (b *builder) nameFor(n *node, sum []byte) (name string, fingerprinted bool) {
	hexSum := hex.EncodeToString(sum)
	switch {
	case n.prehashed:
		return n.logical, true
	case n.entry:
		return n.logical, false
	}
	if _, h, ok := ParseFingerprint(n.logical); ok && strings.HasPrefix(hexSum, h) {
		return n.logical, true // already fingerprinted (a previous run's output)
	}
	return FingerprintName(n.logical, hexSum[:b.o.hashLen]), true
}

// finishLate writes the source maps whose "file" names a file that was
// named after them.
func (b *builder) finishLate(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(b.o.workers)
	for _, n := range b.nodes {
		if !n.hasLate || n.reused {
			continue
		}
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			if c := n.reusePending; c != nil && b.depsMatch(n, c, true) && b.linkCached(n, c) {
				return nil
			}
			data, err := fs.ReadFile(b.src, n.logical)
			if err != nil {
				return b.fileError(n, err)
			}
			refs, err := b.parse(n, data)
			if err != nil {
				return err
			}
			content, _, _ := b.rewrite(n, data, refs, nil, true)
			n.rewritten = !bytes.Equal(content, data)
			n.reused = false
			return b.writeBytes(n, content)
		})
	}
	return g.Wait()
}

// manifestKeys returns the logical path each node is listed under: its
// path in the source, except that a file found already fingerprinted (a
// previous run's output) is listed under its name without the hash, so
// that fingerprinting an output again writes the same manifest.
func (b *builder) manifestKeys() map[*node]string {
	keys := make(map[*node]string, len(b.nodes))
	used := make(map[string]bool, len(b.nodes))
	for _, n := range b.nodes {
		used[n.logical] = true
	}
	for _, n := range b.nodes {
		keys[n] = n.logical
		if !n.fingerprinted || n.prehashed || n.out != n.logical {
			continue
		}
		if plain, _, ok := ParseFingerprint(n.logical); ok && !used[plain] {
			keys[n] = plain
			used[plain] = true
		}
	}
	return keys
}

// manifest describes the outputs.
func (b *builder) manifest() *Manifest {
	m := &Manifest{Version: ManifestVersion, Algorithm: "sha256", Files: make(map[string]Entry, len(b.nodes))}
	keys := b.manifestKeys()
	for _, n := range b.nodes {
		cc, ct, hdr, tags := headersFor(b.o.rules, n.logical, n.fingerprinted)
		m.Files[keys[n]] = Entry{
			Path:          n.out,
			Fingerprinted: n.fingerprinted,
			SHA256:        n.sha256,
			Integrity:     n.integrity,
			Size:          n.outSize,
			ContentType:   ct,
			CacheControl:  cc,
			Headers:       hdr,
			Tags:          tags,
			Encodings:     n.encodings,
		}
	}
	return m
}

func (b *builder) writeManifests(m *Manifest) error {
	files, err := b.manifestFiles(m)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := b.writeFile(f.name, f.data); err != nil {
			return err
		}
	}
	return nil
}

type namedData struct {
	name string
	data []byte
}

// manifestFiles encodes the manifest and the Vite manifest (if any).
func (b *builder) manifestFiles(m *Manifest) ([]namedData, error) {
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		return nil, err
	}
	files := []namedData{{b.o.manifest, buf.Bytes()}}
	if b.o.vite != "" {
		vite, err := b.viteManifest().encode()
		if err != nil {
			return nil, err
		}
		files = append(files, namedData{b.o.vite, vite})
	}
	return files, nil
}

func (b *builder) writeFile(name string, data []byte) error {
	f, err := b.out.Create(path.Dir(name))
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("output %s: %w", name, err)
	}
	return f.Commit(name)
}

func (b *builder) stats() Stats {
	var s Stats
	for _, n := range b.nodes {
		s.Files++
		if n.fingerprinted {
			s.Fingerprinted++
		}
		if n.entry {
			s.Kept++
		}
		if n.rewritten {
			s.Rewritten++
		}
		if n.reused {
			s.Reused++
		}
		s.Bytes += n.outSize
		for enc, e := range n.encodings {
			if s.Encoded == nil {
				s.Encoded = make(map[string]EncodedStats)
			}
			es := s.Encoded[enc]
			es.Files++
			es.Bytes += e.Size
			s.Encoded[enc] = es
		}
	}
	return s
}
