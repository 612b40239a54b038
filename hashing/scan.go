package hashing

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
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
// following symbolic links. skip reports paths (files, or folders ending
// in "/") to leave out. Every error names the path: unreadable folders,
// symbolic link loops, broken links, special files and names that are not
// UTF-8.
func walkSource(ctx context.Context, fsys fs.FS, label string, skip func(name string, dir bool) bool) ([]srcFile, error) {
	var files []srcFile
	type ancestor struct {
		id   fileID
		name string
	}
	var walk func(dir string, ancestors []ancestor, linkDepth int) error
	walk = func(dir string, ancestors []ancestor, linkDepth int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		entries, err := fs.ReadDir(fsys, dir)
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
				info, err = fs.Stat(fsys, p)
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
				if skip(p, true) {
					continue
				}
				if info == nil {
					if info, err = fs.Stat(fsys, p); err != nil {
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
					next = append(ancestors[:len(ancestors):len(ancestors)], ancestor{id: id, name: p})
				}
				if err := walk(p, next, depth); err != nil {
					return err
				}
			case mode.IsRegular():
				if skip(p, false) {
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
				files = append(files, srcFile{logical: p, size: info.Size(), mtime: mtime})
			default:
				return fmt.Errorf("%s: not a regular file or folder (%s)", displayPath(label, p), mode)
			}
		}
		return nil
	}
	var root []ancestor
	if info, err := fs.Stat(fsys, "."); err == nil {
		if id, ok := identity(info); ok {
			root = append(root, ancestor{id: id, name: "."})
		}
	}
	if err := walk(".", root, 0); err != nil {
		return nil, err
	}
	// ReadDir sorts each folder, but "a/b" and "a.css" interleave
	// differently in a full sort: sort the logical paths.
	sortFiles(files)
	return files, nil
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
