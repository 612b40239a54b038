package localedge

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// tlsRecordHandshake is the first byte of every TLS connection: the
// record type of the ClientHello (RFC 8446 §5.1). No HTTP/1.x request line
// and no HTTP/2 preface ("PRI * …") starts with it.
const tlsRecordHandshake = 0x16

// splitListener serves HTTP and HTTPS on one address: it accepts the
// connections of ln and hands each, once its first byte has arrived, to
// the TLS listener (a TLS handshake) or to the plain one (anything else).
// A connection that sends nothing within the timeout is closed, as a
// server closes one that sends no request header. ln is closed once both
// halves are.
type splitListener struct {
	ln      net.Listener
	timeout time.Duration
	plain   *connQueue
	tls     *connQueue

	once sync.Once
	done chan struct{} // closed when ln's Accept fails for good
	err  error         // why (written once, before done is closed)
}

// splitByProtocol starts sorting ln's connections; the first byte of each
// must arrive within timeout.
func splitByProtocol(ln net.Listener, timeout time.Duration) (plain, tls net.Listener) {
	s := &splitListener{ln: ln, timeout: timeout, done: make(chan struct{})}
	s.plain = &connQueue{parent: s, c: make(chan net.Conn), closed: make(chan struct{})}
	s.tls = &connQueue{parent: s, c: make(chan net.Conn), closed: make(chan struct{})}
	go s.acceptLoop()
	return s.plain, s.tls
}

func (s *splitListener) acceptLoop() {
	var backoff time.Duration
	for {
		c, err := s.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				// Out of file descriptors and the like: wait, as
				// http.Server does, rather than spin or give up.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				select {
				case <-time.After(backoff):
					continue
				case <-s.done:
					return
				}
			}
			s.once.Do(func() {
				s.err = err
				close(s.done)
			})
			return
		}
		backoff = 0
		go s.sort(c)
	}
}

func isTemporary(err error) bool {
	t, ok := err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

// sort reads a connection's first byte and queues it on its side.
func (s *splitListener) sort(c net.Conn) {
	var b [1]byte
	if s.timeout > 0 {
		c.SetReadDeadline(time.Now().Add(s.timeout))
	}
	n, err := c.Read(b[:])
	if err != nil || n == 0 {
		c.Close()
		return
	}
	c.SetReadDeadline(time.Time{})
	q := s.plain
	if b[0] == tlsRecordHandshake {
		q = s.tls
	}
	select {
	case q.c <- &peekedConn{Conn: c, first: b[0], hasFirst: true}:
	case <-q.closed:
		c.Close()
	case <-s.done:
		c.Close()
	}
}

// closeHalf closes ln once both halves are closed.
func (s *splitListener) closeHalf() {
	if s.plain.isClosed() && s.tls.isClosed() {
		s.ln.Close()
	}
}

// connQueue is one half of a splitListener.
type connQueue struct {
	parent *splitListener
	c      chan net.Conn
	once   sync.Once
	closed chan struct{}
}

func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case c := <-q.c:
		return c, nil
	case <-q.closed:
		return nil, net.ErrClosed
	case <-q.parent.done:
		return nil, q.parent.err
	}
}

func (q *connQueue) Close() error {
	q.once.Do(func() {
		close(q.closed)
		q.parent.closeHalf()
	})
	return nil
}

func (q *connQueue) isClosed() bool {
	select {
	case <-q.closed:
		return true
	default:
		return false
	}
}

func (q *connQueue) Addr() net.Addr { return q.parent.ln.Addr() }

// peekedConn gives back the byte read to sort the connection.
type peekedConn struct {
	net.Conn
	first    byte
	hasFirst bool // guarded by the reader: one goroutine reads a conn
}

func (c *peekedConn) Read(p []byte) (int, error) {
	if c.hasFirst && len(p) > 0 {
		// Only the byte given back: a Read returns what is available
		// rather than wait for more.
		p[0] = c.first
		c.hasFirst = false
		return 1, nil
	}
	return c.Conn.Read(p)
}

// ReadFrom and CloseWrite reach the TCP connection underneath, so that the
// HTTP server keeps its sendfile path and its graceful close.
func (c *peekedConn) ReadFrom(r io.Reader) (int64, error) { return io.Copy(c.Conn, r) }

func (c *peekedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
