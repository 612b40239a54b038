package geodns

import (
	"encoding/json"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// DebugOption is the EDNS(0) option code (from the local/experimental
// range of RFC 6891 §9) a client sends, empty, to ask which PoP was chosen
// and why. The answer carries the same option with a JSON Debug object.
// Other clients never see it.
const DebugOption uint16 = 65173

// Debug is the content of the DebugOption in a response.
type Debug struct {
	PoP    string `json:"pop,omitempty"`
	Reason string `json:"reason"`
	// Via is "ecs" or "source": which client address was routed.
	Via string `json:"via,omitempty"`
	// Client is the routed network (the ECS subnet or the source address).
	Client string `json:"client,omitempty"`
	// Network is the region or location network that matched.
	Network string `json:"network,omitempty"`
	// FailoverFrom is the preferred PoP, when it was down.
	FailoverFrom string `json:"failover_from,omitempty"`
	// Detail is a sentence for people.
	Detail string `json:"detail"`
}

// maxChain bounds CNAME chasing inside our zones.
const maxChain = 8

// queryInfo is what the query log and metrics need from one query.
type queryInfo struct {
	qname  string
	qtype  uint16
	ecs    *dns.EDNS0_SUBNET
	routed bool
	d      decision
	drop   bool
	cookie cookieState
}

// answer builds the response to req (raw: its wire form) from remote,
// applying the UDP rate limit. It returns nil when nothing is to be sent.
func (s *Server) answer(req *dns.Msg, raw []byte, remote netip.AddrPort, tcp bool) (*dns.Msg, queryInfo) {
	resp, info := s.respond(req, raw, remote.Addr(), tcp)
	if info.drop || resp == nil {
		return nil, info
	}
	if !tcp && s.limiter != nil && info.cookie != cookieValid {
		// A valid server cookie proves the source address: no limit.
		if ok, slip := s.limiter.allow(remote.Addr()); !ok {
			if !slip {
				s.metrics.limited("drop")
				return nil, info
			}
			s.metrics.limited("slip")
			slim := new(dns.Msg)
			slim.SetReply(req)
			slim.Truncated = true
			if opt := resp.IsEdns0(); opt != nil {
				// An EDNS query gets an OPT back, even here (RFC 6891
				// §7); options would only make the slip bigger.
				bare := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
				bare.SetUDPSize(opt.UDPSize())
				if opt.Do() {
					bare.SetDo()
				}
				slim.Extra = []dns.RR{bare}
			}
			return slim, info
		}
	}
	return resp, info
}

// account records a sent response in the metrics and the query log.
func (s *Server) account(resp *dns.Msg, info *queryInfo, remote netip.AddrPort, tcp bool, start time.Time) {
	if resp.Truncated && !tcp {
		s.metrics.truncate()
	}
	s.metrics.query(tcp, resp.Rcode)
	if info.routed {
		s.metrics.answer(info.d)
	}
	if s.qlog != nil {
		s.qlog.log(remote, tcp, resp, info, time.Since(start), s.router.pops)
	}
}

func addrOf(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.UDPAddr:
		return a.AddrPort()
	case *net.TCPAddr:
		return a.AddrPort()
	}
	if a == nil {
		return netip.AddrPort{}
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}

// respond builds the response to req (raw: its wire form) from client.
// It returns nil (and info.drop) for messages that get no answer at all.
func (s *Server) respond(req *dns.Msg, raw []byte, client netip.Addr, tcp bool) (*dns.Msg, queryInfo) {
	var info queryInfo
	if req.Response {
		info.drop = true
		return nil, info
	}
	resp := new(dns.Msg)
	resp.SetReply(req)
	if req.Opcode != dns.OpcodeQuery {
		resp.Rcode = dns.RcodeNotImplemented
		resp.Question = nil
		resp.RecursionDesired, resp.CheckingDisabled = false, false
		return resp, info
	}

	// EDNS(0), RFC 6891: first, so that every error below carries an OPT
	// when the query had one (§7).
	limit := dns.MinMsgSize
	var (
		respOpt *dns.OPT
		debug   bool
	)
	nOpt := 0
	for _, rr := range req.Extra {
		if rr.Header().Rrtype == dns.TypeOPT {
			nOpt++
		}
	}
	if opt := req.IsEdns0(); opt != nil {
		respOpt = &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
		respOpt.SetUDPSize(uint16(s.maxUDP))
		if opt.Do() {
			respOpt.SetDo() // RFC 3225 §3: copied, DNSSEC or not
		}
		if nOpt > 1 || opt.Hdr.Name != "." {
			return s.finish(resp, respOpt, dns.RcodeFormatError, limit), info
		}
		if opt.Version() != 0 {
			// BADVERS, with our version (0) in the OPT (§6.1.3).
			return s.finish(resp, respOpt, dns.RcodeBadVers, limit), info
		}
		limit = max(dns.MinMsgSize, min(int(opt.UDPSize()), s.maxUDP))
		for _, o := range opt.Option {
			switch o := o.(type) {
			case *dns.EDNS0_SUBNET:
				if info.ecs != nil || !validECS(o) {
					return s.finish(resp, respOpt, dns.RcodeFormatError, limit), info
				}
				info.ecs = o
			case *dns.EDNS0_LOCAL:
				if o.Code == DebugOption {
					debug = true
				}
			case *dns.EDNS0_COOKIE:
				if info.cookie != cookieNone {
					continue // the first one counts
				}
				state, cc := s.checkCookie(o, client)
				info.cookie = state
				if state == cookieMalformed {
					// RFC 7873 §5.2.2.
					return s.finish(resp, respOpt, dns.RcodeFormatError, limit), info
				}
				// Every response from here on carries a fresh server
				// cookie (§5.2.3-5.2.5).
				respOpt.Option = append(respOpt.Option, s.cookieOption(cc, client))
			}
		}
		if info.ecs != nil && !ecsOctetsOK(raw) {
			return s.finish(resp, respOpt, dns.RcodeFormatError, limit), info
		}
	}
	if len(req.Question) == 0 && info.cookie != cookieNone {
		// A query for a server cookie only (RFC 7873 §5.4).
		return s.finish(resp, respOpt, dns.RcodeSuccess, limit), info
	}
	if len(req.Question) != 1 {
		return s.finish(resp, respOpt, dns.RcodeFormatError, limit), info
	}
	q := req.Question[0]
	info.qname, info.qtype = q.Name, q.Qtype
	if len(req.Ns) > 0 && (q.Qtype != dns.TypeIXFR || req.Ns[0].Header().Rrtype != dns.TypeSOA) {
		// Only IXFR has an authority section (RFC 1995 §3).
		return s.finish(resp, respOpt, dns.RcodeFormatError, limit), info
	}
	for i, rr := range req.Extra {
		if tsig, ok := rr.(*dns.TSIG); ok {
			if i != len(req.Extra)-1 {
				// RFC 8945 §5.1: TSIG is the last record, or the message
				// is malformed.
				return s.finish(resp, respOpt, dns.RcodeFormatError, limit), info
			}
			if tsig.Hdr.Rdlength == 0 || tsig.Algorithm == "" || tsig.Hdr.Class != dns.ClassANY || tsig.Hdr.Ttl != 0 {
				// A TSIG that cannot be interpreted (no RDATA, so no
				// algorithm to answer with) or breaks §4.2 (class ANY,
				// TTL 0): the message is corrupt, FORMERR (§5.2).
				return s.finish(resp, respOpt, dns.RcodeFormatError, limit), info
			}
			// We hold no keys: NOTAUTH with an unsigned BADKEY TSIG
			// (RFC 8945 §5.2.2, §5.3.2), not an answer as if the
			// signature had been checked.
			resp = s.finish(resp, respOpt, dns.RcodeNotAuth, limit)
			resp.Extra = append(resp.Extra, &dns.TSIG{
				Hdr:        dns.RR_Header{Name: tsig.Hdr.Name, Rrtype: dns.TypeTSIG, Class: dns.ClassANY},
				Algorithm:  tsig.Algorithm,
				TimeSigned: uint64(s.now().Unix()),
				Fudge:      max(tsig.Fudge, 300), // a zero fudge would make the time unverifiable
				OrigId:     req.Id,
				Error:      dns.RcodeBadKey,
			})
			return resp, info
		}
	}
	if tcp {
		limit = dns.MaxMsgSize
	}

	if q.Qclass != dns.ClassINET {
		addEDE(respOpt, dns.ExtendedErrorCodeNotSupported, "only class IN is served")
		return s.finish(resp, respOpt, dns.RcodeRefused, limit), info
	}
	switch q.Qtype {
	case dns.TypeOPT:
		return s.finish(resp, respOpt, dns.RcodeFormatError, limit), info
	case dns.TypeAXFR, dns.TypeIXFR:
		// No zone transfers.
		addEDE(respOpt, dns.ExtendedErrorCodeProhibited, "no zone transfers")
		return s.finish(resp, respOpt, dns.RcodeRefused, limit), info
	case dns.TypeMAILA, dns.TypeMAILB, dns.TypeTKEY, dns.TypeTSIG:
		return s.finish(resp, respOpt, dns.RcodeNotImplemented, limit), info
	}

	name := strings.ToLower(q.Name)
	z := s.zones.findZone(name)
	if z == nil {
		// Not ours: no recursion, no referral upwards.
		addEDE(respOpt, dns.ExtendedErrorCodeNotAuthoritative, "")
		return s.finish(resp, respOpt, dns.RcodeRefused, limit), info
	}
	resp.Authoritative = true
	rcode := dns.RcodeSuccess
	seen := 0
	for {
		nd := s.zones.nodes[name]
		if nd == nil {
			if !s.zones.ents[name] {
				rcode = dns.RcodeNameError
			}
			resp.Ns = append(resp.Ns, z.negSOA)
			break
		}
		if cn, ok := nd.rrsets[dns.TypeCNAME]; ok && q.Qtype != dns.TypeCNAME {
			resp.Answer = append(resp.Answer, cn...)
			if q.Qtype == dns.TypeANY {
				break
			}
			target := cn[0].(*dns.CNAME).Target
			tz := s.zones.findZone(target)
			seen++
			if tz == nil || seen >= maxChain {
				// Outside our authority (the resolver follows it), or
				// too long a chain.
				break
			}
			name, z = target, tz
			continue
		}
		if nd.cdn && (q.Qtype == dns.TypeA || q.Qtype == dns.TypeAAAA || q.Qtype == dns.TypeANY) {
			if !info.routed {
				info.d = s.route(client, info.ecs)
				info.routed = true
			}
			if info.d.pop < 0 {
				// Every PoP is down: no answer is better than a dead one.
				resp.Answer = nil
				resp.Authoritative = false
				rcode = dns.RcodeServerFailure
				addEDE(respOpt, dns.ExtendedErrorCodeOther, "every PoP for this client is down")
				break
			}
			rrs := nd.cdnA[info.d.pop]
			if q.Qtype == dns.TypeAAAA || (q.Qtype == dns.TypeANY && len(rrs) == 0) {
				rrs = nd.cdnAAAA[info.d.pop]
			}
			if len(rrs) == 0 {
				resp.Ns = append(resp.Ns, z.negSOA)
				break
			}
			resp.Answer = append(resp.Answer, rrs...)
			break
		}
		var rrs []dns.RR
		if q.Qtype == dns.TypeANY {
			// RFC 8482 §4.1: one RRset, not all of them.
			if len(nd.types) > 0 {
				rrs = nd.rrsets[nd.types[0]]
			}
		} else {
			rrs = nd.rrsets[q.Qtype]
		}
		if len(rrs) == 0 {
			resp.Ns = append(resp.Ns, z.negSOA)
			break
		}
		resp.Answer = append(resp.Answer, rrs...)
		if rrs[0].Header().Rrtype == dns.TypeNS {
			// The name server's address, when we hold it.
			if ns := s.zones.nodes[s.zones.nsName]; ns != nil {
				resp.Extra = append(resp.Extra, ns.rrsets[dns.TypeA]...)
				resp.Extra = append(resp.Extra, ns.rrsets[dns.TypeAAAA]...)
			}
		}
		break
	}

	if respOpt != nil {
		if info.ecs != nil {
			// RFC 7871 §7.2.1: echo family, source prefix and address;
			// the scope says how far the answer applies (0: not at all
			// subnet-specific).
			e := &dns.EDNS0_SUBNET{
				Code:          dns.EDNS0SUBNET,
				Family:        info.ecs.Family,
				SourceNetmask: info.ecs.SourceNetmask,
				Address:       info.ecs.Address,
			}
			if info.routed && info.d.via == "ecs" {
				e.SourceScope = uint8(info.d.scope)
			}
			respOpt.Option = append(respOpt.Option, e)
		}
		if debug {
			respOpt.Option = append(respOpt.Option, &dns.EDNS0_LOCAL{Code: DebugOption, Data: s.debugData(&info)})
		}
	}
	return s.finish(resp, respOpt, rcode, limit), info
}

// finish sets the rcode, adds the OPT record and fits the response into
// limit bytes: when the answer does not fit, the response is sent empty
// with TC set (RFC 2181 §9: no partial RRsets), and the client retries over
// TCP.
func (s *Server) finish(resp *dns.Msg, opt *dns.OPT, rcode, limit int) *dns.Msg {
	resp.Rcode = rcode
	if rcode != dns.RcodeSuccess && rcode != dns.RcodeNameError {
		resp.Answer, resp.Ns, resp.Extra = nil, nil, nil
		resp.Authoritative = false
	}
	if opt != nil {
		resp.Extra = append(resp.Extra, opt)
	}
	// The uncompressed length is cheap to compute and bounds the packed
	// one: most responses stop here.
	resp.Compress = false
	l := resp.Len()
	resp.Compress = true
	if l <= limit || resp.Len() <= limit {
		return resp
	}
	// Optional additional data goes first.
	resp.Extra = resp.Extra[:0]
	if opt != nil {
		resp.Extra = append(resp.Extra, opt)
	}
	if resp.Len() <= limit {
		return resp
	}
	resp.Answer, resp.Ns = nil, nil
	resp.Truncated = true
	if resp.Len() > limit && opt != nil {
		// Options (ECS, debug) must not make an empty answer overflow.
		opt.Option = nil
	}
	return resp
}

// addEDE adds an Extended DNS Error (RFC 8914) saying why, to the OPT of
// a response to an EDNS query.
func addEDE(opt *dns.OPT, code uint16, text string) {
	if opt != nil {
		opt.Option = append(opt.Option, &dns.EDNS0_EDE{InfoCode: code, ExtraText: text})
	}
}

// validECS checks an ECS option from a query (RFC 7871 §6): a known
// family, a source prefix that fits it, a zero scope, and no address bits
// set beyond the source prefix.
func validECS(e *dns.EDNS0_SUBNET) bool {
	var bits int
	switch e.Family {
	case 0:
		return e.SourceNetmask == 0 && e.SourceScope == 0
	case 1:
		bits = 32
	case 2:
		bits = 128
	default:
		return false
	}
	if int(e.SourceNetmask) > bits || e.SourceScope != 0 {
		return false
	}
	p, ok := ecsPrefix(e)
	if !ok {
		return false
	}
	return p.Masked().Addr() == p.Addr()
}

// ecsPrefix converts an ECS option to a prefix.
func ecsPrefix(e *dns.EDNS0_SUBNET) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(e.Address)
	if !ok {
		return netip.Prefix{}, false
	}
	if e.Family == 1 {
		a = a.Unmap()
		if !a.Is4() {
			return netip.Prefix{}, false
		}
	} else if a.Is4() {
		a = netip.AddrFrom16(a.As16())
	}
	return netip.PrefixFrom(a, int(e.SourceNetmask)), true
}

// route decides the PoP from the ECS option, or the source address when
// there is none or it has a zero source prefix (RFC 7871 §7.1.2).
func (s *Server) route(client netip.Addr, ecs *dns.EDNS0_SUBNET) decision {
	if ecs != nil && ecs.SourceNetmask > 0 {
		if p, ok := ecsPrefix(ecs); ok {
			return s.router.route(p, "ecs")
		}
	}
	client = client.Unmap()
	if !client.IsValid() {
		client = netip.IPv4Unspecified()
	}
	d := s.router.route(netip.PrefixFrom(client, client.BitLen()), "source")
	return d
}

func (s *Server) debugData(info *queryInfo) []byte {
	dbg := Debug{Reason: "static", Detail: "the answer does not depend on the client"}
	if info.routed {
		d := info.d
		dbg = Debug{
			Reason: d.reason,
			Via:    d.via,
			Client: d.client.String(),
			Detail: d.String(s.router.pops),
		}
		if d.pop >= 0 {
			dbg.PoP = s.router.pops[d.pop].Name
		}
		if d.network.IsValid() {
			dbg.Network = d.network.String()
		}
		if d.failoverFrom >= 0 {
			dbg.FailoverFrom = s.router.pops[d.failoverFrom].Name
		}
	}
	b, _ := json.Marshal(dbg)
	return b
}
