package localedge

import (
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// How response bodies are held and written, so that memory stays bounded
// by configuration whatever clients do:
//
//   - A body in memory (memBody) is a list of immutable chunks. Every
//     client sending it writes from those chunks: a slow client pins the
//     body, never a copy of it.
//   - A body on disk is streamed from its file (sendfile), a piece at a
//     time; only small bodies are kept in memory (DiskStore's hot cache).
//   - The fill budget (fillBudget) bounds the body bytes in memory outside
//     the store: fills being stored, and large stored bodies that clients
//     are still receiving after the store let them go (evicted, purged,
//     replaced). A fill that does not fit passes through without being
//     stored, in a window of passWindow bytes per flight.
//   - Every write to a client is a piece of at most sendPiece bytes with a
//     deadline (sendWriter): a client that takes no piece for
//     IdleSendTimeout, or has not taken the whole response after
//     SendTimeout, is disconnected.
const (
	// chunkSize is the size of the chunks a body of known length is kept
	// in, streamChunk that of a body of unknown length (allocated as it
	// arrives, so smaller). A hit writes one chunk per write: a body up to
	// chunkSize is one write.
	chunkSize   = 256 << 10
	streamChunk = 64 << 10
	// accountMin is the size over which a body in memory is accounted to
	// the fill budget while in use: a smaller one pinned by a slow client
	// is that connection's buffer.
	accountMin = 64 << 10
	// passChunk is the chunk size of a flight that does not store its
	// body, and passWindow how much of it a flight buffers ahead of its
	// slowest reader before it waits.
	passChunk  = 8 << 10
	passWindow = 24 << 10
	// sendPiece is the most written to a client under one deadline.
	sendPiece = 256 << 10
)

// Defaults of the Proxy's send timeouts: those of Varnish (idle_send_timeout
// 60 s, send_timeout 600 s); nginx's send_timeout is also 60 s between two
// writes.
const (
	DefaultIdleSendTimeout = 60 * time.Second
	DefaultSendTimeout     = 10 * time.Minute
)

// memBody is a response body in memory: chunks of at most chunkSize bytes,
// never modified once the body is built.
//
// A body larger than accountMin is accounted to the fill budget of the
// proxy that fetched it while it is in use (sent to a client, or being
// finished by its flight) and held by no store: stores count their bodies
// against their own capacity, so only what they have let go of is charged.
type memBody struct {
	chunks [][]byte
	size   int64

	budget *fillBudget // nil: not accounted (small)
	// refs counts the stored entries holding the body (high 32 bits) and
	// its users (low 32 bits): senders and flights. The body is charged
	// to budget while no store holds it and someone uses it.
	refs atomic.Int64
}

const storeRef = 1 << 32

// newMemBody wraps b (not copied) as a body held by nobody.
func newMemBody(b []byte) *memBody {
	m := &memBody{size: int64(len(b))}
	for len(b) > 0 {
		n := min(len(b), chunkSize)
		m.chunks = append(m.chunks, b[:n:n])
		b = b[n:]
	}
	return m
}

// ref changes the counts of stores and users holding the body and charges
// or releases its size accordingly.
func (m *memBody) ref(stores, users int32) {
	if m == nil || m.budget == nil {
		return
	}
	delta := int64(stores)*storeRef + int64(users)
	now := m.refs.Add(delta)
	if was, is := charged(now-delta), charged(now); was != is {
		if is {
			m.budget.charge(m.size)
		} else {
			m.budget.release(m.size)
		}
	}
}

// charged reports whether a body with these refs is charged: used, and
// held by no store.
func charged(refs int64) bool { return refs>>32 <= 0 && refs&(storeRef-1) > 0 }

// bytes returns the body as one slice (a copy when it has several chunks).
func (m *memBody) bytes() []byte {
	if len(m.chunks) == 1 {
		return m.chunks[0]
	}
	out := make([]byte, 0, m.size)
	for _, c := range m.chunks {
		out = append(out, c...)
	}
	return out
}

// writeRange writes the bytes [off, off+n) of the body to w.
func (m *memBody) writeRange(w io.Writer, off, n int64) (int64, error) {
	var written int64
	for _, c := range m.chunks {
		if n <= 0 {
			break
		}
		if off >= int64(len(c)) {
			off -= int64(len(c))
			continue
		}
		part := c[off:min(int64(len(c)), off+n)]
		off = 0
		k, err := w.Write(part)
		written += int64(k)
		n -= int64(k)
		if err != nil {
			return written, err
		}
	}
	return written, nil
}

// fillBudget bounds the body bytes a proxy holds in memory outside its
// store (see memBody).
type fillBudget struct {
	limit   int64
	used    atomic.Int64
	refused atomic.Int64 // fills passed through because the budget was spent
}

// tryCharge charges n bytes if they fit in the budget.
func (b *fillBudget) tryCharge(n int64) bool {
	for {
		used := b.used.Load()
		if used+n > b.limit {
			return false
		}
		if b.used.CompareAndSwap(used, used+n) {
			return true
		}
	}
}

// charge charges n bytes whether they fit or not: bytes already in memory.
func (b *fillBudget) charge(n int64) { b.used.Add(n) }

func (b *fillBudget) release(n int64) { b.used.Add(-n) }

// openBody is a stored body ready to be written: in memory, or an open
// file. close must be called once it is written.
type openBody struct {
	mem  *memBody
	file *os.File
	size int64
}

func (o openBody) close() {
	if o.mem != nil {
		o.mem.ref(0, -1)
	}
	if o.file != nil {
		o.file.Close()
	}
}

// writeRange writes the bytes [off, off+n) of the body to w, from the file
// with sendfile when w is the proxy's sendWriter.
func (o openBody) writeRange(w io.Writer, off, n int64) (int64, error) {
	if o.mem != nil {
		return o.mem.writeRange(w, off, n)
	}
	if o.file == nil || n <= 0 {
		return 0, nil
	}
	if sw, ok := w.(*sendWriter); ok {
		if _, err := o.file.Seek(off, io.SeekStart); err != nil {
			return 0, err
		}
		return sw.sendFile(o.file, n)
	}
	return io.Copy(w, io.NewSectionReader(o.file, off, n))
}

// writeDeadliner is what net/http's ResponseWriter implements to set the
// connection's write deadline.
type writeDeadliner interface {
	SetWriteDeadline(time.Time) error
}

// sendWriter is the ResponseWriter the proxy answers through: it writes in
// pieces of at most sendPiece bytes, each with IdleSendTimeout to leave
// (but never past the response's SendTimeout), so a client that stops
// reading is disconnected instead of holding its connection and the body
// it was being sent.
type sendWriter struct {
	http.ResponseWriter
	dl       writeDeadliner // nil when the writer cannot set deadlines
	idle     time.Duration
	end      int64 // unix nanoseconds; 0: no bound on the whole response
	setAt    int64 // unix nanoseconds when the deadline was last set
	timedOut bool
	p        *Proxy
}

var sendWriters = sync.Pool{New: func() any { return new(sendWriter) }}

// newSendWriter wraps w for one request (release returns it to the pool
// once the request is answered) and sets its first write deadline, which
// starts the response's SendTimeout.
func (p *Proxy) newSendWriter(w http.ResponseWriter) *sendWriter {
	sw := sendWriters.Get().(*sendWriter)
	*sw = sendWriter{ResponseWriter: w, idle: p.IdleSendTimeout, p: p}
	for rw := w; rw != nil; {
		if d, ok := rw.(writeDeadliner); ok {
			sw.dl = d
			break
		}
		u, ok := rw.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			break
		}
		rw = u.Unwrap()
	}
	sw.extend()
	return sw
}

func (w *sendWriter) release() {
	*w = sendWriter{}
	sendWriters.Put(w)
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *sendWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// extend gives the next write IdleSendTimeout (within SendTimeout). It is
// called before each write; the deadline is moved only once an eighth of
// IdleSendTimeout has passed since it was last set, so a response of many
// small writes does not set it for each.
func (w *sendWriter) extend() {
	if w.dl == nil {
		return
	}
	now := time.Now().UnixNano()
	if w.setAt == 0 && w.p.SendTimeout > 0 {
		w.end = now + int64(w.p.SendTimeout)
	}
	var d int64
	switch {
	case w.idle > 0:
		if w.setAt != 0 && now-w.setAt < int64(w.idle/8) {
			return
		}
		d = now + int64(w.idle)
		if w.end != 0 && w.end < d {
			d = w.end
		}
	case w.end != 0 && w.setAt == 0:
		d = w.end // SendTimeout alone: one deadline
	default:
		return
	}
	w.setAt = now
	_ = w.dl.SetWriteDeadline(time.Unix(0, d))
}

func (w *sendWriter) Write(b []byte) (int, error) {
	var written int
	for {
		piece := b[:min(len(b), sendPiece)]
		w.extend()
		n, err := w.ResponseWriter.Write(piece)
		written += n
		if err != nil {
			w.check(err)
			return written, err
		}
		if b = b[len(piece):]; len(b) == 0 {
			return written, nil
		}
	}
}

// sendFile writes n bytes of f from its current offset, with sendfile
// when the server's writer supports it.
func (w *sendWriter) sendFile(f *os.File, n int64) (int64, error) {
	var written int64
	for written < n {
		w.extend()
		k, err := io.Copy(w.ResponseWriter, io.LimitReader(f, min(n-written, sendPiece)))
		written += k
		if err == nil && k == 0 {
			err = io.ErrUnexpectedEOF // the file is shorter than recorded
		}
		if err != nil {
			w.check(err)
			return written, err
		}
	}
	return written, nil
}

// check counts a client dropped by a send timeout (once per response).
func (w *sendWriter) check(err error) {
	if err != nil && !w.timedOut && errors.Is(err, os.ErrDeadlineExceeded) {
		w.timedOut = true
		w.p.stats.sendTimeouts.Add(1)
	}
}

// FlushError lets http.ResponseController flush through the writer, within
// the send timeouts.
func (w *sendWriter) FlushError() error {
	w.extend()
	err := http.NewResponseController(w.ResponseWriter).Flush()
	w.check(err)
	return err
}
