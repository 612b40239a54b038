package providers

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"

	"github.com/cdnctl/cdnctl/dotfile"
	"github.com/cdnctl/cdnctl/hashing"
)

// Default Cache-Control values for files a manifest does not describe.
const (
	CacheControlImmutable  = "public, max-age=31536000, immutable"
	CacheControlEntryPoint = "public, max-age=0, must-revalidate"
	CacheControlDefault    = "public, max-age=300"
)

// Precompressed modes: what push does with precompressed siblings
// ("app.css.br" next to "app.css").
const (
	// PrecompressedSiblings stores them as their own keys with
	// Content-Encoding set; the edge or origin picks one per request.
	PrecompressedSiblings = "siblings"
	// PrecompressedNone does not upload them.
	PrecompressedNone = "none"
	// PrecompressedGzip and PrecompressedBrotli store that encoding's body
	// at the original key with Content-Encoding set (for plain S3 hosting,
	// which cannot negotiate); the siblings themselves are not uploaded.
	PrecompressedGzip   = "gzip"
	PrecompressedBrotli = "br"
)

// ValidPrecompressed reports whether mode is one of the Precompressed
// modes (or empty, meaning the default).
func ValidPrecompressed(mode string) bool {
	switch mode {
	case "", PrecompressedSiblings, PrecompressedNone, PrecompressedGzip, PrecompressedBrotli:
		return true
	}
	return false
}

// DefaultExcludes returns the globs of files never uploaded.
func DefaultExcludes() []string {
	return []string{".git/", ".hg/", ".svn/", StateDir + "/", ".DS_Store", "Thumbs.db"}
}

// HeaderRule sets headers on the files it matches, over what the manifest
// or the defaults say. The first matching rule wins; empty fields leave
// the value alone.
type HeaderRule struct {
	Match        *hashing.Glob
	CacheControl string
	ContentType  string
	Tags         []string
	Headers      map[string]string
	// Precompressed overrides ScanOptions.Precompressed for these files.
	Precompressed string
}

// ScanOptions tune ScanDir.
type ScanOptions struct {
	// Manifest is the fingerprint manifest's name in the folder
	// (hashing.DefaultManifestName if empty). It is read when present.
	Manifest string
	// NoManifest ignores any manifest: every file gets default headers.
	NoManifest bool
	// Exclude lists globs of files not to upload, besides DefaultExcludes.
	Exclude hashing.Globs
	// EntryPoints are the globs that get CacheControlEntryPoint by
	// default (DefaultEntryPoints if nil).
	EntryPoints hashing.Globs
	Rules       []HeaderRule
	// Precompressed is one of the Precompressed modes ("" = siblings).
	Precompressed string
	// Concurrency bounds parallel hashing (GOMAXPROCS if 0).
	Concurrency int
	// AllowDotfiles names the dotfiles uploaded anyway; the others
	// (package dotfile: ".env", ".npmrc", hidden folders, but not
	// ".well-known/") are left out and listed in LocalSet.SkippedDotfiles.
	AllowDotfiles hashing.Globs
	// TagHeaders are response headers the configured CDNs read cache tags
	// from (Surrogate-Key for Fastly, Edge-Cache-Tag for Akamai): every
	// tagged file gets each of them in its metadata, its tags joined by
	// the header's separator, unless a rule or the manifest sets that
	// header itself. An S3 origin serves them as x-amz-meta-<name>.
	TagHeaders []TagHeader
	// CheckTags, if set, is called with the tags of each tagged file;
	// its error refuses the scan, naming the file (a tag a configured CDN
	// cannot match, too many tags for one object).
	CheckTags func(tags []string) error
}

// TagHeader is a response header that carries cache tags to a CDN.
type TagHeader struct {
	Name string // canonical header name: "Surrogate-Key"
	Sep  string // between tags: " " for Surrogate-Key, ", " for Edge-Cache-Tag
}

// LocalSet is a folder ready to push.
type LocalSet struct {
	Dir   string
	Files []*LocalFile // sorted by key
	// Manifest is the fingerprint manifest read from the folder, if any,
	// and ManifestDigest its "sha256:<hex>".
	Manifest       *hashing.Manifest
	ManifestDigest string
	// Warnings are problems that did not stop the scan (a manifest hash
	// that does not match the file).
	Warnings []string
	// SkippedDotfiles are the dotfiles and hidden folders left out (not
	// allowed by ScanOptions.AllowDotfiles), sorted.
	SkippedDotfiles []SkippedDotfile
}

// SkippedDotfile is a dotfile, or a hidden folder, that is not uploaded.
type SkippedDotfile struct {
	// Path is the file's key, or the hidden folder's with a trailing "/".
	Path string `json:"path"`
	// Files is the number of files left out (1 for a file).
	Files int `json:"files"`
}

// scanned is one regular file found by the walk.
type scanned struct {
	key, path string
	size      int64
	sha256    string
	md5       string // only for files of at least md5InScan bytes
	modTime   time.Time
}

// ScanDir describes every file under dir as a LocalFile: hashes (always
// computed from the bytes; a manifest's hash is checked, never trusted),
// headers from the fingerprint manifest when there is one, else from the
// content-type table and default Cache-Control, then from opts.Rules.
func ScanDir(ctx context.Context, dir string, opts ScanOptions) (*LocalSet, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("scan %s: not a directory", dir)
	}
	if !ValidPrecompressed(opts.Precompressed) {
		return nil, fmt.Errorf("scan: precompressed mode %q: want siblings, none, gzip or br", opts.Precompressed)
	}
	excludes, _ := hashing.CompileGlobs(DefaultExcludes())
	excludes = append(excludes, opts.Exclude...)
	entryPoints := opts.EntryPoints
	if entryPoints == nil {
		entryPoints, _ = hashing.CompileGlobs(DefaultEntryPoints())
	}

	files, hidden, err := walk(dir, excludes, opts.AllowDotfiles)
	if err != nil {
		return nil, err
	}
	if err := hashAll(ctx, files, opts.Concurrency); err != nil {
		return nil, err
	}
	byKey := make(map[string]*scanned, len(files))
	for _, f := range files {
		byKey[f.key] = f
	}

	set := &LocalSet{Dir: dir, SkippedDotfiles: groupHidden(hidden)}
	if !opts.NoManifest {
		name := opts.Manifest
		if name == "" {
			name = hashing.DefaultManifestName
		}
		if mf, ok := byKey[filepath.ToSlash(name)]; ok {
			m, err := hashing.LoadManifest(os.DirFS(dir), filepath.ToSlash(name))
			if err != nil {
				return nil, fmt.Errorf("scan %s: %w", dir, err)
			}
			set.Manifest = m
			set.ManifestDigest = "sha256:" + mf.sha256
		}
	}

	// Describe every file: its headers, and which files are precompressed
	// siblings of which.
	desc := make(map[string]*LocalFile, len(files))
	siblings := map[string]map[string]string{} // primary key → encoding → sibling key
	if m := set.Manifest; m != nil {
		for _, logical := range m.LogicalPaths() {
			e := m.Files[logical]
			f, ok := byKey[e.Path]
			if !ok && dotfile.Denied(e.Path, opts.AllowDotfiles) {
				continue // listed in SkippedDotfiles
			}
			if !ok {
				return nil, fmt.Errorf("scan %s: manifest names %q (for %q) but the file does not exist", dir, e.Path, logical)
			}
			desc[e.Path] = manifestFile(f, e, "", e.SHA256, &set.Warnings)
			for enc, ee := range e.Encodings {
				sf, ok := byKey[ee.Path]
				if !ok && dotfile.Denied(ee.Path, opts.AllowDotfiles) {
					continue
				}
				if !ok {
					return nil, fmt.Errorf("scan %s: manifest names %q (%s of %q) but the file does not exist", dir, ee.Path, enc, logical)
				}
				desc[ee.Path] = manifestFile(sf, e, enc, ee.SHA256, &set.Warnings)
				addSibling(siblings, e.Path, enc, ee.Path)
			}
		}
	}
	// Files the manifest does not describe: defaults. Primaries first so
	// that siblings found by name inherit their headers.
	var pending []*scanned
	for _, f := range files {
		if _, ok := desc[f.key]; ok {
			continue
		}
		if primary, _ := siblingByName(f.key); primary != "" && byKey[primary] != nil {
			pending = append(pending, f)
			continue
		}
		desc[f.key] = defaultFile(f, entryPoints)
	}
	sort.Slice(pending, func(i, j int) bool { return len(pending[i].key) < len(pending[j].key) })
	for _, f := range pending {
		primary, enc := siblingByName(f.key)
		p := desc[primary]
		if p == nil || p.Meta.ContentEncoding != "" {
			// A sibling of a sibling ("a.gz.br"): an ordinary file.
			desc[f.key] = defaultFile(f, entryPoints)
			continue
		}
		lf := fileFromScan(f)
		lf.Meta = p.Meta
		lf.Meta.ContentEncoding = enc
		lf.Fingerprinted = p.Fingerprinted
		desc[f.key] = lf
		addSibling(siblings, primary, enc, f.key)
	}

	// Rules, on logical keys, so a sibling follows its primary.
	modes := map[string]string{}
	for _, lf := range desc {
		logical := logicalKey(lf)
		for _, r := range opts.Rules {
			if !r.Match.Match(logical) {
				continue
			}
			applyRule(lf, r)
			if r.Precompressed != "" && lf.Meta.ContentEncoding == "" {
				modes[lf.Key] = r.Precompressed
			}
			break
		}
	}

	// Tags: checked against the CDNs' rules, and copied into the headers
	// the CDNs read them from.
	keys := make([]string, 0, len(desc))
	for k := range desc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		lf := desc[k]
		if len(lf.Meta.Tags) == 0 {
			continue
		}
		if opts.CheckTags != nil {
			if err := opts.CheckTags(lf.Meta.Tags); err != nil {
				return nil, fmt.Errorf("scan %s: %s: %w", dir, lf.Key, err)
			}
		}
		for _, th := range opts.TagHeaders {
			if _, set := lf.Meta.Headers[th.Name]; set {
				continue
			}
			h := make(map[string]string, len(lf.Meta.Headers)+1)
			for k, v := range lf.Meta.Headers {
				h[k] = v
			}
			h[th.Name] = strings.Join(lf.Meta.Tags, th.Sep)
			lf.Meta.Headers = h
		}
	}

	// Precompression mode: drop or swap siblings.
	drop := map[string]bool{}
	for primary, encs := range siblings {
		mode := opts.Precompressed
		if m, ok := modes[primary]; ok {
			mode = m
		}
		switch mode {
		case "", PrecompressedSiblings:
			continue
		case PrecompressedNone:
		case PrecompressedGzip, PrecompressedBrotli:
			if sk, ok := encs[mode]; ok {
				p, s := desc[primary], desc[sk]
				p.Path, p.SHA256, p.Size, p.ModTime, p.Open, p.MD5 = s.Path, s.SHA256, s.Size, s.ModTime, s.Open, s.MD5
				p.Meta.ContentEncoding = mode
			}
		default:
			return nil, fmt.Errorf("scan: precompressed mode %q for %s: want siblings, none, gzip or br", mode, primary)
		}
		for _, sk := range encs {
			drop[sk] = true
		}
	}

	for k, lf := range desc {
		if drop[k] {
			continue
		}
		set.Files = append(set.Files, lf)
	}
	sort.Slice(set.Files, func(i, j int) bool { return set.Files[i].Key < set.Files[j].Key })
	sort.Strings(set.Warnings)
	return set, nil
}

func addSibling(m map[string]map[string]string, primary, enc, key string) {
	if m[primary] == nil {
		m[primary] = map[string]string{}
	}
	m[primary][enc] = key
}

// siblingByName returns the primary key and content coding of a
// precompressed file named like "app.css.br" or "app.css.gz".
func siblingByName(key string) (primary, encoding string) {
	switch {
	case strings.HasSuffix(key, ".br"):
		return strings.TrimSuffix(key, ".br"), "br"
	case strings.HasSuffix(key, ".gz"):
		return strings.TrimSuffix(key, ".gz"), "gzip"
	case strings.HasSuffix(key, ".zst"):
		return strings.TrimSuffix(key, ".zst"), "zstd"
	}
	return "", ""
}

func fileFromScan(f *scanned) *LocalFile {
	p := f.path
	return &LocalFile{
		Key:     f.key,
		Path:    p,
		SHA256:  f.sha256,
		Size:    f.size,
		ModTime: f.modTime,
		Open:    func() (io.ReadSeekCloser, error) { return os.Open(p) },
		MD5: sync.OnceValues(func() (string, error) {
			if f.md5 != "" {
				return f.md5, nil
			}
			return md5Of(func() (io.ReadSeekCloser, error) { return os.Open(p) })
		}),
	}
}

func manifestFile(f *scanned, e hashing.Entry, enc, manifestSHA string, warnings *[]string) *LocalFile {
	lf := fileFromScan(f)
	lf.Fingerprinted = e.Fingerprinted
	lf.Meta = Metadata{
		ContentType:     e.ContentType,
		CacheControl:    e.CacheControl,
		ContentEncoding: enc,
		Tags:            e.Tags,
		Headers:         e.Headers,
	}
	if lf.Meta.ContentType == "" {
		lf.Meta.ContentType = hashing.ContentType(e.Path)
	}
	if lf.Meta.CacheControl == "" {
		lf.Meta.CacheControl = CacheControlDefault
		if e.Fingerprinted {
			lf.Meta.CacheControl = CacheControlImmutable
		}
	}
	lf.Meta = lf.Meta.Normalize()
	if manifestSHA != "" && !strings.EqualFold(manifestSHA, f.sha256) {
		*warnings = append(*warnings, fmt.Sprintf("%s: manifest says sha256 %.12s…, the file has %.12s… (the file wins)", f.key, manifestSHA, f.sha256))
	}
	return lf
}

func defaultFile(f *scanned, entryPoints hashing.Globs) *LocalFile {
	lf := fileFromScan(f)
	lf.Meta.ContentType = hashing.ContentType(f.key)
	switch {
	case fingerprintedName(f.key):
		lf.Fingerprinted = true
		lf.Meta.CacheControl = CacheControlImmutable
	case entryPoints.Match(f.key):
		lf.Meta.CacheControl = CacheControlEntryPoint
	default:
		lf.Meta.CacheControl = CacheControlDefault
	}
	return lf
}

func applyRule(lf *LocalFile, r HeaderRule) {
	if r.CacheControl != "" {
		lf.Meta.CacheControl = r.CacheControl
	}
	if r.ContentType != "" {
		lf.Meta.ContentType = r.ContentType
	}
	if len(r.Tags) > 0 {
		lf.Meta.Tags = append(append([]string(nil), lf.Meta.Tags...), r.Tags...)
	}
	if len(r.Headers) > 0 {
		h := make(map[string]string, len(lf.Meta.Headers)+len(r.Headers))
		for k, v := range lf.Meta.Headers {
			h[k] = v
		}
		for k, v := range r.Headers {
			h[k] = v
		}
		lf.Meta.Headers = h
	}
	lf.Meta = lf.Meta.Normalize()
}

// walk lists the regular files under dir (following symlinks to files,
// not to directories), skipping excluded ones and, listed in hidden, the
// dotfiles allow does not name.
func walk(dir string, excludes, allow hashing.Globs) (files []*scanned, hidden []string, err error) {
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("scan %s: %w", p, err)
		}
		if p == dir {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !utf8.ValidString(key) {
			return fmt.Errorf("scan %s: file name is not valid UTF-8", p)
		}
		if d.IsDir() {
			// A directory is skipped when its contents would all be.
			if excludes.Match(key + "/\x00") {
				return filepath.SkipDir
			}
			return nil
		}
		if excludes.Match(key) {
			return nil
		}
		if dotfile.Denied(key, allow) {
			hidden = append(hidden, key)
			return nil
		}
		info, err := os.Stat(p) // follows symlinks
		if err != nil {
			return fmt.Errorf("scan %s: %w", p, err)
		}
		if !info.Mode().IsRegular() {
			if d.Type()&fs.ModeSymlink != 0 && info.IsDir() {
				return nil // symlinked directories are not followed
			}
			return fmt.Errorf("scan %s: not a regular file", p)
		}
		if err := ValidateKey(key); err != nil {
			return fmt.Errorf("scan %s: %w", p, err)
		}
		files = append(files, &scanned{key: key, path: p, size: info.Size(), modTime: info.ModTime()})
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return files, hidden, nil
}

// groupHidden turns the keys of dotfiles left out into the list people
// read: a file in a hidden folder is counted under the outermost one
// (".cache/" with 1,204 files), other dotfiles are listed by name.
func groupHidden(keys []string) []SkippedDotfile {
	byPath := map[string]int{}
	for _, k := range keys {
		p, prefix := k, ""
		for seg := range strings.SplitSeq(k, "/") {
			if prefix+seg != k && dotfile.Hidden(prefix+seg+"/") {
				p = prefix + seg + "/"
				break
			}
			prefix += seg + "/"
		}
		byPath[p]++
	}
	out := make([]SkippedDotfile, 0, len(byPath))
	for p, n := range byPath {
		out = append(out, SkippedDotfile{Path: p, Files: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// hashAll computes every file's SHA-256 with bounded parallelism.
func hashAll(ctx context.Context, files []*scanned, concurrency int) error {
	if concurrency <= 0 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(concurrency)
	pool := sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}
	for _, f := range files {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			buf := pool.Get().(*[]byte)
			defer pool.Put(buf)
			sum, md5sum, n, err := hashFile(f.path, *buf)
			if err != nil {
				return fmt.Errorf("scan %s: %w", f.path, err)
			}
			f.sha256, f.md5, f.size = sum, md5sum, n
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

// md5InScan is the size from which the scan also computes a file's MD5,
// in the same read as the SHA-256: stores write it with multipart uploads
// (S3's smallest part is 5 MiB, so smaller files never go multipart), and
// computing it later would read the file once more.
const md5InScan = 5 << 20

// hashFile returns p's SHA-256, its MD5 when p has at least md5InScan
// bytes (else ""), and its size, in one read.
func hashFile(p string, buf []byte) (sha, md5sum string, n int64, err error) {
	r, err := os.Open(p)
	if err != nil {
		return "", "", 0, err
	}
	defer r.Close()
	h := sha256.New()
	var w io.Writer = h
	var m hash.Hash
	if st, err := r.Stat(); err == nil && st.Size() >= md5InScan {
		m = md5.New()
		w = io.MultiWriter(h, m)
	}
	n, err = io.CopyBuffer(w, r, buf)
	if err != nil {
		return "", "", 0, err
	}
	if m != nil && n >= md5InScan {
		md5sum = hex.EncodeToString(m.Sum(nil))
	}
	return hex.EncodeToString(h.Sum(nil)), md5sum, n, nil
}
