package workload

import (
	"context"
	"io"
)

// Prefetch reads src on a goroutine of its own, a few batches ahead, so
// that parsing a log runs on another core than the simulation reading it.
// The goroutine ends at the source's end or error, or when ctx ends (then
// the returned Source ends early: its reader must check ctx); the returned
// Source must be read to its end or ctx cancelled.
func Prefetch(ctx context.Context, src Source) Source {
	const batches, size = 4, 4096
	p := &prefetched{src: src, full: make(chan batch, batches), free: make(chan []Event, batches+1)}
	for range batches + 1 {
		p.free <- make([]Event, size)
	}
	go p.fill(ctx)
	return p
}

type batch struct {
	evs []Event
	err error
}

type prefetched struct {
	src  Source
	full chan batch
	free chan []Event
	cur  []Event // the batch being handed out
	buf  []Event // its buffer, returned to free when done
	err  error
}

func (p *prefetched) fill(ctx context.Context) {
	defer close(p.full)
	for {
		var buf []Event
		select {
		case buf = <-p.free:
		case <-ctx.Done():
			return // the reader checks its context
		}
		n, err := p.src.Read(buf)
		select {
		case p.full <- batch{evs: buf[:n], err: err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// Info implements Source.
func (p *prefetched) Info() Info { return p.src.Info() }

// Read implements Source.
func (p *prefetched) Read(evs []Event) (int, error) {
	for len(p.cur) == 0 {
		if p.buf != nil {
			p.free <- p.buf[:cap(p.buf)]
			p.buf = nil
		}
		if p.err != nil {
			return 0, p.err
		}
		b, ok := <-p.full
		if !ok {
			return 0, io.EOF
		}
		p.cur, p.buf, p.err = b.evs, b.evs, b.err
	}
	n := copy(evs, p.cur)
	p.cur = p.cur[n:]
	return n, nil
}
