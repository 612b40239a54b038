package localedge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// PurgeRequest selects stored responses to purge (contract §2). Targets
// combine: an entry matching any of them is purged.
type PurgeRequest struct {
	// URLs are absolute URLs, matching that URL on its host, or paths
	// ("/about/"), matching the path on every host. Every variant (Vary)
	// of a URL is purged; a query string matches only when given exactly.
	URLs []string `json:"urls,omitempty"`
	// Prefixes are URL or path prefixes ("http://h/assets/", "/assets/").
	Prefixes []string `json:"prefixes,omitempty"`
	// Tags match the Surrogate-Key, Cache-Tag and Edge-Cache-Tag of a
	// stored response.
	Tags []string `json:"tags,omitempty"`
	// Hosts match the request host; without a port, on any port.
	Hosts []string `json:"hosts,omitempty"`
	// All purges everything.
	All bool `json:"all,omitempty"`
	// Soft marks the entries stale instead of deleting them: they are
	// revalidated on next use, served while revalidating during the
	// proxy's SoftPurgeGrace.
	Soft bool `json:"soft,omitempty"`
}

// Empty reports whether the request names no target.
func (r PurgeRequest) Empty() bool {
	return !r.All && len(r.URLs) == 0 && len(r.Prefixes) == 0 && len(r.Tags) == 0 && len(r.Hosts) == 0
}

// ErrEmptyPurge is returned for a purge request with no target.
var ErrEmptyPurge = errors.New("purge: no target: give urls, prefixes, tags, hosts or all")

// PurgeError names the request field that could not be used.
type PurgeError struct {
	Field string // "urls[1]"
	Value string
	Err   error
}

func (e *PurgeError) Error() string {
	return fmt.Sprintf("purge: %s %q: %v", e.Field, truncate(e.Value), e.Err)
}

func (e *PurgeError) Unwrap() error { return e.Err }

// PurgeMatcher is a compiled PurgeRequest: it tells which stored
// responses the request selects.
type PurgeMatcher struct {
	all          bool
	urls         map[string]bool // normalised absolute URLs
	paths        map[string]bool // normalised path?query, any host
	urlPrefixes  []string
	pathPrefixes []string
	tags         map[string]bool
	hosts        map[string]bool // exact host[:port]
	hostNames    map[string]bool // host without port: any port
}

// CompilePurge validates and normalises a purge request with the key
// options, so a URL purged is spelled as the key that stored it.
func (o KeyOptions) CompilePurge(req PurgeRequest) (*PurgeMatcher, error) {
	if req.Empty() {
		return nil, ErrEmptyPurge
	}
	o.Headers = nil
	m := &PurgeMatcher{all: req.All}
	for i, raw := range req.URLs {
		u, isPath, err := o.normalizeTarget(raw, false)
		if err != nil {
			return nil, &PurgeError{Field: fmt.Sprintf("urls[%d]", i), Value: raw, Err: err}
		}
		if isPath {
			m.paths = addTo(m.paths, u)
		} else {
			m.urls = addTo(m.urls, u)
		}
	}
	for i, raw := range req.Prefixes {
		u, isPath, err := o.normalizeTarget(raw, true)
		if err != nil {
			return nil, &PurgeError{Field: fmt.Sprintf("prefixes[%d]", i), Value: raw, Err: err}
		}
		if isPath {
			m.pathPrefixes = append(m.pathPrefixes, u)
		} else {
			m.urlPrefixes = append(m.urlPrefixes, u)
		}
	}
	for i, t := range req.Tags {
		t = strings.TrimSpace(t)
		if t == "" {
			return nil, &PurgeError{Field: fmt.Sprintf("tags[%d]", i), Value: t, Err: errors.New("empty tag")}
		}
		m.tags = addTo(m.tags, t)
	}
	for i, raw := range req.Hosts {
		h, err := normalizeHost("http", strings.TrimSpace(raw))
		if err != nil {
			return nil, &PurgeError{Field: fmt.Sprintf("hosts[%d]", i), Value: raw, Err: err}
		}
		if strings.Contains(strings.TrimPrefix(h, "["), ":") && !strings.HasSuffix(h, "]") {
			m.hosts = addTo(m.hosts, h)
		} else {
			m.hostNames = addTo(m.hostNames, h)
		}
	}
	return m, nil
}

func addTo(m map[string]bool, v string) map[string]bool {
	if m == nil {
		m = make(map[string]bool)
	}
	m[v] = true
	return m
}

// normalizeTarget normalises a purge URL or prefix: an absolute http(s)
// URL, or a path starting with "/". A prefix keeps a trailing "/" and has
// no query normalisation beyond percent-encoding.
func (o KeyOptions) normalizeTarget(raw string, prefix bool) (norm string, isPath bool, err error) {
	raw = strings.TrimSpace(raw)
	switch {
	case raw == "":
		return "", false, errors.New("empty")
	case strings.HasPrefix(raw, "/"):
		path, query, _ := strings.Cut(raw, "?")
		if prefix {
			o.SortQuery, o.IgnoreParams = false, nil
		}
		k, err := o.Build("http", "purge.invalid", path, query, nil)
		if err != nil {
			return "", false, err
		}
		return pathAndQuery(k), true, nil
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return "", false, errors.New("want an absolute http(s) URL or a path starting with /")
	}
	host, path := rest, "/"
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		host, path = rest[:i], rest[i:]
		if path[0] == '?' {
			path = "/" + path
		}
	}
	path, query, _ := strings.Cut(path, "?")
	if prefix {
		o.SortQuery, o.IgnoreParams = false, nil
	}
	k, err := o.Build(scheme, host, path, query, nil)
	if err != nil {
		return "", false, err
	}
	return k.URL, false, nil
}

func pathAndQuery(k CacheKey) string {
	if k.RawQuery == "" {
		return k.Path
	}
	return k.Path + "?" + k.RawQuery
}

// entryPathQuery returns the path and query part of an entry's URL.
func entryPathQuery(e *Entry) string {
	i := strings.Index(e.URL, "://")
	if i < 0 {
		return e.URL
	}
	rest := e.URL[i+3:]
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		return rest[j:]
	}
	return "/"
}

// Matches reports whether the purge selects a stored response.
func (m *PurgeMatcher) Matches(e *Entry) bool {
	if m.all {
		return true
	}
	if m.urlMatch(e.URL, entryPathQuery(e), e.Host) {
		return true
	}
	for _, t := range e.Tags {
		if m.tags[t] {
			return true
		}
	}
	return false
}

func (m *PurgeMatcher) urlMatch(url, pq, host string) bool {
	if m.urls[url] || m.paths[pq] {
		return true
	}
	for _, p := range m.urlPrefixes {
		if strings.HasPrefix(url, p) {
			return true
		}
	}
	for _, p := range m.pathPrefixes {
		if strings.HasPrefix(pq, p) {
			return true
		}
	}
	if m.hosts[host] {
		return true
	}
	if len(m.hostNames) > 0 {
		name := host
		if !strings.HasSuffix(host, "]") {
			if i := strings.LastIndexByte(host, ':'); i >= 0 {
				name = host[:i]
			}
		} else if i := strings.LastIndex(host, "]:"); i >= 0 {
			name = host[:i+1]
		}
		if m.hostNames[name] {
			return true
		}
	}
	return false
}

// MatchesFetch reports whether a response being fetched for k may be
// selected: by its URL, or by tags (unknown until the response head
// arrives).
func (m *PurgeMatcher) MatchesFetch(k CacheKey) bool {
	if m.all || m.urlMatch(k.URL, pathAndQuery(k), k.Host) {
		return true
	}
	return len(m.tags) > 0
}

// onlyURLs reports whether the purge names exact absolute URLs only, which
// can be looked up without scanning the store.
func (m *PurgeMatcher) onlyURLs() bool {
	return !m.all && len(m.paths) == 0 && len(m.urlPrefixes) == 0 && len(m.pathPrefixes) == 0 &&
		len(m.tags) == 0 && len(m.hosts) == 0 && len(m.hostNames) == 0
}

// URLKeys returns the cache keys of a purge that names exact absolute URLs
// only (ok false otherwise): with KeyOptions without Headers, those keys
// are all it can select, so they are looked up instead of scanning a store.
func (m *PurgeMatcher) URLKeys() (keys []string, ok bool) {
	if !m.onlyURLs() {
		return nil, false
	}
	for u := range m.urls {
		keys = append(keys, u)
	}
	return keys, true
}

// MaxTagPurges bounds the tag purges one fill remembers; past it the fill
// counts as purged.
const MaxTagPurges = 1024

// addFill registers a fill about to ask the upstream, so purges from now on
// are recorded on it; removeFill forgets it.
func (p *Proxy) addFill(f *flight) {
	p.purgeMu.Lock()
	p.fills[f] = struct{}{}
	p.purgeMu.Unlock()
}

func (p *Proxy) removeFill(f *flight) {
	p.purgeMu.Lock()
	delete(p.fills, f)
	p.purgeMu.Unlock()
}

// recordPurge notes a purge on every fill under way that it may select
// (with purgeMu held). A purge of other URLs touches no fill, at any rate
// (unsafe methods invalidate their own URL on every response): only a
// purge by tag is kept to compare with the response's tags once known.
// It returns the keys of the fills it noted the purge on: a fill may be
// storing its response at this moment (put checked before the purge was
// noted), so the purge must look at those keys itself, after that store.
func (p *Proxy) recordPurge(m *PurgeMatcher) []string {
	var keys []string
	for f := range p.fills {
		purged, tags := f.purged, len(f.tagPurges)
		f.purged, f.tagPurges = m.OnFill(f.key, f.purged, f.tagPurges)
		if f.purged != purged || len(f.tagPurges) != tags {
			keys = append(keys, f.key.Key)
		}
	}
	return keys
}

// OnFill records the purge on a fill under way for k (a request gone
// upstream before the purge): purged when the purge selects its URL (or
// the fill remembers too many tag purges already), else, for a purge by
// tag, added to tagPurges to compare with the response's tags once known
// (Matches). A purge of other URLs changes nothing.
func (m *PurgeMatcher) OnFill(k CacheKey, purged bool, tagPurges []*PurgeMatcher) (bool, []*PurgeMatcher) {
	switch {
	case purged:
	case m.all || m.urlMatch(k.URL, pathAndQuery(k), k.Host):
		purged = true
	case len(m.tags) > 0:
		if len(tagPurges) >= MaxTagPurges {
			return true, nil
		}
		tagPurges = append(tagPurges, m)
	}
	return purged, tagPurges
}

// purgedSince reports whether a purge since fill f asked the upstream
// selects e, f's response (never for a nil f: an entry made here).
func (p *Proxy) purgedSince(f *flight, e *Entry) bool {
	if f == nil {
		return false
	}
	p.purgeMu.Lock()
	defer p.purgeMu.Unlock()
	if f.purged {
		return true
	}
	for _, m := range f.tagPurges {
		if m.Matches(e) {
			return true
		}
	}
	return false
}

// Purge removes (or, with Soft, marks stale) the stored responses the
// request selects, and keeps responses being fetched when the purge
// started from being stored. It returns the number of stored responses
// (variants) purged. A tag nothing carries purges nothing: not an error.
func (p *Proxy) Purge(ctx context.Context, req PurgeRequest) (int, error) {
	p.init()
	m, err := p.Key.CompilePurge(req)
	if err != nil {
		return 0, err
	}
	if p.IgnorePurges {
		p.log.Warn("purge ignored (IgnorePurges is set)", "pop", p.Name)
		return 0, nil
	}
	p.purgeMu.Lock()
	filling := p.recordPurge(m)
	p.purgeMu.Unlock()

	// New requests must not join a fetch that began before the purge.
	p.flightsMu.Lock()
	for key, f := range p.flights {
		if m.MatchesFetch(f.key) {
			delete(p.flights, key)
		}
	}
	p.flightsMu.Unlock()

	keys, ok := m.URLKeys()
	if !ok || len(p.Key.Headers) > 0 || p.idx.hasSlices() {
		keys = p.idx.match(m)
	}
	// A fill that stored its response just before the purge was noted on
	// it may not be in the index yet (put indexes after it stores): its key
	// is purged too. purgeKey waits for that put (both take the key's
	// lock), so when Purge returns no request can be served the response.
	for _, k := range filling {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	p.large.forget(m)
	now := p.now()
	purged := 0
	for i, key := range keys {
		if i%1024 == 0 && ctx.Err() != nil {
			return purged, ctx.Err()
		}
		n, err := p.purgeKey(ctx, key, m, req.Soft, now)
		purged += n
		if err != nil {
			return purged, fmt.Errorf("purge %s: %w", key, err)
		}
	}
	p.stats.purges.Add(1)
	return purged, nil
}

// Apply applies the purge to one key's variants at now: it returns the
// variants to keep (without those it selects, or with them marked stale
// when soft) and how many it selected. variants is not modified.
func (m *PurgeMatcher) Apply(variants []*Entry, soft bool, now time.Time) (keep []*Entry, n int) {
	keep = make([]*Entry, 0, len(variants))
	for _, e := range variants {
		if !m.Matches(e) {
			keep = append(keep, e)
			continue
		}
		n++
		if soft {
			if e.InvalidatedAt.IsZero() {
				e = e.SoftPurged(now)
			}
			keep = append(keep, e)
		}
	}
	return keep, n
}

// purgeKey applies a purge to one key's variants.
func (p *Proxy) purgeKey(ctx context.Context, key string, m *PurgeMatcher, soft bool, now time.Time) (int, error) {
	unlock := p.keyLock(key)
	defer unlock()
	variants, err := p.store.Get(ctx, key)
	if err != nil || len(variants) == 0 {
		return 0, err
	}
	keep, n := m.Apply(variants, soft, now)
	if n == 0 {
		return 0, nil
	}
	if len(keep) == 0 {
		if err := p.store.Delete(ctx, key); err != nil {
			return 0, err
		}
		p.idx.del(key, nil)
		return n, nil
	}
	if err := p.store.Set(ctx, key, keep); err != nil {
		return 0, err
	}
	p.reindex(ctx, key, keep)
	return n, nil
}
