package hashing

import (
	"bytes"
	"context"
	"crypto/sha1"
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
	"path/filepath"
	"slices"
	"strings"

	"github.com/cespare/xxhash/v2"
	"golang.org/x/sync/errgroup"
)

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
		b.dropHeld(n)
		return nil
	}
	if n.keepBytes() {
		return b.processStream(n)
	}
	switch n.kind {
	case kindHTML, kindCSS, kindSourceMap, kindWebManifest, kindNgsw:
		return b.processText(n)
	case kindJS:
		if len(n.links) > 0 && !n.tailOnly() {
			return b.processText(n)
		}
	}
	return b.processStream(n)
}

// processText rewrites a file held in memory.
func (b *builder) processText(n *node) error {
	data, release, err := b.source(n)
	if err != nil {
		return err
	}
	defer release()
	var (
		refs    []ref
		targets []*node
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
	// The new content goes into a buffer of the free list, returned
	// once written (nothing keeps the bytes written: see wholeWriter).
	bufp := b.wholeBufs.get()
	defer b.wholeBufs.put(bufp)
	content, canonical, late := b.rewriteInto(*bufp, n, data, refs, targets, false)
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
	return b.writeBytes(n, content, sum[:])
}

// writeBytes writes a node's final content under n.out and its
// precompressed copies. sum, if not nil, is the content's SHA-256.
func (b *builder) writeBytes(n *node, content, sum []byte) error {
	h384 := b.integrityHash(n)
	if h384 != nil {
		h384.Write(content)
	}
	if sum == nil {
		s := sha256.Sum256(content)
		sum = s[:]
	}
	if w, ok := b.out.(wholeWriter); ok {
		if err := w.WriteFile(n.out, content); err != nil {
			return err
		}
	} else {
		f, err := b.out.Create(path.Dir(n.logical))
		if err != nil {
			return err
		}
		defer f.Abort()
		if _, err := f.Write(content); err != nil {
			return fmt.Errorf("output %s: %w", n.out, err)
		}
		if err := f.Commit(n.out); err != nil {
			return err
		}
	}
	if w := b.env.watch; w != nil {
		w.Written(n.out, content)
	}
	n.sha256 = hex.EncodeToString(sum)
	n.sha1 = ""
	if h1 := sha1Hash(n); h1 != nil {
		h1.Write(content)
		n.sha1 = hex.EncodeToString(h1.Sum(nil))
	}
	n.integrity = ""
	if h384 != nil {
		n.integrity = "sha384-" + base64.StdEncoding.EncodeToString(h384.Sum(nil))
	}
	n.outSize = int64(len(content))
	return b.precompress(n, func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(content)), nil })
}

// source returns a node's whole source: the bytes linkAll kept (see
// node.data), or read now. release must be called once the bytes are no
// longer used.
func (b *builder) source(n *node) (data []byte, release func(), err error) {
	if d := n.data; d != nil {
		n.data = nil
		return d, func() { b.heldBudget.Add(int64(len(d))) }, nil
	}
	bufp, err := b.readWhole(n)
	if err != nil {
		return nil, nil, err
	}
	return *bufp, func() { b.wholeBufs.put(bufp) }, nil
}

// bufferList is a free list of the buffers files are read whole into.
// Unlike a sync.Pool it keeps them across garbage collections: a build
// reuses the same few buffers (made large enough for any file read whole,
// their pages touched only as far as files fill them) instead of faulting
// in new memory for file after file.
type bufferList struct{ free chan *[]byte }

func (l *bufferList) get() *[]byte {
	select {
	case bufp := <-l.free:
		return bufp
	default:
		buf := make([]byte, 0, maxWholeSize+1)
		return &buf
	}
}

// put returns a buffer (one grown past twice maxWholeSize is dropped).
func (l *bufferList) put(bufp *[]byte) {
	if cap(*bufp) > 2*maxWholeSize {
		return
	}
	select {
	case l.free <- bufp:
	default:
	}
}

// dropHeld releases the source linkAll kept for a node not written
// from it.
func (b *builder) dropHeld(n *node) {
	if n.data != nil {
		b.heldBudget.Add(int64(len(n.data)))
		n.data = nil
	}
}

// hold keeps the source linkAll read for process, within maxHeldBytes.
func (b *builder) hold(n *node, data []byte) {
	if b.heldBudget.Add(-int64(len(data))) >= 0 {
		n.data = data
		return
	}
	b.heldBudget.Add(int64(len(data)))
}

// readWhole reads a node's source into a buffer of the free list.
func (b *builder) readWhole(n *node) (*[]byte, error) {
	bufp := b.wholeBufs.get()
	buf := (*bufp)[:0]
	if want := int(n.size) + 1; cap(buf) < want {
		buf = make([]byte, 0, want)
	}
	buf, err := b.readSource(n, buf)
	*bufp = buf
	if err != nil {
		b.wholeBufs.put(bufp)
		return nil, b.fileError(n, err)
	}
	return bufp, nil
}

// readSource appends a node's whole source to buf: straight from the
// folder when the source is one (see buildEnv.srcDir), else through
// the fs.FS.
func (b *builder) readSource(n *node, buf []byte) ([]byte, error) {
	if b.env.srcDir != "" {
		return readFileAt(filepath.Join(b.env.srcDir, filepath.FromSlash(n.logical)), buf)
	}
	f, err := b.src.Open(n.logical)
	if err != nil {
		return buf, err
	}
	defer f.Close()
	return readAll(f, buf)
}

// readAll appends what r holds to buf, grown as needed.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		m, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

func hexSum(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func (b *builder) setSums(n *node, h256, h384, h1 hash.Hash, size int64) {
	n.sha256 = hex.EncodeToString(h256.Sum(nil))
	n.sha1 = ""
	if h1 != nil {
		n.sha1 = hex.EncodeToString(h1.Sum(nil))
	}
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

// sha1Hash returns a SHA-1 hash for the files an Angular service worker
// manifest lists (see ngsw.go), nil for the others.
func sha1Hash(n *node) hash.Hash {
	if !n.wantSHA1 {
		return nil
	}
	return sha1.New()
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

// processStream copies a file that is not rewritten, but for a large
// script's sourceMappingURL in its tail. A file of at most maxWholeSize
// is read whole, hashed and written under its final name; a larger one
// is streamed into a temporary file renamed once hashed.
func (b *builder) processStream(n *node) error {
	if n.size <= maxWholeSize && !n.tailOnly() {
		data, release, err := b.source(n)
		if err != nil {
			return err
		}
		defer release()
		n.rewritten = false
		sum := sha256.Sum256(data)
		name, fp := b.nameFor(n, sum[:])
		if err := b.claim(name, n.logical); err != nil {
			return err
		}
		n.out, n.fingerprinted = name, fp
		return b.writeBytes(n, data, sum[:])
	}
	b.dropHeld(n)
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
	h256, h384, h1 := sha256.New(), b.integrityHash(n), sha1Hash(n)
	bufp := b.bufs.Get().(*[]byte)
	written, err := io.CopyBuffer(io.MultiWriter(writers(f, h256, h384, h1)...), onlyReader{r}, *bufp)
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
	b.setSums(n, h256, h384, h1, written)
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
	if n.keepBytes() || !n.tailOnly() || !hasResolvedLinks(n) {
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
func (b *builder) rewrite(n *node, data []byte, refs []ref, targets []*node, final bool) (content, canonical []byte, late bool) {
	return b.rewriteInto(nil, n, data, refs, targets, final)
}

// rewriteInto is rewrite writing the content into dst's array when it is
// large enough (and there are no late references).
func (b *builder) rewriteInto(dst []byte, n *node, data []byte, refs []ref, targets []*node, final bool) (content, canonical []byte, late bool) {
	var (
		edits, blanks       []edit
		groups, groupBlanks map[*refGroup][]edit // nil until a reference of a group is edited
	)
	if len(refs) > 0 {
		edits = make([]edit, 0, len(refs))
	}
	for i, r := range refs {
		var t *node
		if targets != nil {
			t = targets[i]
		} else {
			t, _, _ = b.site.resolveNode(r.base, r.url)
		}
		if t == nil {
			continue
		}
		if r.pin != pinNone {
			continue // names a file that keeps its name
		}
		if r.integrity {
			// t was processed first (see linkAll).
			if t != n && t.rewritten && t.integrity != "" && strings.TrimSpace(r.text) != t.integrity {
				edits = append(edits, edit{r.start, r.end, encodeRef(r, t.integrity)})
			}
			continue
		}
		if t.fixedName() {
			continue // keeps its name (and may be being processed)
		}
		if r.late && !final {
			late = true
			e := edit{r.start, r.end, encodeRef(r, "")}
			if r.group != nil {
				if groupBlanks == nil {
					groupBlanks = map[*refGroup][]edit{}
				}
				groupBlanks[r.group] = append(groupBlanks[r.group], e)
			} else {
				blanks = append(blanks, e)
			}
			continue
		}
		if t.out == t.logical {
			continue // already fingerprinted
		}
		old := path.Base(t.logical)
		if at, ok := baseNameAt(data, r, old); ok {
			// Only the name changes: the edit is the new name, a part
			// of t.out (no new string).
			if nb := path.Base(t.out); nb != old {
				edits = append(edits, edit{r.start + at, r.start + at + len(old), nb})
			}
			continue
		}
		nu := b.site.rewriteURL(r.url, t.logical, t.out)
		if nu == r.url {
			continue
		}
		e := edit{r.start, r.end, encodeRef(r, nu)}
		if r.group != nil {
			if groups == nil {
				groups = map[*refGroup][]edit{}
			}
			groups[r.group] = append(groups[r.group], e)
			continue
		}
		edits = append(edits, e)
	}
	if !late {
		// No blanks: the content is the canonical content.
		for g, ge := range groups {
			edits = append(edits, edit{g.start, g.end, g.escape(string(applyEdits([]byte(g.val), ge)))})
		}
		content = applyEditsInto(dst, data, edits)
		return content, content, false
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
	return applyEdits(data, edits), applyEdits(data, canonEdits), true
}

// baseNameAt returns where, in a reference written as is in data (no
// escapes, no group), its last path segment starts when that segment is
// base: the case where rewriteURL only replaces that segment.
func baseNameAt(data []byte, r ref, base string) (int, bool) {
	if r.encode != nil || r.group != nil || r.text != r.url || r.end > len(data) || string(data[r.start:r.end]) != r.text {
		return 0, false
	}
	p := r.url
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	i := strings.LastIndexByte(p, '/') + 1
	return i, p[i:] == base
}

// encodeRef writes a URL in the syntax of the reference's container.
func encodeRef(r ref, u string) string {
	if r.encode != nil {
		return r.encode(u)
	}
	return u
}

// nameFor decides a node's output name from the SHA-256 of its content.
func (b *builder) nameFor(n *node, sum []byte) (name string, fingerprinted bool) {
	hexSum := hex.EncodeToString(sum)
	_, h, ok := ParseFingerprint(n.logical)
	n.selfNamed = ok && strings.HasPrefix(hexSum, h)
	switch {
	case n.entry, n.pinned != "":
		n.selfNamed = false
		return n.logical, false
	case n.keepBytes():
		return n.logical, true
	}
	if n.selfNamed {
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
		if !n.hasLate || n.reused || n.kind == kindNgsw {
			continue // an Angular service worker manifest comes after (see finishNgsw)
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
			return b.writeBytes(n, content, nil)
		})
	}
	return g.Wait()
}
