package providers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"strings"
	"sync"
	"time"

	"github.com/cdnctl/cdnctl/deploystate"
)

// DefaultLockStale is how long a lock may go without being refreshed
// before another deploy takes it over: its holder refreshes it every
// fifth of that.
const DefaultLockStale = 5 * time.Minute

// ErrLockLost is the cause of a locked context's cancellation when
// another deploy took the lock over (it found it stale, or was told to
// with --force-unlock).
var ErrLockLost = errors.New("deploy lock lost: another deploy took it over")

// LockOptions configure AcquireLock.
type LockOptions struct {
	// Operation is "deploy", "push" or "rollback" (what the lock says
	// holds it).
	Operation string
	// Holder says who takes the lock (CurrentHolder).
	Holder deploystate.Holder
	// StaleAfter is how long the lock may go unrefreshed before others
	// take it over (DefaultLockStale if 0).
	StaleAfter time.Duration
	// Wait is how long to wait for a lock someone else holds before
	// failing with a *LockedError (0: fail at once).
	Wait time.Duration
	// Force takes the lock whoever holds it (--force-unlock).
	Force bool
	// Now is the clock (time.Now if nil).
	Now func() time.Time
	// Logger gets the waits and takeovers (nil: discard).
	Logger *slog.Logger

	// alive reports whether a process of this machine runs (processAlive
	// if nil); tests replace it.
	alive func(pid int) bool
	// poll is how often a waiting deploy looks at the lock again (1 s if 0).
	poll time.Duration
}

// LockedError is returned by AcquireLock when another deploy holds the
// lock: it says which, by whom, since when, and what to do.
type LockedError struct {
	Held     deploystate.Lock
	Location string
	// Age is how long ago the holder started; Refreshed how long ago it
	// last said it was alive.
	Age, Refreshed time.Duration
}

func (e *LockedError) Error() string {
	what := e.Held.Operation
	if what == "" {
		what = "deploy"
	}
	if e.Held.DeployID != "" {
		what += " " + e.Held.DeployID
	} else {
		what = "a " + what + " (still planning)"
	}
	return fmt.Sprintf("%s by %s started %s ago holds the lock on %s (refreshed %s ago); wait for it to finish (--lock-wait DURATION waits), or, if it is gone, run again with --force-unlock (a lock not refreshed for %s is taken over by itself)",
		what, e.Held.Holder, Ago(e.Age), e.Location, Ago(e.Refreshed), Ago(e.Held.StaleAfter()))
}

// Ago writes a duration the way people read an age: "40 s", "3 min 20 s",
// "2 h 5 min".
func Ago(d time.Duration) string {
	d = max(d, 0).Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		m, s := int(d.Minutes()), int(d.Seconds())%60
		if s == 0 {
			return fmt.Sprintf("%d min", m)
		}
		return fmt.Sprintf("%d min %d s", m, s)
	default:
		h, m := int(d.Hours()), int(d.Minutes())%60
		if m == 0 {
			return fmt.Sprintf("%d h", h)
		}
		return fmt.Sprintf("%d h %d min", h, m)
	}
}

// Lock is a held deploy lock. A goroutine refreshes it until Release.
type Lock struct {
	st     State
	opts   LockOptions
	log    *slog.Logger
	cancel context.CancelCauseFunc
	stop   chan struct{}
	done   chan struct{}

	mu       sync.Mutex // guards the fields below
	lock     deploystate.Lock
	version  string
	lost     bool
	released bool
}

// CurrentHolder describes this process: the user, the host name, the PID
// (and on Linux its PID namespace and boot, so that a deploy on the same
// machine can tell whether a lock's holder still runs), and the CI job
// given (see commands: GitHub Actions, GitLab CI…).
func CurrentHolder(ci string) deploystate.Holder {
	h := deploystate.Holder{PID: os.Getpid(), Namespace: processNamespace(), CI: ci}
	if u, err := user.Current(); err == nil && u.Username != "" {
		h.User = u.Username
	} else if v := os.Getenv("USER"); v != "" {
		h.User = v
	}
	if i := strings.LastIndexByte(h.User, '\\'); i >= 0 { // DOMAIN\user
		h.User = h.User[i+1:]
	}
	h.Host, _ = os.Hostname()
	return h
}

// AcquireLock takes the deploy lock of a state: it creates the lock file
// only if there is none (If-None-Match: * on S3). When another deploy
// holds it, it waits up to opts.Wait and then fails with a *LockedError —
// unless the lock is stale (not refreshed for its StaleAfter), its holder
// ran on this machine and is gone, or opts.Force is set: then it takes it
// over, replacing exactly the lock it read (If-Match), so that of two
// deploys doing so only one wins.
//
// The returned context is ctx, cancelled with cause ErrLockLost should
// another deploy take the lock over; run the deploy with it, then call
// Release.
func AcquireLock(ctx context.Context, st State, opts LockOptions) (*Lock, context.Context, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.StaleAfter <= 0 {
		opts.StaleAfter = DefaultLockStale
	}
	if opts.alive == nil {
		opts.alive = processAlive
	}
	if opts.poll <= 0 {
		opts.poll = time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var tok [12]byte
	_, _ = rand.Read(tok[:])
	now := opts.Now().UTC()
	l := &Lock{st: st, opts: opts, log: log, lock: deploystate.Lock{
		Version: deploystate.LockVersion, Token: hex.EncodeToString(tok[:]), Operation: opts.Operation,
		Holder: opts.Holder, Started: now, Refreshed: now, StaleAfterSeconds: int64(opts.StaleAfter / time.Second),
	}}
	loc := st.StateLocation().URL
	deadline := now.Add(opts.Wait)
	waited := false
	for {
		data, err := l.lock.Marshal()
		if err != nil {
			return nil, nil, err
		}
		v, err := st.WriteStateIf(ctx, LockName, data, "")
		if err == nil {
			l.version = v
			break
		}
		if !errors.Is(err, ErrStateConflict) {
			return nil, nil, fmt.Errorf("lock %s: %w", loc, err)
		}
		raw, heldVersion, err := st.ReadStateVersion(ctx, LockName)
		if errors.Is(err, ErrStateNotFound) {
			continue // released meanwhile
		}
		if err != nil {
			return nil, nil, fmt.Errorf("lock %s: %w", loc, err)
		}
		held, perr := deploystate.ParseLock(raw)
		now := opts.Now()
		why := ""
		switch {
		case opts.Force:
			why = "--force-unlock"
		case perr != nil:
			return nil, nil, fmt.Errorf("lock %s: %w (remove it with --force-unlock if no deploy runs)", loc, perr)
		case held.Stale(now):
			why = fmt.Sprintf("not refreshed for %s (more than %s)", Ago(now.Sub(held.Refreshed)), Ago(held.StaleAfter()))
		case l.holderGone(held):
			why = fmt.Sprintf("its process %d on this machine is gone", held.Holder.PID)
		}
		if why != "" {
			who := "an unreadable lock"
			if held != nil {
				who = fmt.Sprintf("the lock of %s by %s started %s ago", orText(held.DeployID, held.Operation), held.Holder, Ago(now.Sub(held.Started)))
			}
			l.lock.Started, l.lock.Refreshed = now.UTC(), now.UTC()
			data, err := l.lock.Marshal()
			if err != nil {
				return nil, nil, err
			}
			v, err := st.WriteStateIf(ctx, LockName, data, heldVersion)
			if errors.Is(err, ErrStateConflict) {
				continue // someone else was faster: look again
			}
			if err != nil {
				return nil, nil, fmt.Errorf("lock %s: %w", loc, err)
			}
			log.Warn("deploy lock: took over "+who+": "+why, "lock", loc)
			l.version = v
			break
		}
		lerr := &LockedError{Held: *held, Location: loc, Age: now.Sub(held.Started), Refreshed: now.Sub(held.Refreshed)}
		if !now.Before(deadline) {
			return nil, nil, lerr
		}
		if !waited {
			log.Info("deploy lock: waiting (at most "+Ago(deadline.Sub(now))+"): "+lerr.Error(), "lock", loc)
			waited = true
		}
		t := time.NewTimer(min(opts.poll, deadline.Sub(now)))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, ctx.Err()
		case <-t.C:
		}
	}
	lctx, cancel := context.WithCancelCause(ctx)
	l.cancel = cancel
	l.stop, l.done = make(chan struct{}), make(chan struct{})
	go l.refresh(lctx)
	return l, lctx, nil
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// holderGone reports whether the lock's holder ran in this machine's
// process namespace and no longer runs.
func (l *Lock) holderGone(held *deploystate.Lock) bool {
	me := l.lock.Holder
	return held.Holder.Namespace != "" && held.Holder.Namespace == me.Namespace && held.Holder.Host == me.Host &&
		held.Holder.PID > 0 && held.Holder.PID != me.PID && !l.opts.alive(held.Holder.PID)
}

// refresh rewrites the lock every StaleAfter/5 until Release; if someone
// else took it over, it cancels the lock's context with ErrLockLost.
func (l *Lock) refresh(ctx context.Context) {
	defer close(l.done)
	t := time.NewTicker(l.opts.StaleAfter / 5)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := l.update(ctx, nil); err != nil {
			if errors.Is(err, ErrLockLost) {
				l.log.Error("deploy lock: "+err.Error(), "lock", l.st.StateLocation().URL)
				l.cancel(err)
				return
			}
			l.log.Warn("deploy lock: could not refresh (retrying)", "lock", l.st.StateLocation().URL, "err", err)
		}
	}
}

// update rewrites the lock (Refreshed now, and change applied), only if
// it is still the version this holder wrote.
func (l *Lock) update(ctx context.Context, change func(*deploystate.Lock)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost {
		return ErrLockLost
	}
	next := l.lock
	next.Refreshed = l.opts.Now().UTC()
	if change != nil {
		change(&next)
	}
	data, err := next.Marshal()
	if err != nil {
		return err
	}
	v, err := l.st.WriteStateIf(ctx, LockName, data, l.version)
	if errors.Is(err, ErrStateConflict) {
		// A 409 from a concurrent request, or really taken over: look.
		raw, cur, rerr := l.st.ReadStateVersion(ctx, LockName)
		if rerr == nil {
			if held, perr := deploystate.ParseLock(raw); perr == nil && held.Token == l.lock.Token {
				l.version = cur
				return fmt.Errorf("lock refresh raced: %w", err)
			} else if perr == nil {
				l.lost = true
				return fmt.Errorf("%w (%s by %s holds it now)", ErrLockLost, orText(held.DeployID, held.Operation), held.Holder)
			}
		}
		l.lost = true
		return ErrLockLost
	}
	if err != nil {
		return err
	}
	l.lock, l.version = next, v
	return nil
}

// SetDeployID records the planned deploy's ID in the lock, so that
// others are told which deploy holds it.
func (l *Lock) SetDeployID(ctx context.Context, id string) error {
	return l.update(ctx, func(k *deploystate.Lock) { k.DeployID = id })
}

// Held returns the lock as written.
func (l *Lock) Held() deploystate.Lock {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lock
}

// Release stops refreshing and deletes the lock, only if it is still
// this holder's (even when ctx was cancelled: a deploy stopped by ^C
// releases its lock). Releasing again does nothing.
func (l *Lock) Release(ctx context.Context) error {
	l.mu.Lock()
	if l.released {
		l.mu.Unlock()
		return nil
	}
	l.released = true
	l.mu.Unlock()
	close(l.stop)
	<-l.done
	l.cancel(nil)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost {
		return ErrLockLost
	}
	if err := l.st.DeleteStateIf(ctx, LockName, l.version); err != nil {
		if errors.Is(err, ErrStateConflict) {
			return fmt.Errorf("release: %w", ErrLockLost)
		}
		return fmt.Errorf("release the deploy lock: %w", err)
	}
	return nil
}
