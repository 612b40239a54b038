// Package akamai purges Akamai's caches with the Fast Purge API v3:
// POST /ccu/v3/{invalidate|delete}/{url|cpcode|tag}/{network} with a JSON
// body {"objects": [...]}, one object type per request, signed with
// EdgeGrid (EG1-HMAC-SHA256) by Akamai's own
// github.com/akamai/AkamaiOPEN-edgegrid-golang/v13/pkg/edgegrid (the only
// package of that module used; it has no Fast Purge client).
//
// Requests are packed up to the 50,000-byte body limit and paced by the
// API's token buckets (one for requests, one per object type), whose state
// every answer reports in X-Ratelimit-* headers; a 429 is retried after
// the documented five seconds, or longer when the headers say the bucket
// needs longer to refill. Each accepted request reports a purgeId, a
// supportId and estimatedSeconds; Fast Purge has no status endpoint, so
// Wait sleeps the estimate and says so.
package akamai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cdnctl/cdnctl/providers"
)

// Provider is the provider name in records and errors.
const Provider = "akamai"

// Networks and methods.
const (
	NetworkProduction = "production"
	NetworkStaging    = "staging"
	// MethodInvalidate marks objects stale: the edge revalidates them
	// with the origin (If-Modified-Since) and keeps serving them if the
	// origin is down. Akamai recommends it.
	MethodInvalidate = "invalidate"
	// MethodDelete removes objects: every edge fetches them again.
	MethodDelete = "delete"
)

// API limits.
// https://techdocs.akamai.com/purge-cache/reference/rate-limiting
// https://techdocs.akamai.com/purge-cache/docs/purge-content-cache-tag
const (
	// MaxBodyBytes bounds a request body: bodies over 50,000 bytes are
	// refused with 413, so cdnctl keeps them under it.
	MaxBodyBytes = 50000
	// MaxTagLength is the longest cache tag.
	MaxTagLength = 128
	// MaxTagsPerObject is how many tags Akamai keeps per cached object.
	MaxTagsPerObject = 128
	// TagHeader is the response header Akamai reads cache tags from,
	// comma-separated.
	TagHeader = "Edge-Cache-Tag"
	// retryAfter429 is the wait the API asks for after a 429.
	retryAfter429 = 5 * time.Second
)

// apiType is the Fast Purge object type of a batch kind.
var apiType = map[string]string{
	providers.KindFiles:   "url",
	providers.KindCPCodes: "cpcode",
	providers.KindTags:    "tag",
}

// bucketDefaults are the documented token buckets: size and refill rate
// per second, for requests and for each object type.
var bucketDefaults = map[string][2]float64{
	"requests": {100, 50},
	"url":      {10000, 200},
	"cpcode":   {300, 30.0 / 60},
	"tag":      {5000, 500.0 / 60},
}

// Config is where and how to purge. Zero values have the documented
// defaults.
type Config struct {
	// Network is production (default) or staging.
	Network string
	// Method is invalidate (default) or delete.
	Method string
	// Hostnames the property serves: a path is purged on each of them,
	// and a URL on another host is refused.
	Hostnames []string
	// OriginPath maps object keys to paths (see providers.KeyPaths).
	OriginPath string
	// CPCodes are what purging everything purges (Fast Purge has no
	// "purge all"): the CP codes of the property's content.
	CPCodes []int
	// Credentials loads the API client's credentials when the first
	// request is sent, so a dry run needs none (LoadCredentials).
	Credentials func() (*Credentials, error)
	// BaseURL is the API root (default https://<credentials host>); a
	// test server or a proxy (http://127.0.0.1:PORT works).
	BaseURL string
	// HTTPClient sends the requests (nil: a client with a 30 s timeout).
	HTTPClient *http.Client
	// Retry is the policy for 429, 5xx, 507 and network errors (zero: 5
	// attempts, 250 ms base, 20 s cap; a 429 waits at least 5 s).
	Retry providers.Backoff
	// Sleep waits for rate-limit tokens and for the purge estimate
	// (nil: a timer; tests pass a fake).
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives pacing and retry logs (nil: discard).
	Logger *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Purger purges one Akamai network. It implements providers.Purger and
// providers.PurgeWaiter.
type Purger struct {
	cfg    Config
	logger *slog.Logger
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error

	once  sync.Once // loads creds
	creds *Credentials
	cerr  error

	limits limits
}

// New checks cfg and returns a Purger. It neither reads credentials nor
// contacts the API.
func New(cfg Config) (*Purger, error) {
	switch cfg.Network {
	case "":
		cfg.Network = NetworkProduction
	case NetworkProduction, NetworkStaging:
	default:
		return nil, fmt.Errorf("akamai: network %q: want production or staging", cfg.Network)
	}
	switch cfg.Method {
	case "":
		cfg.Method = MethodInvalidate
	case MethodInvalidate, MethodDelete:
	default:
		return nil, fmt.Errorf("akamai: method %q: want invalidate (marks objects stale) or delete (removes them)", cfg.Method)
	}
	hosts, err := providers.CheckHostnames(Provider, cfg.Hostnames)
	if err != nil {
		return nil, err
	}
	cfg.Hostnames = hosts
	for _, c := range cfg.CPCodes {
		if c <= 0 {
			return nil, fmt.Errorf("akamai: CP code %d: want the positive number shown in Control Center", c)
		}
	}
	if cfg.BaseURL != "" {
		if u, err := url.Parse(cfg.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("akamai: API URL %q: want https://host or http://127.0.0.1:PORT", cfg.BaseURL)
		}
	}
	if cfg.Credentials == nil {
		cfg.Credentials = func() (*Credentials, error) { return LoadCredentials(CredentialOptions{}) }
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
	sleepFn := cfg.Sleep
	if sleepFn == nil {
		sleepFn = providers.Sleep
	}
	return &Purger{cfg: cfg, logger: logger, now: cfg.Now, sleep: sleepFn}, nil
}

// CheckTag applies Akamai's rules for a cache tag: 1 to 128 characters,
// letters, digits and ! # $ % & ' + - . ^ _ ` | ~ (an HTTP token without
// *). The error states the rule.
func CheckTag(tag string) error {
	if tag == "" || len(tag) > MaxTagLength {
		return fmt.Errorf("%q: an Akamai cache tag has 1 to %d characters", tag, MaxTagLength)
	}
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'+-.^_`|~", c) >= 0:
		default:
			return fmt.Errorf("%q: an Akamai cache tag holds only letters, digits and ! # $ %% & ' + - . ^ _ ` | ~", tag)
		}
	}
	return nil
}

// CheckTags applies CheckTag to each tag of one object, and Akamai's limit
// of 128 tags per object.
func CheckTags(tags []string) error {
	for _, t := range tags {
		if err := CheckTag(t); err != nil {
			return err
		}
	}
	if len(tags) > MaxTagsPerObject {
		return fmt.Errorf("%d tags: Akamai keeps %d per object and ignores the rest", len(tags), MaxTagsPerObject)
	}
	return nil
}

// method is the Fast Purge method for a request.
func (p *Purger) method(req providers.PurgeRequest) string {
	if req.Soft {
		return MethodInvalidate
	}
	return p.cfg.Method
}

// Plan checks req and packs it into requests of one object type each,
// under the body limit and the object buckets' sizes. Paths become URLs on
// every configured hostname; purging everything purges the configured CP
// codes.
func (p *Purger) Plan(req providers.PurgeRequest) (*providers.PurgeRecord, error) {
	switch {
	case len(req.Prefixes) > 0:
		return nil, providers.NotSupported(Provider, "purge by prefix", "Fast Purge has no wildcards: tag the files under the prefix and purge the tag, or purge the CP code")
	case len(req.Hosts) > 0:
		return nil, providers.NotSupported(Provider, "purge by host", "purge the CP code of the host's property with --cpcode, or a tag")
	case len(req.Headers) > 0:
		return nil, providers.NotSupported(Provider, "purge one header variant", "Fast Purge purges every variant of a URL")
	case req.Empty():
		return nil, fmt.Errorf("%s: %w: nothing to purge", Provider, providers.ErrInvalidPurge)
	case req.Everything && len(p.cfg.CPCodes) == 0:
		return nil, providers.NotSupported(Provider, "purge everything", "Fast Purge has no purge-all: set cp_codes in the cdns entry (the CP codes of the property) and --all purges them, or give --cpcode")
	}
	method := p.method(req)
	rec := &providers.PurgeRecord{
		Provider:   Provider,
		Target:     p.cfg.Network,
		Soft:       method == MethodInvalidate,
		Everything: req.Everything,
		Status:     providers.PurgePlanned,
	}
	if req.Soft && p.cfg.Method == MethodDelete {
		rec.Notes = append(rec.Notes, "--soft: invalidate instead of the entry's method: delete")
	}
	cpcodes := req.CPCodes
	var urls, tags []string
	var err error
	if req.Everything {
		if n := req.Count(); n > 0 {
			rec.Notes = append(rec.Notes, fmt.Sprintf("purging the CP codes covers the %d other items; they are not sent", n))
		}
		rec.Notes = append(rec.Notes, fmt.Sprintf("everything is the CP codes %s (cp_codes)", joinInts(p.cfg.CPCodes)))
		cpcodes = p.cfg.CPCodes
	} else {
		if urls, err = providers.RequestURLs(Provider, req, p.cfg.Hostnames, p.cfg.OriginPath); err != nil {
			return nil, err
		}
		for _, t := range req.Tags {
			if err := CheckTag(t); err != nil {
				return nil, fmt.Errorf("%s: %w: %w", Provider, providers.ErrInvalidPurge, err)
			}
			tags = append(tags, t)
		}
	}
	var codes []string
	for _, c := range cpcodes {
		if c <= 0 {
			return nil, providers.InvalidPurge(Provider, strconv.Itoa(c), "a CP code is a positive number")
		}
		codes = append(codes, strconv.Itoa(c))
	}
	for _, g := range []struct {
		kind  string
		items []string
	}{{providers.KindFiles, urls}, {providers.KindCPCodes, codes}, {providers.KindTags, tags}} {
		batches, err := pack(g.kind, providers.Unique(g.items))
		if err != nil {
			return nil, err
		}
		for _, b := range batches {
			rec.Batches = append(rec.Batches, providers.PurgeBatch{Kind: g.kind, Items: b, Status: providers.PurgePlanned})
		}
	}
	return rec, nil
}

// pack splits items of one kind into request bodies under MaxBodyBytes
// and object counts within the type's bucket.
func pack(kind string, items []string) ([][]string, error) {
	maxCount := int(bucketDefaults[apiType[kind]][0])
	empty := len(`{"objects":[]}`)
	var out [][]string
	var cur []string
	size := empty
	for _, it := range items {
		n := len(objectJSON(kind, it))
		if empty+n >= MaxBodyBytes {
			return nil, providers.InvalidPurge(Provider, it, fmt.Sprintf("too long for one Fast Purge request (%d bytes)", MaxBodyBytes))
		}
		extra := n
		if len(cur) > 0 {
			extra++ // the comma
		}
		if len(cur) > 0 && (size+extra >= MaxBodyBytes || len(cur) == maxCount) {
			out = append(out, cur)
			cur, size, extra = nil, empty, n
		}
		cur = append(cur, it)
		size += extra
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out, nil
}

// objectJSON is an item as it appears in the body: a JSON string, or a
// number for a CP code.
func objectJSON(kind, item string) []byte {
	if kind == providers.KindCPCodes {
		return []byte(item)
	}
	b, _ := json.Marshal(item)
	return b
}

// body is a batch's request body.
func body(b *providers.PurgeBatch) []byte {
	var buf bytes.Buffer
	buf.WriteString(`{"objects":[`)
	for i, it := range b.Items {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(objectJSON(b.Kind, it))
	}
	buf.WriteString(`]}`)
	return buf.Bytes()
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// Purge sends every batch of rec in order, paced by the API's buckets,
// retrying 429 (after 5 s or the refill the headers announce), 5xx, 507
// and network errors. An accepted batch is in progress for its
// estimatedSeconds; Wait sleeps them. A failed batch does not stop the
// others; the returned *providers.PurgeError names its items.
func (p *Purger) Purge(ctx context.Context, rec *providers.PurgeRecord) error {
	if rec.Status != providers.PurgePlanned {
		return fmt.Errorf("%s: purge: record is %s, not planned", Provider, rec.Status)
	}
	p.once.Do(func() { p.creds, p.cerr = p.cfg.Credentials() })
	if p.cerr != nil {
		return p.cerr
	}
	method := MethodInvalidate
	if !rec.Soft {
		method = MethodDelete
	}
	return providers.SendBatches(ctx, rec, p.now, func(ctx context.Context, i int, b *providers.PurgeBatch) error {
		err := p.send(ctx, method, b)
		if err != nil {
			p.logger.Warn("akamai purge batch failed", "batch", i+1, "kind", b.Kind, "objects", len(b.Items), "err", err)
			return err
		}
		b.Status = providers.PurgeInProgress
		return nil
	})
}

// endpoint is the URL of a batch's request.
func (p *Purger) endpoint(method string, b *providers.PurgeBatch) string {
	base := p.cfg.BaseURL
	if base == "" {
		base = "https://" + p.creds.Host
	}
	return strings.TrimSuffix(base, "/") + "/ccu/v3/" + method + "/" + apiType[b.Kind] + "/" + p.cfg.Network
}

// send posts one batch, with retries.
func (p *Purger) send(ctx context.Context, method string, b *providers.PurgeBatch) error {
	start := p.now()
	defer func() { b.DurationMS = p.now().Sub(start).Milliseconds() }()
	typ := apiType[b.Kind]
	payload := body(b)
	retry := p.cfg.Retry
	if retry.Sleep == nil {
		retry.Sleep = p.sleep
	}
	retry.OnRetry = func(attempt int, d time.Duration, err error) {
		p.logger.Info("akamai purge: retrying", "attempt", attempt, "in", d.Round(time.Millisecond), "err", err)
		if p.cfg.Retry.OnRetry != nil {
			p.cfg.Retry.OnRetry(attempt, d, err)
		}
	}
	return providers.Retry(ctx, retry, func(ctx context.Context) error {
		if d := p.limits.delay(typ, len(b.Items), p.now()); d > 0 {
			p.logger.Info("akamai purge: pacing to the rate limits", "wait", d.Round(time.Millisecond), "type", typ, "objects", len(b.Items))
			if err := p.sleep(ctx, d); err != nil {
				return err
			}
		}
		b.Attempts++
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint(method, b), bytes.NewReader(payload))
		if err != nil {
			return fmt.Errorf("%s: %w", Provider, err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		p.creds.signer().SignRequest(req)
		resp, err := p.cfg.HTTPClient.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return providers.Retryable(fmt.Errorf("%s: %w", Provider, err), 0)
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			return providers.Retryable(fmt.Errorf("%s: reading the answer: %w", Provider, err), 0)
		}
		now := p.now()
		observed := p.limits.observe(typ, resp.Header, now)
		var doc answer
		_ = json.Unmarshal(raw, &doc)
		if doc.SupportID != "" {
			b.RequestID = doc.SupportID
		}
		if resp.StatusCode == http.StatusCreated {
			if doc.PurgeID == "" {
				return fmt.Errorf("%s: the API accepted the purge but answered no purgeId: %s", Provider, truncate(raw))
			}
			if !observed {
				p.limits.consume(typ, len(b.Items), now)
			}
			b.ID, b.EstimatedSeconds = doc.PurgeID, doc.EstimatedSeconds
			return nil
		}
		return p.failure(resp, raw, &doc, typ, len(b.Items))
	})
}

// answer is the API's response document, for successes and errors alike.
type answer struct {
	HTTPStatus       int    `json:"httpStatus"`
	EstimatedSeconds int    `json:"estimatedSeconds"`
	PurgeID          string `json:"purgeId"`
	SupportID        string `json:"supportId"`
	Title            string `json:"title"`
	Detail           string `json:"detail"`
}

// failure turns an error answer into a final or retryable error.
func (p *Purger) failure(resp *http.Response, raw []byte, doc *answer, typ string, n int) error {
	text := strings.TrimSpace(strings.Trim(doc.Title+": "+doc.Detail, ": "))
	if text == "" {
		text = strings.TrimSpace(truncate(raw))
	}
	if text == "" {
		text = http.StatusText(resp.StatusCode)
	}
	msg := fmt.Errorf("%s: HTTP %d: %s", Provider, resp.StatusCode, text)
	if doc.SupportID != "" {
		msg = fmt.Errorf("%w (supportId %s)", msg, doc.SupportID)
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return fmt.Errorf("%w: check the API client's credentials (%s)", msg, p.creds.Source)
	case http.StatusForbidden:
		return fmt.Errorf("%w: the API client needs the CCU APIs service at READ-WRITE, and access to these objects' CP codes", msg)
	case http.StatusRequestEntityTooLarge:
		return fmt.Errorf("%w: the body is over %d bytes", msg, MaxBodyBytes)
	case http.StatusTooManyRequests:
		after := max(retryAfter429, p.limits.delay(typ, n, p.now()))
		if d, ok := providers.ParseRetryAfter(resp.Header.Get("Retry-After"), p.now()); ok {
			after = max(after, d)
		}
		return providers.Retryable(msg, after)
	case http.StatusInsufficientStorage:
		// The purge queue is full: try again later.
		return providers.Retryable(msg, 0)
	}
	if providers.RetryableStatus(resp.StatusCode) {
		return providers.Retryable(msg, 0)
	}
	return msg
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

// Wait sleeps the longest estimatedSeconds of the accepted batches and
// marks them completed: Fast Purge has no status endpoint, so this is the
// API's estimate, not a confirmation, and the record's notes say so.
func (p *Purger) Wait(ctx context.Context, rec *providers.PurgeRecord, progress func(providers.PurgeProgress)) error {
	start := p.now()
	var pending []*providers.PurgeBatch
	longest, done := 0, 0
	for i := range rec.Batches {
		b := &rec.Batches[i]
		switch b.Status {
		case providers.PurgeInProgress:
			pending = append(pending, b)
			longest = max(longest, b.EstimatedSeconds)
		case providers.PurgeCompleted:
			done++
		}
	}
	total := done + len(pending)
	report := func(completed int) {
		if progress != nil {
			progress(providers.PurgeProgress{Completed: completed, Total: total, Elapsed: p.now().Sub(start)})
		}
	}
	if len(pending) == 0 {
		report(done)
		return nil
	}
	report(done)
	d := time.Duration(longest) * time.Second
	p.logger.Info("akamai purge: waiting for Akamai's estimate (Fast Purge has no status endpoint)", "seconds", longest)
	if err := p.sleep(ctx, d); err != nil {
		return fmt.Errorf("%s: waiting %s, the purge's estimated time: %w", Provider, d, err)
	}
	for _, b := range pending {
		b.Status = providers.PurgeCompleted
	}
	rec.Notes = append(rec.Notes, fmt.Sprintf("waited %d s, Akamai's estimate (estimatedSeconds): Fast Purge has no status endpoint to confirm completion", longest))
	if !rec.StartedAt.IsZero() {
		rec.DurationMS = p.now().Sub(rec.StartedAt).Milliseconds()
	}
	rec.Settle()
	report(total)
	return nil
}

// limits tracks the API's token buckets: the documented sizes and rates,
// brought up to date by the X-Ratelimit-* headers of every answer.
type limits struct {
	mu sync.Mutex // guards b
	b  map[string]*level
}

// level is one bucket as last known.
type level struct {
	burst, rate float64 // tokens, per second
	tokens      float64
	at          time.Time
}

func (l *level) now(t time.Time) float64 {
	if l.at.IsZero() {
		return l.tokens
	}
	return math.Min(l.burst, l.tokens+t.Sub(l.at).Seconds()*l.rate)
}

// get returns a bucket, created full from the documented defaults. l.mu
// must be held.
func (l *limits) get(name string) *level {
	if l.b == nil {
		l.b = map[string]*level{}
	}
	b, ok := l.b[name]
	if !ok {
		d := bucketDefaults[name]
		b = &level{burst: d[0], rate: d[1], tokens: d[0]}
		l.b[name] = b
	}
	return b
}

// delay is how long until one request token and n tokens of typ are
// available.
func (l *limits) delay(typ string, n int, t time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var d float64
	for _, need := range []struct {
		name string
		n    float64
	}{{"requests", 1}, {typ, float64(n)}} {
		b := l.get(need.name)
		if short := need.n - b.now(t); short > 0 && b.rate > 0 {
			d = math.Max(d, short/b.rate)
		}
	}
	return time.Duration(math.Ceil(d * float64(time.Second)))
}

// consume takes one request and n objects of typ (when an answer carried
// no headers).
func (l *limits) consume(typ string, n int, t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range []struct {
		name string
		n    float64
	}{{"requests", 1}, {typ, float64(n)}} {
		b := l.get(c.name)
		b.tokens, b.at = b.now(t)-c.n, t
	}
}

// observe sets the buckets from an answer's X-Ratelimit-* headers and
// reports whether there were any.
func (l *limits) observe(typ string, h http.Header, t time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := false
	for _, s := range []struct{ name, suffix string }{{"requests", ""}, {typ, "-Objects"}} {
		rem, err := strconv.ParseFloat(h.Get("X-Ratelimit-Remaining"+s.suffix), 64)
		if err != nil {
			continue
		}
		seen = true
		b := l.get(s.name)
		b.tokens, b.at = rem, t
		if v, err := strconv.ParseFloat(h.Get("X-Ratelimit-Limit"+s.suffix), 64); err == nil && v > 0 {
			b.burst = v
		}
		if v, err := strconv.ParseFloat(h.Get("X-Ratelimit-Limit-Per-Second"+s.suffix), 64); err == nil && v > 0 {
			b.rate = v
		}
	}
	return seen
}
