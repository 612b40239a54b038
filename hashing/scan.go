package hashing

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"unicode/utf8"
)

// srcFile is a regular file found in the source tree.
type srcFile struct {
	logical string
	size    int64
	mtime   int64 // Unix nanoseconds; 0 when the file system has none (embed.FS)
}

// maxSymlinkDirs bounds how many symlinked folders a path may cross where
// the file system cannot tell a folder's identity (the Linux kernel allows
// 40 links in one lookup).
const maxSymlinkDirs = 40

// walkSource lists the regular files of fsys, sorted by logical path,
// following symbolic links, and the paths skip leaves out with a reason
// (in the order of a depth-first walk of the folders, each in name order).
// skip reports paths (files, or folders ending in "/") to leave out, and
// why ("": silently); it is called from several goroutines. Every error
// names the path: unreadable folders, symbolic link loops, broken links,
// special files and names that are not UTF-8; when there are several, the
// first in that order.
//
// Folders are read on several goroutines (a folder read and a file stat
// each cost a system call, and a site has thousands of files).
func walkSource(ctx context.Context, fsys fs.FS, label string, skip func(name string, dir bool) (bool, string)) ([]srcFile, []Skipped, error) {
	w := &sourceWalk{ctx: ctx, fsys: fsys, label: label, skip: skip, sem: make(chan struct{}, 2*runtime.GOMAXPROCS(0))}
	var root []walkAncestor
	if info, err := fs.Stat(fsys, "."); err == nil {
		if id, ok := identity(info); ok {
			root = append(root, walkAncestor{id: id, name: "."})
		}
	}
	top := &walkedDir{}
	top.err = w.dir(top, ".", root, 0)
	w.wg.Wait()
	var (
		files   []srcFile
		skipped []Skipped
	)
	if err := top.flatten(&files, &skipped); err != nil {
		return nil, nil, err
	}
	// ReadDir sorts each folder, but "a/b" and "a.css" interleave
	// differently in a full sort: sort the logical paths.
	sortFiles(files)
	return files, skipped, nil
}

type walkAncestor struct {
	id   fileID
	name string
}

// sourceWalk is one walkSource.
type sourceWalk struct {
	ctx   context.Context
	fsys  fs.FS
	label string
	skip  func(name string, dir bool) (bool, string)
	sem   chan struct{} // a slot per folder read on its own goroutine
	wg    sync.WaitGroup
}

// walkedDir is what the walk found in one folder, in the order of its
// entries: files, skipped paths, subfolders (each walked into its own
// walkedDir), and the error that ended it, if any.
type walkedDir struct {
	files []srcFile
	steps []walkStep
	err   error
}

// walkStep is a skipped path or a subfolder, in entry order.
type walkStep struct {
	skipped *Skipped
	sub     *walkedDir
}

// flatten appends the files and skipped paths of d and its subfolders,
// depth first, and returns the first error in that order.
func (d *walkedDir) flatten(files *[]srcFile, skipped *[]Skipped) error {
	*files = append(*files, d.files...)
	for _, st := range d.steps {
		if st.skipped != nil {
			*skipped = append(*skipped, *st.skipped)
			continue
		}
		if err := st.sub.flatten(files, skipped); err != nil {
			return err
		}
	}
	return d.err
}

// dir walks the folder dir into d (its error is d's to keep), and its
// subfolders on other goroutines while there are free slots.
func (w *sourceWalk) dir(d *walkedDir, dir string, ancestors []walkAncestor, linkDepth int) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	label := w.label
	entries, err := fs.ReadDir(w.fsys, dir)
	if err != nil {
		return fmt.Errorf("read folder %s: %w", displayPath(label, dir), unwrapPathError(err))
	}
	for _, e := range entries {
		name := e.Name()
		p := name
		if dir != "." {
			p = dir + "/" + name
		}
		if !utf8.ValidString(name) {
			return fmt.Errorf("%q: file name is not valid UTF-8 (URLs and the manifest need UTF-8 names); rename it", displayPath(label, p))
		}
		mode := e.Type()
		var info fs.FileInfo
		isLink := mode&fs.ModeSymlink != 0
		if isLink {
			info, err = fs.Stat(w.fsys, p)
			if err != nil {
				if errors.Is(err, syscall.ELOOP) {
					return fmt.Errorf("%s: symbolic link loop", displayPath(label, p))
				}
				if errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("%s: broken symbolic link (its target does not exist)", displayPath(label, p))
				}
				return fmt.Errorf("%s: %w", displayPath(label, p), unwrapPathError(err))
			}
			mode = info.Mode().Type()
		}
		switch {
		case mode.IsDir():
			if skip, reason := w.skip(p, true); skip {
				if reason != "" {
					d.steps = append(d.steps, walkStep{skipped: &Skipped{p + "/", reason}})
				}
				continue
			}
			if info == nil {
				if info, err = fs.Stat(w.fsys, p); err != nil {
					return fmt.Errorf("%s: %w", displayPath(label, p), unwrapPathError(err))
				}
			}
			id, hasID := identity(info)
			depth := linkDepth
			if isLink {
				depth++
				if hasID {
					for _, a := range ancestors {
						if a.id == id {
							return fmt.Errorf("%s: symbolic link loop (it points back to %s)", displayPath(label, p), displayPath(label, a.name))
						}
					}
				} else if depth > maxSymlinkDirs {
					return fmt.Errorf("%s: symbolic link loop (more than %d linked folders deep)", displayPath(label, p), maxSymlinkDirs)
				}
			}
			next := ancestors
			if hasID {
				next = append(ancestors[:len(ancestors):len(ancestors)], walkAncestor{id: id, name: p})
			}
			sub := &walkedDir{}
			d.steps = append(d.steps, walkStep{sub: sub})
			select {
			case w.sem <- struct{}{}:
				w.wg.Go(func() {
					defer func() { <-w.sem }()
					sub.err = w.dir(sub, p, next, depth)
				})
			default:
				sub.err = w.dir(sub, p, next, depth)
			}
		case mode.IsRegular():
			if skip, reason := w.skip(p, false); skip {
				if reason != "" {
					d.steps = append(d.steps, walkStep{skipped: &Skipped{p, reason}})
				}
				continue
			}
			if info == nil {
				if info, err = e.Info(); err != nil {
					return fmt.Errorf("%s: %w", displayPath(label, p), unwrapPathError(err))
				}
			}
			var mtime int64
			if t := info.ModTime(); !t.IsZero() {
				mtime = t.UnixNano()
			}
			d.files = append(d.files, srcFile{logical: p, size: info.Size(), mtime: mtime})
		default:
			return fmt.Errorf("%s: not a regular file or folder (%s)", displayPath(label, p), mode)
		}
	}
	return nil
}

func sortFiles(files []srcFile) {
	slices.SortFunc(files, func(a, b srcFile) int { return strings.Compare(a.logical, b.logical) })
}

// displayPath names a logical path for people: under the label of the
// source (its folder) when there is one.
func displayPath(label, logical string) string {
	if label == "" {
		return logical
	}
	if logical == "." {
		return label
	}
	return path.Join(label, logical)
}

// unwrapPathError drops the *fs.PathError wrapper (whose path is relative
// to the file system) so the message names the path once, as we spell it.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
