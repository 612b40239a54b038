package localedge

import (
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Entry is one stored response: a variant of a cache key. A stored Entry is
// never modified (a revalidation or soft purge stores a new one), except
// for its hit counter, so readers need no locks.
type Entry struct {
	Key    string // primary cache key
	URL    string // scheme://host/path?query
	Host   string // normalised host, for purges by host
	Path   string // normalised path, for purges by path and prefix
	Status int    // response status code
	Header http.Header
	// Vary holds the request's values of the fields named by the
	// response's Vary, to select this variant (RFC 9111 §4.1).
	Vary []VaryValue
	// RequestTime and ResponseTime are when the request that produced the
	// response was sent and its answer received (RFC 9111 §4.2.3).
	RequestTime  time.Time
	ResponseTime time.Time
	// StoredAt is when the entry was first stored (kept across
	// revalidations).
	StoredAt time.Time
	// Tags are the surrogate keys of Surrogate-Key, Cache-Tag and
	// Edge-Cache-Tag, for purging by tag.
	Tags []string
	// InvalidatedAt is when a soft purge marked the entry stale (zero:
	// never).
	InvalidatedAt time.Time

	// hits is updated by every hit: on its own cache line, away from the
	// fields all cores read.
	_    [64]byte
	hits atomic.Int64
	_    [56]byte

	// The body: in memory (mem), or in a DiskStore file (disk); neither
	// while it is still arriving (the entry of a flight).
	mem  *memBody
	disk *diskBody
	// notKept is the length of a body a cache only accounts (SetDerived).
	notKept int64

	// Derived by prepare from the fields above and the proxy's policy.
	directives  ResponseDirectives
	lifetime    time.Duration
	heuristic   bool
	initialAge  time.Duration
	variant     string
	size        int64       // bytes accounted to the store
	out         http.Header // the header sent to clients, before Age and Cache-Status
	upstreamCS  []string    // Cache-Status entries of the caches upstream
	hasNoCacheF bool
	prepared    bool

	// hitHdr caches the Age and Cache-Status values of plain hits for the
	// current second of age, so most hits allocate no header values.
	hitHdr atomic.Pointer[hitHeaders]
}

type hitHeaders struct {
	age, ttl int64 // whole seconds the values were made for
	ageV     []string
	statusV  []string
}

// BodyLen is the length of the stored body (0 while it is arriving).
func (e *Entry) BodyLen() int64 {
	switch {
	case e.mem != nil:
		return e.mem.size
	case e.disk != nil:
		return e.disk.size
	}
	return e.notKept // 0 while it arrives; its size when not kept (SetDerived)
}

// open makes the body ready to be written. A body in memory is marked in
// use until the returned body is closed.
func (e *Entry) open() (openBody, error) {
	switch {
	case e.mem != nil:
		e.mem.ref(0, 1)
		return openBody{mem: e.mem, size: e.mem.size}, nil
	case e.disk != nil:
		return e.disk.open()
	}
	return openBody{}, nil
}

// complete reports whether the entry holds its whole body.
func (e *Entry) complete() bool { return e.mem != nil || e.disk != nil }

// Hits returns how many times the entry was served from the cache.
func (e *Entry) Hits() int64 { return e.hits.Load() }

// Size is the number of bytes the entry takes in a store: body, header,
// key and a fixed overhead for the structures that hold them.
func (e *Entry) Size() int64 {
	if e.size > 0 {
		return e.size
	}
	return entrySize(e)
}

const entryOverhead = 512

func entrySize(e *Entry) int64 {
	n := e.BodyLen() + int64(len(e.Key)+len(e.URL)+entryOverhead)
	for k, vs := range e.Header {
		n += int64(len(k)) + 16
		for _, v := range vs {
			n += int64(len(v)) + 16
		}
	}
	for _, v := range e.Vary {
		n += int64(len(v.Name) + len(v.Value) + 32)
	}
	for _, t := range e.Tags {
		n += int64(len(t) + 16)
	}
	// The client header template roughly doubles the header bytes.
	return n + int64(len(e.Header))*48
}

// Age is the entry's current age at now (RFC 9111 §4.2.3).
func (e *Entry) Age(now time.Time) time.Duration {
	return CurrentAge(e.initialAge, e.ResponseTime, now)
}

// FreshnessLifetime is the entry's freshness lifetime (RFC 9111 §4.2.1).
func (e *Entry) FreshnessLifetime() time.Duration { return e.lifetime }

// TTL is the freshness left at now: negative once stale. A soft-purged
// entry is stale from the moment it was purged.
func (e *Entry) TTL(now time.Time) time.Duration {
	ttl := e.lifetime - e.Age(now)
	if !e.InvalidatedAt.IsZero() {
		if since := now.Sub(e.InvalidatedAt); -since < ttl {
			ttl = -since
		}
		if ttl > 0 {
			ttl = 0
		}
	}
	return ttl
}

// Stale reports whether the entry is stale at now.
func (e *Entry) Stale(now time.Time) bool { return e.TTL(now) <= 0 }

// clone returns a copy of e without its derived fields and with a fresh
// hit counter carrying e's hits.
func (e *Entry) clone() *Entry {
	c := &Entry{
		Key: e.Key, URL: e.URL, Host: e.Host, Path: e.Path, Status: e.Status,
		Header: e.Header, Vary: e.Vary,
		RequestTime: e.RequestTime, ResponseTime: e.ResponseTime, StoredAt: e.StoredAt,
		Tags: e.Tags, InvalidatedAt: e.InvalidatedAt,
		mem: e.mem, disk: e.disk, notKept: e.notKept,
	}
	c.hits.Store(e.hits.Load())
	return c
}

// onDisk returns a copy of a prepared entry (derived fields included)
// whose body is the DiskStore file d: what a DiskStore keeps in memory.
func (e *Entry) onDisk(d *diskBody) *Entry {
	c := e.clone()
	c.mem, c.disk = nil, d
	c.copyDerived(e)
	return c
}

// SoftPurged returns a copy of a prepared entry marked stale from at (a
// soft purge, PurgeRequest.Soft), its derived fields kept: they do not
// depend on InvalidatedAt.
func (e *Entry) SoftPurged(at time.Time) *Entry {
	c := e.clone()
	c.InvalidatedAt = at
	c.copyDerived(e)
	return c
}

func (e *Entry) copyDerived(src *Entry) {
	e.directives, e.lifetime, e.heuristic, e.initialAge = src.directives, src.lifetime, src.heuristic, src.initialAge
	e.variant, e.size, e.out, e.upstreamCS = src.variant, src.size, src.out, src.upstreamCS
	e.hasNoCacheF, e.prepared = src.hasNoCacheF, src.prepared
}

// Derived are the values a cache derives from a stored response's header
// for its decisions. Proxy.prepare parses them from each entry's header; a
// cache whose entries share a few headers (the simulator's) parses each
// header once and gives them to SetDerived.
type Derived struct {
	// Directives are the header's SelectDirectives.
	Directives ResponseDirectives
	// Lifetime and Heuristic are its FreshnessLifetime.
	Lifetime  time.Duration
	Heuristic bool
	// InitialAge is its CorrectedInitialAge (or InitialAge).
	InitialAge time.Duration
}

// SetDerived gives an entry that Proxy.prepare did not prepare its derived
// values, and the length of a body that is not kept: an entry of a cache
// that only accounts sizes, such as a simulation's. Such an entry
// is selected (SelectVariant), decided on (Decide), purged (PurgeMatcher,
// SoftPurged), replaced (AddVariant) and weighed (Size) like any other, but
// cannot be served over HTTP. Call it before the entry is shared.
func (e *Entry) SetDerived(d Derived, bodyLen int64) {
	e.directives, e.lifetime, e.heuristic, e.initialAge = d.Directives, d.Lifetime, d.Heuristic, d.InitialAge
	e.hasNoCacheF = len(d.Directives.NoCacheFields) > 0
	e.variant = variantID(e.Vary)
	if e.mem == nil && e.disk == nil {
		e.notKept = bodyLen
	}
	e.size = entrySize(e)
	e.prepared = true
}

// ParseTags collects the tags of a response, without duplicates.
func ParseTags(h http.Header) []string {
	var tags []string
	add := func(t string) {
		t = strings.TrimSpace(t)
		if t == "" {
			return
		}
		for _, x := range tags {
			if x == t {
				return
			}
		}
		tags = append(tags, t)
	}
	for _, v := range h["Surrogate-Key"] {
		for _, t := range strings.Fields(v) {
			add(t)
		}
	}
	for _, name := range []string{"Cache-Tag", "Edge-Cache-Tag"} {
		for _, v := range h[name] {
			for _, t := range strings.Split(v, ",") {
				add(t)
			}
		}
	}
	return tags
}

// hopByHop are the connection-specific fields a proxy never forwards or
// stores (RFC 9110 §7.6.1), plus the obsolete ones proxies also drop.
var hopByHop = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// removeHopByHop deletes hop-by-hop fields and those named by Connection.
func removeHopByHop(h http.Header) {
	for _, v := range h["Connection"] {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				h.Del(f)
			}
		}
	}
	for _, f := range hopByHop {
		delete(h, f)
	}
}

func formatSeconds(d time.Duration) string {
	return strconv.FormatInt(int64(d/time.Second), 10)
}
