// Package local is the local end of cdnctl's providers: a folder used as
// origin storage (what `cdnctl push --to file:///path` writes and
// `cdnctl serve --origin DIR` serves), and the local edge's purger.
package local

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cdnctl/cdnctl/providers"
)

// Store is a folder used as origin storage (contracts.md §5): each object
// is a file at its key; cdnctl's state lives under <root>/.cdnctl/ — the
// object index objects.json (headers the static origin serves) and the
// deploy history. Every write is atomic: a temporary file under
// .cdnctl/tmp/, checked against its SHA-256, then renamed into place; the
// index is rewritten (also atomically) after the objects it describes.
// All paths are resolved inside the root (os.Root), so a symlink in the
// folder cannot make a write land outside it.
//
// A listed file's recorded hash and headers are trusted when the index
// has an entry of the same size and the file is not newer than the index;
// otherwise (changed or added by hand) the file is hashed again.
type Store struct {
	dir   string
	state *folderState // the deploy state: dir/.cdnctl, or a folder of its own

	mu       sync.Mutex // guards the fields below
	root     *os.Root   // opened on first use
	idx      *providers.ObjectIndex
	idxMTime time.Time // modification time of objects.json when read
	dirty    bool      // idx has changes not yet committed
}

// NewStore returns a store rooted at dir, with its deploy state in
// dir/.cdnctl/ (which cdnctl's origin never serves). The folder is created
// on the first write, so planning against a folder that does not exist
// yet (a dry run) creates nothing.
func NewStore(dir string) (*Store, error) { return NewStoreWithState(dir, "") }

// NewStoreWithState returns a store rooted at dir whose deploy state
// (history, snapshots, lock, rollback copies) lives in stateDir instead,
// a folder outside dir ("" for dir/.cdnctl/). The object index, which
// the origin serves headers from, stays in dir/.cdnctl/objects.json.
func NewStoreWithState(dir, stateDir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("local store %s: %w", dir, err)
	}
	if st, err := os.Stat(abs); err == nil && !st.IsDir() {
		return nil, fmt.Errorf("local store %s: not a directory", dir)
	}
	s := &Store{dir: abs, state: newSiteState(abs)}
	if stateDir != "" {
		sabs, err := filepath.Abs(stateDir)
		if err != nil {
			return nil, fmt.Errorf("local store state %s: %w", stateDir, err)
		}
		if sabs != filepath.Join(abs, providers.StateDir) {
			if inside(sabs, abs) || inside(abs, sabs) {
				return nil, fmt.Errorf("local store: state folder %s and site folder %s overlap: pick a state folder outside the site (or %s)", sabs, abs, filepath.Join(abs, providers.StateDir))
			}
			if st, err := os.Stat(sabs); err == nil && !st.IsDir() {
				return nil, fmt.Errorf("local store state %s: not a directory", stateDir)
			}
			s.state = newFolderState(sabs)
		}
	}
	return s, nil
}

// inside reports whether path child is parent or under it.
func inside(child, parent string) bool {
	rel, err := filepath.Rel(parent, child)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// Dir returns the store's root folder.
func (s *Store) Dir() string { return s.dir }

// Close releases the folder handle.
func (s *Store) Close() error {
	serr := s.state.close()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.root == nil {
		return serr
	}
	err := s.root.Close()
	s.root = nil
	return errors.Join(err, serr)
}

const (
	tmpDir    = providers.StateDir + "/tmp"
	indexPath = providers.StateDir + "/" + providers.IndexName
)

// openRoot returns the root handle, creating the folder when create is
// set. It returns nil, nil when the folder does not exist and !create.
// Callers hold s.mu.
func (s *Store) openRoot(create bool) (*os.Root, error) {
	if s.root != nil {
		return s.root, nil
	}
	r, err := os.OpenRoot(s.dir)
	if errors.Is(err, fs.ErrNotExist) && create {
		if err := os.MkdirAll(s.dir, 0o755); err != nil {
			return nil, fmt.Errorf("local store: %w", err)
		}
		r, err = os.OpenRoot(s.dir)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("local store: %w", err)
	}
	s.root = r
	return r, nil
}

// loadIndex reads objects.json once. Callers hold s.mu.
func (s *Store) loadIndex(root *os.Root) error {
	if s.idx != nil {
		return nil
	}
	s.idx = providers.NewObjectIndex()
	if root == nil {
		return nil
	}
	st, err := root.Stat(indexPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("local store: %w", err)
	}
	data, err := root.ReadFile(indexPath)
	if err != nil {
		return fmt.Errorf("local store: %w", err)
	}
	idx, err := providers.ParseObjectIndex(data)
	if err != nil {
		return fmt.Errorf("local store %s: %w (delete it to have cdnctl rebuild it)", filepath.Join(s.dir, filepath.FromSlash(indexPath)), err)
	}
	s.idx, s.idxMTime = idx, st.ModTime()
	return nil
}

// List implements providers.Lister.
func (s *Store) List(ctx context.Context) ([]providers.RemoteObject, error) {
	s.mu.Lock()
	root, err := s.openRoot(false)
	if err == nil {
		err = s.loadIndex(root)
	}
	var (
		idx    map[string]providers.IndexEntry
		idxMod time.Time
	)
	if s.idx != nil {
		idx = make(map[string]providers.IndexEntry, len(s.idx.Objects))
		for k, v := range s.idx.Objects {
			idx[k] = v
		}
		idxMod = s.idxMTime
	}
	s.mu.Unlock()
	if err != nil || root == nil {
		return nil, err
	}

	var objs []providers.RemoteObject
	var rehash []int // objects whose recorded hash cannot be trusted
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("local store: %w", err)
		}
		if p == "." {
			return nil
		}
		if d.IsDir() {
			if p == providers.StateDir {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil // symlinks and devices are not objects
		}
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("local store: %w", err)
		}
		o := providers.RemoteObject{Key: p, Size: info.Size(), LastModified: info.ModTime()}
		if e, ok := idx[p]; ok && e.Size == o.Size && !info.ModTime().After(idxMod) {
			o.SHA256, o.Meta, o.MetaKnown = e.SHA256, e.Metadata, true
		} else {
			rehash = append(rehash, len(objs))
		}
		objs = append(objs, o)
		return nil
	})
	if err != nil {
		return nil, err
	}

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for _, i := range rehash {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			o := &objs[i]
			sum, err := hashFile(root, o.Key)
			if err != nil {
				return fmt.Errorf("local store: %w", err)
			}
			o.SHA256 = sum
			// Touched but identical to what was recorded: headers hold.
			if e, ok := idx[o.Key]; ok && e.SHA256 == sum {
				o.Meta, o.MetaKnown = e.Metadata, true
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	// Forget entries of files removed by hand (saved with the next change).
	s.mu.Lock()
	if s.idx != nil && len(s.idx.Objects) > len(objs) {
		present := make(map[string]bool, len(objs))
		for _, o := range objs {
			present[o.Key] = true
		}
		for k := range s.idx.Objects {
			if !present[k] {
				delete(s.idx.Objects, k)
			}
		}
	}
	s.mu.Unlock()
	return objs, ctx.Err()
}

func hashFile(root *os.Root, name string) (string, error) {
	f, err := root.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Put implements providers.Putter: the body is copied to a temporary file,
// its SHA-256 checked against f.SHA256, then renamed to the key.
func (s *Store) Put(ctx context.Context, f *providers.LocalFile) error {
	if err := providers.ValidateKey(f.Key); err != nil {
		return fmt.Errorf("local store: put: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	root, err := s.writableRoot()
	if err != nil {
		return err
	}
	if err := writeAtomic(root, f.Key, func(w io.Writer) error {
		r, err := f.Open()
		if err != nil {
			return err
		}
		defer r.Close()
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(w, h), ctxReader{ctx, r})
		if err != nil {
			return err
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 || n != f.Size {
			return fmt.Errorf("checksum mismatch: wrote %d bytes with sha256 %s, want %d bytes with %s (did the file change during the push?)", n, got, f.Size, f.SHA256)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("local store: put %s: %w", f.Key, err)
	}
	s.mu.Lock()
	s.idx.Objects[f.Key] = providers.EntryFor(f, "")
	s.dirty = true
	s.mu.Unlock()
	return nil
}

// writableRoot opens (creating) the root and loads the index.
func (s *Store) writableRoot() (*os.Root, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	root, err := s.openRoot(true)
	if err != nil {
		return nil, err
	}
	if err := s.loadIndex(root); err != nil {
		return nil, err
	}
	return root, nil
}

// ctxReader stops a copy when its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// writeAtomic writes name (a slash path inside root) through a temporary
// file under .cdnctl/tmp/, renamed into place only when fill succeeds.
func writeAtomic(root *os.Root, name string, fill func(io.Writer) error) error {
	return writeAtomicVia(root, tmpDir, name, fill)
}

// writeAtomicVia is writeAtomic with the temporary file in folder tmpFolder.
func writeAtomicVia(root *os.Root, tmpFolder, name string, fill func(io.Writer) error) error {
	tmp, err := writeTemp(root, tmpFolder, fill)
	if err != nil {
		return err
	}
	if st, serr := root.Lstat(name); serr == nil && st.IsDir() {
		err = fmt.Errorf("a folder exists where the file should go")
	} else if err = mkdirFor(root, name); err == nil {
		err = root.Rename(tmp, name)
	}
	if err != nil {
		_ = root.Remove(tmp)
		return err
	}
	return nil
}

// mkdirFor creates the folder name goes in.
func mkdirFor(root *os.Root, name string) error {
	if dir := path.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create folder %s: %w", dir, err)
		}
	}
	return nil
}

// writeTemp writes a new temporary file in folder dir with fill and
// returns its name; nothing is left behind when fill fails.
func writeTemp(root *os.Root, dir string, fill func(io.Writer) error) (string, error) {
	if err := root.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := dir + "/" + hex.EncodeToString(rnd[:]) + ".tmp"
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", err
	}
	err = fill(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = root.Remove(tmp)
		return "", err
	}
	return tmp, nil
}

// UpdateMetadata implements providers.MetadataUpdater: only the index
// entry changes; the file stays.
func (s *Store) UpdateMetadata(ctx context.Context, f *providers.LocalFile) error {
	if err := providers.ValidateKey(f.Key); err != nil {
		return fmt.Errorf("local store: update: %w", err)
	}
	root, err := s.writableRoot()
	if err != nil {
		return err
	}
	st, err := root.Stat(f.Key)
	if err != nil {
		return fmt.Errorf("local store: update %s: %w", f.Key, err)
	}
	if st.Size() != f.Size {
		return fmt.Errorf("local store: update %s: stored file has %d bytes, want %d", f.Key, st.Size(), f.Size)
	}
	s.mu.Lock()
	s.idx.Objects[f.Key] = providers.EntryFor(f, "")
	s.dirty = true
	s.mu.Unlock()
	return nil
}

// Delete implements providers.Deleter, removing folders left empty.
func (s *Store) Delete(ctx context.Context, keys []string) error {
	root, err := s.writableRoot()
	if err != nil {
		return err
	}
	var errs []error
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := providers.ValidateKey(k); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := root.Remove(k); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("%s: %w", k, err))
			continue
		}
		s.mu.Lock()
		delete(s.idx.Objects, k)
		s.dirty = true
		s.mu.Unlock()
		for dir := path.Dir(k); dir != "."; dir = path.Dir(dir) {
			if root.Remove(dir) != nil { // not empty (or gone): stop
				break
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("local store: delete: %w", errors.Join(errs...))
	}
	return nil
}

// Commit implements providers.Committer: it rewrites objects.json when
// objects changed since the last commit.
func (s *Store) Commit(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.dirty {
		return nil
	}
	root, err := s.openRoot(true)
	if err != nil {
		return err
	}
	data, err := s.idx.Marshal()
	if err != nil {
		return err
	}
	if err := writeAtomic(root, indexPath, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}); err != nil {
		return fmt.Errorf("local store: write index: %w", err)
	}
	if st, err := root.Stat(indexPath); err == nil {
		s.idxMTime = st.ModTime()
	}
	s.dirty = false
	return nil
}

// CommitEachGroup implements providers.GroupCommitter: the static origin
// serves headers from objects.json as soon as it changes.
func (s *Store) CommitEachGroup() bool { return true }

// The deploy state (providers.State) is s.state's.

// ReadState implements providers.StateStore.
func (s *Store) ReadState(ctx context.Context, name string) ([]byte, error) {
	return s.state.ReadState(ctx, name)
}

// WriteState implements providers.StateStore (atomically).
func (s *Store) WriteState(ctx context.Context, name string, data []byte) error {
	return s.state.WriteState(ctx, name, data)
}

// DeleteState implements providers.StateStore.
func (s *Store) DeleteState(ctx context.Context, name string) error {
	return s.state.DeleteState(ctx, name)
}

// ReadStateVersion implements providers.StateVersions.
func (s *Store) ReadStateVersion(ctx context.Context, name string) ([]byte, string, error) {
	return s.state.ReadStateVersion(ctx, name)
}

// WriteStateIf implements providers.StateVersions.
func (s *Store) WriteStateIf(ctx context.Context, name string, data []byte, version string) (string, error) {
	return s.state.WriteStateIf(ctx, name, data, version)
}

// DeleteStateIf implements providers.StateVersions.
func (s *Store) DeleteStateIf(ctx context.Context, name, version string) error {
	return s.state.DeleteStateIf(ctx, name, version)
}

// ListState implements providers.State.
func (s *Store) ListState(ctx context.Context) ([]string, error) { return s.state.ListState(ctx) }

// StateLocation implements providers.State.
func (s *Store) StateLocation() providers.StateLocation { return s.state.StateLocation() }

// FormerStates implements providers.FormerStates: with a state folder of
// its own, the .cdnctl/ folder under the site, where the state was by
// default.
func (s *Store) FormerStates() []providers.State {
	if s.state.sub != "" {
		return nil
	}
	return []providers.State{newSiteState(s.dir)}
}

var (
	_ providers.Store           = (*Store)(nil)
	_ providers.MetadataUpdater = (*Store)(nil)
	_ providers.GroupCommitter  = (*Store)(nil)
	_ providers.FormerStates    = (*Store)(nil)
)
