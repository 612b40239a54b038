package geodns

import (
	"fmt"
	"hash/maphash"
	"math"
	"net/netip"
	"sort"
	"sync/atomic"
)

// router holds the routing policy: which PoP answers which client. It is
// built once; only the health flags change afterwards.
type router struct {
	pops    []PoP
	healthy []atomic.Bool // by PoP index; true until a check says otherwise
	// regions maps client networks to the PoPs that serve them.
	regions prefixTrie[[]int]
	// locations maps client networks to coordinates.
	locations prefixTrie[Location]
	// nearest[i] lists the other PoPs by distance from PoP i (those
	// without a location last, in configuration order): the failover
	// order when PoP i is down.
	nearest [][]int
	// fallback is the order for clients that match nothing: the default
	// PoP, then the others by distance from it.
	fallback []int
	policy   Policy
	load     func(pop string) (float64, bool)
	seed     maphash.Seed
	popSeeds []uint64
}

// Reasons for a routing decision, as logged and reported to `cdnctl
// resolve`.
const (
	ReasonRegion  = "region"  // the client's network is a region of the PoP
	ReasonNearest = "nearest" // the client's location is known: nearest PoP
	ReasonDefault = "default" // nothing known about the client
)

// decision is the outcome of routing one query.
type decision struct {
	pop int // index into pops; -1 when every candidate is down
	// via is "ecs" or "source": which address was routed.
	via    string
	client netip.Prefix
	reason string
	// network is the region or location network that matched.
	network netip.Prefix
	// failoverFrom names the preferred PoP when it was down.
	failoverFrom int
	// scope is the ECS scope prefix length of the answer.
	scope int
}

func (d decision) String(pops []PoP) string {
	var s string
	switch d.reason {
	case ReasonRegion:
		s = fmt.Sprintf("%s %s in region %s", d.via, d.client, d.network)
	case ReasonNearest:
		s = fmt.Sprintf("%s %s located by %s: nearest PoP", d.via, d.client, d.network)
	default:
		s = fmt.Sprintf("%s %s matches no region: default PoP", d.via, d.client)
	}
	if d.failoverFrom >= 0 {
		s = fmt.Sprintf("%s is down; failover (%s)", pops[d.failoverFrom].Name, s)
	}
	if d.pop < 0 {
		s += "; no healthy PoP"
	}
	return s
}

func newRouter(pops []PoP, defaultPoP int, locations []Location, policy Policy, load func(string) (float64, bool)) *router {
	r := &router{
		pops:     pops,
		healthy:  make([]atomic.Bool, len(pops)),
		policy:   policy,
		load:     load,
		seed:     maphash.MakeSeed(),
		popSeeds: make([]uint64, len(pops)),
	}
	for i := range r.healthy {
		r.healthy[i].Store(true)
	}
	// Several PoPs may serve one network: collect them per prefix.
	byPrefix := make(map[netip.Prefix][]int)
	var order []netip.Prefix
	for i, p := range pops {
		r.popSeeds[i] = maphash.String(r.seed, p.Name)
		for _, n := range p.Regions {
			n = n.Masked()
			if _, ok := byPrefix[n]; !ok {
				order = append(order, n)
			}
			byPrefix[n] = append(byPrefix[n], i)
		}
	}
	for _, n := range order {
		r.regions.insert(n, byPrefix[n])
	}
	for _, l := range locations {
		r.locations.insert(l.Network, l)
	}
	r.nearest = make([][]int, len(pops))
	for i := range pops {
		r.nearest[i] = r.byDistance(pops[i].Location, i)
	}
	r.fallback = append([]int{defaultPoP}, r.byDistance(pops[defaultPoP].Location, defaultPoP)...)
	return r
}

// byDistance returns every PoP but skip, nearest to from first; PoPs
// without a location (or every PoP, when from is nil) keep their
// configuration order after those with one.
func (r *router) byDistance(from *Location, skip int) []int {
	idx := make([]int, 0, len(r.pops))
	for i := range r.pops {
		if i != skip {
			idx = append(idx, i)
		}
	}
	if from == nil {
		return idx
	}
	dist := func(i int) float64 {
		if r.pops[i].Location == nil {
			return math.Inf(1)
		}
		return distanceKm(*from, *r.pops[i].Location)
	}
	sort.SliceStable(idx, func(a, b int) bool { return dist(idx[a]) < dist(idx[b]) })
	return idx
}

// spreadBits is the granularity at which several equally good PoPs share
// clients: a /24 (IPv4) or /56 (IPv6) always gets the same one.
func spreadBits(a netip.Addr) int {
	if a.Is4() {
		return 24
	}
	return 56
}

// route chooses the PoP for a client network (an ECS subnet or the
// source address as a full-length prefix).
//
// The answer is the one for the network's first address (an ECS address
// has zeros past its source prefix), and d.scope is the shortest prefix of
// that address whose every address gets the same answer: RFC 7871 §7.2.1's
// SCOPE PREFIX-LENGTH. It is longer than the source prefix when the
// client's network holds more specific regions (ECS 127.0.0.0/8 with a
// region 127.2.0.0/16 elsewhere: scope /15, not /8), so that a resolver
// never reuses the answer for a network that gets another one, and learns
// to send a longer prefix next time.
func (r *router) route(client netip.Prefix, via string) decision {
	d := decision{pop: -1, via: via, client: client, failoverFrom: -1}
	addr := client.Addr().Unmap()
	d.scope = r.decide(addr, &d)
	if client.Addr().Is4In6() {
		d.scope += 96 // an IPv4-mapped ECS address counts IPv6 bits
	}
	return d
}

// decide routes the single address addr into d and returns the scope.
func (r *router) decide(addr netip.Addr, d *decision) int {
	bits := addr.BitLen()
	var buf [8]trieHit[[]int]
	m := r.regions.lookup(addr, bits, buf[:])
	scope := m.scope
	if len(m.path) > 0 {
		d.reason, d.network = ReasonRegion, m.path[0].prefix
		// The PoPs of the most specific region, then of the enclosing
		// ones.
		for _, hit := range m.path {
			if p, sb := r.pick(hit.val, addr); p >= 0 {
				scope = max(scope, sb)
				if hit.prefix != d.network {
					d.failoverFrom = m.path[0].val[0]
				}
				d.pop = p
				return scope
			}
		}
		// Then the PoPs nearest to the preferred one.
		primary := m.path[0].val[0]
		d.failoverFrom = primary
		d.pop = r.firstHealthy(r.nearest[primary])
		return scope
	}

	var lbuf [8]trieHit[Location]
	lm := r.locations.lookup(addr, bits, lbuf[:])
	// Also when nothing matched: a location network nearby changes the
	// answer of its addresses.
	scope = max(scope, lm.scope)
	if len(lm.path) > 0 {
		loc := lm.path[0].val
		d.reason, d.network = ReasonNearest, lm.path[0].prefix
		order := r.byDistance(&loc, -1)
		if len(order) > 0 && r.pops[order[0]].Location != nil {
			d.pop = r.firstHealthy(order)
			if d.pop != order[0] {
				d.failoverFrom = order[0]
			}
			return scope
		}
	}

	d.reason = ReasonDefault
	d.pop = r.firstHealthy(r.fallback)
	if d.pop != r.fallback[0] {
		d.failoverFrom = r.fallback[0]
	}
	return scope
}

func (r *router) firstHealthy(order []int) int {
	for _, i := range order {
		if r.healthy[i].Load() {
			return i
		}
	}
	return -1
}

// pick chooses among the healthy PoPs of cands (-1: none is healthy) for
// the client address addr. scope is the prefix length of addr the choice
// depends on (0: the same for every client of the region).
func (r *router) pick(cands []int, addr netip.Addr) (pop, scope int) {
	if len(cands) == 1 {
		if r.healthy[cands[0]].Load() {
			return cands[0], 0
		}
		return -1, 0
	}
	if r.policy == PolicyLeastLoaded && r.load != nil {
		best, bestLoad := -1, math.Inf(1)
		for _, i := range cands {
			if !r.healthy[i].Load() {
				continue
			}
			if l, ok := r.load(r.pops[i].Name); ok && l < bestLoad {
				best, bestLoad = i, l
			}
		}
		if best >= 0 {
			return best, 0
		}
	}
	// Weighted rendezvous hashing on the client's /24 (/56): the answer
	// now depends on those bits, so the ECS scope must cover them.
	sb := spreadBits(addr)
	key := netip.PrefixFrom(addr, sb).Masked().Addr().As16()
	h := maphash.Bytes(r.seed, key[:])
	best, bestScore := -1, math.Inf(-1)
	for _, i := range cands {
		if !r.healthy[i].Load() {
			continue
		}
		w := r.pops[i].Weight
		if w <= 0 {
			w = 1
		}
		u := float64(mix64(h^r.popSeeds[i])>>11+1) / (1 << 53) // (0, 1]
		score := -float64(w) / math.Log(u)
		if u == 1 {
			score = math.Inf(1)
		}
		if score > bestScore {
			best, bestScore = i, score
		}
	}
	if best < 0 {
		return -1, 0
	}
	return best, sb
}

// mix64 is the SplitMix64 finaliser.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
