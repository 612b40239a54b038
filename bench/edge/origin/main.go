// Command origin is the upstream of bench/edge: the same objects for
// cdnctl serve and nginx. It prints its address on the first line.
//
//	/obj/1k, /obj/100k   fixed bodies, Cache-Control: public, max-age=3600
//	/fill/N              a distinct cacheable body of -fill bytes per N
//	/big/N               a distinct cacheable body of -big bytes per N
//	/slow/NAME           waits -slow (200ms), then a cacheable body; counted
//	/count/NAME          how many requests /slow/NAME received
//	/text/N              a distinct cacheable stylesheet of -text bytes per N
//	                     (text/css, compressible about 5:1), for edge compression
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	fill := flag.Int("fill", 256<<10, "size of /fill/N bodies")
	bigSize := flag.Int("big", 8<<20, "size of /big/N bodies")
	slow := flag.Duration("slow", 200*time.Millisecond, "delay of /slow/NAME")
	textSize := flag.Int("text", 100<<10, "size of /text/N bodies")
	flag.Parse()

	objects := map[string][]byte{"/obj/1k": body(1 << 10), "/obj/100k": body(100 << 10)}
	var mu sync.Mutex
	counts := map[string]int{}
	mux := http.NewServeMux()
	etag := func(b []byte) string {
		sum := sha256.Sum256(b)
		return `"` + hex.EncodeToString(sum[:8]) + `"`
	}
	serveTagged := func(w http.ResponseWriter, b []byte, tag string) {
		h := w.Header()
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("Content-Type", "application/octet-stream")
		h.Set("ETag", tag)
		h.Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b)
	}
	serve := func(w http.ResponseWriter, b []byte) { serveTagged(w, b, etag(b)) }
	// The fixed objects' ETags are computed once: bench/edge also measures
	// this origin directly, as the plain net/http baseline.
	etags := map[string]string{}
	for p, b := range objects {
		etags[p] = etag(b)
	}
	mux.HandleFunc("/obj/", func(w http.ResponseWriter, r *http.Request) {
		b, ok := objects[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		serveTagged(w, b, etags[r.URL.Path])
	})
	mux.HandleFunc("/fill/", func(w http.ResponseWriter, r *http.Request) {
		b := body(*fill)
		copy(b, r.URL.Path) // distinct per URL
		serve(w, b)
	})
	// /big/N bodies share everything but their first bytes, so hundreds
	// of them in flight cost the origin one body.
	big := body(*bigSize)
	mux.HandleFunc("/big/", func(w http.ResponseWriter, r *http.Request) {
		head := []byte(r.URL.Path)
		h := w.Header()
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("Content-Type", "application/octet-stream")
		h.Set("ETag", etag(head))
		h.Set("Content-Length", strconv.Itoa(len(big)))
		w.Write(head)
		w.Write(big[len(head):])
	})
	css := stylesheet(*textSize)
	mux.HandleFunc("/text/", func(w http.ResponseWriter, r *http.Request) {
		head := []byte("/* " + r.URL.Path + " */\n")
		h := w.Header()
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("Content-Type", "text/css; charset=utf-8")
		h.Set("ETag", etag(head))
		h.Set("Content-Length", strconv.Itoa(len(css)))
		w.Write(head)
		w.Write(css[len(head):])
	})
	mux.HandleFunc("/slow/", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		counts[strings.TrimPrefix(r.URL.Path, "/slow/")]++
		mu.Unlock()
		time.Sleep(*slow)
		serve(w, body(1<<10))
	})
	mux.HandleFunc("/count/", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n := counts[strings.TrimPrefix(r.URL.Path, "/count/")]
		mu.Unlock()
		fmt.Fprintln(w, n)
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ln.Addr().String())
	log.Fatal((&http.Server{Handler: mux}).Serve(ln))
}

func body(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[i%36]
	}
	return b
}

// stylesheet returns n bytes of CSS rules that vary like a real one's
// (selectors, numbers, colours), so they compress about as much.
func stylesheet(n int) []byte {
	var b []byte
	for i := 0; len(b) < n; i++ {
		b = fmt.Appendf(b, ".c%d { margin: %dpx auto; padding: %dpx; color: #%06x; }\n", i, i%37, i%11, i*7919%0xffffff)
	}
	return b[:n]
}
