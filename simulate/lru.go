package simulate

import (
	"context"

	"github.com/cdnctl/cdnctl/localedge"
)

// lruStore is a localedge.Store that evicts the least recently used key,
// weighing each key by its variants' body bytes, as cache simulators do
// (libCacheSim's LRU: a key larger than the whole cache is not stored, and
// keys are evicted from the cold end until the new one fits). A read (Get)
// or a write (Set) makes a key the most recently used. For one goroutine.
type lruStore struct {
	capacity int64
	used     int64
	keys     map[string]*lruNode
	root     lruNode // sentinel: root.next is the most recent, root.prev the least
}

type lruNode struct {
	key        string
	variants   []*localedge.Entry
	weight     int64
	prev, next *lruNode
}

func newLRUStore(capacity int64) *lruStore {
	s := &lruStore{capacity: capacity, keys: make(map[string]*lruNode)}
	s.root.next, s.root.prev = &s.root, &s.root
	return s
}

func (s *lruStore) unlink(n *lruNode) {
	n.prev.next, n.next.prev = n.next, n.prev
}

func (s *lruStore) pushFront(n *lruNode) {
	n.prev, n.next = &s.root, s.root.next
	s.root.next.prev = n
	s.root.next = n
}

// Get implements localedge.Store.
func (s *lruStore) Get(_ context.Context, key string) ([]*localedge.Entry, error) {
	n := s.keys[key]
	if n == nil {
		return nil, nil
	}
	s.unlink(n)
	s.pushFront(n)
	return n.variants, nil
}

// Set implements localedge.Store.
func (s *lruStore) Set(_ context.Context, key string, variants []*localedge.Entry) error {
	var w int64
	for _, e := range variants {
		w += e.BodyLen()
	}
	n := s.keys[key]
	if len(variants) == 0 || w > s.capacity {
		if n != nil {
			s.remove(n)
		}
		return nil
	}
	if n != nil {
		s.used += w - n.weight
		n.variants, n.weight = variants, w
		s.unlink(n)
	} else {
		n = &lruNode{key: key, variants: variants, weight: w}
		s.keys[key] = n
		s.used += w
	}
	s.pushFront(n)
	for s.used > s.capacity {
		victim := s.root.prev
		if victim == n {
			break
		}
		s.remove(victim)
	}
	return nil
}

func (s *lruStore) remove(n *lruNode) {
	s.unlink(n)
	delete(s.keys, n.key)
	s.used -= n.weight
}

// Delete implements localedge.Store.
func (s *lruStore) Delete(_ context.Context, key string) error {
	if n := s.keys[key]; n != nil {
		s.remove(n)
	}
	return nil
}

// Range implements localedge.Store.
func (s *lruStore) Range(_ context.Context, fn func(string, []*localedge.Entry) bool) error {
	for n := s.root.next; n != &s.root; n = n.next {
		if !fn(n.key, n.variants) {
			break
		}
	}
	return nil
}
