package localedge

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"
)

// A flight is one upstream exchange for a cache key that any number of
// clients read: the client that started it and those whose requests were
// collapsed onto it. The body streams to every reader while it is being
// received, and is stored when complete (if the response is storable).
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

	// Written once before ready is closed.
	entry     *Entry      // the response; Body is nil while it streams
	shared    bool        // storable: collapsed clients may use it
	complete  bool        // entry.Body is final (a 304 update or a stale entry)
	err       error       // no response could be obtained
	fwdStatus int         // status the upstream returned
	stored    bool        // the response was (or is being) stored
	detail    string      // Cache-Status detail
	hitStale  bool        // a stale response is served (stale-if-error)
	own       http.Header // fields for the client that started the flight alone (never stored)
	cancel    context.CancelFunc

	// Purges since the flight asked the upstream (see recordPurge),
	// guarded by the proxy's purgeMu.
	purged    bool       // a purge selected its URL
	tagPurges []*matcher // purges by tag: compared with the response's tags

	mu      sync.Mutex
	changed chan struct{} // closed and replaced when the body grows or ends
	buf     []byte        // body bytes from offset base
	base    int64
	done    bool  // the body is complete (or failed)
	bodyErr error // why the body ended early
	trim    bool  // not stored: drop bytes every reader has written
	readers map[*reader]struct{}
}

// reader is one client reading a flight's body; off is how far it has
// written, guarded by flight.mu.
type reader struct{ off int64 }

func newFlight(k CacheKey, stale *Entry, reqd RequestDirectives) *flight {
	return &flight{
		key: k, stale: stale, reqd: reqd,
		ready:   make(chan struct{}),
		changed: make(chan struct{}),
		readers: make(map[*reader]struct{}),
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
	f.mu.Unlock()
	if abandon && f.cancel != nil {
		f.cancel()
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
	end := f.base + int64(len(f.buf))
	if rd.off < end {
		return f.buf[rd.off-f.base:], nil, false, nil
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

// trimWindow is how much unsent body a flight that is not storing buffers
// before it waits for its slowest reader.
const trimWindow = 256 << 10

// fill reads the upstream body into the flight. limit is the size limit
// while storing; once exceeded, or when not storing, the flight keeps only
// what readers have not written yet. idle bounds each wait for upstream
// bytes.
//
// When the whole body was kept, fill returns it without publishing its end
// (nor, for a body of known length, its last bytes): the caller stores it
// first and then calls end, so a client that has the whole response can
// count on the cache holding it too.
func (f *flight) fill(ctx context.Context, body io.Reader, contentLength, limit int64, storing bool, idle time.Duration) ([]byte, error) {
	capacity := int64(32 << 10)
	if storing && contentLength >= 0 && contentLength <= limit {
		capacity = contentLength
	}
	f.mu.Lock()
	f.buf = make([]byte, 0, capacity)
	f.trim = !storing
	f.mu.Unlock()

	timer := time.AfterFunc(idle, func() {
		if f.cancel != nil {
			f.cancel()
		}
	})
	defer timer.Stop()

	var total int64
	buf := f.buf
	for {
		// Waiting for slow readers is not the upstream's pause.
		timer.Stop()
		if err := f.makeRoom(ctx); err != nil {
			return nil, f.finish(err)
		}
		timer.Reset(idle)
		f.mu.Lock()
		if f.trim {
			buf = f.buf // makeRoom may have started a new buffer
		}
		f.mu.Unlock()
		if cap(buf)-len(buf) < 4096 {
			grow := cap(buf)
			if grow < 32<<10 {
				grow = 32 << 10
			}
			nb := make([]byte, len(buf), cap(buf)+grow)
			copy(nb, buf)
			buf = nb
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		if n > 0 {
			total += int64(n)
			buf = buf[:len(buf)+n]
			f.mu.Lock()
			if !f.trim && total > limit {
				// Too large to store: from now on pass it through.
				f.trim = true
				storing = false
			}
			last := storing && contentLength >= 0 && total >= contentLength
			if !last {
				f.buf = buf
				f.broadcastLocked()
			}
			f.mu.Unlock()
		}
		if err == io.EOF {
			if contentLength >= 0 && total != contentLength {
				return nil, f.finish(io.ErrUnexpectedEOF)
			}
			if storing {
				return buf, nil
			}
			f.end(nil)
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

// end publishes the end of a complete body (and body, the whole of it,
// when given).
func (f *flight) end(body []byte) {
	f.mu.Lock()
	if body != nil {
		f.buf = body
	}
	f.done = true
	f.broadcastLocked()
	f.mu.Unlock()
}

// makeRoom waits, when the flight is not storing, until its readers have
// caught up, then drops the bytes they all wrote.
func (f *flight) makeRoom(ctx context.Context) error {
	for {
		f.mu.Lock()
		if !f.trim {
			f.mu.Unlock()
			return nil
		}
		end := f.base + int64(len(f.buf))
		low := end
		for rd := range f.readers {
			if rd.off < low {
				low = rd.off
			}
		}
		if len(f.readers) == 0 {
			f.mu.Unlock()
			return errors.New("no client is reading the response")
		}
		if low == end {
			// Everyone has written everything: start a new buffer (readers
			// may still hold slices of the old one).
			f.base = end
			f.buf = make([]byte, 0, 32<<10)
			f.mu.Unlock()
			return nil
		}
		if end-low < trimWindow {
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

// copyTo writes the flight's body to w for reader rd until the body ends,
// the client goes away (ctx) or a write fails. It returns the bytes
// written and whether the whole body was.
func (f *flight) copyTo(ctx context.Context, w http.ResponseWriter, rd *reader) (int64, bool) {
	var written int64
	flusher := http.NewResponseController(w)
	for {
		chunk, wait, done, err := f.next(rd)
		if len(chunk) > 0 {
			n, werr := w.Write(chunk)
			written += int64(n)
			f.advance(rd, rd.off+int64(n))
			if werr != nil {
				return written, false
			}
			continue
		}
		if done {
			return written, err == nil
		}
		// Nothing buffered: push what was written so far to the client.
		_ = flusher.Flush()
		select {
		case <-wait:
		case <-ctx.Done():
			return written, false
		}
	}
}
