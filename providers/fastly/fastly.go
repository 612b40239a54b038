// Package fastly purges a Fastly service's cache through the Fastly API
// with a small net/http client (three documented calls, not the go-fastly
// SDK; docs/providers/fastly.md says why):
//
//   - POST /purge/{host}{path}: one URL (single-URL purge);
//   - POST /service/{service_id}/purge: up to 256 surrogate keys at once,
//     in a JSON body {"surrogate_keys": [...]}; the answer maps each key to
//     its purge ID;
//   - POST /service/{service_id}/purge_all: everything.
//
// URL and key purges can be soft (Fastly-Soft-Purge: 1: entries are marked
// stale, not removed); purge_all cannot. The API token is sent in the
// Fastly-Key header. Purges apply within a second or so, so there is no
// wait step. 429 answers are retried after Retry-After or the
// Fastly-RateLimit-Reset time, 5xx and network errors with backoff.
package fastly

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cdnctl/cdnctl/providers"
)

// Provider is the provider name in records and errors.
const Provider = "fastly"

// API facts.
// https://www.fastly.com/documentation/reference/api/purging/
// https://www.fastly.com/documentation/reference/vcl/constraints-and-limitations
const (
	DefaultBaseURL = "https://api.fastly.com"
	// TokenEnv is the environment variable that holds the API token.
	TokenEnv = "FASTLY_API_TOKEN"
	// MaxKeysPerRequest is the batch surrogate-key purge's limit.
	MaxKeysPerRequest = 256
	// MaxKeyLength is the longest surrogate key, in bytes: the purge API
	// refuses longer ones.
	MaxKeyLength = 1024
	// MaxKeyHeader is how much of a Surrogate-Key response header Fastly
	// reads: keys past the first 16 KiB are not applied.
	MaxKeyHeader = 16 * 1024
	// DefaultConcurrency is the number of single-URL purges in flight.
	DefaultConcurrency = 8
	// TagHeader is the response header Fastly reads surrogate keys from,
	// separated by spaces.
	TagHeader = "Surrogate-Key"
)

// Config is one Fastly service to purge. Zero values have the documented
// defaults.
type Config struct {
	ServiceID string
	// Hostnames the service serves: a path ("/app.css") is purged on each
	// of them, and a URL on another host is refused.
	Hostnames []string
	// OriginPath maps object keys to paths (see providers.KeyPaths).
	OriginPath string
	// Token is the API token; it needs the purge_select scope (URLs and
	// keys) and purge_all (everything). It is never printed.
	Token providers.Secret
	// TokenEnv names the variable the token came from, for errors
	// (TokenEnv when empty).
	TokenEnv string
	// BaseURL is the API root (DefaultBaseURL).
	BaseURL string
	// HTTPClient sends the requests (nil: a client with a 30 s timeout).
	HTTPClient *http.Client
	// Concurrency is the number of requests in flight (0: 8).
	Concurrency int
	// Retry is the policy for 429, 5xx and network errors (zero: 5
	// attempts, 250 ms base, 20 s cap).
	Retry providers.Backoff
	// Logger receives retry logs (nil: discard).
	Logger *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Purger purges one service. It implements providers.Purger.
type Purger struct {
	cfg    Config
	base   *url.URL
	logger *slog.Logger
	now    func() time.Time
}

var serviceIDRe = regexp.MustCompile(`^[0-9A-Za-z]{1,64}$`)

// New checks cfg and returns a Purger. It does not contact the API; a
// missing token is reported by Purge, so a dry run needs none.
func New(cfg Config) (*Purger, error) {
	if !serviceIDRe.MatchString(cfg.ServiceID) {
		return nil, fmt.Errorf("fastly: service ID %q: want the alphanumeric ID shown on the service's page, such as SU1Z0isxPaozGVKXdv0eY", cfg.ServiceID)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	base, err := url.Parse(strings.TrimSuffix(cfg.BaseURL, "/"))
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" || base.RawQuery != "" {
		return nil, fmt.Errorf("fastly: API URL %q: want https://api.fastly.com or http://127.0.0.1:PORT", cfg.BaseURL)
	}
	hosts, err := providers.CheckHostnames(Provider, cfg.Hostnames)
	if err != nil {
		return nil, err
	}
	cfg.Hostnames = hosts
	if cfg.TokenEnv == "" {
		cfg.TokenEnv = TokenEnv
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency
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
	return &Purger{cfg: cfg, base: base, logger: logger, now: cfg.Now}, nil
}

// CheckKey applies Fastly's rules for a surrogate key: printable ASCII
// without spaces (they separate keys in the Surrogate-Key header), at most
// 1,024 bytes. The error states the rule.
func CheckKey(key string) error {
	if key == "" || len(key) > MaxKeyLength {
		return fmt.Errorf("%q: a Fastly surrogate key has 1 to %d characters", key, MaxKeyLength)
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c <= ' ' || c > '~' {
			return fmt.Errorf("%q: a Fastly surrogate key is printable ASCII without spaces", key)
		}
	}
	return nil
}

// CheckKeys applies CheckKey to each tag of one object, and Fastly's
// 16 KiB limit to the Surrogate-Key header they make.
func CheckKeys(tags []string) error {
	n := 0
	for i, t := range tags {
		if err := CheckKey(t); err != nil {
			return err
		}
		if i > 0 {
			n++
		}
		n += len(t)
	}
	if n > MaxKeyHeader {
		return fmt.Errorf("%d tags make a %d-byte Surrogate-Key header; Fastly reads only the first %d bytes", len(tags), n, MaxKeyHeader)
	}
	return nil
}

// Plan checks req and splits it into API requests: one per URL, up to 256
// keys per batch key purge, or one purge_all. Paths become URLs on every
// configured hostname.
func (p *Purger) Plan(req providers.PurgeRequest) (*providers.PurgeRecord, error) {
	switch {
	case len(req.Prefixes) > 0:
		return nil, providers.NotSupported(Provider, "purge by prefix", "Fastly purges URLs, surrogate keys or everything: tag the files under the prefix (fingerprint rules' tags) and purge the tag")
	case len(req.Hosts) > 0:
		return nil, providers.NotSupported(Provider, "purge by host", "tag every response of the host with a surrogate key and purge it, or purge everything with --all")
	case len(req.CPCodes) > 0:
		return nil, providers.NotSupported(Provider, "purge by CP code", "CP codes are Akamai's")
	case len(req.Headers) > 0:
		return nil, providers.NotSupported(Provider, "purge one header variant", "a Fastly URL purge removes every variant of the URL")
	case req.Everything && req.Soft:
		return nil, providers.NotSupported(Provider, "soft purge of everything", "purge_all cannot be soft; tag every file with one constant key (a fingerprint rule with match: [\"**\"] and tags: [all]) and soft-purge it with --tag all --soft")
	case req.Empty():
		return nil, fmt.Errorf("%s: %w: nothing to purge", Provider, providers.ErrInvalidPurge)
	}
	rec := &providers.PurgeRecord{
		Provider:   Provider,
		Target:     p.cfg.ServiceID,
		Soft:       req.Soft,
		Everything: req.Everything,
		Status:     providers.PurgePlanned,
	}
	if req.Everything {
		if n := req.Count(); n > 0 {
			rec.Notes = append(rec.Notes, fmt.Sprintf("purge_all covers the %d other items; they are not sent", n))
		}
		rec.Batches = []providers.PurgeBatch{{Kind: providers.KindEverything, Status: providers.PurgePlanned}}
		return rec, nil
	}
	urls, err := providers.RequestURLs(Provider, req, p.cfg.Hostnames, p.cfg.OriginPath)
	if err != nil {
		return nil, err
	}
	for _, u := range providers.Unique(urls) {
		rec.Batches = append(rec.Batches, providers.PurgeBatch{Kind: providers.KindFiles, Items: []string{u}, Status: providers.PurgePlanned})
	}
	for _, t := range req.Tags {
		if err := CheckKey(t); err != nil {
			return nil, fmt.Errorf("%s: %w: %w", Provider, providers.ErrInvalidPurge, err)
		}
	}
	for _, chunk := range providers.Chunk(providers.Unique(req.Tags), MaxKeysPerRequest) {
		rec.Batches = append(rec.Batches, providers.PurgeBatch{Kind: providers.KindTags, Items: chunk, Status: providers.PurgePlanned})
	}
	if n := len(urls); n > 1 {
		rec.Notes = append(rec.Notes, fmt.Sprintf("Fastly purges one URL per request: %d requests, %d at a time", len(providers.Unique(urls)), p.cfg.Concurrency))
	}
	return rec, nil
}

// Purge sends every batch of rec, up to Concurrency at a time, retrying
// 429 (after Retry-After or Fastly-RateLimit-Reset), 5xx and network
// errors. A batch that fails does not stop the others; the returned
// *providers.PurgeError names the items of the failed ones.
func (p *Purger) Purge(ctx context.Context, rec *providers.PurgeRecord) error {
	if rec.Status != providers.PurgePlanned {
		return fmt.Errorf("%s: purge: record is %s, not planned", Provider, rec.Status)
	}
	if p.cfg.Token == "" {
		return fmt.Errorf("%s: no API token: set %s to a token with the purge_select scope (purge_all to purge everything)", Provider, p.cfg.TokenEnv)
	}
	return providers.SendBatchesN(ctx, rec, p.now, p.cfg.Concurrency, func(ctx context.Context, i int, b *providers.PurgeBatch) error {
		err := p.send(ctx, rec.Soft, b)
		if err != nil {
			p.logger.Warn("fastly purge batch failed", "batch", i+1, "kind", b.Kind, "items", len(b.Items), "err", err)
		}
		return err
	})
}

// send posts one batch, with retries.
func (p *Purger) send(ctx context.Context, soft bool, b *providers.PurgeBatch) error {
	start := p.now()
	defer func() { b.DurationMS = p.now().Sub(start).Milliseconds() }()
	retry := p.cfg.Retry
	retry.OnRetry = func(attempt int, d time.Duration, err error) {
		p.logger.Info("fastly purge: retrying", "attempt", attempt, "in", d.Round(time.Millisecond), "err", err)
		if p.cfg.Retry.OnRetry != nil {
			p.cfg.Retry.OnRetry(attempt, d, err)
		}
	}
	return providers.Retry(ctx, retry, func(ctx context.Context) error {
		b.Attempts++
		req, err := p.request(ctx, soft, b)
		if err != nil {
			return err
		}
		resp, err := p.cfg.HTTPClient.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// Connection refused, reset, timeout: purging is idempotent.
			return providers.Retryable(fmt.Errorf("%s: %w", Provider, err), 0)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			return providers.Retryable(fmt.Errorf("%s: reading the answer: %w", Provider, err), 0)
		}
		if resp.StatusCode != http.StatusOK {
			return p.failure(resp, body)
		}
		return record(b, body)
	})
}

// request builds the API request of a batch.
func (p *Purger) request(ctx context.Context, soft bool, b *providers.PurgeBatch) (*http.Request, error) {
	var (
		target string
		body   io.Reader
	)
	switch b.Kind {
	case providers.KindEverything:
		target = p.base.String() + "/service/" + p.cfg.ServiceID + "/purge_all"
	case providers.KindTags:
		raw, err := json.Marshal(map[string][]string{"surrogate_keys": b.Items})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", Provider, err)
		}
		target, body = p.base.String()+"/service/"+p.cfg.ServiceID+"/purge", bytes.NewReader(raw)
	case providers.KindFiles:
		u, err := url.Parse(b.Items[0])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", Provider, err)
		}
		// The cached URL follows /purge/ as host and path, the form it is
		// cached under (docs: POST /purge/www.example.com/path/to/object).
		target = p.base.String() + "/purge/" + u.Host + u.EscapedPath()
		if u.RawQuery != "" {
			target += "?" + u.RawQuery
		}
	default:
		return nil, fmt.Errorf("%s: batch kind %q: not a Fastly purge", Provider, b.Kind)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Provider, err)
	}
	req.Header.Set("Fastly-Key", p.cfg.Token.Reveal())
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if soft && b.Kind != providers.KindEverything {
		req.Header.Set("Fastly-Soft-Purge", "1")
	}
	return req, nil
}

// record stores the purge IDs of a 200 answer: {"status": "ok", "id": …}
// for a URL and purge_all, {key: id, …} for a batch of keys.
func record(b *providers.PurgeBatch, body []byte) error {
	if b.Kind == providers.KindTags {
		var ids map[string]string
		if err := json.Unmarshal(body, &ids); err != nil {
			return fmt.Errorf("%s: batch purge answered %q, not a map of keys to purge IDs", Provider, truncate(body))
		}
		var missing []string
		for _, k := range b.Items {
			if ids[k] == "" {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("%s: batch purge answered without a purge ID for %s", Provider, strings.Join(missing, " "))
		}
		b.ItemIDs = ids
		if len(b.Items) == 1 {
			b.ID = ids[b.Items[0]]
		}
		return nil
	}
	var r struct {
		Status string `json:"status"`
		ID     string `json:"id"`
	}
	if err := json.Unmarshal(body, &r); err != nil || r.Status != "ok" {
		return fmt.Errorf("%s: purge answered %q, not {\"status\": \"ok\"}", Provider, truncate(body))
	}
	b.ID = r.ID
	return nil
}

// failure turns a non-200 answer into a final or retryable error.
func (p *Purger) failure(resp *http.Response, body []byte) error {
	msg := fmt.Errorf("%s: HTTP %d: %s", Provider, resp.StatusCode, apiMessage(resp.StatusCode, body))
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("%w (check the token in %s)", msg, p.cfg.TokenEnv)
	case resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%w (the token in %s needs the purge_select scope, and purge_all to purge everything)", msg, p.cfg.TokenEnv)
	case !providers.RetryableStatus(resp.StatusCode):
		return msg
	}
	var after time.Duration
	if d, ok := providers.ParseRetryAfter(resp.Header.Get("Retry-After"), p.now()); ok {
		after = d
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		// Fastly says when its rate-limit window resets (UTC epoch seconds).
		if reset, err := strconv.ParseInt(resp.Header.Get("Fastly-RateLimit-Reset"), 10, 64); err == nil {
			after = max(after, time.Unix(reset, 0).Sub(p.now()))
		}
	}
	return providers.Retryable(msg, after)
}

// apiMessage reads the API's error body: {"msg": …, "detail": …}, or
// {"title", "detail"} (RFC 7807), or the raw text.
func apiMessage(status int, body []byte) string {
	var e struct {
		Msg    string `json:"msg"`
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}
	if json.Unmarshal(body, &e) == nil {
		head := e.Msg
		if head == "" {
			head = e.Title
		}
		switch {
		case head != "" && e.Detail != "":
			return head + ": " + e.Detail
		case head != "" || e.Detail != "":
			return head + e.Detail
		}
	}
	if t := strings.TrimSpace(string(truncate(body))); t != "" {
		return t
	}
	return http.StatusText(status)
}

func truncate(b []byte) []byte {
	if len(b) > 200 {
		return append(b[:200:200], "…"...)
	}
	return b
}
