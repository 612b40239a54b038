package hashing

import (
	"context"
	"errors"
	"fmt"
	"github.com/cdnctl/cdnctl/extfilter"
	"io"
	"io/fs"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cdnctl/cdnctl/dotfile"
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
	// Pinned lists the files that keep their names (and get the entry
	// points' Cache-Control) because of how they are referenced, sorted
	// by path: named where fingerprint does not rewrite references (a
	// script's string, a data file, a feed, a file kept byte for byte),
	// JavaScript import cycles, worker and service worker scripts, module
	// folders of import maps.
	Pinned []Pinned
	// Detected lists the generators whose content-hashed files were
	// recognised: those files keep their names and bytes and are served
	// immutable.
	Detected []Detection
	// Ngsw lists the Angular service worker manifests (ngsw.json) and
	// what was done to keep them true (see ngsw.go).
	Ngsw  []NgswReport
	Stats Stats
}

// Pinned is a file that keeps its name although no keep glob names it.
type Pinned struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
	// At is the place that pinned it, when one did: "file:line: text".
	At string `json:"at,omitempty"`
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

// ReasonDotfile is the Skipped reason of a dotfile, or a hidden folder
// (Path ends with "/"), that Options.AllowDotfiles does not name.
const ReasonDotfile = "dotfile (not copied unless allowed)"

// Stats counts what a build did.
type Stats struct {
	Files         int   `json:"files"`         // output files described by the manifest
	Fingerprinted int   `json:"fingerprinted"` // of which carry a content hash
	Kept          int   `json:"kept"`          // of which keep their names: entry points and pinned files
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
// CSS, JavaScript (module specifiers, source map comments), source maps
// and web manifests, writes precompressed copies and the manifest. Files
// are processed in parallel, each after the files it names, and copied as
// a stream.
//
// Build does not clean up out on error; Fingerprint, which writes a
// folder, does.
func Build(ctx context.Context, src fs.FS, out Output, opts Options) (*Result, error) {
	return build(ctx, src, out, opts, buildEnv{})
}

// buildEnv is what Fingerprint adds to a build.
type buildEnv struct {
	label string // how errors name the source root
	// srcDir is the folder the source is, when it is os.DirFS(srcDir):
	// files are then read from it directly (see readFileAt).
	srcDir string
	prev   *cacheFile // the previous build's cache, for reuse
	// loadPrev, when set, loads prev; scan runs it while it walks the
	// source.
	loadPrev func() *cacheFile
	now      func() time.Time
	watch    OutputWatcher // see DirOptions.Watch
}

type fileKind uint8

const (
	kindOther fileKind = iota
	kindHTML
	kindCSS
	kindJS
	kindSourceMap
	kindWebManifest
	kindNgsw // Angular's service worker manifest (see ngsw.go)
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
	if ngswName(logical) {
		return kindNgsw // if its content is one (see isNgswManifest)
	}
	if base == "manifest.json" && !strings.HasPrefix(logical, ".vite/") && !strings.Contains(logical, "/.vite/") {
		return kindWebManifest // if its content is one (see isWebManifest)
	}
	return kindOther
}

// node is one source file and, once processed, its output.
type node struct {
	srcFile
	kind      fileKind
	entry     bool // keeps its name: an entry point
	prehashed bool // keeps its name and bytes: declared hashed by another tool
	// bundled names the generator that content-hashed the file (see
	// detectBundled): it keeps its name and bytes.
	bundled string
	// occ are the files this one names in a way fingerprint does not
	// rewrite: they keep their names (see occurrences).
	occ []occPin
	// pinned, when set, says why the file keeps its name although no
	// keep glob names it: how it is referenced (see pinKind), or a
	// JavaScript import cycle (see builder.order).
	pinned   string
	pinnedAt string // the place that pinned it (file:line: text), if one did
	cached   *cacheEntry

	links   []link
	missing []MissingRef
	memo    *parseMemo
	// data is the source read by linkAll, kept for process (see
	// maxHeldBytes) so that the file is read once.
	data       []byte
	idx        int      // in builder.nodes
	pinDirs    []string // folders whose files keep their names (see pinImportMapDir)
	deps       []*node  // renamed files it names (late ones excluded)
	dependents []*node
	pending    atomic.Int32
	hasLate    bool

	// Set by the worker that processes the node.
	out           string
	fingerprinted bool
	selfNamed     bool // its name holds the start of its SHA-256 (a previous run's output)
	sha256        string
	integrity     string
	outSize       int64
	rewritten     bool
	reused        bool
	reusePending  *cacheEntry // a source map reused once its late links are checked
	wantSHA1      bool        // listed by an Angular service worker manifest, which needs its SHA-1
	sha1          string      // hex SHA-1 of the output, when wantSHA1
	encodings     map[string]Encoding
	record        *cacheEntry // what the next build's cache records
}

// fixedName reports whether the node keeps its logical path whatever its
// content.
func (n *node) fixedName() bool {
	return n.entry || n.prehashed || n.bundled != "" || n.pinned != ""
}

// keepBytes reports whether the node is copied byte for byte under its
// name and served immutable: content-hashed by a bundler or declared
// prehashed. Nothing it names can be renamed (see occurrences).
func (n *node) keepBytes() bool { return !n.entry && (n.prehashed || n.bundled != "") }

// pin makes a node keep its name, for the first reason given.
func (n *node) pin(reason string) {
	if !n.fixedName() {
		n.pinned = reason
	}
}

// link says that a node names another one (once, however many times its
// content does).
type link struct {
	target    *node
	late      bool    // see ref.late
	integrity bool    // see ref.integrity
	resource  bool    // named as a resource (fetched with the page), not only as a link
	pin       pinKind // see ref.pin: the target keeps its name
}

type builder struct {
	src      fs.FS
	out      Output
	dir      *DirOutput // out, when it is a folder (reuse by hard link)
	o        *compiledOptions
	env      buildEnv
	site     *site
	nodes    []*node
	byPath   map[string]*node
	bySuffix map[string][]*node // see indexBases
	baseExts extSet             // the extensions of the base names of bySuffix
	lineExts *extfilter.Set     // the same, for occScanner.scanLines (nil: too many)
	needles  [][]byte           // see occNeedles
	start    time.Time

	claimMu sync.Mutex
	claims  map[string]string // output name → logical path that produced it

	bufs      sync.Pool  // *[]byte copy buffers
	wholeBufs bufferList // buffers of files read whole (see readWhole)

	heldBudget atomic.Int64 // bytes of source linkAll may still keep (see node.data)

	memoBudget atomic.Int64 // references parseMemo may still keep

	progress progress // reports to Options.Progress

	// unchanged is set when the previous output already is this build's
	// (see takeUnchanged): nothing was written.
	unchanged bool
}

const copyBufSize = 256 << 10

// maxHeldBytes bounds the source text kept in memory between the search
// for references (linkAll) and the write (process): within it, every
// text file is read once.
const maxHeldBytes = 256 << 20

// maxWholeSize is the largest file read whole into memory to be hashed
// and then written under its final name; larger files are streamed into
// a temporary file renamed once hashed.
const maxWholeSize = 4 << 20

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
	b.progress.fn = opts.Progress
	b.bufs.New = func() any { buf := make([]byte, copyBufSize); return &buf }
	b.wholeBufs.free = make(chan *[]byte, 2*max(o.workers, 1))
	b.memoBudget.Store(maxMemoRefs)
	b.heldBudget.Store(maxHeldBytes)
	if d, ok := out.(*DirOutput); ok {
		b.dir = d
	}
	b.site, err = newSite(o.baseURL, b.byPath)
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
	b.pinUnreferenced()
	if o.strict && len(res.Missing) > 0 {
		return nil, nil, missingError(res.Missing, env.label)
	}
	if err := b.order(); err != nil {
		return nil, nil, err
	}
	res.Pinned = b.pinnedList()
	if w := b.env.watch; w != nil {
		// Every run, even one that writes nothing: the watcher forgets
		// what an earlier run, which may have failed, handed it.
		w.Planned(b.mayListElsewhere())
	}
	if b.takeUnchanged() {
		// Nothing to write: the previous output is this build's.
		res.Manifest = b.manifest()
		res.Stats = b.stats()
		if res.Ngsw, err = b.ngswReports(); err != nil {
			return nil, nil, err
		}
		return b, res, nil
	}
	var size int64
	for _, n := range b.nodes {
		size += n.size
	}
	b.progress.start(PhaseWrite, len(b.nodes), size)
	if err := b.runGraph(ctx); err != nil {
		return nil, nil, err
	}
	if err := b.finishLate(ctx); err != nil {
		return nil, nil, err
	}
	if err := b.finishNgsw(ctx); err != nil {
		return nil, nil, err
	}
	if res.Ngsw, err = b.ngswReports(); err != nil {
		return nil, nil, err
	}
	res.Manifest = b.manifest()
	if err := b.writeManifests(res.Manifest); err != nil {
		return nil, nil, err
	}
	res.Stats = b.stats()
	return b, res, nil
}

// mayListElsewhere returns the names under which the manifest may list a
// file written under another path: the logical path of a file that may be
// renamed, and the plain name of one already fingerprinted (see
// manifestKeys).
func (b *builder) mayListElsewhere() []string {
	var names []string
	for _, n := range b.nodes {
		if !n.fixedName() {
			names = append(names, n.logical)
		}
		if n.entry || n.pinned != "" {
			continue
		}
		if plain, _, ok := ParseFingerprint(n.logical); ok {
			names = append(names, plain)
		}
	}
	return names
}

// reasonUnreferenced is why a file that no file of the site names keeps
// its name.
const reasonUnreferenced = "named by no file of the site (a script may compute its URL, or people type it)"

// pinUnreferenced pins the files that no other file of a site with HTML
// pages names: the only URL they can be asked for by is their name (a
// script's fetch("data.json") or GlobalWorkerOptions.workerSrc, a link
// from another site), so a hashed name would serve no one and break those
// URLs, as Vite and Parcel keep the files of public/. A source without
// pages is an asset folder whose names a backend looks up in the
// manifest: all its files are hashed, as they are with HashUnreferenced.
func (b *builder) pinUnreferenced() {
	if b.o.hashUnreferenced {
		return
	}
	hasPage := false
	named := make(map[*node]bool, len(b.nodes))
	for _, n := range b.nodes {
		if n.kind == kindHTML {
			hasPage = true
		}
		for _, l := range n.links {
			if l.target != n {
				named[l.target] = true
			}
		}
	}
	if !hasPage {
		return
	}
	for _, n := range b.nodes {
		if !named[n] && !n.fixedName() {
			n.pin(reasonUnreferenced)
		}
	}
}

// pinnedList lists the pinned nodes.
func (b *builder) pinnedList() []Pinned {
	var out []Pinned
	for _, n := range b.nodes {
		if n.pinned != "" {
			out = append(out, Pinned{Path: n.logical, Reason: n.pinned, At: n.pinnedAt})
		}
	}
	return out
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
	b.progress.start(PhaseScan, 0, 0)
	skip := func(name string, dir bool) (bool, string) {
		if dir {
			if name == stateDir || b.o.exclude.matchesAllBelow(name) {
				return true, ""
			}
			if len(b.o.allowDotfiles) == 0 && dotfile.Hidden(name+"/") {
				return true, ReasonDotfile
			}
			return false, ""
		}
		if b.o.exclude.Match(name) {
			return true, ""
		}
		if dotfile.Denied(name, b.o.allowDotfiles) {
			return true, ReasonDotfile
		}
		return false, ""
	}
	var loaded chan *cacheFile
	if b.env.loadPrev != nil {
		loaded = make(chan *cacheFile, 1)
		go func() { loaded <- b.env.loadPrev() }()
	}
	files, skipped, err := walkSource(ctx, b.src, b.env.label, skip)
	if loaded != nil {
		b.env.prev = <-loaded
	}
	if err != nil {
		return err
	}
	res.Skipped = append(res.Skipped, skipped...)
	present := make(map[string]bool, len(files))
	for _, f := range files {
		present[f.logical] = true
	}
	b.claims[b.o.manifest] = "the manifest"
	if b.o.vite != "" {
		b.claims[b.o.vite] = "the Vite manifest"
	}
	if b.o.vite != "" {
		// Never overwrite a file of the build (Vite's own
		// .vite/manifest.json), unless the source is the output of a
		// previous run, which wrote it.
		_, err := fs.Stat(b.src, b.o.vite)
		if _, merr := LoadManifest(b.src, b.o.manifest); err == nil && merr == nil {
			res.Skipped = append(res.Skipped, Skipped{b.o.vite, "the Vite manifest of a previous fingerprint run"})
		} else if err == nil {
			return fmt.Errorf("vite manifest %s: the source already has a file there (a build manifest of the bundler?), which would be overwritten; choose another path", displayPath(b.env.label, b.o.vite))
		}
	}
	var renamed map[string]bool
	for _, f := range files {
		if f.logical == b.o.vite {
			continue // the Vite manifest of a previous run (see above)
		}
		switch {
		case f.logical == b.o.manifest:
			m, err := LoadManifest(b.src, f.logical)
			if err != nil {
				return fmt.Errorf("%s: the source has a file where the manifest goes; choose another manifest name", displayPath(b.env.label, f.logical))
			}
			// The files that run renamed carry its hashes, not a
			// bundler's: they are handled as before (see nameFor).
			renamed = make(map[string]bool)
			for logical, e := range m.Files {
				if e.Path != logical {
					renamed[e.Path] = true
				}
			}
			res.Skipped = append(res.Skipped, Skipped{f.logical, "the manifest of a previous fingerprint run"})
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
		n.idx = len(b.nodes)
		b.nodes = append(b.nodes, n)
		b.byPath[f.logical] = n
	}
	_, err = fs.Stat(b.src, ".vite/manifest.json")
	sig := signatures(files, err == nil, b.homePage())
	res.Detected = b.detectBundled(sig, renamed)
	b.pinComputed(sig)
	b.indexBases()
	return nil
}

// homePage returns the first bytes of the site's index.html (nil if none).
func (b *builder) homePage() []byte {
	f, err := b.src.Open("index.html")
	if err != nil {
		return nil
	}
	defer f.Close()
	buf := make([]byte, 16<<10)
	n, _ := io.ReadFull(f, buf)
	return buf[:n]
}
