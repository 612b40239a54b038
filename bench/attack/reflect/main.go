// Command reflect is a reflecting origin for attacking the local edge by
// hand (issue 12): every answer echoes the request as the origin saw it,
// and query parameters choose the response's fields. It prints its
// address on the first line.
//
//	/any/path?cc=public,max-age=60   Cache-Control of the answer
//	  &setcookie=session=            a Set-Cookie field, the value followed by X-Client
//	  &vary=Origin                   a Vary field
//	  &status=301&location=/x        status and Location
//	  &hang=40s                      wait before answering
//	  &size=N                        a body of N bytes (Range, If-Range and ETag
//	                                 by http.ServeContent) instead of the echo
//	  &early=1                       a 103 Early Hints first
//	  &early=cookie                  a 103 that sets a cookie named after X-Client
//	  &proto=1                       the body and a Location depend on X-Forwarded-Proto
//	/_bump                           change every body and ETag (a new version)
//	/_hang?d=40s                     every answer waits that long from now on (0: no more)
//	/_count?path=/p                  how many requests /p received
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"
)

type origin struct {
	mu      sync.Mutex
	version int
	counts  map[string]int
	hang    time.Duration // every answer waits this long (/_hang)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	o := &origin{counts: map[string]int{}}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ln.Addr())
	log.Fatal(http.Serve(ln, o))
}

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/_bump":
		o.mu.Lock()
		o.version++
		fmt.Fprintln(w, o.version)
		o.mu.Unlock()
		return
	case "/_hang":
		d, _ := time.ParseDuration(r.URL.Query().Get("d"))
		o.mu.Lock()
		o.hang = d
		o.mu.Unlock()
		return
	case "/_count":
		o.mu.Lock()
		fmt.Fprintln(w, o.counts[r.URL.Query().Get("path")])
		o.mu.Unlock()
		return
	}
	o.mu.Lock()
	o.counts[r.URL.Path]++
	n, v, hang := o.counts[r.URL.Path], o.version, o.hang
	o.mu.Unlock()
	q := r.URL.Query()
	if d, err := time.ParseDuration(q.Get("hang")); err == nil || hang > 0 {
		d = max(d, hang)
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	h := w.Header()
	if e := q.Get("early"); e != "" {
		h.Add("Link", "</style.css>; rel=preload; as=style")
		if e == "cookie" {
			h.Set("Set-Cookie", fmt.Sprintf("early=%s; Path=/", r.Header.Get("X-Client")))
		}
		w.WriteHeader(http.StatusEarlyHints)
		h.Del("Link")
		h.Del("Set-Cookie")
	}
	if cc := q.Get("cc"); cc != "" {
		h.Set("Cache-Control", cc)
	}
	if c := q.Get("setcookie"); c != "" {
		h.Set("Set-Cookie", c+r.Header.Get("X-Client"))
	}
	if vary := q.Get("vary"); vary != "" {
		h.Set("Vary", vary)
	}
	if origin := r.Header.Get("Origin"); origin != "" && origin == q.Get("acao") {
		h.Set("Access-Control-Allow-Origin", origin)
	}
	proto := ""
	if q.Get("proto") != "" {
		proto = r.Header.Get("X-Forwarded-Proto")
		if proto == "http" {
			h.Set("Location", "https://"+r.Host+r.URL.RequestURI())
		}
	}
	status := http.StatusOK
	if s, err := strconv.Atoi(q.Get("status")); err == nil {
		status = s
	}
	if l := q.Get("location"); l != "" {
		h.Set("Location", l)
	}
	if size, err := strconv.Atoi(q.Get("size")); err == nil {
		b := bytes.Repeat([]byte{byte('a' + v%26)}, size)
		h.Set("ETag", fmt.Sprintf(`"v%d-%d"`, v, size))
		h.Set("Content-Type", "application/octet-stream")
		http.ServeContent(w, r, "", time.Unix(1700000000+int64(v), 0), bytes.NewReader(b))
		return
	}
	names := make([]string, 0, len(r.Header))
	for k := range r.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	hdr := map[string][]string{}
	for _, k := range names {
		hdr[k] = r.Header[k]
	}
	body, _ := json.MarshalIndent(map[string]any{
		"version": v, "count": n, "method": r.Method, "host": r.Host, "uri": r.RequestURI,
		"proto": proto, "headers": hdr, "remote": r.RemoteAddr,
	}, "", "  ")
	h.Set("Content-Type", "application/json")
	h.Set("ETag", fmt.Sprintf(`"v%d%s"`, v, proto))
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == h.Get("ETag") && status == http.StatusOK {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}
