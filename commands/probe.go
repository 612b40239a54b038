package commands

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/localedge/adminclient"
	"github.com/cdnctl/cdnctl/providers/probe"
)

// ProbeOptions are the inputs of `cdnctl probe`.
type ProbeOptions struct {
	IO      *IOStreams
	JSON    bool
	URL     string
	Pops    []string
	Direct  bool
	Edges   []string
	Regions []string
	// Resolver is the DNS server; ResolverSet says the user gave it.
	Resolver    string
	ResolverSet bool
	Method      string
	Headers     []string
	Timeout     time.Duration
	Insecure    bool
	// Admin is the local topology's admin API (nil: not configured).
	Admin    *adminclient.Client
	AdminErr error
}

func newCmdProbe(f *Factory) *cobra.Command {
	opts := &ProbeOptions{IO: f.IO}
	var admin adminFlags
	cmd := &cobra.Command{
		Use:   "probe URL|PATH",
		Short: "Request a URL through every PoP and show, side by side, what each cache did",
		Long: `Request URL through each PoP of a CDN and show the answers side by side:
status, Age, Cache-Control, ETag, a SHA-256 of the body, the cache verdict
decoded from Cache-Status (RFC 9211), CF-Cache-Status (Cloudflare), X-Cache
(CloudFront, Fastly with X-Served-By, Akamai), Server-Timing, and the time
spent in DNS, connect, TLS and waiting for the first byte. It answers "is it
cached, where, and for how long?" in one screen. A PATH (/index.html) is
requested on the site's host: deploy.base_url, else the local CDN's
www.example.test.

Targets:
  - with no --edge or --subnet, the edges of the local CDN that cdnctl
    serve runs for this folder (found by itself; read from its admin API;
    --pop picks some, the shield included): each is reached the way its clients are, through the topology's GeoDNS
    for its region, or directly with --direct or when serve runs no DNS;
  - --edge NAME=IP[:PORT] (repeatable) connects to that address for the
    URL's host, like curl --connect-to: the edges of a real CDN;
  - --subnet CIDR|IP (repeatable) resolves the URL's host at --dns as a
    client of that network (EDNS Client Subnet) and connects to the answer.

Each request goes out once, in order, so a miss at the first PoP can fill a
shield that the next ones hit. The body is hashed as received (with
Accept-Encoding of a browser, unless -H changes it). Probing fills caches
like any request would; use -X HEAD to avoid transferring bodies.`,
		Example: `  cdnctl probe /index.html
  cdnctl probe http://www.example.test/index.html
  cdnctl probe http://www.example.test/app.css --pop pop1,shield --direct
  cdnctl probe https://www.example.com/ --edge iad=203.0.113.10 --edge fra=198.51.100.7
  cdnctl probe https://www.example.com/ --dns 127.0.0.1:5353 --subnet 127.2.0.0/16 --subnet 127.3.0.1
  cdnctl probe http://www.example.test/ --json | jq '.results[].verdict.summary'`,
		Args: wrapArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := f.Config()
			if err != nil {
				return err
			}
			opts.URL = args[0]
			if strings.HasPrefix(opts.URL, "/") {
				// A path: on the site's host (deploy.base_url, else the
				// local CDN's www.example.test).
				base := cfg.Deploy.BaseURL
				if base == "" {
					base = localSiteBase(cfg)
				}
				opts.URL = strings.TrimSuffix(base, "/") + opts.URL
			}
			opts.JSON = f.JSON
			opts.ResolverSet = cmd.Flags().Changed("dns")
			for _, r := range opts.Regions {
				if _, err := parseRegion(r); err != nil {
					return err
				}
			}
			if !opts.ResolverSet && len(opts.Regions) > 0 {
				if opts.Resolver, err = f.localDNS(cmd.Context(), cfg); err != nil {
					return fmt.Errorf("probe: --subnet without --dns: %w", err)
				}
			}
			if len(opts.Edges) > 0 && len(opts.Pops) > 0 {
				return usageErrorf("--pop selects PoPs of the local topology; with --edge, name the edges instead")
			}
			opts.Admin, opts.AdminErr = admin.client(cmd, f, cfg)
			return runProbe(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	listVar(fl, &opts.Pops, "pop", "", nil, "PoPs of the local topology to probe; repeatable (default: every edge; the shield when named)")
	fl.BoolVar(&opts.Direct, "direct", false, "local topology: connect to each PoP's address instead of resolving through the GeoDNS")
	listVar(fl, &opts.Edges, "edge", "", nil, "probe through these edges: NAME=IP[:PORT] or IP[:PORT]; repeatable")
	listVar(fl, &opts.Regions, "subnet", "", nil, "probe as a client of this network: CIDR or IP, resolved at --dns; repeatable")
	fl.StringVar(&opts.Resolver, "dns", "", "DNS server host:port (default: the GeoDNS of the local CDN running for this folder, else dns.listen)")
	fl.StringVarP(&opts.Method, "method", "X", http.MethodGet, "GET, or HEAD to skip bodies")
	fl.StringArrayVarP(&opts.Headers, "header", "H", nil, `extra request header "Name: value" (repeatable; Host: changes the Host header)`)
	fl.DurationVar(&opts.Timeout, "timeout", probe.DefaultTimeout, "timeout of each request, body included")
	fl.BoolVarP(&opts.Insecure, "insecure", "k", false, "do not verify TLS certificates")
	aliasFlag(cmd, "pops", "pop")
	aliasFlag(cmd, "region", "subnet")
	aliasFlag(cmd, "resolver", "dns")
	admin.register(cmd)
	return cmd
}

func runProbe(ctx context.Context, opts *ProbeOptions) error {
	p := &probe.Prober{Method: strings.ToUpper(opts.Method), Timeout: opts.Timeout, Insecure: opts.Insecure, Header: http.Header{}}
	if p.Method != http.MethodGet && p.Method != http.MethodHead {
		return usageErrorf("--method %q: want GET or HEAD", opts.Method)
	}
	for _, h := range opts.Headers {
		name, value, ok := strings.Cut(h, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return usageErrorf("--header %q: want \"Name: value\"", h)
		}
		p.Header.Add(name, strings.TrimSpace(value))
	}
	if opts.ResolverSet || len(opts.Regions) > 0 {
		if _, _, err := net.SplitHostPort(opts.Resolver); err != nil {
			return usageErrorf("--dns %q: want host:port such as 127.0.0.1:5353", opts.Resolver)
		}
		p.Resolver = opts.Resolver
	}

	var targets []probe.Target
	for _, e := range opts.Edges {
		name, addr, ok := strings.Cut(e, "=")
		if !ok {
			name, addr = e, e
		}
		if name == "" || !validEdgeAddr(addr) {
			return usageErrorf("--edge %q: want NAME=IP[:PORT] or IP[:PORT], such as iad=203.0.113.10", e)
		}
		targets = append(targets, probe.Target{Name: name, Addr: addr})
	}
	for _, r := range opts.Regions {
		pre, err := parseRegion(r)
		if err != nil {
			return err
		}
		targets = append(targets, probe.Target{Name: pre.String(), Region: pre})
	}
	if len(targets) == 0 {
		// The local topology.
		if opts.AdminErr != nil {
			return fmt.Errorf("probe: no --edge or --subnet, so probing the local topology: %w", opts.AdminErr)
		}
		info, err := opts.Admin.Topology(ctx)
		if err != nil {
			return fmt.Errorf("probe: no --edge or --subnet, so probing the local topology: %w", err)
		}
		viaDNS := !opts.Direct && (p.Resolver != "" || info.DNS != nil)
		if viaDNS && p.Resolver == "" {
			p.Resolver = localedge.ClientAddr(info.DNS.Addr)
		}
		local, err := probe.LocalTargets(info, opts.Pops, viaDNS)
		if err != nil {
			return usageErrorf("--pop: %v", err)
		}
		targets, p.Locate = local.Targets, local.Locate
		if p.RootCAs, err = info.RootCAs(); err != nil {
			return fmt.Errorf("probe: %w", err)
		}
	} else if len(opts.Regions) > 0 && opts.AdminErr == nil {
		// Regions resolved by the local GeoDNS answer PoP addresses whose
		// ports only the topology knows; a real CDN needs none of this.
		if info, err := opts.Admin.Topology(ctx); err == nil {
			if local, err := probe.LocalTargets(info, nil, false); err == nil {
				p.Locate = local.Locate
			}
			if roots, err := info.RootCAs(); err == nil {
				p.RootCAs = roots
			}
		}
	}

	rep, err := p.Probe(ctx, opts.URL, targets)
	if err != nil {
		if rep == nil {
			return usageErrorf("%v", err)
		}
		return err
	}
	if opts.JSON {
		if err := writeJSON(opts.IO.Out, rep); err != nil {
			return err
		}
	} else if err := printProbe(opts.IO, rep); err != nil {
		return err
	}
	failed := 0
	for _, r := range rep.Results {
		if r.Error != "" {
			failed++
		}
	}
	if failed > 0 {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("probe: %d of %s failed", failed, count(len(rep.Results), "target", "targets"))}
	}
	return nil
}

func validEdgeAddr(s string) bool {
	if host, port, err := net.SplitHostPort(s); err == nil {
		_, perr := strconv.ParseUint(port, 10, 16)
		return host != "" && perr == nil
	}
	_, err := netip.ParseAddr(strings.Trim(s, "[]"))
	return err == nil
}

// parseRegion reads a client network; a bare address stands for its /24
// (IPv6: /56), what resolvers send as the client subnet.
func parseRegion(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	if ip, err := netip.ParseAddr(s); err == nil {
		bits := 24
		if ip.Is6() {
			bits = 56
		}
		return netip.PrefixFrom(ip, bits).Masked(), nil
	}
	return netip.Prefix{}, usageErrorf("--subnet %q: want a network such as 127.2.0.0/16 or an address such as 127.2.0.1", s)
}

// printProbe prints the answers side by side: one column per target, one
// row per property; rows that are empty everywhere are left out.
func printProbe(ios *IOStreams, rep *probe.Report) error {
	tty := ios.IsStdoutTTY()
	clip := func(s string) string {
		if tty && len(s) > 48 {
			return s[:47] + "…"
		}
		return s
	}
	header := []string{rep.Method + " " + rep.URL}
	for _, r := range rep.Results {
		header = append(header, r.Target)
	}
	t := newTable(ios, header...)
	if !tty {
		// Piped tables have no header line: name the columns in a row.
		t.Row(append([]string{"target"}, header[1:]...)...)
	}
	row := func(name string, cell func(r *probe.Result) string) {
		cells := []string{name}
		empty := true
		for i := range rep.Results {
			c := cell(&rep.Results[i])
			if c != "" {
				empty = false
			} else {
				c = "-"
			}
			cells = append(cells, clip(c))
		}
		if !empty {
			t.Row(cells...)
		}
	}
	ok := func(r *probe.Result) bool { return r.Error == "" }
	row("error", func(r *probe.Result) string { return r.Error })
	row("dns", func(r *probe.Result) string {
		if r.DNS == nil {
			return ""
		}
		s := strings.Join(r.DNS.Addrs, " ")
		if r.DNS.PoP != "" {
			s += " (" + r.DNS.PoP + ")"
		}
		return s
	})
	row("connected to", func(r *probe.Result) string {
		if r.PoP != "" && r.PoP != r.Target {
			return r.Addr + " (" + r.PoP + ")"
		}
		return r.Addr
	})
	row("note", func(r *probe.Result) string { return r.Note })
	row("status", func(r *probe.Result) string {
		if !ok(r) && r.Status == 0 {
			return ""
		}
		return strconv.Itoa(r.Status) + " " + r.Proto
	})
	row("cache", func(r *probe.Result) string {
		if r.Status == 0 {
			return ""
		}
		s := string(r.Verdict.Result)
		if s == "" {
			s = "?"
		}
		if r.Verdict.Cached && !r.Verdict.Result.Served() {
			s += " (cached upstream)"
		}
		return s
	})
	row("verdict", func(r *probe.Result) string {
		if r.Status == 0 {
			return ""
		}
		return r.Verdict.Summary
	})
	row("age", func(r *probe.Result) string {
		if r.Age == nil {
			return ""
		}
		return strconv.FormatInt(*r.Age, 10) + "s"
	})
	row("cache-control", func(r *probe.Result) string { return r.CacheControl })
	row("etag", func(r *probe.Result) string { return r.ETag })
	row("last-modified", func(r *probe.Result) string { return r.LastModified })
	row("content-type", func(r *probe.Result) string { return r.ContentType })
	row("encoding", func(r *probe.Result) string { return r.ContentEncoding })
	row("vary", func(r *probe.Result) string { return r.Vary })
	row("size", func(r *probe.Result) string {
		if r.Status == 0 {
			return ""
		}
		return strconv.FormatInt(r.Size, 10)
	})
	row("sha256", func(r *probe.Result) string {
		if len(r.SHA256) < 16 {
			return r.SHA256
		}
		if tty {
			return r.SHA256[:16]
		}
		return r.SHA256
	})
	for _, h := range []string{"Cache-Status", "CF-Cache-Status", "X-Cache", "X-Cache-Hits", "X-Served-By", "X-Amz-Cf-Pop", "CF-Ray", "Via", "Server-Timing"} {
		row(strings.ToLower(h), func(r *probe.Result) string { return r.Headers[h] })
	}
	timing := func(name string, v func(probe.Timing) float64) {
		row(name, func(r *probe.Result) string {
			if r.Status == 0 && name != "dns" {
				return ""
			}
			if x := v(r.Timing); x > 0 {
				prec := 1
				if x < 10 {
					prec = 2
				}
				return strconv.FormatFloat(x, 'f', prec, 64) + " ms"
			}
			return ""
		})
	}
	timing("dns time", func(t probe.Timing) float64 { return t.DNSMs })
	timing("connect", func(t probe.Timing) float64 { return t.ConnectMs })
	timing("tls", func(t probe.Timing) float64 { return t.TLSMs })
	timing("first byte", func(t probe.Timing) float64 { return t.FirstByteMs })
	timing("total", func(t probe.Timing) float64 { return t.TotalMs })
	if err := t.Render(ios.Out); err != nil {
		return err
	}
	if !tty {
		return nil
	}
	var notes []string
	switch {
	case rep.Method != http.MethodGet:
	case rep.SameContent:
		notes = append(notes, "same content everywhere")
	case len(rep.Results) > 1:
		notes = append(notes, "content differs between targets")
	}
	notes = append(notes, fmt.Sprintf("served from a cache at %d of %d", rep.Cached, len(rep.Results)))
	_, err := fmt.Fprintln(ios.Out, strings.Join(notes, "; "))
	return err
}
