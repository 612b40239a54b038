package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/localedge/localca/truststores"
	"github.com/cdnctl/cdnctl/localedge/origin"
	"github.com/cdnctl/cdnctl/localedge/runstate"
	"github.com/cdnctl/cdnctl/sample"
	"github.com/cdnctl/cdnctl/siterules"
)

// ServeOptions are the inputs of `cdnctl serve`.
type ServeOptions struct {
	IO        *IOStreams
	Logger    *slog.Logger
	LookupEnv func(string) (string, bool)
	JSON      bool
	Config    ServeConfig
	// DNS is the GeoDNS server run with the topology (unless disabled).
	DNS DNSConfig
	// FreePorts makes every listener use a free port, but those whose
	// address a flag gave.
	FreePorts bool
	// DNSFixed: --dns gave the GeoDNS address, which FreePorts leaves
	// alone.
	DNSFixed bool
	// WorkDir is where serve runs: the local CDN is recorded under it
	// (or under Config.Name) for client commands to find.
	WorkDir string
	// Registry records where the local CDN listens (nil: not recorded).
	Registry *runstate.Registry
	// ConfigPath is the configuration file read ("" for none).
	ConfigPath string
	// StopAfter stops the topology gracefully after this long (0: run
	// until interrupted).
	StopAfter time.Duration
	// AccessLog receives a record per request (nil: none); see
	// openAccessLog.
	AccessLog *slog.Logger
}

func newCmdServe(f *Factory) *cobra.Command {
	opts := &ServeOptions{IO: f.IO}
	var (
		pops          []string
		allowDotfiles []string
		shield        string
		noShield      bool
		size          string
		maxObj        string
		cacheDir      string
		delay         time.Duration
		noDNS         bool
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a local CDN: edge PoPs, a shield, an origin and an admin API",
		Long: `Run a whole CDN on this machine: several edge PoPs, each a caching reverse
proxy (RFC 9111) on its own loopback address, a shield tier between them and
the origin, the origin itself (a folder, the built-in sample site, or an
upstream server you already run) and an admin API to purge, list the cache
and read statistics.

With no configuration: pop1, pop2 and pop3 on 127.0.1.1:8081, 127.0.2.1:8082
and 127.0.3.1:8083, the shield on 127.0.0.1:8090, the sample site as origin
on 127.0.0.1:8000 and the admin API on 127.0.0.1:8099. The serve section of
cdnctl.yaml changes any of it (see docs/config.md and docs/localedge.md).

With --https (serve.https.enabled), every edge also answers HTTPS and
HTTP/2 on its address, with a certificate signed by your local CA: created
once in your config directory (serve.https.ca_dir), it names the site's
hostnames, the PoPs and their addresses. cdnctl trust makes browsers trust
it; serve.https.policy and host_policies redirect HTTP to HTTPS or refuse
it, as CloudFront's viewer protocol policies do.

On start, cdnctl serve prints where everything listens and the admin token;
with --json, that is one JSON object on the first line of standard output.
Requests are logged to standard error with their cache status. SIGINT or
SIGTERM stops it gracefully: in-flight requests finish and disk caches are
flushed.`,
		Example: `  cdnctl serve
  cdnctl serve --origin ./dist --delay 150ms
  cdnctl serve --upstream http://127.0.0.1:3000 --no-shield --edge pop1=127.0.1.1:8081
  cdnctl serve --json --free-ports > serve.json &
  curl -si -H 'Host: www.example.test' http://127.0.1.1:8081/
  cdnctl serve --https && cdnctl trust
  curl -si --http2 --resolve www.example.test:8081:127.0.1.1 https://www.example.test:8081/`,
		Args: wrapArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.Config()
			if err != nil {
				return err
			}
			sc := cfg.Serve
			fl := cmd.Flags()
			if fl.Changed("origin") || fl.Changed("upstream") {
				// A flag names the content: it replaces both keys.
				sc.Origin, sc.Upstream = "", ""
				sc.Origin, _ = fl.GetString("origin")
				sc.Upstream, _ = fl.GetString("upstream")
				if sc.Origin != "" && sc.Upstream != "" {
					return usageErrorf("--origin and --upstream: give a folder or an upstream URL, not both")
				}
			}
			for _, name := range []struct {
				flag string
				dst  *string
			}{{"origin-addr", &sc.OriginAddr}, {"admin", &sc.Admin}, {"token", &sc.Token}, {"default-cache-control", &sc.DefaultCacheControl}, {"name", &sc.Name}} {
				if fl.Changed(name.flag) {
					*name.dst, _ = fl.GetString(name.flag)
				}
			}
			// An address given as a flag wins over --free-ports.
			sc.fixedPorts = map[string]bool{"origin_addr": fl.Changed("origin-addr"), "admin": fl.Changed("admin"), "shield.addr": fl.Changed("shield-addr")}
			opts.DNSFixed = fl.Changed("dns")
			if sc.Name != "" {
				if err := runstate.ValidName(sc.Name); err != nil {
					return usageErrorf("--name (serve.name): %v", err)
				}
			}
			if fl.Changed("allow-dotfile") {
				if sc.Upstream != "" {
					return usageErrorf("--allow-dotfile applies to a folder origin (--origin), not to --upstream")
				}
				sc.AllowDotfiles = append(sc.AllowDotfiles, allowDotfiles...)
			}
			for _, name := range []struct {
				flag string
				dst  *string
			}{{"html-handling", &sc.Static.HTMLHandling}, {"not-found", &sc.Static.NotFound}} {
				if fl.Changed(name.flag) {
					if sc.Upstream != "" {
						return usageErrorf("--%s applies to a folder origin (--origin), not to --upstream", name.flag)
					}
					*name.dst, _ = fl.GetString(name.flag)
				}
			}
			if fl.Changed("access-log") {
				v, _ := fl.GetString("access-log")
				sc.AccessLog = AccessLogSetting(v)
			}
			if fl.Changed("https") {
				sc.HTTPS.Enabled, _ = fl.GetBool("https")
			}
			if fl.Changed("compress") {
				sc.Compress.Enabled, _ = fl.GetBool("compress")
			}
			if fl.Changed("delay") {
				sc.Delay = delay
				for i := range sc.PoPs {
					sc.PoPs[i].Delay = 0
				}
			}
			if fl.Changed("shield-addr") {
				sc.Shield.Enabled, sc.Shield.Addr = true, shield
			}
			if noShield {
				sc.Shield.Enabled = false
			}
			if fl.Changed("cache-size") {
				sc.Cache.Capacity = size
			}
			if fl.Changed("max-object-size") {
				sc.Cache.MaxObjectSize = maxObj
			}
			if fl.Changed("cache-dir") {
				sc.Cache.Dir = cacheDir
			}
			for _, p := range pops {
				name, addr, ok := strings.Cut(p, "=")
				if !ok || name == "" || addr == "" {
					return usageErrorf("--edge %q: want NAME=HOST:PORT", p)
				}
				found := false
				for i := range sc.PoPs {
					if sc.PoPs[i].Name == name {
						sc.PoPs[i].Addr, sc.PoPs[i].fixedPort, found = addr, true, true
					}
				}
				if !found {
					sc.PoPs = append(sc.PoPs, ServePoPConfig{Name: name, Addr: addr, fixedPort: true})
				}
			}
			opts.Config = sc
			opts.DNS = cfg.DNS
			if fl.Changed("dns") {
				opts.DNS.Listen, _ = fl.GetString("dns")
			}
			if noDNS {
				opts.DNS.Enabled = false
			}
			opts.JSON = f.JSON
			opts.Logger = f.Logger
			opts.LookupEnv = f.LookupEnv
			accessLog, closeLog, err := openAccessLog(f, sc.AccessLog)
			if err != nil {
				return err
			}
			defer closeLog()
			opts.AccessLog = accessLog
			if cfg.Path != "" {
				opts.ConfigPath, _ = filepath.Abs(cfg.Path)
			}
			if opts.WorkDir, err = f.workDir(); err != nil {
				return err
			}
			if reg, err := f.runRegistry(); err != nil {
				f.Logger.Warn("serve: client commands will not find this local CDN by themselves: " + err.Error())
			} else {
				opts.Registry = &reg
			}
			return runServe(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.String("origin", "", "serve this folder as the origin (default: the built-in sample site)")
	fl.String("upstream", "", "use an origin server already running at this URL instead of a folder")
	fl.String("origin-addr", localedge.DefaultOriginAddr, "address of the folder origin")
	fl.String("default-cache-control", "public, max-age=60", "Cache-Control of origin files without metadata")
	listVar(fl, &allowDotfiles, "allow-dotfile", "", nil, "globs of dotfiles the folder origin serves, e.g. /.htaccess; repeatable (added to serve.allow_dotfiles)")
	fl.String("html-handling", string(origin.AutoTrailingSlash), "clean URLs of the folder origin: auto-trailing-slash, force-trailing-slash, drop-trailing-slash or none (serve.static.html_handling)")
	fl.String("not-found", string(origin.NotFoundPage), "what the folder origin answers for a missing path: 404-page (the nearest 404.html), single-page-application (200.html or index.html) or none (serve.static.not_found)")
	fl.String("admin", "http://"+localedge.DefaultAdminAddr, "where the admin API listens: its URL (http://127.0.0.1:8099) or host:port")
	fl.String("name", "", "name this local CDN (serve.name): client commands with the same serve.name (CDNCTL_SERVE_NAME) find it from any folder (default: known by this folder)")
	fl.String("token", "", "admin API bearer token (default: generated and printed; env CDNCTL_SERVE_TOKEN)")
	listVar(fl, &pops, "edge", "", nil, "set an edge PoP's address, or add a PoP: NAME=HOST:PORT; repeatable (kept with --free-ports)")
	fl.StringVar(&shield, "shield-addr", localedge.DefaultShieldAddr, "address of the shield")
	fl.BoolVar(&noShield, "no-shield", false, "no shield: edges fetch from the origin directly")
	fl.DurationVar(&delay, "delay", 0, "simulated network delay from each PoP to its upstream (e.g. 150ms)")
	fl.StringVar(&size, "cache-size", "64MiB", "cache capacity of each PoP")
	fl.StringVar(&maxObj, "max-object-size", "8MiB", "largest response cached; larger ones pass through")
	fl.StringVar(&cacheDir, "cache-dir", "", "keep each PoP's cache on disk under this folder (survives restarts)")
	fl.String("access-log", "", "a line per request with its cache status: off, stdout, stderr or a file (default: stderr on a terminal, else off)")
	fl.Bool("https", false, "serve HTTPS and HTTP/2 too on every edge's address, with a certificate from your local CA (serve.https.enabled)")
	fl.Bool("compress", true, "compress responses at the edges (br, zstd, gzip) as CloudFront does; --compress=false: as the origin sends them (serve.compress.enabled)")
	fl.String("dns", defaultDNSConfig().Listen, "address of the GeoDNS server, UDP and TCP (dns.listen)")
	fl.BoolVar(&noDNS, "no-dns", false, "do not run the GeoDNS server")
	fl.BoolVar(&opts.FreePorts, "free-ports", false, "listen on free ports (port 0) instead of the configured ones, but for addresses given as flags (--edge, --admin, --shield-addr, --origin-addr, --dns)")
	fl.DurationVar(&opts.StopAfter, "stop-after", 0, "stop gracefully after this long (for scripts and tests)")
	aliasFlag(cmd, "pop", "edge")
	aliasFlag(cmd, "shield", "shield-addr")
	return cmd
}

// runServe builds the topology, prints where it listens and serves until
// ctx ends (or StopAfter).
func runServe(ctx context.Context, opts *ServeOptions) error {
	if opts.StopAfter > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.StopAfter)
		defer cancel()
	}
	lc, err := startLocalCDN(ctx, opts)
	if err != nil {
		return err
	}
	defer lc.close()
	top, originDesc, log, tc := lc.top, lc.originDesc, lc.log, lc.tc
	// Recorded before it is announced: a client started on the announcement
	// finds it.
	if opts.Registry != nil {
		info := top.Info()
		info.Token = top.Token()
		st, err := opts.Registry.Register(runstate.State{Name: opts.Config.Name, Dir: opts.WorkDir, Config: opts.ConfigPath, Topology: info})
		if err != nil {
			log.Warn("serve: client commands will not find this local CDN by themselves: " + err.Error())
		} else {
			defer opts.Registry.Remove(st)
			log.Info("recorded for client commands", "state", st.Path)
		}
	}
	if err := printServeInfo(opts.IO.Out, opts.JSON, top, originDesc); err != nil {
		return err
	}
	if lc.caCreated {
		log.Info("created the local CA", "dir", filepath.Dir(top.Info().HTTPS.CAFile))
	}
	log.Info("serving", "pops", len(tc.PoPs), "shield", tc.Shield != nil, "admin", top.Info().Admin.URL)
	if err := top.Run(ctx); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}

// limitMemory sets the Go runtime's soft memory limit from the configured
// cache sizes (unless GOMEMLIMIT is set), so the collector keeps the heap
// near what the caches may hold instead of letting it grow to twice that:
// 1.3 times their total plus 24 MiB, which keeps the process's resident
// memory (the limit, plus the program's own pages) within 1.3 times the
// caches plus 50 MiB, the target bench/edge measures.
// Under that cap, it lets the heap grow to five times what is live before
// collecting (unless GOGC is set): hits make short-lived garbage, and with
// a mostly empty cache the default would collect hundreds of times a
// second.
func limitMemory(opts *ServeOptions, tc localedge.TopologyConfig, log *slog.Logger) {
	if v, ok := opts.LookupEnv("GOMEMLIMIT"); ok && v != "" {
		return
	}
	if v, ok := opts.LookupEnv("GOGC"); !ok || v == "" {
		debug.SetGCPercent(400)
	}
	capacity := tc.Cache.Capacity
	if capacity <= 0 {
		capacity = localedge.DefaultMemoryCapacity
	}
	caches := int64(len(tc.PoPs))
	if tc.Shield != nil {
		caches++
	}
	if tc.Cache.Dir != "" {
		capacity = min(capacity/4, 64<<20) // only the hot bodies are in memory
	}
	limit := caches*capacity*13/10 + 24<<20
	debug.SetMemoryLimit(limit)
	log.Debug("memory limit", "bytes", limit)
}

// printServeInfo writes where the topology listens: one JSON line (the
// topology and the token) with --json, an aligned summary otherwise.
func printServeInfo(w io.Writer, asJSON bool, top *localedge.Topology, originDesc string) error {
	info := top.Info()
	info.Token = top.Token()
	if asJSON {
		b, err := json.Marshal(info)
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		_, err = w.Write(append(b, '\n'))
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "Local CDN running (Ctrl-C stops it):")
	for _, p := range info.PoPs {
		extra := ""
		if len(p.Regions) > 0 {
			extra = "clients " + strings.Join(p.Regions, ", ")
		}
		url := p.URL
		if p.HTTPSURL != "" {
			url += " " + p.HTTPSURL
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", p.Name, p.Role, url, extra)
	}
	fmt.Fprintf(tw, "  origin\t\t%s\t%s\n", info.Origin.URL, originDesc)
	fmt.Fprintf(tw, "  admin\t\t%s\ttoken %s\n", info.Admin.URL, info.Token)
	if info.DNS != nil {
		fmt.Fprintf(tw, "  dns\t\t%s\tzone %s\n", info.DNS.Addr, info.DNS.Zone)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "Try:\n  curl -si -H 'Host: www.example.test' %s/\n  curl -s -H 'Authorization: Bearer %s' %s/api/v1/stats\n",
		info.PoPs[0].URL, info.Token, info.Admin.URL)
	if err == nil && info.DNS != nil {
		_, err = fmt.Fprintf(w, "  cdnctl resolve www.example.test --dns %s --from 127.2.0.1\n", info.DNS.Addr)
	}
	if err == nil && info.HTTPS != nil {
		err = printTrustAdvice(w, info)
	}
	return err
}

// printTrustAdvice says how to reach the edges over HTTPS: the CA to
// trust, a curl command, and cdnctl trust for browsers.
func printTrustAdvice(w io.Writer, info localedge.TopologyInfo) error {
	pop := info.PoPs[0]
	host, port, _ := net.SplitHostPort(pop.Addr)
	_, err := fmt.Fprintf(w, "  curl -si --http2 --cacert %s --resolve www.example.test:%s:%s https://www.example.test:%s/\n"+
		"HTTPS: the edges' certificate is signed by your local CA, %s.\n"+
		"  Browsers trust it after: cdnctl trust   (cdnctl trust --uninstall removes it)\n",
		truststores.ShellQuote(info.HTTPS.CAFile), port, host, port, truststores.ShellQuote(info.HTTPS.CAFile))
	return err
}

// localCDN is a started local topology (with its origin and GeoDNS), not
// yet serving: what `cdnctl serve` runs and `cdnctl demo` deploys to.
type localCDN struct {
	top        *localedge.Topology
	tc         localedge.TopologyConfig
	originDesc string
	log        *slog.Logger
	cleanup    []func()
	// caCreated says the local CA was created for this topology.
	caCreated bool
}

// close releases what startLocalCDN opened besides the topology (which
// Run shuts down).
func (l *localCDN) close() {
	for i := len(l.cleanup) - 1; i >= 0; i-- {
		l.cleanup[i]()
	}
}

// startLocalCDN builds the topology of opts (origin folder, sample site or
// upstream), binds every listener and starts the GeoDNS when enabled. On
// an error nothing is left listening.
func startLocalCDN(ctx context.Context, opts *ServeOptions) (_ *localCDN, err error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &localCDN{log: log}
	defer func() {
		if err != nil {
			l.close()
		}
	}()
	sc := opts.Config
	tc, err := sc.topology(opts.FreePorts)
	if err != nil {
		return nil, err
	}
	if opts.DNS.Enabled {
		if err := opts.DNS.validate(); err != nil {
			return nil, err
		}
	}
	tc.Logger = log
	tc.AccessLog = opts.AccessLog
	if sc.HTTPS.Enabled {
		if tc.HTTPS, l.caCreated, err = sc.HTTPS.topologyHTTPS(opts.DNS, time.Now()); err != nil {
			return nil, err
		}
	}
	switch {
	case sc.Upstream != "":
		l.originDesc = "upstream"
	default:
		dir := sc.Origin
		l.originDesc = dir
		if dir == "" {
			tmp, err := os.MkdirTemp("", "cdnctl-sample-")
			if err != nil {
				return nil, fmt.Errorf("serve: sample site: %w", err)
			}
			l.cleanup = append(l.cleanup, func() { os.RemoveAll(tmp) })
			if err := os.CopyFS(tmp, sample.Site()); err != nil {
				return nil, fmt.Errorf("serve: sample site: %w", err)
			}
			dir, l.originDesc = tmp, "built-in sample site"
		} else if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, usageErrorf("--origin %s: not a folder", dir)
		}
		allow, err := hashing.CompileGlobs(sc.AllowDotfiles)
		if err != nil {
			return nil, usageErrorf("serve.allow_dotfiles (--allow-dotfile): %v", err)
		}
		oo, err := sc.Static.originOptions()
		if err != nil {
			return nil, err
		}
		oo.DefaultCacheControl, oo.Logger, oo.AllowDotfiles = sc.DefaultCacheControl, log, allow
		h, err := origin.New(dir, oo)
		var lineErr *siterules.LineError
		switch {
		case errors.As(err, &lineErr):
			return nil, usageErrorf("serve: %v\n(serve.static.redirects: false or serve.static.headers: false leaves the file unread)", err)
		case err != nil:
			return nil, fmt.Errorf("serve: %w", err)
		}
		l.cleanup = append(l.cleanup, func() { h.Close() })
		tc.Origin.Handler = h
		if sc.Origin != "" {
			tc.Origin.Dir = dir
		}
	}
	top, err := localedge.NewTopology(tc)
	if err != nil {
		return nil, usageErrorf("serve: %v", err)
	}
	limitMemory(opts, tc, log)
	if err := top.Start(ctx); err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	if opts.DNS.Enabled {
		listen := ""
		if opts.FreePorts && !opts.DNSFixed {
			host, _, _ := net.SplitHostPort(opts.DNS.Listen)
			listen = net.JoinHostPort(host, "0")
		}
		if _, err := opts.DNS.startGeoDNS(top, listen, log); err != nil {
			// Release what Start bound: Run with a done context starts
			// and stops at once.
			stopped, cancel := context.WithCancel(ctx)
			cancel()
			top.Run(stopped)
			return nil, err
		}
	}
	l.top, l.tc = top, tc
	return l, nil
}
