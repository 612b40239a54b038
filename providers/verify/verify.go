// Package verify checks that a CDN serves what was deployed: it fetches
// URLs through every PoP (found as providers/prewarm finds them) and
// compares the SHA-256 of each body, decoded when the edge compressed it,
// with the hash the deploy recorded, so a stale 200 — an edge that kept
// the previous page after a purge — is caught, with the PoP, the URL and
// the headers it answered with.
package verify

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/cdnctl/cdnctl/providers/prewarm"
)

// Defaults of Verifier.
const (
	DefaultConcurrency = 8
	DefaultTimeout     = 30 * time.Second
	// maxBody bounds the body read for one check.
	maxBody = 1 << 30
)

// Check is one URL and the content it must be served with.
type Check struct {
	URL string `json:"url"`
	// Key is the object key it is served from (for messages).
	Key string `json:"key,omitempty"`
	// SHA256 is the hash of the body without content coding (required).
	SHA256 string `json:"sha256"`
	// Encoded maps a content coding to the hash of the stored
	// precompressed body ("br" → hash of index.html.br), so a body the
	// edge passed through as stored matches without decoding.
	Encoded map[string]string `json:"encoded,omitempty"`
	// Private marks a URL that must not serve cdnctl's deploy state
	// (PrivateChecks): it fails when it answers 200 with a state file,
	// and SHA256 is not used.
	Private bool `json:"private,omitempty"`
}

// Verifier fetches and compares. The zero value uses the defaults.
type Verifier struct {
	// Encodings are the Accept-Encoding values requested
	// (prewarm.DefaultEncodings when nil): the first for every URL, the
	// others when the response varies on Accept-Encoding, since each
	// variant is a cache entry that may be stale on its own.
	Encodings   []string
	Concurrency int
	Timeout     time.Duration
	Header      http.Header
	Insecure    bool
	// OnRequest, if set, is called after each request.
	OnRequest func(edge string, ok bool)
}

// Report is the outcome.
type Report struct {
	Checks   int       `json:"checks"`
	Requests int       `json:"requests"`
	Passed   bool      `json:"passed"`
	Pops     []PopStat `json:"pops"`
	// Failures lists every mismatch, by PoP then URL.
	Failures   []Failure `json:"failures,omitempty"`
	DurationMS int64     `json:"duration_ms"`
}

// PopStat counts one PoP's answers.
type PopStat struct {
	Name     string `json:"name"`
	Addr     string `json:"addr"`
	Requests int    `json:"requests"`
	Failed   int    `json:"failed"`
}

// Failure is one answer that is not the deployed content.
type Failure struct {
	Pop      string `json:"pop"`
	Addr     string `json:"addr"`
	URL      string `json:"url"`
	Key      string `json:"key,omitempty"`
	Encoding string `json:"accept_encoding"`
	Status   int    `json:"status,omitempty"`
	// Want is the deployed body's SHA-256, Got the served one's (after
	// decoding), when a body was read.
	Want   string `json:"want_sha256"`
	Got    string `json:"got_sha256,omitempty"`
	Reason string `json:"reason"`
	// Private is set when the URL must not serve cdnctl's state and did.
	Private bool `json:"private,omitempty"`
	// Headers are the response headers as the PoP sent them.
	Headers map[string]string `json:"headers,omitempty"`
}

func (f Failure) String() string {
	return fmt.Sprintf("%s (%s): %s [Accept-Encoding: %s]: %s", f.Pop, f.Addr, f.URL, f.Encoding, f.Reason)
}

// Error is returned when some answer did not match.
type Error struct {
	Failures []Failure
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "verify: %d stale or wrong %s", len(e.Failures), plural(len(e.Failures), "answer", "answers"))
	for i, f := range e.Failures {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(e.Failures)-3)
			break
		}
		b.WriteString("; ")
		b.WriteString(f.String())
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Verify requests every check through every edge and compares bodies. It
// returns the report and, when some answer did not match, an *Error; other
// errors are for bad input or a cancelled ctx.
func (v *Verifier) Verify(ctx context.Context, checks []Check, edges []prewarm.Edge) (*Report, error) {
	start := time.Now()
	if len(edges) == 0 {
		return nil, errors.New("verify: no PoP to check")
	}
	urls := make([]string, len(checks))
	for i, c := range checks {
		if len(c.SHA256) != 64 && !c.Private {
			return nil, fmt.Errorf("verify: %s: missing SHA-256", c.URL)
		}
		urls[i] = c.URL
	}
	if err := prewarm.CheckURLs(urls); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	rep := &Report{Checks: len(checks), Pops: make([]PopStat, len(edges))}
	fails := make([][]Failure, len(edges))
	var wg sync.WaitGroup
	for i, e := range edges {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep.Pops[i], fails[i] = v.verifyEdge(ctx, checks, e)
		}()
	}
	wg.Wait()
	for i := range edges {
		rep.Requests += rep.Pops[i].Requests
		rep.Failures = append(rep.Failures, fails[i]...)
	}
	rep.DurationMS = time.Since(start).Milliseconds()
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	rep.Passed = len(rep.Failures) == 0
	if !rep.Passed {
		return rep, &Error{Failures: rep.Failures}
	}
	return rep, nil
}

func (v *Verifier) verifyEdge(ctx context.Context, checks []Check, e prewarm.Edge) (PopStat, []Failure) {
	st := PopStat{Name: e.Name, Addr: e.Addr}
	n := v.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	timeout := v.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	encs := v.Encodings
	if len(encs) == 0 {
		encs = prewarm.DefaultEncodings()
	}
	client, closeConns := e.Client(n, timeout, v.Insecure)
	defer closeConns()
	var (
		mu    sync.Mutex // guards st and fails
		fails []Failure
	)
	jobs := make(chan Check)
	var wg sync.WaitGroup
	for range min(n, len(checks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range jobs {
				for i, enc := range encs {
					f, varies := v.check(ctx, client, timeout, c, enc)
					if ctx.Err() != nil {
						return
					}
					mu.Lock()
					st.Requests++
					if f != nil {
						f.Pop, f.Addr = e.Name, e.Addr
						st.Failed++
						fails = append(fails, *f)
					}
					mu.Unlock()
					if v.OnRequest != nil {
						v.OnRequest(e.Name, f == nil)
					}
					if i == 0 && !varies {
						break
					}
				}
			}
		}()
	}
feed:
	for _, c := range checks {
		select {
		case jobs <- c:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	sort.Slice(fails, func(i, j int) bool {
		if fails[i].URL != fails[j].URL {
			return fails[i].URL < fails[j].URL
		}
		return fails[i].Encoding < fails[j].Encoding
	})
	return st, fails
}

// check fetches one URL with one Accept-Encoding and returns a Failure
// when the answer is not the deployed body.
func (v *Verifier) check(ctx context.Context, client *http.Client, timeout time.Duration, c Check, enc string) (*Failure, bool) {
	fail := func(reason string) *Failure {
		return &Failure{URL: c.URL, Key: c.Key, Encoding: enc, Want: c.SHA256, Reason: reason}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// A redirect within the site (a static host's canonical URL:
	// /about/index.html → /about/) is followed: the URL serves what the
	// redirect leads to.
	target, via := c.URL, ""
	var resp *http.Response
	for hop := 0; ; hop++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return fail(err.Error()), false
		}
		for k, vs := range v.Header {
			req.Header[http.CanonicalHeaderKey(k)] = vs
		}
		if req.Header.Get("User-Agent") == "" {
			req.Header.Set("User-Agent", "cdnctl-verify")
		}
		req.Header.Set("Accept-Encoding", enc)
		resp, err = client.Do(req)
		if err != nil {
			return fail(err.Error() + via), false
		}
		next, ok := prewarm.SiteRedirect(resp)
		if !ok || hop == prewarm.MaxRedirects {
			break
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		target, via = next, fmt.Sprintf(" (redirected to %s)", next)
	}
	defer resp.Body.Close()
	varies := prewarm.VariesOnEncoding(resp.Header)
	headers := flatten(resp.Header)
	if c.Private {
		return v.checkPrivate(resp, c, fail, headers), false
	}
	if resp.StatusCode != http.StatusOK {
		f := fail(fmt.Sprintf("status %d, want 200%s", resp.StatusCode, via))
		f.Status, f.Headers = resp.StatusCode, headers
		return f, varies
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		f := fail(fmt.Sprintf("reading the body: %v", err))
		f.Status, f.Headers = resp.StatusCode, headers
		return f, varies
	}
	got, match := matches(raw, resp.Header.Get("Content-Encoding"), c)
	if match {
		return nil, varies
	}
	f := fail("stale or wrong content: the body's SHA-256 is not the deployed one's" + via)
	f.Status, f.Got, f.Headers = resp.StatusCode, got, headers
	return f, varies
}

// checkPrivate fails a private check that answered 200 with cdnctl's
// state. Any other answer passes: 403 and 404 are what a CDN in front of
// a private bucket says, and a 200 with another body is a fallback page
// (a single-page app's index.html served for every path).
func (v *Verifier) checkPrivate(resp *http.Response, c Check, fail func(string) *Failure, headers map[string]string) *Failure {
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxStateBody))
	if err != nil {
		return nil
	}
	body := raw
	if ce := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); ce != "" && ce != "identity" {
		if d, err := decode(raw, ce); err == nil {
			body = d
		}
	}
	if !LooksLikeState(body) {
		return nil
	}
	f := fail("cdnctl's deploy state is served to anyone (deploy history, git commits, the object list): " +
		"make the CDN refuse this path, or move the state out of what it serves with origin.state (docs/deploy.md#state)")
	f.Status, f.Got, f.Headers, f.Private = resp.StatusCode, hexSum(raw), headers, true
	return f
}

// maxStateBody bounds what a private check reads.
const maxStateBody = 16 << 20

// LooksLikeState reports whether body is one of cdnctl's state files: a
// JSON object with a version and deploys (the history), objects (the
// index) or a token (the lock).
func LooksLikeState(body []byte) bool {
	var doc map[string]json.RawMessage
	if json.Unmarshal(body, &doc) != nil {
		return false
	}
	if _, ok := doc["version"]; !ok {
		return false
	}
	for _, k := range []string{"deploys", "objects", "token"} {
		if _, ok := doc[k]; ok {
			return true
		}
	}
	return false
}

// PrivateChecks returns the checks that the URLs of paths (under base)
// do not serve cdnctl's state.
func PrivateChecks(base *url.URL, paths []string) []Check {
	out := make([]Check, 0, len(paths))
	for _, p := range paths {
		u := *base
		u.Path = strings.TrimSuffix(base.Path, "/") + p
		out = append(out, Check{URL: u.String(), Key: strings.TrimPrefix(p, "/"), Private: true})
	}
	return out
}

// matches reports whether a body as received is the check's content: as
// stored (the precompressed body passed through), or decoded to the
// identity body (an edge that compresses on the fly). got is the hash
// compared last.
func matches(raw []byte, contentEncoding string, c Check) (got string, ok bool) {
	sum := hexSum(raw)
	ce := strings.ToLower(strings.TrimSpace(contentEncoding))
	if ce == "" || ce == "identity" {
		return sum, strings.EqualFold(sum, c.SHA256)
	}
	if want, ok := c.Encoded[ce]; ok && strings.EqualFold(sum, want) {
		return sum, true
	}
	decoded, err := decode(raw, ce)
	if err != nil {
		return sum, false
	}
	d := hexSum(decoded)
	return d, strings.EqualFold(d, c.SHA256)
}

func decode(b []byte, coding string) ([]byte, error) {
	var r io.Reader
	switch coding {
	case "br":
		r = brotli.NewReader(bytes.NewReader(b))
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		r = zr
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		r = zr
	default:
		return nil, fmt.Errorf("content coding %q", coding)
	}
	return io.ReadAll(io.LimitReader(r, maxBody))
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func flatten(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		out[k] = strings.Join(vs, ", ")
	}
	return out
}

// Sample picks up to n items spread evenly over items (all of them when
// n < 0 or n >= len(items), none when n == 0), keeping their order: a
// deterministic sample that covers the whole site.
func Sample[T any](items []T, n int) []T {
	if n == 0 {
		return nil
	}
	if n < 0 || n >= len(items) {
		return slices.Clone(items)
	}
	out := make([]T, 0, n)
	for i := range n {
		out = append(out, items[i*len(items)/n])
	}
	return out
}
