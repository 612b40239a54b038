package localedge

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// index is a compact copy of what listings and purges need from each
// stored key, kept up to date as keys are stored, purged and evicted, so
// that listing 100k entries scans one dense array instead of walking the
// store's objects. The request path never touches it.
//
// Rows keep their position until a compaction: a deleted key leaves a
// tombstone (key ""), a new key is appended and noted in pending. order
// lists positions sorted by key; pending keys are merged into it when a
// listing by key needs it, so keeping the order costs a sort of what was
// added since the last listing plus one linear merge.
type index struct {
	mu      sync.RWMutex
	rows    []indexRow       // guarded by mu
	pos     map[string]int32 // key → row, guarded by mu
	order   []int32          // live or dead rows sorted by key, guarded by mu
	pending []int32          // rows added since order was built, guarded by mu
	dead    int              // tombstones in rows, guarded by mu
	slices  int              // keys of range slices, guarded by mu
}

type indexRow struct {
	key      string // "" for a tombstone
	host     string
	variants []*Entry // as stored (identity tells evictions of older values apart)
	rep      *Entry   // the most recent variant
	tags     []string // union over variants
	status   int32
	size     int64 // body bytes over variants
	ageBase  int64 // unix nanoseconds: age at t is t - ageBase
	freshEnd int64 // unix nanoseconds: when the representative turns stale
}

func newIndex() *index { return &index{pos: make(map[string]int32)} }

// set records key's variants (removing the key when there are none).
func (ix *index) set(key string, variants []*Entry) {
	if len(variants) == 0 {
		ix.del(key, nil)
		return
	}
	row := makeRow(key, variants)
	ix.mu.Lock()
	if i, ok := ix.pos[key]; ok {
		ix.rows[i] = row
	} else {
		i := int32(len(ix.rows))
		ix.rows = append(ix.rows, row)
		ix.pos[key] = i
		ix.pending = append(ix.pending, i)
		if strings.Contains(key, sliceSep) {
			ix.slices++
		}
	}
	ix.mu.Unlock()
}

// del removes key; with only set, only if the indexed variants are those
// (an eviction of a value that has since been replaced removes nothing).
func (ix *index) del(key string, only []*Entry) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	i, ok := ix.pos[key]
	if !ok {
		return
	}
	if only != nil && !sameVariants(ix.rows[i].variants, only) {
		return
	}
	ix.rows[i] = indexRow{}
	delete(ix.pos, key)
	ix.dead++
	if strings.Contains(key, sliceSep) {
		ix.slices--
	}
	if ix.dead > 1024 && ix.dead > len(ix.rows)/4 {
		ix.compactLocked()
	}
}

// compactLocked drops tombstones, renumbering rows, order and pending
// without sorting again.
func (ix *index) compactLocked() {
	newPos := make([]int32, len(ix.rows))
	rows := make([]indexRow, 0, len(ix.rows)-ix.dead)
	for i := range ix.rows {
		if ix.rows[i].key == "" {
			newPos[i] = -1
			continue
		}
		newPos[i] = int32(len(rows))
		ix.pos[ix.rows[i].key] = int32(len(rows))
		rows = append(rows, ix.rows[i])
	}
	remap := func(list []int32) []int32 {
		out := list[:0]
		for _, i := range list {
			if n := newPos[i]; n >= 0 {
				out = append(out, n)
			}
		}
		return out
	}
	ix.order = remap(ix.order)
	ix.pending = remap(ix.pending)
	ix.rows = rows
	ix.dead = 0
}

// sortedLocked merges pending rows into order; the caller holds mu for
// writing.
func (ix *index) sortedLocked() {
	if len(ix.pending) == 0 {
		return
	}
	rows := ix.rows
	byKey := func(a, b int32) int { return strings.Compare(rows[a].key, rows[b].key) }
	slices.SortFunc(ix.pending, byKey)
	merged := make([]int32, 0, len(ix.order)+len(ix.pending))
	a, b := ix.order, ix.pending
	for len(a) > 0 && len(b) > 0 {
		if rows[a[0]].key == "" {
			a = a[1:]
			continue
		}
		if byKey(a[0], b[0]) <= 0 {
			merged = append(merged, a[0])
			a = a[1:]
		} else {
			merged = append(merged, b[0])
			b = b[1:]
		}
	}
	for _, i := range a {
		if rows[i].key != "" {
			merged = append(merged, i)
		}
	}
	for _, i := range b {
		if rows[i].key != "" {
			merged = append(merged, i)
		}
	}
	ix.order = merged
	ix.pending = ix.pending[:0]
}

func sameVariants(a, b []*Entry) bool {
	return len(a) == len(b) && len(a) > 0 && &a[0] == &b[0]
}

// hasSlices reports whether range slices are indexed: their keys are not
// their URLs.
func (ix *index) hasSlices() bool {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.slices > 0
}

func (ix *index) len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.pos)
}

func makeRow(key string, variants []*Entry) indexRow {
	rep := variants[0]
	for _, e := range variants[1:] {
		if e.ResponseTime.After(rep.ResponseTime) {
			rep = e
		}
	}
	row := indexRow{key: key, host: rep.Host, variants: variants, rep: rep, status: int32(rep.Status)}
	for _, e := range variants {
		row.size += e.BodyLen()
		for _, t := range e.Tags {
			if !containsString(row.tags, t) {
				row.tags = append(row.tags, t)
			}
		}
	}
	base := rep.ResponseTime.Add(-rep.initialAge)
	row.ageBase = base.UnixNano()
	end := base.Add(rep.lifetime)
	if !rep.InvalidatedAt.IsZero() && rep.InvalidatedAt.Before(end) {
		end = rep.InvalidatedAt
	}
	row.freshEnd = end.UnixNano()
	return row
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ttlAt and ageAt give a row's TTL and age at now (unix nanoseconds), as
// Entry.TTL and Entry.Age do.
func (r *indexRow) ttlAt(now int64) time.Duration { return time.Duration(r.freshEnd - now) }
func (r *indexRow) ageAt(now int64) time.Duration { return max(time.Duration(now-r.ageBase), 0) }

// rebuild fills the index from a store's contents (a disk store opened
// with entries from a previous run), preparing entries read back from disk
// with prepare.
func (ix *index) rebuild(ctx context.Context, s Store, prepare func(*Entry)) error {
	return s.Range(ctx, func(key string, variants []*Entry) bool {
		for _, e := range variants {
			if !e.prepared {
				prepare(e)
			}
		}
		ix.set(key, variants)
		return true
	})
}

// match returns the keys with a variant the purge selects.
func (ix *index) match(m *PurgeMatcher) []string {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var keys []string
	for i := range ix.rows {
		r := &ix.rows[i]
		if r.key == "" {
			continue
		}
		if m.all {
			keys = append(keys, r.key)
			continue
		}
		for _, e := range r.variants {
			if m.Matches(e) {
				keys = append(keys, r.key)
				break
			}
		}
	}
	return keys
}

// evictionNotifier is implemented by stores that drop keys on their own
// (to stay within their capacity): fn is called for each key so evicted.
type evictionNotifier interface {
	NotifyEvictions(fn func(key string, variants []*Entry))
}
