package providers

import (
	"context"
	"sync"
	"time"
)

// TokenBucket paces requests to an API that rate-limits with a token
// bucket (Cloudflare's purge API does): it holds up to burst tokens,
// refills rate tokens per second, and Wait takes one, sleeping until one is
// due. After a 429, PauseUntil holds every caller until the server's
// Retry-After has passed. It is safe for concurrent use.
type TokenBucket struct {
	// Sleep waits d or until ctx is done (nil: a timer). Tests pair it
	// with the clock given to NewTokenBucket to run in virtual time. Set
	// it before the first Wait.
	Sleep func(ctx context.Context, d time.Duration) error

	rate  float64 // tokens per second; <= 0: unlimited (written once)
	burst float64 // written once
	now   func() time.Time

	mu     sync.Mutex // guards the fields below
	tokens float64    // may go negative: tokens reserved by waiting callers
	last   time.Time  // when tokens was last brought up to date
	paused time.Time  // no token is handed out before this
}

// NewTokenBucket returns a full bucket of burst tokens refilled at rate
// per second. A rate <= 0 never waits (but still honours PauseUntil). now
// is the clock (nil: time.Now).
func NewTokenBucket(rate float64, burst int, now func() time.Time) *TokenBucket {
	if now == nil {
		now = time.Now
	}
	if burst < 1 {
		burst = 1
	}
	return &TokenBucket{rate: rate, burst: float64(burst), tokens: float64(burst), now: now, last: now()}
}

// Wait takes a token, sleeping until one is available or ctx is done. A
// token reserved by a cancelled Wait is given back.
func (b *TokenBucket) Wait(ctx context.Context) error { return b.WaitN(ctx, 1) }

// WaitN takes n tokens (an API that counts items, not requests, such as
// Cloudflare's URLs per second), sleeping until they are available or ctx
// is done. n may exceed the burst: the caller then waits for the bucket to
// refill that far. Tokens reserved by a cancelled WaitN are given back.
func (b *TokenBucket) WaitN(ctx context.Context, n int) error {
	n = max(n, 1)
	d := b.reserve(float64(n))
	if d <= 0 {
		return ctx.Err()
	}
	sleepFn := b.Sleep
	if sleepFn == nil {
		sleepFn = sleep
	}
	if err := sleepFn(ctx, d); err != nil {
		b.mu.Lock()
		b.tokens += float64(n)
		b.mu.Unlock()
		return err
	}
	return nil
}

// reserve takes n tokens and returns how long the caller must wait for
// them.
func (b *TokenBucket) reserve(n float64) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	var wait time.Duration
	if now.Before(b.paused) {
		wait = b.paused.Sub(now)
	}
	if b.rate <= 0 {
		return wait
	}
	b.refill(now)
	b.tokens -= n
	if b.tokens < 0 {
		due := b.last.Add(time.Duration(-b.tokens / b.rate * float64(time.Second)))
		wait = max(wait, due.Sub(now))
	}
	return wait
}

// PauseUntil holds every Wait until t (a server said Retry-After) and
// leaves one token for t, since the server's bucket was empty: the next
// requests are paced from t on.
func (b *TokenBucket) PauseUntil(t time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t.After(b.paused) {
		b.paused = t
	}
	if b.rate > 0 {
		b.refill(b.now())
		if t.After(b.last) {
			b.tokens = min(b.tokens, 1)
			b.last = t
		}
	}
}

// refill adds the tokens earned since b.last. b.mu must be held.
func (b *TokenBucket) refill(now time.Time) {
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(b.burst, b.tokens+el*b.rate)
		b.last = now
	}
}
