package workload

import (
	"errors"
	"io"
	"strings"
)

// Merge reads several sources as one, in time order (the logs of several
// servers, or rotated files): a k-way merge of their events.
func Merge(srcs ...Source) Source {
	if len(srcs) == 1 {
		return srcs[0]
	}
	m := &merged{}
	var names []string
	for i, s := range srcs {
		m.heads = append(m.heads, &mergeHead{src: s, buf: make([]Event, 1024), tag: uint64(i) << 56})
		names = append(names, s.Info().Name)
	}
	m.info = Info{Name: strings.Join(names, ", ")}
	return m
}

type merged struct {
	heads []*mergeHead
	info  Info
}

type mergeHead struct {
	src  Source
	buf  []Event
	n, i int
	err  error
	tag  uint64 // keeps object numbers of different sources apart
}

// fill makes sure the head has an event; false at its end.
func (h *mergeHead) fill() bool {
	for h.i >= h.n {
		if h.err != nil {
			return false
		}
		h.n, h.err = h.src.Read(h.buf)
		h.i = 0
		if h.n == 0 && h.err == nil {
			h.err = io.ErrNoProgress
		}
	}
	return true
}

func (m *merged) Info() Info { return m.info }

func (m *merged) Read(evs []Event) (int, error) {
	n := 0
	for n < len(evs) {
		var best *mergeHead
		for _, h := range m.heads {
			if !h.fill() {
				if h.err != nil && !errors.Is(h.err, io.EOF) {
					if n > 0 {
						return n, nil
					}
					return 0, h.err
				}
				continue
			}
			if best == nil || h.buf[h.i].Time < best.buf[best.i].Time {
				best = h
			}
		}
		if best == nil {
			break
		}
		evs[n] = best.buf[best.i]
		if evs[n].Object != 0 {
			evs[n].Object |= best.tag
		}
		best.i++
		n++
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}
