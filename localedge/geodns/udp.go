package geodns

import (
	"errors"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// The UDP side does not use dns.Server, which starts a goroutine per
// datagram: a fixed pool of workers each read a batch of datagrams
// (recvmmsg on Linux), answer them and send the answers in one batch
// (sendmmsg). That bounds the work in flight under a flood, and saves the
// goroutine start, stack growth and two system calls per query.

const (
	udpBatch   = 32   // datagrams per read
	udpReadBuf = 4096 // bytes per datagram read (queries are far smaller)
)

// batchConn is what ipv4.PacketConn and ipv6.PacketConn have in common.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

func newBatchConn(c net.PacketConn) batchConn {
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() == nil && len(a.IP) == net.IPv6len {
		return ipv6.NewPacketConn(c)
	}
	return ipv4.NewPacketConn(c)
}

// udpWorkers is the size of the worker pool.
func udpWorkers() int { return max(4, 2*runtime.GOMAXPROCS(0)) }

// serveUDP answers on conn until it is closed.
func (s *Server) serveUDP(conn net.PacketConn) {
	bc := newBatchConn(conn)
	wildcard := false
	if a, ok := conn.LocalAddr().(*net.UDPAddr); ok && a.IP.IsUnspecified() {
		wildcard = receiveDestination(conn)
		if !wildcard {
			s.logger.Warn("dns: cannot learn the destination address of UDP queries: answers may leave from another address than the one asked", "addr", a)
		}
	}
	var wg sync.WaitGroup
	for range udpWorkers() {
		wg.Go(func() { s.udpWorker(bc, wildcard) })
	}
	wg.Wait()
}

// A socket bound to 0.0.0.0 or :: receives queries sent to any of the
// host's addresses, but the kernel picks the source of each answer by
// route, which may be another address than the one the client asked:
// the client then drops the answer (RFC 2181 §4.1: the reply's source is
// the query's destination). So on such a socket the worker reads each
// query's destination (IP_PKTINFO, IPV6_PKTINFO) and sends the answer
// from it.

// oobSize holds the packet information of either family.
var oobSize = len(ipv4.NewControlMessage(ipv4.FlagDst|ipv4.FlagInterface)) +
	len(ipv6.NewControlMessage(ipv6.FlagDst|ipv6.FlagInterface))

// receiveDestination asks for the destination address of each datagram
// received on conn, for both families (a :: socket also receives IPv4).
func receiveDestination(conn net.PacketConn) bool {
	err6 := ipv6.NewPacketConn(conn).SetControlMessage(ipv6.FlagDst|ipv6.FlagInterface, true)
	err4 := ipv4.NewPacketConn(conn).SetControlMessage(ipv4.FlagDst|ipv4.FlagInterface, true)
	return err4 == nil || err6 == nil
}

// replyFrom turns the control data of a received datagram into the
// control data that sends its answer from the address it was sent to
// (nil when the data has no destination).
func replyFrom(oob []byte) []byte {
	var cm6 ipv6.ControlMessage
	if cm6.Parse(oob) == nil && cm6.Dst != nil {
		if v4 := cm6.Dst.To4(); v4 != nil {
			return (&ipv4.ControlMessage{Src: v4}).Marshal()
		}
		out := &ipv6.ControlMessage{Src: cm6.Dst}
		if cm6.Dst.IsLinkLocalUnicast() {
			out.IfIndex = cm6.IfIndex
		}
		return out.Marshal()
	}
	var cm4 ipv4.ControlMessage
	if cm4.Parse(oob) == nil && cm4.Dst != nil {
		return (&ipv4.ControlMessage{Src: cm4.Dst}).Marshal()
	}
	return nil
}

func (s *Server) udpWorker(bc batchConn, wildcard bool) {
	in := make([]ipv4.Message, udpBatch)
	for i := range in {
		in[i].Buffers = [][]byte{make([]byte, udpReadBuf)}
		if wildcard {
			in[i].OOB = make([]byte, oobSize)
		}
	}
	out := make([]ipv4.Message, 0, udpBatch)
	outBufs := make([][]byte, udpBatch)
	for i := range outBufs {
		outBufs[i] = make([]byte, s.maxUDP)
	}
	type sent struct {
		resp   *dns.Msg
		info   queryInfo
		remote netip.AddrPort
	}
	done := make([]sent, 0, udpBatch)
	for {
		n, err := bc.ReadBatch(in, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.logger.Debug("dns: udp read", "err", err)
			continue
		}
		var start time.Time
		if s.qlog != nil {
			start = time.Now()
		}
		out, done = out[:0], done[:0]
		for i := range n {
			m := &in[i]
			ua, ok := m.Addr.(*net.UDPAddr)
			if !ok {
				continue
			}
			remote := ua.AddrPort()
			resp, info := s.answerRaw(m.Buffers[0][:m.N], remote, false)
			if resp == nil {
				continue
			}
			b, err := resp.PackBuffer(outBufs[i])
			if err != nil {
				s.logger.Warn("dns: pack failed", "client", remote, "err", err)
				continue
			}
			var oob []byte
			if wildcard {
				oob = replyFrom(m.OOB[:m.NN])
			}
			out = append(out, ipv4.Message{Buffers: [][]byte{b}, Addr: ua, OOB: oob})
			done = append(done, sent{resp, info, remote})
		}
		for rest := out; len(rest) > 0; {
			k, err := bc.WriteBatch(rest, 0)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				// A send failure concerns one client (ICMP, no route):
				// skip its datagram.
				s.logger.Debug("dns: udp write", "client", rest[0].Addr, "err", err)
				k = 1
			}
			rest = rest[k:]
		}
		for i := range done {
			s.account(done[i].resp, &done[i].info, done[i].remote, false, start)
		}
	}
}
