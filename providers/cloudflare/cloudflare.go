// Package cloudflare purges a Cloudflare zone's cache through the API v4
// (POST /zones/{zone_id}/purge_cache) with cloudflare-go's cache service:
// by file URL (optionally with the headers of a cache-key variant), tag,
// prefix, hostname or everything. Requests are batched to the per-request
// limit of their kind, paced as the API limits them (single-file purges in
// URLs per second, the other kinds in requests), and retried on 429
// (honouring Retry-After, which also holds back the later requests of that
// kind) and 5xx.
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

// Defaults and limits. The rates are the Free plan's purge limits (URLs:
// 800 a second; other purges: 5 requests a minute, bucket of 25): the safe
// choice when the plan is unknown.
// https://developers.cloudflare.com/cache/how-to/purge-cache/#purge-limits
// https://developers.cloudflare.com/cache/how-to/purge-cache/purge-by-tags/
const (
	DefaultBaseURL = "https://api.cloudflare.com/client/v4/"
	// DefaultBatchSize is the number of URLs per request.
	DefaultBatchSize = 30
	// MaxBatchSize is the most URLs one request may name (Enterprise; 100
	// on the other plans).
	MaxBatchSize = 500
	// MaxOtherPerRequest is the most tags, hosts or prefixes one request
	// may name, on every plan.
	MaxOtherPerRequest = 100
	// DefaultURLRate is single-file purges' limit, in URLs per second.
	DefaultURLRate = 800
	// DefaultRate and DefaultBurst pace the other purges, per request.
	DefaultRate  = 5.0 / 60
	DefaultBurst = 25
	// TokenEnv is the environment variable that holds the API token.
	TokenEnv = "CLOUDFLARE_API_TOKEN"
	// MaxTagLength is the longest cache tag the purge API accepts.
	MaxTagLength = 1024
	// maxTagHeader is the most of a Cache-Tag header Cloudflare reads.
	maxTagHeader = 16 * 1024
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
	// BatchSize is the number of URLs per request (0: 30; at most 500,
	// which only Enterprise allows). Tags, hosts and prefixes go at most
	// 100 per request (fewer when BatchSize is lower).
	BatchSize int
	// URLRate paces single-file purges in URLs per second (0:
	// DefaultURLRate; negative: no pacing), with a bucket of one
	// second's worth.
	URLRate float64
	// Rate is the other purge requests per second (0: DefaultRate;
	// negative: no pacing) and Burst the bucket size (0: DefaultBurst).
	Rate  float64
	Burst int
	// Token is the API token (CLOUDFLARE_API_TOKEN); it needs the Zone >
	// Cache Purge permission. It is never printed.
	Token providers.Secret
	// TokenEnv names the variable the token came from, for errors
	// (TokenEnv when empty).
	TokenEnv string
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
	cfg Config
	svc *cache.CacheService
	// bucket paces tags, hosts, prefixes and everything, per request;
	// urlBucket paces single-file purges, per URL.
	bucket    *providers.TokenBucket
	urlBucket *providers.TokenBucket
	logger    *slog.Logger
	now       func() time.Time
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
	if cfg.URLRate == 0 {
		cfg.URLRate = DefaultURLRate
	}
	if cfg.TokenEnv == "" {
		cfg.TokenEnv = TokenEnv
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
	hosts, err := providers.CheckHostnames(Provider, cfg.Hostnames)
	if err != nil {
		return nil, err
	}
	cfg.Hostnames = hosts
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
		cfg:       cfg,
		bucket:    providers.NewTokenBucket(cfg.Rate, cfg.Burst, cfg.Now),
		urlBucket: providers.NewTokenBucket(cfg.URLRate, max(int(cfg.URLRate), 1), cfg.Now),
		logger:    logger,
		now:       cfg.Now,
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

// Plan checks req and splits it into purge requests, one kind per request
// as the API requires: BatchSize URLs, or up to 100 tags, hosts or
// prefixes. Paths become URLs on every configured hostname, and URLs and
// prefixes take the percent-encoded form Cloudflare's cache keys on.
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
	if len(req.CPCodes) > 0 {
		return nil, providers.NotSupported(Provider, "purge by CP code", "CP codes are Akamai's; purge by host or tag")
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

	files, err := providers.RequestURLs(Provider, req, p.cfg.Hostnames, p.cfg.OriginPath)
	if err != nil {
		return nil, err
	}
	var prefixes, tags, hosts []string
	for _, raw := range req.Prefixes {
		ps, err := p.prefixes(raw)
		if err != nil {
			return nil, err
		}
		prefixes = append(prefixes, ps...)
	}
	for _, t := range req.Tags {
		if err := CheckTag(t); err != nil {
			return nil, fmt.Errorf("%s: %w: %w", Provider, providers.ErrInvalidPurge, err)
		}
		tags = append(tags, t)
	}
	for _, h := range req.Hosts {
		host, err := providers.CheckHost(Provider, h, p.cfg.Hostnames)
		if err != nil {
			return nil, err
		}
		hosts = append(hosts, host)
	}
	var headers map[string]string
	if len(req.Headers) > 0 {
		headers = req.Headers
	}
	add := func(kind string, items []string, size int, hdr map[string]string) {
		for _, chunk := range providers.Chunk(providers.Unique(items), size) {
			rec.Batches = append(rec.Batches, providers.PurgeBatch{
				Kind: kind, Items: chunk, Headers: hdr, Status: providers.PurgePlanned,
			})
		}
	}
	other := min(p.cfg.BatchSize, MaxOtherPerRequest)
	add(providers.KindFiles, files, p.cfg.BatchSize, headers)
	add(providers.KindPrefixes, prefixes, other, nil)
	add(providers.KindTags, tags, other, nil)
	add(providers.KindHosts, hosts, other, nil)
	return rec, nil
}

// prefixes turns a path or URL prefix into Cloudflare's "host/path" form
// (no scheme, no query string), with the path percent-encoded as
// Cloudflare's cache keys it (providers.CanonicalPath): "/a b/",
// "https://host/a b/" and "host/a%20b/" are the same prefix.
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
			out = append(out, h+providers.CanonicalPath(raw))
		}
		return out, nil
	}
	host, path := raw, ""
	if u, err := url.Parse(raw); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.User == nil {
		host, path = u.Host, u.EscapedPath()
	} else if strings.Contains(raw, "://") {
		return nil, providers.InvalidPurge(Provider, raw, "want host/path, /path or an http(s) URL")
	} else if i := strings.IndexByte(raw, '/'); i >= 0 {
		host, path = raw[:i], raw[i:]
	}
	if !providers.ValidHost(host) {
		return nil, providers.InvalidPurge(Provider, raw, "want host/path, /path or an http(s) URL")
	}
	h, ok := providers.ServedHost(p.cfg.Hostnames, host)
	if !ok {
		return nil, providers.InvalidPurge(Provider, raw, fmt.Sprintf("host %s is not one of this zone's hostnames (%s)", h, strings.Join(p.cfg.Hostnames, ", ")))
	}
	return []string{h + providers.CanonicalPath(path)}, nil
}

// CheckTag applies Cloudflare's rules for a cache tag: printable ASCII
// without spaces or commas (they separate tags in the Cache-Tag header),
// at most 1,024 characters (the purge API's limit). The error states the
// rule.
func CheckTag(t string) error {
	if t == "" || len(t) > MaxTagLength {
		return fmt.Errorf("%q: a Cloudflare cache tag has 1 to %d characters", t, MaxTagLength)
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; c <= ' ' || c > '~' || c == ',' {
			return fmt.Errorf("%q: a Cloudflare cache tag is printable ASCII without spaces or commas", t)
		}
	}
	return nil
}

// CheckTags applies CheckTag to each tag of one object, and Cloudflare's
// 16 KB limit to the Cache-Tag header they make.
func CheckTags(tags []string) error {
	n := 0
	for i, t := range tags {
		if err := CheckTag(t); err != nil {
			return err
		}
		if i > 0 {
			n++
		}
		n += len(t)
	}
	if n > maxTagHeader {
		return fmt.Errorf("%d tags make a %d-byte Cache-Tag header; Cloudflare reads at most %d bytes", len(tags), n, maxTagHeader)
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
		return fmt.Errorf("%s: no API token: set %s to a token with the Zone > Cache Purge permission", Provider, p.cfg.TokenEnv)
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
	bucket, tokens := p.bucket, 1
	if b.Kind == providers.KindFiles {
		bucket, tokens = p.urlBucket, len(b.Items)
	}
	err := providers.Retry(ctx, retry, func(ctx context.Context) error {
		if err := bucket.WaitN(ctx, tokens); err != nil {
			return err
		}
		b.Attempts++
		var env envelope
		var resp *http.Response
		_, err := p.svc.Purge(ctx, params, option.WithResponseBodyInto(&env), option.WithResponseInto(&resp))
		if resp != nil {
			b.RequestID = resp.Header.Get("Cf-Ray")
		}
		return p.classify(err, resp, &env, b, bucket)
	})
	b.DurationMS = p.now().Sub(start).Milliseconds()
	return err
}

// classify turns the SDK's result into nil, a retryable error or a final
// one, and records the purge ID.
func (p *Purger) classify(err error, resp *http.Response, env *envelope, b *providers.PurgeBatch, bucket *providers.TokenBucket) error {
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
			// The API's bucket for this kind is empty: hold every later
			// request of the kind too.
			wait := after
			if wait == 0 {
				rate := p.cfg.Rate
				if bucket == p.urlBucket {
					rate = p.cfg.URLRate / float64(max(len(b.Items), 1))
				}
				wait = time.Duration(float64(time.Second) / max(rate, 0.001))
			}
			bucket.PauseUntil(p.now().Add(wait))
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
