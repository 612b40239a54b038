package hashing

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// cacheName is where Fingerprint records what it wrote, in the output's
// state folder, so the next run into the same folder can reuse unchanged
// files instead of reading and writing them again. It is gob-encoded: it
// is private to this package and read on every run, so decoding speed
// matters more than readability.
const cacheName = stateDir + "/fingerprint-cache.gob"

// cacheVersion changes whenever what a build writes for the same input
// changes, so older caches are ignored.
const cacheVersion = 6

// racyMargin: a source file modified this close to (or after) the start
// of the run that cached it might change again without its modification
// time changing (coarse file system clocks), so it is read again.
const racyMargin = time.Second

// cacheFile is the incremental cache: for every logical path, the source's
// size and modification time and what was written for it.
type cacheFile struct {
	Version int
	// Options is a digest of the options that change outputs; a cache
	// written with other options is ignored.
	Options string
	// FileSet is a digest of the logical paths of the build (see
	// builder.fileSet): while it is the same, cached references resolve
	// to the same files.
	FileSet string
	// Started is when the run that wrote the cache started (Unix ns).
	Started int64
	Files   map[string]*cacheEntry
}

type cacheEntry struct {
	Size          int64
	MTime         int64
	Out           string
	OutSize       int64
	OutMTime      int64
	SHA256        string
	SHA1          string `json:",omitempty"` // set for the files an Angular service worker manifest lists
	Integrity     string
	Fingerprinted bool
	SelfNamed     bool
	Rewritten     bool
	// Occ are the places where the file names others in a way
	// fingerprint does not rewrite (see occPin).
	Occ []cachedOcc
	// Targets are the files the file names; Missing its references to
	// files that do not exist.
	Targets []cachedTarget
	Missing []MissingRef
	// PinDirs are the folders whose files the file pins (see
	// pinImportMapDir); Pinned is set when the file itself was pinned.
	PinDirs []string
	Pinned  bool
	// DepsSig and LateSig identify the output names of the targets its
	// content was written with (see depsSig).
	DepsSig, LateSig string
	Encodings        map[string]cachedEncoding
}

type cachedEncoding struct {
	Encoding
	MTime int64
}

type cachedOcc struct {
	Path string
	Line int
	Text string
}

type cachedTarget struct {
	Path                      string
	Late, Integrity, Resource bool
	Pin                       uint8 // a pinKind
}

// optionsDigest identifies the options that change what is written.
func (o Options) digest() string {
	c, err := o.compile()
	if err != nil {
		return ""
	}
	keep := o.Keep
	if !o.NoDefaultKeep {
		keep = append(DefaultKeep(), o.Keep...)
	}
	enc := []string{}
	if c.brotli {
		enc = append(enc, EncodingBrotli)
	}
	if c.gzip {
		enc = append(enc, EncodingGzip)
	}
	b, _ := json.Marshal(struct {
		V                                   int
		HashLength                          int
		Keep, Prehashed, Exclude, Encodings []string
		BaseURL                             string
		MinSize                             int64
	}{cacheVersion, c.hashLen, keep, o.Prehashed, o.Exclude, enc, o.BaseURL, c.minSize})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// loadCache reads the cache of the output folder dir; nil when there is
// none or it does not apply.
func loadCache(dir string, opts Options) *cacheFile {
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(cacheName)))
	if err != nil {
		return nil
	}
	defer f.Close()
	var d diskCache
	if err := gob.NewDecoder(bufio.NewReaderSize(f, 1<<20)).Decode(&d); err != nil || d.Version != cacheVersion || d.Options != opts.digest() {
		return nil
	}
	c, ok := d.cache()
	if !ok {
		return nil
	}
	return c
}

// diskCache is how a cacheFile is stored: every path its entries name,
// and every text of an occurrence, is written once, in Paths, and named
// by its index there (a site's pages name the same few hundred files:
// written out each time, their paths were nine tenths of the file, and
// most of the time to read it).
type diskCache struct {
	Version          int
	Options, FileSet string
	Started          int64
	Paths            []string
	Files            []diskEntry
}

type diskEntry struct {
	Path  int32      // of the source file
	Entry cacheEntry // without Occ and Targets
	// The paths, texts and lines of Entry.Occ (slices of numbers are
	// stored more compactly than slices of structs).
	OccPaths, OccTexts, OccLines []int32
	// Targets are Entry.Targets' paths; TargetFlags the rest of each.
	Targets     []int32
	TargetFlags []uint16
}

// Bits of diskEntry.TargetFlags (a pinKind in the high byte).
const (
	targetLate = 1 << iota
	targetIntegrity
	targetResource
)

// disk returns c as stored.
func (c *cacheFile) disk() *diskCache {
	d := &diskCache{Version: c.Version, Options: c.Options, FileSet: c.FileSet, Started: c.Started}
	index := make(map[string]int32, len(c.Files))
	at := func(p string) int32 {
		i, ok := index[p]
		if !ok {
			i = int32(len(d.Paths))
			index[p] = i
			d.Paths = append(d.Paths, p)
		}
		return i
	}
	logicals := make([]string, 0, len(c.Files))
	for p := range c.Files {
		logicals = append(logicals, p)
	}
	slices.Sort(logicals)
	for _, p := range logicals {
		at(p)
	}
	d.Files = make([]diskEntry, 0, len(c.Files))
	for _, p := range logicals {
		e := c.Files[p]
		de := diskEntry{Path: index[p], Entry: *e}
		de.Entry.Occ, de.Entry.Targets = nil, nil
		for _, o := range e.Occ {
			de.OccPaths = append(de.OccPaths, at(o.Path))
			de.OccTexts = append(de.OccTexts, at(o.Text))
			de.OccLines = append(de.OccLines, int32(min(o.Line, math.MaxInt32)))
		}
		if len(e.Targets) > 0 {
			de.Targets = make([]int32, len(e.Targets))
			de.TargetFlags = make([]uint16, len(e.Targets))
		}
		for i, t := range e.Targets {
			flags := uint16(t.Pin) << 8
			if t.Late {
				flags |= targetLate
			}
			if t.Integrity {
				flags |= targetIntegrity
			}
			if t.Resource {
				flags |= targetResource
			}
			de.Targets[i], de.TargetFlags[i] = at(t.Path), flags
		}
		d.Files = append(d.Files, de)
	}
	return d
}

// cache returns the cacheFile d stores; false if d is inconsistent.
func (d *diskCache) cache() (*cacheFile, bool) {
	c := &cacheFile{Version: d.Version, Options: d.Options, FileSet: d.FileSet, Started: d.Started, Files: make(map[string]*cacheEntry, len(d.Files))}
	path := func(i int32) (string, bool) {
		if i < 0 || int(i) >= len(d.Paths) {
			return "", false
		}
		return d.Paths[i], true
	}
	for i := range d.Files {
		de := &d.Files[i]
		p, ok := path(de.Path)
		if !ok || len(de.TargetFlags) != len(de.Targets) || len(de.OccTexts) != len(de.OccPaths) || len(de.OccLines) != len(de.OccPaths) {
			return nil, false
		}
		e := &de.Entry
		if len(de.OccPaths) > 0 {
			e.Occ = make([]cachedOcc, len(de.OccPaths))
		}
		for j, o := range de.OccPaths {
			op, ok := path(o)
			text, tok := path(de.OccTexts[j])
			if !ok || !tok {
				return nil, false
			}
			e.Occ[j] = cachedOcc{Path: op, Line: int(de.OccLines[j]), Text: text}
		}
		if len(de.Targets) > 0 {
			e.Targets = make([]cachedTarget, len(de.Targets))
		}
		for j, t := range de.Targets {
			tp, ok := path(t)
			if !ok {
				return nil, false
			}
			f := de.TargetFlags[j]
			e.Targets[j] = cachedTarget{Path: tp, Late: f&targetLate != 0, Integrity: f&targetIntegrity != 0, Resource: f&targetResource != 0, Pin: uint8(f >> 8)}
		}
		c.Files[p] = e
	}
	return c, true
}

// lookup returns the cache entry of a source file unchanged since the
// cached run, or nil.
func (c *cacheFile) lookup(f srcFile) *cacheEntry {
	if c == nil || f.mtime == 0 {
		return nil
	}
	e := c.Files[f.logical]
	if e == nil || e.Size != f.size || e.MTime != f.mtime || f.mtime >= c.Started-int64(racyMargin) {
		return nil
	}
	return e
}

// depsMatch reports whether the files a node names still have the output
// names its cached output was written with (late links too, when
// withLate: only once every node is named).
func (b *builder) depsMatch(n *node, c *cacheEntry, withLate bool) bool {
	return depsSig(n, false) == c.DepsSig && (!withLate || depsSig(n, true) == c.LateSig)
}

// depsSig identifies the output names of the files a node names (its late
// links when late is set), in the order its content names them. Only
// files the node waits for, or that keep their names, are read, so it is
// safe while other nodes are processed.
func depsSig(n *node, late bool) string {
	var (
		h     hash.Hash
		chunk [512]byte
	)
	buf := chunk[:0]
	// add appends s to what is hashed, through buf.
	add := func(s string) {
		for len(s) > 0 {
			if len(buf) == cap(buf) {
				h.Write(buf)
				buf = buf[:0]
			}
			k := copy(buf[len(buf):cap(buf)], s)
			buf, s = buf[:len(buf)+k], s[k:]
		}
	}
	for _, l := range n.links {
		if l.late != late {
			continue
		}
		if h == nil {
			h = sha256.New()
		}
		out := l.target.logical // known before the target is processed
		if !l.target.fixedName() {
			out = l.target.out
		}
		add(l.target.logical)
		add("\x00")
		add(out)
		if l.integrity {
			// The content matters too: its SRI value is written.
			add("\x00")
			add(l.target.integrity)
		}
		add("\n")
	}
	if h == nil {
		return ""
	}
	h.Write(buf)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// reuse takes a node's output from the previous build when neither it
// nor the names of the files it references changed.
func (b *builder) reuse(n *node) bool {
	c := n.cached
	if c == nil || b.dir == nil || b.dir.prev == "" || c.Pinned != (n.pinned != "") || !b.depsMatch(n, c, false) {
		return false
	}
	if n.kind == kindNgsw || n.wantSHA1 && c.SHA1 == "" {
		// An Angular service worker manifest holds the SHA-1 of files
		// whose bytes may change under the same names: it is always
		// written again, from the SHA-1 of every file it lists.
		return false
	}
	if n.hasLate {
		// The name is known; the output waits for the late links.
		if b.claim(c.Out, n.logical) != nil {
			return false
		}
		n.out, n.fingerprinted, n.selfNamed = c.Out, c.Fingerprinted, c.SelfNamed
		n.reusePending = c
		return true
	}
	return b.linkCached(n, c)
}

// linkCached hard-links a node's previous outputs into the new build.
func (b *builder) linkCached(n *node, c *cacheEntry) bool {
	if b.claim(c.Out, n.logical) != nil || !b.dir.link(c.Out, c.OutSize, c.OutMTime) {
		return false
	}
	for _, e := range c.Encodings {
		if b.claim(e.Path, n.logical) != nil || !b.dir.link(e.Path, e.Size, e.MTime) {
			return false
		}
	}
	n.out, n.fingerprinted, n.selfNamed = c.Out, c.Fingerprinted, c.SelfNamed
	n.sha256, n.sha1, n.integrity, n.outSize = c.SHA256, c.SHA1, c.Integrity, c.OutSize
	n.rewritten = c.Rewritten
	n.encodings = nil
	for enc, e := range c.Encodings {
		if n.encodings == nil {
			n.encodings = make(map[string]Encoding)
		}
		n.encodings[enc] = e.Encoding
	}
	n.reused = true
	n.record = c
	return true
}

// newCache records what a build wrote into the folder out. The entries
// are made on a few goroutines: each stats its outputs, and at the end of
// a first run this is on the critical path.
func (b *builder) newCache(opts Options) (*cacheFile, error) {
	c := &cacheFile{Version: cacheVersion, Options: opts.digest(), FileSet: b.fileSet(), Started: b.start.UnixNano(), Files: make(map[string]*cacheEntry, len(b.nodes))}
	entries := make([]*cacheEntry, len(b.nodes))
	inParallel(len(b.nodes), b.o.workers, func(i int) { entries[i] = b.cacheEntry(b.nodes[i]) })
	for i, n := range b.nodes {
		if e := entries[i]; e != nil {
			c.Files[n.logical] = e
		}
	}
	return c, nil
}

// cacheEntry returns what the cache records of a node (nil: nothing).
func (b *builder) cacheEntry(n *node) *cacheEntry {
	if n.mtime == 0 {
		return nil
	}
	if n.record != nil {
		return n.record
	}
	size, mtime, ok := b.dir.stat(n.out)
	if !ok || size != n.outSize {
		return nil
	}
	e := &cacheEntry{
		Size: n.size, MTime: n.mtime,
		Out: n.out, OutSize: size, OutMTime: mtime,
		SHA256: n.sha256, SHA1: n.sha1, Integrity: n.integrity,
		Fingerprinted: n.fingerprinted, SelfNamed: n.selfNamed, Rewritten: n.rewritten,
	}
	if len(n.occ) > 0 {
		e.Occ = make([]cachedOcc, 0, len(n.occ))
	}
	for _, o := range n.occ {
		e.Occ = append(e.Occ, cachedOcc{Path: o.target.logical, Line: o.line, Text: o.text})
	}
	if len(n.links) > 0 {
		e.Targets = make([]cachedTarget, 0, len(n.links))
	}
	for _, l := range n.links {
		e.Targets = append(e.Targets, cachedTarget{Path: l.target.logical, Late: l.late, Integrity: l.integrity, Resource: l.resource, Pin: uint8(l.pin)})
	}
	e.Missing = n.missing
	e.PinDirs = n.pinDirs
	e.Pinned = n.pinned != ""
	e.DepsSig, e.LateSig = depsSig(n, false), depsSig(n, true)
	for enc, en := range n.encodings {
		s, m, ok := b.dir.stat(en.Path)
		if !ok || s != en.Size {
			return nil
		}
		if e.Encodings == nil {
			e.Encodings = make(map[string]cachedEncoding)
		}
		e.Encodings[enc] = cachedEncoding{Encoding: en, MTime: m}
	}
	return e
}

// writeCache writes the cache into the output folder.
func writeCache(root string, c *cacheFile) error {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(c.disk()); err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	p := filepath.Join(root, filepath.FromSlash(cacheName))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	return nil
}

// writtenByFingerprint reports whether the folder dir is empty or holds
// a previous Fingerprint output (its cache or a manifest), so replacing it
// loses nothing the user made.
func writtenByFingerprint(dir, manifest string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return errors.Is(err, fs.ErrNotExist)
	}
	if len(entries) == 0 {
		return true
	}
	for _, name := range []string{cacheName, manifest} {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(name))); err == nil {
			return true
		}
	}
	return slices.ContainsFunc(entries, func(e os.DirEntry) bool {
		return strings.EqualFold(e.Name(), DefaultManifestName)
	})
}

// outputsUnchanged reports whether every cached output (and precompressed
// copy) in the previous output folder still has the size and modification
// time it was written with. The checks are spread over a few goroutines:
// on a re-run, these stat calls are much of the work.
func (b *builder) outputsUnchanged() bool {
	var bad atomic.Bool
	// Stats wait on the file system more than on a CPU: more workers.
	inParallel(len(b.nodes), min(runtime.NumCPU()*2, 16), func(i int) {
		if bad.Load() {
			return
		}
		c := b.nodes[i].cached
		if !b.dir.unchanged(c.Out, c.OutSize, c.OutMTime) {
			bad.Store(true)
			return
		}
		for _, e := range c.Encodings {
			if !b.dir.unchanged(e.Path, e.Size, e.MTime) {
				bad.Store(true)
				return
			}
		}
	})
	return !bad.Load()
}

// takeUnchanged checks whether the previous output folder already is this
// build's output: every source file unchanged (and so every output, the
// build being deterministic), every output still as written, and nothing
// else in the folder. Then the nodes take their results from the cache and
// nothing is written (the manifests are compared by Fingerprint).
func (b *builder) takeUnchanged() bool {
	prev := b.env.prev
	if prev == nil || b.dir == nil || b.dir.prev == "" || prev.FileSet != b.fileSet() {
		return false
	}
	expected := make(map[string]bool, 2*len(b.nodes)+3)
	expected[b.o.manifest] = true
	if b.o.vite != "" {
		expected[b.o.vite] = true
	}
	for _, n := range b.nodes {
		c := n.cached
		if c == nil || c.Pinned != (n.pinned != "") {
			return false
		}
		expected[c.Out] = true
		for _, e := range c.Encodings {
			expected[e.Path] = true
		}
	}
	// The folder holds no other file (checked meanwhile), every output
	// is as recorded, and every file names what it named.
	var holdsOnly bool
	var wg sync.WaitGroup
	wg.Go(func() { holdsOnly = b.dir.holdsOnly(expected) })
	defer wg.Wait()
	if !b.outputsUnchanged() {
		return false
	}
	for _, n := range b.nodes {
		n.out, n.integrity = n.cached.Out, n.cached.Integrity
	}
	undo := func() bool {
		for _, n := range b.nodes {
			n.out, n.integrity = "", ""
		}
		return false
	}
	var changed atomic.Bool
	inParallel(len(b.nodes), b.o.workers, func(i int) {
		n := b.nodes[i]
		if depsSig(n, false) != n.cached.DepsSig || depsSig(n, true) != n.cached.LateSig {
			changed.Store(true)
		}
	})
	if wg.Wait(); changed.Load() || !holdsOnly {
		return undo()
	}
	for _, n := range b.nodes {
		c := n.cached
		n.fingerprinted, n.sha256, n.sha1, n.integrity, n.outSize, n.rewritten = c.Fingerprinted, c.SHA256, c.SHA1, c.Integrity, c.OutSize, c.Rewritten
		n.selfNamed = c.SelfNamed
		for enc, e := range c.Encodings {
			if n.encodings == nil {
				n.encodings = make(map[string]Encoding)
			}
			n.encodings[enc] = e.Encoding
		}
		n.reused = true
		n.record = c
	}
	b.unchanged = true
	return true
}
