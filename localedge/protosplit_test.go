package localedge

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

func TestSplitByProtocol(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	plain, tlsLn := splitByProtocol(ln, 300*time.Millisecond)
	dial := func(first string) net.Conn {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if first != "" {
			io.WriteString(c, first)
		}
		return c
	}
	accept := func(l net.Listener, want string) {
		t.Helper()
		c, err := l.Accept()
		if err != nil {
			t.Fatalf("Accept: %v", err)
		}
		defer c.Close()
		b := make([]byte, len(want))
		if _, err := io.ReadFull(c, b); err != nil || string(b) != want {
			t.Errorf("read %q, %v; want %q (the first byte given back)", b, err, want)
		}
	}
	a := dial("GET / HTTP/1.1\r\n")
	defer a.Close()
	accept(plain, "GET / HTTP/1.1\r\n")
	b := dial("\x16\x03\x01hello")
	defer b.Close()
	accept(tlsLn, "\x16\x03\x01hello")
	c := dial("PRI * HTTP/2.0\r\n")
	defer c.Close()
	accept(plain, "PRI")

	// A connection that sends nothing is closed after the timeout.
	silent := dial("")
	defer silent.Close()
	silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("silent connection: read %v; want EOF (closed by the server)", err)
	}

	if plain.Addr().String() != ln.Addr().String() {
		t.Errorf("Addr() = %s; want %s", plain.Addr(), ln.Addr())
	}
	// Closing one half keeps the address; closing both closes it.
	plain.Close()
	if _, err := plain.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close = %v; want net.ErrClosed", err)
	}
	d := dial("\x16")
	defer d.Close()
	accept(tlsLn, "\x16")
	tlsLn.Close()
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Errorf("the address still accepts connections after both halves closed")
	}
}
