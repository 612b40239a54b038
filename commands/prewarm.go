package commands

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/providers/prewarm"
	"github.com/cdnctl/cdnctl/providers/probe"
)

// edgeOptions are the flags that say which PoPs prewarm and verify go
// through: given addresses, client regions resolved at a DNS server, or
// (by default) the local topology of cdnctl serve.
type edgeOptions struct {
	Edges    []string
	Regions  []string
	Resolver string
	BaseURL  string
	Insecure bool
	admin    adminFlags
}

func (o *edgeOptions) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	listVar(fl, &o.Edges, "edge", "", nil, "PoPs to go through: NAME=IP[:PORT] or IP[:PORT]; repeatable (default: deploy.prewarm.edges)")
	listVar(fl, &o.Regions, "subnet", "", nil, "find a PoP by resolving the URLs' host as a client of this network (CIDR or IP) at --dns; repeatable (deploy.prewarm.regions)")
	fl.StringVar(&o.Resolver, "dns", "", "DNS server host:port for --subnet (EDNS Client Subnet; default: deploy.prewarm.resolver, else the GeoDNS of the local CDN running for this folder)")
	fl.StringVar(&o.BaseURL, "base-url", "", "where the site is served, for paths and manifests (default: deploy.base_url, else http(s)://www.example.test/ of the local topology)")
	fl.BoolVarP(&o.Insecure, "insecure", "k", false, "do not verify TLS certificates")
	o.admin.register(cmd)
	aliasFlag(cmd, "region", "subnet")
	aliasFlag(cmd, "resolver", "dns")
}

// base returns the site's base URL.
func (o *edgeOptions) base(cfg *Config) (*url.URL, error) {
	raw := o.BaseURL
	if raw == "" {
		raw = cfg.Deploy.BaseURL
	}
	if raw == "" {
		raw = localSiteBase(cfg)
	}
	u, err := prewarm.ParseBase(raw)
	if err != nil {
		return nil, usageErrorf("--base-url: %v", err)
	}
	return u, nil
}

// find returns the PoPs for host (port is the URLs' port): --edge, else
// --subnet, else deploy.prewarm's edges or regions, else the local
// topology (through its GeoDNS when it runs one).
func (o *edgeOptions) find(ctx context.Context, cmd *cobra.Command, f *Factory, cfg *Config, host, port string) ([]prewarm.Edge, error) {
	edges, regions, resolverAddr := o.Edges, o.Regions, o.Resolver
	if len(edges) == 0 && len(regions) == 0 {
		edges, regions = cfg.Deploy.Prewarm.Edges, cfg.Deploy.Prewarm.Regions
	}
	if resolverAddr == "" {
		resolverAddr = cfg.Deploy.Prewarm.Resolver
	}
	switch {
	case len(edges) > 0:
		var out []prewarm.Edge
		for _, s := range edges {
			e, err := prewarm.ParseEdge(s, port)
			if err != nil {
				return nil, usageErrorf("--edge: %v", err)
			}
			out = append(out, e)
		}
		return out, nil
	case len(regions) > 0:
		if resolverAddr == "" {
			var err error
			if resolverAddr, err = f.localDNS(ctx, cfg); err != nil {
				return nil, fmt.Errorf("--subnet without --dns or deploy.prewarm.resolver: %w", err)
			}
		}
		var rs []prewarm.Region
		for _, r := range regions {
			pre, err := parseRegion(r)
			if err != nil {
				return nil, err
			}
			rs = append(rs, prewarm.Region{Name: pre.String(), Prefix: pre})
		}
		finder := prewarm.Finder{Resolver: resolverAddr}
		// A local GeoDNS answers the PoPs' addresses; their ports are the
		// topology's, their certificates signed by its CA.
		var roots *x509.CertPool
		if client, err := o.admin.client(cmd, f, cfg); err == nil {
			if info, err := client.Topology(ctx); err == nil {
				finder.Locate = localLocate(info)
				roots, _ = info.RootCAs()
			}
		}
		edges, err := finder.Find(ctx, host, port, rs)
		for i := range edges {
			edges[i].RootCAs = roots
		}
		return edges, err
	}
	client, err := o.admin.client(cmd, f, cfg)
	if err != nil {
		return nil, fmt.Errorf("no --edge or --subnet, so going through the local CDN: %w", err)
	}
	info, err := client.Topology(ctx)
	if err != nil {
		return nil, fmt.Errorf("no --edge or --subnet, so going through the local topology: %w", err)
	}
	return prewarm.LocalEdges(ctx, info, host)
}

func urlPort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}

// PrewarmOptions are the inputs of `cdnctl prewarm`.
type PrewarmOptions struct {
	URLs        []string
	Files       []string // repeatable --file; "-" is stdin
	Manifest    string
	What        string
	Concurrency int
	Rate        float64
	Encodings   []string
	Method      string
	Headers     []string
	Timeout     time.Duration
	edge        edgeOptions
}

func newCmdPrewarm(f *Factory) *cobra.Command {
	opts := &PrewarmOptions{}
	def := defaultDeployConfig().Prewarm
	cmd := &cobra.Command{
		Use:   "prewarm [URL|PATH...] [--file F] [--manifest M] [--edge NAME=IP | --subnet CIDR]",
		Short: "Request URLs through every PoP of a CDN so the first visitors get cache hits",
		Long: `Prewarm requests URLs through every PoP of a CDN, so that the first real
visitor of each region gets a cache hit instead of a trip to the origin.

URLs: arguments (absolute, or paths under --base-url), --file F (one per
line, "-" for stdin, # comments), or every file of a fingerprint manifest
(--manifest, the manifest or the folder holding it; --what all, assets or
entry-points) under --base-url.

PoPs: --edge NAME=IP[:PORT] (repeatable) sends every request to that
address with the URL's Host and TLS server name, like curl --connect-to;
--subnet CIDR (repeatable) finds the PoP a client of that network gets, by
resolving the host at --dns with EDNS Client Subnet (cdnctl's GeoDNS,
or public resolvers such as 8.8.8.8:53). Without either: the edges of the
local topology of cdnctl serve, found through its GeoDNS region by region
(its admin API says where everything listens).

Each URL is requested once with the first --encodings value, and once per
other value when the response varies on Accept-Encoding (each variant is a
cache entry of its own). --concurrency requests are in flight per PoP, at
most --rate per second. The report says, per PoP, the requests, the cache
hits and misses it answered (Cache-Status, CF-Cache-Status, X-Cache),
bytes, errors and latency percentiles; --json prints it as JSON. Any failed
request makes the exit code 1.`,
		Example: `  cdnctl prewarm /index.html /about/
  cdnctl prewarm --manifest dist --base-url https://www.example.com/ --edge iad=203.0.113.10 --edge fra=198.51.100.7
  cdnctl prewarm --file urls.txt --subnet 203.0.113.0/24,198.51.100.0/24 --dns 8.8.8.8:53 --rate 20
  cdnctl prewarm --manifest dist --what entry-points --json | jq '.pops[] | {name, hits, p99_ms}'`,
		Args: wrapArgs(cobra.ArbitraryArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.URLs = args
			return runPrewarm(cmd.Context(), cmd, f, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&opts.Files, "file", "f", nil, `read URLs or paths from a file, one per line ("-" for stdin); repeatable`)
	fl.StringVar(&opts.Manifest, "manifest", "", "warm the files of this fingerprint manifest (or of the folder holding cdnctl-manifest.json)")
	fl.StringVar(&opts.What, "what", prewarm.AllFiles, "with --manifest: all, assets or entry-points")
	fl.IntVar(&opts.Concurrency, "concurrency", def.Concurrency, "requests in flight per PoP (deploy.prewarm.concurrency)")
	fl.Float64Var(&opts.Rate, "rate", 0, "at most this many requests per second per PoP; 0: no limit (deploy.prewarm.rate)")
	listVar(fl, &opts.Encodings, "encodings", "", def.Encodings, "Accept-Encoding variants (deploy.prewarm.encodings)")
	fl.StringVarP(&opts.Method, "method", "X", http.MethodGet, "GET, or HEAD (fills most caches without transferring bodies)")
	fl.StringArrayVarP(&opts.Headers, "header", "H", nil, `extra request header "Name: value" (repeatable)`)
	fl.DurationVar(&opts.Timeout, "timeout", def.Timeout, "timeout of each request (deploy.prewarm.timeout)")
	opts.edge.register(cmd)
	return cmd
}

func runPrewarm(ctx context.Context, cmd *cobra.Command, f *Factory, opts *PrewarmOptions) error {
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	fl := cmd.Flags()
	pc := cfg.Deploy.Prewarm
	w := prewarm.Warmer{
		Concurrency: pc.Concurrency, Rate: pc.Rate, Encodings: pc.Encodings, Timeout: pc.Timeout,
		Insecure: opts.edge.Insecure || pc.Insecure, Method: strings.ToUpper(opts.Method), Logger: f.Logger,
	}
	if fl.Changed("concurrency") {
		w.Concurrency = opts.Concurrency
	}
	if fl.Changed("rate") {
		w.Rate = opts.Rate
	}
	if fl.Changed("encodings") {
		w.Encodings = opts.Encodings
	}
	if fl.Changed("timeout") {
		w.Timeout = opts.Timeout
	}
	if w.Concurrency < 1 || w.Rate < 0 || w.Timeout <= 0 {
		return usageErrorf("prewarm: --concurrency must be at least 1, --rate 0 or more, --timeout positive")
	}
	if w.Header, err = parseHeaders(opts.Headers); err != nil {
		return err
	}
	base, err := opts.edge.base(cfg)
	if err != nil {
		return err
	}
	urls, err := prewarmURLs(opts, base, f.IO.In)
	if err != nil {
		return err
	}
	if len(urls) == 0 {
		return usageErrorf("prewarm: no URL: give URLs or paths, --file or --manifest")
	}
	first, _ := url.Parse(urls[0])
	edges, err := opts.edge.find(ctx, cmd, f, cfg, first.Hostname(), urlPort(first))
	if err != nil {
		return fmt.Errorf("prewarm: %w", err)
	}
	if f.IO.IsStderrTTY() {
		fmt.Fprintf(f.IO.ErrOut, "Warming %s through %s…\n", count(len(urls), "URL", "URLs"), edgeList(edges))
	} else {
		f.Logger.Info("prewarm: starting", "urls", len(urls), "pops", len(edges))
	}
	rep, err := w.Warm(ctx, urls, edges)
	if err != nil && rep == nil {
		return usageErrorf("%v", err)
	}
	if f.JSON {
		if jerr := writeJSON(f.IO.Out, rep); jerr != nil {
			return jerr
		}
	} else if perr := printPrewarm(f.IO.Out, rep); perr != nil {
		return perr
	}
	if err != nil {
		return fmt.Errorf("prewarm: %w", err)
	}
	if rep.Errors > 0 {
		for _, p := range rep.Pops {
			for _, fl := range p.Failures {
				fmt.Fprintf(f.IO.ErrOut, "%s: %s [%s]: %s\n", p.Name, fl.URL, fl.Encoding, fl.Error)
			}
		}
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("prewarm: %d of %s failed", rep.Errors, count(rep.Requests, "request", "requests"))}
	}
	return nil
}

// parseHeaders reads "Name: value" flags.
func parseHeaders(hs []string) (http.Header, error) {
	h := http.Header{}
	for _, s := range hs {
		name, value, ok := strings.Cut(s, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, usageErrorf("--header %q: want \"Name: value\"", s)
		}
		h.Add(name, strings.TrimSpace(value))
	}
	return h, nil
}

// prewarmURLs collects the URLs from arguments, --file and --manifest.
func prewarmURLs(opts *PrewarmOptions, base *url.URL, stdin io.Reader) ([]string, error) {
	var out []string
	add := func(s, where string) error {
		switch {
		case strings.HasPrefix(s, "http://"), strings.HasPrefix(s, "https://"):
			out = append(out, s)
		case strings.HasPrefix(s, "/"):
			u := *base
			p, q, _ := strings.Cut(s, "?")
			u.Path = strings.TrimSuffix(base.Path, "/") + p
			u.RawQuery = q
			out = append(out, u.String())
		default:
			return usageErrorf("prewarm: %s%q: want an http(s) URL or a path starting with /", where, s)
		}
		return nil
	}
	for _, a := range opts.URLs {
		if err := add(a, ""); err != nil {
			return nil, err
		}
	}
	for _, name := range opts.Files {
		if err := readTargetFile(name, stdin, add); err != nil {
			return nil, err
		}
	}
	if opts.Manifest != "" {
		m, err := loadManifestArg(opts.Manifest)
		if err != nil {
			return nil, err
		}
		us, err := prewarm.ManifestURLs(m, base, opts.What)
		if err != nil {
			return nil, &UsageError{Err: err}
		}
		out = append(out, us...)
	}
	if err := prewarm.CheckURLs(out); err != nil {
		return nil, &UsageError{Err: err}
	}
	return out, nil
}

// loadManifestArg reads a manifest file, or cdnctl-manifest.json in a
// folder.
func loadManifestArg(p string) (*hashing.Manifest, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, &UsageError{Err: fmt.Errorf("--manifest: %w", err)}
	}
	dir, name := filepath.Dir(p), filepath.Base(p)
	if st.IsDir() {
		dir, name = p, hashing.DefaultManifestName
	}
	m, err := hashing.LoadManifest(os.DirFS(dir), name)
	if err != nil {
		return nil, &UsageError{Err: fmt.Errorf("--manifest %s: %w", p, err)}
	}
	return m, nil
}

func printPrewarm(w io.Writer, rep *prewarm.Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "POP\tADDR\tREQUESTS\tHITS\tMISSES\tOTHER\tERRORS\tBYTES\tP50\tP99")
	for _, p := range rep.Pops {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%.1f ms\t%.1f ms\n", p.Name, p.Addr, p.Requests, p.Hits, p.Misses, p.Other, p.Errors, humanBytes(p.Bytes), p.P50Ms, p.P99Ms)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%s, %s through %s in %s: %s, %s, %s\n",
		count(rep.URLs, "URL", "URLs"), count(rep.Requests, "request", "requests"), count(len(rep.Pops), "PoP", "PoPs"),
		time.Duration(rep.DurationMS)*time.Millisecond, count(rep.Hits, "hit", "hits"), count(rep.Misses, "miss", "misses"), count(rep.Errors, "error", "errors"))
	return err
}

// localLocate maps the addresses a local GeoDNS answers to the topology's
// PoPs and their ports.
func localLocate(info localedge.TopologyInfo) func(netip.Addr) (string, string, bool) {
	l, err := probe.LocalTargets(info, nil, false)
	if err != nil {
		return nil
	}
	return l.Locate
}
