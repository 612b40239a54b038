// Package demo is cdnctl's offline quick start: given a running local CDN
// (the topology of `cdnctl serve`, with its GeoDNS) whose origin is an
// empty folder, it deploys the embedded sample site with providers/deploy,
// resolves the site's host from two client regions, fetches a file nobody
// requested yet (a miss, then a hit), edits one page, deploys again — only
// that page is purged — and shows the new page served by every PoP,
// narrating each step. When the topology serves HTTPS, the site is
// https://www.example.test/, reached over HTTP/2 with the topology's CA,
// and a plain-HTTP request shows the viewer protocol policy. `cdnctl demo`
// and the end-to-end tests run it.
package demo

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/miekg/dns"

	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/localedge/adminclient"
	"github.com/cdnctl/cdnctl/localedge/resolver"
	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/deploy"
	"github.com/cdnctl/cdnctl/providers/local"
	"github.com/cdnctl/cdnctl/providers/prewarm"
	"github.com/cdnctl/cdnctl/providers/probe"
	"github.com/cdnctl/cdnctl/sample"
	"github.com/cdnctl/cdnctl/siteaudit"
)

// Host is the site's hostname (contracts §4: a CNAME into the CDN zone).
const Host = "www.example.test"

// EditedPage is the page the demo changes between its two deploys.
const EditedPage = "about/index.html"

// Env is the running local CDN the demo deploys to.
type Env struct {
	// Info describes the topology; it must have a GeoDNS (Info.DNS).
	Info  localedge.TopologyInfo
	Token string
	// OriginDir is the folder the topology's origin serves; WorkDir a
	// scratch folder for the site's source and build.
	OriginDir string
	WorkDir   string
	// Store, when set, is the origin deployed to instead of a folder
	// store at OriginDir (an S3 bucket the topology reads through a
	// signed-fetch origin); Target names it.
	Store  providers.Store
	Target string
	// Out receives the narration.
	Out    io.Writer
	Logger *slog.Logger
	Now    func() time.Time
}

// Result is what the demo saw, for tests and `cdnctl demo --json`.
type Result struct {
	Deploys  []*deploy.Report `json:"deploys"`
	Resolved []Resolution     `json:"resolved"`
	Fetches  []Fetch          `json:"fetches"`
	// Redirect is a plain-HTTP request answered by the viewer protocol
	// policy (when the topology has HTTPS and redirects the site).
	Redirect *Redirect `json:"redirect,omitempty"`
	// Purged are the URLs the second deploy purged.
	Purged []string `json:"purged"`
	// After is what each PoP served for the edited page after the second
	// deploy.
	After []Fetch `json:"after"`
}

// Resolution is the site's host resolved as a client of one region.
type Resolution struct {
	Client string   `json:"client"`
	Region string   `json:"region"`
	Chain  []string `json:"chain"`
	Addr   string   `json:"addr"`
	PoP    string   `json:"pop"`
	Reason string   `json:"reason,omitempty"`
}

// Redirect is what a PoP answered a plain-HTTP request with.
type Redirect struct {
	PoP      string `json:"pop"`
	URL      string `json:"url"`
	Status   int    `json:"status"`
	Location string `json:"location"`
}

// Fetch is one request through one PoP.
type Fetch struct {
	PoP         string        `json:"pop"`
	Path        string        `json:"path"`
	Status      int           `json:"status"`
	Proto       string        `json:"proto"`
	Result      probe.Outcome `json:"result"`
	Cached      bool          `json:"cached"`
	CacheStatus string        `json:"cache_status"`
	// New reports, for the edited page, whether the body is the edited
	// one.
	New     bool    `json:"new,omitempty"`
	Latency float64 `json:"latency_ms"`
}

// Run runs the demo. It fails when something does not behave as the
// narration says (a PoP serving the old page, a hit that is a miss).
func Run(ctx context.Context, env Env) (*Result, error) {
	if env.Info.DNS == nil {
		return nil, errors.New("demo: the topology runs no GeoDNS")
	}
	if env.Now == nil {
		env.Now = time.Now
	}
	d := &demo{env: env, w: env.Out, res: &Result{}}
	if d.w == nil {
		d.w = io.Discard
	}
	scheme := "http"
	if env.Info.HTTPS != nil {
		scheme = "https"
		roots, err := env.Info.RootCAs()
		if err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		d.roots = roots
	}
	d.base, _ = prewarm.ParseBase(scheme + "://" + Host + "/")
	return d.res, d.run(ctx)
}

type demo struct {
	env   Env
	w     io.Writer
	res   *Result
	src   string
	edges []prewarm.Edge
	// base is the site's URL: https when the topology serves HTTPS;
	// roots then trust its CA.
	base  *url.URL
	roots *x509.CertPool
}

func (d *demo) say(format string, args ...any) { fmt.Fprintf(d.w, format+"\n", args...) }

func (d *demo) run(ctx context.Context) error {
	env := d.env
	d.src = filepath.Join(env.WorkDir, "site")
	if err := os.CopyFS(d.src, sample.Site()); err != nil {
		return fmt.Errorf("demo: copy the sample site: %w", err)
	}
	cfg, err := d.deployConfig()
	if err != nil {
		return err
	}
	d.printTopology()

	// 1. The first deploy.
	d.say("\n1. Deploy the sample site: fingerprint → upload (assets, files, entry points) → purge → prewarm → verify")
	rep, err := d.deploy(ctx, cfg)
	if err != nil {
		return err
	}
	d.say("   deploy %s: %d files uploaded (%s), pages prewarmed through %d PoPs, %d answers verified",
		rep.ID, rep.Push.Uploaded, humanBytes(rep.Push.BytesUploaded), len(d.edges), rep.Step(deploy.StepVerify).Files)
	d.say("   recorded in the origin's history (%s/%s)", providers.StateDir, providers.HistoryName)

	// 2. DNS from two regions.
	d.say("\n2. Resolve %s as clients of two regions (GeoDNS at %s)", Host, env.Info.DNS.Addr)
	for _, client := range []string{"127.1.0.10", "127.2.0.10"} {
		r, err := d.resolve(ctx, client)
		if err != nil {
			return err
		}
		d.res.Resolved = append(d.res.Resolved, r)
		d.say("   client %-11s → %s → %s (%s)", r.Client, strings.Join(r.Chain, " → "), r.Addr, r.PoP)
	}
	if a, b := d.res.Resolved[0].PoP, d.res.Resolved[1].PoP; a == b {
		return fmt.Errorf("demo: both regions were sent to %s", a)
	}

	// 3. A miss, then a hit.
	cold, err := d.coldAsset(ctx, rep)
	if err != nil {
		return err
	}
	d.say("\n3. Fetch %s%s, which nobody requested yet", strings.TrimSuffix(d.base.String(), "/"), cold)
	first, second := d.res.Resolved[0].PoP, d.res.Resolved[1].PoP
	for _, pop := range []string{first, first, second} {
		f, err := d.fetch(ctx, pop, cold)
		if err != nil {
			return err
		}
		d.res.Fetches = append(d.res.Fetches, f)
		d.say("   via %-5s %d %-8s %-28s Cache-Status: %s", f.PoP, f.Status, f.Proto, verdict(f), f.CacheStatus)
	}
	if err := d.showRedirect(ctx, first, cold); err != nil {
		return err
	}
	if f := d.res.Fetches; f[0].Result != probe.Miss || f[1].Result != probe.Hit || f[2].Result != probe.Miss || !f[2].Cached {
		return fmt.Errorf("demo: expected a miss, a hit, then a miss at the edge served by the shield; got %s, %s, %s", verdict(f[0]), verdict(f[1]), verdict(f[2]))
	}

	// 4. Change one page, deploy again.
	d.say("\n4. Edit %s and deploy again", EditedPage)
	for _, e := range d.edges {
		f, err := d.fetch(ctx, e.Name, "/about/")
		if err != nil {
			return err
		}
		d.say("   before: via %-5s %s (the edges keep pages for an hour: CDN-Cache-Control)", f.PoP, verdict(f))
	}
	if err := d.editPage(); err != nil {
		return err
	}
	rep2, err := d.deploy(ctx, cfg)
	if err != nil {
		return err
	}
	purge := rep2.Step(deploy.StepPurge)
	for _, p := range purge.Purges {
		if p.Record != nil {
			for _, b := range p.Record.Batches {
				d.res.Purged = append(d.res.Purged, b.Items...)
			}
		}
	}
	var changed []string
	for _, name := range []string{deploy.StepUploadAssets, deploy.StepUploadFiles, deploy.StepUploadEntryPoints} {
		for _, c := range rep2.Step(name).Changes {
			changed = append(changed, c.Key)
		}
	}
	d.say("   deploy %s uploaded %s", rep2.ID, strings.Join(changed, ", "))
	d.say("   purged only %s (fingerprinted files never are)", strings.Join(d.res.Purged, " "))

	// 5. The new page everywhere.
	d.say("\n5. /about/ through every PoP now")
	for _, e := range d.edges {
		f, err := d.fetch(ctx, e.Name, "/about/")
		if err != nil {
			return err
		}
		d.res.After = append(d.res.After, f)
		state := "the new page"
		if !f.New {
			state = "THE OLD PAGE"
		}
		d.say("   via %-5s %d  %-28s %s", f.PoP, f.Status, verdict(f), state)
		if !f.New {
			return fmt.Errorf("demo: %s still serves the old page", f.PoP)
		}
	}

	over := ""
	if d.base.Scheme == "https" {
		over = " over HTTPS and HTTP/2"
	}
	d.say("\nSummary: 2 deploys to %s; DNS sent two regions to %s and %s; a miss then a hit%s; one edited page purged and served everywhere.",
		cfg.Target, d.res.Resolved[0].PoP, d.res.Resolved[1].PoP, over)
	return nil
}

// deployConfig is a deploy of the sample's source to the folder origin,
// purged, warmed and verified through the topology.
func (d *demo) deployConfig() (deploy.Config, error) {
	env := d.env
	var store providers.Store = env.Store
	target := env.Target
	if store == nil {
		s, err := local.NewStore(env.OriginDir)
		if err != nil {
			return deploy.Config{}, err
		}
		store, target = s, "file://"+env.OriginDir
	}
	purger, err := local.NewPurger(local.PurgerConfig{AdminURL: env.Info.Admin.URL, Token: providers.Secret(env.Token), Logger: env.Logger})
	if err != nil {
		return deploy.Config{}, err
	}
	base := d.base
	info := env.Info
	return deploy.Config{
		Source: d.src, Dir: filepath.Join(env.WorkDir, "build"),
		// Pages are cached by the edges for an hour and revalidated by
		// browsers: the setup where a deploy must purge them.
		Fingerprint: hashing.DirOptions{Options: hashing.Options{
			Encodings:       []string{hashing.EncodingBrotli, hashing.EncodingGzip},
			CompressMinSize: hashing.DefaultCompressMinSize,
			Rules: []hashing.Rule{
				{Match: []string{"*.html"}, Headers: map[string]string{"CDN-Cache-Control": "max-age=3600"}},
			},
		},
			// The audit ends the run, as in cdnctl deploy.
			Audit: (&siteaudit.Auditor{Source: os.DirFS(d.src), Options: siteaudit.Options{Skip: []string{hashing.DefaultManifestName}}}).Audit,
		},
		Store: store, Target: target,
		Plan: providers.DefaultPlanOptions(),
		CDNs: []deploy.CDN{{
			Name: "local", Provider: local.PurgeProvider, Purger: purger, BaseURL: base,
			Edges: func(ctx context.Context) ([]prewarm.Edge, error) {
				edges, err := prewarm.LocalEdges(ctx, info, Host)
				d.edges = edges
				return edges, err
			},
		}},
		Prewarm: deploy.PrewarmConfig{Enabled: true, What: deploy.WarmEntryPoints},
		Verify:  deploy.VerifyConfig{Enabled: true, Sample: 3},
		Logger:  env.Logger, Now: env.Now,
	}, nil
}

func (d *demo) deploy(ctx context.Context, cfg deploy.Config) (*deploy.Report, error) {
	dep := deploy.New(cfg)
	plan, err := dep.Plan(ctx)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	rep, err := dep.Apply(ctx, plan)
	if rep != nil {
		d.res.Deploys = append(d.res.Deploys, rep)
		for _, s := range rep.Steps {
			if s.Status == deploy.StatusSkipped {
				continue
			}
			note := s.Reason
			if s.Name == deploy.StepPurge {
				note = fmt.Sprintf("%d URLs", s.Files)
			}
			d.say("   %-20s %-8s %s", s.Name, s.Status, note)
		}
	}
	if err != nil {
		return rep, fmt.Errorf("demo: %w", err)
	}
	return rep, nil
}

func (d *demo) printTopology() {
	info := d.env.Info
	d.say("A CDN on this machine: %d edge PoPs, a shield, an origin, a GeoDNS and an admin API (free ports, stopped at the end).", len(d.edgesOf(info)))
	tw := tabwriter.NewWriter(d.w, 0, 4, 2, ' ', 0)
	for _, p := range info.PoPs {
		extra := ""
		if len(p.Regions) > 0 {
			extra = "clients " + strings.Join(p.Regions, ", ")
		}
		url := p.URL
		if p.HTTPSURL != "" {
			url += " " + p.HTTPSURL
		}
		fmt.Fprintf(tw, "   %s\t%s\t%s\t%s\n", p.Name, p.Role, url, extra)
	}
	where := "folder " + d.env.OriginDir
	if d.env.Store != nil {
		where = d.env.Target
	}
	fmt.Fprintf(tw, "   origin\t\t%s\t%s\n", info.Origin.URL, where)
	fmt.Fprintf(tw, "   dns\t\t%s\tzone %s\n", info.DNS.Addr, info.DNS.Zone)
	fmt.Fprintf(tw, "   admin\t\t%s\t\n", info.Admin.URL)
	tw.Flush()
}

func (d *demo) edgesOf(info localedge.TopologyInfo) []localedge.PoPInfo {
	var out []localedge.PoPInfo
	for _, p := range info.PoPs {
		if p.Role == localedge.RoleEdge {
			out = append(out, p)
		}
	}
	return out
}

// resolve asks the GeoDNS for the site's host from a client address (the
// region is the source address; where the address cannot be bound, as on
// macOS without aliases, the same network as EDNS Client Subnet).
func (d *demo) resolve(ctx context.Context, client string) (Resolution, error) {
	ip := netip.MustParseAddr(client)
	region := netip.PrefixFrom(ip, 16).Masked()
	server := localedge.ClientAddr(d.env.Info.DNS.Addr)
	r := &resolver.Resolver{Server: server, LocalAddr: ip}
	a, err := r.Lookup(ctx, Host, dns.TypeA)
	if err != nil {
		r = &resolver.Resolver{Server: server, Subnet: region}
		if a, err = r.Lookup(ctx, Host, dns.TypeA); err != nil {
			return Resolution{}, fmt.Errorf("demo: %w", err)
		}
	}
	res := Resolution{Client: client, Region: region.String(), Chain: []string{Host}}
	for _, rr := range a.Records {
		if c, ok := rr.(*dns.CNAME); ok {
			res.Chain = append(res.Chain, strings.TrimSuffix(c.Target, "."))
		}
	}
	if len(a.Addrs) == 0 {
		return res, fmt.Errorf("demo: %s from %s: no address (rcode %d)", Host, client, a.Rcode)
	}
	res.Addr = a.Addrs[0].String()
	if a.PoP != nil {
		res.PoP, res.Reason = a.PoP.PoP, a.PoP.Detail
	}
	for _, p := range d.env.Info.PoPs {
		if host, _, _ := net.SplitHostPort(p.Addr); host == res.Addr && p.Role == localedge.RoleEdge {
			res.PoP = p.Name
		}
	}
	return res, nil
}

// coldAsset picks a fingerprinted file that no PoP holds, from the cache
// listing of the admin API.
func (d *demo) coldAsset(ctx context.Context, rep *deploy.Report) (string, error) {
	admin := &adminclient.Client{BaseURL: d.env.Info.Admin.URL, Token: d.env.Token}
	for _, c := range rep.Step(deploy.StepUploadAssets).Changes {
		if !strings.HasSuffix(c.Key, ".png") && !strings.HasSuffix(c.Key, ".svg") && !strings.HasSuffix(c.Key, ".css") {
			continue
		}
		page, err := admin.Entries(ctx, adminclient.ListQuery{Filter: c.Key, Limit: 1})
		if err != nil {
			return "", fmt.Errorf("demo: %w", err)
		}
		if page.Total == 0 {
			return "/" + c.Key, nil
		}
	}
	return "", errors.New("demo: every asset is cached already")
}

// edge returns the named PoP, trusting the topology's CA.
func (d *demo) edge(pop string) (*prewarm.Edge, error) {
	for _, p := range d.env.Info.PoPs {
		if p.Name == pop {
			return &prewarm.Edge{Name: p.Name, Addr: p.Addr, RootCAs: d.roots}, nil
		}
	}
	return nil, fmt.Errorf("demo: no PoP %s", pop)
}

// showRedirect requests path over plain HTTP: with HTTPS and the site's
// policy redirect-to-https, the PoP answers 301 to the HTTPS URL, as
// CloudFront does.
func (d *demo) showRedirect(ctx context.Context, pop, path string) error {
	info := d.env.Info.HTTPS
	if info == nil || info.HostPolicies[Host] != localedge.RedirectToHTTPS {
		return nil
	}
	edge, err := d.edge(pop)
	if err != nil {
		return err
	}
	client, closeConns := edge.Client(1, 10*time.Second, false)
	defer closeConns()
	u := "http://" + Host + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("demo: GET %s via %s: %w", u, pop, err)
	}
	resp.Body.Close()
	r := &Redirect{PoP: pop, URL: u, Status: resp.StatusCode, Location: resp.Header.Get("Location")}
	d.res.Redirect = r
	d.say("   %s over plain HTTP: %d → %s (viewer protocol policy redirect-to-https)", u, r.Status, r.Location)
	if r.Status != http.StatusMovedPermanently || r.Location != "https://"+Host+path {
		return fmt.Errorf("demo: GET %s answered %d %q; want 301 to https://%s%s", u, r.Status, r.Location, Host, path)
	}
	return nil
}

// fetch requests path of the site through the named PoP.
func (d *demo) fetch(ctx context.Context, pop, path string) (Fetch, error) {
	edge, err := d.edge(pop)
	if err != nil {
		return Fetch{}, err
	}
	client, closeConns := edge.Client(1, 10*time.Second, false)
	defer closeConns()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(d.base.String(), "/")+path, nil)
	if err != nil {
		return Fetch{}, err
	}
	req.Header.Set("Accept-Encoding", "identity")
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return Fetch{}, fmt.Errorf("demo: GET %s via %s: %w", path, pop, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return Fetch{}, fmt.Errorf("demo: GET %s via %s: %w", path, pop, err)
	}
	v := probe.Decode(resp.Header)
	return Fetch{
		PoP: pop, Path: path, Status: resp.StatusCode, Proto: resp.Proto, Result: v.Result, Cached: v.Cached,
		CacheStatus: resp.Header.Get("Cache-Status"), New: strings.Contains(string(body), editMark),
		Latency: float64(time.Since(start).Microseconds()) / 1000,
	}, nil
}

const editMark = "edited by cdnctl demo"

func (d *demo) editPage() error {
	p := filepath.Join(d.src, filepath.FromSlash(EditedPage))
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	s := strings.Replace(string(b), "<h1>About this site</h1>", "<h1>About this site ("+editMark+" at "+d.env.Now().Format("15:04:05")+")</h1>", 1)
	if s == string(b) {
		return fmt.Errorf("demo: %s has no <h1> to edit", EditedPage)
	}
	return os.WriteFile(p, []byte(s), 0o644)
}

func verdict(f Fetch) string {
	s := string(f.Result) + " at " + f.PoP
	if f.Cached && !f.Result.Served() {
		s += ", HIT at the shield"
	}
	return fmt.Sprintf("%s (%.1f ms)", s, f.Latency)
}

func humanBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f KiB", float64(n)/1024)
}
