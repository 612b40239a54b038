package geodns

import (
	"encoding/binary"
	"net/netip"

	"github.com/miekg/dns"
)

// Both transports hand each message's bytes to answerRaw: one place
// for the header checks, the unpacking and the checks that need the wire
// form (the length of an ECS address), so UDP and TCP answer alike.

// Header flag bits (RFC 1035 §4.1.1; AD and CD from RFC 4035 §3.2).
const (
	flagQR = 1 << 15
	flagRD = 1 << 8
	flagCD = 1 << 4
)

// headerOf reads the fixed 12-byte header of a message at least that
// long.
func headerOf(data []byte) dns.Header {
	return dns.Header{
		Id:      binary.BigEndian.Uint16(data),
		Bits:    binary.BigEndian.Uint16(data[2:]),
		Qdcount: binary.BigEndian.Uint16(data[4:]),
		Ancount: binary.BigEndian.Uint16(data[6:]),
		Nscount: binary.BigEndian.Uint16(data[8:]),
		Arcount: binary.BigEndian.Uint16(data[10:]),
	}
}

// acceptQuery is the early header check: responses are ignored, only
// QUERY is implemented, and a query has at most one question (none is
// answered FORMERR after parsing, so that an OPT can be echoed), no
// answer records, at most one authority record (IXFR's SOA, RFC 1995 §3)
// and at most two additional records (OPT and TSIG).
func acceptQuery(h dns.Header) dns.MsgAcceptAction {
	if h.Bits&flagQR != 0 {
		return dns.MsgIgnore
	}
	if opcode := int(h.Bits>>11) & 0xF; opcode != dns.OpcodeQuery {
		return dns.MsgRejectNotImplemented
	}
	if h.Qdcount > 1 || h.Ancount != 0 || h.Nscount > 1 || h.Arcount > 2 {
		return dns.MsgReject
	}
	return dns.MsgAccept
}

// answerRaw answers one message received over UDP or TCP: it drops what
// is not a query, answers NOTIMP or FORMERR what cannot be answered, and
// answers the rest. It returns nil when nothing is to be sent. A panic
// while answering is logged and answered SERVFAIL.
func (s *Server) answerRaw(data []byte, remote netip.AddrPort, tcp bool) (resp *dns.Msg, info queryInfo) {
	if len(data) < 12 {
		return nil, info // too short to answer: any reply could reflect
	}
	h := headerOf(data)
	switch acceptQuery(h) {
	case dns.MsgIgnore:
		return nil, info
	case dns.MsgReject:
		return headerReply(h, dns.RcodeFormatError), info
	case dns.MsgRejectNotImplemented:
		return headerReply(h, dns.RcodeNotImplemented), info
	}
	req := new(dns.Msg)
	if err := req.Unpack(data); err != nil {
		s.invalid(data, err)
		return headerReply(h, dns.RcodeFormatError), info
	}
	defer func() {
		if v := recover(); v != nil {
			s.logger.Error("dns: panic answering a query", "panic", v, "client", remote)
			resp = headerReply(h, dns.RcodeServerFailure)
		}
	}()
	return s.answer(req, data, remote, tcp)
}

// headerReply is a response with no sections, for messages that cannot
// be answered properly. The header flags are defined for QUERY only
// (genreport's opcode tests): for other opcodes only QR is set; for QUERY,
// RD and CD are copied as in any answer (RFC 1035 §4.1.1, RFC 6840 §5.9)
// and the other flags are the server's own (all clear here).
func headerReply(h dns.Header, rcode int) *dns.Msg {
	m := new(dns.Msg)
	m.Id = h.Id
	m.Response = true
	m.Opcode = int(h.Bits>>11) & 0xF
	if m.Opcode == dns.OpcodeQuery {
		m.RecursionDesired = h.Bits&flagRD != 0
		m.CheckingDisabled = h.Bits&flagCD != 0
	}
	m.Rcode = rcode
	return m
}

// ecsOctetsOK reports whether every ECS option in the OPT record of the
// message msg has exactly as many address octets as its source prefix
// needs (RFC 7871 §6: too few or too many is FORMERR). The parsed option
// cannot tell: the library pads or cuts the address to the family's
// length.
func ecsOctetsOK(msg []byte) bool {
	h := headerOf(msg)
	off := 12
	for range h.Qdcount {
		o, ok := skipName(msg, off)
		if !ok {
			return false
		}
		off = o + 4
	}
	for i := range int(h.Ancount) + int(h.Nscount) + int(h.Arcount) {
		o, ok := skipName(msg, off)
		if !ok || o+10 > len(msg) {
			return false
		}
		rrtype := binary.BigEndian.Uint16(msg[o:])
		rdlen := int(binary.BigEndian.Uint16(msg[o+8:]))
		rdata := o + 10
		if rdata+rdlen > len(msg) {
			return false
		}
		if i >= int(h.Ancount)+int(h.Nscount) && rrtype == dns.TypeOPT {
			for p := rdata; p+4 <= rdata+rdlen; {
				code := binary.BigEndian.Uint16(msg[p:])
				l := int(binary.BigEndian.Uint16(msg[p+2:]))
				if p+4+l > rdata+rdlen {
					return false
				}
				if code == dns.EDNS0SUBNET && (l < 4 || l-4 != (int(msg[p+6])+7)/8) {
					return false
				}
				p += 4 + l
			}
		}
		off = rdata + rdlen
	}
	return true
}

// skipName returns the offset just past the (possibly compressed) domain
// name at off in msg; false when it runs past the end.
func skipName(msg []byte, off int) (int, bool) {
	for off < len(msg) {
		switch l := int(msg[off]); {
		case l == 0:
			return off + 1, true
		case l&0xC0 == 0xC0:
			return off + 2, off+2 <= len(msg)
		default:
			off += 1 + l
		}
	}
	return 0, false
}
