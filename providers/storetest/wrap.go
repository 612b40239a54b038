package storetest

import (
	"context"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cdnctl/cdnctl/providers"
)

// recorder observes the Puts and metadata updates going through a wrapped
// store: the order they start and end in, and an optional hook after each.
type recorder struct {
	after func(key string, err error)

	seq atomic.Int64
	mu  sync.Mutex // guards evs
	evs []event
}

type event struct {
	key        string
	start, end int64
}

func (r *recorder) events() []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event(nil), r.evs...)
}

func (r *recorder) observe(key string, f func() error) error {
	start := r.seq.Add(1)
	err := f()
	end := r.seq.Add(1)
	r.mu.Lock()
	r.evs = append(r.evs, event{key, start, end})
	r.mu.Unlock()
	if r.after != nil {
		r.after(key, err)
	}
	return err
}

// hooked wraps a store with a recorder, keeping its optional
// capabilities: MetadataUpdater always (falling back to Put like push
// does), Stater when the inner store has it.
type hooked struct {
	providers.Store
	rec *recorder
}

type hookedStater struct {
	*hooked
	st providers.Stater
}

func (h *hookedStater) Stat(ctx context.Context, key string) (providers.RemoteObject, error) {
	return h.st.Stat(ctx, key)
}

func wrap(s providers.Store, rec *recorder) providers.Store {
	h := &hooked{Store: s, rec: rec}
	if st, ok := s.(providers.Stater); ok {
		return &hookedStater{hooked: h, st: st}
	}
	return h
}

func (h *hooked) Put(ctx context.Context, f *providers.LocalFile) error {
	return h.rec.observe(f.Key, func() error { return h.Store.Put(ctx, f) })
}

func (h *hooked) UpdateMetadata(ctx context.Context, f *providers.LocalFile) error {
	return h.rec.observe(f.Key, func() error {
		if u, ok := h.Store.(providers.MetadataUpdater); ok {
			return u.UpdateMetadata(ctx, f)
		}
		return h.Store.Put(ctx, f)
	})
}

type nopCloser struct{ *strings.Reader }

func (nopCloser) Close() error { return nil }

func openString(s string) func() (io.ReadSeekCloser, error) {
	return func() (io.ReadSeekCloser, error) { return nopCloser{strings.NewReader(s)}, nil }
}
