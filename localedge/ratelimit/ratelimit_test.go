package ratelimit

import (
	"net/netip"
	"runtime"
	"testing"
	"time"
)

func TestTake(t *testing.T) {
	const s = int64(time.Second)
	tests := []struct {
		name        string
		in          Bucket
		now         int64
		rate, burst float64
		want        Bucket
		ok          bool
		wait        time.Duration
	}{
		{"full bucket", Bucket{Tokens: 5, Last: 0}, 0, 1, 5, Bucket{Tokens: 4, Last: 0}, true, 0},
		{"last token", Bucket{Tokens: 1, Last: 0}, 0, 1, 5, Bucket{Tokens: 0, Last: 0}, true, 0},
		{"empty: wait for one token", Bucket{Tokens: 0, Last: 0}, 0, 2, 5, Bucket{Tokens: 0, Last: 0}, false, 500 * time.Millisecond},
		{"refilled half a token", Bucket{Tokens: 0, Last: 0}, s / 4, 2, 5, Bucket{Tokens: 0.5, Last: s / 4}, false, 250 * time.Millisecond},
		{"refill capped at burst", Bucket{Tokens: 0, Last: 0}, 100 * s, 1, 3, Bucket{Tokens: 2, Last: 100 * s}, true, 0},
		{"clock going back does not refill", Bucket{Tokens: 0.5, Last: 10 * s}, 5 * s, 1, 3, Bucket{Tokens: 0.5, Last: 10 * s}, false, 500 * time.Millisecond},
	}
	for _, tt := range tests {
		got, ok, wait := Take(tt.in, tt.now, tt.rate, tt.burst)
		if got != tt.want || ok != tt.ok || wait != tt.wait {
			t.Errorf("%s: Take(%+v, %d, %v, %v) = %+v, %v, %v; want %+v, %v, %v", tt.name, tt.in, tt.now, tt.rate, tt.burst, got, ok, wait, tt.want, tt.ok, tt.wait)
		}
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want int64
	}{{0, 1}, {time.Millisecond, 1}, {time.Second, 1}, {1001 * time.Millisecond, 2}, {59500 * time.Millisecond, 60}} {
		if got := RetryAfterSeconds(tt.d); got != tt.want {
			t.Errorf("RetryAfterSeconds(%v) = %d; want %d", tt.d, got, tt.want)
		}
	}
}

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

func TestAllowPerClientAndPath(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	l, err := New(Config{Rate: 1, Burst: 3, Rules: []Rule{{Path: "/login", Rate: 0.5, Burst: 1}, {Path: "/api/*", Rate: 10, Burst: 2}}, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	a, b := netip.MustParseAddr("127.1.0.1"), netip.MustParseAddr("127.1.0.2")
	var got []bool
	for range 5 {
		ok, _ := l.Allow(a, "/index.html")
		got = append(got, ok)
	}
	if want := []bool{true, true, true, false, false}; !equal(got, want) {
		t.Errorf("a's burst of 5 = %v; want %v", got, want)
	}
	if ok, _ := l.Allow(b, "/index.html"); !ok {
		t.Errorf("b limited by a's requests")
	}
	// Path rules have their own buckets.
	if ok, _ := l.Allow(a, "/login"); !ok {
		t.Errorf("a's first /login limited by its default bucket")
	}
	ok, retry := l.Allow(a, "/login")
	if ok || retry != 2*time.Second {
		t.Errorf("a's second /login = %v, retry %v; want limited, retry after 2s", ok, retry)
	}
	if ok, _ := l.Allow(a, "/api/v1/users"); !ok {
		t.Errorf("a's /api/ request limited by another bucket")
	}
	// IPv4-mapped IPv6 addresses are the same client.
	if ok, _ := l.Allow(netip.MustParseAddr("::ffff:127.1.0.1"), "/index.html"); ok {
		t.Errorf("a as ::ffff:127.1.0.1 got a fresh bucket")
	}
	c.t = c.t.Add(time.Second)
	if ok, _ := l.Allow(a, "/index.html"); !ok {
		t.Errorf("a not allowed one request after a second at 1/s")
	}
	st := l.Stats()
	if st.Allowed != 7 || st.Limited != 4 || st.Clients != 4 {
		t.Errorf("Stats = %+v; want 7 allowed, 4 limited, 4 buckets", st)
	}
}

func TestNewErrors(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{Rate: 1},
		{Rate: -1, Burst: 1},
		{Rate: 1, Burst: 1, MaxClients: -1},
		{Rules: []Rule{{Path: "api/*", Rate: 1, Burst: 1}}},
		{Rules: []Rule{{Path: "/api/*", Burst: 1}}},
		{Rules: []Rule{{Path: "/a/*/*", Rate: 1, Burst: 1}}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) = nil error; want one", cfg)
		}
	}
}

// TestMemoryBound sends requests from far more client addresses than the
// table holds: the table never grows, the limit still works for an active
// client, and the heap grows by about Capacity × EntryBytes at most.
func TestMemoryBound(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	l, err := New(Config{Rate: 1, Burst: 2, MaxClients: 1 << 14, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	active := netip.MustParseAddr("127.0.0.9")
	limitedActive := 0
	for i := range 300_000 {
		addr := netip.AddrFrom4([4]byte{127, byte(i >> 16), byte(i >> 8), byte(i)})
		l.Allow(addr, "/")
		if i%1000 == 0 {
			c.t = c.t.Add(time.Millisecond)
			if ok, _ := l.Allow(active, "/"); !ok {
				limitedActive++
			}
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if n := l.Len(); n > l.Capacity() {
		t.Errorf("Len = %d; want at most the capacity %d", n, l.Capacity())
	}
	if l.Stats().Evictions < 300_000-int64(l.Capacity()) {
		t.Errorf("evictions = %d; want every address past the capacity to evict one", l.Stats().Evictions)
	}
	// The active client keeps its bucket (CLOCK keeps referenced entries)
	// and is limited: 300 requests in 0.3 s at 1/s with a burst of 2.
	if limitedActive < 290 {
		t.Errorf("active client limited %d times of 300; want its bucket kept across the flood", limitedActive)
	}
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	if limit := int64(l.Capacity()) * EntryBytes; grown > limit {
		t.Errorf("heap grew by %d bytes for %d buckets (%d per bucket); want at most EntryBytes=%d each", grown, l.Capacity(), grown/int64(l.Capacity()), EntryBytes)
	}
	t.Logf("heap: %d bytes for %d buckets (%d per bucket)", grown, l.Capacity(), grown/int64(l.Capacity()))
	runtime.KeepAlive(l)
}

func equal(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
