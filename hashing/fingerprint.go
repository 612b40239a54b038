package hashing

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DirOptions are the options of Fingerprint and FingerprintDir on top of
// the build's.
type DirOptions struct {
	Options
	// Force replaces the output folder even when it holds files that a
	// previous fingerprint run did not write.
	Force bool
	// NoCache ignores the incremental cache of the previous run: every
	// file is read and written again.
	NoCache bool
	// Audit, if set, checks the output once it is written (package
	// siteaudit): it is called with the folder holding the new output (a
	// temporary sibling of the output folder, or the output folder itself
	// when nothing changed) and the result, before that folder replaces
	// the output folder. An error fails the run and leaves the output
	// folder as it was.
	Audit func(ctx context.Context, dir string, res *Result) error
	// Watch, if set, sees the output files as they are written (the
	// audit scans them so, without reading them back).
	Watch OutputWatcher
}

// OutputWatcher sees a build's output as it is written.
type OutputWatcher interface {
	// Planned is called once per run (also by a run that writes
	// nothing), before any output file is written, with
	// every name under which the manifest may list a file written under
	// another path (Manifest.Files keys whose Entry.Path differs): the
	// source files that may be renamed, and the plain names of the files
	// already fingerprinted ("app.js" of "app.3f9a1c0e2b.js").
	Planned(names []string)
	// Written is called with each output file written whole from
	// memory: its slash-separated output path and its bytes (to be
	// read during the call only). It is called from several goroutines
	// at once, and may be called again for a name written again. Files
	// it is not called with (streamed, large, or hard-linked from the
	// previous build) are to be read from the output folder.
	Written(name string, data []byte)
}

// FingerprintDir fingerprints the folder srcDir into outDir after checking
// that both make sense (see CheckPaths). Errors name files by their path
// under srcDir.
func FingerprintDir(ctx context.Context, srcDir, outDir string, opts DirOptions) (*Result, error) {
	if err := CheckPaths(srcDir, outDir); err != nil {
		return nil, err
	}
	return fingerprint(ctx, os.DirFS(srcDir), outDir, opts, srcDir, srcDir)
}

// Fingerprint builds src into the folder dir (see Build) so that a failure
// leaves dir as it was: the build is written into a temporary sibling of
// dir, which then replaces dir in one rename. Files unchanged since the
// previous run into dir (same size and modification time, and the files
// they name kept their names) are hard-linked from it instead of read and
// written again.
func Fingerprint(ctx context.Context, src fs.FS, dir string, opts DirOptions) (*Result, error) {
	return fingerprint(ctx, src, dir, opts, "", "")
}

func fingerprint(ctx context.Context, src fs.FS, dir string, opts DirOptions, label, srcDir string) (res *Result, err error) {
	if _, err := opts.compile(); err != nil {
		return nil, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("output %s: %w", dir, err)
	}
	if resolved, err := filepath.EvalSymlinks(dir); err == nil {
		dir = resolved
	}
	info, err := os.Stat(dir)
	exists := err == nil
	switch {
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("output %s: %w", dir, unwrapPathError(err))
	case exists && !info.IsDir():
		return nil, fmt.Errorf("output %s: exists and is not a folder", dir)
	}
	manifest := opts.ManifestName
	if manifest == "" {
		manifest = DefaultManifestName
	}
	if exists && !opts.Force && !writtenByFingerprint(dir, manifest) {
		return nil, fmt.Errorf("output %s: the folder holds files that cdnctl fingerprint did not write, and it would be replaced; empty it or force", dir)
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("output %s: %w", dir, unwrapPathError(err))
	}
	staging, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".cdnctl-new-")
	if err != nil {
		return nil, fmt.Errorf("output %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(staging)
		}
	}()
	if err := os.Chmod(staging, 0o755); err != nil {
		return nil, fmt.Errorf("output %s: %w", dir, err)
	}
	out := NewDirOutput(staging)
	env := buildEnv{label: label, srcDir: srcDir, watch: opts.Watch}
	if exists && !opts.NoCache {
		env.loadPrev = func() *cacheFile {
			c := loadCache(dir, opts.Options)
			if c != nil {
				out.prev = dir
			}
			return c
		}
	}
	b, res, err := buildWith(ctx, src, out, opts.Options, env)
	if err != nil {
		return nil, err
	}
	if b.unchanged {
		// dir already holds this build; only the manifests may differ
		// (rules do not change files). Each is replaced atomically.
		os.RemoveAll(staging)
		if opts.Audit != nil {
			if err := opts.Audit(ctx, dir, res); err != nil {
				return nil, err
			}
		}
		files, err := b.manifestFiles(res.Manifest)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			if err := replaceFile(dir, f.name, f.data); err != nil {
				return nil, fmt.Errorf("output %s: %w", dir, err)
			}
		}
		return res, nil
	}
	// The cache is written while the audit runs: both only read the
	// output, but for their own files (the cache's, and the audit's
	// record of its pass, in the state folder).
	cached := make(chan error, 1)
	go func() {
		c, err := b.newCache(opts.Options)
		if err == nil {
			err = writeCache(staging, c)
		}
		cached <- err
	}()
	var auditErr error
	if opts.Audit != nil {
		auditErr = opts.Audit(ctx, staging, res)
	}
	cacheErr := <-cached
	if auditErr != nil {
		return nil, auditErr
	}
	if cacheErr != nil {
		return nil, cacheErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !exists {
		if err := os.Rename(staging, dir); err != nil {
			return nil, fmt.Errorf("output %s: %w", dir, err)
		}
		return res, nil
	}
	old, err := swapDirs(staging, dir)
	if err != nil {
		return nil, fmt.Errorf("output %s: %w", dir, err)
	}
	if err := os.RemoveAll(old); err != nil {
		return res, fmt.Errorf("output %s: remove the previous output %s: %w", dir, old, err)
	}
	return res, nil
}

// replaceFile writes data to name in dir unless it already holds it, with
// a rename so readers see the old or the new file, never a part.
func replaceFile(dir, name string, data []byte) error {
	p := filepath.Join(dir, filepath.FromSlash(name))
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".cdnctl-tmp-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr, os.Chmod(tmp.Name(), 0o644)); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

// swapDirs puts the folder staging in place of dir and returns where the
// previous dir now is (to be removed).
func swapDirs(staging, dir string) (old string, err error) {
	if exchangeDirs(staging, dir) == nil {
		return staging, nil
	}
	old = strings.TrimSuffix(staging, string(filepath.Separator)) + ".old"
	if err := os.Rename(dir, old); err != nil {
		return "", err
	}
	if err := os.Rename(staging, dir); err != nil {
		if rerr := os.Rename(old, dir); rerr != nil {
			return "", fmt.Errorf("%w (and restoring the previous output failed: it is in %s)", err, old)
		}
		return "", err
	}
	return old, nil
}

// CheckPaths checks the folders of a fingerprint run: srcDir must be a
// folder, and outDir (which is replaced) must be neither srcDir, inside it,
// nor around it.
func CheckPaths(srcDir, outDir string) error {
	if err := CheckSource(srcDir); err != nil {
		return err
	}
	src, err := realPath(srcDir)
	if err != nil {
		return fmt.Errorf("source %s: %w", srcDir, err)
	}
	out, err := realPath(outDir)
	if err != nil {
		return fmt.Errorf("output %s: %w", outDir, err)
	}
	switch {
	case src == out:
		return fmt.Errorf("output %s is the source folder: choose another output folder", outDir)
	case within(out, src):
		return fmt.Errorf("output %s is inside the source folder %s: choose a folder outside it", outDir, srcDir)
	case within(src, out):
		return fmt.Errorf("source %s is inside the output folder %s, which is replaced: choose another output folder", srcDir, outDir)
	}
	return nil
}

// CheckSource checks that srcDir is a folder.
func CheckSource(srcDir string) error {
	info, err := os.Stat(srcDir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("source %s: no such folder", srcDir)
	case err != nil:
		return fmt.Errorf("source %s: %w", srcDir, unwrapPathError(err))
	case !info.IsDir():
		return fmt.Errorf("source %s: not a folder", srcDir)
	}
	return nil
}

// realPath returns p absolute with symbolic links resolved, for the part
// of it that exists.
func realPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	rest := ""
	for cur := abs; ; {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(r, rest), nil
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return abs, nil
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}

// within reports whether p is strictly inside dir.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
