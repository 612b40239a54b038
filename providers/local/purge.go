package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/localedge/adminclient"
	"github.com/cdnctl/cdnctl/providers"
)

// PurgeProvider is the provider name of the local edge purger.
const PurgeProvider = "local"

// Local edge defaults (contracts §4): the admin API of `cdnctl serve`.
const (
	DefaultAdminURL = adminclient.DefaultBaseURL
	// DefaultPurgeBatch is the number of items per admin API request.
	DefaultPurgeBatch = 1000
)

// PurgerConfig is the local edge topology to purge: the admin API of a
// running `cdnctl serve` (contracts §2).
type PurgerConfig struct {
	// AdminURL is the admin listener (DefaultAdminURL).
	AdminURL string
	// Token is the admin API's bearer token (printed by cdnctl serve).
	Token providers.Secret
	// Pops limits the purge to these PoPs (empty: every PoP and the
	// shield).
	Pops []string
	// OriginPath maps object keys to paths (see providers.KeyPaths).
	OriginPath string
	// BatchSize is the number of items per request (0: 1000).
	BatchSize int
	// HTTPClient sends the requests (nil: adminclient's, 30 s timeout).
	HTTPClient *http.Client
	// Retry is the policy for 5xx, 429 and network errors (zero: 5
	// attempts, 250 ms base, 20 s cap).
	Retry providers.Backoff
	// Logger receives retry logs (nil: discard).
	Logger *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Purger purges every PoP of a local edge topology through its admin API,
// with localedge/adminclient. The API answers when every targeted PoP has
// applied the purge, so there is nothing to wait for afterwards. It
// implements providers.Purger.
type Purger struct {
	cfg    PurgerConfig
	base   *url.URL
	client *adminclient.Client
	logger *slog.Logger
	now    func() time.Time
}

// NewPurger checks cfg and returns a Purger; it does not contact the API.
func NewPurger(cfg PurgerConfig) (*Purger, error) {
	if cfg.AdminURL == "" {
		cfg.AdminURL = DefaultAdminURL
	}
	base, err := url.Parse(strings.TrimSuffix(cfg.AdminURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("local: admin URL %q: want http://host:port, as cdnctl serve prints it", cfg.AdminURL)
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = DefaultPurgeBatch
	}
	if cfg.BatchSize < 1 {
		return nil, fmt.Errorf("local: batch size %d: want at least 1", cfg.BatchSize)
	}
	for _, p := range cfg.Pops {
		if p == "" || strings.ContainsAny(p, "/ ") {
			return nil, fmt.Errorf("local: PoP name %q: want a name such as pop1", p)
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	client := &adminclient.Client{BaseURL: base.String(), Token: cfg.Token.Reveal(), HTTPClient: cfg.HTTPClient}
	return &Purger{cfg: cfg, base: base, client: client, logger: logger, now: cfg.Now}, nil
}

// Plan checks req and splits it into admin API requests, one kind of item
// per request. The local edge does everything cdnctl asks of a CDN,
// including soft purges, except selecting one header variant (a URL
// purges all its variants).
func (p *Purger) Plan(req providers.PurgeRequest) (*providers.PurgeRecord, error) {
	switch {
	case len(req.Headers) > 0:
		return nil, providers.NotSupported(PurgeProvider, "purge one header variant", "the local edge purges every variant of a URL")
	case len(req.CPCodes) > 0:
		return nil, providers.NotSupported(PurgeProvider, "purge by CP code", "CP codes are Akamai's; the local edge purges by host, tag or prefix")
	case req.Empty():
		return nil, fmt.Errorf("%s: %w: nothing to purge", PurgeProvider, providers.ErrInvalidPurge)
	}
	rec := &providers.PurgeRecord{
		Provider:   PurgeProvider,
		Target:     p.base.String(),
		Soft:       req.Soft,
		Everything: req.Everything,
		Status:     providers.PurgePlanned,
	}
	if req.Everything {
		if n := req.Count(); n > 0 {
			rec.Notes = append(rec.Notes, fmt.Sprintf("purge everything covers the %d other items; they are not sent", n))
		}
		rec.Batches = []providers.PurgeBatch{{Kind: providers.KindEverything, Status: providers.PurgePlanned}}
		return rec, nil
	}
	var urls, prefixes []string
	for _, u := range req.URLs {
		if err := checkTarget(u, false); err != nil {
			return nil, err
		}
		urls = append(urls, u)
	}
	for _, key := range req.Keys {
		paths, err := providers.KeyPaths(key, p.cfg.OriginPath)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", PurgeProvider, err)
		}
		for _, kp := range paths {
			// The folder origin serves pages at their clean URLs too
			// (serve.static.html_handling): purge every spelling a page
			// may be cached under.
			for _, p := range append([]string{kp}, providers.CleanURLPaths(kp)...) {
				urls = append(urls, (&url.URL{Path: p}).EscapedPath())
			}
		}
	}
	for _, pre := range req.Prefixes {
		if err := checkTarget(pre, true); err != nil {
			return nil, err
		}
		prefixes = append(prefixes, pre)
	}
	for _, t := range req.Tags {
		if t == "" || strings.ContainsAny(t, ", \t\r\n") {
			return nil, providers.InvalidPurge(PurgeProvider, t, "a tag is a non-empty word without spaces or commas")
		}
	}
	for _, h := range req.Hosts {
		if h == "" || strings.ContainsAny(h, "/ \t") {
			return nil, providers.InvalidPurge(PurgeProvider, h, "want a bare hostname such as www.example.test")
		}
	}
	add := func(kind string, items []string) {
		for _, chunk := range providers.Chunk(providers.Unique(items), p.cfg.BatchSize) {
			rec.Batches = append(rec.Batches, providers.PurgeBatch{Kind: kind, Items: chunk, Status: providers.PurgePlanned})
		}
	}
	add(providers.KindFiles, urls)
	add(providers.KindPrefixes, prefixes)
	add(providers.KindTags, req.Tags)
	add(providers.KindHosts, req.Hosts)
	return rec, nil
}

// checkTarget accepts a path ("/a") or an absolute http(s) URL.
func checkTarget(s string, prefix bool) error {
	what := "URL"
	if prefix {
		what = "prefix"
	}
	if strings.Contains(s, "#") {
		return providers.InvalidPurge(PurgeProvider, s, "a fragment (#…) never reaches the edge; remove it")
	}
	if strings.HasPrefix(s, "/") {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return providers.InvalidPurge(PurgeProvider, s, "want a path starting with / or an http(s) "+what)
	}
	return nil
}

// Purge reads the topology (to check the PoPs named in the config and to
// know which must confirm), then sends every batch. Each answer must list
// every targeted PoP: the admin API answers only once they all applied it.
func (p *Purger) Purge(ctx context.Context, rec *providers.PurgeRecord) error {
	if rec.Status != providers.PurgePlanned {
		return fmt.Errorf("%s: purge: record is %s, not planned", PurgeProvider, rec.Status)
	}
	if p.cfg.Token == "" {
		return fmt.Errorf("%s: no admin token: give the token cdnctl serve printed at start", PurgeProvider)
	}
	rec.StartedAt = p.now()
	want, err := p.targetPops(ctx)
	if err != nil {
		return err
	}
	return providers.SendBatches(ctx, rec, p.now, func(ctx context.Context, _ int, b *providers.PurgeBatch) error {
		return p.send(ctx, rec.Soft, want, b)
	})
}

// targetPops returns the PoPs that must confirm the purge: the configured
// ones, which must exist, or every PoP and the shield.
func (p *Purger) targetPops(ctx context.Context) ([]string, error) {
	topo, err := p.client.Topology(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", PurgeProvider, err)
	}
	var names []string
	for _, pop := range topo.PoPs {
		names = append(names, pop.Name)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: the topology at %s has no PoPs", PurgeProvider, p.base)
	}
	if len(p.cfg.Pops) == 0 {
		return names, nil
	}
	for _, want := range p.cfg.Pops {
		if !slices.Contains(names, want) {
			return nil, fmt.Errorf("%s: PoP %q is not in the topology at %s (it has %s)", PurgeProvider, want, p.base, strings.Join(names, ", "))
		}
	}
	return p.cfg.Pops, nil
}

// send posts one batch, with retries, and checks that every PoP confirmed.
func (p *Purger) send(ctx context.Context, soft bool, want []string, b *providers.PurgeBatch) error {
	req := localedge.AdminPurgeRequest{PurgeRequest: localedge.PurgeRequest{Soft: soft}, PoPs: p.cfg.Pops}
	switch b.Kind {
	case providers.KindEverything:
		req.All = true
	case providers.KindFiles:
		req.URLs = b.Items
	case providers.KindPrefixes:
		req.Prefixes = b.Items
	case providers.KindTags:
		req.Tags = b.Items
	case providers.KindHosts:
		req.Hosts = b.Items
	default:
		return fmt.Errorf("%s: unknown batch kind %q", PurgeProvider, b.Kind)
	}
	start := p.now()
	defer func() { b.DurationMS = p.now().Sub(start).Milliseconds() }()
	var out localedge.PurgeResponse
	retry := p.cfg.Retry
	retry.OnRetry = func(attempt int, d time.Duration, err error) {
		p.logger.Info("local purge: retrying", "attempt", attempt, "in", d.Round(time.Millisecond), "err", err)
	}
	err := providers.Retry(ctx, retry, func(ctx context.Context) error {
		b.Attempts++
		var err error
		out, err = p.client.Purge(ctx, req)
		return classify(err)
	})
	if err != nil {
		return fmt.Errorf("%s: %w", PurgeProvider, err)
	}
	b.ID = out.ID
	purged := out.Purged
	b.Purged = &purged
	b.Pops = make([]providers.PopCount, len(out.PoPs))
	for i, pp := range out.PoPs {
		b.Pops[i] = providers.PopCount{Name: pp.Name, Purged: pp.Purged}
	}
	var missing []string
	for _, name := range want {
		if !slices.ContainsFunc(out.PoPs, func(c localedge.PoPPurge) bool { return c.Name == name }) {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: purge %s was not confirmed by PoP %s", PurgeProvider, out.ID, strings.Join(missing, ", "))
	}
	return nil
}

// classify marks what is worth retrying: 5xx and 429 answers, a topology
// not (yet) listening, an exchange cut short. A 4xx (a bad token, a
// malformed item) is final.
func classify(err error) error {
	var apiErr *adminclient.APIError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.As(err, &apiErr):
		if providers.RetryableStatus(apiErr.StatusCode) {
			return providers.Retryable(err, 0)
		}
		return err
	}
	return providers.Retryable(err, 0)
}
