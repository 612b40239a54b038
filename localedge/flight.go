package localedge

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// A flight is one upstream exchange for a cache key that any number of
// clients read: the client that started it and those whose requests were
// collapsed onto it. The body streams to every reader while it is being
// received, and is stored when complete (if the response is storable).
//
// The body is received into chunks that are never reallocated, so readers
// write from them without copies. A body being stored is charged to the
// proxy's fill budget as it grows; a body that is not stored (or turned
// out too large, or over the budget) is kept only in a window ahead of the
// slowest reader, older chunks being dropped.
//
// Lifecycle: the fetching goroutine fills in the response head, then closes
// ready; afterwards entry, shared, complete, err and the other head fields
// are read-only. The body grows under mu.
type flight struct {
	key    CacheKey
	stale  *Entry // the stored response being revalidated, if any
	reqd   RequestDirectives
	reqHdr http.Header   // the fields of the request forwarded (for Vary); set by launch
	ready  chan struct{} // closed when the response head is known
	budget *fillBudget   // the proxy's
	slice  *sliceSpec    // the range a slice fill asks for (nil: the whole)

	// Written once before ready is closed.
	entry     *Entry      // the response; its body is nil while it streams
	shared    bool        // storable: collapsed clients may use it
	complete  bool        // entry's body is final (a 304 update or a stale entry)
	err       error       // no response could be obtained
	fwdStatus int         // status the upstream returned
	stored    bool        // the response was (or is being) stored
	detail    string      // Cache-Status detail
	hitStale  bool        // a stale response is served (stale-if-error)
	own       http.Header // fields for the client that started the flight alone (never stored)
	cancel    context.CancelFunc

	// Purges since the flight asked the upstream (see recordPurge),
	// guarded by the proxy's purgeMu.
	purged    bool            // a purge selected its URL
	tagPurges []*PurgeMatcher // purges by tag: compared with the response's tags

	interim []interimResponse // 1xx responses before the head, guarded by mu

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced when the body grows or ends
	chunks   [][]byte      // body bytes from offset base, csize bytes each but the last
	csize    int64
	base     int64
	avail    int64 // body bytes readers may write (from offset 0)
	done     bool  // the body is complete (or failed)
	bodyErr  error // why the body ended early
	trim     bool  // not stored: drop bytes every reader has written
	readers  map[*reader]struct{}
	filling  bool     // the fetching goroutine has not finished
	reserved int64    // bytes charged to the budget for the body
	body     *memBody // the complete body, in use by the flight until its readers leave
	released bool     // reserved, body and stale were given back
}

// reader is one client reading a flight's body; off is how far it has
// written, guarded by flight.mu.
type reader struct {
	off     int64
	interim int // interim responses relayed (the reader's own goroutine only)
}

func newFlight(k CacheKey, stale *Entry, reqd RequestDirectives, budget *fillBudget) *flight {
	if stale != nil {
		stale.mem.ref(0, 1) // until the flight ends: it may serve it
	}
	return &flight{
		key: k, stale: stale, reqd: reqd, budget: budget,
		ready:   make(chan struct{}),
		changed: make(chan struct{}),
		readers: make(map[*reader]struct{}),
		filling: true,
	}
}

// join registers a new reader. It returns nil if the flight no longer
// accepts readers (its body is being dropped as it is sent).
func (f *flight) join() *reader {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.trim && f.base > 0 {
		return nil
	}
	rd := &reader{}
	f.readers[rd] = struct{}{}
	return rd
}

// leave unregisters a reader. When the body is not being stored and
// nobody reads it any more, the upstream exchange is abandoned.
func (f *flight) leave(rd *reader) {
	if rd == nil {
		return
	}
	f.mu.Lock()
	delete(f.readers, rd)
	abandon := f.trim && len(f.readers) == 0 && !f.done
	f.broadcastLocked()
	f.releaseLocked()
	f.mu.Unlock()
	if abandon && f.cancel != nil {
		f.cancel()
	}
}

// fetched is called when the fetching goroutine is done with the flight.
func (f *flight) fetched() {
	f.mu.Lock()
	f.filling = false
	f.releaseLocked()
	f.mu.Unlock()
}

// releaseLocked gives back, once the flight is fetched and has no readers
// left, the memory it accounted: the reservation of its body (or its use
// of the complete body, whose store now accounts for it) and of the stale
// entry it held.
func (f *flight) releaseLocked() {
	if f.filling || len(f.readers) > 0 || f.released {
		return
	}
	f.released = true
	if f.body != nil {
		f.body.ref(0, -1)
	}
	if f.reserved > 0 {
		f.budget.release(f.reserved)
		f.reserved = 0
	}
	if f.stale != nil {
		f.stale.mem.ref(0, -1)
	}
}

func (f *flight) broadcastLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// next returns the body bytes at rd's offset (a slice the flight never
// writes again), or a channel to wait on when there are none yet. done
// reports the end of the body, with err when it ended early.
func (f *flight) next(rd *reader) (chunk []byte, wait <-chan struct{}, done bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if rd.off < f.avail {
		i := (rd.off - f.base) / f.csize
		start := f.base + i*f.csize
		c := f.chunks[i]
		return c[rd.off-start : min(int64(len(c)), f.avail-start)], nil, false, nil
	}
	if f.done {
		return nil, nil, true, f.bodyErr
	}
	return nil, f.changed, false, nil
}

// advance records that rd has written the body up to off.
func (f *flight) advance(rd *reader, off int64) {
	f.mu.Lock()
	rd.off = off
	if f.trim {
		f.broadcastLocked() // the writer may be waiting for room
	}
	f.mu.Unlock()
}

// reserve charges the whole body of a response to be stored to the fill
// budget when its length is known (a body of unknown length is charged
// chunk by chunk as it arrives). It reports false when the budget cannot
// take it.
func (f *flight) reserve(contentLength int64) bool {
	if contentLength < 0 {
		return true
	}
	if !f.budget.tryCharge(contentLength) {
		f.budget.refused.Add(1)
		return false
	}
	f.mu.Lock()
	f.reserved = contentLength
	f.mu.Unlock()
	return true
}

// fill reads the upstream body into the flight. limit is the size limit
// while storing; once exceeded (or the fill budget spent), or when not
// storing, the flight keeps only what readers have not written yet. idle
// bounds each wait for upstream bytes. A body of known length being stored
// was reserved first (reserve).
//
// When the whole body was kept, fill returns it without publishing its end
// (nor, for a body of known length, its last bytes): the caller stores it
// first and then calls end, so a client that has the whole response can
// count on the cache holding it too.
func (f *flight) fill(ctx context.Context, body io.Reader, contentLength, limit int64, storing bool, idle time.Duration) (*memBody, error) {
	f.mu.Lock()
	switch {
	case !storing:
		f.csize = passChunk
	case contentLength < 0:
		f.csize = streamChunk
	default:
		f.csize = chunkSize
	}
	f.trim = !storing
	f.mu.Unlock()

	timer := time.AfterFunc(idle, func() {
		if f.cancel != nil {
			f.cancel()
		}
	})
	defer timer.Stop()

	var total int64
	for {
		// Waiting for slow readers is not the upstream's pause.
		timer.Stop()
		if err := f.makeRoom(ctx); err != nil {
			return nil, f.finish(err)
		}
		timer.Reset(idle)
		cur, i := f.current()
		if cur == nil {
			if cur, i, storing = f.grow(total, contentLength, storing); cur == nil {
				continue // switched to passing through: make room first
			}
		}
		n, err := body.Read(cur[len(cur):cap(cur)])
		if n > 0 {
			total += int64(n)
			f.mu.Lock()
			f.chunks[i] = cur[:len(cur)+n]
			if !f.trim && total > limit {
				// Too large to store: from now on pass it through.
				f.trim = true
				storing = false
			}
			if last := storing && contentLength >= 0 && total >= contentLength; !last {
				f.avail = total
				f.broadcastLocked()
			}
			f.mu.Unlock()
		}
		if err == io.EOF {
			if contentLength >= 0 && total != contentLength {
				return nil, f.finish(io.ErrUnexpectedEOF)
			}
			if storing {
				return f.completeBody(total), nil
			}
			f.end()
			return nil, nil
		}
		if err != nil {
			if ctx.Err() != nil {
				err = errors.Join(err, ctx.Err())
			}
			return nil, f.finish(err)
		}
	}
}

// current returns the last chunk and its index when it has room left.
func (f *flight) current() ([]byte, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := len(f.chunks); n > 0 && len(f.chunks[n-1]) < cap(f.chunks[n-1]) {
		return f.chunks[n-1], n - 1
	}
	return nil, 0
}

// grow adds a chunk for the body bytes after total. While storing a body
// of unknown length, the chunk is charged to the fill budget first; when
// the budget cannot take it, the flight passes the body through from now
// on (storing false, no chunk).
func (f *flight) grow(total, contentLength int64, storing bool) ([]byte, int, bool) {
	size := f.csize
	switch {
	case storing && contentLength >= 0:
		size = max(min(size, contentLength-total), 1)
	case storing:
		if !f.budget.tryCharge(size) {
			f.budget.refused.Add(1)
			f.mu.Lock()
			f.trim = true
			f.mu.Unlock()
			return nil, 0, false
		}
		f.mu.Lock()
		f.reserved += size
		f.mu.Unlock()
	}
	c := make([]byte, 0, size)
	f.mu.Lock()
	f.chunks = append(f.chunks, c)
	i := len(f.chunks) - 1
	f.mu.Unlock()
	return c, i, storing
}

// completeBody builds the stored body from the chunks, moving the flight's
// reservation to it: the flight uses the body until its readers leave,
// and the store accounts for it once it holds it.
func (f *flight) completeBody(size int64) *memBody {
	f.mu.Lock()
	defer f.mu.Unlock()
	chunks := slices.Clone(f.chunks)
	if n := len(chunks); n > 0 {
		if last := chunks[n-1]; cap(last)-len(last) > 4096 {
			chunks[n-1] = slices.Clone(last) // do not keep growth slack
		}
	}
	m := &memBody{chunks: chunks, size: size}
	if size > accountMin {
		m.budget = f.budget
		m.refs.Store(1) // the flight uses it
		f.budget.charge(size)
	}
	f.body = m
	f.budget.release(f.reserved)
	f.reserved = 0
	return m
}

// whole returns the complete body of a flight that kept it all.
func (f *flight) whole() *memBody {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.body
}

// end publishes the end of a complete body.
func (f *flight) end() {
	f.mu.Lock()
	f.avail = f.base
	for _, c := range f.chunks {
		f.avail += int64(len(c))
	}
	f.done = true
	f.broadcastLocked()
	f.mu.Unlock()
}

// errNoReaders ends a body that is not stored once nobody reads it.
var errNoReaders = errors.New("no client is reading the response")

// makeRoom waits, when the flight is not storing, until its readers have
// caught up, dropping the chunks they all wrote.
func (f *flight) makeRoom(ctx context.Context) error {
	for {
		f.mu.Lock()
		if !f.trim {
			f.mu.Unlock()
			return nil
		}
		if len(f.readers) == 0 {
			f.mu.Unlock()
			return errNoReaders
		}
		low := f.avail
		for rd := range f.readers {
			low = min(low, rd.off)
		}
		// Drop the full chunks everyone has written (readers may still
		// hold slices of them: they are never written again).
		for len(f.chunks) > 0 && int64(len(f.chunks[0])) == f.csize && f.base+f.csize <= low {
			f.chunks[0] = nil
			f.chunks = f.chunks[1:]
			f.base += f.csize
		}
		if f.avail-low < passWindow {
			f.mu.Unlock()
			return nil
		}
		wait := f.changed
		f.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// finish ends the body with an error.
func (f *flight) finish(err error) error {
	f.mu.Lock()
	f.done = true
	f.bodyErr = err
	f.broadcastLocked()
	f.mu.Unlock()
	return err
}

// copyTo writes the flight's body to w for reader rd until the body ends
// (or, when end ≥ 0, up to offset end), the client goes away (ctx) or a
// write fails. It returns the bytes written and whether the whole body (up
// to end) was.
func (f *flight) copyTo(ctx context.Context, w http.ResponseWriter, rd *reader, end int64) (int64, bool) {
	var written int64
	flusher := http.NewResponseController(w)
	for end < 0 || rd.off < end {
		chunk, wait, done, err := f.next(rd)
		if len(chunk) > 0 {
			if end >= 0 && int64(len(chunk)) > end-rd.off {
				chunk = chunk[:end-rd.off]
			}
			n, werr := w.Write(chunk)
			written += int64(n)
			f.advance(rd, rd.off+int64(n))
			if werr != nil {
				return written, false
			}
			continue
		}
		if done {
			return written, err == nil && end < 0
		}
		// Nothing buffered: push what was written so far to the client.
		_ = flusher.Flush()
		select {
		case <-wait:
		case <-ctx.Done():
			return written, false
		}
	}
	return written, true
}
