package geodns

import (
	"net/netip"
	"sync"
	"time"
)

// rateLimiter is a response rate limiter for UDP (in the spirit of BIND's
// RRL): a token bucket per client network (/24 for IPv4, /56 for IPv6).
// Over the limit, every other response "slips" out truncated, so a real
// client retries over TCP (which a spoofed source cannot), and the others
// are dropped.
type rateLimiter struct {
	rate float64 // tokens per second; also the burst
	now  func() time.Time

	mu        sync.Mutex // guards the fields below
	buckets   map[[8]byte]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens  float64
	last    time.Time
	limited uint64
}

// sweepEvery is how often idle buckets are forgotten.
const sweepEvery = 10 * time.Second

func newRateLimiter(perSecond int, now func() time.Time) *rateLimiter {
	return &rateLimiter{rate: float64(perSecond), now: now, buckets: make(map[[8]byte]*bucket)}
}

func limiterKey(a netip.Addr) [8]byte {
	var k [8]byte
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		k[0] = 4
		copy(k[1:], b[:3])
		return k
	}
	b := a.As16()
	k[0] = 6
	copy(k[1:], b[:7])
	return k
}

// allow reports whether a response to a may be sent; when not, slip says
// whether to send a truncated response instead of nothing.
func (l *rateLimiter) allow(a netip.Addr) (ok, slip bool) {
	now := l.now()
	k := limiterKey(a)
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > sweepEvery {
		for key, b := range l.buckets {
			if now.Sub(b.last).Seconds()*l.rate+b.tokens >= l.rate {
				delete(l.buckets, key)
			}
		}
		l.lastSweep = now
	}
	b := l.buckets[k]
	if b == nil {
		b = &bucket{tokens: l.rate, last: now}
		l.buckets[k] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(l.rate, b.tokens+el*l.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, false
	}
	b.limited++
	return false, b.limited%2 == 1
}
