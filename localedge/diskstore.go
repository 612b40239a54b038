package localedge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// DiskStore is a Store that survives restarts: each body is a file under
// Dir/bodies, and a bbolt database (Dir/index.db) holds every key's
// variants (headers, times, tags). The metadata of every key is also kept
// in memory, so lookups, listings and purges never touch the disk. Bodies
// are streamed from their files (with sendfile; the OS page cache keeps
// hot ones), except small ones (up to 64 KiB), served from a small
// in-memory cache of recently used bodies.
//
// Writes to the database are not synced one by one: Close (on graceful
// shutdown) syncs them. After a crash, an index that does not open is set
// aside and the cache starts empty.
type DiskStore struct {
	dir      string
	db       *bbolt.DB
	capacity int64
	log      *slog.Logger
	hot      *otter.Cache[string, *memBody] // file name → small body
	onEvict  atomic.Pointer[func(string, []*Entry)]

	mu    sync.RWMutex
	keys  map[string]*diskObject // guarded by mu
	bytes int64                  // guarded by mu
}

// diskObject is one key's variants on disk.
type diskObject struct {
	variants []*Entry // bodies on disk
	files    []string
	size     int64
	used     atomic.Int64 // unix nanoseconds of the last Get
}

// DiskStoreOptions configure OpenDiskStore.
type DiskStoreOptions struct {
	// Capacity bounds the bytes stored (as counted by Entry.Size); the
	// least recently used keys are evicted beyond it. Default 1 GiB.
	Capacity int64
	// HotCapacity bounds the in-memory cache of small bodies (up to 64
	// KiB each). Default: a quarter of Capacity, at most 64 MiB.
	HotCapacity int64
	Logger      *slog.Logger
}

var bucketEntries = []byte("entries")

// diskRecord is how a key's variants are persisted.
type diskRecord struct {
	Key      string        `json:"key"`
	Variants []diskVariant `json:"variants"`
}

type diskVariant struct {
	File          string      `json:"file"`
	Size          int64       `json:"size"`
	URL           string      `json:"url"`
	Host          string      `json:"host"`
	Path          string      `json:"path"`
	Status        int         `json:"status"`
	Header        http.Header `json:"header"`
	Vary          []VaryValue `json:"vary,omitempty"`
	RequestTime   time.Time   `json:"request_time"`
	ResponseTime  time.Time   `json:"response_time"`
	StoredAt      time.Time   `json:"stored_at"`
	Tags          []string    `json:"tags,omitempty"`
	InvalidatedAt time.Time   `json:"invalidated_at,omitzero"`
}

// OpenDiskStore opens (creating if needed) a disk store in dir and loads
// its index.
func OpenDiskStore(dir string, opts DiskStoreOptions) (*DiskStore, error) {
	if opts.Capacity <= 0 {
		opts.Capacity = 1 << 30
	}
	if opts.HotCapacity <= 0 {
		opts.HotCapacity = min(opts.Capacity/4, 64<<20)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Join(dir, "bodies"), 0o755); err != nil {
		return nil, fmt.Errorf("disk cache: %w", err)
	}
	s := &DiskStore{dir: dir, capacity: opts.Capacity, log: opts.Logger, keys: make(map[string]*diskObject)}
	s.hot = otter.Must(&otter.Options[string, *memBody]{
		MaximumWeight: uint64(opts.HotCapacity),
		Weigher: func(_ string, b *memBody) uint32 {
			return uint32(min(b.size+64, math.MaxUint32))
		},
	})
	dbPath := filepath.Join(dir, "index.db")
	db, err := bbolt.Open(dbPath, 0o644, &bbolt.Options{Timeout: time.Second, NoSync: true, NoFreelistSync: true})
	if err != nil && !errors.Is(err, bolterrors.ErrTimeout) {
		// A database left broken by a crash: set it aside, start empty.
		aside := dbPath + ".broken-" + time.Now().UTC().Format("20060102T150405")
		s.log.Warn("disk cache index unreadable; starting empty", "path", dbPath, "moved_to", aside, "err", err)
		if rerr := os.Rename(dbPath, aside); rerr == nil {
			db, err = bbolt.Open(dbPath, 0o644, &bbolt.Options{Timeout: time.Second, NoSync: true, NoFreelistSync: true})
		}
	}
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("disk cache %s: in use by another process", dir)
		}
		return nil, fmt.Errorf("disk cache %s: %w", dir, err)
	}
	s.db = db
	if err := s.load(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// load reads the index into memory and removes body files it does not
// reference (left by a crash between writing a file and its record).
func (s *DiskStore) load() error {
	referenced := map[string]bool{}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketEntries)
		if err != nil {
			return err
		}
		var bad [][]byte
		err = b.ForEach(func(k, v []byte) error {
			var rec diskRecord
			if err := json.Unmarshal(v, &rec); err != nil || rec.Key != string(k) {
				bad = append(bad, slices.Clone(k))
				return nil
			}
			obj := &diskObject{}
			for _, dv := range rec.Variants {
				if _, err := os.Stat(s.bodyPath(dv.File)); err != nil {
					continue // body missing: drop the variant
				}
				e := &Entry{Key: rec.Key, URL: dv.URL, Host: dv.Host, Path: dv.Path, Status: dv.Status, Header: dv.Header,
					Vary: dv.Vary, RequestTime: dv.RequestTime, ResponseTime: dv.ResponseTime, StoredAt: dv.StoredAt,
					Tags: dv.Tags, InvalidatedAt: dv.InvalidatedAt, disk: &diskBody{s: s, file: dv.File, size: dv.Size}}
				if e.Header == nil {
					e.Header = http.Header{}
				}
				e.size = entrySize(e)
				obj.variants = append(obj.variants, e)
				obj.files = append(obj.files, dv.File)
				obj.size += e.size
				referenced[dv.File] = true
			}
			if len(obj.variants) == 0 {
				bad = append(bad, slices.Clone(k))
				return nil
			}
			obj.used.Store(time.Now().UnixNano())
			s.keys[rec.Key] = obj
			s.bytes += obj.size
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range bad {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("disk cache %s: read index: %w", s.dir, err)
	}
	return filepath.WalkDir(filepath.Join(s.dir, "bodies"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if !referenced[d.Name()] {
			os.Remove(path)
		}
		return nil
	})
}

func (s *DiskStore) bodyPath(file string) string {
	return filepath.Join(s.dir, "bodies", file[:2], file)
}

// diskBody is a body in a DiskStore file.
type diskBody struct {
	s    *DiskStore
	file string
	size int64
}

// hotMax is the largest body the hot cache keeps in memory: larger ones
// are streamed from their files.
const hotMax = accountMin

// open returns a small body from the hot cache (reading it into the cache
// if needed), or the open file of a larger one.
func (d *diskBody) open() (openBody, error) {
	if d.size <= hotMax {
		if b, ok := d.s.hot.GetIfPresent(d.file); ok {
			return openBody{mem: b, size: b.size}, nil
		}
		b, err := os.ReadFile(d.s.bodyPath(d.file))
		if err != nil {
			return openBody{}, fmt.Errorf("disk cache: %w", err)
		}
		if int64(len(b)) != d.size {
			return openBody{}, fmt.Errorf("disk cache: %s: %d bytes, want %d", d.file, len(b), d.size)
		}
		m := newMemBody(b)
		d.s.hot.Set(d.file, m)
		return openBody{mem: m, size: m.size}, nil
	}
	f, err := os.Open(d.s.bodyPath(d.file))
	if err != nil {
		return openBody{}, fmt.Errorf("disk cache: %w", err)
	}
	if fi, err := f.Stat(); err != nil || fi.Size() != d.size {
		f.Close()
		if err == nil {
			err = fmt.Errorf("%s: %d bytes, want %d", d.file, fi.Size(), d.size)
		}
		return openBody{}, fmt.Errorf("disk cache: %w", err)
	}
	return openBody{file: f, size: d.size}, nil
}

// Get implements Store.
func (s *DiskStore) Get(_ context.Context, key string) ([]*Entry, error) {
	s.mu.RLock()
	obj := s.keys[key]
	s.mu.RUnlock()
	if obj == nil {
		return nil, nil
	}
	obj.used.Store(time.Now().UnixNano())
	return obj.variants, nil
}

// Set implements Store: bodies not yet on disk are written to new files,
// then the key's record, then files no longer used are removed.
func (s *DiskStore) Set(ctx context.Context, key string, variants []*Entry) error {
	if len(variants) == 0 {
		return s.Delete(ctx, key)
	}
	s.mu.RLock()
	old := s.keys[key]
	s.mu.RUnlock()
	obj := &diskObject{}
	rec := diskRecord{Key: key}
	for _, e := range variants {
		var db *diskBody
		if e.disk != nil && e.disk.s == s && old != nil && slices.Contains(old.files, e.disk.file) {
			// A variant this store already holds (cloned for a soft purge
			// or a 304 update) keeps its file.
			db = e.disk
		}
		if db == nil {
			ob, err := e.open()
			if err != nil {
				return err
			}
			file, err := s.writeBody(ob)
			ob.close()
			if err != nil {
				return err
			}
			db = &diskBody{s: s, file: file, size: ob.size}
			if ob.mem != nil && ob.size <= hotMax {
				s.hot.Set(file, ob.mem)
			}
		}
		me := e.onDisk(db)
		obj.variants = append(obj.variants, me)
		obj.files = append(obj.files, db.file)
		obj.size += me.Size()
		rec.Variants = append(rec.Variants, diskVariant{
			File: db.file, Size: db.size, URL: e.URL, Host: e.Host, Path: e.Path, Status: e.Status, Header: e.Header,
			Vary: e.Vary, RequestTime: e.RequestTime, ResponseTime: e.ResponseTime, StoredAt: e.StoredAt,
			Tags: e.Tags, InvalidatedAt: e.InvalidatedAt,
		})
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("disk cache: %w", err)
	}
	if err := s.db.Batch(func(tx *bbolt.Tx) error { return tx.Bucket(bucketEntries).Put([]byte(key), data) }); err != nil {
		return fmt.Errorf("disk cache: %w", err)
	}
	obj.used.Store(time.Now().UnixNano())
	s.mu.Lock()
	prev := s.keys[key]
	s.keys[key] = obj
	s.bytes += obj.size
	if prev != nil {
		s.bytes -= prev.size
	}
	over := s.bytes > s.capacity
	s.mu.Unlock()
	if prev != nil {
		s.removeFiles(prev.files, obj.files)
	}
	if over {
		s.evict(ctx)
	}
	return nil
}

// writeBody writes a body to a new file (temporary name, then rename).
func (s *DiskStore) writeBody(body openBody) (string, error) {
	var b [16]byte
	rand.Read(b[:])
	file := hex.EncodeToString(b[:])
	path := s.bodyPath(file)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("disk cache: %w", err)
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return "", fmt.Errorf("disk cache: %w", err)
	}
	_, err = body.writeRange(f, 0, body.size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("disk cache: %w", err)
	}
	return file, nil
}

// removeFiles deletes the files of old not in keep.
func (s *DiskStore) removeFiles(old, keep []string) {
	for _, f := range old {
		if !slices.Contains(keep, f) {
			s.hot.Invalidate(f)
			os.Remove(s.bodyPath(f))
		}
	}
}

// Delete implements Store.
func (s *DiskStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	obj := s.keys[key]
	if obj != nil {
		delete(s.keys, key)
		s.bytes -= obj.size
	}
	s.mu.Unlock()
	if obj == nil {
		return nil
	}
	if err := s.db.Batch(func(tx *bbolt.Tx) error { return tx.Bucket(bucketEntries).Delete([]byte(key)) }); err != nil {
		return fmt.Errorf("disk cache: %w", err)
	}
	s.removeFiles(obj.files, nil)
	return nil
}

// evict removes least recently used keys until the store is a twentieth
// below its capacity.
func (s *DiskStore) evict(ctx context.Context) {
	type cand struct {
		key  string
		used int64
		size int64
	}
	s.mu.RLock()
	target := s.bytes - s.capacity + s.capacity/20
	cands := make([]cand, 0, len(s.keys))
	for k, o := range s.keys {
		cands = append(cands, cand{k, o.used.Load(), o.size})
	}
	s.mu.RUnlock()
	slices.SortFunc(cands, func(a, b cand) int { return int(a.used - b.used) })
	for _, c := range cands {
		if target <= 0 {
			return
		}
		s.mu.RLock()
		obj := s.keys[c.key]
		s.mu.RUnlock()
		if obj == nil {
			continue
		}
		if err := s.Delete(ctx, c.key); err != nil {
			s.log.Warn("disk cache eviction failed", "key", c.key, "err", err)
			return
		}
		target -= c.size
		if fn := s.onEvict.Load(); fn != nil {
			// Asynchronously, as the memory store does: the caller of Set
			// may hold locks the callback takes.
			go (*fn)(c.key, obj.variants)
		}
	}
}

// NotifyEvictions implements evictionNotifier; fn runs on a goroutine of
// its own.
func (s *DiskStore) NotifyEvictions(fn func(key string, variants []*Entry)) {
	s.onEvict.Store(&fn)
}

// Range implements Store.
func (s *DiskStore) Range(ctx context.Context, fn func(string, []*Entry) bool) error {
	s.mu.RLock()
	keys := make([]string, 0, len(s.keys))
	for k := range s.keys {
		keys = append(keys, k)
	}
	s.mu.RUnlock()
	for i, k := range keys {
		if i%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		s.mu.RLock()
		obj := s.keys[k]
		s.mu.RUnlock()
		if obj != nil && !fn(k, obj.variants) {
			break
		}
	}
	return nil
}

// Stats implements statser.
func (s *DiskStore) Stats() StoreStats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return StoreStats{Keys: int64(len(s.keys)), Bytes: s.bytes, Capacity: s.capacity}
}

// Close syncs the index to disk and closes it.
func (s *DiskStore) Close() error {
	s.hot.StopAllGoroutines()
	if err := s.db.Sync(); err != nil {
		s.db.Close()
		return fmt.Errorf("disk cache: sync: %w", err)
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("disk cache: %w", err)
	}
	return nil
}
