package simulate

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/simulate/workload"
)

// failing is a source of requests that fails after some: a log whose
// disk goes away. It counts the reads made after Run returned.
type failing struct {
	evs   []workload.Event
	next  int
	err   error
	ended atomic.Bool
	late  atomic.Int64
	// cancel, when set, is called after cancelAt events were read.
	cancel   func()
	cancelAt int
}

func (s *failing) Read(evs []workload.Event) (int, error) {
	if s.ended.Load() {
		s.late.Add(1)
	}
	if s.cancel != nil && s.next >= s.cancelAt {
		s.cancel()
	}
	if s.next >= len(s.evs) {
		return 0, s.err
	}
	n := copy(evs, s.evs[s.next:])
	s.next += n
	return n, nil
}

func (s *failing) Info() workload.Info { return workload.Info{Name: "failing"} }

func manyRequests(n int) []workload.Event {
	evs := make([]workload.Event, n)
	for i := range evs {
		evs[i] = get(time.Duration(i)*time.Millisecond, fmt.Sprintf("/o/%d", i%97), "max-age=3600")
	}
	return evs
}

// TestRunSourceError: a source failing after several batches fails the
// run with its error, and nothing reads the source once Run has returned
// (its caller closes it then).
func TestRunSourceError(t *testing.T) {
	disk := errors.New("input/output error")
	src := &failing{evs: manyRequests(5 * feedBatchSize), err: disk}
	r, err := Run(context.Background(), onePoP(), src, Options{})
	src.ended.Store(true)
	if !errors.Is(err, disk) || r != nil {
		t.Fatalf("Run = %v, %v; want the source's error", r, err)
	}
	if n := src.late.Load(); n != 0 {
		t.Errorf("the source was read %d times after Run returned", n)
	}
}

// TestRunCancelled: a run whose context ends stops with the context's
// error, without reading the source further.
func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := &failing{evs: manyRequests(50 * feedBatchSize), err: errors.New("not reached"), cancel: cancel, cancelAt: 2 * feedBatchSize}
	_, err := Run(ctx, onePoP(), src, Options{})
	src.ended.Store(true)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v; want context.Canceled", err)
	}
	if n := src.late.Load(); n != 0 {
		t.Errorf("the source was read %d times after Run returned", n)
	}
}

// TestRunEveryEvent: every request of a source read in many batches is
// simulated once, in order (the hits and misses of a URL cycle tell).
func TestRunEveryEvent(t *testing.T) {
	n := 7*feedBatchSize + 13
	r := run(t, onePoP(), manyRequests(n))
	if r.Requests != int64(n) {
		t.Fatalf("%d requests simulated; want %d", r.Requests, n)
	}
	// 97 URLs, each fetched once (a fill takes 100 ms, so the first
	// requests of each collapse onto its fill; max-age outlasts the run).
	if r.Origin.Requests != 97 {
		t.Errorf("%d origin requests; want 97", r.Origin.Requests)
	}
}
