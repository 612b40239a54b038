package providers

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Backoff is a retry policy: exponential delays with full jitter (AWS
// Architecture Blog, "Exponential Backoff And Jitter"), at least as long as
// a server's Retry-After, bounded by the context. The zero value is a
// sensible default: 5 attempts, 250 ms base, 20 s cap.
type Backoff struct {
	// Attempts is the number of tries, the first included: 0 means
	// DefaultAttempts; a negative value retries until the context is done.
	Attempts int
	// Base is the cap of the first delay (0: 250 ms); each retry doubles
	// it up to Max (0: 20 s).
	Base time.Duration
	Max  time.Duration
	// Min is the shortest delay between tries (0: none): with full
	// jitter a retry could otherwise follow at once, which an API that
	// asks callers to wait (CloudFront's TooManyInvalidationsInProgress)
	// would refuse again.
	Min time.Duration
	// Rand returns a number in [0, 1) for the jitter (nil: math/rand/v2).
	Rand func() float64
	// OnRetry, if set, is called before each wait with the attempt that
	// failed (1-based), the delay and the error (for logs and progress).
	OnRetry func(attempt int, delay time.Duration, err error)
	// Sleep waits between tries (nil: a timer that gives up at once when
	// the wait would outlast ctx's deadline). Tests pass a virtual clock's.
	Sleep func(ctx context.Context, d time.Duration) error
}

func (b Backoff) sleep(ctx context.Context, d time.Duration) error {
	if b.Sleep != nil {
		return b.Sleep(ctx, d)
	}
	return sleep(ctx, d)
}

// DefaultAttempts is the number of tries of a zero Backoff.
const DefaultAttempts = 5

func (b Backoff) attempts() int {
	if b.Attempts == 0 {
		return DefaultAttempts
	}
	return b.Attempts
}

func (b Backoff) ceiling(retry int) time.Duration {
	base, maxd := b.Base, b.Max
	if base <= 0 {
		base = 250 * time.Millisecond
	}
	if maxd <= 0 {
		maxd = 20 * time.Second
	}
	if maxd < base {
		maxd = base
	}
	d := base
	for i := 0; i < retry && d < maxd; i++ {
		d *= 2
	}
	return min(d, maxd)
}

func (b Backoff) rand() float64 {
	if b.Rand != nil {
		return b.Rand()
	}
	return rand.Float64()
}

// Delay is the wait before retry number retry (0 for the first retry): a
// uniformly random duration in [0, min(Max, Base·2^retry)), or in [Min,
// that ceiling) when Min is set (never less than Min).
func (b Backoff) Delay(retry int) time.Duration {
	c := b.ceiling(retry)
	if b.Min <= 0 {
		return time.Duration(b.rand() * float64(c))
	}
	if c <= b.Min {
		return b.Min
	}
	return b.Min + time.Duration(b.rand()*float64(c-b.Min))
}

// pollDelay is Delay with "equal jitter": in [c/2, c), so polls never
// hammer a server with back-to-back requests.
func (b Backoff) pollDelay(retry int) time.Duration {
	c := b.ceiling(retry)
	return c/2 + time.Duration(b.rand()*float64(c/2))
}

// RetryableError marks an error as worth retrying, no sooner than After
// (the server's Retry-After, or 0).
type RetryableError struct {
	Err   error
	After time.Duration
}

func (e *RetryableError) Error() string { return e.Err.Error() }
func (e *RetryableError) Unwrap() error { return e.Err }

// Retryable marks err as transient: Retry tries again, waiting at least
// after. A nil err stays nil.
func Retryable(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return &RetryableError{Err: err, After: after}
}

// Retry calls op until it succeeds, returns an error not marked Retryable,
// runs out of attempts or ctx is done. Between tries it waits b.Delay, or
// the error's After when that is longer. It gives up early, without
// sleeping, when the wait would end after ctx's deadline. The error
// returned is op's last error (unwrapped from RetryableError), annotated
// with the number of attempts when there were several.
func Retry(ctx context.Context, b Backoff, op func(ctx context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := op(ctx)
		if err == nil {
			return nil
		}
		var re *RetryableError
		if !errors.As(err, &re) {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (gave up after %d attempts: %w)", re.Err, attempt, ctx.Err())
		}
		if n := b.attempts(); n > 0 && attempt >= n {
			return attemptsErr(re.Err, attempt)
		}
		delay := max(b.Delay(attempt-1), re.After)
		if b.OnRetry != nil {
			b.OnRetry(attempt, delay, re.Err)
		}
		if err := b.sleep(ctx, delay); err != nil {
			return fmt.Errorf("%w (gave up after %d attempts: %w)", re.Err, attempt, err)
		}
	}
}

// Poll calls check until it reports done, returns an error not marked
// Retryable, runs out of attempts or ctx is done. A Retryable error counts
// as "not done yet". Waits between checks grow like b's delays but never
// drop below half of them, so polls are spaced out.
func Poll(ctx context.Context, b Backoff, check func(ctx context.Context) (done bool, err error)) error {
	var last error
	for attempt := 1; ; attempt++ {
		done, err := check(ctx)
		if err == nil && done {
			return nil
		}
		var re *RetryableError
		var after time.Duration
		last = nil
		if err != nil {
			if !errors.As(err, &re) {
				return err
			}
			last, after = re.Err, re.After
		}
		if n := b.attempts(); n > 0 && attempt >= n {
			if last != nil {
				return attemptsErr(last, attempt)
			}
			return fmt.Errorf("not done after %d checks", attempt)
		}
		delay := max(b.pollDelay(attempt-1), after)
		if b.OnRetry != nil {
			b.OnRetry(attempt, delay, last)
		}
		if err := b.sleep(ctx, delay); err != nil {
			if last != nil {
				return fmt.Errorf("%w (last error: %w)", err, last)
			}
			return err
		}
	}
}

func attemptsErr(err error, attempts int) error {
	if attempts == 1 {
		return err
	}
	return fmt.Errorf("%w (after %d attempts)", err, attempts)
}

// errDeadline is returned by sleep when the wait would outlast ctx.
var errDeadline = errors.New("the next retry would be after the deadline")

// Sleep waits d or until ctx is done. It returns an error at once, without
// waiting, when d would end after ctx's deadline.
func Sleep(ctx context.Context, d time.Duration) error { return sleep(ctx, d) }

// sleep waits d or until ctx is done. It returns at once if d would end
// after ctx's deadline.
func sleep(ctx context.Context, d time.Duration) error {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return fmt.Errorf("%w (in %s)", errDeadline, d.Round(time.Millisecond))
	}
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ParseRetryAfter reads an HTTP Retry-After value (RFC 9110 §10.2.3):
// delay-seconds or an HTTP-date, relative to now. It reports false for an
// empty or malformed value; a date in the past is 0.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// RetryableStatus reports whether an HTTP status is worth retrying: 408,
// 429 and the 5xx codes that mean "try later" (500, 502, 503, 504).
func RetryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}
