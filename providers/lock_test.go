package providers_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/deploystate"
	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/storetest"
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func holder(user, host string, pid int) deploystate.Holder {
	return deploystate.Holder{User: user, Host: host, PID: pid, Namespace: "pid:[4026531836] boot 1"}
}

func lockOpts(h deploystate.Holder, c *clock) providers.LockOptions {
	o := providers.LockOptions{Operation: "deploy", Holder: h, Now: c.Now, StaleAfter: time.Minute}
	return providers.LockTestHooks(o, func(int) bool { return true }, time.Millisecond)
}

func TestLockSecondDeployFailsClearly(t *testing.T) {
	ctx := context.Background()
	m := &storetest.Memory{}
	c := &clock{t: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	first, _, err := providers.AcquireLock(ctx, m, lockOpts(holder("ci", "runner-3", 100), c))
	if err != nil {
		t.Fatal(err)
	}
	if err := first.SetDeployID(ctx, "20261207T100000Z-3f9a1c0e"); err != nil {
		t.Fatal(err)
	}
	c.Add(40 * time.Second)
	_, _, err = providers.AcquireLock(ctx, m, lockOpts(holder("alice", "laptop", 200), c))
	var le *providers.LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second AcquireLock = %v; want a *LockedError", err)
	}
	for _, want := range []string{"deploy 20261207T100000Z-3f9a1c0e by ci@runner-3 started 40 s ago holds the lock on memory:state", "--force-unlock", "--lock-wait"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q; want it to say %q", err, want)
		}
	}
	if err := first.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if m.State(providers.LockName) != nil {
		t.Error("Release left the lock file")
	}
	second, _, err := providers.AcquireLock(ctx, m, lockOpts(holder("alice", "laptop", 200), c))
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	second.Release(ctx)
}

func TestLockWaitsForTheHolder(t *testing.T) {
	ctx := context.Background()
	m := &storetest.Memory{}
	first, _, err := providers.AcquireLock(ctx, m, providers.LockOptions{Operation: "push", Holder: holder("ci", "a", 1)})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		first.Release(ctx)
	}()
	o := providers.LockTestHooks(providers.LockOptions{Operation: "push", Holder: holder("ci", "b", 2), Wait: 10 * time.Second}, nil, 5*time.Millisecond)
	start := time.Now()
	second, _, err := providers.AcquireLock(ctx, m, o)
	if err != nil {
		t.Fatalf("waiting AcquireLock = %v; want the lock once the first released it", err)
	}
	if time.Since(start) < 40*time.Millisecond {
		t.Errorf("got the lock after %s, before the holder released it", time.Since(start))
	}
	second.Release(ctx)
}

func TestLockTakeovers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		advance time.Duration
		host    string // of the second deploy
		alive   bool   // the first deploy's process
		force   bool
		want    bool // the second deploy gets the lock
	}{
		{"fresh, held elsewhere", 30 * time.Second, "b", false, false, false},
		{"stale", 61 * time.Second, "b", true, false, true},
		{"holder on this machine is gone", time.Second, "a", false, false, true},
		{"holder on this machine runs", time.Second, "a", true, false, false},
		{"forced", time.Second, "b", true, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			m := &storetest.Memory{}
			c := &clock{t: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
			first, fctx, err := providers.AcquireLock(ctx, m, lockOpts(holder("ci", "a", 100), c))
			if err != nil {
				t.Fatal(err)
			}
			c.Add(tc.advance)
			o := lockOpts(holder("ci", tc.host, 200), c)
			o.Force = tc.force
			o = providers.LockTestHooks(o, func(int) bool { return tc.alive }, time.Millisecond)
			second, _, err := providers.AcquireLock(ctx, m, o)
			if got := err == nil; got != tc.want {
				t.Fatalf("second AcquireLock = %v; want the lock: %v", err, tc.want)
			}
			if !tc.want {
				first.Release(ctx)
				return
			}
			// The first holder finds out at its next refresh, and its
			// context is cancelled.
			err = first.SetDeployID(ctx, "x")
			if !errors.Is(err, providers.ErrLockLost) {
				t.Errorf("first holder's update after a takeover = %v; want ErrLockLost", err)
			}
			if err := first.Release(ctx); !errors.Is(err, providers.ErrLockLost) {
				t.Errorf("first holder's Release = %v; want ErrLockLost (the lock is not its to delete)", err)
			}
			if fctx.Err() == nil {
				t.Error("first holder's context not cancelled after Release")
			}
			if m.State(providers.LockName) == nil {
				t.Error("the first holder's Release deleted the second's lock")
			}
			second.Release(ctx)
		})
	}
}

func TestLockLostCancelsTheDeploy(t *testing.T) {
	ctx := context.Background()
	m := &storetest.Memory{}
	o := providers.LockOptions{Operation: "deploy", Holder: holder("ci", "a", 1), StaleAfter: 50 * time.Millisecond}
	l, lctx, err := providers.AcquireLock(ctx, m, o)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(ctx)
	// Someone forces the lock away.
	forced := providers.LockOptions{Operation: "deploy", Holder: holder("bob", "b", 2), Force: true}
	other, _, err := providers.AcquireLock(ctx, m, forced)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Release(ctx)
	select {
	case <-lctx.Done():
		if !errors.Is(context.Cause(lctx), providers.ErrLockLost) {
			t.Errorf("cause = %v; want ErrLockLost", context.Cause(lctx))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the deploy's context was not cancelled after its lock was taken over")
	}
}

func TestAgo(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{{40 * time.Second, "40 s"}, {200 * time.Second, "3 min 20 s"}, {5 * time.Minute, "5 min"}, {125 * time.Minute, "2 h 5 min"}, {-time.Second, "0 s"}} {
		if got := providers.Ago(tc.d); got != tc.want {
			t.Errorf("Ago(%s) = %q; want %q", tc.d, got, tc.want)
		}
	}
}
