package local

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/cdnctl/cdnctl/providers"
)

// folderState is a deploy state kept in a folder: <site>/.cdnctl/ (sub
// set, opened through the site folder so that a symlink cannot lead it
// elsewhere) or a folder of its own. Writes go through a temporary file
// in its tmp/ folder; a file's version is the SHA-256 of its content.
type folderState struct {
	parent string // the site folder (sub != ""), or the state folder itself
	sub    string // providers.StateDir, or ""
	loc    providers.StateLocation

	mu   sync.Mutex // guards root
	root *os.Root   // the state folder, opened on first use
}

// stateTmp is the folder of temporary files, inside the state folder.
const stateTmp = "tmp"

// newSiteState is the state in site/.cdnctl/: cdnctl's origin never
// serves it, but it is inside the folder.
func newSiteState(site string) *folderState {
	return &folderState{parent: site, sub: providers.StateDir, loc: providers.StateLocation{
		URL: "file://" + filepath.ToSlash(filepath.Join(site, providers.StateDir)), Key: providers.StateDir,
		InSite: true, HiddenByOrigin: true,
	}}
}

// newFolderState is the state in a folder of its own, outside the site.
func newFolderState(dir string) *folderState {
	return &folderState{parent: dir, loc: providers.StateLocation{URL: "file://" + filepath.ToSlash(dir)}}
}

func (f *folderState) String() string { return f.loc.URL }

// open returns the state folder, creating it when create is set; nil, nil
// when it does not exist and !create.
func (f *folderState) open(create bool) (*os.Root, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.root != nil {
		return f.root, nil
	}
	if create {
		if err := os.MkdirAll(f.parent, 0o755); err != nil {
			return nil, fmt.Errorf("local state: %w", err)
		}
	}
	r, err := os.OpenRoot(f.parent)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("local state: %w", err)
	}
	if f.sub != "" {
		parent := r
		defer parent.Close()
		if create {
			if err := parent.MkdirAll(f.sub, 0o755); err != nil {
				return nil, fmt.Errorf("local state: %w", err)
			}
		}
		r, err = parent.OpenRoot(f.sub)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("local state: %w", err)
		}
	}
	f.root = r
	return r, nil
}

func (f *folderState) close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.root == nil {
		return nil
	}
	err := f.root.Close()
	f.root = nil
	return err
}

// checkName refuses names that are not plain relative paths, and, in the
// site's .cdnctl/, the object index and temporary files the store keeps
// there.
func (f *folderState) checkName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") {
		return fmt.Errorf("state file %q: invalid name", name)
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("state file %q: invalid name", name)
		}
	}
	if name == stateTmp || strings.HasPrefix(name, stateTmp+"/") {
		return fmt.Errorf("state file %q: %s/ holds temporary files", name, stateTmp)
	}
	return nil
}

func notFound(name string) error {
	return fmt.Errorf("local state: %s: %w", name, providers.ErrStateNotFound)
}

func conflict(op, name string) error {
	return fmt.Errorf("local state: %s %s: %w", op, name, providers.ErrStateConflict)
}

func version(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// ReadState implements providers.StateStore.
func (f *folderState) ReadState(ctx context.Context, name string) ([]byte, error) {
	data, _, err := f.ReadStateVersion(ctx, name)
	return data, err
}

// ReadStateVersion implements providers.StateVersions.
func (f *folderState) ReadStateVersion(ctx context.Context, name string) ([]byte, string, error) {
	if err := f.checkName(name); err != nil {
		return nil, "", err
	}
	root, err := f.open(false)
	if err != nil {
		return nil, "", err
	}
	if root == nil {
		return nil, "", notFound(name)
	}
	data, err := root.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", notFound(name)
	}
	if err != nil {
		return nil, "", fmt.Errorf("local state: %w", err)
	}
	return data, version(data), nil
}

// WriteState implements providers.StateStore (atomically).
func (f *folderState) WriteState(ctx context.Context, name string, data []byte) error {
	if err := f.checkName(name); err != nil {
		return err
	}
	root, err := f.open(true)
	if err != nil {
		return err
	}
	if err := writeAtomicVia(root, stateTmp, name, writeBytes(data)); err != nil {
		return fmt.Errorf("local state: write %s: %w", name, err)
	}
	return nil
}

func writeBytes(data []byte) func(io.Writer) error {
	return func(w io.Writer) error { _, err := w.Write(data); return err }
}

// WriteStateIf implements providers.StateVersions. Creating (version "")
// links a complete temporary file to the name, which fails when the name
// exists, so two writers never both create it. Replacing compares the
// current content's hash, then renames a complete file over it, both
// under casLock.
func (f *folderState) WriteStateIf(ctx context.Context, name string, data []byte, ver string) (string, error) {
	if err := f.checkName(name); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	root, err := f.open(true)
	if err != nil {
		return "", err
	}
	unlock, err := casLock(root)
	if err != nil {
		return "", fmt.Errorf("local state: write %s: %w", name, err)
	}
	defer unlock()
	if ver == "" {
		if err := createExclusive(root, name, data); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return "", conflict("create", name)
			}
			return "", fmt.Errorf("local state: create %s: %w", name, err)
		}
		return version(data), nil
	}
	cur, err := root.ReadFile(name)
	if err != nil || version(cur) != ver {
		return "", conflict("write", name)
	}
	if err := writeAtomicVia(root, stateTmp, name, writeBytes(data)); err != nil {
		return "", fmt.Errorf("local state: write %s: %w", name, err)
	}
	return version(data), nil
}

// createExclusive writes name only if it does not exist: a hard link of a
// complete temporary file, or, where the file system has no hard links,
// an O_EXCL create.
func createExclusive(root *os.Root, name string, data []byte) error {
	if err := mkdirFor(root, name); err != nil {
		return err
	}
	tmp, err := writeTemp(root, stateTmp, writeBytes(data))
	if err != nil {
		return err
	}
	defer root.Remove(tmp)
	err = root.Link(tmp, name)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return err
	}
	w, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}

// DeleteState implements providers.StateStore.
func (f *folderState) DeleteState(ctx context.Context, name string) error {
	if err := f.checkName(name); err != nil {
		return err
	}
	root, err := f.open(false)
	if err != nil || root == nil {
		return err
	}
	if err := root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("local state: %w", err)
	}
	return nil
}

// DeleteStateIf implements providers.StateVersions: the file is renamed
// away (atomically, so only one deleter gets it), checked, and put back
// if it was not the version asked for.
func (f *folderState) DeleteStateIf(ctx context.Context, name, ver string) error {
	if err := f.checkName(name); err != nil {
		return err
	}
	root, err := f.open(false)
	if err != nil || root == nil {
		return err
	}
	unlock, err := casLock(root)
	if err != nil {
		return fmt.Errorf("local state: delete %s: %w", name, err)
	}
	defer unlock()
	aside := stateTmp + "/" + strings.ReplaceAll(name, "/", "_") + "." + version([]byte(name + ver))[:12] + ".del"
	if err := root.Rename(name, aside); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("local state: delete %s: %w", name, err)
	}
	data, err := root.ReadFile(aside)
	if err == nil && version(data) == ver {
		return root.Remove(aside)
	}
	// Not the version asked for: put it back, unless a new one was
	// created meanwhile (which then wins).
	_ = root.Link(aside, name)
	_ = root.Remove(aside)
	return conflict("delete", name)
}

// ListState implements providers.State.
func (f *folderState) ListState(ctx context.Context) ([]string, error) {
	root, err := f.open(false)
	if err != nil || root == nil {
		return nil, err
	}
	var names []string
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("local state: %w", err)
		}
		switch {
		case p == ".":
			return nil
		case d.IsDir() && p == stateTmp:
			return fs.SkipDir
		case !d.Type().IsRegular():
			return nil
		case f.sub != "" && p == providers.IndexName:
			return nil // the store's object index stays with the site
		}
		names = append(names, p)
		return nil
	})
	sort.Strings(names)
	return names, err
}

// StateLocation implements providers.State.
func (f *folderState) StateLocation() providers.StateLocation { return f.loc }

var _ providers.State = (*folderState)(nil)
