// Package cloudflare purges a Cloudflare zone's cache through the API v4
// (POST /zones/{zone_id}/purge_cache) with cloudflare-go's cache service:
// by file URL (optionally with the headers of a cache-key variant), tag,
// prefix, hostname or everything. Requests are batched to a per-request
// item limit, paced by a token bucket like the one the API enforces, and
// retried on 429 (honouring Retry-After) and 5xx.
//
// Only the cache and option packages of cloudflare-go are imported: the
// root package links every API of the SDK.
package cloudflare

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/cloudflare/cloudflare-go/v7/cache"
	"github.com/cloudflare/cloudflare-go/v7/option"

	"github.com/cdnctl/cdnctl/providers"
)

// Provider is the provider name in records and errors.
const Provider = "cloudflare"

// Defaults. The rate and burst are the Free plan's purge limits (5 requests
// per minute, bucket of 25): the safe choice when the plan is unknown.
// https://developers.cloudflare.com/cache/how-to/purge-cache/#availability-and-limits
const (
	DefaultBaseURL   = "https://api.cloudflare.com/client/v4/"
	DefaultBatchSize = 30
	// MaxBatchSize is the largest item limit of any plan (Enterprise
	// purges up to 500 URLs per request; other plans and purge types 100).
	MaxBatchSize = 500
	DefaultRate  = 5.0 / 60
	DefaultBurst = 25
	// TokenEnv is the environment variable that holds the API token.
	TokenEnv = "CLOUDFLARE_API_TOKEN"
	// maxTagLength is the longest cache tag the purge API accepts.
	maxTagLength = 1024
)

// Config is one Cloudflare zone to purge. Zero values have the documented
// defaults.
type Config struct {
	ZoneID string
	// Hostnames the zone serves: a path ("/app.css") is purged on each of
	// them, and a URL on another host is refused.
	Hostnames []string
	// OriginPath maps object keys to paths (see providers.KeyPaths).
	OriginPath string
	// BatchSize is the number of items per request (0: 30; at most 500).
	BatchSize int
	// Rate is purge requests per second (0: DefaultRate; negative: no
	// pacing) and Burst the bucket size (0: DefaultBurst).
	Rate  float64
	Burst int
	// Token is the API token (CLOUDFLARE_API_TOKEN); it needs the Zone >
	// Cache Purge permission. It is never printed.
	Token providers.Secret
	// BaseURL is the API root (DefaultBaseURL).
	BaseURL string
	// HTTPClient sends the requests (nil: a client with a 30 s timeout).
	HTTPClient *http.Client
	// Retry is the policy for 429, 5xx and network errors (zero: 5
	// attempts, 250 ms base, 20 s cap).
	Retry providers.Backoff
	// Logger receives retry and pacing logs (nil: discard).
	Logger *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Purger purges one zone. It implements providers.Purger; purges are
// applied when the API answers, so it has no Wait.
type Purger struct {
	cfg    Config
	svc    *cache.CacheService
	bucket *providers.TokenBucket
	logger *slog.Logger
	now    func() time.Time
}

// New checks cfg and returns a Purger. It does not contact the API; a
// missing token is reported by Purge, so a dry run needs none.
func New(cfg Config) (*Purger, error) {
	if !zoneIDRe.MatchString(cfg.ZoneID) {
		return nil, fmt.Errorf("cloudflare: zone ID %q: want the 32 hex digits shown on the zone's overview page", cfg.ZoneID)
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.BatchSize < 1 || cfg.BatchSize > MaxBatchSize {
		return nil, fmt.Errorf("cloudflare: batch size %d: want 1 to %d items per request", cfg.BatchSize, MaxBatchSize)
	}
	if cfg.Rate == 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.Burst == 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if u, err := url.Parse(cfg.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("cloudflare: API URL %q: want https://host/client/v4/", cfg.BaseURL)
	}
	for i, h := range cfg.Hostnames {
		if !validHost(h) {
			return nil, fmt.Errorf("cloudflare: hostname %q: want a bare hostname such as www.example.com", h)
		}
		cfg.Hostnames[i] = strings.ToLower(h)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p := &Purger{
		cfg:    cfg,
		bucket: providers.NewTokenBucket(cfg.Rate, cfg.Burst, cfg.Now),
		logger: logger,
		now:    cfg.Now,
	}
	p.svc = cache.NewCacheService(
		option.WithBaseURL(cfg.BaseURL),
		option.WithHTTPClient(cfg.HTTPClient),
		option.WithAPIToken(cfg.Token.Reveal()),
		// cdnctl retries itself, with its rate limiter and record.
		option.WithMaxRetries(0),
	)
	return p, nil
}

var zoneIDRe = regexp.MustCompile(`^[0-9a-f]{32}$`)

// Plan checks req and splits it into purge requests of at most BatchSize
// items, one kind per request as the API requires. Paths become URLs on
// every configured hostname.
func (p *Purger) Plan(req providers.PurgeRequest) (*providers.PurgeRecord, error) {
	rec := &providers.PurgeRecord{
		Provider:   Provider,
		Target:     p.cfg.ZoneID,
		Soft:       req.Soft,
		Everything: req.Everything,
		Status:     providers.PurgePlanned,
	}
	if req.Soft {
		return nil, providers.NotSupported(Provider, "soft purge", "Cloudflare removes purged files; purge without --soft")
	}
	if req.Empty() {
		return nil, fmt.Errorf("%s: %w: nothing to purge", Provider, providers.ErrInvalidPurge)
	}
	if len(req.Headers) > 0 && len(req.URLs)+len(req.Keys) == 0 {
		return nil, fmt.Errorf("%s: %w: headers select a variant of a URL; name the URLs", Provider, providers.ErrInvalidPurge)
	}
	if req.Everything {
		if n := req.Count(); n > 0 {
			rec.Notes = append(rec.Notes, fmt.Sprintf("purge everything covers the %d other items; they are not sent", n))
		}
		rec.Batches = []providers.PurgeBatch{{Kind: providers.KindEverything, Status: providers.PurgePlanned}}
		return rec, nil
	}

	var files, prefixes, tags, hosts []string
	for _, raw := range req.URLs {
		us, err := p.fileURLs(raw)
		if err != nil {
			return nil, err
		}
		files = append(files, us...)
	}
	for _, key := range req.Keys {
		paths, err := providers.KeyPaths(key, p.cfg.OriginPath)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", Provider, err)
		}
		for _, path := range paths {
			us, err := p.fileURLs(path)
			if err != nil {
				return nil, err
			}
			files = append(files, us...)
		}
	}
	for _, raw := range req.Prefixes {
		ps, err := p.prefixes(raw)
		if err != nil {
			return nil, err
		}
		prefixes = append(prefixes, ps...)
	}
	for _, t := range req.Tags {
		if err := checkTag(t); err != nil {
			return nil, providers.InvalidPurge(Provider, t, err.Error())
		}
		tags = append(tags, t)
	}
	for _, h := range req.Hosts {
		if !validHost(h) {
			return nil, providers.InvalidPurge(Provider, h, "want a bare hostname such as www.example.com")
		}
		hosts = append(hosts, strings.ToLower(h))
	}
	var headers map[string]string
	if len(req.Headers) > 0 {
		headers = req.Headers
	}
	add := func(kind string, items []string, hdr map[string]string) {
		for _, chunk := range providers.Chunk(providers.Unique(items), p.cfg.BatchSize) {
			rec.Batches = append(rec.Batches, providers.PurgeBatch{
				Kind: kind, Items: chunk, Headers: hdr, Status: providers.PurgePlanned,
			})
		}
	}
	add(providers.KindFiles, files, headers)
	add(providers.KindPrefixes, prefixes, nil)
	add(providers.KindTags, tags, nil)
	add(providers.KindHosts, hosts, nil)
	return rec, nil
}

// fileURLs turns a URL or a path into the absolute URLs to purge.
func (p *Purger) fileURLs(raw string) ([]string, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, providers.InvalidPurge(Provider, raw, "not a URL: "+err.Error())
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, providers.InvalidPurge(Provider, raw, "a fragment (#…) never reaches the CDN; remove it")
	case u.Scheme == "" && u.Host == "" && strings.HasPrefix(raw, "/"):
		if len(p.cfg.Hostnames) == 0 {
			return nil, providers.InvalidPurge(Provider, raw, "a path needs the zone's hostnames: set hostnames in the cdns entry or give a full URL")
		}
		out := make([]string, 0, len(p.cfg.Hostnames))
		for _, h := range p.cfg.Hostnames {
			out = append(out, (&url.URL{Scheme: "https", Host: h, Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}).String())
		}
		return out, nil
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return nil, providers.InvalidPurge(Provider, raw, "want an absolute http(s) URL or a path starting with /")
	}
	if err := p.checkHost(raw, u.Host); err != nil {
		return nil, err
	}
	if u.Path == "" {
		u.Path = "/"
	}
	u.Host = strings.ToLower(u.Host)
	return []string{u.String()}, nil
}

// prefixes turns a path or URL prefix into Cloudflare's "host/path" form
// (no scheme, no query string).
func (p *Purger) prefixes(raw string) ([]string, error) {
	if strings.ContainsAny(raw, "?#*") {
		return nil, providers.InvalidPurge(Provider, raw, "a prefix cannot hold a query string, a fragment or a wildcard")
	}
	if strings.HasPrefix(raw, "/") {
		if len(p.cfg.Hostnames) == 0 {
			return nil, providers.InvalidPurge(Provider, raw, "a path prefix needs the zone's hostnames: set hostnames in the cdns entry or give host/path")
		}
		out := make([]string, 0, len(p.cfg.Hostnames))
		for _, h := range p.cfg.Hostnames {
			out = append(out, h+raw)
		}
		return out, nil
	}
	hostPath := raw
	if u, err := url.Parse(raw); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		hostPath = u.Host + u.EscapedPath()
	} else if strings.Contains(raw, "://") {
		return nil, providers.InvalidPurge(Provider, raw, "want host/path, /path or an http(s) URL")
	}
	host, _, _ := strings.Cut(hostPath, "/")
	if !validHost(host) {
		return nil, providers.InvalidPurge(Provider, raw, "want host/path, /path or an http(s) URL")
	}
	if err := p.checkHost(raw, host); err != nil {
		return nil, err
	}
	return []string{strings.ToLower(host) + strings.TrimPrefix(hostPath, host)}, nil
}

func (p *Purger) checkHost(raw, hostport string) error {
	if host, ok := providers.ServedHost(p.cfg.Hostnames, hostport); !ok {
		return providers.InvalidPurge(Provider, raw, fmt.Sprintf("host %s is not one of this zone's hostnames (%s)", host, strings.Join(p.cfg.Hostnames, ", ")))
	}
	return nil
}

var hostRe = regexp.MustCompile(`^(?i)[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?$`)

func validHost(h string) bool { return len(h) <= 253 && hostRe.MatchString(h) }

// checkTag applies the purge API's rules for a cache tag: printable ASCII
// without spaces or commas (they separate tags in the Cache-Tag header),
// at most 1,024 characters.
func checkTag(t string) error {
	if t == "" || len(t) > maxTagLength {
		return fmt.Errorf("a tag has 1 to %d characters", maxTagLength)
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; c <= ' ' || c > '~' || c == ',' {
			return errors.New("a tag is printable ASCII without spaces or commas")
		}
	}
	return nil
}

// Purge sends every batch of rec, paced by the token bucket, retrying 429
// (after Retry-After), 5xx and network errors. A batch that fails does not
// stop the others; the returned *providers.PurgeError names the items of
// the failed ones. A cancelled context skips the batches not yet sent.
func (p *Purger) Purge(ctx context.Context, rec *providers.PurgeRecord) error {
	if rec.Status != providers.PurgePlanned {
		return fmt.Errorf("%s: purge: record is %s, not planned", Provider, rec.Status)
	}
	if p.cfg.Token == "" {
		return fmt.Errorf("%s: no API token: set %s to a token with the Zone > Cache Purge permission", Provider, TokenEnv)
	}
	return providers.SendBatches(ctx, rec, p.now, func(ctx context.Context, i int, b *providers.PurgeBatch) error {
		err := p.send(ctx, b)
		if err != nil {
			p.logger.Warn("cloudflare purge batch failed", "batch", i+1, "kind", b.Kind, "items", len(b.Items), "err", err)
		}
		return err
	})
}

// envelope is the v4 API's response wrapper.
type envelope struct {
	Success  bool         `json:"success"`
	Errors   []apiMessage `json:"errors"`
	Messages []apiMessage `json:"messages"`
	Result   *struct {
		ID string `json:"id"`
	} `json:"result"`
}

type apiMessage struct {
	Code    int64  `json:"code"`
	Message string `json:"message"`
}

func (m apiMessage) String() string { return fmt.Sprintf("%d %s", m.Code, m.Message) }

// send posts one batch, with retries.
func (p *Purger) send(ctx context.Context, b *providers.PurgeBatch) error {
	params := cache.CachePurgeParams{}
	params.ZoneID.Value, params.ZoneID.Present = p.cfg.ZoneID, true
	params.Body = body(b)
	start := p.now()
	retry := p.cfg.Retry
	retry.OnRetry = func(attempt int, d time.Duration, err error) {
		p.logger.Info("cloudflare purge: retrying", "attempt", attempt, "in", d.Round(time.Millisecond), "err", err)
		if p.cfg.Retry.OnRetry != nil {
			p.cfg.Retry.OnRetry(attempt, d, err)
		}
	}
	err := providers.Retry(ctx, retry, func(ctx context.Context) error {
		if err := p.bucket.Wait(ctx); err != nil {
			return err
		}
		b.Attempts++
		var env envelope
		var resp *http.Response
		_, err := p.svc.Purge(ctx, params, option.WithResponseBodyInto(&env), option.WithResponseInto(&resp))
		if resp != nil {
			b.RequestID = resp.Header.Get("Cf-Ray")
		}
		return p.classify(err, resp, &env, b)
	})
	b.DurationMS = p.now().Sub(start).Milliseconds()
	return err
}

// classify turns the SDK's result into nil, a retryable error or a final
// one, and records the purge ID.
func (p *Purger) classify(err error, resp *http.Response, env *envelope, b *providers.PurgeBatch) error {
	var apiErr *cache.Error
	switch {
	case errors.As(err, &apiErr):
		msg := fmt.Errorf("%s: HTTP %d: %s", Provider, apiErr.StatusCode, apiErrors(apiErr))
		if apiErr.Response != nil {
			if ray := apiErr.Response.Header.Get("Cf-Ray"); ray != "" {
				b.RequestID = ray
			}
		}
		if !providers.RetryableStatus(apiErr.StatusCode) {
			return msg
		}
		var after time.Duration
		if apiErr.Response != nil {
			if d, ok := providers.ParseRetryAfter(apiErr.Response.Header.Get("Retry-After"), p.now()); ok {
				after = d
			}
		}
		if apiErr.StatusCode == http.StatusTooManyRequests {
			// The API's bucket is empty: hold every later request too.
			wait := after
			if wait == 0 {
				wait = time.Duration(float64(time.Second) / max(p.cfg.Rate, 0.001))
			}
			p.bucket.PauseUntil(p.now().Add(wait))
		}
		return providers.Retryable(msg, after)
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return err
	case err != nil && resp != nil && resp.StatusCode >= 400 && !providers.RetryableStatus(resp.StatusCode):
		// An error page that is not the API's JSON (a proxy, a WAF).
		return fmt.Errorf("%s: HTTP %d: %w", Provider, resp.StatusCode, err)
	case err != nil:
		// No HTTP response (connection refused, reset, timeout), a 5xx
		// page that is not JSON: purging is idempotent, so try again.
		return providers.Retryable(fmt.Errorf("%s: %w", Provider, err), 0)
	case !env.Success:
		return fmt.Errorf("%s: API reported failure: %s", Provider, joinMessages(env.Errors))
	}
	if env.Result != nil {
		b.ID = env.Result.ID
	}
	return nil
}

func apiErrors(e *cache.Error) string {
	if len(e.Errors) == 0 {
		return http.StatusText(e.StatusCode)
	}
	msgs := make([]apiMessage, 0, len(e.Errors))
	for _, m := range e.Errors {
		msgs = append(msgs, apiMessage{Code: m.Code, Message: m.Message})
	}
	return joinMessages(msgs)
}

func joinMessages(ms []apiMessage) string {
	if len(ms) == 0 {
		return "no error message"
	}
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return strings.Join(parts, "; ")
}

// body builds the request body of a batch: exactly one of files, tags,
// prefixes, hosts or purge_everything.
func body(b *providers.PurgeBatch) cache.CachePurgeParamsBodyUnion {
	switch b.Kind {
	case providers.KindEverything:
		var v cache.CachePurgeParamsBodyCachePurgeEverything
		v.PurgeEverything.Value, v.PurgeEverything.Present = true, true
		return v
	case providers.KindTags:
		var v cache.CachePurgeParamsBodyCachePurgeFlexPurgeByTags
		v.Tags.Value, v.Tags.Present = b.Items, true
		return v
	case providers.KindPrefixes:
		var v cache.CachePurgeParamsBodyCachePurgeFlexPurgeByPrefixes
		v.Prefixes.Value, v.Prefixes.Present = b.Items, true
		return v
	case providers.KindHosts:
		var v cache.CachePurgeParamsBodyCachePurgeFlexPurgeByHostnames
		v.Hosts.Value, v.Hosts.Present = b.Items, true
		return v
	}
	if len(b.Headers) == 0 {
		var v cache.CachePurgeParamsBodyCachePurgeSingleFile
		v.Files.Value, v.Files.Present = b.Items, true
		return v
	}
	files := make([]cache.CachePurgeParamsBodyCachePurgeSingleFileWithURLAndHeadersFile, len(b.Items))
	for i, u := range b.Items {
		files[i].URL.Value, files[i].URL.Present = u, true
		files[i].Headers.Value, files[i].Headers.Present = b.Headers, true
	}
	var v cache.CachePurgeParamsBodyCachePurgeSingleFileWithURLAndHeaders
	v.Files.Value, v.Files.Present = files, true
	return v
}
