package edgecompress

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Levels of the encoders: what on-the-fly compressors of CDNs and web
// servers use (brotli 5, zstd's default level 3, gzip 6), with windows
// of 1 MiB, so that an encoder takes a few MiB at most.
const (
	BrotliQuality = 5
	GzipLevel     = 6
	windowLog     = 20
)

// readSize is how much of the uncompressed body is read at a time.
const readSize = 32 << 10

// DefaultMaxConcurrent is the number of responses compressed at once by
// a Compressor whose MaxConcurrent is 0: twice the processors, at least 4.
func DefaultMaxConcurrent() int { return max(4, 2*runtime.GOMAXPROCS(0)) }

// encoder is what the three codings' writers have in common.
type encoder interface {
	io.WriteCloser
	Reset(io.Writer)
}

// Compressor compresses response bodies as they stream, with pooled
// encoders and at most MaxConcurrent bodies at once: a response waits for
// a slot (the bodies waiting are not read yet, so they cost no memory
// here), and one that waits too long is not compressed (as CloudFront says
// it may skip compression when busy), so memory stays bounded whatever the
// load.
type Compressor struct {
	policy Policy
	slots  chan struct{}
	pools  map[string]*sync.Pool // by coding; written once by New

	compressed map[string]*atomic.Int64 // responses compressed, by coding
	bytesIn    atomic.Int64
	bytesOut   atomic.Int64
	busy       atomic.Int64
}

// New returns a Compressor applying policy, compressing at most
// maxConcurrent bodies at once (DefaultMaxConcurrent when 0 or less).
func New(policy Policy, maxConcurrent int) (*Compressor, error) {
	if err := policy.Check(); err != nil {
		return nil, fmt.Errorf("edge compression: %w", err)
	}
	if maxConcurrent <= 0 {
		maxConcurrent = DefaultMaxConcurrent()
	}
	c := &Compressor{
		policy:     policy,
		slots:      make(chan struct{}, maxConcurrent),
		pools:      map[string]*sync.Pool{},
		compressed: map[string]*atomic.Int64{},
	}
	for _, coding := range []string{Brotli, Zstd, Gzip} {
		c.pools[coding] = &sync.Pool{New: newEncoder(coding)}
		c.compressed[coding] = new(atomic.Int64)
	}
	return c, nil
}

func newEncoder(coding string) func() any {
	switch coding {
	case Brotli:
		return func() any {
			return brotli.NewWriterOptions(io.Discard, brotli.WriterOptions{Quality: BrotliQuality, LGWin: windowLog})
		}
	case Zstd:
		return func() any {
			e, err := zstd.NewWriter(io.Discard, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<windowLog), zstd.WithLowerEncoderMem(true))
			if err != nil {
				panic(err) // fixed, valid options
			}
			return e
		}
	default:
		return func() any {
			w, err := gzip.NewWriterLevel(io.Discard, GzipLevel)
			if err != nil {
				panic(err) // fixed, valid level
			}
			return w
		}
	}
}

// Policy returns the policy the Compressor applies.
func (c *Compressor) Policy() Policy { return c.policy }

// Decide returns the coding a response gets for a request whose
// Accept-Encoding is ae: "" when the response is not eligible (reason
// says why), "identity" (reason NotAccepted) when it is but the client
// accepts no coding produced. An eligible response varies on
// Accept-Encoding whatever the coding (see AddVary).
func (c *Compressor) Decide(ae []string, status int, h http.Header, contentLength int64) (coding, reason string) {
	if ok, why := c.policy.Eligible(status, h, contentLength); !ok {
		return "", why
	}
	coding = Negotiate(ae, c.policy.Encodings)
	if coding == identity {
		return identity, NotAccepted
	}
	return coding, ""
}

// ErrBusy is returned by Reader when no compression slot came free in
// time.
var ErrBusy = errors.New("edge compression: every compressor is busy")

// Reader returns a reader of src compressed with coding, which closes src
// when closed. It takes one of the Compressor's slots until it reaches the
// end of src, fails, or is closed, waiting for one while ctx allows; when
// ctx ends first it returns ErrBusy.
func (c *Compressor) Reader(ctx context.Context, src io.ReadCloser, coding string) (io.ReadCloser, error) {
	pool, ok := c.pools[coding]
	if !ok {
		return nil, fmt.Errorf("edge compression: unknown coding %q", coding)
	}
	select {
	case c.slots <- struct{}{}:
	default:
		select {
		case c.slots <- struct{}{}:
		case <-ctx.Done():
			c.busy.Add(1)
			return nil, ErrBusy
		}
	}
	r := &reader{c: c, src: src, coding: coding, pool: pool, in: make([]byte, readSize)}
	r.enc = pool.Get().(encoder)
	r.enc.Reset(&r.out)
	c.compressed[coding].Add(1)
	return r, nil
}

// Stats are a Compressor's counters.
type Stats struct {
	// Compressed counts the responses compressed, by coding.
	Compressed map[string]int64
	// BytesIn and BytesOut are the body bytes read and produced.
	BytesIn, BytesOut int64
	// Busy counts the responses not compressed because no slot came
	// free in time.
	Busy int64
	// Active is the number of bodies being compressed, MaxConcurrent its
	// bound.
	Active, MaxConcurrent int
}

// Stats returns the Compressor's counters.
func (c *Compressor) Stats() Stats {
	s := Stats{
		Compressed: map[string]int64{},
		BytesIn:    c.bytesIn.Load(), BytesOut: c.bytesOut.Load(), Busy: c.busy.Load(),
		Active: len(c.slots), MaxConcurrent: cap(c.slots),
	}
	for coding, n := range c.compressed {
		s.Compressed[coding] = n.Load()
	}
	return s
}

// reader compresses src as it is read: each Read compresses the next
// readSize bytes of src into out (at most about as many bytes) and hands
// them out, so nothing but one chunk is ever buffered.
type reader struct {
	c      *Compressor
	src    io.ReadCloser
	coding string
	pool   *sync.Pool
	enc    encoder // nil once released
	in     []byte
	out    bytes.Buffer
	err    error // sticky: io.EOF at the end
}

func (r *reader) Read(p []byte) (int, error) {
	for r.out.Len() == 0 {
		if r.err != nil {
			return 0, r.err
		}
		n, err := r.src.Read(r.in)
		if n > 0 {
			r.c.bytesIn.Add(int64(n))
			if _, werr := r.enc.Write(r.in[:n]); werr != nil {
				r.fail(werr)
				continue
			}
		}
		switch {
		case err == io.EOF:
			if cerr := r.enc.Close(); cerr != nil {
				r.fail(cerr)
				continue
			}
			r.err = io.EOF
			r.release()
		case err != nil:
			r.fail(err)
		}
	}
	n, _ := r.out.Read(p)
	r.c.bytesOut.Add(int64(n))
	return n, nil
}

func (r *reader) fail(err error) {
	r.err = err
	r.out.Reset() // never hand out part of a broken stream's end
	r.release()
}

// release gives back the encoder and the slot (once).
func (r *reader) release() {
	if r.enc == nil {
		return
	}
	r.enc.Reset(io.Discard) // drop the reference to out
	r.pool.Put(r.enc)
	r.enc = nil
	r.in = nil
	<-r.c.slots
}

// Close releases the reader's slot and encoder and closes src.
func (r *reader) Close() error {
	r.release()
	if r.err == nil {
		r.err = errors.New("edge compression: reader closed")
	}
	return r.src.Close()
}
