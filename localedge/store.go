package localedge

import (
	"context"
	"math"
	"sync/atomic"

	"github.com/maypok86/otter/v2"
)

// Store holds a cache's responses: for each primary cache key, the list of
// its stored variants (RFC 9111 §4.1). Implementations must be safe for
// concurrent use; the Proxy never modifies a slice or Entry it has passed
// to Set or received from Get.
type Store interface {
	// Get returns the variants stored under key, or nil.
	Get(ctx context.Context, key string) ([]*Entry, error)
	// Set replaces the variants stored under key; an empty list deletes
	// the key.
	Set(ctx context.Context, key string, variants []*Entry) error
	// Delete removes key and its variants.
	Delete(ctx context.Context, key string) error
	// Range calls fn for each key and its variants, in no particular
	// order, until fn returns false. It reflects concurrent changes or
	// not, but never returns a key twice.
	Range(ctx context.Context, fn func(key string, variants []*Entry) bool) error
}

// StoreStats describes how full a store is.
type StoreStats struct {
	Keys     int64 `json:"keys"`     // primary keys (each with one or more variants)
	Bytes    int64 `json:"bytes"`    // bytes held, as counted by Entry.Size
	Capacity int64 `json:"capacity"` // the byte bound
}

// statser is implemented by stores that know their size cheaply.
type statser interface {
	Stats() StoreStats
}

// MemoryStore is a Store in memory, bounded by bytes: when full, the
// W-TinyLFU policy of github.com/maypok86/otter decides which keys to keep,
// so a burst of one-off objects does not flush the popular ones.
//
// The store marks the bodies it holds, so a large body it lets go of while
// clients are still receiving it is charged to the fill budget of the
// proxy that fetched it until they are done.
type MemoryStore struct {
	capacity int64
	inline   bool // the cache's upkeep runs during each call
	cache    *otter.Cache[string, []*Entry]
	onEvict  atomic.Pointer[func(string, []*Entry)]
}

// DefaultMemoryCapacity is the size of the memory store a Proxy creates
// when it is given none.
const DefaultMemoryCapacity = 64 << 20

// NewMemoryStore returns a memory store holding at most capacity bytes
// (DefaultMemoryCapacity when capacity ≤ 0), as counted by Entry.Size.
func NewMemoryStore(capacity int64) *MemoryStore {
	return newMemoryStore(capacity, nil)
}

// NewInlineMemoryStore returns a MemoryStore with the same eviction policy
// whose upkeep (applying the policy, evicting) runs in the goroutine that
// reads or writes it, during that call, rather than in a goroutine started
// soon after: one goroutine driving caches on a virtual clock (the
// simulator) sees each eviction at the write that causes it. Not for
// concurrent use by many goroutines: they would do the upkeep in turn.
func NewInlineMemoryStore(capacity int64) *MemoryStore {
	return newMemoryStore(capacity, func(fn func()) { fn() })
}

// newMemoryStore makes a MemoryStore; executor runs the cache's upkeep
// (nil: otter's default, a new goroutine).
func newMemoryStore(capacity int64, executor func(func())) *MemoryStore {
	if capacity <= 0 {
		capacity = DefaultMemoryCapacity
	}
	s := &MemoryStore{capacity: capacity, inline: executor != nil}
	s.cache = otter.Must(&otter.Options[string, []*Entry]{
		Executor:      executor,
		MaximumWeight: uint64(capacity),
		OnAtomicDeletion: func(e otter.DeletionEvent[string, []*Entry]) {
			// Every value that leaves the cache (evicted, invalidated or
			// replaced) releases the bodies Set marked.
			for _, v := range e.Value {
				v.mem.ref(-1, 0)
			}
		},
		OnDeletion: func(e otter.DeletionEvent[string, []*Entry]) {
			if !e.WasEvicted() {
				return
			}
			if fn := s.onEvict.Load(); fn != nil {
				(*fn)(e.Key, e.Value)
			}
		},
		Weigher: func(key string, variants []*Entry) uint32 {
			var n int64
			for _, e := range variants {
				n += e.Size()
			}
			if n > math.MaxUint32 {
				return math.MaxUint32
			}
			return uint32(n)
		},
	})
	return s
}

// NotifyEvictions makes the store call fn for each key it evicts to stay
// within its capacity (not for keys deleted or replaced through Store).
func (s *MemoryStore) NotifyEvictions(fn func(key string, variants []*Entry)) {
	s.onEvict.Store(&fn)
}

// Get implements Store.
func (s *MemoryStore) Get(_ context.Context, key string) ([]*Entry, error) {
	v, _ := s.cache.GetIfPresent(key)
	return v, nil
}

// Set implements Store.
func (s *MemoryStore) Set(_ context.Context, key string, variants []*Entry) error {
	if len(variants) == 0 {
		s.cache.Invalidate(key)
		return nil
	}
	s.cache.Set(key, variants)
	if !s.inline {
		// Evict now rather than in the goroutine the cache starts soon
		// after, so that what the store lets go of is charged below.
		s.cache.CleanUp()
	}
	// Only now do the new bodies leave the fill budget, once the bodies
	// the store evicted for them are charged to it: released first, they
	// left a moment in which the budget looked free and took more fills,
	// and the evicted bodies then took it past its limit (3 MiB charged to
	// a 1 MiB budget under load, one object more per fill stored while
	// clients pinned evicted bodies). A body evicted before this mark is
	// counted right: its stores go -1 then 0, and it stays charged.
	for _, v := range variants {
		v.mem.ref(1, 0)
	}
	return nil
}

// Delete implements Store.
func (s *MemoryStore) Delete(_ context.Context, key string) error {
	s.cache.Invalidate(key)
	return nil
}

// Range implements Store.
func (s *MemoryStore) Range(ctx context.Context, fn func(string, []*Entry) bool) error {
	i := 0
	for k, v := range s.cache.All() {
		if i++; i%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if !fn(k, v) {
			break
		}
	}
	return nil
}

// Stats reports the store's size.
func (s *MemoryStore) Stats() StoreStats {
	return StoreStats{Capacity: s.capacity, Bytes: int64(s.cache.WeightedSize()), Keys: int64(s.cache.EstimatedSize())}
}

// Close releases the store's background goroutines.
func (s *MemoryStore) Close() error {
	s.cache.StopAllGoroutines()
	return nil
}
