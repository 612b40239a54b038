package geodns

import (
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of Config.
const (
	DefaultAddr        = "127.0.0.1:5353"
	DefaultZone        = "cdn.test."
	DefaultTTL         = 30 * time.Second  // CDN answers: low, so failover is quick
	DefaultRecordTTL   = 300 * time.Second // static records without a TTL
	DefaultNegativeTTL = 30 * time.Second  // SOA minimum: how long NXDOMAIN is cached
	DefaultMaxUDPSize  = 1232              // the DNS flag day 2020 value: no IP fragmentation
	DefaultHealthPath  = "/.cdnctl/health"
	// DefaultQueryLogRate caps the query log (lines per second): a flood
	// of random names must not fill the disk.
	DefaultQueryLogRate = 100
	// DefaultQueryLogSummaryEvery is how often the query log says how many
	// queries it left out.
	DefaultQueryLogSummaryEvery = 10 * time.Second
)

// Policy says how the server chooses among several healthy PoPs that are
// equally good for a client (same region, or the same failover tier).
type Policy string

const (
	// PolicyWeighted spreads clients over the PoPs in proportion to their
	// weights, consistently: a client network always gets the same PoP
	// while the set of healthy PoPs does not change (rendezvous hashing),
	// which keeps each PoP's cache warm for its clients.
	PolicyWeighted Policy = "weighted"
	// PolicyLeastLoaded picks the PoP with the lowest load reported by
	// Config.Load (for example requests per second from the edges'
	// stats), falling back to PolicyWeighted when loads are unknown.
	PolicyLeastLoaded Policy = "least-loaded"
)

// Config describes what the server answers. Names are case-insensitive;
// a trailing dot is optional.
type Config struct {
	// Zone is the CDN's zone ("cdn.test."): the CDN names live here, as
	// do the name server's own name and address (ns1.<zone>).
	Zone string
	// Zones are further zones the server is authoritative for (the
	// customers' or a test zone: "example.test."). Customer hostnames and
	// static records must lie in Zone or one of these.
	Zones []string
	// Hosts maps customer hostnames to CDN names: each becomes a CNAME
	// ("www.example.test." → "www.example.cdn.test."). A target inside
	// Zone is a CDN name, answered with the chosen PoP's addresses.
	Hosts map[string]string
	// CDNNames are further CDN names, answered with a PoP's addresses,
	// that no customer hostname points to.
	CDNNames []string
	// Records are static records in zone-file syntax, one per string
	// ("api.example.test. 300 IN A 127.0.0.10"; the class and TTL are
	// optional; names are absolute). Any type but SOA and NS.
	Records []string
	// TTL is the TTL of CDN answers (DefaultTTL when 0).
	TTL time.Duration
	// NegativeTTL is the SOA minimum, the TTL of NXDOMAIN and NODATA
	// answers (DefaultNegativeTTL when 0).
	NegativeTTL time.Duration
	// NSAddrs are the addresses of ns1.<Zone>; the listening address
	// when empty (127.0.0.1 for an unspecified one).
	NSAddrs []netip.Addr

	// PoPs are the edges clients are sent to.
	PoPs []PoP
	// DefaultPoP answers clients that no region matches and whose
	// location is unknown; the first PoP when "".
	DefaultPoP string
	// Locations give the coordinates of client networks that no PoP
	// lists as a region, so those clients go to the nearest PoP.
	Locations []Location
	// Policy chooses among equally good PoPs (PolicyWeighted when "").
	Policy Policy
	// Load reports a PoP's current load for PolicyLeastLoaded (lower is
	// better); ok false means unknown.
	Load func(pop string) (load float64, ok bool)

	// Health configures the checks of the PoPs' health endpoints.
	Health HealthConfig

	// MaxUDPSize caps UDP responses (DefaultMaxUDPSize when 0; at least
	// 512). Larger answers are truncated (TC) for the client to retry
	// over TCP.
	MaxUDPSize int
	// RateLimit is the number of UDP responses per second a client
	// network (/24 for IPv4, /56 for IPv6) may receive; over it, every
	// other response is replaced by a truncated one (TC: retry over TCP)
	// and the rest are dropped, so the server cannot be used to flood a
	// spoofed address. 0 disables it.
	RateLimit int

	// Logger receives health changes and errors; nil discards them.
	Logger *slog.Logger
	// QueryLog, when set, receives one Info record per query: client,
	// question, ECS, answer, chosen PoP and reason.
	QueryLog *slog.Logger
	// QueryLogRate caps the query log at this many lines per second (and
	// as many at once): queries over it are counted, not logged, and every
	// QueryLogSummaryEvery one Warn record says how many were left out.
	// 0 means DefaultQueryLogRate; a negative rate logs every query.
	QueryLogRate int
	// QueryLogSummaryEvery is the period of those summaries (0:
	// DefaultQueryLogSummaryEvery).
	QueryLogSummaryEvery time.Duration
	// Registerer receives the server's metrics (cdnctl_dns_*); nil means
	// none are registered.
	Registerer prometheus.Registerer
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// PoP is one edge location.
type PoP struct {
	// Name identifies the PoP in logs, metrics and `cdnctl resolve`.
	Name string
	// Addrs are the addresses answered for CDN names (A for IPv4, AAAA
	// for IPv6).
	Addrs []netip.Addr
	// HealthURL is checked with GET; any 2xx means healthy. "" means the
	// PoP is always considered healthy.
	HealthURL string
	// Regions are the client networks this PoP serves.
	Regions []netip.Prefix
	// Location is where the PoP is, for nearest-PoP choices.
	Location *Location
	// Weight is the PoP's share among equally good PoPs (1 when 0).
	Weight int
}

// Location is a point on Earth, and for Config.Locations the client
// network it stands for.
type Location struct {
	Network netip.Prefix `json:"network,omitzero"`
	Lat     float64      `json:"lat"`
	Lon     float64      `json:"lon"`
}

// HealthConfig configures the PoP health checks.
type HealthConfig struct {
	// Interval between two checks of a PoP (2s when 0).
	Interval time.Duration
	// Timeout of one check (1s when 0). The checks of a PoP run one at a
	// time: one that takes longer than Interval delays the next.
	Timeout time.Duration
	// Fall is the number of consecutive failures that mark a PoP down
	// (2 when 0); Rise the number of successes that mark it up again (2
	// when 0).
	Fall, Rise int
	// Client makes the requests (a client without proxies and with
	// Timeout when nil).
	Client *http.Client
}

func (h HealthConfig) withDefaults() HealthConfig {
	if h.Interval <= 0 {
		h.Interval = 2 * time.Second
	}
	if h.Timeout <= 0 {
		h.Timeout = time.Second
	}
	if h.Fall <= 0 {
		h.Fall = 2
	}
	if h.Rise <= 0 {
		h.Rise = 2
	}
	return h
}

// DefaultPoPs returns the PoPs of the default local topology
// (contracts.md §4): pop1..popN on 127.0.i.1, serving clients in
// 127.i.0.0/16, with healthURLs[i-1] checked when given.
func DefaultPoPs(n int, healthURLs ...string) []PoP {
	pops := make([]PoP, n)
	for i := range pops {
		pops[i] = PoP{
			Name:    fmt.Sprintf("pop%d", i+1),
			Addrs:   []netip.Addr{netip.AddrFrom4([4]byte{127, 0, byte(i + 1), 1})},
			Regions: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{127, byte(i + 1), 0, 0}), 16)},
		}
		if i < len(healthURLs) {
			pops[i].HealthURL = healthURLs[i]
		}
	}
	return pops
}

// DefaultConfig returns the configuration used with no config at all:
// zone cdn.test., www.example.test CNAME www.example.cdn.test, and the
// three PoPs of DefaultPoPs (contracts.md §4).
func DefaultConfig() Config {
	return Config{
		Zone:  DefaultZone,
		Zones: []string{"example.test."},
		Hosts: map[string]string{"www.example.test.": "www.example.cdn.test."},
		PoPs:  DefaultPoPs(3),
	}
}

// canonicalName lower-cases name and makes it absolute.
func canonicalName(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}

// validLocation reports whether l holds real coordinates.
func validLocation(l Location) bool {
	return !math.IsNaN(l.Lat) && !math.IsNaN(l.Lon) && l.Lat >= -90 && l.Lat <= 90 && l.Lon >= -180 && l.Lon <= 180
}

// distanceKm is the great-circle (haversine) distance between two points.
func distanceKm(a, b Location) float64 {
	const earthRadiusKm = 6371
	rad := math.Pi / 180
	dLat := (b.Lat - a.Lat) * rad
	dLon := (b.Lon - a.Lon) * rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(a.Lat*rad)*math.Cos(b.Lat*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKm * math.Asin(math.Min(1, math.Sqrt(h)))
}
