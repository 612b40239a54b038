package commands

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cdnctl/cdnctl/commands/inspect"
	"github.com/cdnctl/cdnctl/localedge/adminclient"
)

// InspectOptions are the inputs of `cdnctl inspect`.
type InspectOptions struct {
	IO       *IOStreams
	JSON     bool
	Client   *adminclient.Client
	Pop      string
	Filter   string
	Sort     string
	Desc     bool
	Limit    int
	ReadOnly bool
	Refresh  time.Duration
	PageSize int
}

var inspectSorts = []string{"key", "size", "age", "ttl", "hits", "status"}

func newCmdInspect(f *Factory) *cobra.Command {
	opts := &InspectOptions{IO: f.IO}
	var admin adminFlags
	cmd := &cobra.Command{
		Use:   "inspect",
		Short: "Watch and purge the cache of a running cdnctl serve, interactively",
		Long: `Open an interactive view of the local CDN that cdnctl serve runs, through
its admin API:

  - overview: one line per PoP and the shield: requests per second, hit
    ratio with a graph of the last minutes, stale and collapsed requests,
    origin fetches per second, bytes stored against capacity, entries and
    health, refreshed live;
  - entries: the cached objects of every PoP or one, sorted by key, size,
    age, TTL left, hits or status, filtered as you type (a word, tag:css,
    status:404, host:www.example.test, stale:true); listing, filtering and
    paging are done by the admin API, so 100,000 entries scroll smoothly;
  - detail: one entry's variants, stored headers, tags, freshness lifetime,
    age, TTL left, stale/grace state, hits, size and the PoPs holding it;
  - purge the selected entry, everything matching the filter, a tag or a
    prefix, hard or soft, always after a confirmation naming how many
    entries it affects (--readonly refuses).

Keys are shown at the bottom; ? shows them all; q quits. The interface is
drawn on standard error. When standard output is not a terminal, or with
--json, the same data (statistics and the first page of entries) is printed
once, as JSON or as tables, for scripts.

The admin API URL and token come from --admin and --token, else from
cdnctl.yaml (inspect.admin, serve.admin) and the environment
(CDNCTL_ADMIN_TOKEN, serve.token): see docs/inspect.md.`,
		Example: `  CDNCTL_ADMIN_TOKEN=$(jq -r .token serve.json) cdnctl inspect
  cdnctl inspect --pop pop2 --filter tag:css --readonly
  cdnctl inspect --json --filter status:404 --sort hits --desc | jq '.entries.entries[].url'`,
		Args: wrapArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.Config()
			if err != nil {
				return err
			}
			ic := cfg.Inspect
			if cmd.Flags().Changed("refresh") {
				ic.Refresh = opts.Refresh
			}
			if err := ic.validate(); err != nil {
				return err
			}
			opts.Refresh, opts.PageSize = ic.Refresh, ic.PageSize
			if !cmd.Flags().Changed("readonly") {
				opts.ReadOnly = ic.ReadOnly
			}
			if !slices.Contains(inspectSorts, opts.Sort) {
				return usageErrorf("--sort %q: want %s", opts.Sort, strings.Join(inspectSorts, ", "))
			}
			if opts.Limit < 1 || opts.Limit > 1000 {
				return usageErrorf("--limit %d: want 1 to 1000", opts.Limit)
			}
			if opts.Client, err = admin.client(cmd, f, cfg); err != nil {
				return err
			}
			opts.JSON = f.JSON
			return runInspect(cmd.Context(), opts, f.IO.ColorEnabled())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Pop, "pop", "", "show this PoP's entries first (default: every PoP)")
	fl.StringVar(&opts.Filter, "filter", "", `initial filter: words, tag:T, status:404, host:H, stale:true`)
	fl.StringVar(&opts.Sort, "sort", "key", "order of the printed entries (not a terminal): "+strings.Join(inspectSorts, ", "))
	fl.BoolVar(&opts.Desc, "desc", false, "reverse the order of the printed entries")
	fl.IntVar(&opts.Limit, "limit", 100, "number of entries printed when not on a terminal (1-1000)")
	fl.BoolVar(&opts.ReadOnly, "readonly", false, "refuse purges (also inspect.readonly)")
	fl.DurationVar(&opts.Refresh, "refresh", 0, "how often to reload statistics and the page shown (default inspect.refresh, 2s)")
	admin.register(cmd)
	return cmd
}

func runInspect(ctx context.Context, opts *InspectOptions, color bool) error {
	ios := opts.IO
	if !opts.JSON && ios.IsStdoutTTY() && ios.CanPrompt() {
		return inspect.Run(ctx, inspect.Options{
			Client:   opts.Client,
			Source:   opts.Client.BaseURL,
			Pop:      opts.Pop,
			Filter:   opts.Filter,
			ReadOnly: opts.ReadOnly,
			Refresh:  opts.Refresh,
			PageSize: opts.PageSize,
			NoColor:  !color,
		}, ios.In, ios.ErrOut)
	}
	snap, err := inspect.Take(ctx, opts.Client, opts.Client.BaseURL, adminclient.ListQuery{
		Pop: opts.Pop, Filter: opts.Filter, Sort: opts.Sort, Desc: opts.Desc, Limit: opts.Limit,
	})
	if err != nil {
		return fmt.Errorf("inspect: %w", err)
	}
	if opts.JSON {
		return writeJSON(ios.Out, snap)
	}
	return printSnapshot(ios, snap)
}

// printSnapshot prints the statistics and the entries as two tables
// (tab-separated, without headers, when piped).
func printSnapshot(ios *IOStreams, s *inspect.Snapshot) error {
	t := newTable(ios, "POP", "ROLE", "HEALTH", "REQUESTS", "HITS", "MISSES", "HIT%", "STALE", "COLLAPSED", "ORIGIN", "ENTRIES", "STORED", "CAPACITY")
	for _, p := range s.Stats.PoPs {
		health := "up"
		if !p.Healthy {
			health = "down"
		}
		t.Row(p.Name, p.Role, health, itoa(p.Requests), itoa(p.Hits), itoa(p.Misses),
			strconv.FormatFloat(100*p.HitRatio, 'f', 1, 64), itoa(p.Stale), itoa(p.Collapsed),
			itoa(p.OriginFetches), itoa(p.Entries), itoa(p.BytesStored), itoa(p.CapacityBytes))
	}
	if err := t.Render(ios.Out); err != nil {
		return err
	}
	fmt.Fprintln(ios.Out)
	e := newTable(ios, "POP", "URL", "STATUS", "SIZE", "AGE", "TTL", "STALE", "HITS", "VARIANTS", "TAGS")
	for _, x := range s.Entries.Entries {
		e.Row(x.Pop, x.URL, strconv.Itoa(x.Status), itoa(x.Size), itoa(x.AgeS), itoa(x.TTLS),
			strconv.FormatBool(x.Stale), itoa(x.Hits), strconv.Itoa(x.Variants), strings.Join(x.Tags, ","))
	}
	if err := e.Render(ios.Out); err != nil {
		return err
	}
	if ios.IsStdoutTTY() {
		fmt.Fprintf(ios.Out, "%d of %d entries\n", len(s.Entries.Entries), s.Entries.Total)
	}
	return nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
