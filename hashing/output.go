package hashing

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
)

// Output receives the files of a build. A file's name depends on its
// content, so it is written first and named last.
type Output interface {
	// Create starts a new file, to be committed in the folder dir
	// (slash-separated, "." for the top).
	Create(dir string) (OutputFile, error)
}

// OutputFile is a file being written to an Output.
type OutputFile interface {
	io.Writer
	// Commit gives the file its slash-separated name (creating folders as
	// needed) and closes it.
	Commit(name string) error
	// Abort discards the file. It is safe to call after Commit (then it
	// does nothing).
	Abort() error
}

// wholeWriter is an Output that can write a file whose content is known
// under its final name at once (no temporary name, no rename).
type wholeWriter interface {
	// WriteFile writes data as the file name (slash-separated),
	// creating folders as needed, replacing any file there. It must
	// not keep data once it returns (the builder reuses the buffer).
	WriteFile(name string, data []byte) error
}

// Discard is an Output that writes nothing: Build with it computes the
// names, hashes and manifest of a dry run.
var Discard Output = discard{}

type discard struct{}

func (discard) Create(string) (OutputFile, error) { return discardFile{}, nil }

type discardFile struct{}

func (discard) WriteFile(string, []byte) error { return nil }

func (discardFile) Write(p []byte) (int, error) { return len(p), nil }
func (discardFile) Commit(string) error         { return nil }
func (discardFile) Abort() error                { return nil }

// DirOutput writes a build into the folder Root, which must exist.
type DirOutput struct {
	Root string

	// prev, when set, is a previous build of the same source: unchanged
	// files are hard-linked from it instead of written again.
	prev string

	tmpSeq atomic.Uint64 // numbers temporary files

	mu      sync.Mutex          // guards madeDir and written
	madeDir map[string]struct{} // folders known to exist
	// written records the size and modification time of the files
	// WriteFile wrote (see stat), as they were when it closed them.
	written map[string]fileStat
}

// fileStat is the size and modification time (Unix nanoseconds) of a file.
type fileStat struct{ size, mtime int64 }

// NewDirOutput returns an Output writing into the existing folder root.
func NewDirOutput(root string) *DirOutput {
	return &DirOutput{Root: root}
}

// Create implements Output: the file is written under a temporary name in
// its folder and renamed on Commit (in the same folder, so parallel
// writers do not all contend for one directory).
func (d *DirOutput) Create(dir string) (OutputFile, error) {
	if err := d.mkdir(dir); err != nil {
		return nil, err
	}
	for {
		name := filepath.Join(d.Root, filepath.FromSlash(dir), ".cdnctl-tmp-"+strconv.FormatUint(d.tmpSeq.Add(1), 10))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("output: %w", err)
		}
		return &dirFile{d: d, f: f}, nil
	}
}

// WriteFile implements wholeWriter. The build folder is new and every
// name is claimed once, so the file is created under its name: no
// temporary name and rename per file (readers see the folder only once
// it is complete). A file already there (a hard link to the previous
// build's, when reusing a node failed half way) is replaced by a rename,
// never written through.
func (d *DirOutput) WriteFile(name string, data []byte) error {
	if err := d.mkdirFor(name); err != nil {
		return err
	}
	mtime, err := createFileAt(d.path(name), data)
	if errors.Is(err, fs.ErrExist) {
		return d.replace(name, data)
	}
	if err != nil {
		return fmt.Errorf("output %s: %w", name, unwrapPathError(err))
	}
	if mtime != 0 {
		d.mu.Lock()
		if d.written == nil {
			d.written = make(map[string]fileStat)
		}
		d.written[name] = fileStat{int64(len(data)), mtime}
		d.mu.Unlock()
	}
	return nil
}

// replace writes data under a temporary name and renames it to name.
func (d *DirOutput) replace(name string, data []byte) error {
	return writeOutput(d, name, data)
}

// writeOutput writes data to out as the file name, whole: a new file
// committed under its name, or nothing.
func writeOutput(out Output, name string, data []byte) error {
	f, err := out.Create(path.Dir(name))
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("output %s: %w", name, err)
	}
	return f.Commit(name)
}

func (d *DirOutput) mkdirFor(name string) error { return d.mkdir(path.Dir(name)) }

// mkdir creates the folder dir (slash-separated) and its parents.
func (d *DirOutput) mkdir(dir string) error {
	if dir == "." {
		return nil
	}
	d.mu.Lock()
	_, ok := d.madeDir[dir]
	d.mu.Unlock()
	if ok {
		return nil
	}
	if err := os.MkdirAll(filepath.Join(d.Root, filepath.FromSlash(dir)), 0o755); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	d.mu.Lock()
	if d.madeDir == nil {
		d.madeDir = make(map[string]struct{})
	}
	d.madeDir[dir] = struct{}{}
	d.mu.Unlock()
	return nil
}

// path returns the OS path of a name.
func (d *DirOutput) path(name string) string {
	return filepath.Join(d.Root, filepath.FromSlash(name))
}

// link hard-links name from the previous build, after checking that the
// file there is still the one recorded (size and modification time).
func (d *DirOutput) link(name string, size, mtime int64) bool {
	if d.prev == "" {
		return false
	}
	old := filepath.Join(d.prev, filepath.FromSlash(name))
	info, err := os.Lstat(old)
	if err != nil || !info.Mode().IsRegular() || info.Size() != size || info.ModTime().UnixNano() != mtime {
		return false
	}
	if err := d.mkdirFor(name); err != nil {
		return false
	}
	return os.Link(old, d.path(name)) == nil
}

// unchanged reports whether name in the previous build is still the file
// recorded (size and modification time).
func (d *DirOutput) unchanged(name string, size, mtime int64) bool {
	if d.prev == "" {
		return false
	}
	info, err := os.Lstat(filepath.Join(d.prev, filepath.FromSlash(name)))
	return err == nil && info.Mode().IsRegular() && info.Size() == size && info.ModTime().UnixNano() == mtime
}

// holdsOnly reports whether the previous build holds no file but the
// expected ones (cdnctl's state folder aside).
func (d *DirOutput) holdsOnly(expected map[string]bool) bool {
	if d.prev == "" {
		return false
	}
	err := filepath.WalkDir(d.prev, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(d.prev, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if e.IsDir() {
			if rel == stateDir {
				return filepath.SkipDir
			}
			return nil
		}
		if !expected[rel] {
			return errUnexpected
		}
		return nil
	})
	return err == nil
}

var errUnexpected = errors.New("unexpected file")

// stat returns the size and modification time of a written file: as
// WriteFile saw it last, or from the file system.
func (d *DirOutput) stat(name string) (size, mtime int64, ok bool) {
	d.mu.Lock()
	w, ok := d.written[name]
	d.mu.Unlock()
	if ok {
		return w.size, w.mtime, true
	}
	info, err := os.Lstat(d.path(name))
	if err != nil {
		return 0, 0, false
	}
	return info.Size(), info.ModTime().UnixNano(), true
}

type dirFile struct {
	d    *DirOutput
	f    *os.File
	done bool
}

func (f *dirFile) Write(p []byte) (int, error) { return f.f.Write(p) }

func (f *dirFile) Commit(name string) error {
	if f.done {
		return fmt.Errorf("output %s: already committed", name)
	}
	f.done = true
	tmp := f.f.Name()
	if err := f.f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("output %s: %w", name, err)
	}
	if err := f.d.mkdirFor(name); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, f.d.path(name)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("output %s: %w", name, err)
	}
	f.d.mu.Lock()
	delete(f.d.written, name) // another file now
	f.d.mu.Unlock()
	return nil
}

func (f *dirFile) Abort() error {
	if f.done {
		return nil
	}
	f.done = true
	f.f.Close()
	return os.Remove(f.f.Name())
}
