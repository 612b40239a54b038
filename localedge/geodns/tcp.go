package geodns

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// The TCP side (RFC 7766) reads each length-prefixed message itself and
// answers it through answerRaw, like UDP: dns.Server would answer
// malformed queries and other opcodes with the query's header flags
// echoed, and hides the wire form some checks need.

const (
	tcpReadTimeout = 2 * time.Second // for a message once it has begun, and for the first one
	tcpIdleTimeout = 8 * time.Second // between queries on one connection (RFC 7766 §6.2.3)
	tcpMaxConns    = 1000            // open at once; more are closed at once
)

// tcpServer serves one listener and keeps track of its connections so
// that shutdown can end them.
type tcpServer struct {
	s  *Server
	ln net.Listener

	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	closing bool
	wg      sync.WaitGroup
}

func newTCPServer(s *Server, ln net.Listener) *tcpServer {
	return &tcpServer{s: s, ln: ln, conns: make(map[net.Conn]struct{})}
}

// serve accepts connections until the listener is closed (nil) or fails.
func (t *tcpServer) serve() error {
	var backoff time.Duration
	for {
		c, err := t.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of file descriptors and the like: wait and retry, as
			// net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			t.s.logger.Warn("dns: tcp accept", "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if !t.track(c) {
			c.Close()
			continue
		}
		t.wg.Go(func() {
			defer t.untrack(c)
			t.s.serveTCPConn(c)
		})
	}
}

func (t *tcpServer) track(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing || len(t.conns) >= tcpMaxConns {
		return false
	}
	t.conns[c] = struct{}{}
	return true
}

func (t *tcpServer) untrack(c net.Conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.conns, c)
}

// shutdown stops accepting, wakes connections waiting for a query so
// they close, lets queries being answered finish until ctx is done, then
// closes what is left.
func (t *tcpServer) shutdown(ctx context.Context) {
	t.ln.Close()
	t.mu.Lock()
	t.closing = true
	for c := range t.conns {
		c.SetReadDeadline(time.Now())
	}
	t.mu.Unlock()
	done := make(chan struct{})
	go func() {
		t.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		t.mu.Lock()
		for c := range t.conns {
			c.Close()
		}
		t.mu.Unlock()
		<-done
	}
}

// serveTCPConn answers the queries on one connection in order until the
// client closes it, goes idle or sends something that is not a DNS
// message. There is no limit to the queries on a connection: closing a
// busy one would lose the queries the client has already pipelined on it
// (RFC 7766 §6.2.1.1).
func (s *Server) serveTCPConn(c net.Conn) {
	defer c.Close()
	remote := addrOf(c.RemoteAddr())
	var lenBuf [2]byte
	var msg []byte
	out := make([]byte, 0, 512)
	for n := 0; ; n++ {
		timeout := tcpIdleTimeout
		if n == 0 {
			timeout = tcpReadTimeout
		}
		c.SetReadDeadline(time.Now().Add(timeout))
		if _, err := io.ReadFull(c, lenBuf[:]); err != nil {
			return
		}
		l := int(binary.BigEndian.Uint16(lenBuf[:]))
		if l < 12 {
			return // not a DNS message: nothing to answer with
		}
		c.SetReadDeadline(time.Now().Add(tcpReadTimeout))
		if cap(msg) < l {
			msg = make([]byte, l)
		}
		msg = msg[:l]
		if _, err := io.ReadFull(c, msg); err != nil {
			return
		}
		var start time.Time
		if s.qlog != nil {
			start = time.Now()
		}
		resp, info := s.answerRaw(msg, remote, true)
		if resp == nil {
			continue
		}
		// Length and message in one write (RFC 7766 §8).
		b, err := resp.PackBuffer(out[2:cap(out)])
		if err != nil {
			s.logger.Warn("dns: pack failed", "client", remote, "err", err)
			return
		}
		out = binary.BigEndian.AppendUint16(out[:0], uint16(len(b)))
		out = append(out, b...) // in place when b was packed into out
		c.SetWriteDeadline(time.Now().Add(tcpReadTimeout))
		if _, err := c.Write(out); err != nil {
			s.logger.Debug("dns: tcp write", "client", remote, "err", err)
			return
		}
		s.account(resp, &info, remote, true, start)
	}
}
