package geodns

import (
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"time"

	"github.com/dchest/siphash"
	"github.com/miekg/dns"
)

// DNS Cookies (RFC 7873) with server cookies in the interoperable format
// of RFC 9018: version 1, three reserved octets, a 32-bit timestamp and
// SipHash-2-4 over the client cookie, those 8 octets and the client's
// address, keyed with a secret the server draws at start. A client that
// presents a valid server cookie has shown it receives what is sent to
// its address, so its UDP queries are not rate limited.

const (
	clientCookieLen = 8
	serverCookieLen = 16 // RFC 9018 §4
	cookieMaxAge    = time.Hour
	cookieMaxAhead  = 5 * time.Minute // clock skew allowed (RFC 9018 §4.3)
)

// cookieState is what a query's COOKIE option said.
type cookieState int

const (
	cookieNone      cookieState = iota // no COOKIE option
	cookieClient                       // a client cookie, no or an invalid server cookie
	cookieValid                        // a server cookie this server made for this client, still fresh
	cookieMalformed                    // an option of a length RFC 7873 §4 does not allow
)

// checkCookie classifies the COOKIE option o of a query from client, and
// returns the client cookie it carries.
func (s *Server) checkCookie(o *dns.EDNS0_COOKIE, client netip.Addr) (cookieState, []byte) {
	b, err := hex.DecodeString(o.Cookie)
	// RFC 7873 §5.2.2: 8 octets (client cookie only) or 16 to 40 (with a
	// server cookie of 8 to 32).
	if err != nil || (len(b) != clientCookieLen && (len(b) < 16 || len(b) > 40)) {
		return cookieMalformed, nil
	}
	cc := b[:clientCookieLen]
	sc := b[clientCookieLen:]
	if len(sc) != serverCookieLen || sc[0] != 1 {
		return cookieClient, cc
	}
	ts := binary.BigEndian.Uint32(sc[4:])
	now := s.now()
	made := time.Unix(int64(ts), 0)
	if made.Before(now.Add(-cookieMaxAge)) || made.After(now.Add(cookieMaxAhead)) {
		return cookieClient, cc
	}
	want := s.serverCookie(cc, [4]byte(sc[:4]), ts, client)
	if subtle.ConstantTimeCompare(want[:], sc) != 1 {
		return cookieClient, cc
	}
	return cookieValid, cc
}

// cookieOption is the COOKIE option of a response to a query with client
// cookie cc from client: the client cookie and a fresh server cookie
// (RFC 7873 §5.2.3–5.2.5).
func (s *Server) cookieOption(cc []byte, client netip.Addr) *dns.EDNS0_COOKIE {
	sc := s.serverCookie(cc, [4]byte{1, 0, 0, 0}, uint32(s.now().Unix()), client)
	return &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: hex.EncodeToString(cc) + hex.EncodeToString(sc[:])}
}

// serverCookie computes an RFC 9018 server cookie: version and reserved
// octets vr, timestamp ts, and the hash of client cookie, vr, ts and the
// client's address.
func (s *Server) serverCookie(cc []byte, vr [4]byte, ts uint32, client netip.Addr) [serverCookieLen]byte {
	var in [clientCookieLen + 8 + 16]byte
	n := copy(in[:], cc)
	n += copy(in[n:], vr[:])
	binary.BigEndian.PutUint32(in[n:], ts)
	n += 4
	client = client.Unmap()
	n += copy(in[n:], client.AsSlice())
	var out [serverCookieLen]byte
	copy(out[:], vr[:])
	binary.BigEndian.PutUint32(out[4:], ts)
	binary.LittleEndian.PutUint64(out[8:], sipHash24(&s.cookieSecret, in[:n]))
	return out
}

// sipHash24 is SipHash-2-4 (Aumasson and Bernstein, 2012) of msg with a
// 128-bit key: the hash RFC 9018 §4.4 prescribes for server cookies.
func sipHash24(key *[16]byte, msg []byte) uint64 {
	return siphash.Hash(binary.LittleEndian.Uint64(key[:8]), binary.LittleEndian.Uint64(key[8:]), msg)
}
