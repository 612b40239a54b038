package siterules

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Pattern is the URL pattern of a _redirects source or a _headers block:
// a path ("/blog/:year/*"), optionally preceded by a scheme and host
// ("https://:sub.example.com/*"). Cloudflare Pages and Netlify share the
// syntax:
//
//   - A splat "*" matches any characters, "/" included, greedily; a pattern
//     has at most one, and its value is :splat.
//   - A placeholder ":name" (a letter, then letters, digits or "_") matches
//     one or more characters but "/" in the path, and but "/" and "." in the
//     host. Each name appears once.
//   - Everything else matches itself, case-sensitively in the path. Percent
//     escapes in the pattern are decoded, as the request path is.
//
// The scheme of a host pattern is not compared (as on Cloudflare, so a rule
// for https:// cannot be avoided over http://); the request's port is
// ignored.
type Pattern struct {
	text string // as written

	host   string         // lower-case literal host; "" with hostRe or for any host
	hostRe *regexp.Regexp // host with placeholders or a splat
	path   string         // decoded literal path, when re is nil
	re     *regexp.Regexp // path with placeholders or a splat
	names  []string       // capture names, in order ("splat" for *)
}

// placeholderRe finds placeholders: a colon followed by a letter, then word
// characters (Cloudflare's :[A-Za-z]\w*).
var placeholderRe = regexp.MustCompile(`:[A-Za-z][A-Za-z0-9_]*`)

// ParsePattern parses a pattern as written in a rules file.
func ParsePattern(s string) (Pattern, error) {
	p := Pattern{text: s}
	pathPart := s
	var hostPart string
	if rest, ok := cutScheme(s); ok {
		host, path, found := strings.Cut(rest, "/")
		if !found {
			path = ""
		}
		if host == "" {
			return p, fmt.Errorf("%q: no host after the scheme", s)
		}
		if strings.Contains(host, "@") || strings.ContainsAny(host, "?#[]") {
			return p, fmt.Errorf("%q: the host %q is not a host name", s, host)
		}
		if i := strings.LastIndexByte(host, ':'); i >= 0 && !placeholderRe.MatchString(host[i:]) {
			return p, fmt.Errorf("%q: a port cannot be given (the request's port is ignored)", s)
		}
		hostPart = strings.ToLower(host)
		pathPart = "/" + path
	}
	if !strings.HasPrefix(pathPart, "/") {
		return p, fmt.Errorf("%q: want a path starting with \"/\" or an http(s):// URL", s)
	}
	if strings.ContainsAny(pathPart, "?#") {
		return p, fmt.Errorf("%q: a pattern matches the path only, not a query or fragment", s)
	}
	if n := strings.Count(s, "*"); n > 1 {
		return p, fmt.Errorf("%q: %d splats (*); at most one is allowed", s, n)
	}
	seen := map[string]bool{}
	var err error
	if hostPart != "" {
		if p.hostRe, err = compileSegment(s, hostPart, `[^/.]+`, seen, &p.names, false); err != nil {
			return p, err
		}
		if p.hostRe == nil {
			p.host = hostPart
		}
	}
	if p.re, err = compileSegment(s, pathPart, `[^/]+`, seen, &p.names, true); err != nil {
		return p, err
	}
	if p.re == nil {
		dec, err := url.PathUnescape(pathPart)
		if err != nil {
			return p, fmt.Errorf("%q: invalid percent-encoding", s)
		}
		p.path = dec
	}
	return p, nil
}

// cutScheme removes a leading "http://" or "https://" (any case).
func cutScheme(s string) (string, bool) {
	for _, scheme := range []string{"https://", "http://"} {
		if len(s) >= len(scheme) && strings.EqualFold(s[:len(scheme)], scheme) {
			return s[len(scheme):], true
		}
	}
	return s, false
}

// compileSegment turns the host or path of a pattern into an anchored
// regexp, or returns nil when it has no splat nor placeholder. placeholder
// is what a placeholder matches there.
func compileSegment(whole, part, placeholder string, seen map[string]bool, names *[]string, decode bool) (*regexp.Regexp, error) {
	if !strings.Contains(part, "*") && !placeholderRe.MatchString(part) {
		return nil, nil
	}
	var b strings.Builder
	b.WriteString("(?s)^") // a splat matches any character, newlines too
	literal := func(s string) error {
		if decode {
			dec, err := url.PathUnescape(s)
			if err != nil {
				return fmt.Errorf("%q: invalid percent-encoding", whole)
			}
			s = dec
		}
		b.WriteString(regexp.QuoteMeta(s))
		return nil
	}
	for len(part) > 0 {
		star := strings.IndexByte(part, '*')
		loc := placeholderRe.FindStringIndex(part)
		switch {
		case loc != nil && (star < 0 || loc[0] < star):
			if err := literal(part[:loc[0]]); err != nil {
				return nil, err
			}
			name := part[loc[0]+1 : loc[1]]
			if name == "splat" {
				return nil, fmt.Errorf("%q: :splat is the value of *; write * to match it", whole)
			}
			if seen[name] {
				return nil, fmt.Errorf("%q: the placeholder :%s appears twice", whole, name)
			}
			seen[name] = true
			*names = append(*names, name)
			fmt.Fprintf(&b, "(%s)", placeholder)
			part = part[loc[1]:]
		case star >= 0:
			if err := literal(part[:star]); err != nil {
				return nil, err
			}
			seen["splat"] = true
			*names = append(*names, "splat")
			b.WriteString("(.*)")
			part = part[star+1:]
		default:
			if err := literal(part); err != nil {
				return nil, err
			}
			part = ""
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// String returns the pattern as written.
func (p *Pattern) String() string { return p.text }

// Static reports whether the pattern matches one URL path only (no splat
// nor placeholder).
func (p *Pattern) Static() bool { return p.re == nil && p.hostRe == nil }

// Captures names the values a match captured: placeholders by name, the
// splat as "splat".
type Captures map[string]string

// Match matches a request's host (lower case, without port) and path
// (decoded, as http.Request.URL.Path).
func (p *Pattern) Match(host, path string) (Captures, bool) {
	var caps Captures
	switch {
	case p.hostRe != nil:
		m := p.hostRe.FindStringSubmatch(host)
		if m == nil {
			return nil, false
		}
		caps = p.capture(caps, 0, m[1:])
	case p.host != "" && p.host != host:
		return nil, false
	}
	if p.re == nil {
		if path != p.path {
			return nil, false
		}
		return caps, true
	}
	m := p.re.FindStringSubmatch(path)
	if m == nil {
		return nil, false
	}
	return p.capture(caps, len(p.names)-(len(m)-1), m[1:]), true
}

func (p *Pattern) capture(caps Captures, first int, values []string) Captures {
	if caps == nil {
		caps = make(Captures, len(p.names))
	}
	for i, v := range values {
		caps[p.names[first+i]] = v
	}
	return caps
}

// hostKey is the host a static pattern requires ("" for any).
func (p *Pattern) hostKey() string { return p.host }
