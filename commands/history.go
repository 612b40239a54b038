package commands

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cdnctl/cdnctl/deploystate"
	"github.com/cdnctl/cdnctl/providers"
)

// HistoryOptions are the inputs of `cdnctl history`.
type HistoryOptions struct {
	Env   string
	To    string
	State string
	Limit int
}

func newCmdHistory(f *Factory) *cobra.Command {
	opts := &HistoryOptions{}
	cmd := &cobra.Command{
		Use:   "history [--env NAME] [--to TARGET] [--json]",
		Short: "List the deploys of an environment: who, what, their status, which is live",
		Long: `History lists the deploys recorded in the origin's deploy state, newest
first: the ID, when, who (user@host, and the CI job), the git commit and its
message, how many files it had and changed, its status, and which deploy is
live (the newest complete one, whose files the site serves).

Status is complete; running (recorded when it started, and its deploy lock
is held); interrupted (it stopped before completing — an error, ^C, or a
process that died; some of its files may have been uploaded, and a rerun
finishes the job); or rolled back (it was live until deploy --rollback
replaced it).

On a terminal the list is a table; piped, it is tab-separated values with a
header row; --json prints every field. The origin is origin.target (or
--to) of cdnctl.yaml, with environments.NAME applied by --env; the state is
where origin.state says (docs/deploy.md#state). Nothing is changed.`,
		Example: `  cdnctl history
  cdnctl history --env production --limit 5
  cdnctl history --json | jq '.[] | select(.live)'`,
		Args: wrapArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("env") {
				if v, ok := f.LookupEnv(envPrefix + "ENV"); ok {
					opts.Env = v
				}
			}
			return runHistory(cmd.Context(), f, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Env, "env", "", "apply the environments.NAME section of cdnctl.yaml (env CDNCTL_ENV)")
	fl.StringVar(&opts.To, "to", "", "origin target, overriding origin.target: s3://bucket/prefix or file:///path")
	fl.StringVar(&opts.State, "state", "", "where the deploy state lives, overriding origin.state")
	fl.IntVar(&opts.Limit, "limit", 0, "show the newest N deploys only (0: all)")
	return cmd
}

func runHistory(ctx context.Context, f *Factory, opts *HistoryOptions) error {
	if opts.Limit < 0 {
		return usageErrorf("history: --limit %d: want 0 (all) or more", opts.Limit)
	}
	store, closeStore, tgt, err := openConfiguredStore(ctx, f, opts.Env, opts.To, opts.State)
	if err != nil {
		return err
	}
	defer closeStore()
	entries, err := readHistoryEntries(ctx, f, store)
	if err != nil {
		return fmt.Errorf("history: %s: %w", tgt, err)
	}
	if opts.Limit > 0 && len(entries) > opts.Limit {
		entries = entries[:opts.Limit]
	}
	if f.JSON {
		return writeJSON(f.IO.Out, entries)
	}
	if len(entries) == 0 {
		if f.IO.IsStdoutTTY() {
			fmt.Fprintf(f.IO.Out, "No deploys recorded for %s yet (state at %s).\n", tgt, store.StateLocation().URL)
		}
		return nil
	}
	return printHistory(f.IO, entries)
}

// openConfiguredStore opens the origin of cdnctl.yaml with environment
// env and the overrides given, reading the state where it is now (see
// readableState).
func openConfiguredStore(ctx context.Context, f *Factory, env, to, state string) (providers.Store, func(), target, error) {
	base, err := f.Config()
	if err != nil {
		return nil, nil, target{}, err
	}
	cfg, err := base.WithEnvironment(env, f.LookupEnv)
	if err != nil {
		return nil, nil, target{}, configError(fmt.Errorf("config: %w", err))
	}
	oc := cfg.Origin
	if to != "" {
		oc.Target = to
	}
	if state != "" {
		oc.State = state
	}
	if oc.Target == "" {
		return nil, nil, target{}, usageErrorf("no origin: set origin.target in cdnctl.yaml (or environments.NAME.origin.target), or pass --to")
	}
	tgt, err := parseTarget(oc.Target)
	if err != nil {
		return nil, nil, target{}, &UsageError{Err: err}
	}
	store, closeStore, err := openStore(ctx, tgt, oc, f.Logger)
	if err != nil {
		return nil, nil, target{}, err
	}
	read, closeRead, err := readableState(ctx, f, store, tgt, oc)
	if err != nil {
		closeStore()
		return nil, nil, target{}, err
	}
	return read, func() { closeRead(); closeStore() }, tgt, nil
}

// readHistoryEntries reads the history and the lock of a store's state.
func readHistoryEntries(ctx context.Context, f *Factory, st providers.State) ([]providers.HistoryEntry, error) {
	h, err := providers.ReadHistory(ctx, st)
	if err != nil {
		return nil, err
	}
	var lock *deploystate.Lock
	if data, err := st.ReadState(ctx, providers.LockName); err == nil {
		lock, _ = deploystate.ParseLock(data)
	} else if !errors.Is(err, providers.ErrStateNotFound) {
		return nil, err
	}
	return providers.HistoryEntries(h, lock, f.Now()), nil
}

// printHistory writes the entries as a table (TSV with a header when
// piped).
func printHistory(ios *IOStreams, entries []providers.HistoryEntry) error {
	tty := ios.IsStdoutTTY()
	tb := newTable(ios, "ID", "TIME", "WHO", "COMMIT", "MESSAGE", "FILES", "CHANGED", "STATUS", "LIVE")
	for _, e := range entries {
		commit, msg, when := e.GitCommit, e.GitMessage, e.Time.UTC().Format(time.RFC3339)
		who := e.User
		if e.CI != "" {
			who = strings.TrimSpace(who + " (" + e.CI + ")")
		}
		if tty {
			commit = truncate(commit, 12)
			msg = truncate(msg, 48)
			when = e.Time.UTC().Format("2006-01-02 15:04Z")
		}
		live := ""
		if e.Live {
			live = "live"
		}
		c := e.Counts
		tb.Row(e.ID, when, orDash(who), orDash(commit), orDash(msg), strconv.Itoa(c.Files),
			fmt.Sprintf("+%d ~%d -%d", c.Uploaded, c.Updated, c.Deleted), e.State, live)
	}
	return tb.Render(ios.Out)
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// chooseRollback lists the deploys a rollback can go back to, on the
// terminal, and asks which (Enter: the one before the live deploy).
func chooseRollback(ctx context.Context, f *Factory, st providers.State) (string, error) {
	entries, err := readHistoryEntries(ctx, f, st)
	if err != nil {
		return "", fmt.Errorf("rollback: %w", err)
	}
	var live *providers.HistoryEntry
	for i := range entries {
		if entries[i].Live {
			live = &entries[i]
			break
		}
	}
	var candidates []providers.HistoryEntry
	for _, e := range entries {
		if e.Complete() && !e.Live && (live == nil || e.ContentDigest != live.ContentDigest) && e.Snapshot != "" {
			candidates = append(candidates, e)
		}
	}
	if len(candidates) == 0 {
		return "", errors.New("rollback: no previous deploy with other content to roll back to")
	}
	w := f.IO.ErrOut
	if live != nil {
		fmt.Fprintf(w, "Live: %s (%s, %s)\n", live.ID, orDash(truncate(live.GitCommit, 12)), orDash(truncate(live.GitMessage, 48)))
	}
	fmt.Fprintln(w, "Roll back to:")
	for i, e := range candidates {
		fmt.Fprintf(w, "  %d) %s  %s  %s  %s  %s\n", i+1, e.ID, e.Time.UTC().Format("2006-01-02 15:04Z"),
			orDash(e.User), orDash(truncate(e.GitCommit, 12)), orDash(truncate(e.GitMessage, 48)))
	}
	fmt.Fprintf(w, "Which one? [1] ")
	return pickRollback(f.IO, candidates)
}

// pickRollback reads the answer: a number from the list, an ID, or
// nothing for the first.
func pickRollback(ios *IOStreams, candidates []providers.HistoryEntry) (string, error) {
	line, err := ios.ReadLine()
	if err != nil && line == "" {
		return "", errors.New("rollback: cancelled (no answer); nothing was changed")
	}
	answer := strings.TrimSpace(line)
	if answer == "" {
		return candidates[0].ID, nil
	}
	if n, err := strconv.Atoi(answer); err == nil {
		if n < 1 || n > len(candidates) {
			return "", fmt.Errorf("rollback: %d: want a number from 1 to %d", n, len(candidates))
		}
		return candidates[n-1].ID, nil
	}
	for _, c := range candidates {
		if c.ID == answer {
			return c.ID, nil
		}
	}
	return "", fmt.Errorf("rollback: %q: want a number from the list or one of its IDs", answer)
}
