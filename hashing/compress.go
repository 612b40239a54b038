package hashing

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
)

// Compression levels: the best each format has, since precompression runs
// once per build and is served many times.
const (
	brotliQuality = 11
	gzipLevel     = gzip.BestCompression
)

// compressible reports whether a node gets precompressed copies.
func (b *builder) compressible(n *node) bool {
	if !b.o.brotli && !b.o.gzip || n.outSize < b.o.minSize {
		return false
	}
	_, ct, _, _ := headersFor(b.o.rules, n.logical, n.fingerprinted)
	return Compressible(ct)
}

// precompress writes the .br and .gz copies of a node's output, read
// again through open, and keeps each only when it is smaller.
func (b *builder) precompress(n *node, open func() (io.ReadCloser, error)) error {
	if !b.compressible(n) {
		return nil
	}
	type coder struct {
		enc, ext string
		wrap     func(io.Writer) io.WriteCloser
	}
	var coders []coder
	if b.o.brotli {
		coders = append(coders, coder{EncodingBrotli, ".br", func(w io.Writer) io.WriteCloser {
			return brotli.NewWriterLevel(w, brotliQuality)
		}})
	}
	if b.o.gzip {
		coders = append(coders, coder{EncodingGzip, ".gz", func(w io.Writer) io.WriteCloser {
			zw, _ := gzip.NewWriterLevel(w, gzipLevel) // the level is valid
			return zw
		}})
	}
	for _, c := range coders {
		enc, err := b.compressOne(n, open, c.ext, c.wrap)
		if err != nil {
			return err
		}
		if enc == nil {
			continue
		}
		if n.encodings == nil {
			n.encodings = make(map[string]Encoding)
		}
		n.encodings[c.enc] = *enc
	}
	return nil
}

func (b *builder) compressOne(n *node, open func() (io.ReadCloser, error), ext string, wrap func(io.Writer) io.WriteCloser) (*Encoding, error) {
	r, err := open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	f, err := b.out.Create(path.Dir(n.logical))
	if err != nil {
		return nil, err
	}
	defer f.Abort()
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	zw := wrap(cw)
	bufp := b.bufs.Get().(*[]byte)
	_, err = io.CopyBuffer(zw, onlyReader{r}, *bufp)
	b.bufs.Put(bufp)
	if err != nil {
		return nil, fmt.Errorf("%s: compress: %w", displayPath(b.env.label, n.logical), err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("%s: compress: %w", displayPath(b.env.label, n.logical), err)
	}
	if cw.n >= n.outSize {
		return nil, nil // not worth it: f is aborted
	}
	name := n.out + ext
	if err := b.claim(name, n.logical); err != nil {
		return nil, err
	}
	if err := f.Commit(name); err != nil {
		return nil, err
	}
	return &Encoding{Path: name, Size: cw.n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
