package origin

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cdnctl/cdnctl/deploystate"
	"github.com/cdnctl/cdnctl/hashing"
)

// metadata is one consistent view of the origin's index and manifest. It
// is immutable once published; Handler swaps in a new one when a stat shows
// that a source changed.
type metadata struct {
	// The FileInfos the view was built from (nil: absent).
	indexFI, manifestFI, stateFI fs.FileInfo

	index    map[string]deploystate.IndexEntry // by key
	manifest map[string]hashing.Entry          // by output path (hashing.Manifest.ByPath)
	// stateFiles are the files in the state folder, so that a symlink or a
	// hard link elsewhere in the tree cannot serve them.
	stateFiles []fs.FileInfo
}

// sameStat reports whether two stats describe the same unchanged file. An
// atomic replace (rename) gives a new inode, so it is noticed even when
// size and modification time match.
func sameStat(a, b fs.FileInfo) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// metaSource loads metadata from a root and reloads it when it changes.
type metaSource struct {
	root         *os.Root
	manifestName string
	warn         func(msg string, args ...any)

	cur atomic.Pointer[metadata]
	mu  sync.Mutex // serialises reloads
}

func statOrNil(root *os.Root, name string) fs.FileInfo {
	fi, err := root.Stat(name)
	if err != nil {
		return nil
	}
	return fi
}

// get returns the current metadata, reloading whatever changed on disk.
// It costs three stat calls per request.
func (s *metaSource) get() *metadata {
	indexFI := statOrNil(s.root, IndexName)
	manifestFI := statOrNil(s.root, s.manifestName)
	stateFI := statOrNil(s.root, StateDir)
	m := s.cur.Load()
	if m != nil && sameStat(m.indexFI, indexFI) && sameStat(m.manifestFI, manifestFI) && sameStat(m.stateFI, stateFI) {
		return m
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m = s.cur.Load(); m != nil && sameStat(m.indexFI, indexFI) && sameStat(m.manifestFI, manifestFI) && sameStat(m.stateFI, stateFI) {
		return m
	}
	next := &metadata{indexFI: indexFI, manifestFI: manifestFI, stateFI: stateFI}
	switch {
	case m != nil && sameStat(m.indexFI, indexFI):
		next.index = m.index
	case indexFI != nil:
		next.index = s.loadIndex()
	}
	switch {
	case m != nil && sameStat(m.manifestFI, manifestFI):
		next.manifest = m.manifest
	case manifestFI != nil:
		next.manifest = s.loadManifest()
	}
	next.stateFiles = s.loadStateFiles()
	s.cur.Store(next)
	return next
}

func (s *metaSource) loadIndex() map[string]deploystate.IndexEntry {
	f, err := s.root.Open(IndexName)
	if err != nil {
		s.warn("origin: metadata index unreadable; serving without it", "file", IndexName, "err", err)
		return nil
	}
	defer f.Close()
	idx, err := ReadIndex(f)
	if err != nil {
		s.warn("origin: metadata index invalid; serving without it", "file", IndexName, "err", err)
		return nil
	}
	return idx.Objects
}

func (s *metaSource) loadManifest() map[string]hashing.Entry {
	m, err := hashing.LoadManifest(s.root.FS(), s.manifestName)
	if err != nil {
		s.warn("origin: manifest invalid; serving without it", "file", s.manifestName, "err", err)
		return nil
	}
	return m.ByPath()
}

func (s *metaSource) loadStateFiles() []fs.FileInfo {
	f, err := s.root.Open(StateDir)
	if err != nil {
		return nil
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil
	}
	var out []fs.FileInfo
	for _, n := range names {
		if fi, err := s.root.Lstat(StateDir + "/" + n); err == nil && fi.Mode().IsRegular() {
			out = append(out, fi)
		}
	}
	return out
}

// isState reports whether fi is one of the state folder's files, reached
// through another name.
func (m *metadata) isState(fi fs.FileInfo) bool {
	for _, s := range m.stateFiles {
		if os.SameFile(s, fi) {
			return true
		}
	}
	return false
}

// headers is what the handler serves one file with.
type headers struct {
	contentType     string
	cacheControl    string
	contentEncoding string // stored encoding (index), not a negotiated one
	tags            []string
	extra           map[string]string
	// sha256 is the known content hash ("" = compute it); size is the size
	// it was computed for, checked against the file so a stale index
	// never yields a wrong strong ETag.
	sha256 string
	size   int64
	// codings are the precompressed siblings the manifest declares, by
	// content coding → key; nil means "look for them on disk".
	codings map[string]string
}

// lookup returns what the index, then the manifest, then the defaults say
// about key.
func (m *metadata) lookup(key, defaultCacheControl string) headers {
	h := headers{size: -1}
	if e, ok := m.manifest[key]; ok {
		if e.Path == key {
			h.contentType = e.ContentType
			h.sha256, h.size = e.SHA256, e.Size
			if len(e.Encodings) > 0 {
				h.codings = make(map[string]string, len(e.Encodings))
				for coding, enc := range e.Encodings {
					h.codings[normalizeCoding(coding)] = enc.Path
				}
			}
		} else {
			// A precompressed sibling requested by its own name: it is
			// served as the file it is (application/x-brotli), with the
			// caching policy of the entry it belongs to.
			for _, enc := range e.Encodings {
				if enc.Path == key {
					h.sha256, h.size = enc.SHA256, enc.Size
				}
			}
		}
		h.cacheControl, h.tags, h.extra = e.CacheControl, e.Tags, e.Headers
	}
	if o, ok := m.index[key]; ok {
		h.sha256, h.size = o.SHA256, o.Size
		if o.ContentType != "" {
			h.contentType = o.ContentType
		}
		if o.CacheControl != "" {
			h.cacheControl = o.CacheControl
		}
		h.contentEncoding = o.ContentEncoding
		if len(o.Tags) > 0 {
			h.tags = o.Tags
		}
		if len(o.Headers) > 0 {
			h.extra = o.Headers
		}
	}
	if h.contentType == "" {
		h.contentType = hashing.ContentType(path.Base(key))
	}
	if h.cacheControl == "" {
		h.cacheControl = defaultCacheControl
	}
	return h
}

func normalizeCoding(c string) string {
	c = strings.ToLower(c)
	if c == "x-gzip" {
		return "gzip"
	}
	return c
}

// etagCache remembers the SHA-256 of files that no index or manifest
// describes, keyed by key and checked against the file's identity, size
// and modification time.
type etagCache struct {
	mu sync.Mutex // guards m
	m  map[string]etagEntry
}

type etagEntry struct {
	fi  fs.FileInfo
	sum string
}

// maxETagCache bounds etagCache; past it the cache starts over.
const maxETagCache = 1 << 14

// sum returns the hex SHA-256 of f (whose stat is fi), from the cache when
// the file did not change.
func (c *etagCache) sum(key string, f io.ReaderAt, fi fs.FileInfo) (string, error) {
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok && sameStat(e.fi, fi) {
		return e.sum, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, fi.Size())); err != nil {
		return "", err
	}
	s := hex.EncodeToString(h.Sum(nil))
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxETagCache {
		c.m = make(map[string]etagEntry)
	}
	c.m[key] = etagEntry{fi: fi, sum: s}
	c.mu.Unlock()
	return s, nil
}

var errNotRegular = errors.New("not a regular file")
