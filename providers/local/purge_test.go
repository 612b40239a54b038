package local

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnctl/cdnctl/localedge/adminclient"
	"github.com/cdnctl/cdnctl/providers"
)

// contractAdmin is a fake of the admin API of a `cdnctl serve` topology
// that checks every request exactly as /work/notes/contracts.md §2
// defines it (until localedge's own admin API lands on main, and alongside
// the integration test against it afterwards):
//
//   - every endpoint but /healthz requires "Authorization: Bearer <token>"
//     (constant-time compare), else 401 with WWW-Authenticate: Bearer
//     realm="cdnctl" and {"error":"..."}; errors are JSON {"error":...};
//   - GET /api/v1/topology lists the PoPs and the shield;
//   - POST /api/v1/purge takes {"urls","prefixes","tags","hosts","all",
//     "soft","pops"} (any combination, at least one target; unknown or
//     malformed fields are a 400 naming the field), purges every targeted
//     PoP (pops omitted: all of them and the shield) and answers
//     {"id","soft","purged","pops":[{"name","purged"}],"duration_ms"};
//   - a URL without scheme and host is a path, matching that path on every
//     host; a query string matches only when given exactly; purging an
//     unknown tag purges 0.
type contractAdmin struct {
	t     *testing.T
	srv   *httptest.Server
	token string
	pops  []string // names, the shield last

	mu       sync.Mutex             // guards the fields below
	cache    map[string][]fakeEntry // PoP → cached entries
	purges   []adminPurge           // valid purge bodies received
	requests []string               // "METHOD path" of every request
	faults   []int                  // statuses to answer the next purges with
	drop     string                 // a PoP left out of purge answers
	seq      int
}

// adminPurge is the purge body as the contract writes it (the fake's own
// view, independent of package localedge's types).
type adminPurge struct {
	URLs     []string `json:"urls,omitempty"`
	Prefixes []string `json:"prefixes,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	Hosts    []string `json:"hosts,omitempty"`
	All      bool     `json:"all,omitempty"`
	Soft     bool     `json:"soft,omitempty"`
	Pops     []string `json:"pops,omitempty"`
}

// adminPurged is the contract's answer to a purge.
type adminPurged struct {
	ID         string               `json:"id"`
	Soft       bool                 `json:"soft"`
	Purged     int                  `json:"purged"`
	Pops       []providers.PopCount `json:"pops"`
	DurationMS int64                `json:"duration_ms"`
}

type fakeEntry struct {
	host, path, query string
	tags              []string
	stale             bool
}

func newContractAdmin(t *testing.T, token string) *contractAdmin {
	a := &contractAdmin{t: t, token: token, pops: []string{"pop1", "pop2", "pop3", "shield"}, cache: map[string][]fakeEntry{}}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

// fill caches the same entries on every PoP.
func (a *contractAdmin) fill(entries ...fakeEntry) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, p := range a.pops {
		a.cache[p] = append(a.cache[p], entries...)
	}
}

func (a *contractAdmin) snapshot() (purges []adminPurge, requests []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.purges), slices.Clone(a.requests)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (a *contractAdmin) fail(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, map[string]string{"error": fmt.Sprintf(format, args...)})
}

func (a *contractAdmin) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.requests = append(a.requests, r.Method+" "+r.URL.Path)
	a.mu.Unlock()
	if r.URL.Path == "/healthz" {
		writeJSON(w, 200, map[string]string{"status": "ok"})
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(tok), []byte(a.token)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="cdnctl"`)
		a.fail(w, http.StatusUnauthorized, "missing or invalid bearer token")
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/topology":
		var pops []map[string]any
		for i, name := range a.pops {
			role := "edge"
			if name == "shield" {
				role = "shield"
			}
			pops = append(pops, map[string]any{"name": name, "role": role, "url": fmt.Sprintf("http://127.0.%d.1:8081", i+1), "addr": fmt.Sprintf("127.0.%d.1:8081", i+1)})
		}
		writeJSON(w, 200, map[string]any{"pops": pops, "origin": map[string]string{"url": "http://127.0.0.1:8000"}, "admin": map[string]string{"url": a.srv.URL}})
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/purge":
		a.purge(w, r)
	case r.URL.Path == "/api/v1/purge" || r.URL.Path == "/api/v1/topology":
		w.Header().Set("Allow", "GET, POST")
		a.fail(w, http.StatusMethodNotAllowed, "method %s not allowed", r.Method)
	default:
		a.fail(w, http.StatusNotFound, "no such endpoint %s", r.URL.Path)
	}
}

func (a *contractAdmin) purge(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	if len(a.faults) > 0 {
		status := a.faults[0]
		a.faults = a.faults[1:]
		a.mu.Unlock()
		a.fail(w, status, "injected failure")
		return
	}
	a.mu.Unlock()
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		a.fail(w, http.StatusUnsupportedMediaType, "body must be application/json")
		return
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		a.fail(w, 400, "cannot read the body")
		return
	}
	// Strict decoding: the contract's fields only, each with its type.
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		a.fail(w, 400, "body is not a JSON object: %v", err)
		return
	}
	var body adminPurge
	for name, v := range fields {
		var err error
		switch name {
		case "urls":
			err = json.Unmarshal(v, &body.URLs)
		case "prefixes":
			err = json.Unmarshal(v, &body.Prefixes)
		case "tags":
			err = json.Unmarshal(v, &body.Tags)
		case "hosts":
			err = json.Unmarshal(v, &body.Hosts)
		case "pops":
			err = json.Unmarshal(v, &body.Pops)
		case "all":
			err = json.Unmarshal(v, &body.All)
		case "soft":
			err = json.Unmarshal(v, &body.Soft)
		default:
			a.fail(w, 400, "unknown field %q", name)
			return
		}
		if err != nil {
			a.fail(w, 400, "field %q: %v", name, err)
			return
		}
	}
	if !body.All && len(body.URLs)+len(body.Prefixes)+len(body.Tags)+len(body.Hosts) == 0 {
		a.fail(w, 400, "empty purge: give urls, prefixes, tags, hosts or all")
		return
	}
	for _, list := range [][]string{body.URLs, body.Prefixes} {
		for _, u := range list {
			if !strings.HasPrefix(u, "/") {
				if pu, err := url.Parse(u); err != nil || pu.Host == "" || (pu.Scheme != "http" && pu.Scheme != "https") {
					a.fail(w, 400, "field \"urls\"/\"prefixes\": %q is neither a path nor an http(s) URL", u)
					return
				}
			}
		}
	}
	targets := a.pops
	if len(body.Pops) > 0 {
		for _, p := range body.Pops {
			if !slices.Contains(a.pops, p) {
				a.fail(w, 400, "field \"pops\": unknown PoP %q", p)
				return
			}
		}
		targets = body.Pops
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seq++
	a.purges = append(a.purges, body)
	resp := adminPurged{ID: fmt.Sprintf("purge-%04d", a.seq), Soft: body.Soft, DurationMS: 1}
	for _, pop := range targets {
		n := 0
		kept := a.cache[pop][:0]
		for _, e := range a.cache[pop] {
			if matches(body, e) {
				n++
				if body.Soft {
					e.stale = true
					kept = append(kept, e)
				}
				continue
			}
			kept = append(kept, e)
		}
		a.cache[pop] = kept
		resp.Purged += n
		if pop != a.drop {
			resp.Pops = append(resp.Pops, providers.PopCount{Name: pop, Purged: n})
		}
	}
	writeJSON(w, 200, resp)
}

// matches applies the contract's matching rules.
func matches(b adminPurge, e fakeEntry) bool {
	if b.All {
		return true
	}
	for _, u := range b.URLs {
		pu, _ := url.Parse(u)
		if pu.Path == e.path && pu.RawQuery == e.query && (pu.Host == "" || pu.Host == e.host) {
			return true
		}
	}
	for _, p := range b.Prefixes {
		pu, _ := url.Parse(p)
		if strings.HasPrefix(e.path, pu.Path) && (pu.Host == "" || pu.Host == e.host) {
			return true
		}
	}
	for _, t := range b.Tags {
		if slices.Contains(e.tags, t) {
			return true
		}
	}
	return slices.Contains(b.Hosts, e.host)
}

const adminToken = "t0ken-from-cdnctl-serve"

func newTestLocalPurger(t *testing.T, a *contractAdmin, mutate func(*PurgerConfig)) *Purger {
	t.Helper()
	cfg := PurgerConfig{
		AdminURL: a.srv.URL,
		Token:    adminToken,
		Retry:    providers.Backoff{Base: time.Millisecond, Max: 2 * time.Millisecond},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	p, err := NewPurger(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func runPurge(t *testing.T, p *Purger, req providers.PurgeRequest) (*providers.PurgeRecord, error) {
	t.Helper()
	rec, err := p.Plan(req)
	if err != nil {
		t.Fatalf("Plan(%+v) = %v", req, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return rec, p.Purge(ctx, rec)
}

var cachedSite = []fakeEntry{
	{host: "www.example.test", path: "/index.html", tags: []string{"html"}},
	{host: "www.example.test", path: "/assets/app.js", tags: []string{"js"}},
	{host: "www.example.test", path: "/assets/app.css", tags: []string{"css"}},
	{host: "www.example.test", path: "/img/a.png", query: "w=100"},
	{host: "static.example.test", path: "/index.html"},
	{host: "static.example.test", path: "/fonts/x.woff2"},
}

func TestLocalPurgeEveryKind(t *testing.T) {
	a := newContractAdmin(t, adminToken)
	a.fill(cachedSite...)
	p := newTestLocalPurger(t, a, nil)
	rec, err := runPurge(t, p, providers.PurgeRequest{
		URLs:     []string{"/index.html", "http://www.example.test/img/a.png?w=100", "/img/a.png"},
		Prefixes: []string{"/assets/"},
		Tags:     []string{"nosuchtag"},
		Hosts:    []string{"static.example.test"},
	})
	if err != nil {
		t.Fatalf("Purge = %v", err)
	}
	purges, requests := a.snapshot()
	want := []adminPurge{
		{URLs: []string{"/index.html", "http://www.example.test/img/a.png?w=100", "/img/a.png"}},
		{Prefixes: []string{"/assets/"}},
		{Tags: []string{"nosuchtag"}},
		{Hosts: []string{"static.example.test"}},
	}
	if diff := cmp.Diff(want, purges); diff != "" {
		t.Errorf("purge bodies mismatch (-want +got):\n%s", diff)
	}
	if requests[0] != "GET /api/v1/topology" {
		t.Errorf("first request %q; want the topology", requests[0])
	}
	// Per PoP: the 2 index.html and a.png?w=100, then the 2 assets, no
	// tag, then the remaining static font.
	wantPurged := []int{3 * 4, 2 * 4, 0, 1 * 4}
	for i, b := range rec.Batches {
		if b.Status != providers.PurgeCompleted || b.Purged == nil || *b.Purged != wantPurged[i] || len(b.Pops) != 4 || b.ID == "" {
			t.Errorf("batch %d = %+v; want completed, %d purged on 4 PoPs, with an ID", i, b, wantPurged[i])
		}
	}
	if rec.Status != providers.PurgeCompleted || rec.Target != a.srv.URL {
		t.Errorf("record %s for %s; want completed for %s", rec.Status, rec.Target, a.srv.URL)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, pop := range a.pops {
		if len(a.cache[pop]) != 0 {
			t.Errorf("PoP %s still caches %+v", pop, a.cache[pop])
		}
	}
}

func TestLocalPurgeSoftAllKeysAndPops(t *testing.T) {
	a := newContractAdmin(t, adminToken)
	a.fill(cachedSite...)
	p := newTestLocalPurger(t, a, func(c *PurgerConfig) { c.OriginPath = "/site"; c.Pops = []string{"pop2"} })
	if _, err := runPurge(t, p, providers.PurgeRequest{Keys: []string{"site/index.html", "site/a b.css"}, Soft: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := runPurge(t, p, providers.PurgeRequest{Everything: true}); err != nil {
		t.Fatal(err)
	}
	purges, _ := a.snapshot()
	want := []adminPurge{
		{URLs: []string{"/index.html", "/", "/a%20b.css"}, Soft: true, Pops: []string{"pop2"}},
		{All: true, Pops: []string{"pop2"}},
	}
	if diff := cmp.Diff(want, purges); diff != "" {
		t.Errorf("purge bodies mismatch (-want +got):\n%s", diff)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.cache["pop2"]) != 0 || len(a.cache["pop1"]) != len(cachedSite) {
		t.Errorf("pop2 has %d entries, pop1 %d; want 0 and all %d", len(a.cache["pop2"]), len(a.cache["pop1"]), len(cachedSite))
	}
}

func TestLocalPurgeBatches(t *testing.T) {
	a := newContractAdmin(t, adminToken)
	p := newTestLocalPurger(t, a, func(c *PurgerConfig) { c.BatchSize = 2 })
	rec, err := runPurge(t, p, providers.PurgeRequest{URLs: []string{"/1", "/2", "/3", "/4", "/5", "/3"}})
	if err != nil {
		t.Fatal(err)
	}
	purges, _ := a.snapshot()
	var sizes []int
	for _, b := range purges {
		sizes = append(sizes, len(b.URLs))
	}
	if diff := cmp.Diff([]int{2, 2, 1}, sizes); diff != "" {
		t.Errorf("request sizes mismatch (-want +got):\n%s", diff)
	}
	if len(rec.Batches) != 3 {
		t.Errorf("%d batches; want 3", len(rec.Batches))
	}
}

func TestLocalRefusalsSendNothing(t *testing.T) {
	a := newContractAdmin(t, adminToken)
	p := newTestLocalPurger(t, a, nil)
	for _, tt := range []struct {
		req     providers.PurgeRequest
		wantErr error
	}{
		{providers.PurgeRequest{URLs: []string{"/a"}, Headers: map[string]string{"Accept-Language": "de"}}, providers.ErrNotSupported},
		{providers.PurgeRequest{}, providers.ErrInvalidPurge},
		{providers.PurgeRequest{URLs: []string{"index.html"}}, providers.ErrInvalidPurge},
		{providers.PurgeRequest{Prefixes: []string{"ftp://x/a"}}, providers.ErrInvalidPurge},
		{providers.PurgeRequest{URLs: []string{"/a#frag"}}, providers.ErrInvalidPurge},
		{providers.PurgeRequest{Tags: []string{"a b"}}, providers.ErrInvalidPurge},
		{providers.PurgeRequest{Hosts: []string{"a/b"}}, providers.ErrInvalidPurge},
	} {
		if _, err := p.Plan(tt.req); !errors.Is(err, tt.wantErr) {
			t.Errorf("Plan(%+v) = %v; want %v", tt.req, err, tt.wantErr)
		}
	}
	// An unknown PoP is found from the topology, before any purge.
	q := newTestLocalPurger(t, a, func(c *PurgerConfig) { c.Pops = []string{"pop9"} })
	rec, _ := q.Plan(providers.PurgeRequest{URLs: []string{"/a"}})
	err := q.Purge(context.Background(), rec)
	if err == nil || !strings.Contains(err.Error(), `PoP "pop9" is not in the topology`) || !strings.Contains(err.Error(), "pop1, pop2, pop3, shield") {
		t.Errorf("Purge with pop9 = %v; want an error listing the PoPs", err)
	}
	purges, requests := a.snapshot()
	if len(purges) != 0 || slices.Contains(requests, "POST /api/v1/purge") {
		t.Errorf("requests %q; want no purge", requests)
	}
}

func TestLocalAuthAndErrors(t *testing.T) {
	a := newContractAdmin(t, adminToken)
	p := newTestLocalPurger(t, a, func(c *PurgerConfig) { c.Token = "wrong" })
	rec, _ := p.Plan(providers.PurgeRequest{URLs: []string{"/a"}})
	err := p.Purge(context.Background(), rec)
	if !errors.Is(err, adminclient.ErrUnauthorized) || !strings.Contains(err.Error(), "admin token rejected") || strings.Contains(err.Error(), adminToken) {
		t.Errorf("Purge with a wrong token = %v; want adminclient.ErrUnauthorized, without the token", err)
	}
	if _, requests := a.snapshot(); len(requests) != 1 {
		t.Errorf("a 401 was retried: %q", requests)
	}

	none := newTestLocalPurger(t, a, func(c *PurgerConfig) { c.Token = "" })
	rec, _ = none.Plan(providers.PurgeRequest{URLs: []string{"/a"}})
	if err := none.Purge(context.Background(), rec); err == nil || !strings.Contains(err.Error(), "no admin token") {
		t.Errorf("Purge without a token = %v", err)
	}

	// 503 then OK: retried.
	a.mu.Lock()
	a.faults = []int{503, 500}
	a.mu.Unlock()
	ok := newTestLocalPurger(t, a, nil)
	rec, err = runPurge(t, ok, providers.PurgeRequest{Tags: []string{"css"}})
	if err != nil || rec.Batches[0].Attempts != 3 {
		t.Errorf("Purge after 503, 500 = %v with %d attempts; want success in 3", err, rec.Batches[0].Attempts)
	}

	// A PoP that does not confirm fails the batch, naming it.
	a.mu.Lock()
	a.drop = "pop3"
	a.mu.Unlock()
	rec, err = runPurge(t, ok, providers.PurgeRequest{Tags: []string{"css"}})
	var pe *providers.PurgeError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "not confirmed by PoP pop3") || !slices.Equal(pe.NotPurged, []string{"css"}) {
		t.Errorf("Purge with pop3 silent = %v; want a PurgeError naming pop3 and css", err)
	}
	if rec.Status != providers.PurgeFailed {
		t.Errorf("status %s; want failed", rec.Status)
	}
}

func TestLocalServeNotRunning(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	p, err := NewPurger(PurgerConfig{AdminURL: "http://" + addr, Token: adminToken, Retry: providers.Backoff{Attempts: 2, Base: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := p.Plan(providers.PurgeRequest{URLs: []string{"/a"}})
	err = p.Purge(context.Background(), rec)
	if err == nil || !strings.Contains(err.Error(), "is cdnctl serve running") {
		t.Errorf("Purge with nothing listening = %v; want a hint about cdnctl serve", err)
	}
}

func TestNewPurgerRejectsBadConfig(t *testing.T) {
	for _, cfg := range []PurgerConfig{
		{AdminURL: "127.0.0.1:8099"},
		{AdminURL: "ftp://x"},
		{BatchSize: -1},
		{Pops: []string{""}},
	} {
		if _, err := NewPurger(cfg); err == nil {
			t.Errorf("NewPurger(%+v) = nil error; want one", cfg)
		}
	}
	p, err := NewPurger(PurgerConfig{})
	if err != nil || p.base.String() != DefaultAdminURL {
		t.Errorf("NewPurger(zero) = %v, %v; want the default admin URL", p, err)
	}
}
