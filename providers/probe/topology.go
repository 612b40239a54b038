package probe

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/cdnctl/cdnctl/localedge"
)

// Local is how to probe a local topology (`cdnctl serve`).
type Local struct {
	Targets []Target
	// Locate maps an edge's address to its name and host:port, for
	// Prober.Locate: the local PoPs listen on different ports.
	Locate func(ip netip.Addr) (pop, addr string, ok bool)
}

// LocalTargets builds the targets for the PoPs of a local topology: the
// named ones (every edge when none), in the topology's order. With viaDNS,
// an edge with client regions is reached the way its clients reach it,
// through DNS for its first region (so GeoDNS failover shows); otherwise,
// and always for the shield, the PoP's own address is dialled.
func LocalTargets(info localedge.TopologyInfo, pops []string, viaDNS bool) (*Local, error) {
	var known []string
	for _, p := range info.PoPs {
		known = append(known, p.Name)
	}
	for _, name := range pops {
		if !slices.Contains(known, name) {
			return nil, fmt.Errorf("probe: PoP %q is not in the topology (it has %s)", name, strings.Join(known, ", "))
		}
	}
	l := &Local{}
	byIP := map[netip.Addr]localedge.PoPInfo{}
	for _, p := range info.PoPs {
		if p.Role == localedge.RoleShield {
			continue
		}
		if host, _, err := net.SplitHostPort(p.Addr); err == nil {
			if ip, err := netip.ParseAddr(host); err == nil {
				if _, dup := byIP[ip]; !dup {
					byIP[ip] = p
				}
			}
		}
	}
	l.Locate = func(ip netip.Addr) (string, string, bool) {
		p, ok := byIP[ip.Unmap()]
		return p.Name, p.Addr, ok
	}
	for _, p := range info.PoPs {
		if len(pops) == 0 && p.Role == localedge.RoleShield {
			continue
		}
		if len(pops) > 0 && !slices.Contains(pops, p.Name) {
			continue
		}
		t := Target{Name: p.Name, Addr: p.Addr}
		if viaDNS && len(p.Regions) > 0 {
			if pre, err := netip.ParsePrefix(p.Regions[0]); err == nil {
				t.Addr, t.Region = "", pre.Masked()
			}
		}
		l.Targets = append(l.Targets, t)
	}
	return l, nil
}
