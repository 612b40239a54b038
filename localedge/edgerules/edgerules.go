// Package edgerules is the declarative edge logic of cdnctl's local CDN:
// the header rewrites, redirects, path rewrites and fixed responses that
// CloudFront Functions, Lambda@Edge and Cloudflare Transform Rules are
// mostly used for, written as configuration instead of code (there is no
// scripting engine).
//
// A rule matches a request's host and path as the client sent them (a host
// name, optionally "*." for its subdomains, and a path pattern in the
// _redirects syntax of package siterules: "/blog/:slug", "/assets/*"), and
// does any of:
//
//   - request_headers: set, add or remove fields of the request before the
//     cache looks it up and before it goes upstream;
//   - response_headers: set, add or remove fields of every response the
//     edge sends for the request (hits, misses and the edge's own answers),
//     without changing what the cache stores;
//   - one routing action: redirect (301, 302, 303, 307 or 308, with the
//     pattern's captures in the target), rewrite (a new path, before the
//     cache key is computed) or respond (a fixed status and body).
//
// Evaluation, in rule order: every matching rule's header actions apply
// (all-apply: a later rule's set overrides an earlier one's); the first
// matching rule with a routing action decides the routing (first-match:
// later routing actions are ignored). Every rule matches the request as the
// client sent it, never as an earlier rule rewrote it, so the order of
// routing rules only matters between rules that match the same requests.
//
// Rules read nothing of a request but its host and path, which are part of
// the cache key: a request header can never change what a rule does, so a
// rule cannot make one client's header change what others get from the
// cache (the unkeyed-header policy of docs/localedge.md).
//
// Matching and applying are pure functions, tested without a server; the
// edge (localedge.Proxy.Rules) applies them to traffic.
package edgerules

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/cdnctl/cdnctl/httpfield"
	"github.com/cdnctl/cdnctl/siterules"
)

// MaxRules bounds the rules of a configuration (Cloudflare allows 125
// Transform Rules per zone on its largest plans).
const MaxRules = 500

// Spec is one rule as written in the configuration (serve.edge_rules).
type Spec struct {
	// Name is shown in errors and logs ("" is fine: the index is used).
	Name string `yaml:"name" json:"name,omitempty"`
	// Host is the request host matched: "example.com", "*.example.com"
	// (any subdomain, not the name itself) or "" (any host). Case does
	// not matter and the port is ignored.
	Host string `yaml:"host" json:"host,omitempty"`
	// Path is a path pattern in the _redirects syntax ("/blog/:slug",
	// "/assets/*"); "" matches every path.
	Path string `yaml:"path" json:"path,omitempty"`
	// RequestHeaders changes the request before the cache and upstream.
	RequestHeaders *HeaderOps `yaml:"request_headers" json:"request_headers,omitempty"`
	// ResponseHeaders changes every response sent for the request.
	ResponseHeaders *HeaderOps `yaml:"response_headers" json:"response_headers,omitempty"`
	// Rewrite is the path (and optional query) the request continues with,
	// which may use the pattern's captures: "/new/:splat".
	Rewrite string `yaml:"rewrite" json:"rewrite,omitempty"`
	// Redirect answers with a redirect.
	Redirect *RedirectSpec `yaml:"redirect" json:"redirect,omitempty"`
	// Respond answers with a fixed response.
	Respond *RespondSpec `yaml:"respond" json:"respond,omitempty"`
}

// HeaderOps are the field changes of a rule, applied in this order:
// remove, set (replace), add (append a line).
type HeaderOps struct {
	Set    map[string]string `yaml:"set" json:"set,omitempty"`
	Add    map[string]string `yaml:"add" json:"add,omitempty"`
	Remove []string          `yaml:"remove" json:"remove,omitempty"`
}

// RedirectSpec is a redirect action.
type RedirectSpec struct {
	// To is the target: a path or an http(s) URL that may use the
	// pattern's captures. Without a query of its own, the request's query
	// is kept.
	To string `yaml:"to" json:"to"`
	// Status is 301, 302, 303, 307 or 308 (default 302).
	Status int `yaml:"status" json:"status,omitempty"`
}

// RespondSpec is a fixed-response action.
type RespondSpec struct {
	// Status is the response status, 200 to 599 (default 200).
	Status int `yaml:"status" json:"status,omitempty"`
	// Body is the response body (at most MaxBody bytes).
	Body string `yaml:"body" json:"body,omitempty"`
	// ContentType defaults to "text/plain; charset=utf-8".
	ContentType string `yaml:"content_type" json:"content_type,omitempty"`
}

// MaxBody bounds a fixed response's body (CloudFront Functions allow 40 KB
// for a whole response).
const MaxBody = 64 << 10

// DefaultRedirectStatus is the status of a redirect that gives none: a
// temporary redirect, which browsers do not keep (as _redirects).
const DefaultRedirectStatus = 302

// Kinds of actions, as shown in Cache-Status details and logs.
const (
	KindRequestHeaders  = "request-headers"
	KindResponseHeaders = "response-headers"
	KindRewrite         = "rewrite"
	KindRedirect        = "redirect"
	KindRespond         = "respond"
)

// Error is a problem with one rule of a configuration: its index (from 0,
// as in serve.edge_rules[2]) and the key at fault.
type Error struct {
	Index int
	Name  string // the rule's name, if it has one
	Key   string // "redirect.status"
	Msg   string
}

func (e *Error) Error() string {
	where := fmt.Sprintf("[%d]", e.Index)
	if e.Name != "" {
		where += fmt.Sprintf(" (%s)", e.Name)
	}
	if e.Key != "" {
		where += "." + e.Key
	}
	return where + ": " + e.Msg
}

// Rules is a compiled list of rules; nil has none.
type Rules struct {
	rules []rule
}

type rule struct {
	index    int
	name     string
	hostAny  bool   // "" host
	pathAny  bool   // "" path: every path, nothing captured
	prefix   string // "/assets/" for "/assets/*": matched without a regexp
	host     string // exact host, lower case
	suffix   string // ".example.com" for "*.example.com"
	pattern  siterules.Pattern
	req      *ops
	resp     *ops
	routing  string // "" or KindRewrite, KindRedirect, KindRespond
	target   siterules.Target
	status   int
	body     string
	bodyType string
}

type field struct {
	name, value string
	refs        bool // the value uses captures
}

type ops struct {
	remove []string
	set    []field
	add    []field
}

// Len returns the number of rules.
func (rs *Rules) Len() int {
	if rs == nil {
		return 0
	}
	return len(rs.rules)
}

// Compile checks specs and compiles them. Every problem is reported (as
// *Error values joined), naming the rule and key.
func Compile(specs []Spec) (*Rules, error) {
	if len(specs) > MaxRules {
		return nil, fmt.Errorf("%d rules: at most %d are allowed", len(specs), MaxRules)
	}
	rs := &Rules{}
	var errs []error
	for i, s := range specs {
		r, err := compile(i, s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rs.rules = append(rs.rules, r)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return rs, nil
}

func compile(i int, s Spec) (rule, error) {
	r := rule{index: i, name: s.Name}
	fail := func(key, format string, args ...any) (rule, error) {
		return r, &Error{Index: i, Name: s.Name, Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	switch h := strings.ToLower(strings.TrimSpace(s.Host)); {
	case h == "":
		r.hostAny = true
	case strings.HasPrefix(h, "*."):
		if !validHost(h[2:]) {
			return fail("host", "%q: want a host name, \"*.\" and a domain, or nothing for any host", s.Host)
		}
		r.suffix = h[1:]
	default:
		if !validHost(h) {
			return fail("host", "%q: want a host name (example.com), \"*.\" and a domain (*.example.com), or nothing for any host", s.Host)
		}
		r.host = h
	}
	p := s.Path
	if p == "" {
		p, r.pathAny = "/*", true
	}
	if !strings.HasPrefix(p, "/") {
		return fail("path", "%q: want a path pattern starting with \"/\" (give the host in host)", s.Path)
	}
	var err error
	if r.pattern, err = siterules.ParsePattern(p); err != nil {
		return fail("path", "%v", err)
	}
	if names := r.pattern.Names(); len(names) == 1 && names[0] == "splat" && strings.HasSuffix(p, "*") && !strings.Contains(p, "%") && !strings.Contains(p[:len(p)-1], ":") {
		r.prefix = p[:len(p)-1]
	}
	if s.RequestHeaders != nil {
		if r.req, err = compileOps(s.RequestHeaders, checkRequestField, r.pattern); err != nil {
			return fail("request_headers", "%v", err)
		}
	}
	if s.ResponseHeaders != nil {
		if r.resp, err = compileOps(s.ResponseHeaders, checkResponseField, r.pattern); err != nil {
			return fail("response_headers", "%v", err)
		}
	}
	n := 0
	if s.Rewrite != "" {
		n++
		r.routing = KindRewrite
		if !strings.HasPrefix(s.Rewrite, "/") || strings.HasPrefix(s.Rewrite, "//") {
			return fail("rewrite", "%q: want a path starting with \"/\" (a rewrite stays on this site; use redirect for another host)", s.Rewrite)
		}
		if strings.Contains(s.Rewrite, "#") {
			return fail("rewrite", "%q: a fragment is never sent to a server", s.Rewrite)
		}
		if r.target, err = siterules.ParseTarget(s.Rewrite, &r.pattern); err != nil {
			return fail("rewrite", "%v", err)
		}
	}
	if s.Redirect != nil {
		n++
		r.routing = KindRedirect
		if s.Redirect.To == "" {
			return fail("redirect.to", "missing: want a path or an http(s) URL")
		}
		if !strings.HasPrefix(s.Redirect.To, "/") && !strings.HasPrefix(strings.ToLower(s.Redirect.To), "http://") && !strings.HasPrefix(strings.ToLower(s.Redirect.To), "https://") {
			return fail("redirect.to", "%q: want a path starting with \"/\" or an http(s):// URL", s.Redirect.To)
		}
		if r.target, err = siterules.ParseTarget(s.Redirect.To, &r.pattern); err != nil {
			return fail("redirect.to", "%v", err)
		}
		r.status = s.Redirect.Status
		switch r.status {
		case 0:
			r.status = DefaultRedirectStatus
		case 301, 302, 303, 307, 308:
		default:
			return fail("redirect.status", "%d: want 301, 302, 303, 307 or 308", s.Redirect.Status)
		}
	}
	if s.Respond != nil {
		n++
		r.routing = KindRespond
		r.status = s.Respond.Status
		switch {
		case r.status == 0:
			r.status = http.StatusOK
		case r.status < 200 || r.status > 599:
			return fail("respond.status", "%d: want a status from 200 to 599", s.Respond.Status)
		case r.status == http.StatusNoContent || r.status == http.StatusNotModified || r.status == http.StatusResetContent:
			if s.Respond.Body != "" {
				return fail("respond.body", "a %d response has no body", r.status)
			}
		}
		if len(s.Respond.Body) > MaxBody {
			return fail("respond.body", "%d bytes: at most %d are allowed", len(s.Respond.Body), MaxBody)
		}
		r.body = s.Respond.Body
		r.bodyType = s.Respond.ContentType
		if r.bodyType == "" {
			r.bodyType = "text/plain; charset=utf-8"
		} else if !httpfield.ValidValue(r.bodyType) || !strings.Contains(r.bodyType, "/") {
			return fail("respond.content_type", "%q: want a media type such as text/html; charset=utf-8", s.Respond.ContentType)
		}
	}
	if n > 1 {
		return fail("", "a rule has at most one of rewrite, redirect and respond (write two rules)")
	}
	if r.pathAny && (r.routing == KindRewrite || r.routing == KindRedirect || r.req.refs() || r.resp.refs()) {
		r.pathAny = false // the values may use :splat, the whole path
	}
	if n == 0 && r.req == nil && r.resp == nil {
		return fail("", "no action: give request_headers, response_headers, rewrite, redirect or respond")
	}
	return r, nil
}

// validHost reports whether h is a plausible host name or address (no
// port, scheme or path).
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, c := range []byte(h) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.', c == '_':
		default:
			return false
		}
	}
	return !strings.HasPrefix(h, ".") && !strings.HasSuffix(h, ".")
}

// requestManaged are request fields the edge itself sets or that describe
// the message; rules cannot change them.
var requestManaged = map[string]string{
	"Host":               "the request's host: match it with host, or redirect",
	"Content-Length":     "describes the body on the wire",
	"Transfer-Encoding":  "a hop-by-hop field",
	"Connection":         "a hop-by-hop field",
	"Keep-Alive":         "a hop-by-hop field",
	"Te":                 "a hop-by-hop field",
	"Trailer":            "a hop-by-hop field",
	"Upgrade":            "a hop-by-hop field",
	"Proxy-Connection":   "a hop-by-hop field",
	"Via":                "set by the edge",
	"X-Forwarded-For":    "set by the edge",
	"X-Forwarded-Proto":  "set by the edge",
	"X-Forwarded-Host":   "set by the edge",
	"Cdnctl-Edge-Secret": "the topology's secret",
}

// responseManaged are response fields that describe the bytes sent or the
// caches' own reports.
var responseManaged = map[string]string{
	"Content-Length":    "describes the body sent",
	"Content-Range":     "describes the range sent",
	"Content-Encoding":  "describes the body sent",
	"Transfer-Encoding": "a hop-by-hop field",
	"Connection":        "a hop-by-hop field",
	"Keep-Alive":        "a hop-by-hop field",
	"Trailer":           "a hop-by-hop field",
	"Upgrade":           "a hop-by-hop field",
	"Age":               "set by the caches",
	"Cache-Status":      "set by the caches",
	"Date":              "set by the server",
}

func checkRequestField(name string) string  { return checkField(name, requestManaged) }
func checkResponseField(name string) string { return checkField(name, responseManaged) }

func checkField(name string, managed map[string]string) string {
	if !httpfield.ValidName(name) {
		return fmt.Sprintf("%q is not a header name (letters, digits and !#$%%&'*+-.^_`|~ only)", name)
	}
	if why, ok := managed[http.CanonicalHeaderKey(name)]; ok {
		return fmt.Sprintf("%s cannot be changed by a rule: %s", http.CanonicalHeaderKey(name), why)
	}
	return ""
}

func compileOps(h *HeaderOps, check func(string) string, p siterules.Pattern) (*ops, error) {
	o := &ops{}
	for _, name := range h.Remove {
		if why := check(name); why != "" {
			return nil, fmt.Errorf("remove: %s", why)
		}
		o.remove = append(o.remove, http.CanonicalHeaderKey(name))
	}
	fields := func(key string, m map[string]string) ([]field, error) {
		var out []field
		for name, v := range m {
			if why := check(name); why != "" {
				return nil, fmt.Errorf("%s: %s", key, why)
			}
			if !httpfield.ValidValue(v) {
				return nil, fmt.Errorf("%s: %s: the value %q has a character a header cannot carry", key, name, v)
			}
			if err := checkRefs(v, &p); err != nil {
				return nil, fmt.Errorf("%s: %s: %v", key, name, err)
			}
			out = append(out, field{http.CanonicalHeaderKey(name), v, strings.Contains(v, ":")})
		}
		// Maps have no order: apply in name order, so a rule does the
		// same thing every time.
		slices.SortFunc(out, func(a, b field) int { return strings.Compare(a.name, b.name) })
		return out, nil
	}
	var err error
	if o.set, err = fields("set", h.Set); err != nil {
		return nil, err
	}
	if o.add, err = fields("add", h.Add); err != nil {
		return nil, err
	}
	if len(o.remove)+len(o.set)+len(o.add) == 0 {
		return nil, errors.New("empty: give set, add or remove")
	}
	return o, nil
}

// checkRefs rejects a value whose :name looks like a capture the pattern
// does not make, unless it is clearly not one (a URL's "https:").
func checkRefs(v string, p *siterules.Pattern) error {
	names := p.Names()
	for i := 0; i < len(v); i++ {
		if v[i] != ':' || i+1 >= len(v) || !isLetter(v[i+1]) || (i > 0 && isWord(v[i-1])) {
			continue
		}
		j := i + 1
		for j < len(v) && isWord(v[j]) {
			j++
		}
		if name := v[i+1 : j]; !slices.Contains(names, name) {
			return fmt.Errorf("%q uses :%s, which the path does not capture", v, name)
		}
	}
	return nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isWord(c byte) bool   { return isLetter(c) || c >= '0' && c <= '9' || c == '_' }

// Applied is one rule action that changed a request, for Cache-Status and
// logs.
type Applied struct {
	Index int
	Name  string
	Kind  string
}

// Answer is a response the edge sends itself (a redirect or a fixed
// response).
type Answer struct {
	Status int
	Header http.Header
	Body   string
}

// Plan is what the rules do to one request: Evaluate computes it, the
// edge applies it.
type Plan struct {
	// Answer, when not nil, is the response to send instead of looking up
	// the cache.
	Answer *Answer
	// Rewritten is set when Path and RawQuery replace the request's.
	Rewritten bool
	Path      string // decoded
	RawQuery  string
	// Applied lists the actions that change the request, in order.
	Applied []Applied

	req  []matched
	resp []matched
}

type matched struct {
	r    *rule
	caps siterules.Captures
}

// Evaluate matches a request's host (as sent, port allowed), decoded path
// and raw query against the rules.
func (rs *Rules) Evaluate(host, reqPath, rawQuery string) Plan {
	var pl Plan
	if rs == nil || len(rs.rules) == 0 {
		return pl
	}
	host = hostOnly(host)
	routed := false
	for i := range rs.rules {
		r := &rs.rules[i]
		if !r.matchHost(host) {
			continue
		}
		var caps siterules.Captures
		switch {
		case r.pathAny:
		case r.prefix != "":
			if !strings.HasPrefix(reqPath, r.prefix) {
				continue
			}
			caps = siterules.Captures{"splat": reqPath[len(r.prefix):]}
		default:
			var ok bool
			if caps, ok = r.pattern.Match("", reqPath); !ok {
				continue
			}
		}
		if r.req != nil {
			pl.req = append(pl.req, matched{r, caps})
			pl.Applied = append(pl.Applied, Applied{r.index, r.name, KindRequestHeaders})
		}
		if r.resp != nil {
			pl.resp = append(pl.resp, matched{r, caps})
		}
		if r.routing == "" || routed || pl.Answer != nil {
			continue
		}
		routed = true
		pl.Applied = append(pl.Applied, Applied{r.index, r.name, r.routing})
		switch r.routing {
		case KindRewrite:
			pl.Rewritten = true
			pl.Path, pl.RawQuery = rewriteTarget(r.target.Expand(caps), r.target.HasQuery(), rawQuery)
		case KindRedirect:
			loc := r.target.Expand(caps)
			if rawQuery != "" && !r.target.HasQuery() {
				p, frag, hasFrag := strings.Cut(loc, "#")
				loc = p + "?" + rawQuery
				if hasFrag {
					loc += "#" + frag
				}
			}
			pl.Answer = &Answer{Status: r.status, Header: http.Header{"Location": {loc}}}
		case KindRespond:
			pl.Answer = &Answer{Status: r.status, Body: r.body, Header: http.Header{}}
			if r.status != http.StatusNoContent && r.status != http.StatusNotModified && r.status != http.StatusResetContent {
				pl.Answer.Header["Content-Type"] = []string{r.bodyType}
			}
		}
	}
	if pl.Answer != nil {
		// The request goes nowhere: its header changes did nothing.
		pl.req = nil
		pl.Applied = slices.DeleteFunc(pl.Applied, func(a Applied) bool { return a.Kind == KindRequestHeaders })
		pl.Answer.Header["Content-Length"] = []string{strconv.Itoa(len(pl.Answer.Body))}
	}
	return pl
}

// rewriteTarget splits an expanded rewrite target into a decoded, cleaned
// path and a query (the request's when the target has none).
func rewriteTarget(target string, hasQuery bool, rawQuery string) (string, string) {
	p, q, _ := strings.Cut(target, "?")
	if hasQuery {
		rawQuery = q
	}
	dec, err := url.PathUnescape(p)
	if err != nil {
		dec = p
	}
	cleaned := path.Clean(dec)
	if strings.HasSuffix(dec, "/") && cleaned != "/" {
		cleaned += "/"
	}
	return cleaned, rawQuery
}

func (r *rule) matchHost(host string) bool {
	switch {
	case r.hostAny:
		return true
	case r.suffix != "":
		return len(host) > len(r.suffix) && strings.HasSuffix(host, r.suffix)
	}
	return host == r.host
}

// hostOnly lower-cases a Host value and drops its port.
func hostOnly(h string) string {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
		h = h[:i]
	}
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

// ApplyRequest changes a request's header as the matching rules say.
func (pl *Plan) ApplyRequest(h http.Header) {
	for _, m := range pl.req {
		m.r.req.apply(h, m.caps)
	}
}

// ApplyResponse changes a response's header as the matching rules say.
func (pl *Plan) ApplyResponse(h http.Header) {
	for _, m := range pl.resp {
		m.r.resp.apply(h, m.caps)
	}
}

// ChangesResponse reports whether ApplyResponse does anything.
func (pl *Plan) ChangesResponse() bool { return len(pl.resp) > 0 }

// Detail describes the actions that changed the request, for the
// Cache-Status detail: "rule 1 rewrite, rule 3 request-headers" ("" when
// none did).
func (pl *Plan) Detail() string {
	if len(pl.Applied) == 0 {
		return ""
	}
	var b strings.Builder
	for i, a := range pl.Applied {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("rule ")
		b.WriteString(strconv.Itoa(a.Index))
		if a.Name != "" {
			b.WriteString(" (" + a.Name + ")")
		}
		b.WriteString(" " + a.Kind)
	}
	return b.String()
}

// refs reports whether a value may use captures.
func (o *ops) refs() bool {
	if o == nil {
		return false
	}
	for _, f := range append(o.set, o.add...) {
		if f.refs {
			return true
		}
	}
	return false
}

func (f *field) expand(caps siterules.Captures) string {
	if !f.refs {
		return f.value
	}
	return siterules.ExpandValue(f.value, caps)
}

func (o *ops) apply(h http.Header, caps siterules.Captures) {
	for _, name := range o.remove {
		delete(h, name)
	}
	for _, f := range o.set {
		h[f.name] = []string{f.expand(caps)}
	}
	for _, f := range o.add {
		// Clip: the lines may be shared with a stored response.
		h[f.name] = append(slices.Clip(h[f.name]), f.expand(caps))
	}
}
