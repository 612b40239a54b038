package providers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/sync/errgroup"

	"github.com/cdnctl/cdnctl/deploystate"
)

// MovedName is left where a deploy state was, once it moved: it says
// where to.
const MovedName = deploystate.MovedName

// ErrStateMoved is returned when the configured state location says the
// state moved elsewhere.
var ErrStateMoved = errors.New("the deploy state moved")

// MigrateState makes sure the deploy state is at to, the configured
// location, and nowhere else: when to has none and a former location
// (FormerStates) has one, it moves it — under that location's lock, every
// file copied (the history last), then deleted there, and a MovedName
// left behind so that a run still configured with the old location
// fails instead of starting a history of its own (not where a CDN serves
// it). Callers hold to's lock. lock configures the former location's
// lock (whose holder is the caller).
//
// It returns the location moved from ("" when nothing moved) and
// warnings about state it found but left alone. It fails with
// ErrStateMoved when to itself says the state moved elsewhere.
func MigrateState(ctx context.Context, to State, from []State, lock LockOptions) (moved string, warnings []string, err error) {
	if data, err := to.ReadState(ctx, MovedName); err == nil {
		var m deploystate.Moved
		_ = json.Unmarshal(data, &m)
		return "", nil, fmt.Errorf("%w from %s to %s: set origin.state to %s (or, to use %s again, delete %s there)",
			ErrStateMoved, to.StateLocation().URL, orText(m.To, "another location"), orText(m.To, "it"), to.StateLocation().URL, MovedName)
	} else if !errors.Is(err, ErrStateNotFound) {
		return "", nil, err
	}
	toHist, toHas, err := readAnyState(ctx, to)
	if err != nil {
		return "", nil, err
	}
	for _, f := range from {
		if _, err := f.ReadState(ctx, MovedName); err == nil {
			continue
		} else if !errors.Is(err, ErrStateNotFound) {
			return "", nil, err
		}
		fHist, fHas, err := readAnyState(ctx, f)
		if err != nil {
			return "", nil, fmt.Errorf("state at %s: %w", f.StateLocation().URL, err)
		}
		if !fHas {
			continue
		}
		switch {
		case !toHas:
			if err := moveState(ctx, f, to, lock); err != nil {
				return "", warnings, err
			}
			return f.StateLocation().URL, warnings, nil
		case contains(toHist, fHist):
			// Left behind by a move that stopped before its end.
			if err := moveState(ctx, f, nil, lock); err != nil {
				return "", warnings, err
			}
		default:
			w := fmt.Sprintf("a deploy state is also at %s, with deploys %s does not have; it is not used (delete it, or move it to %s)",
				f.StateLocation().URL, to.StateLocation().URL, to.StateLocation().URL)
			if loc := f.StateLocation(); loc.InSite && !loc.HiddenByOrigin {
				w += "; it lies in what the CDN serves"
			}
			warnings = append(warnings, w)
		}
	}
	return "", warnings, nil
}

// StateToMove returns the former location whose state MigrateState would
// move to to (nil when to has state, or no former location has any).
func StateToMove(ctx context.Context, to State, from []State) (State, error) {
	if _, has, err := readAnyState(ctx, to); err != nil || has {
		return nil, err
	}
	if _, err := to.ReadState(ctx, MovedName); err == nil {
		return nil, nil
	}
	for _, f := range from {
		if _, err := f.ReadState(ctx, MovedName); err == nil {
			continue
		}
		_, has, err := readAnyState(ctx, f)
		if err != nil {
			return nil, err
		}
		if has {
			return f, nil
		}
	}
	return nil, nil
}

// readAnyState reads a location's history, and reports whether it holds
// any state (a history or an object index).
func readAnyState(ctx context.Context, st State) (*History, bool, error) {
	h, v, err := ReadHistoryVersion(ctx, st)
	if err != nil {
		return nil, false, err
	}
	if v != "" {
		return h, true, nil
	}
	_, err = st.ReadState(ctx, IndexName)
	if errors.Is(err, ErrStateNotFound) {
		return h, false, nil
	}
	return h, err == nil, err
}

// contains reports whether history a has every deploy of b.
func contains(a, b *History) bool {
	for _, d := range b.Deploys {
		if a.Find(d.ID) == nil {
			return false
		}
	}
	return true
}

// moveState copies every state file of from to to (to nil: only
// deletes), under from's lock, then deletes them at from and leaves
// MovedName there (unless from lies where a CDN serves it).
func moveState(ctx context.Context, from, to State, lock LockOptions) error {
	src := from.StateLocation()
	lock.Operation = "move state"
	l, lctx, err := AcquireLock(ctx, from, lock)
	if err != nil {
		return fmt.Errorf("move the deploy state from %s: %w", src.URL, err)
	}
	defer l.Release(ctx)
	names, err := from.ListState(lctx)
	if err != nil {
		return err
	}
	names = slices.DeleteFunc(names, func(n string) bool { return n == LockName || n == MovedName })
	if to != nil {
		dst := to.StateLocation().URL
		g, gctx := errgroup.WithContext(lctx)
		g.SetLimit(DefaultConcurrency)
		for _, n := range names {
			if n == HistoryName {
				continue // last: its presence says the move is done
			}
			g.Go(func() error { return copyState(gctx, from, to, n) })
		}
		if err := g.Wait(); err != nil {
			return fmt.Errorf("move the deploy state from %s to %s: %w", src.URL, dst, err)
		}
		if slices.Contains(names, HistoryName) {
			if err := copyState(lctx, from, to, HistoryName); err != nil {
				return fmt.Errorf("move the deploy state from %s to %s: %w", src.URL, dst, err)
			}
		}
	}
	if !src.InSite || src.HiddenByOrigin {
		moved := deploystate.Moved{Version: 1}
		if to != nil {
			moved.To = to.StateLocation().URL
		}
		data, err := json.Marshal(moved)
		if err != nil {
			return err
		}
		if err := from.WriteState(lctx, MovedName, append(data, '\n')); err != nil {
			return err
		}
	}
	g, gctx := errgroup.WithContext(lctx)
	g.SetLimit(DefaultConcurrency)
	for _, n := range names {
		g.Go(func() error { return from.DeleteState(gctx, n) })
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("delete the deploy state moved from %s: %w", src.URL, err)
	}
	return l.Release(ctx)
}

func copyState(ctx context.Context, from, to State, name string) error {
	data, err := from.ReadState(ctx, name)
	if err != nil {
		return err
	}
	return to.WriteState(ctx, name, data)
}
