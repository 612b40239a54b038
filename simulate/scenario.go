package simulate

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/localedge"
)

// Topology is the simulated CDN: the topology of `cdnctl serve` (edge PoPs
// serving client regions, an optional shield, the origin, every cache's
// configuration) plus what a simulation needs that serve does not: where
// things are, and so how long each hop takes.
type Topology struct {
	PoPs []PoP
	// Active is how many of the PoPs (the first ones) run; the clients of
	// the others go to the nearest one that runs (0: all).
	Active int
	// Shield is nil when edges fetch from the origin directly.
	Shield *Shield
	Origin Origin
	Cache  Cache
	// ClientRTT is the round trip between a client and a PoP near it:
	// drawn for each request between Min and Max (default 10–20 ms).
	ClientRTT RTTRange
	// HopRTT, when set, is every round trip between tiers (PoP to shield
	// or origin, shield to origin), whatever the locations say; 0 makes
	// fills instantaneous, as cache simulators such as libCacheSim count.
	HopRTT *time.Duration
}

// RTTRange is a range of round-trip times.
type RTTRange struct {
	Min, Max time.Duration
}

// PoP is an edge PoP.
type PoP struct {
	Name     string
	Location *localedge.Location
	// Regions are the names of the workload's client regions it serves.
	Regions []string
	// Networks are the client networks it serves (for logs, by client
	// address); clients of no network are spread over the PoPs by address.
	Networks []netip.Prefix
	// UpstreamRTT is the round trip to the shield, or to the origin when
	// there is none (0: estimated from the locations).
	UpstreamRTT time.Duration
}

// Shield is the tier between the PoPs and the origin.
type Shield struct {
	Location *localedge.Location
	// OriginRTT is its round trip to the origin (0: from the locations).
	OriginRTT time.Duration
	// Capacity is its cache size in bytes (0: the PoPs' Cache.Capacity).
	Capacity int64
}

// Origin is where content comes from.
type Origin struct {
	Location *localedge.Location
	// ServiceTime is how long the origin takes to answer (added to every
	// origin round trip).
	ServiceTime time.Duration
	// Outages are times when the origin fails.
	Outages []Outage
}

// Outage is a time when the origin fails: it answers Status (a 5xx), or
// not at all when Status is 0 (the caches see a connection error).
type Outage struct {
	At     time.Duration `yaml:"at" json:"at"`
	For    time.Duration `yaml:"for" json:"for"`
	Status int           `yaml:"status" json:"status"`
}

// Cache configures every cache of the topology, as serve.cache does.
type Cache struct {
	// Capacity is each PoP's cache size in bytes.
	Capacity int64
	// MaxObjectSize is the largest response stored.
	MaxObjectSize int64
	// Eviction is EvictionTinyLFU (serve's) or EvictionLRU.
	Eviction string
	// SoftPurgeGrace and StaleIfError are the Proxy fields of the same
	// names.
	SoftPurgeGrace time.Duration
	StaleIfError   time.Duration
	Key            localedge.KeyOptions
	Heuristic      localedge.Heuristic
}

// Eviction policies.
const (
	// EvictionTinyLFU is the memory store of `cdnctl serve`: otter's
	// W-TinyLFU over entries weighed by localedge.Entry.Size.
	EvictionTinyLFU = "tinylfu"
	// EvictionLRU is least-recently-used over body bytes, as cache
	// simulators (libCacheSim) count it: for comparing with them.
	EvictionLRU = "lru"
)

// Purge modes when content changes.
const (
	PurgeNone = "none"
	PurgeHard = "hard"
	PurgeSoft = "soft"
)

// Scenario is one variant of a site on a CDN: a topology and what the site
// does about caching.
type Scenario struct {
	Name     string
	Topology Topology
	// DefaultCacheControl is the origin's Cache-Control when the workload
	// does not say (access logs).
	DefaultCacheControl string
	// Rules replace the origin's Cache-Control for the paths they match
	// (the first that matches), as CDN cache rules do.
	Rules []Rule
	// Versioned are path patterns of content whose changes get a new URL
	// (fingerprinted names): clients request the new URL from the change
	// on.
	Versioned []string
	// Purge is what the site purges when content changes: PurgeNone,
	// PurgeHard (the changed URLs, or the changed type's tag) or
	// PurgeSoft; PurgeDelay is how long the purge takes to reach every
	// cache.
	Purge      string
	PurgeDelay time.Duration
}

// Rule sets the Cache-Control of the paths matching a pattern: one of
// cdnctl's path globs (package hashing: "*" within a path segment, "**"
// across segments, "{a,b}", a pattern without "/" matching the file name
// at any depth), matched against the path without its query.
type Rule struct {
	Path         string `yaml:"path" json:"path"`
	CacheControl string `yaml:"cache_control" json:"cache_control"`
}

// Defaults of a Topology.
const (
	DefaultClientRTTMin = 10 * time.Millisecond
	DefaultClientRTTMax = 20 * time.Millisecond
	// minRTT is the round trip between two places at the same location.
	minRTT = time.Millisecond
)

// DefaultOriginLocation is where the origin is when no location is given:
// northern Virginia, where most clouds' first region is.
var DefaultOriginLocation = localedge.Location{Lat: 38.9, Lon: -77.4}

// Validate checks a scenario and fills in its defaults.
func (s *Scenario) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	t := &s.Topology
	if len(t.PoPs) == 0 {
		bad("scenario %q: no PoP", s.Name)
	}
	names := map[string]bool{}
	for _, p := range t.PoPs {
		if p.Name == "" || names[p.Name] {
			bad("scenario %q: PoP names must be given and distinct (%q)", s.Name, p.Name)
		}
		names[p.Name] = true
		if p.UpstreamRTT < 0 {
			bad("scenario %q: PoP %s: negative round trip", s.Name, p.Name)
		}
	}
	if t.Active == 0 {
		t.Active = len(t.PoPs)
	}
	if t.Active < 1 || t.Active > len(t.PoPs) {
		bad("scenario %q: %d PoPs running: want 1 to %d", s.Name, t.Active, len(t.PoPs))
	}
	if t.ClientRTT.Min == 0 && t.ClientRTT.Max == 0 {
		t.ClientRTT = RTTRange{DefaultClientRTTMin, DefaultClientRTTMax}
	}
	if t.ClientRTT.Min < 0 || t.ClientRTT.Max < t.ClientRTT.Min {
		bad("scenario %q: client round trip %v–%v: want min ≤ max", s.Name, t.ClientRTT.Min, t.ClientRTT.Max)
	}
	if t.Origin.Location == nil {
		loc := DefaultOriginLocation
		t.Origin.Location = &loc
	}
	if t.Shield != nil && t.Shield.Location == nil {
		loc := *t.Origin.Location // a shield sits next to the origin
		t.Shield.Location = &loc
	}
	for _, o := range t.Origin.Outages {
		if o.For <= 0 || o.At < 0 || (o.Status != 0 && (o.Status < 500 || o.Status > 599)) {
			bad("scenario %q: origin outage at %v for %v status %d: want a positive duration and a 5xx status (or none: no answer)", s.Name, o.At, o.For, o.Status)
		}
	}
	c := &t.Cache
	if c.Capacity <= 0 {
		c.Capacity = localedge.DefaultMemoryCapacity
	}
	if c.MaxObjectSize <= 0 {
		c.MaxObjectSize = localedge.DefaultMaxObjectSize
	}
	switch c.Eviction {
	case "":
		c.Eviction = EvictionTinyLFU
	case EvictionTinyLFU, EvictionLRU:
	default:
		bad("scenario %q: eviction %q: want %s (serve's) or %s", s.Name, c.Eviction, EvictionTinyLFU, EvictionLRU)
	}
	if c.SoftPurgeGrace == 0 {
		c.SoftPurgeGrace = localedge.DefaultSoftPurgeGrace
	}
	switch s.Purge {
	case "":
		s.Purge = PurgeNone
	case PurgeNone, PurgeHard, PurgeSoft:
	default:
		bad("scenario %q: purge %q: want %s, %s or %s", s.Name, s.Purge, PurgeNone, PurgeHard, PurgeSoft)
	}
	if s.PurgeDelay < 0 {
		bad("scenario %q: negative purge delay", s.Name)
	}
	for _, r := range s.Rules {
		if _, err := hashing.CompileGlob(r.Path); err != nil {
			bad("scenario %q: ttl rule: %v", s.Name, err)
		}
	}
	for _, v := range s.Versioned {
		if _, err := hashing.CompileGlob(v); err != nil {
			bad("scenario %q: versioned: %v", s.Name, err)
		}
	}
	return errors.Join(errs...)
}

// rtt estimates the round trip between two places: light in fibre covers
// about 200 km per millisecond, so the round trip in milliseconds is about
// the great-circle distance in kilometres divided by 100 (New York–London
// about 56 ms, Singapore–Virginia about 156 ms: "150 ms across an ocean").
func rtt(a, b *localedge.Location) time.Duration {
	if a == nil || b == nil {
		return minRTT
	}
	const earthKm = 6371.0
	rad := func(d float64) float64 { return d * math.Pi / 180 }
	dLat, dLon := rad(b.Lat-a.Lat), rad(b.Lon-a.Lon)
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(rad(a.Lat))*math.Cos(rad(b.Lat))*math.Sin(dLon/2)*math.Sin(dLon/2)
	km := 2 * earthKm * math.Asin(math.Min(1, math.Sqrt(h)))
	d := time.Duration(km / 100 * float64(time.Millisecond))
	return max(d.Round(time.Millisecond), minRTT)
}
