// Package localedge is cdnctl's local CDN: an RFC 9111 shared caching
// reverse proxy (Proxy) with in-memory and disk stores, tiers (edge →
// shield → origin), purges by URL, prefix, tag, host or everything, an
// admin API, and a Topology that runs several PoPs on loopback addresses
// for `cdnctl serve`.
//
// The caching rules are pure functions over http.Header and time.Time
// (freshness.go, directives.go, targeted.go, vary.go, conditional.go); the
// Proxy applies them to real traffic.
package localedge

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cdnctl/cdnctl/localedge/edgecompress"
	"github.com/cdnctl/cdnctl/localedge/edgerules"
	"github.com/cdnctl/cdnctl/localedge/ratelimit"
)

// Roles of a Proxy in a topology.
const (
	RoleEdge   = "edge"
	RoleShield = "shield"
)

// HealthPath is answered by every Proxy itself, never cached or forwarded
// (contract: edge health endpoint).
const HealthPath = "/.cdnctl/health"

// Defaults of the Proxy's optional fields.
const (
	DefaultMaxObjectSize   = 8 << 20
	DefaultUpstreamTimeout = 30 * time.Second
	DefaultFetchTimeout    = 5 * time.Minute
	DefaultSoftPurgeGrace  = 10 * time.Second
	// DefaultStaleIfError is the grace `cdnctl serve` gives its caches
	// (Varnish's default grace): a stale response is served for this long
	// when the upstream is down or answers 5xx, as RFC 9111 §4.2.4 allows
	// a disconnected cache unless must-revalidate, proxy-revalidate,
	// no-cache or s-maxage forbid it. A Proxy's own default is 0.
	DefaultStaleIfError = 10 * time.Second
	maxVariants         = 32
	// maxRequestFields bounds the field lines of a request: more are
	// refused with 431 whatever the server's byte limit.
	maxRequestFields = 256
)

// Proxy is a shared HTTP cache in front of one upstream (the origin or a
// shield). Like httputil.ReverseProxy it is configured by its fields, each
// nil or zero field having a documented default, and must not be changed
// after its first request.
type Proxy struct {
	// Name identifies this cache in Cache-Status, Via and X-Served-By
	// ("pop1"). Default "localedge".
	Name string
	// Role is RoleEdge (default: the tier closest to clients, which strips
	// the tag and Surrogate-Control fields meant for the CDN) or RoleShield.
	Role string
	// Upstream is where requests the cache cannot answer go: the origin or
	// a shield. Required.
	Upstream *url.URL
	// Transport makes upstream requests. Default: an http.Transport with
	// UpstreamTimeout for connecting and for response headers, and no
	// transparent decompression.
	Transport http.RoundTripper
	// Store holds responses. Default: NewMemoryStore(DefaultMemoryCapacity).
	Store Store
	// Now is the clock of freshness calculations. Default time.Now.
	Now func() time.Time
	// Logger receives errors and background events. Default: discard.
	Logger *slog.Logger
	// AccessLog, when set, receives one record per request with its cache
	// status.
	AccessLog *slog.Logger
	// Key configures the cache key.
	Key KeyOptions
	// MaxObjectSize is the largest body stored; larger responses pass
	// through uncached. Default DefaultMaxObjectSize.
	MaxObjectSize int64
	// FillBudget bounds the response bodies held in memory outside the
	// store: fills being stored, and stored bodies larger than 64 KiB
	// that clients are still receiving after the store let them go
	// (evicted, purged or replaced). A response that does not fit passes
	// through without being stored (Cache-Status detail fill-budget),
	// buffering at most 32 KiB ahead of its slowest client. Default:
	// DefaultFillBudget.
	FillBudget int64
	// SliceSize is the size of the slices objects larger than
	// MaxObjectSize are fetched, stored and served in (see slice.go):
	// ranges of them cost the slices they cover. Default
	// DefaultSliceSize, at most MaxObjectSize; negative: such objects
	// pass through whole.
	SliceSize int64
	// IdleSendTimeout disconnects a client that accepts no part of a
	// response for this long (Varnish's idle_send_timeout, nginx's
	// send_timeout). Default DefaultIdleSendTimeout; negative: never.
	IdleSendTimeout time.Duration
	// SendTimeout disconnects a client that has not received a whole
	// response after this long (Varnish's send_timeout). Default
	// DefaultSendTimeout; negative: never.
	SendTimeout time.Duration
	// Heuristic configures heuristic freshness (RFC 9111 §4.2.2).
	Heuristic Heuristic
	// TargetedFields are the targeted cache-control fields honoured, in
	// precedence order (RFC 9213). Default: CDN-Cache-Control,
	// Surrogate-Control.
	TargetedFields []string
	// SoftPurgeGrace is how long a soft-purged entry is still served
	// while it is revalidated in the background. Default
	// DefaultSoftPurgeGrace; negative: never.
	SoftPurgeGrace time.Duration
	// StaleIfError lets stale responses without a stale-if-error directive
	// be served for this long when the upstream fails (like Varnish's
	// grace). Default 0: only as the response allows.
	StaleIfError time.Duration
	// StaleTimeout is how long a request waits for the upstream before it
	// is served a stale response that stale-if-error (or StaleIfError)
	// allows, rather than only once the upstream has failed: a hung
	// upstream costs clients at most this (see serveStaleOnTimeout).
	// Default DefaultStaleTimeout; negative: wait for the upstream.
	StaleTimeout time.Duration
	// UpstreamTimeout bounds connecting, waiting for response headers and
	// each pause in a response body. Default DefaultUpstreamTimeout.
	UpstreamTimeout time.Duration
	// FetchTimeout bounds a whole upstream exchange. Default
	// DefaultFetchTimeout.
	FetchTimeout time.Duration
	// Delay is added before each upstream request: a simulated network
	// distance to the shield or origin.
	Delay time.Duration
	// IgnoreRequestCacheControl makes the cache ignore the request
	// directives of clients (as CDNs usually do); by default max-age,
	// max-stale, min-fresh, no-cache, only-if-cached and stale-if-error
	// are honoured (RFC 9111 §5.2.1).
	IgnoreRequestCacheControl bool
	// CookiePaths are path prefixes ("/assets/") under which responses to
	// requests with a Cookie field are stored by the ordinary rules, as
	// nginx does everywhere. Elsewhere such a response is stored only when
	// the origin marks it for shared caches (public, s-maxage,
	// CDN-Cache-Control, Surrogate-Control): a page rendered for a logged-in
	// user is never served to another. A response that sets a cookie is
	// never stored, here or anywhere.
	CookiePaths []string
	// TrustForwarded keeps the X-Forwarded-For, -Proto and -Host fields a
	// client sends, which edges set (for a shield whose clients are
	// edges); by default they are replaced. With EdgeSecret set, only
	// requests carrying it are trusted. Other forwarding and override
	// fields (Forwarded, X-Original-URL, X-HTTP-Method-Override, …; see
	// untrustedField) are removed from every request.
	TrustForwarded bool
	// EdgeSecret is the secret of a topology's tiers: an edge sends it to
	// its upstream in the Cdnctl-Edge-Secret field, and a shield with
	// TrustForwarded trusts only the requests that carry it, so a client
	// that reaches the shield directly is treated as an edge treats its
	// clients. It is never forwarded further: set it on an edge only when
	// its upstream is a shield.
	EdgeSecret string
	// KeepAcceptLanguage leaves the Accept-Language of cache fills as
	// clients send it; by default it is normalised (NormalizeAcceptLanguage)
	// before going upstream and before comparing with stored variants, so
	// Vary: Accept-Language does not split the cache by spelling.
	KeepAcceptLanguage bool
	// KeepAcceptEncoding leaves the Accept-Encoding of GET and HEAD
	// requests as clients send it; by default it is reduced to the
	// acceptable codings among br, zstd and gzip in a canonical form (see
	// NormalizeAcceptEncoding), so Vary: Accept-Encoding does not split
	// the cache by browser.
	KeepAcceptEncoding bool
	// Compress, when set, compresses eligible responses of cache fills
	// (see compress.go and package edgecompress): each coding a stored
	// variant under Vary: Accept-Encoding. Default: no compression.
	Compress *edgecompress.Compressor
	// MaxUpgraded bounds the connections switched to another protocol
	// (WebSockets, see upgrade.go) open at once; more are refused with
	// 503. Default DefaultMaxUpgraded; negative: no bound.
	MaxUpgraded int
	// UpgradeIdleTimeout closes an upgraded connection when no byte has
	// passed either way for this long. Default DefaultUpgradeIdleTimeout.
	UpgradeIdleTimeout time.Duration
	// KeepTagHeaders stops an edge from removing Surrogate-Key, Cache-Tag,
	// Edge-Cache-Tag and Surrogate-Control from responses.
	KeepTagHeaders bool
	// Rules are the edge rules applied to each request before its cache
	// key is computed (header changes, redirects, rewrites, fixed
	// responses: see package edgerules). Nil: none. Only edges should
	// have rules: a shield's requests come from edges that applied them.
	Rules *edgerules.Rules
	// RateLimit, when set, limits each client's request rate (package
	// ratelimit): requests over it get 429 with Retry-After. Only edges
	// should have one: a shield's clients are the edges.
	RateLimit *ratelimit.Limiter
	// ESI, when set, makes an edge process Edge Side Includes (see
	// ESIOptions). Nil: off; an edge then removes the Surrogate-Capability
	// field of clients and leaves ESI markup as it is.
	ESI *ESIOptions
	// IgnorePurges makes Purge succeed without purging anything: a test
	// knob that simulates a PoP whose purges get lost, for the tests of
	// what verifies deploys. Never set it in production.
	IgnorePurges bool

	initOnce  sync.Once
	now       func() time.Time
	store     Store
	log       *slog.Logger
	rt        http.RoundTripper
	targeted  []string
	maxObj    int64
	budget    *fillBudget
	sliceSize int64        // 0: no slices
	large     largeObjects // objects too large to store whole
	via       string       // "1.1 pop1"
	baseCtx   context.Context
	cancel    context.CancelFunc
	bg        sync.WaitGroup

	flightsMu sync.Mutex
	flights   map[string]*flight // guarded by flightsMu

	idx *index // listing and purge index of the store's keys

	// uncacheable maps keys whose last response could not be stored to
	// when that stops mattering (time.Time): hit-for-miss.
	uncacheable      sync.Map
	uncacheableMarks atomic.Int64

	keyLocks [64]sync.Mutex // serialise read-modify-write of one key's variants

	purgeMu  sync.Mutex
	fills    map[*flight]struct{} // fills asking the upstream, guarded by purgeMu
	down     atomic.Bool          // marked down by the admin API
	draining atomic.Bool

	stats    counters
	upgrades upgrades
}

func (p *Proxy) init() {
	p.initOnce.Do(func() {
		p.now = p.Now
		if p.now == nil {
			p.now = time.Now
		}
		p.store = p.Store
		if p.store == nil {
			p.store = NewMemoryStore(0)
		}
		p.log = p.Logger
		if p.log == nil {
			p.log = slog.New(slog.DiscardHandler)
		}
		if p.Name == "" {
			p.Name = "localedge"
		}
		if p.Role == "" {
			p.Role = RoleEdge
		}
		p.targeted = p.TargetedFields
		if p.targeted == nil {
			p.targeted = defaultTargetedFields
		}
		p.maxObj = p.MaxObjectSize
		if p.maxObj <= 0 {
			p.maxObj = DefaultMaxObjectSize
		}
		p.budget = &fillBudget{limit: p.FillBudget}
		if p.budget.limit <= 0 {
			p.budget.limit = DefaultFillBudget(p.maxObj, memoryCapacity(p.store))
		}
		switch {
		case p.SliceSize == 0:
			p.sliceSize = min(DefaultSliceSize, p.maxObj)
		case p.SliceSize > 0:
			p.sliceSize = min(p.SliceSize, p.maxObj)
		}
		if p.IdleSendTimeout == 0 {
			p.IdleSendTimeout = DefaultIdleSendTimeout
		}
		if p.SendTimeout == 0 {
			p.SendTimeout = DefaultSendTimeout
		}
		if p.UpstreamTimeout <= 0 {
			p.UpstreamTimeout = DefaultUpstreamTimeout
		}
		if p.FetchTimeout <= 0 {
			p.FetchTimeout = DefaultFetchTimeout
		}
		if p.SoftPurgeGrace == 0 {
			p.SoftPurgeGrace = DefaultSoftPurgeGrace
		}
		p.rt = p.Transport
		if p.rt == nil {
			p.rt = newTransport(p.UpstreamTimeout)
		}
		p.via = "1.1 " + p.Name
		p.baseCtx, p.cancel = context.WithCancel(context.Background())
		p.flights = make(map[string]*flight)
		p.fills = make(map[*flight]struct{})
		p.idx = newIndex()
		if n, ok := p.store.(evictionNotifier); ok {
			n.NotifyEvictions(func(key string, variants []*Entry) {
				unlock := p.keyLock(key)
				p.idx.del(key, variants)
				unlock()
			})
		}
		if err := p.idx.rebuild(p.baseCtx, p.store, p.prepare); err != nil {
			p.log.Warn("cache index rebuild failed", "pop", p.Name, "err", err)
		}
	})
}

// DefaultFillBudget is the fill budget of a proxy whose FillBudget is 0:
// an eighth of the capacity of its memory store (memoryCapacity; 0 for a
// disk store), and at least the largest object stored, so that one can
// always be filled.
func DefaultFillBudget(maxObjectSize, memoryCapacity int64) int64 {
	if maxObjectSize <= 0 {
		maxObjectSize = DefaultMaxObjectSize
	}
	return max(maxObjectSize, memoryCapacity/8)
}

// memoryCapacity is the capacity of a MemoryStore (0 for other stores).
func memoryCapacity(s Store) int64 {
	if m, ok := s.(*MemoryStore); ok {
		return m.capacity
	}
	return 0
}

// newTransport is the default upstream transport: keep-alive pools sized
// for a proxy, bounded waits, and no transparent gzip (the cache stores
// exactly what the upstream sent).
func newTransport(timeout time.Duration) *http.Transport {
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:           1024,
		MaxIdleConnsPerHost:    256,
		IdleConnTimeout:        90 * time.Second,
		ResponseHeaderTimeout:  timeout,
		ExpectContinueTimeout:  time.Second,
		DisableCompression:     true,
		MaxResponseHeaderBytes: 256 << 10,
	}
}

// Close stops background revalidations and waits for them. It does not
// close the Store.
func (p *Proxy) Close() error {
	p.init()
	p.cancel()
	p.bg.Wait()
	if t, ok := p.rt.(*http.Transport); ok && p.Transport == nil {
		t.CloseIdleConnections()
	}
	return nil
}

// StoreOf returns the store the proxy uses (its default one when Store
// was nil).
func (p *Proxy) StoreOf() Store {
	p.init()
	return p.store
}

// outcome is what a request handler reports for stats and the access log.
type outcome struct {
	status int
	bytes  int64
	cs     CacheStatus
}

// ServeHTTP answers a request from the cache or through the upstream.
func (p *Proxy) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	p.init()
	w := p.newSendWriter(rw)
	defer w.release()
	if r.URL.Path == HealthPath {
		p.serveHealth(w, r)
		return
	}
	var start time.Time
	if p.AccessLog != nil {
		start = time.Now()
	}
	p.stats.requests.Add(1)
	var out outcome
	if len(r.TransferEncoding) > 0 {
		// A body with a transfer coding: the request may also have had a
		// Content-Length, which Go's server removes without saying so,
		// and RFC 9112 §6.1 then requires closing the connection after
		// the response (a smuggling defence).
		w.Header()["Connection"] = []string{"close"}
	}
	upgrade := upgradeOf(r) // before screening removes Upgrade, a hop-by-hop field
	lines, trusted := p.screenRequest(r.Header)
	switch {
	case p.RateLimit != nil && p.overRateLimit(w, r, &out):
	case lines > maxRequestFields:
		out = p.errorResponse(w, http.StatusRequestHeaderFieldsTooLarge, "more than 256 request header fields", FwdBypass, "too-many-fields")
	case p.loops(r):
		out = p.errorResponse(w, http.StatusLoopDetected, "request loops through "+p.Name, FwdBypass, "loop")
	default:
		if p.Role == RoleEdge {
			p.setSurrogateCapability(r.Header)
		}
		var rw http.ResponseWriter = w
		if p.Rules != nil {
			var answered bool
			if r, rw, out, answered = p.applyRules(w, r); answered {
				break
			}
		}
		if p.ESI != nil && p.Role == RoleEdge && upgrade == "" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			out = p.serveESI(rw, r, trusted)
			break
		}
		out = p.serveRequest(rw, r, trusted, upgrade)
	}
	p.stats.bytesServed.Add(out.bytes)
	if p.AccessLog != nil {
		p.logAccess(r, out, time.Since(start))
	}
}

// serveRequest answers a screened request from the cache or upstream;
// trusted says the request came from one of this topology's edges, whose
// forwarded scheme is then part of the key; upgrade is the protocols it
// asks to switch to (upgradeOf), passed through to the upstream.
func (p *Proxy) serveRequest(w http.ResponseWriter, r *http.Request, trusted bool, upgrade string) outcome {
	k, err := p.Key.KeyFor(r)
	if s, ok := forwardedScheme(r.Header); err == nil && trusted && ok && s != k.Scheme {
		k, err = p.Key.Build(s, k.Host, k.Path, k.RawQuery, r.Header)
	}
	if err != nil {
		return p.errorResponse(w, http.StatusBadRequest, err.Error(), FwdBypass, "bad-request")
	}
	switch {
	case upgrade != "":
		return p.serveUpgrade(w, r, k, upgrade)
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		return p.serveCacheable(w, r, k)
	default:
		return p.serveUncacheable(w, r, k)
	}
}

func (p *Proxy) logAccess(r *http.Request, out outcome, d time.Duration) {
	verdict := "MISS"
	if out.cs.Hit {
		verdict = "HIT"
	}
	p.AccessLog.LogAttrs(r.Context(), slog.LevelInfo, "request",
		slog.String("pop", p.Name),
		slog.String("client", r.RemoteAddr),
		slog.String("method", r.Method),
		slog.String("host", r.Host),
		slog.String("uri", r.RequestURI),
		slog.Int("status", out.status),
		slog.Int64("bytes", out.bytes),
		slog.String("cache", verdict),
		slog.String("cache_status", out.cs.String()),
		slog.Duration("duration", d),
	)
}

// loops reports whether the request already passed through this cache
// (its pseudonym is in Via), which would make it loop forever.
func (p *Proxy) loops(r *http.Request) bool {
	for _, v := range r.Header["Via"] {
		for _, hop := range strings.Split(v, ",") {
			if strings.TrimSpace(hop) == p.via {
				return true
			}
		}
	}
	return false
}

// errorResponse writes a short plain-text error generated by the cache.
func (p *Proxy) errorResponse(w http.ResponseWriter, status int, msg, fwd, detail string) outcome {
	cs := CacheStatus{Cache: p.Name, Fwd: fwd, Detail: detail}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Cache-Status", cs.String())
	h.Set("X-Cache", "MISS")
	h.Set("X-Served-By", p.Name)
	body := http.StatusText(status) + ": " + msg + "\n"
	w.WriteHeader(status)
	n, _ := w.Write([]byte(body))
	return outcome{status: status, bytes: int64(n), cs: cs}
}

// upstreamError maps a failed upstream exchange to a status code and a
// Cache-Status detail.
func upstreamError(err error) (int, string) {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return http.StatusGatewayTimeout, "upstream-timeout"
	}
	return http.StatusBadGateway, "upstream-error"
}
