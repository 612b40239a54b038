package providers

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// fixedRand makes the jitter deterministic.
func fixedRand(v float64) func() float64 { return func() float64 { return v } }

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Base: 100 * time.Millisecond, Max: time.Second, Rand: fixedRand(0.999999)}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		w *= time.Millisecond
		got := b.Delay(i)
		if got > w || got < w*99/100 {
			t.Errorf("Delay(%d) = %v; want just under %v", i, got, w)
		}
	}
	if got := (Backoff{Rand: fixedRand(0)}).Delay(3); got != 0 {
		t.Errorf("full jitter with rand 0: Delay = %v; want 0", got)
	}
	if got := (Backoff{Base: 10 * time.Millisecond, Max: time.Second, Rand: fixedRand(0)}).pollDelay(2); got != 20*time.Millisecond {
		t.Errorf("pollDelay(2) with rand 0 = %v; want half of 40ms", got)
	}
	// Zero value: 250ms base, 20s cap, 5 attempts.
	z := Backoff{Rand: fixedRand(0.999999)}
	if got := z.Delay(0); got < 249*time.Millisecond || got > 250*time.Millisecond {
		t.Errorf("zero Backoff Delay(0) = %v; want ~250ms", got)
	}
	if got := z.Delay(20); got < 19*time.Second || got > 20*time.Second {
		t.Errorf("zero Backoff Delay(20) = %v; want ~20s", got)
	}
	if z.attempts() != DefaultAttempts {
		t.Errorf("zero Backoff attempts = %d; want %d", z.attempts(), DefaultAttempts)
	}
	// Min: every delay in [Min, ceiling), the ceiling never below Min.
	m := Backoff{Base: 5 * time.Second, Max: time.Minute, Min: 5 * time.Second}
	for i, c := range []struct {
		rand     float64
		retry    int
		from, to time.Duration
	}{
		{0, 0, 5 * time.Second, 5 * time.Second},
		{0.999999, 0, 5 * time.Second, 5 * time.Second},
		{0, 3, 5 * time.Second, 5 * time.Second},
		{0.5, 1, 7500 * time.Millisecond, 7500 * time.Millisecond},
		{0.999999, 6, 59 * time.Second, time.Minute},
	} {
		m.Rand = fixedRand(c.rand)
		if got := m.Delay(c.retry); got < c.from || got > c.to {
			t.Errorf("case %d: Delay(%d) with Min 5s, rand %v = %v; want %v to %v", i, c.retry, c.rand, got, c.from, c.to)
		}
	}
}

func TestRetry(t *testing.T) {
	transient := errors.New("503 slow down")
	permanent := errors.New("400 bad request")
	fast := Backoff{Base: time.Millisecond, Max: 2 * time.Millisecond}

	t.Run("succeeds after transient errors", func(t *testing.T) {
		calls := 0
		var retried []int
		b := fast
		b.OnRetry = func(attempt int, _ time.Duration, err error) {
			if !errors.Is(err, transient) {
				t.Errorf("OnRetry err = %v; want the transient error", err)
			}
			retried = append(retried, attempt)
		}
		err := Retry(context.Background(), b, func(context.Context) error {
			calls++
			if calls < 3 {
				return Retryable(transient, 0)
			}
			return nil
		})
		if err != nil || calls != 3 {
			t.Fatalf("Retry = %v after %d calls; want nil after 3", err, calls)
		}
		if len(retried) != 2 || retried[0] != 1 || retried[1] != 2 {
			t.Errorf("OnRetry attempts = %v; want [1 2]", retried)
		}
	})

	t.Run("stops at a permanent error", func(t *testing.T) {
		calls := 0
		err := Retry(context.Background(), fast, func(context.Context) error {
			calls++
			return permanent
		})
		if !errors.Is(err, permanent) || calls != 1 {
			t.Errorf("Retry = %v after %d calls; want the permanent error after 1", err, calls)
		}
	})

	t.Run("gives up after Attempts and returns the cause", func(t *testing.T) {
		calls := 0
		b := fast
		b.Attempts = 4
		err := Retry(context.Background(), b, func(context.Context) error {
			calls++
			return Retryable(transient, 0)
		})
		if calls != 4 {
			t.Errorf("calls = %d; want 4", calls)
		}
		if !errors.Is(err, transient) || !strings.Contains(err.Error(), "after 4 attempts") {
			t.Errorf("Retry = %v; want the transient error after 4 attempts", err)
		}
		var re *RetryableError
		if errors.As(err, &re) {
			t.Errorf("Retry returned a RetryableError; callers must not retry it again")
		}
	})

	t.Run("waits at least Retry-After", func(t *testing.T) {
		var delays []time.Duration
		b := Backoff{Base: time.Millisecond, Max: time.Millisecond, Rand: fixedRand(0)}
		b.OnRetry = func(_ int, d time.Duration, _ error) { delays = append(delays, d) }
		calls := 0
		err := Retry(context.Background(), b, func(context.Context) error {
			calls++
			if calls == 1 {
				return Retryable(transient, 30*time.Millisecond)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(delays) != 1 || delays[0] != 30*time.Millisecond {
			t.Errorf("delays = %v; want [30ms] (the Retry-After)", delays)
		}
	})

	t.Run("does not sleep past the deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		calls := 0
		start := time.Now()
		err := Retry(ctx, fast, func(context.Context) error {
			calls++
			return Retryable(transient, 2*time.Hour)
		})
		if calls != 1 || !errors.Is(err, transient) || !errors.Is(err, errDeadline) {
			t.Errorf("Retry = %v after %d calls; want the cause and errDeadline after 1 call", err, calls)
		}
		if time.Since(start) > time.Minute {
			t.Errorf("Retry slept although the retry was past the deadline")
		}
	})

	t.Run("cancellation stops the wait", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		calls := 0
		done := make(chan error, 1)
		go func() {
			done <- Retry(ctx, Backoff{Attempts: -1, Base: time.Hour, Max: time.Hour, Rand: fixedRand(0.5)}, func(context.Context) error {
				calls++
				return Retryable(transient, 0)
			})
		}()
		cancel()
		err := <-done
		if !errors.Is(err, context.Canceled) || !errors.Is(err, transient) {
			t.Errorf("Retry = %v; want context.Canceled and the cause", err)
		}
	})
}

func TestPoll(t *testing.T) {
	fast := Backoff{Attempts: -1, Base: time.Millisecond, Max: 2 * time.Millisecond}
	t.Run("until done, transient errors count as not done", func(t *testing.T) {
		checks := 0
		err := Poll(context.Background(), fast, func(context.Context) (bool, error) {
			checks++
			switch checks {
			case 1:
				return false, nil
			case 2:
				return false, Retryable(errors.New("throttled"), 0)
			}
			return true, nil
		})
		if err != nil || checks != 3 {
			t.Errorf("Poll = %v after %d checks; want nil after 3", err, checks)
		}
	})
	t.Run("permanent error", func(t *testing.T) {
		bad := errors.New("no such invalidation")
		err := Poll(context.Background(), fast, func(context.Context) (bool, error) { return false, bad })
		if !errors.Is(err, bad) {
			t.Errorf("Poll = %v; want %v", err, bad)
		}
	})
	t.Run("attempts run out", func(t *testing.T) {
		b := fast
		b.Attempts = 3
		checks := 0
		err := Poll(context.Background(), b, func(context.Context) (bool, error) { checks++; return false, nil })
		if err == nil || checks != 3 {
			t.Errorf("Poll = %v after %d checks; want an error after 3", err, checks)
		}
	})
	t.Run("context timeout", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		err := Poll(ctx, fast, func(context.Context) (bool, error) { return false, nil })
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, errDeadline) {
			t.Errorf("Poll = %v; want a deadline error", err)
		}
	})
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"120", 2 * time.Minute, true},
		{" 5 ", 5 * time.Second, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
	}
	for _, tt := range tests {
		got, ok := ParseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestRetryableStatus(t *testing.T) {
	for code, want := range map[int]bool{200: false, 400: false, 401: false, 403: false, 404: false, 408: true, 429: true, 500: true, 501: false, 502: true, 503: true, 504: true} {
		if got := RetryableStatus(code); got != want {
			t.Errorf("RetryableStatus(%d) = %v; want %v", code, got, want)
		}
	}
}

// fakeClock is a manually advanced clock for the token bucket.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestTokenBucketReserve(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	b := NewTokenBucket(2, 3, clk.Now) // 2 per second, burst 3
	for i := range 3 {
		if d := b.reserve(1); d != 0 {
			t.Fatalf("token %d of the burst waits %v; want 0", i+1, d)
		}
	}
	if d := b.reserve(1); d != 500*time.Millisecond {
		t.Errorf("4th token waits %v; want 500ms", d)
	}
	if d := b.reserve(1); d != time.Second {
		t.Errorf("5th token waits %v; want 1s", d)
	}
	clk.Advance(10 * time.Second) // refills to the burst, not beyond
	for i := range 3 {
		if d := b.reserve(1); d != 0 {
			t.Fatalf("after refill, token %d waits %v; want 0", i+1, d)
		}
	}
	if d := b.reserve(1); d <= 0 {
		t.Errorf("the bucket refilled beyond its burst")
	}

	// A 429 with Retry-After 30s: nobody goes before then, then pacing resumes.
	clk.Advance(time.Minute)
	b.PauseUntil(clk.Now().Add(30 * time.Second))
	if d := b.reserve(1); d != 30*time.Second {
		t.Errorf("after PauseUntil(+30s) the next token waits %v; want 30s", d)
	}
	if d := b.reserve(1); d != 30*time.Second+500*time.Millisecond {
		t.Errorf("the one after waits %v; want 30.5s", d)
	}
}

func TestTokenBucketWait(t *testing.T) {
	b := NewTokenBucket(1000, 1, nil)
	ctx := context.Background()
	for range 5 {
		if err := b.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	slow := NewTokenBucket(0.001, 1, nil)
	if err := slow.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := slow.Wait(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait on a cancelled context = %v; want context.Canceled", err)
	}
	unlimited := NewTokenBucket(0, 1, nil)
	for range 100 {
		if d := unlimited.reserve(1); d != 0 {
			t.Fatalf("unlimited bucket waits %v", d)
		}
	}
}

func TestTokenBucketReserveN(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	b := NewTokenBucket(800, 800, clk.Now) // Cloudflare Free: 800 URLs per second
	if d := b.reserve(500); d != 0 {
		t.Errorf("500 of a full bucket of 800 wait %v; want 0", d)
	}
	if d := b.reserve(500); d != 250*time.Millisecond {
		t.Errorf("500 more wait %v; want 250ms (200 short at 800/s)", d)
	}
	clk.Advance(10 * time.Second)
	if d := b.reserve(2000); d != 1500*time.Millisecond {
		t.Errorf("2000 (more than the burst) wait %v; want 1.5s", d)
	}
}
