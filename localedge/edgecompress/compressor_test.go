package edgecompress

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

func decode(t *testing.T, coding string, b []byte) []byte {
	t.Helper()
	var r io.Reader
	switch coding {
	case Brotli:
		r = brotli.NewReader(bytes.NewReader(b))
	case Zstd:
		d, err := zstd.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		r = d
	case Gzip:
		g, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		r = g
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: decoding: %v", coding, err)
	}
	return out
}

// trickle returns at most n bytes per Read, like a network body.
type trickle struct {
	r      io.Reader
	n      int
	closed bool
}

func (t *trickle) Read(p []byte) (int, error) { return t.r.Read(p[:min(len(p), t.n)]) }
func (t *trickle) Close() error               { t.closed = true; return nil }

func TestReaderRoundTrip(t *testing.T) {
	body := []byte(strings.Repeat("body { color: #123456; margin: 0 auto; }\n", 5000)) // 210 kB
	c, err := New(DefaultPolicy(), 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, coding := range DefaultEncodings {
		for round := 0; round < 2; round++ { // the second round reuses a pooled encoder
			src := &trickle{r: bytes.NewReader(body), n: 1500}
			r, err := c.Reader(context.Background(), src, coding)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatalf("%s: %v", coding, err)
			}
			if err := r.Close(); err != nil || !src.closed {
				t.Errorf("%s: Close = %v, source closed %v", coding, err, src.closed)
			}
			if len(got) >= len(body)/5 {
				t.Errorf("%s: %d bytes from %d: not compressed", coding, len(got), len(body))
			}
			if plain := decode(t, coding, got); !bytes.Equal(plain, body) {
				t.Fatalf("%s: round trip differs (%d bytes, want %d)", coding, len(plain), len(body))
			}
		}
	}
	s := c.Stats()
	if s.Compressed[Brotli] != 2 || s.Compressed[Zstd] != 2 || s.Compressed[Gzip] != 2 || s.BytesIn != 6*int64(len(body)) || s.Active != 0 {
		t.Errorf("stats = %+v", s)
	}
}

func TestReaderBounded(t *testing.T) {
	c, err := New(DefaultPolicy(), 1)
	if err != nil {
		t.Fatal(err)
	}
	bg := context.Background()
	first, err := c.Reader(bg, io.NopCloser(strings.NewReader("x")), Gzip)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(bg, 20*time.Millisecond)
	defer cancel()
	if _, err := c.Reader(short, io.NopCloser(strings.NewReader("y")), Gzip); !errors.Is(err, ErrBusy) {
		t.Fatalf("second Reader with one slot: %v; want ErrBusy once the wait ends", err)
	}
	// A waiting Reader gets the slot the first one frees.
	got := make(chan error, 1)
	go func() {
		r, err := c.Reader(bg, io.NopCloser(strings.NewReader("v")), Gzip)
		if err == nil {
			_, err = io.ReadAll(r)
		}
		got <- err
	}()
	// Abandoned before the end (a client went away): Close frees the slot.
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("waiting Reader: %v", err)
	}
	r, err := c.Reader(bg, io.NopCloser(strings.NewReader("z")), Zstd)
	if err != nil {
		t.Fatalf("slot not freed by Close: %v", err)
	}
	if _, err := io.ReadAll(r); err != nil {
		t.Fatal(err)
	}
	// The end of the body frees the slot too, before Close.
	if _, err := c.Reader(short, io.NopCloser(strings.NewReader("w")), Brotli); err != nil {
		t.Fatalf("slot not freed at the end of the body: %v", err)
	}
	if s := c.Stats(); s.Busy != 1 {
		t.Errorf("busy = %d; want 1", s.Busy)
	}
}

func TestReaderSourceError(t *testing.T) {
	c, err := New(DefaultPolicy(), 1)
	if err != nil {
		t.Fatal(err)
	}
	broken := io.NopCloser(io.MultiReader(strings.NewReader(strings.Repeat("a", 100000)), iotestErr{}))
	r, err := c.Reader(context.Background(), broken, Gzip)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(r); !errors.Is(err, errBroken) {
		t.Fatalf("ReadAll = %v; want the source's error", err)
	}
	if s := c.Stats(); s.Active != 0 {
		t.Errorf("slot kept after a failed body")
	}
}

var errBroken = errors.New("connection reset")

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, errBroken }
