// Package prewarm requests a site's URLs through every PoP of a CDN, so
// that the first real visitor of each region gets a cache hit: it finds
// the PoPs the way clients do (the CDN hostname resolved per region at a
// GeoDNS or ECS-capable resolver, a local topology's PoPs, or given
// addresses), then requests each URL at each PoP with the right Host and
// TLS server name, with bounded concurrency and rate, once per
// Accept-Encoding variant the response varies on, and reports per PoP
// what the caches said (hits and misses, decoded by providers/probe),
// bytes, errors and latency percentiles.
package prewarm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/probe"
)

// Defaults of Warmer.
const (
	DefaultConcurrency = 8
	DefaultTimeout     = 30 * time.Second
	// maxFailures is how many failed requests a PoP's report lists.
	maxFailures = 10
)

// DefaultEncodings returns the Accept-Encoding variants requested: what
// browsers send first, then the older coding, then none.
func DefaultEncodings() []string { return []string{"br", "gzip", "identity"} }

// Warmer sends the requests. The zero value warms with the defaults.
type Warmer struct {
	// Concurrency is the number of requests in flight per PoP
	// (DefaultConcurrency when 0).
	Concurrency int
	// Rate caps requests per second per PoP (0: no cap).
	Rate float64
	// Encodings are the Accept-Encoding values requested for each URL
	// (DefaultEncodings when nil): the first for every URL, the others
	// only when the response varies on Accept-Encoding, since a response
	// that does not vary is one cache entry whatever the client accepts.
	Encodings []string
	// Method is GET (default) or HEAD. HEAD fills caches with most CDNs
	// without transferring bodies, but not with every one.
	Method string
	// Timeout bounds each request, body included (DefaultTimeout when 0).
	Timeout time.Duration
	// Header is sent with every request (a User-Agent, an auth header for
	// a protected staging site).
	Header http.Header
	// Insecure skips TLS verification (self-signed staging edges).
	Insecure bool
	// OnRequest, if set, is called after each request (from several
	// goroutines): progress bars count with it.
	OnRequest func(edge string, r Request)
	// Logger receives failed requests at debug level (nil: discard).
	Logger *slog.Logger
}

// Request is the outcome of one request.
type Request struct {
	URL      string        `json:"url"`
	Encoding string        `json:"encoding"`
	Status   int           `json:"status,omitempty"`
	Result   probe.Outcome `json:"result,omitempty"`
	Bytes    int64         `json:"bytes"`
	Latency  time.Duration `json:"-"`
	Error    string        `json:"error,omitempty"`
}

// Report is what a prewarm did.
type Report struct {
	URLs     int `json:"urls"`
	Requests int `json:"requests"`
	Hits     int `json:"hits"`
	Misses   int `json:"misses"`
	Errors   int `json:"errors"`
	// Pops has one entry per edge, in the order given.
	Pops       []PopReport `json:"pops"`
	DurationMS int64       `json:"duration_ms"`
}

// PopReport is what one PoP answered.
type PopReport struct {
	Name   string `json:"name"`
	Addr   string `json:"addr"`
	Region string `json:"region,omitempty"`
	// Requests sent; Hits and Misses are the cache verdicts of the PoP
	// itself (Cache-Status, CF-Cache-Status, X-Cache: see
	// providers/probe), Other the rest (bypass, uncacheable, no header).
	Requests int   `json:"requests"`
	Hits     int   `json:"hits"`
	Misses   int   `json:"misses"`
	Other    int   `json:"other"`
	Bytes    int64 `json:"bytes"`
	// Errors are failed requests and answers with status 400 or more.
	Errors int `json:"errors"`
	// P50Ms and P99Ms are latency percentiles (first byte to the end of
	// the body), in milliseconds.
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
	// Failures lists up to 10 failed requests.
	Failures []Request `json:"failures,omitempty"`
}

func (w *Warmer) concurrency() int {
	if w.Concurrency <= 0 {
		return DefaultConcurrency
	}
	return w.Concurrency
}

func (w *Warmer) timeout() time.Duration {
	if w.Timeout <= 0 {
		return DefaultTimeout
	}
	return w.Timeout
}

func (w *Warmer) encodings() []string {
	if len(w.Encodings) == 0 {
		return DefaultEncodings()
	}
	return w.Encodings
}

// CheckURLs parses urls: each must be an absolute http(s) URL.
func CheckURLs(urls []string) error {
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("prewarm: %q: want an absolute http(s) URL", raw)
		}
		if u.Fragment != "" {
			return fmt.Errorf("prewarm: %q: a fragment (#…) never reaches the server; remove it", raw)
		}
	}
	return nil
}

// Warm requests every URL through every edge, the edges in parallel, and
// reports per edge. Failed requests are counted in the report, not
// returned as an error; the error is for bad input or a cancelled ctx
// (with the report of what was done).
func (w *Warmer) Warm(ctx context.Context, urls []string, edges []Edge) (*Report, error) {
	start := time.Now()
	if err := CheckURLs(urls); err != nil {
		return nil, err
	}
	if len(edges) == 0 {
		return nil, errors.New("prewarm: no PoP to warm")
	}
	method := w.Method
	if method == "" {
		method = http.MethodGet
	}
	if method != http.MethodGet && method != http.MethodHead {
		return nil, fmt.Errorf("prewarm: method %q: want GET or HEAD", method)
	}
	rep := &Report{URLs: len(urls), Pops: make([]PopReport, len(edges))}
	var wg sync.WaitGroup
	for i, e := range edges {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep.Pops[i] = w.warmEdge(ctx, method, urls, e)
		}()
	}
	wg.Wait()
	for _, p := range rep.Pops {
		rep.Requests += p.Requests
		rep.Hits += p.Hits
		rep.Misses += p.Misses
		rep.Errors += p.Errors
	}
	rep.DurationMS = time.Since(start).Milliseconds()
	return rep, ctx.Err()
}

// warmEdge runs one edge's requests with its own connection pool, worker
// pool and rate limit.
func (w *Warmer) warmEdge(ctx context.Context, method string, urls []string, e Edge) PopReport {
	pr := PopReport{Name: e.Name, Addr: e.Addr, Region: e.Region}
	n := w.concurrency()
	client, closeConns := e.Client(n, w.timeout(), w.Insecure)
	defer closeConns()
	var bucket *providers.TokenBucket
	if w.Rate > 0 {
		bucket = providers.NewTokenBucket(w.Rate, n, nil)
	}
	jobs := make(chan string)
	var (
		mu        sync.Mutex // guards pr and latencies
		latencies []float64
	)
	record := func(r Request) {
		mu.Lock()
		pr.Requests++
		pr.Bytes += r.Bytes
		latencies = append(latencies, float64(r.Latency.Microseconds())/1000)
		switch {
		case r.Error != "":
			pr.Errors++
			if len(pr.Failures) < maxFailures {
				pr.Failures = append(pr.Failures, r)
			}
		case r.Result.Served():
			pr.Hits++
		case r.Result == probe.Miss || r.Result == probe.Expired:
			pr.Misses++
		default:
			pr.Other++
		}
		mu.Unlock()
		if w.OnRequest != nil {
			w.OnRequest(e.Name, r)
		}
	}
	var wg sync.WaitGroup
	for range min(n, len(urls)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range jobs {
				encs := w.encodings()
				for i, enc := range encs {
					if bucket != nil {
						if err := bucket.Wait(ctx); err != nil {
							return
						}
					}
					// A redirect within the site (a static host's
					// canonical URL) is followed, so the page it leads
					// to is warmed too; each hop is a request.
					varies, target := false, u
					for hop := 0; ; hop++ {
						r, v, next := w.fetch(ctx, client, method, target, enc)
						if ctx.Err() != nil {
							return
						}
						record(r)
						varies = v
						if next == "" || hop == MaxRedirects {
							break
						}
						target = next
					}
					if i == 0 && !varies {
						break
					}
				}
			}
		}()
	}
feed:
	for _, u := range urls {
		select {
		case jobs <- u:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	slices.Sort(latencies)
	pr.P50Ms, pr.P99Ms = percentile(latencies, 0.50), percentile(latencies, 0.99)
	return pr
}

// fetch sends one request and reads the body; varies reports whether the
// response varies on Accept-Encoding (other variants are separate cache
// entries), next is where a redirect within the site leads ("" for other
// answers).
func (w *Warmer) fetch(ctx context.Context, client *http.Client, method, rawURL, enc string) (r Request, varies bool, next string) {
	r = Request{URL: rawURL, Encoding: enc}
	ctx, cancel := context.WithTimeout(ctx, w.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, rawURL, nil)
	if err != nil {
		r.Error = err.Error()
		return r, false, ""
	}
	for k, vs := range w.Header {
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "cdnctl-prewarm")
	}
	req.Header.Set("Accept-Encoding", enc)
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		r.Latency = time.Since(start)
		r.Error = describe(err)
		w.logFailure(r)
		return r, false, ""
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	r.Latency = time.Since(start)
	r.Status, r.Bytes = resp.StatusCode, n
	r.Result = probe.Decode(resp.Header).Result
	switch {
	case err != nil:
		r.Error = fmt.Sprintf("reading the body after %d bytes: %v", n, err)
	case resp.StatusCode >= 400:
		r.Error = resp.Status
	}
	if r.Error != "" {
		w.logFailure(r)
	}
	if r.Error == "" {
		next, _ = SiteRedirect(resp)
	}
	return r, VariesOnEncoding(resp.Header), next
}

func (w *Warmer) logFailure(r Request) {
	if w.Logger != nil {
		w.Logger.Debug("prewarm: request failed", "url", r.URL, "encoding", r.Encoding, "err", r.Error)
	}
}

// VariesOnEncoding reports whether a response's Vary lists
// Accept-Encoding (or is "*").
func VariesOnEncoding(h http.Header) bool {
	for _, v := range h.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			if f == "*" || strings.EqualFold(f, "Accept-Encoding") {
				return true
			}
		}
	}
	return false
}

// describe shortens a transport error to its cause.
func describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	return err.Error()
}

// percentile returns the q-quantile of sorted values (nearest rank).
func percentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}
