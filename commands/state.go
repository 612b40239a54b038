package commands

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/cdnctl/cdnctl/deploystate"
	"github.com/cdnctl/cdnctl/providers"
)

// lockFlags are the deploy-lock flags of push and deploy.
type lockFlags struct {
	ForceUnlock bool
	Wait        time.Duration
}

func (l *lockFlags) register(fl *pflag.FlagSet) {
	fl.BoolVar(&l.ForceUnlock, "force-unlock", false, "take the deploy lock even though another deploy holds it (when that deploy is known to be gone)")
	fl.DurationVar(&l.Wait, "lock-wait", 0, "wait this long for another deploy to release the lock (default: fail at once)")
}

// takeLock takes the deploy lock of the store's state for operation op,
// then moves the state from where an earlier configuration or version
// kept it (origin.state changed, or the .cdnctl/ folder under an S3
// site). The returned context is cancelled if another deploy takes the
// lock over; release the lock when done.
func takeLock(ctx context.Context, f *Factory, store providers.Store, op string, oc OriginConfig, lf lockFlags) (*providers.Lock, context.Context, error) {
	opts := providers.LockOptions{
		Operation: op, Holder: providers.CurrentHolder(ciJob(f.LookupEnv)), StaleAfter: oc.LockStaleAfter,
		Wait: lf.Wait, Force: lf.ForceUnlock, Now: f.Now, Logger: f.Logger,
	}
	lock, lctx, err := providers.AcquireLock(ctx, store, opts)
	if err != nil {
		return nil, nil, lockError(op, err)
	}
	if fs, ok := store.(providers.FormerStates); ok {
		opts.Force, opts.Wait = false, lf.Wait
		moved, warnings, err := providers.MigrateState(lctx, store, fs.FormerStates(), opts)
		if err != nil {
			lock.Release(ctx)
			return nil, nil, lockError(op, err)
		}
		if moved != "" {
			f.Logger.Warn(op+": moved the deploy state to its configured location", "from", moved, "to", store.StateLocation().URL)
		}
		for _, w := range warnings {
			f.Logger.Warn(op + ": " + w)
		}
	}
	return lock, lctx, nil
}

// lockError wraps a failure to take the lock (nothing was changed).
func lockError(op string, err error) error {
	var le *providers.LockedError
	if errors.As(err, &le) || errors.Is(err, providers.ErrStateMoved) {
		return fmt.Errorf("%s: %w", op, err)
	}
	return fmt.Errorf("%s: deploy lock: %w", op, err)
}

// lostLock explains a run stopped because another deploy took its lock.
func lostLock(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); errors.Is(cause, providers.ErrLockLost) && errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w (stopped: %v)", err, cause)
	}
	return err
}

// readableState returns the store to read the deploy state from without
// changing anything (dry runs, history, verify): the store itself, or,
// when its configured location has no state yet and a former one has,
// the store opened on that one (the next deploy moves it).
func readableState(ctx context.Context, f *Factory, store providers.Store, t target, oc OriginConfig) (providers.Store, func(), error) {
	fs, ok := store.(providers.FormerStates)
	if !ok {
		return store, func() {}, nil
	}
	from, err := providers.StateToMove(ctx, store, fs.FormerStates())
	if err != nil || from == nil {
		return store, func() {}, err
	}
	loc := from.StateLocation().URL
	f.Logger.Warn("the deploy state is still at its former location; the next deploy or push moves it", "from", loc, "to", store.StateLocation().URL)
	oc.State = loc
	return openStore(ctx, t, oc, f.Logger)
}

// holderWho returns what the history records of who deploys: "user@host"
// and the CI job.
func holderWho(h deploystate.Holder) (user, ci string) {
	u := h.User
	if h.Host != "" {
		u += "@" + h.Host
	}
	return u, h.CI
}

// ciJob describes the CI job this runs in, for the lock and the history
// ("" outside CI).
func ciJob(lookup func(string) (string, bool)) string {
	get := func(k string) string { v, _ := lookup(k); return strings.TrimSpace(v) }
	on := func(name, id, runner string) string {
		s := name
		if id != "" {
			s += " " + id
		}
		if runner != "" {
			s += " on " + runner
		}
		return s
	}
	switch {
	case get("GITHUB_ACTIONS") == "true":
		return on("GitHub Actions run", get("GITHUB_RUN_ID"), get("RUNNER_NAME"))
	case get("GITLAB_CI") == "true":
		return on("GitLab CI job", get("CI_JOB_ID"), get("CI_RUNNER_DESCRIPTION"))
	case get("BUILDKITE") == "true":
		return on("Buildkite build", get("BUILDKITE_BUILD_NUMBER"), get("BUILDKITE_AGENT_NAME"))
	case get("CIRCLECI") == "true":
		return on("CircleCI job", get("CIRCLE_BUILD_NUM"), "")
	case get("JENKINS_URL") != "":
		return on("Jenkins build", get("BUILD_NUMBER"), get("NODE_NAME"))
	case get("CI") != "" && get("CI") != "false":
		return "CI"
	}
	return ""
}

// gitMessage is the subject line of the commit being deployed: what CI
// exports, else the site folder's git HEAD, else "".
func gitMessage(ctx context.Context, f *Factory, dir string) string {
	for _, k := range []string{"CI_COMMIT_TITLE", "BUILDKITE_MESSAGE"} {
		if v, ok := f.LookupEnv(k); ok && strings.TrimSpace(v) != "" {
			subject, _, _ := strings.Cut(strings.TrimSpace(v), "\n")
			return subject
		}
	}
	if dir == "" {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "log", "-1", "--format=%s").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
