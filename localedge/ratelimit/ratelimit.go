// Package ratelimit limits the request rate of each client of an edge, as
// the rate-limiting rules of CDN WAFs do (Cloudflare rate limiting rules,
// CloudFront + AWS WAF rate-based rules, Fastly Edge Rate Limiting): a
// token bucket per client address, and optionally per path pattern, and a
// 429 with Retry-After for the requests over it.
//
// Memory is bounded whatever the number of clients: the buckets live in a
// fixed-size table (MaxClients entries, split in shards) that evicts with
// the CLOCK algorithm, preferring buckets that have refilled (a full
// bucket is the same as no bucket). An evicted client starts again with a
// full bucket, so a flood of more distinct addresses than the table holds
// weakens the limit of the least active clients but never costs more
// memory. The table is allocated once, at New.
//
// The bucket arithmetic (Take) is a pure function, tested without a
// clock or a server; localedge.Proxy applies a Limiter to its requests.
package ratelimit

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cdnctl/cdnctl/siterules"
)

// Defaults of a Config's zero fields.
const (
	DefaultMaxClients = 65536
	// shards splits the table, so concurrent requests of different
	// clients rarely wait for each other.
	shards = 64
)

// EntryBytes bounds the memory of one table entry (a client's bucket, its
// key and its slot in the shard's index): TestMemoryBound measures about
// 150 bytes after 300,000 clients went through a 16,384-entry table. The
// table costs at most MaxClients × EntryBytes (12 MiB for the default
// 65,536 clients).
const EntryBytes = 192

// Config configures a Limiter.
type Config struct {
	// Rate is each client's sustained rate, in requests per second, for
	// the requests no Rules entry matches; 0: those are not limited.
	Rate float64
	// Burst is how many requests a client may make at once (the bucket's
	// size); at least 1 when Rate is set.
	Burst int
	// Rules give paths their own buckets (per client and rule): the first
	// rule whose pattern matches a request's path counts it, instead of
	// the default bucket.
	Rules []Rule
	// MaxClients bounds the table of buckets (DefaultMaxClients when 0).
	MaxClients int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Rule is a path pattern with its own rate.
type Rule struct {
	// Path is a pattern in the _redirects syntax: "/api/*", "/login".
	Path  string
	Rate  float64
	Burst int
}

type rule struct {
	pattern siterules.Pattern
	rate    float64
	burst   float64
}

// Limiter counts each client's requests. It is safe for concurrent use.
type Limiter struct {
	def    rule // the default bucket's rate (rate 0: unlimited)
	rules  []rule
	now    func() time.Time
	shards [shards]shard

	allowed   atomic.Int64
	limited   atomic.Int64
	evictions atomic.Int64
}

type key struct {
	addr [16]byte // As16 of the address: no pointer for the GC to scan
	rule int32    // -1: the default bucket
}

type entry struct {
	key    key
	bucket Bucket
	used   bool
	ref    bool // CLOCK's reference bit
}

type shard struct {
	mu      sync.Mutex
	index   map[key]int32 // guarded by mu
	entries []entry       // guarded by mu; fixed length
	hand    int           // guarded by mu
	n       int           // entries in use, guarded by mu
}

// Validate checks a configuration without allocating its table.
func (cfg Config) Validate() error {
	_, err := cfg.rules()
	return err
}

func (cfg Config) rules() ([]rule, error) {
	check := func(what string, rate float64, burst int) error {
		switch {
		case rate < 0 || math.IsNaN(rate) || math.IsInf(rate, 0):
			return fmt.Errorf("%srate %v: want requests per second, more than 0", what, rate)
		case rate > 0 && burst < 1:
			return fmt.Errorf("%sburst %d: want 1 or more requests", what, burst)
		}
		return nil
	}
	if err := check("", cfg.Rate, cfg.Burst); err != nil {
		return nil, err
	}
	var rules []rule
	for i, r := range cfg.Rules {
		what := fmt.Sprintf("rules[%d].", i)
		if r.Rate == 0 {
			return nil, fmt.Errorf("%srate 0: want requests per second, more than 0", what)
		}
		if err := check(what, r.Rate, r.Burst); err != nil {
			return nil, err
		}
		p, err := siterules.ParsePattern(r.Path)
		if err != nil || r.Path == "" || r.Path[0] != '/' {
			return nil, fmt.Errorf("%spath %q: want a path pattern such as /api/*", what, r.Path)
		}
		rules = append(rules, rule{pattern: p, rate: r.Rate, burst: float64(r.Burst)})
	}
	if cfg.Rate == 0 && len(cfg.Rules) == 0 {
		return nil, errors.New("rate 0: give a rate, or rules with one")
	}
	if cfg.MaxClients < 0 {
		return nil, fmt.Errorf("max_clients %d: want a positive number", cfg.MaxClients)
	}
	return rules, nil
}

// New checks cfg and allocates the table.
func New(cfg Config) (*Limiter, error) {
	rules, err := cfg.rules()
	if err != nil {
		return nil, err
	}
	l := &Limiter{now: cfg.Now, rules: rules, def: rule{rate: cfg.Rate, burst: float64(cfg.Burst)}}
	if l.now == nil {
		l.now = time.Now
	}
	n := cfg.MaxClients
	if n == 0 {
		n = DefaultMaxClients
	}
	per := max(1, (n+shards-1)/shards)
	for i := range l.shards {
		l.shards[i] = shard{index: make(map[key]int32, per), entries: make([]entry, per)}
	}
	return l, nil
}

// Capacity is the number of buckets the table holds.
func (l *Limiter) Capacity() int { return len(l.shards[0].entries) * shards }

// Len is the number of buckets in use.
func (l *Limiter) Len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += s.n
		s.mu.Unlock()
	}
	return n
}

// Stats are a Limiter's counters.
type Stats struct {
	Allowed, Limited, Evictions int64
	Clients, Capacity           int
}

// Stats returns the counters.
func (l *Limiter) Stats() Stats {
	return Stats{Allowed: l.allowed.Load(), Limited: l.limited.Load(), Evictions: l.evictions.Load(), Clients: l.Len(), Capacity: l.Capacity()}
}

// Allow counts a request of client to path and reports whether it may
// proceed; when it may not, retryAfter is when the client's bucket has a
// token again.
func (l *Limiter) Allow(client netip.Addr, path string) (ok bool, retryAfter time.Duration) {
	k := key{addr: client.Unmap().As16(), rule: -1}
	r := &l.def
	for i := range l.rules {
		if _, m := l.rules[i].pattern.Match("", path); m {
			k.rule, r = int32(i), &l.rules[i]
			break
		}
	}
	if r.rate == 0 {
		return true, 0
	}
	now := l.now().UnixNano()
	s := &l.shards[k.hash()%shards]
	s.mu.Lock()
	i, found := s.index[k]
	var b Bucket
	if found {
		b = s.entries[i].bucket
	} else {
		b = Bucket{Tokens: r.burst, Last: now}
	}
	b, ok, retryAfter = Take(b, now, r.rate, r.burst)
	if found {
		s.entries[i].bucket, s.entries[i].ref = b, true
	} else if evicted := s.insert(k, b, now, r); evicted {
		l.evictions.Add(1)
	}
	s.mu.Unlock()
	if ok {
		l.allowed.Add(1)
	} else {
		l.limited.Add(1)
	}
	return ok, retryAfter
}

// insert stores a new bucket, evicting one when the shard is full: the
// first refilled bucket the CLOCK hand meets, else the first not
// referenced since the hand last passed. It reports an eviction.
func (s *shard) insert(k key, b Bucket, now int64, r *rule) (evicted bool) {
	if s.n < len(s.entries) {
		for s.entries[s.hand].used {
			s.hand = (s.hand + 1) % len(s.entries)
		}
	} else {
		for {
			e := &s.entries[s.hand]
			if !e.ref || e.bucket.fullAt(now, r.rate, r.burst) {
				break
			}
			e.ref = false
			s.hand = (s.hand + 1) % len(s.entries)
		}
		delete(s.index, s.entries[s.hand].key)
		s.n--
		evicted = true
	}
	s.entries[s.hand] = entry{key: k, bucket: b, used: true}
	s.index[k] = int32(s.hand)
	s.n++
	s.hand = (s.hand + 1) % len(s.entries)
	return evicted
}

func (k key) hash() uint64 {
	// FNV-1a over the address bytes and the rule.
	h := uint64(14695981039346656037)
	for _, c := range k.addr {
		h ^= uint64(c)
		h *= 1099511628211
	}
	h ^= uint64(uint32(k.rule))
	h *= 1099511628211
	return h
}

// Bucket is one client's token bucket: Tokens left at Last (Unix
// nanoseconds).
type Bucket struct {
	Tokens float64
	Last   int64
}

// Take refills b at rate tokens per second up to burst until now, and
// takes one token if there is one. Otherwise it reports how long until
// there is.
func Take(b Bucket, now int64, rate, burst float64) (Bucket, bool, time.Duration) {
	if now > b.Last {
		b.Tokens = min(burst, b.Tokens+float64(now-b.Last)/1e9*rate)
		b.Last = now
	}
	if b.Tokens >= 1 {
		b.Tokens--
		return b, true, 0
	}
	wait := time.Duration(math.Ceil((1 - b.Tokens) / rate * 1e9))
	return b, false, wait
}

// fullAt reports whether the bucket has refilled by now (with the rate of
// the rule being counted: an approximation for buckets of other rules).
func (b Bucket) fullAt(now int64, rate, burst float64) bool {
	return b.Tokens+float64(now-b.Last)/1e9*rate >= burst
}

// RetryAfterSeconds is the Retry-After value for a wait: whole seconds,
// rounded up, at least 1 (RFC 9110 §10.2.3).
func RetryAfterSeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	return max(s, 1)
}
