package geodns

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// zone is one zone the server is authoritative for.
type zone struct {
	name string // canonical apex ("cdn.test.")
	soa  *dns.SOA
	// negSOA is the SOA as sent in the authority section of negative
	// answers: its TTL is min(SOA TTL, minimum) (RFC 2308 §3).
	negSOA *dns.SOA
	ns     []dns.RR
}

// node is an owner name with data.
type node struct {
	zone *zone
	// rrsets are the static records by type (including the apex SOA and
	// NS, and a CNAME, which is then the only type).
	rrsets map[uint16][]dns.RR
	// types lists the keys of rrsets in a stable order (for ANY).
	types []uint16
	// cdn marks a CDN name: A and AAAA come from the chosen PoP, indexed
	// by PoP (cdnA[i] / cdnAAAA[i] are PoP i's records for this name).
	cdn           bool
	cdnA, cdnAAAA [][]dns.RR
}

// zoneSet is the server's whole data, built once from a Config and read
// concurrently afterwards.
type zoneSet struct {
	zones map[string]*zone // by apex
	nodes map[string]*node // by owner name
	// ents are empty non-terminals: names with no data but with
	// descendants, which exist (NODATA, not NXDOMAIN).
	ents map[string]bool
	// nsName is ns1.<CDN zone>.
	nsName string
}

// findZone returns the zone name lies in (the closest enclosing apex), or
// nil. name must be canonical (lower case, absolute, in presentation
// format, where a dot inside a label is escaped as "\.").
func (zs *zoneSet) findZone(name string) *zone {
	for {
		if z, ok := zs.zones[name]; ok {
			return z
		}
		i := labelEnd(name)
		if i < 0 || i == len(name)-1 {
			// Only the root is left: none of ours.
			return nil
		}
		name = name[i+1:]
	}
}

// labelEnd returns the index of the dot that ends name's first label,
// skipping escaped characters ("\." and "\DDD"), or -1.
func labelEnd(name string) int {
	for i := 0; i < len(name); i++ {
		switch name[i] {
		case '\\':
			if i+3 < len(name) && isDigit(name[i+1]) && isDigit(name[i+2]) && isDigit(name[i+3]) {
				i += 3
			} else {
				i++
			}
		case '.':
			return i
		}
	}
	return -1
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// buildZones turns a Config into a zoneSet. pops are already validated.
func buildZones(cfg *Config, pops []PoP, serial uint32) (*zoneSet, error) {
	zs := &zoneSet{
		zones: make(map[string]*zone),
		nodes: make(map[string]*node),
		ents:  make(map[string]bool),
	}
	cdnZone := canonicalName(cfg.Zone)
	if _, ok := dns.IsDomainName(cdnZone); !ok || cdnZone == "." {
		return nil, fmt.Errorf("zone %q: want a domain name such as \"cdn.test.\"", cfg.Zone)
	}
	zs.nsName = "ns1." + cdnZone
	negTTL := ttlSeconds(cfg.NegativeTTL, DefaultNegativeTTL)
	recordTTL := ttlSeconds(0, DefaultRecordTTL)

	apexes := []string{cdnZone}
	for _, z := range cfg.Zones {
		c := canonicalName(z)
		if _, ok := dns.IsDomainName(c); !ok || c == "." {
			return nil, fmt.Errorf("zone %q: want a domain name such as \"example.test.\"", z)
		}
		apexes = append(apexes, c)
	}
	for _, apex := range apexes {
		if _, dup := zs.zones[apex]; dup {
			return nil, fmt.Errorf("zone %s: listed twice", apex)
		}
		soa := &dns.SOA{
			Hdr:     dns.RR_Header{Name: apex, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: recordTTL},
			Ns:      zs.nsName,
			Mbox:    "hostmaster." + apex,
			Serial:  serial,
			Refresh: 3600,
			Retry:   600,
			Expire:  604800,
			Minttl:  negTTL,
		}
		neg := *soa
		neg.Hdr.Ttl = min(soa.Hdr.Ttl, soa.Minttl)
		ns := &dns.NS{Hdr: dns.RR_Header{Name: apex, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: recordTTL}, Ns: zs.nsName}
		z := &zone{name: apex, soa: soa, negSOA: &neg, ns: []dns.RR{ns}}
		zs.zones[apex] = z
		zs.add(z, soa)
		zs.add(z, ns)
	}
	// Nested zones (cdn.shop.test. inside shop.test.) need no delegation:
	// both are served here, and findZone picks the closest apex, as any
	// server hosting both zones does.

	// The name server's own address.
	for _, a := range cfg.NSAddrs {
		rr := addrRR(zs.nsName, a, recordTTL)
		zs.add(zs.zones[cdnZone], rr)
	}

	// Static records.
	for _, line := range cfg.Records {
		rr, err := parseRecord(line, recordTTL)
		if err != nil {
			return nil, err
		}
		name := canonicalName(rr.Header().Name)
		rr.Header().Name = name
		z := zs.findZone(name)
		if z == nil {
			return nil, fmt.Errorf("record %q: %s is outside the zones %s", line, name, strings.Join(apexes, ", "))
		}
		switch rr.Header().Rrtype {
		case dns.TypeSOA, dns.TypeNS:
			return nil, fmt.Errorf("record %q: SOA and NS records are generated; delegations are not supported", line)
		case dns.TypeCNAME:
			if name == z.name {
				return nil, fmt.Errorf("record %q: a zone apex cannot be a CNAME", line)
			}
			c := rr.(*dns.CNAME)
			c.Target = canonicalName(c.Target)
		}
		if name == zs.nsName {
			return nil, fmt.Errorf("record %q: %s is the name server's own name", line, name)
		}
		zs.add(z, rr)
	}

	// CDN names: every customer host's target inside the CDN zone, and
	// the extra names.
	ttl := ttlSeconds(cfg.TTL, DefaultTTL)
	cdnNames := append([]string(nil), cfg.CDNNames...)
	hosts := make([]string, 0, len(cfg.Hosts))
	for h := range cfg.Hosts {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	for _, h := range hosts {
		host, target := canonicalName(h), canonicalName(cfg.Hosts[h])
		for _, n := range []string{host, target} {
			if _, ok := dns.IsDomainName(n); !ok {
				return nil, fmt.Errorf("host %q: %q is not a domain name", h, n)
			}
		}
		z := zs.findZone(host)
		if z == nil {
			return nil, fmt.Errorf("host %s: outside the zones %s (add its zone to zones)", host, strings.Join(apexes, ", "))
		}
		if host == z.name {
			return nil, fmt.Errorf("host %s: a zone apex cannot be a CNAME", host)
		}
		if host == target {
			return nil, fmt.Errorf("host %s: points to itself", host)
		}
		zs.add(z, &dns.CNAME{Hdr: dns.RR_Header{Name: host, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: ttl}, Target: target})
		if dns.IsSubDomain(cdnZone, target) && target != cdnZone {
			cdnNames = append(cdnNames, target)
		}
	}
	for _, n := range cdnNames {
		name := canonicalName(n)
		if !dns.IsSubDomain(cdnZone, name) || name == cdnZone {
			return nil, fmt.Errorf("CDN name %s: must be inside the CDN zone %s", name, cdnZone)
		}
		if name == zs.nsName {
			return nil, fmt.Errorf("CDN name %s: is the name server's own name", name)
		}
		nd := zs.nodes[name]
		if nd != nil && nd.cdn {
			continue
		}
		if nd == nil {
			nd = &node{zone: zs.zones[cdnZone]}
			zs.nodes[name] = nd
		}
		nd.cdn = true
		nd.cdnA = make([][]dns.RR, len(pops))
		nd.cdnAAAA = make([][]dns.RR, len(pops))
		for i, p := range pops {
			for _, a := range p.Addrs {
				rr := addrRR(name, a, ttl)
				if a.Is4() {
					nd.cdnA[i] = append(nd.cdnA[i], rr)
				} else {
					nd.cdnAAAA[i] = append(nd.cdnAAAA[i], rr)
				}
			}
		}
	}

	// Consistency (RFC 1034 §3.6.2: a CNAME owner has no other data) and
	// the empty non-terminals.
	for name, nd := range zs.nodes {
		if _, ok := nd.rrsets[dns.TypeCNAME]; ok && (len(nd.rrsets) > 1 || nd.cdn) {
			return nil, fmt.Errorf("%s: a CNAME cannot coexist with other records (or be a CDN name)", name)
		}
		if nd.cdn && (len(nd.rrsets[dns.TypeA]) > 0 || len(nd.rrsets[dns.TypeAAAA]) > 0) {
			return nil, fmt.Errorf("%s: a CDN name cannot also have static A/AAAA records", name)
		}
		sort.Slice(nd.types, func(i, j int) bool { return nd.types[i] < nd.types[j] })
		for p := parentName(name); p != "" && p != nd.zone.name && dns.IsSubDomain(nd.zone.name, p); p = parentName(p) {
			if _, ok := zs.nodes[p]; !ok {
				zs.ents[p] = true
			}
		}
	}
	// CNAME chains inside our zones must end.
	for name, nd := range zs.nodes {
		seen := map[string]bool{name: true}
		for cn := nd.rrsets[dns.TypeCNAME]; len(cn) > 0; {
			target := cn[0].(*dns.CNAME).Target
			if seen[target] {
				return nil, fmt.Errorf("%s: CNAME loop through %s", name, target)
			}
			if len(seen) >= maxChain {
				return nil, fmt.Errorf("%s: CNAME chain longer than %d", name, maxChain)
			}
			seen[target] = true
			next := zs.nodes[target]
			if next == nil {
				break
			}
			cn = next.rrsets[dns.TypeCNAME]
		}
	}
	return zs, nil
}

func (zs *zoneSet) add(z *zone, rr dns.RR) {
	name := rr.Header().Name
	nd := zs.nodes[name]
	if nd == nil {
		nd = &node{zone: z, rrsets: make(map[uint16][]dns.RR)}
		zs.nodes[name] = nd
	}
	if nd.rrsets == nil {
		nd.rrsets = make(map[uint16][]dns.RR)
	}
	t := rr.Header().Rrtype
	if _, ok := nd.rrsets[t]; !ok {
		nd.types = append(nd.types, t)
	}
	// All records of an RRset share one TTL (RFC 2181 §5.2): the lowest.
	set := append(nd.rrsets[t], rr)
	minTTL := set[0].Header().Ttl
	for _, r := range set {
		minTTL = min(minTTL, r.Header().Ttl)
	}
	for _, r := range set {
		r.Header().Ttl = minTTL
	}
	nd.rrsets[t] = set
}

// parentName returns name without its first label ("" for the root).
func parentName(name string) string {
	i := labelEnd(name)
	if i < 0 || i == len(name)-1 {
		return ""
	}
	return name[i+1:]
}

// parseRecord reads one zone-file line with absolute names.
func parseRecord(line string, defaultTTL uint32) (dns.RR, error) {
	zp := dns.NewZoneParser(strings.NewReader(line), ".", "")
	zp.SetDefaultTTL(defaultTTL)
	rr, ok := zp.Next()
	if err := zp.Err(); err != nil {
		return nil, fmt.Errorf("record %q: %w", line, err)
	}
	if !ok || rr == nil {
		return nil, fmt.Errorf("record %q: no record", line)
	}
	if _, more := zp.Next(); more {
		return nil, fmt.Errorf("record %q: one record per entry", line)
	}
	if rr.Header().Class != dns.ClassINET {
		return nil, fmt.Errorf("record %q: only class IN is served", line)
	}
	return rr, nil
}

func addrRR(name string, a netip.Addr, ttl uint32) dns.RR {
	hdr := dns.RR_Header{Name: name, Class: dns.ClassINET, Ttl: ttl}
	if a.Is4() || a.Is4In6() {
		hdr.Rrtype = dns.TypeA
		b := a.Unmap().As4()
		return &dns.A{Hdr: hdr, A: b[:]}
	}
	hdr.Rrtype = dns.TypeAAAA
	b := a.As16()
	return &dns.AAAA{Hdr: hdr, AAAA: b[:]}
}

func ttlSeconds(d, def time.Duration) uint32 {
	if d <= 0 {
		d = def
	}
	s := d / time.Second
	if s < 1 {
		s = 1
	}
	return uint32(min(s, 1<<31-1))
}
