package localedge

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// EntryQuery selects, orders and pages the entries of one or more caches
// (contract §2, GET /api/v1/entries).
type EntryQuery struct {
	// Filter is space-separated terms, all of which must match: a bare
	// word is a case-insensitive substring of the key; tag:T, status:200
	// (or status:4xx), host:H and stale:true|false match those fields.
	Filter string
	// Sort is key (default), size, age, ttl, hits or status.
	Sort string
	// Desc reverses the order.
	Desc   bool
	Offset int
	// Limit is the page size: DefaultEntryLimit when 0, at most
	// MaxEntryLimit.
	Limit int
}

// Page sizes of entry listings.
const (
	DefaultEntryLimit = 100
	MaxEntryLimit     = 1000
)

// EntryInfo describes one cached key (all its variants) in a listing.
type EntryInfo struct {
	Pop      string    `json:"pop"`
	Key      string    `json:"key"`
	URL      string    `json:"url"`
	Host     string    `json:"host"`
	Path     string    `json:"path"`
	Status   int       `json:"status"`
	Size     int64     `json:"size"`
	AgeS     int64     `json:"age_s"`
	TTLS     int64     `json:"ttl_s"`
	Stale    bool      `json:"stale"`
	Tags     []string  `json:"tags"`
	Hits     int64     `json:"hits"`
	Variants int       `json:"variants"`
	StoredAt time.Time `json:"stored_at"`
}

// EntryPage is one page of a listing.
type EntryPage struct {
	Total   int         `json:"total"`
	Offset  int         `json:"offset"`
	Limit   int         `json:"limit"`
	Entries []EntryInfo `json:"entries"`
}

// entryFilter is a compiled EntryQuery.Filter.
type entryFilter struct {
	words    []string
	tags     []string
	statuses []int // exact, or 1..5 for a class (4xx)
	hosts    []string
	stale    *bool
}

// parseEntryFilter compiles a filter; an unknown field or a malformed
// value is an error naming the term.
func parseEntryFilter(q string) (*entryFilter, error) {
	f := &entryFilter{}
	for _, term := range strings.Fields(q) {
		field, value, ok := strings.Cut(term, ":")
		if !ok {
			f.words = append(f.words, term)
			continue
		}
		if value == "" {
			return nil, fmt.Errorf("filter %q: empty value", term)
		}
		switch field {
		case "tag":
			f.tags = append(f.tags, value)
		case "host":
			f.hosts = append(f.hosts, strings.ToLower(value))
		case "status":
			if len(value) == 3 && value[1:] == "xx" && value[0] >= '1' && value[0] <= '5' {
				f.statuses = append(f.statuses, int(value[0]-'0'))
				break
			}
			n, err := strconv.Atoi(value)
			if err != nil || n < 100 || n > 599 {
				return nil, fmt.Errorf("filter %q: want a status code such as 200 or 4xx", term)
			}
			f.statuses = append(f.statuses, n)
		case "stale":
			b, err := strconv.ParseBool(value)
			if err != nil {
				return nil, fmt.Errorf("filter %q: want stale:true or stale:false", term)
			}
			f.stale = &b
		default:
			// A URL such as http://h/x is a word, not a field.
			if strings.HasPrefix(value, "//") {
				f.words = append(f.words, term)
				continue
			}
			return nil, fmt.Errorf("filter %q: unknown field %q (want tag:, status:, host:, stale: or a word)", term, field)
		}
	}
	return f, nil
}

func (f *entryFilter) empty() bool {
	return len(f.words) == 0 && len(f.tags) == 0 && len(f.statuses) == 0 && len(f.hosts) == 0 && f.stale == nil
}

// match tests an index row (tags: any variant).
func (f *entryFilter) match(r *indexRow, stale bool) bool {
	for _, want := range f.statuses {
		if want < 10 {
			if int(r.status)/100 != want {
				return false
			}
		} else if int(r.status) != want {
			return false
		}
	}
	for _, h := range f.hosts {
		if r.host != h && !strings.HasPrefix(r.host, h+":") {
			return false
		}
	}
	if f.stale != nil && *f.stale != stale {
		return false
	}
	for _, t := range f.tags {
		if !containsString(r.tags, t) {
			return false
		}
	}
	for _, w := range f.words {
		if !containsFold(r.key, w) {
			return false
		}
	}
	return true
}

// containsFold reports whether substr is in s, ignoring ASCII case,
// without allocating.
func containsFold(s, substr string) bool {
	n := len(substr)
	if n == 0 {
		return true
	}
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for ; j < n; j++ {
			a, b := s[i+j], substr[j]
			if a >= 'A' && a <= 'Z' {
				a += 'a' - 'A'
			}
			if b >= 'A' && b <= 'Z' {
				b += 'a' - 'A'
			}
			if a != b {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}

// entryRow is one key in a listing before paging: the sort value and
// what is needed to describe the key.
type entryRow struct {
	pop   string
	val   int64 // the sort field's value (not used when sorting by key)
	tie   int64 // PoP and index position: a cheap, stable tie-break
	key   string
	row   indexRow
	age   int64
	ttl   int64
	stale bool
}

func sumHits(variants []*Entry) int64 {
	var n int64
	for _, e := range variants {
		n += e.hits.Load()
	}
	return n
}

// ListEntries lists the entries of the given proxies as one filtered,
// sorted, paged list. It scans each proxy's compact index once: by key, in
// the index's maintained key order (a k-way merge across proxies); by
// another field, keeping only the best offset+limit rows in a bounded
// heap. A page of a 100k-entry cache costs one pass over a dense array.
func ListEntries(ctx context.Context, proxies []*Proxy, q EntryQuery) (EntryPage, error) {
	f, err := parseEntryFilter(q.Filter)
	if err != nil {
		return EntryPage{}, err
	}
	value, err := sortValue(q.Sort)
	if err != nil {
		return EntryPage{}, err
	}
	limit := q.Limit
	switch {
	case limit <= 0:
		limit = DefaultEntryLimit
	case limit > MaxEntryLimit:
		limit = MaxEntryLimit
	}
	offset := max(q.Offset, 0)
	for _, p := range proxies {
		p.init()
	}
	// Proxies in name order: the tie-break between equal keys.
	proxies = slices.Clone(proxies)
	slices.SortFunc(proxies, func(a, b *Proxy) int { return strings.Compare(a.Name, b.Name) })

	var rows []entryRow
	var total int
	if value == nil {
		rows, total = listByKey(proxies, f, q.Desc, offset, limit)
	} else {
		rows, total = listByValue(proxies, f, value, q.Desc, offset, limit)
	}
	page := EntryPage{Total: total, Offset: offset, Limit: limit, Entries: make([]EntryInfo, 0, len(rows))}
	for i := range rows {
		page.Entries = append(page.Entries, rows[i].info())
	}
	return page, ctx.Err()
}

// sortValue returns the numeric sort field of a row, or nil for key order.
func sortValue(field string) (func(r *indexRow, age, ttl int64) int64, error) {
	switch field {
	case "", "key":
		return nil, nil
	case "size":
		return func(r *indexRow, _, _ int64) int64 { return r.size }, nil
	case "age":
		return func(_ *indexRow, age, _ int64) int64 { return age }, nil
	case "ttl":
		return func(_ *indexRow, _, ttl int64) int64 { return ttl }, nil
	case "hits":
		return func(r *indexRow, _, _ int64) int64 { return sumHits(r.variants) }, nil
	case "status":
		return func(r *indexRow, _, _ int64) int64 { return int64(r.status) }, nil
	}
	return nil, fmt.Errorf("sort %q: want key, size, age, ttl, hits or status", field)
}

// cursor walks one proxy's index in key order, yielding the rows a filter
// selects.
type cursor struct {
	p     *Proxy
	ix    *index
	now   int64
	f     *entryFilter
	desc  bool
	i     int
	row   *indexRow
	ttl   time.Duration
	stale bool
}

func (c *cursor) next() bool {
	order := c.ix.order
	for c.i < len(order) {
		pos := order[c.i]
		if c.desc {
			pos = order[len(order)-1-c.i]
		}
		c.i++
		r := &c.ix.rows[pos]
		if r.key == "" {
			continue
		}
		ttl := r.ttlAt(c.now)
		stale := ttl <= 0
		if !c.f.empty() && !c.f.match(r, stale) {
			continue
		}
		c.row, c.ttl, c.stale = r, ttl, stale
		return true
	}
	c.row = nil
	return false
}

func (c *cursor) entry() entryRow {
	return entryRow{pop: c.p.Name, key: c.row.key, row: *c.row,
		age: int64(c.row.ageAt(c.now) / time.Second), ttl: int64(c.ttl / time.Second), stale: c.stale}
}

// listByKey merges the proxies' key-ordered indexes, counting every match
// and keeping the page.
func listByKey(proxies []*Proxy, f *entryFilter, desc bool, offset, limit int) ([]entryRow, int) {
	cursors := make([]*cursor, 0, len(proxies))
	for _, p := range proxies {
		ix := p.idx
		ix.mu.Lock()
		ix.sortedLocked()
		ix.mu.Unlock()
		ix.mu.RLock()
		defer ix.mu.RUnlock()
		c := &cursor{p: p, ix: ix, now: p.now().UnixNano(), f: f, desc: desc}
		if c.next() {
			cursors = append(cursors, c)
		}
	}
	var rows []entryRow
	total := 0
	for len(cursors) > 0 {
		best := 0
		for i := 1; i < len(cursors); i++ {
			c := strings.Compare(cursors[i].row.key, cursors[best].row.key)
			if (c < 0) != desc && c != 0 {
				best = i
			}
		}
		c := cursors[best]
		if total >= offset && total < offset+limit {
			rows = append(rows, c.entry())
		}
		total++
		if !c.next() {
			cursors = slices.Delete(cursors, best, best+1)
		}
	}
	return rows, total
}

// listByValue keeps the first offset+limit rows by a numeric field in a
// bounded heap. Ties go by PoP and index position (insertion order), which
// is stable from page to page and cheaper than comparing keys.
func listByValue(proxies []*Proxy, f *entryFilter, value func(*indexRow, int64, int64) int64, desc bool, offset, limit int) ([]entryRow, int) {
	less := func(a, b *entryRow) bool {
		if a.val != b.val {
			return (a.val < b.val) != desc
		}
		return a.tie < b.tie
	}
	top := newTopK(offset+limit, less, desc)
	total := 0
	for pi, p := range proxies {
		ix := p.idx
		now := p.now().UnixNano()
		filtered := !f.empty()
		ix.mu.RLock()
		for i := range ix.rows {
			r := &ix.rows[i]
			if r.key == "" {
				continue
			}
			ttl := r.ttlAt(now)
			stale := ttl <= 0
			if filtered && !f.match(r, stale) {
				continue
			}
			total++
			age, ttlS := int64(r.ageAt(now)/time.Second), int64(ttl/time.Second)
			val, tie := value(r, age, ttlS), int64(pi)<<32|int64(i)
			if !top.wants(val, tie) {
				continue
			}
			top.offer(entryRow{pop: p.Name, val: val, tie: tie, key: r.key, row: *r, age: age, ttl: ttlS, stale: stale})
		}
		ix.mu.RUnlock()
	}
	rows := top.sorted()
	if offset >= len(rows) {
		return nil, total
	}
	return rows[offset:], total
}

func (r *entryRow) info() EntryInfo {
	e := r.row.rep
	tags := r.row.tags
	if tags == nil {
		tags = []string{}
	}
	return EntryInfo{
		Pop: r.pop, Key: r.key, URL: e.URL, Host: e.Host, Path: e.Path, Status: e.Status,
		Size: r.row.size, AgeS: r.age, TTLS: r.ttl, Stale: r.stale,
		Tags: tags, Hits: sumHits(r.row.variants), Variants: len(r.row.variants), StoredAt: e.StoredAt.UTC(),
	}
}

// topK keeps the k smallest rows offered, in a max-heap.
type topK struct {
	k    int
	desc bool
	less func(a, b *entryRow) bool
	heap []entryRow
}

func newTopK(k int, less func(a, b *entryRow) bool, desc bool) *topK {
	return &topK{k: k, less: less, desc: desc, heap: make([]entryRow, 0, min(k, 4096))}
}

// wants reports whether a row with this sort value and tie-break would be
// kept, so the caller builds only those (the comparison of listByValue,
// inlined).
func (t *topK) wants(val, tie int64) bool {
	if len(t.heap) < t.k {
		return true
	}
	top := &t.heap[0]
	if val != top.val {
		return (val < top.val) != t.desc
	}
	return tie < top.tie
}

func (t *topK) offer(row entryRow) {
	r := &row
	h := t.heap
	if len(h) < t.k {
		h = append(h, *r)
		for i := len(h) - 1; i > 0; {
			parent := (i - 1) / 2
			if !t.less(&h[parent], &h[i]) {
				break
			}
			h[parent], h[i] = h[i], h[parent]
			i = parent
		}
		t.heap = h
		return
	}
	if !t.less(r, &h[0]) {
		return
	}
	h[0] = *r
	for i := 0; ; {
		l, big := 2*i+1, i
		if l < len(h) && t.less(&h[big], &h[l]) {
			big = l
		}
		if rr := l + 1; rr < len(h) && t.less(&h[big], &h[rr]) {
			big = rr
		}
		if big == i {
			return
		}
		h[i], h[big] = h[big], h[i]
		i = big
	}
}

// sorted returns the kept rows in order.
func (t *topK) sorted() []entryRow {
	slices.SortFunc(t.heap, func(a, b entryRow) int {
		switch {
		case t.less(&a, &b):
			return -1
		case t.less(&b, &a):
			return 1
		}
		return 0
	})
	return t.heap
}

// VariantInfo describes one stored response of a key (contract §2, GET
// /api/v1/entry).
type VariantInfo struct {
	Vary               map[string]string `json:"vary"`
	Status             int               `json:"status"`
	Headers            http.Header       `json:"headers"`
	Size               int64             `json:"size"`
	AgeS               int64             `json:"age_s"`
	TTLS               int64             `json:"ttl_s"`
	FreshnessLifetimeS int64             `json:"freshness_lifetime_s"`
	Stale              bool              `json:"stale"`
	GraceS             int64             `json:"grace_s"`
	Hits               int64             `json:"hits"`
	Tags               []string          `json:"tags"`
	StoredAt           time.Time         `json:"stored_at"`
	InvalidatedAt      *time.Time        `json:"invalidated_at,omitempty"`
}

// EntryDetail describes one key of one cache with all its variants.
type EntryDetail struct {
	Pop         string        `json:"pop"`
	Key         string        `json:"key"`
	URL         string        `json:"url"`
	PopsHolding []string      `json:"pops_holding"`
	Variants    []VariantInfo `json:"variants"`
}

// Entry returns the detail of a key in this cache; ok is false when it is
// not stored.
func (p *Proxy) Entry(ctx context.Context, key string) (EntryDetail, bool, error) {
	p.init()
	variants, err := p.store.Get(ctx, key)
	if err != nil || len(variants) == 0 {
		return EntryDetail{}, false, err
	}
	now := p.now()
	d := EntryDetail{Pop: p.Name, Key: key, URL: variants[0].URL, PopsHolding: []string{p.Name}}
	for _, e := range variants {
		vary := map[string]string{}
		for _, v := range e.Vary {
			if v.Present {
				vary[v.Name] = v.Value
			} else {
				vary[v.Name] = ""
			}
		}
		tags := e.Tags
		if tags == nil {
			tags = []string{}
		}
		ttl := e.TTL(now)
		vi := VariantInfo{
			Vary: vary, Status: e.Status, Headers: e.Header, Size: e.BodyLen(),
			AgeS: int64(e.Age(now) / time.Second), TTLS: int64(ttl / time.Second),
			FreshnessLifetimeS: int64(e.lifetime / time.Second), Stale: ttl <= 0,
			GraceS: int64(p.graceLeft(e, now) / time.Second), Hits: e.hits.Load(), Tags: tags,
			StoredAt: e.StoredAt.UTC(),
		}
		if !e.InvalidatedAt.IsZero() {
			t := e.InvalidatedAt.UTC()
			vi.InvalidatedAt = &t
		}
		d.Variants = append(d.Variants, vi)
	}
	return d, true, nil
}

// graceLeft is how much longer an entry may be served stale while it is
// revalidated in the background (stale-while-revalidate or soft purge).
func (p *Proxy) graceLeft(e *Entry, now time.Time) time.Duration {
	var left time.Duration
	staleness := -e.TTL(now)
	if swr := e.directives.StaleWhileRevalidate; swr >= 0 && e.directives.allowsStale(true) {
		if staleness < 0 {
			staleness = 0
		}
		left = max(left, time.Duration(swr)*time.Second-staleness)
	}
	if !e.InvalidatedAt.IsZero() && p.SoftPurgeGrace > 0 && e.directives.allowsStale(true) {
		left = max(left, p.SoftPurgeGrace-now.Sub(e.InvalidatedAt))
	}
	return max(left, 0)
}
