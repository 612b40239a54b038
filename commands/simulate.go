package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"

	"github.com/cdnctl/cdnctl/simulate"
	"github.com/cdnctl/cdnctl/simulate/workload"
)

// SimulateOptions are the inputs of `cdnctl simulate`.
type SimulateOptions struct {
	IO        *IOStreams
	Logger    *slog.Logger
	LookupEnv func(string) (string, bool)
	JSON      bool

	// Serve is the topology simulated (cdnctl.yaml's serve section).
	Serve ServeConfig
	// Spec is a simulation file; Logs access logs to replay instead of
	// its workload.
	Spec string
	Logs []string
	Log  workload.LogOptions
	// Base changes every scenario; Scenarios are compared side by side.
	Base      simulate.Variant
	ClientRTT string
	Scenarios []simulate.Variant
	// Plot is a folder to write SVG and PNG charts to; Charts draws
	// terminal charts ("auto": on a terminal).
	Plot   string
	Charts string
}

func newCmdSimulate(f *Factory) *cobra.Command {
	opts := &SimulateOptions{IO: f.IO}
	var scenarios []string
	base := &variantFlags{}
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Replay a workload through the local CDN's caches: hit ratio, origin load, latency",
		Long: `Replay a workload through the topology of cdnctl serve — its PoPs and their
client regions, the shield, the caches' sizes, the origin — in process, on a
virtual clock, with no network and no waiting, and print what it would do:
hit ratio per PoP, shield and overall (requests and bytes), origin requests
per second (mean, p99, max), origin egress, collapsed and stale responses,
how long clients saw outdated content after a change, and the latency
clients would see from each hop's round trip.

The caches are the edge's own code: the same freshness, validation, Vary,
stale-while-revalidate and stale-if-error decisions, request collapsing,
purges and eviction (serve's W-TinyLFU memory store) as cdnctl serve, on
entries that keep the size of their bodies but not the bodies, so a
catalogue of any size simulates in the memory of the caches' index.

The workload is a simulation file's synthetic workload (--spec: objects,
sizes, Zipf popularity, a rate over time, regions, content types and their
Cache-Control, changes) or access logs (--log: nginx or Apache combined,
CloudFront standard logs, Cloudflare Logpush JSON lines, or a CSV of time,
client IP, method, URL, status, bytes and Cache-Control; gzip or plain).

Scenarios compare variants of the same workload side by side: give them in
the simulation file, or with --scenario 'NAME: FLAGS' using this command's
topology and policy flags (--no-shield, --pops, --cache-size, --ttl,
--versioned, --purge, ...). See docs/simulate.md.`,
		Example: `  cdnctl simulate --spec flash.yaml
  cdnctl simulate --log access.log.gz --scenario 'shield: --shield' --scenario 'no shield: --no-shield'
  cdnctl simulate --log cloudfront.log --ttl '/img/**=public, max-age=604800' --cache-size 10GiB
  cdnctl simulate --spec banner.yaml --plot charts/
  cdnctl --json simulate --spec banner.yaml | jq '.scenarios[].origin'`,
		Args: wrapArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.Config()
			if err != nil {
				return err
			}
			opts.Serve = cfg.Serve
			opts.JSON = f.JSON
			opts.Logger = f.Logger
			opts.LookupEnv = f.LookupEnv
			if opts.Base, err = base.variant(cmd.Flags()); err != nil {
				return err
			}
			for _, s := range scenarios {
				v, err := parseScenarioFlag(s)
				if err != nil {
					return err
				}
				opts.Scenarios = append(opts.Scenarios, v)
			}
			switch opts.Charts {
			case "auto", "always", "never":
			default:
				return usageErrorf("--charts %q: want auto, always or never", opts.Charts)
			}
			return runSimulate(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Spec, "spec", "", "simulation file: synthetic workload, topology changes, policy and scenarios (YAML)")
	fl.StringArrayVar(&opts.Logs, "log", nil, "access log to replay, gzip or plain (repeatable: merged in time order)")
	fl.StringVar(&opts.Log.Format, "format", workload.FormatAuto, "log format: "+strings.Join(workload.Formats, ", "))
	fl.BoolVar(&opts.Log.SkipBadLines, "skip-bad-lines", false, "report malformed log lines and go on instead of stopping at the first")
	fl.StringVar(&opts.Log.Host, "host", workload.DefaultHost, "host of logged requests whose line names none")
	fl.StringVar(&opts.ClientRTT, "client-rtt", "", "round trip from clients to a PoP near them: 15ms, or a range 10ms-20ms (default 10ms-20ms)")
	base.register(fl)
	fl.StringArrayVar(&scenarios, "scenario", nil, "a scenario to compare: 'NAME: FLAGS' with the topology and policy flags above (repeatable)")
	fl.StringVar(&opts.Plot, "plot", "", "write the charts as SVG and PNG files in this folder")
	fl.StringVar(&opts.Charts, "charts", "auto", "terminal charts: auto (on a terminal), always or never")
	return cmd
}

// variantFlags are the flags that change a scenario, on the command and in
// each --scenario.
type variantFlags struct {
	shield, noShield    bool
	pops                int
	cacheSize, shieldSz string
	maxObject           string
	eviction            string
	ttl, versioned      []string
	defaultCC           string
	purge               string
	purgeDelay          time.Duration
	originTime          time.Duration
	hopRTT              time.Duration
	staleIfError        time.Duration
}

func (v *variantFlags) register(fl *pflag.FlagSet) {
	fl.BoolVar(&v.shield, "shield", false, "run the shield (serve.shield.enabled)")
	fl.BoolVar(&v.noShield, "no-shield", false, "no shield: PoPs fetch from the origin")
	fl.IntVar(&v.pops, "pops", 0, "run only the first N PoPs; the others' clients go to the nearest one")
	fl.StringVar(&v.cacheSize, "cache-size", "", "cache size of each PoP (default serve.cache.capacity)")
	fl.StringVar(&v.shieldSz, "shield-cache-size", "", "cache size of the shield (default: the PoPs')")
	fl.StringVar(&v.maxObject, "max-object-size", "", "largest response cached (default serve.cache.max_object_size)")
	fl.StringVar(&v.eviction, "eviction", "", "eviction: tinylfu (serve's memory store) or lru (body bytes, as libCacheSim)")
	fl.StringArrayVar(&v.ttl, "ttl", nil, "Cache-Control for paths matching a glob, as CDN rules: '/img/**=public, max-age=86400' (repeatable)")
	fl.StringVar(&v.defaultCC, "default-cache-control", "", "origin Cache-Control when the workload gives none (default serve.default_cache_control)")
	fl.StringArrayVar(&v.versioned, "versioned", nil, "paths whose changes get a new URL (fingerprinted names), e.g. '/assets/**' (repeatable)")
	fl.StringVar(&v.purge, "purge", "", "purge changed content from every cache: none, hard or soft")
	fl.DurationVar(&v.purgeDelay, "purge-delay", 0, "time a purge takes to reach every cache")
	fl.DurationVar(&v.originTime, "origin-time", 0, "time the origin takes to answer")
	fl.DurationVar(&v.hopRTT, "hop-rtt", 0, "round trip of every hop between tiers, whatever the PoPs' places (0: fills take no time)")
	fl.DurationVar(&v.staleIfError, "stale-if-error", 0, "serve stale this long when the origin fails (default serve.cache.stale_if_error)")
}

// variant turns the flags set on fl into a Variant.
func (v *variantFlags) variant(fl *pflag.FlagSet) (simulate.Variant, error) {
	var out simulate.Variant
	if v.shield && v.noShield {
		return out, usageErrorf("--shield and --no-shield: give one")
	}
	if fl.Changed("shield") || fl.Changed("no-shield") {
		on := v.shield && !v.noShield
		out.Shield = &on
	}
	if fl.Changed("pops") {
		if v.pops < 1 {
			return out, usageErrorf("--pops %d: want at least 1", v.pops)
		}
		out.PoPs = &v.pops
	}
	for _, s := range []struct {
		flag, value string
		dst         *workload.ByteSize
	}{{"cache-size", v.cacheSize, &out.CacheSize}, {"shield-cache-size", v.shieldSz, &out.ShieldCacheSize}, {"max-object-size", v.maxObject, &out.MaxObjectSize}} {
		if !fl.Changed(s.flag) {
			continue
		}
		n, err := parseByteSize("--"+s.flag, s.value)
		if err != nil {
			return out, err
		}
		if n <= 0 {
			return out, usageErrorf("--%s %q: want a size such as 10GiB", s.flag, s.value)
		}
		*s.dst = workload.ByteSize(n)
	}
	if fl.Changed("eviction") {
		out.Eviction = v.eviction
	}
	for _, t := range v.ttl {
		path, cc, ok := strings.Cut(t, "=")
		if !ok || !strings.HasPrefix(path, "/") || strings.TrimSpace(cc) == "" {
			return out, usageErrorf("--ttl %q: want GLOB=CACHE-CONTROL, as '/img/**=public, max-age=86400'", t)
		}
		out.TTL = append(out.TTL, simulate.Rule{Path: path, CacheControl: strings.TrimSpace(cc)})
	}
	out.Versioned = v.versioned
	if fl.Changed("default-cache-control") {
		out.DefaultCacheControl = v.defaultCC
	}
	if fl.Changed("purge") {
		out.Purge = v.purge
	}
	for _, d := range []struct {
		flag  string
		value time.Duration
		dst   **time.Duration
	}{{"purge-delay", v.purgeDelay, &out.PurgeDelay}, {"origin-time", v.originTime, &out.OriginTime}, {"hop-rtt", v.hopRTT, &out.HopRTT}, {"stale-if-error", v.staleIfError, &out.StaleIfError}} {
		if fl.Changed(d.flag) {
			if d.value < 0 {
				return out, usageErrorf("--%s %v: want a positive duration", d.flag, d.value)
			}
			val := d.value
			*d.dst = &val
		}
	}
	return out, nil
}

// parseScenarioFlag reads --scenario 'NAME: FLAGS'.
func parseScenarioFlag(s string) (simulate.Variant, error) {
	name, rest, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return simulate.Variant{}, usageErrorf("--scenario %q: want 'NAME: FLAGS', as 'no shield: --no-shield'", s)
	}
	args, err := splitArgs(rest)
	if err != nil {
		return simulate.Variant{}, usageErrorf("--scenario %q: %v", s, err)
	}
	fl := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fl.SetOutput(io.Discard)
	vf := &variantFlags{}
	vf.register(fl)
	if err := fl.Parse(args); err != nil {
		return simulate.Variant{}, usageErrorf("--scenario %q: %v", s, err)
	}
	if fl.NArg() > 0 {
		return simulate.Variant{}, usageErrorf("--scenario %q: %q is not a flag", s, fl.Arg(0))
	}
	v, err := vf.variant(fl)
	if err != nil {
		return v, usageErrorf("--scenario %q: %v", s, err)
	}
	v.Name = name
	return v, nil
}

// splitArgs splits a command line into words: spaces separate them,
// single or double quotes group them.
func splitArgs(s string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				args = append(args, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, errors.New("unterminated quote")
	}
	if inWord {
		args = append(args, cur.String())
	}
	return args, nil
}

// simulateOutput is what --json prints.
type simulateOutput struct {
	Workload  string             `json:"workload"`
	Scenarios []*simulate.Result `json:"scenarios"`
	Plots     []string           `json:"plots,omitempty"`
}

// runSimulate builds the scenarios and runs them in parallel.
func runSimulate(ctx context.Context, opts *SimulateOptions) error {
	base, err := simulateBase(opts.Serve)
	if err != nil {
		return err
	}
	var file *simulate.File
	if opts.Spec != "" {
		if file, err = simulate.LoadFile(opts.Spec); err != nil {
			return &UsageError{Err: err}
		}
		if err := file.Topology.ApplyTopology(&base.Topology); err != nil {
			return usageErrorf("%s: %v", opts.Spec, err)
		}
		base = file.Policy.Apply(base)
	}
	if opts.ClientRTT != "" {
		r, err := simulate.ParseRTTRange(opts.ClientRTT)
		if err != nil {
			return usageErrorf("--client-rtt %v", err)
		}
		base.Topology.ClientRTT = r
	}
	base = opts.Base.Apply(base)
	variants := opts.Scenarios
	if file != nil && len(opts.Scenarios) == 0 {
		variants = file.Scenarios
	}
	var scenarios []simulate.Scenario
	if len(variants) == 0 {
		scenarios = append(scenarios, base)
	}
	for _, v := range variants {
		scenarios = append(scenarios, v.Apply(base))
	}
	for i := range scenarios {
		if err := scenarios[i].Validate(); err != nil {
			return &UsageError{Err: err}
		}
	}

	// Each scenario reads its own copy of the workload.
	var newSource func(first bool) (workload.Source, func(), error)
	var desc string
	switch {
	case len(opts.Logs) > 0:
		desc = strings.Join(opts.Logs, ", ")
		var bad atomic.Int64
		newSource = func(first bool) (workload.Source, func(), error) {
			lo := opts.Log
			if first {
				lo.OnBadLine = func(err error) {
					if bad.Add(1) <= 10 {
						opts.Logger.Warn("malformed line skipped", "err", err)
					}
				}
			}
			var srcs []workload.Source
			var logs []*workload.Log
			closeAll := func() {
				for _, l := range logs {
					l.Close()
				}
			}
			for _, path := range opts.Logs {
				l, err := workload.Open(path, lo)
				if err != nil {
					closeAll()
					return nil, nil, &UsageError{Err: err}
				}
				logs = append(logs, l)
				srcs = append(srcs, l)
			}
			return workload.Merge(srcs...), closeAll, nil
		}
	case file != nil && file.Workload != nil:
		desc = opts.Spec
		newSource = func(bool) (workload.Source, func(), error) {
			g, err := workload.NewSynthetic(*file.Workload)
			return g, func() {}, err
		}
	default:
		return usageErrorf("no workload: give --log FILE, or --spec FILE with a workload section")
	}

	defer collectLessOften(opts.LookupEnv)()
	results := make([]*simulate.Result, len(scenarios))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	start := time.Now()
	for i := range scenarios {
		g.Go(func() error {
			src, closeSrc, err := newSource(i == 0)
			if err != nil {
				return err
			}
			defer closeSrc()
			if len(opts.Logs) > 0 {
				src = workload.Prefetch(gctx, src)
			}
			r, err := simulate.Run(gctx, scenarios[i], src, simulate.Options{})
			if err != nil {
				return fmt.Errorf("simulate %s: %w", scenarios[i].Name, err)
			}
			results[i] = r
			opts.Logger.Debug("scenario done", "scenario", scenarios[i].Name, "requests", r.Requests, "took", time.Since(start).Round(time.Millisecond))
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		var le *workload.LineError
		if errors.As(err, &le) {
			return &UsageError{Err: fmt.Errorf("%w (--skip-bad-lines goes on past malformed lines)", err)}
		}
		return err
	}
	out := simulateOutput{Workload: desc, Scenarios: results}
	if opts.Plot != "" {
		if out.Plots, err = simulate.Plot(opts.Plot, results); err != nil {
			return err
		}
	}
	if opts.JSON {
		return writeJSON(opts.IO.Out, out)
	}
	w := opts.IO.Out
	if err := simulate.WriteTable(w, results); err != nil {
		return err
	}
	if opts.Charts == "always" || (opts.Charts == "auto" && opts.IO.IsStdoutTTY()) {
		width := 100
		if f, ok := w.(*os.File); ok {
			if cols, _, err := term.GetSize(f.Fd()); err == nil && cols > 20 {
				width = cols
			}
		}
		fmt.Fprintln(w)
		if err := simulate.WriteCharts(w, results, width); err != nil {
			return err
		}
	}
	for _, p := range out.Plots {
		fmt.Fprintf(w, "wrote %s\n", p)
	}
	return nil
}

// simulateBase is the scenario every other starts from: serve's topology
// (its PoPs, their client networks and places, the shield, the caches) and
// its folder origin's default Cache-Control.
func simulateBase(sc ServeConfig) (simulate.Scenario, error) {
	tc, err := sc.topology(true)
	if err != nil {
		return simulate.Scenario{}, err
	}
	var t simulate.Topology
	for _, p := range tc.PoPs {
		pop := simulate.PoP{Name: p.Name, Location: p.Location, UpstreamRTT: p.Delay}
		for _, r := range p.Regions {
			if prefix, err := netip.ParsePrefix(r); err == nil {
				pop.Networks = append(pop.Networks, prefix)
			} else {
				pop.Regions = append(pop.Regions, r)
			}
		}
		t.PoPs = append(t.PoPs, pop)
	}
	if tc.Shield != nil {
		t.Shield = &simulate.Shield{OriginRTT: tc.Shield.Delay}
	}
	t.Cache = simulate.Cache{
		Capacity: tc.Cache.Capacity, MaxObjectSize: tc.Cache.MaxObjectSize,
		SoftPurgeGrace: tc.Cache.SoftPurgeGrace, StaleIfError: tc.Cache.StaleIfError, Key: tc.Cache.Key,
	}
	return simulate.Scenario{Name: "baseline", Topology: t, DefaultCacheControl: sc.DefaultCacheControl}, nil
}
