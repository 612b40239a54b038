// Package adminclient is the typed client of the admin API of a local edge
// topology (`cdnctl serve`, contracts §2): topology, statistics, the cache
// listing and detail, purges and PoP health. It is the one client of that
// API in cdnctl; the request and response types are package localedge's.
//
//	c := &adminclient.Client{BaseURL: "http://127.0.0.1:8099", Token: token}
//	page, err := c.Entries(ctx, adminclient.ListQuery{Filter: "tag:css", Sort: "hits", Desc: true})
//	res, err := c.Purge(ctx, localedge.AdminPurgeRequest{PurgeRequest: localedge.PurgeRequest{Tags: []string{"css"}}})
package adminclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cdnctl/cdnctl/localedge"
)

// DefaultBaseURL is the admin API of the default local topology
// (contracts §4).
const DefaultBaseURL = "http://" + localedge.DefaultAdminAddr

// DefaultTimeout bounds one request when Client.HTTPClient is nil.
const DefaultTimeout = 30 * time.Second

// maxBody bounds what is read from one answer: a page of 1000 entries is
// well under 1 MiB.
const maxBody = 32 << 20

// Errors callers can test with errors.Is. Every error the client returns
// for an answer of the API is an *APIError; these sentinels match it by
// status, and ErrUnreachable matches a failure to connect.
var (
	// ErrUnauthorized: the token is missing or was rejected (401).
	ErrUnauthorized = errors.New("admin token rejected")
	// ErrNotFound: no such entry, PoP or endpoint (404).
	ErrNotFound = errors.New("not found")
	// ErrUnreachable: nothing answers at the base URL (connection refused,
	// unknown host, timeout while connecting).
	ErrUnreachable = errors.New("admin API not reachable")
)

// Client calls one admin API. The zero value is not usable: BaseURL is
// required (DefaultBaseURL for the default topology). A Client is safe for
// concurrent use.
type Client struct {
	// BaseURL is the admin listener, e.g. http://127.0.0.1:8099.
	BaseURL string
	// Token is the bearer token `cdnctl serve` printed (never logged).
	Token string
	// HTTPClient sends the requests (nil: one with DefaultTimeout and no
	// proxy, since the API is on loopback).
	HTTPClient *http.Client

	once sync.Once    // guards hc
	hc   *http.Client // the default HTTP client, built once
}

// New checks baseURL and returns a client for it.
func New(baseURL, token string) (*Client, error) {
	c := &Client{BaseURL: baseURL, Token: token}
	if _, err := c.base(); err != nil {
		return nil, err
	}
	return c, nil
}

// httpClient returns HTTPClient, or the client's own default one, built
// once: it keeps connections alive across the inspector's refreshes.
func (c *Client) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	c.once.Do(func() {
		c.hc = &http.Client{
			Timeout:   DefaultTimeout,
			Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second},
		}
	})
	return c.hc
}

func (c *Client) base() (*url.URL, error) {
	u, err := url.Parse(strings.TrimSuffix(c.BaseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("admin API URL %q: want http://host:port, as cdnctl serve prints it", c.BaseURL)
	}
	return u, nil
}

// APIError is a non-2xx answer of the admin API.
type APIError struct {
	Method     string
	URL        string // without the token, which is never in a URL
	StatusCode int
	// Message is the API's {"error": "..."} text, or the start of the body.
	Message string
}

func (e *APIError) Error() string {
	if e.StatusCode == http.StatusUnauthorized {
		return fmt.Sprintf("admin token rejected by %s: %s (use the token cdnctl serve printed, or --token)", e.URL, e.Message)
	}
	return fmt.Sprintf("admin API %s %s: HTTP %d: %s", e.Method, e.URL, e.StatusCode, e.Message)
}

// Is matches ErrUnauthorized and ErrNotFound by status.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	}
	return false
}

// unreachableError is a failure to reach the API at all.
type unreachableError struct {
	base string
	err  error
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("admin API at %s not reachable: %v (is cdnctl serve running, with this admin address?)", e.base, e.err)
}
func (e *unreachableError) Unwrap() error        { return e.err }
func (e *unreachableError) Is(target error) bool { return target == ErrUnreachable }

// do sends one request; in (when not nil) is the JSON body and out (when
// not nil) receives the JSON answer.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	data, base, err := c.roundTrip(ctx, method, path, query, in)
	if err != nil || out == nil {
		return err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("admin API %s %s: the answer is not the expected JSON (is %s a cdnctl admin API?): %w", method, path, base, err)
	}
	return nil
}

// roundTrip sends one request and returns the body of a 2xx answer; any
// other answer is an *APIError.
func (c *Client) roundTrip(ctx context.Context, method, path string, query url.Values, in any) ([]byte, *url.URL, error) {
	base, err := c.base()
	if err != nil {
		return nil, nil, err
	}
	u := base.JoinPath(path)
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, base, fmt.Errorf("admin API %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, base, fmt.Errorf("admin API %s %s: %w", method, path, err)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, base, ctx.Err()
		}
		if isUnreachable(err) {
			return nil, base, &unreachableError{base: base.String(), err: unwrapURLError(err)}
		}
		return nil, base, fmt.Errorf("admin API %s %s: %w", method, u.Redacted(), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, base, fmt.Errorf("admin API %s %s: read answer: %w", method, u.Redacted(), err)
	}
	if resp.StatusCode/100 != 2 {
		msg := strings.TrimSpace(string(data))
		var e localedge.ErrorResponse
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			msg = e.Error
		} else if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
		return nil, base, &APIError{Method: method, URL: base.String() + path, StatusCode: resp.StatusCode, Message: msg}
	}
	return data, base, nil
}

// isUnreachable tells a failure to connect (nothing listens, no such host,
// connect timeout) from errors in the middle of an exchange.
func isUnreachable(err error) bool {
	var op *net.OpError
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EADDRNOTAVAIL):
		return true
	case errors.As(err, &dnsErr):
		return true
	case errors.As(err, &op) && op.Op == "dial":
		return true
	}
	return false
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Healthz checks that the API answers (GET /healthz, no token needed).
func (c *Client) Healthz(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/healthz", nil, nil, nil)
}

// Topology returns where the topology's PoPs, origin, admin API and DNS
// listen.
func (c *Client) Topology(ctx context.Context) (localedge.TopologyInfo, error) {
	var out localedge.TopologyInfo
	err := c.do(ctx, http.MethodGet, "/api/v1/topology", nil, nil, &out)
	return out, err
}

// Stats returns every PoP's cumulative counters and store size.
func (c *Client) Stats(ctx context.Context) (localedge.StatsResponse, error) {
	var out localedge.StatsResponse
	err := c.do(ctx, http.MethodGet, "/api/v1/stats", nil, nil, &out)
	return out, err
}

// ListQuery selects a page of cached entries (GET /api/v1/entries).
type ListQuery struct {
	// Pop limits the listing to one PoP ("" = all PoPs and the shield).
	Pop string
	// Filter is space-separated terms, all of which must match: a word
	// (substring of the key), tag:T, status:200 or status:4xx, host:H,
	// stale:true|false.
	Filter string
	// Sort is key (default), size, age, ttl, hits or status; Desc
	// reverses it.
	Sort string
	Desc bool
	// Offset and Limit page the listing (Limit 0: the API's default of
	// 100; at most localedge.MaxEntryLimit).
	Offset int
	Limit  int
}

func (q ListQuery) values() url.Values {
	v := url.Values{}
	if q.Pop != "" {
		v.Set("pop", q.Pop)
	}
	if q.Filter != "" {
		v.Set("q", q.Filter)
	}
	if q.Sort != "" {
		v.Set("sort", q.Sort)
	}
	if q.Desc {
		v.Set("order", "desc")
	}
	if q.Offset > 0 {
		v.Set("offset", strconv.Itoa(q.Offset))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

// Entries returns one page of the cache listing. A malformed filter is an
// *APIError with status 400 naming the term.
func (c *Client) Entries(ctx context.Context, q ListQuery) (localedge.EntryPage, error) {
	var out localedge.EntryPage
	err := c.do(ctx, http.MethodGet, "/api/v1/entries", q.values(), nil, &out)
	return out, err
}

// Entry returns one key's stored variants, from the named PoP ("" = the
// first PoP holding it) and which PoPs hold it. A key not cached is an
// error matching ErrNotFound.
func (c *Client) Entry(ctx context.Context, pop, key string) (localedge.EntryDetail, error) {
	v := url.Values{"key": {key}}
	if pop != "" {
		v.Set("pop", pop)
	}
	var out localedge.EntryDetail
	err := c.do(ctx, http.MethodGet, "/api/v1/entry", v, nil, &out)
	return out, err
}

// Purge applies req and returns once every targeted PoP has applied it.
func (c *Client) Purge(ctx context.Context, req localedge.AdminPurgeRequest) (localedge.PurgeResponse, error) {
	var out localedge.PurgeResponse
	err := c.do(ctx, http.MethodPost, "/api/v1/purge", nil, req, &out)
	return out, err
}

// SetPoPHealth marks a PoP down (its health endpoint answers 503, so the
// GeoDNS stops sending clients to it) or up again.
func (c *Client) SetPoPHealth(ctx context.Context, pop string, healthy bool) (localedge.PoPHealth, error) {
	state := "down"
	if healthy {
		state = "up"
	}
	var out localedge.PoPHealth
	err := c.do(ctx, http.MethodPost, "/api/v1/pops/"+url.PathEscape(pop)+"/"+state, nil, nil, &out)
	return out, err
}

// Metrics returns the Prometheus text exposition of the topology.
func (c *Client) Metrics(ctx context.Context) (string, error) {
	data, _, err := c.roundTrip(ctx, http.MethodGet, "/metrics", nil, nil)
	return string(data), err
}
