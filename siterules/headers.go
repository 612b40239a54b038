package siterules

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/cdnctl/cdnctl/httpfield"
)

// HeaderRule is one block of a _headers file: a Pattern on its own line,
// then indented "Name: value" lines (set) and "! Name" lines (remove).
// Values may use the pattern's :placeholders and :splat.
type HeaderRule struct {
	Line  int
	Path  Pattern
	Set   []Field
	Unset []string // canonical names
}

// Field is a header a rule sets.
type Field struct {
	Name  string // canonical
	Value string
}

// Headers is a parsed _headers file. Every rule whose pattern matches a
// request applies, in file order.
type Headers struct {
	rules []HeaderRule
}

// Len returns the number of rules.
func (h *Headers) Len() int {
	if h == nil {
		return 0
	}
	return len(h.rules)
}

// Rules returns the rules in file order.
func (h *Headers) Rules() []HeaderRule {
	if h == nil {
		return nil
	}
	return h.rules
}

// managedHeaders describe the bytes on the wire or the message itself: the
// server sets them, and a _headers rule can neither set nor remove them.
var managedHeaders = map[string]string{
	"Accept-Ranges":     "set by the server",
	"Age":               "set by caches",
	"Connection":        "a hop-by-hop field",
	"Content-Encoding":  "set for precompressed files",
	"Content-Length":    "set by the server",
	"Content-Range":     "set by the server for ranges",
	"Date":              "set by the server",
	"Etag":              "the origin's validator of the bytes sent",
	"Keep-Alive":        "a hop-by-hop field",
	"Last-Modified":     "the origin's validator of the bytes sent",
	"Location":          "write a _redirects rule instead",
	"Proxy-Connection":  "a hop-by-hop field",
	"Te":                "a hop-by-hop field",
	"Trailer":           "a hop-by-hop field",
	"Transfer-Encoding": "a hop-by-hop field",
	"Upgrade":           "a hop-by-hop field",
	"Vary":              "set for precompressed files",
}

// pathLineRe recognizes the line that opens a block: a path, or a URL with
// a scheme (only http and https are then accepted).
var pathLineRe = regexp.MustCompile(`^(/|[A-Za-z][A-Za-z0-9+.-]*://)`)

// ParseHeaders parses a _headers file. Every line that is not blank, a
// comment ("#"), a pattern, a header to set or one to remove is an error;
// all of them are reported (errors.Join of *LineError), up to 20.
func ParseHeaders(data []byte) (*Headers, error) {
	errs := &errorList{file: HeadersFile}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: %d bytes; at most %d are read", HeadersFile, len(data), MaxFileSize)
	}
	hs := &Headers{}
	var cur *HeaderRule
	bad := false // the current block's pattern was invalid
	closeBlock := func() {
		if cur != nil && len(cur.Set) == 0 && len(cur.Unset) == 0 {
			errs.add(cur.Line, "%s has no header lines; want indented \"Name: value\" or \"! Name\" lines after it", cur.Path.String())
		}
		cur = nil
	}
	for i, raw := range strings.Split(string(data), "\n") {
		lineNo := i + 1
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if len(line) > MaxHeaderLine {
			errs.add(lineNo, "the line is %d characters long; at most %d are allowed (as on Cloudflare Pages)", len(line), MaxHeaderLine)
			continue
		}
		if pathLineRe.MatchString(line) {
			closeBlock()
			if len(hs.rules) == MaxHeaderRules {
				errs.add(lineNo, "more than %d rules; at most %d are allowed (as on Cloudflare Pages)", MaxHeaderRules, MaxHeaderRules)
				bad = true
				continue
			}
			if strings.ContainsAny(line, " \t") {
				errs.add(lineNo, "%q: a pattern is alone on its line; headers go on the indented lines after it", line)
				bad = true
				continue
			}
			p, err := ParsePattern(line)
			if err != nil {
				errs.add(lineNo, "%v", err)
				bad = true
				continue
			}
			bad = false
			hs.rules = append(hs.rules, HeaderRule{Line: lineNo, Path: p})
			cur = &hs.rules[len(hs.rules)-1]
			continue
		}
		if cur == nil && !bad {
			errs.add(lineNo, "%q comes before any pattern; want a line such as /* or /assets/* first", line)
			continue
		}
		if strings.HasPrefix(line, "!") {
			name := strings.TrimSpace(line[1:])
			if msg := checkName(name); msg != "" {
				errs.add(lineNo, "%s", msg)
				continue
			}
			if cur != nil {
				cur.Unset = append(cur.Unset, http.CanonicalHeaderKey(name))
			}
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			errs.add(lineNo, "%q: want \"Name: value\", \"! Name\" or a pattern starting with / or https://", line)
			continue
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if msg := checkName(name); msg != "" {
			errs.add(lineNo, "%s", msg)
			continue
		}
		if value == "" {
			errs.add(lineNo, "%s has no value (write \"! %s\" to remove it)", name, name)
			continue
		}
		if !httpfield.ValidValue(value) {
			errs.add(lineNo, "the value of %s holds characters a header cannot carry", name)
			continue
		}
		if cur != nil {
			cur.Set = append(cur.Set, Field{Name: http.CanonicalHeaderKey(name), Value: value})
		}
	}
	closeBlock()
	if err := errs.err(); err != nil {
		return nil, err
	}
	return hs, nil
}

// checkName returns why a header name cannot be used, or "".
func checkName(name string) string {
	if name == "" {
		return "no header name"
	}
	if !httpfield.ValidName(name) {
		return fmt.Sprintf("%q is not a header name (letters, digits and !#$%%&'*+-.^_`|~ only)", name)
	}
	if why, ok := managedHeaders[http.CanonicalHeaderKey(name)]; ok {
		return fmt.Sprintf("%s cannot be set or removed here: %s", http.CanonicalHeaderKey(name), why)
	}
	return ""
}

// Apply changes h as the rules matching a request's host (lower case,
// without port) and path (decoded) say, in file order: a rule removes its
// "! Name" headers, then sets its fields. The first rule to set a header
// replaces what the origin sent; later ones append to it (", "), as on
// Cloudflare Pages. It reports whether any rule matched.
func (hs *Headers) Apply(h http.Header, host, path string) bool {
	if hs == nil {
		return false
	}
	matched := false
	var set map[string]bool
	for i := range hs.rules {
		rule := &hs.rules[i]
		caps, ok := rule.Path.Match(host, path)
		if !ok {
			continue
		}
		matched = true
		for _, name := range rule.Unset {
			h.Del(name)
			delete(set, name)
		}
		for _, f := range rule.Set {
			v := expandValue(f.Value, caps)
			switch {
			case !set[f.Name]:
				h.Set(f.Name, v)
				if set == nil {
					set = map[string]bool{}
				}
				set[f.Name] = true
			case f.Name == "Set-Cookie":
				h.Add(f.Name, v)
			default:
				h.Set(f.Name, h.Get(f.Name)+", "+v)
			}
		}
	}
	return matched
}

// expandValue replaces the :placeholders (and :splat) the pattern captured;
// other colons stay as written ("data:", "https://a:8443"). A captured
// value that a header cannot carry is percent-escaped.
func expandValue(v string, caps Captures) string {
	if len(caps) == 0 {
		return v
	}
	return placeholderRe.ReplaceAllStringFunc(v, func(ref string) string {
		c, ok := caps[ref[1:]]
		if !ok {
			return ref
		}
		if !httpfield.ValidValue(c) {
			return url.PathEscape(c)
		}
		return c
	})
}
