package localedge

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/cdnctl/cdnctl/localedge/esi"
)

// ESIOptions turns on Edge Side Includes at an edge (package esi): a
// response whose Surrogate-Control has content="ESI/1.0" (untargeted, or
// targeted at Token) is assembled from its fragments, each fetched through
// the edge's own cache with its own freshness. The stored response is the
// page as the upstream sent it; the assembled page is never stored.
type ESIOptions struct {
	// Token names the edges in Surrogate-Capability (sent upstream in
	// place of any a client sent) and in targeted Surrogate-Control
	// directives. Default DefaultESIToken: the same for every edge, so a
	// response the shield stores for one edge is processed by all.
	Token string
	// MaxDepth bounds nested includes: a fragment at a deeper level fails
	// (Varnish's max_esi_depth). Default DefaultESIMaxDepth.
	MaxDepth int
	// MaxIncludes bounds the includes of one page, nested ones counted:
	// past it, includes fail. Default DefaultESIMaxIncludes.
	MaxIncludes int
}

// Defaults of ESIOptions.
const (
	DefaultESIToken       = "cdnctl"
	DefaultESIMaxDepth    = 5
	DefaultESIMaxIncludes = 256
)

func (o *ESIOptions) token() string {
	if o.Token == "" {
		return DefaultESIToken
	}
	return o.Token
}

func (o *ESIOptions) maxDepth() int {
	if o.MaxDepth <= 0 {
		return DefaultESIMaxDepth
	}
	return o.MaxDepth
}

func (o *ESIOptions) maxIncludes() int {
	if o.MaxIncludes <= 0 {
		return DefaultESIMaxIncludes
	}
	return o.MaxIncludes
}

// setSurrogateCapability replaces the Surrogate-Capability a client sent
// (which could make the origin answer differently to a request the cache
// stores for everyone) with the edge's own when it processes ESI.
func (p *Proxy) setSurrogateCapability(h http.Header) {
	delete(h, "Surrogate-Capability")
	if p.ESI != nil {
		h["Surrogate-Capability"] = []string{esi.Capability(p.ESI.token())}
	}
}

// processesESI reports whether this edge processes the ESI of a response.
func (p *Proxy) processesESI(h http.Header) bool {
	return p.ESI != nil && p.Role == RoleEdge && esi.Enabled(h["Surrogate-Control"], p.ESI.token())
}

// esiPage is the state shared by a page and all its fragments.
type esiPage struct {
	includes int
}

// serveESI answers a GET or HEAD, assembling the response when it is an
// ESI page. A failed include without onerror="continue" aborts the
// response (the client sees an incomplete one), as Varnish does.
func (p *Proxy) serveESI(w http.ResponseWriter, r *http.Request, trusted bool) outcome {
	page := &esiPage{}
	ew := &esiWriter{ResponseWriter: w, p: p, r: r, page: page}
	out := p.serveRequest(ew, r, trusted, "")
	if ew.retry {
		// A range or a condition answered from the page's template: the
		// client gets the whole assembled page instead (RFC 9110 lets a
		// server ignore Range; the conditions were on the template).
		h := w.Header()
		for name := range h {
			delete(h, name)
		}
		r2 := r.Clone(r.Context())
		for name := range r2.Header {
			if name == "Range" || name == "If-Range" || strings.HasPrefix(name, "If-") {
				delete(r2.Header, name)
			}
		}
		ew = &esiWriter{ResponseWriter: w, p: p, r: r2, page: page}
		out = p.serveRequest(ew, r2, trusted, "")
		out.status = ew.status
	}
	if ew.proc != nil {
		if err := ew.proc.Close(); err != nil && ew.err == nil {
			ew.err = err
		}
	}
	if ew.err != nil {
		p.log.Warn("esi: response aborted", "pop", p.Name, "url", r.URL.String(), "err", ew.err)
		panic(http.ErrAbortHandler)
	}
	return out
}

// esiWriter sends a page to its client, processing its ESI when the
// response asks for it.
type esiWriter struct {
	http.ResponseWriter
	p      *Proxy
	r      *http.Request
	page   *esiPage
	wrote  bool
	status int
	retry  bool           // a 206/304/412/416 of an ESI page: swallowed
	proc   *esi.Processor // nil: not an ESI page
	err    error          // an include failed: the response is aborted
}

func (w *esiWriter) WriteHeader(code int) {
	if w.wrote || (code >= 100 && code < 200 && code != http.StatusSwitchingProtocols) {
		if !w.retry {
			w.ResponseWriter.WriteHeader(code)
		}
		return
	}
	w.wrote, w.status = true, code
	h := w.Header()
	sc := h["Surrogate-Control"]
	if !w.p.KeepTagHeaders {
		delete(h, "Surrogate-Control")
	}
	if !esi.Enabled(sc, w.p.ESI.token()) {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	switch code {
	case http.StatusPartialContent, http.StatusNotModified, http.StatusPreconditionFailed, http.StatusRequestedRangeNotSatisfiable:
		w.retry = true
		return
	case http.StatusNoContent:
		w.ResponseWriter.WriteHeader(code)
		return
	}
	if ce := h.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		// The upstream compressed an ESI page: sent as it is.
		w.p.log.Warn("esi: page not processed: it has a content coding", "pop", w.p.Name, "url", w.r.URL.String(), "content_encoding", ce)
		w.ResponseWriter.WriteHeader(code)
		return
	}
	// The assembled page has another length, and the validators describe
	// the template, not it.
	for _, name := range []string{"Content-Length", "Etag", "Last-Modified", "Accept-Ranges", "Content-Range"} {
		delete(h, name)
	}
	if v := h["Cache-Status"]; len(v) > 0 {
		nv := append([]string(nil), v...)
		nv[len(nv)-1] = addCacheStatusDetail(nv[len(nv)-1], w.p.Name, "esi")
		h["Cache-Status"] = nv
	}
	w.proc = esi.NewProcessor(w.ResponseWriter, w.p.esiFetch(w.r, w.page, 1, w.ResponseWriter))
	w.proc.OnSkip = w.p.esiSkipped(w.r)
	w.ResponseWriter.WriteHeader(code)
}

func (w *esiWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	switch {
	case w.retry:
		return len(b), nil
	case w.err != nil:
		return 0, w.err
	case w.proc != nil:
		n, err := w.proc.Write(b)
		if err != nil && errors.Is(err, esi.ErrInclude) {
			w.err = err
		}
		return n, err
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *esiWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// FlushError flushes what was written (not a tag being held back).
func (w *esiWriter) FlushError() error {
	if w.retry {
		return nil
	}
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

func (p *Proxy) esiSkipped(r *http.Request) func(string, error) {
	return func(what string, err error) {
		p.log.Info("esi: "+what, "pop", p.Name, "url", r.URL.String(), "err", err)
	}
}

// esiFetch returns the include function of a page (or fragment) at depth:
// it fetches src through this proxy's cache and writes the fragment to
// out, processing the fragment's own ESI.
func (p *Proxy) esiFetch(parent *http.Request, page *esiPage, depth int, out io.Writer) esi.Fetch {
	return func(src string) error {
		if depth > p.ESI.maxDepth() {
			return fmt.Errorf("deeper than %d nested includes", p.ESI.maxDepth())
		}
		if page.includes >= p.ESI.maxIncludes() {
			return fmt.Errorf("more than %d includes in one page", p.ESI.maxIncludes())
		}
		page.includes++
		sub, err := esiRequest(parent, src)
		if err != nil {
			return err
		}
		fw := &fragmentWriter{h: http.Header{}, out: out, p: p, r: sub, page: page, depth: depth}
		var rw http.ResponseWriter = fw
		answered := false
		if p.Rules != nil {
			sub, rw, _, answered = p.applyRules(fw, sub)
		}
		if !answered {
			p.serveRequest(rw, sub, false, "")
		}
		if fw.proc != nil {
			if err := fw.proc.Close(); err != nil && fw.err == nil {
				fw.err = err
			}
		}
		if fw.status == 0 && fw.err == nil {
			fw.err = errors.New("no response")
		}
		return fw.err
	}
}

// esiRequest builds the GET of a fragment: src resolved against the
// page's URL, with the page request's fields but those about ranges,
// conditions and content codings (a fragment is included as it is).
func esiRequest(parent *http.Request, src string) (*http.Request, error) {
	base := &url.URL{Scheme: "http", Host: parent.Host, Path: parent.URL.Path, RawPath: parent.URL.RawPath}
	if parent.TLS != nil {
		base.Scheme = "https"
	}
	ref, err := url.Parse(src)
	if err != nil {
		return nil, fmt.Errorf("src %q: not a URL", src)
	}
	u := base.ResolveReference(ref)
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("src %q: want a path or an http(s) URL", src)
	}
	h := make(http.Header, len(parent.Header))
	for name, v := range parent.Header {
		switch {
		case name == "Range", name == "Accept-Encoding", name == "Content-Length", name == "Content-Type",
			name == "Transfer-Encoding", strings.HasPrefix(name, "If-"):
			continue
		}
		h[name] = v
	}
	sub := &http.Request{
		Method:     http.MethodGet,
		URL:        &url.URL{Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery},
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     h,
		Host:       u.Host,
		RemoteAddr: parent.RemoteAddr,
		RequestURI: u.RequestURI(),
		Body:       http.NoBody,
	}
	if u.Scheme == "https" {
		sub.TLS = parent.TLS
		if sub.TLS == nil {
			sub.TLS = &tls.ConnectionState{} // keyed as https
		}
	}
	return sub.WithContext(parent.Context()), nil
}

// fragmentWriter receives a fragment's response and writes its body into
// the page when it is usable: a 2xx other than 206, without a content
// coding.
type fragmentWriter struct {
	h      http.Header
	out    io.Writer
	p      *Proxy
	r      *http.Request
	page   *esiPage
	depth  int
	status int
	proc   *esi.Processor
	err    error
}

func (w *fragmentWriter) Header() http.Header { return w.h }

func (w *fragmentWriter) WriteHeader(code int) {
	if w.status != 0 || code < 200 {
		return // interim responses are not the page's
	}
	w.status = code
	switch ce := w.h.Get("Content-Encoding"); {
	case code < 200 || code > 299 || code == http.StatusPartialContent:
		w.err = fmt.Errorf("status %d", code)
	case ce != "" && !strings.EqualFold(ce, "identity"):
		w.err = fmt.Errorf("the fragment has the content coding %s", ce)
	case esi.Enabled(w.h["Surrogate-Control"], w.p.ESI.token()):
		w.proc = esi.NewProcessor(w.out, w.p.esiFetch(w.r, w.page, w.depth+1, w.out))
		w.proc.OnSkip = w.p.esiSkipped(w.r)
	}
}

func (w *fragmentWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		// Discarded; the error is reported once the fragment is done.
		if errors.Is(w.err, esi.ErrInclude) || strings.HasPrefix(w.err.Error(), "write:") {
			return 0, w.err
		}
		return len(b), nil
	}
	var n int
	var err error
	if w.proc != nil {
		n, err = w.proc.Write(b)
	} else {
		n, err = w.out.Write(b)
		if err != nil {
			err = fmt.Errorf("write: %w", err)
		}
	}
	if err != nil {
		w.err = err
	}
	return n, err
}

// FlushError: the page's writer flushes.
func (w *fragmentWriter) FlushError() error { return nil }
