package simulate

import (
	"net/http"

	"github.com/cdnctl/cdnctl/localedge"
)

// What a queued event does.
type evKind uint8

const (
	evArrive evKind = iota // a fill's request reaches the cache above (the shield)
	evOrigin               // a fill's request reaches the origin, which answers
	evReply                // an answer reaches the fill waiting for it
	evPurge                // a purge reaches a cache
)

// event is something that happens at a virtual time: the simulator's
// discrete events besides the workload's own.
type event struct {
	at   int64  // virtual time, Unix nanoseconds
	seq  uint64 // ties broken in scheduling order
	kind evKind
	n    *node // the cache concerned
	f    *flight
	obj  *object  // evArrive: what is asked
	w    waiter   // evArrive: who waits for the answer
	r    response // evReply
	m    *localedge.PurgeMatcher
	soft bool
}

// queue is a binary min-heap of events by (at, seq).
type queue struct {
	evs []event
	seq uint64
}

func (q *queue) len() int { return len(q.evs) }

func (q *queue) less(i, j int) bool {
	a, b := &q.evs[i], &q.evs[j]
	return a.at < b.at || (a.at == b.at && a.seq < b.seq)
}

func (q *queue) push(ev event) {
	q.seq++
	ev.seq = q.seq
	q.evs = append(q.evs, ev)
	i := len(q.evs) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !q.less(i, parent) {
			break
		}
		q.evs[i], q.evs[parent] = q.evs[parent], q.evs[i]
		i = parent
	}
}

// peek returns the time of the earliest event (ok false when empty).
func (q *queue) peek() (int64, bool) {
	if len(q.evs) == 0 {
		return 0, false
	}
	return q.evs[0].at, true
}

func (q *queue) pop() event {
	top := q.evs[0]
	last := len(q.evs) - 1
	q.evs[0] = q.evs[last]
	q.evs[last] = event{}
	q.evs = q.evs[:last]
	i := 0
	for {
		l, r := 2*i+1, 2*i+2
		small := i
		if l < last && q.less(l, small) {
			small = l
		}
		if r < last && q.less(r, small) {
			small = r
		}
		if small == i {
			break
		}
		q.evs[i], q.evs[small] = q.evs[small], q.evs[i]
		i = small
	}
	return top
}

// waiter is who waits for a cache's answer: a client at an edge, or the
// fill of a cache below (an edge waiting for the shield).
type waiter struct {
	client *clientWait
	down   *flight
	cls    *class
	// cond is the conditional request of a cache below (If-None-Match
	// with its stale copy's ETag), answered 304 when it matches.
	cond http.Header
	// stale is the waiter's own stale entry, if a collapsed waiter must
	// fetch on its own after all.
	stale *localedge.Entry
}

// clientWait is a client request waiting at its edge.
type clientWait struct {
	edge    *node
	at      int64 // when it reached the edge
	rtt     int64 // the client's round trip to the edge
	logical string
	typ     int
	head    bool
}

// response is what a cache or the origin answers: a description of the
// HTTP response, without a body.
type response struct {
	status  int
	tmpl    *template
	version int32
	size    int64
	date    int64 // the origin's Date, Unix nanoseconds (whole seconds)
	age     int64 // the Age field, seconds
	notMod  bool  // 304 to a conditional request
	failed  bool  // no answer at all (the origin is down)
	stale   bool  // a stale stored response was served
	hit     bool  // served from the answering cache's store
}

// object is what a request asks for.
type object struct {
	k       localedge.CacheKey
	logical string // host and path at the origin: its identity across versions
	typ     int
	size    int64
	status  int
	tmpl    *template
	version int32 // the version a versioned URL names (-1: not versioned)
}

// flight is a fill: a cache's request upstream, and who waits for it.
type flight struct {
	n          *node
	obj        *object
	cls        *class
	stale      *localedge.Entry
	cond       http.Header
	start      int64
	registered bool // in the cache's table: later requests collapse onto it
	// purged: a purge since the fill asked selects its URL; tagPurges,
	// purges by tag to compare with the response's tags.
	purged    bool
	tagPurges []*localedge.PurgeMatcher
	hasLeader bool // false for a background refresh
	leader    waiter
	waiters   []waiter // collapsed requests
}
