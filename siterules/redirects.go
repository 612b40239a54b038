package siterules

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// DefaultStatus is the status of a _redirects rule that gives none:
// Cloudflare Pages' 302 (Netlify's is 301). A temporary redirect is the safe
// default: browsers do not keep it.
const DefaultStatus = 302

// Redirect is one line of a _redirects file:
//
//	FROM [KEY=VALUE ...] TO [STATUS[!]] [# comment]
//
// FROM is a Pattern; the optional KEY=VALUE pairs (Netlify's query
// matching) require each query parameter, VALUE being a literal or a
// :placeholder; TO is a path or an http(s) URL that may use the captured
// :placeholders and :splat; STATUS is 301, 302, 303, 307 or 308 (a
// redirect) or 200 (a rewrite: the client keeps its URL and gets what TO
// names), with "!" to force the rule where a file exists.
type Redirect struct {
	Line   int
	From   Pattern
	Query  []QueryParam
	To     string
	Status int // 0: not given (the caller's default applies)
	Force  bool

	target template
}

// QueryParam is a query parameter a rule requires.
type QueryParam struct {
	Key string
	// Value is the literal value required, or the name of the placeholder
	// that captures any value when Placeholder is set.
	Value       string
	Placeholder bool
}

// Redirects is a parsed _redirects file. The first rule that matches
// applies.
type Redirects struct {
	rules []Redirect
	// static maps host+"\x00"+path to the indices of the static rules with
	// that source, in file order ("" host: any host).
	static map[string][]int
	// dynamic holds the indices of the other rules, in file order.
	dynamic []int
}

// Len returns the number of rules.
func (r *Redirects) Len() int {
	if r == nil {
		return 0
	}
	return len(r.rules)
}

// Rules returns the rules in file order.
func (r *Redirects) Rules() []Redirect {
	if r == nil {
		return nil
	}
	return r.rules
}

var (
	statusRe     = regexp.MustCompile(`^([0-9]+)(!?)$`)
	validStatus  = map[int]bool{200: true, 301: true, 302: true, 303: true, 307: true, 308: true}
	statusChoice = "want 301, 302, 303, 307, 308 or 200"
)

// ParseRedirects parses a _redirects file. Every line that is not blank, a
// comment ("#") or a valid rule is an error; all of them are reported
// (errors.Join of *LineError), up to 20.
func ParseRedirects(data []byte) (*Redirects, error) {
	errs := &errorList{file: RedirectsFile}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: %d bytes; at most %d are read", RedirectsFile, len(data), MaxFileSize)
	}
	r := &Redirects{static: map[string][]int{}}
	seen := map[string]int{} // duplicate key → line
	var static, dynamic int
	staticAllowed := true
	for i, raw := range strings.Split(string(data), "\n") {
		lineNo := i + 1
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if len(line) > MaxRedirectLine {
			errs.add(lineNo, "the line is %d characters long; at most %d are allowed (as on Cloudflare Pages)", len(line), MaxRedirectLine)
			continue
		}
		rule, err := parseRedirectLine(line)
		if err != nil {
			errs.add(lineNo, "%v", err)
			continue
		}
		rule.Line = lineNo
		if staticAllowed && rule.From.Static() {
			static++
			if static > MaxStaticRedirects {
				errs.add(lineNo, "more than %d static rules; at most %d are allowed (as on Cloudflare Pages)", MaxStaticRedirects, MaxStaticRedirects)
				continue
			}
		} else {
			// A static rule after a dynamic one counts as dynamic, as on
			// Cloudflare Pages: static rules belong first.
			staticAllowed = false
			dynamic++
			if dynamic > MaxDynamicRedirects {
				errs.add(lineNo, "more than %d dynamic rules (with a splat or a placeholder, or after one); at most %d are allowed (as on Cloudflare Pages)", MaxDynamicRedirects, MaxDynamicRedirects)
				continue
			}
		}
		key := rule.duplicateKey()
		if first, dup := seen[key]; dup {
			errs.add(lineNo, "%s duplicates line %d: only the first rule for a source applies", rule.From.String(), first)
			continue
		}
		seen[key] = lineNo
		idx := len(r.rules)
		r.rules = append(r.rules, rule)
		if rule.From.Static() {
			k := rule.From.hostKey() + "\x00" + rule.From.path
			r.static[k] = append(r.static[k], idx)
		} else {
			r.dynamic = append(r.dynamic, idx)
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return r, nil
}

func (rule *Redirect) duplicateKey() string {
	q := make([]string, len(rule.Query))
	for i, p := range rule.Query {
		v := p.Value
		if p.Placeholder {
			v = ":"
		}
		q[i] = p.Key + "=" + v
	}
	sort.Strings(q)
	return rule.From.String() + " " + strings.Join(q, "&")
}

func isTarget(s string) bool {
	if strings.HasPrefix(s, "/") {
		return true
	}
	_, ok := cutScheme(s)
	return ok
}

func parseRedirectLine(line string) (Redirect, error) {
	var rule Redirect
	fields := strings.Fields(line)
	for i, f := range fields {
		if i > 0 && strings.HasPrefix(f, "#") {
			fields = fields[:i] // an inline comment
			break
		}
	}
	from, parts := fields[0], fields[1:]
	if !isTarget(from) {
		return rule, fmt.Errorf("source %q: want a path starting with \"/\" or an http(s):// URL", from)
	}
	var err error
	if rule.From, err = ParsePattern(from); err != nil {
		return rule, fmt.Errorf("source %v", err)
	}
	if len(parts) == 0 {
		return rule, fmt.Errorf("no target after %q; want SOURCE TARGET [STATUS]", from)
	}
	toIdx := -1
	for i, p := range parts {
		if isTarget(p) {
			toIdx = i
			break
		}
		if !strings.Contains(p, "=") {
			if statusRe.MatchString(p) {
				return rule, fmt.Errorf("no target before the status %q; want SOURCE TARGET [STATUS]", p)
			}
			return rule, fmt.Errorf("target %q: want a path starting with \"/\" or an http(s):// URL", p)
		}
	}
	if toIdx < 0 {
		return rule, fmt.Errorf("no target after %q; want SOURCE [KEY=VALUE ...] TARGET [STATUS]", from)
	}
	captured := map[string]bool{}
	for _, n := range rule.From.names {
		captured[n] = true
	}
	for _, p := range parts[:toIdx] {
		key, val, _ := strings.Cut(p, "=")
		if key == "" {
			return rule, fmt.Errorf("query parameter %q: no name before \"=\"", p)
		}
		for _, q := range rule.Query {
			if q.Key == key {
				return rule, fmt.Errorf("query parameter %q is required twice", key)
			}
		}
		qp := QueryParam{Key: key, Value: val}
		if strings.HasPrefix(val, ":") {
			if !placeholderRe.MatchString(val) || placeholderRe.FindString(val) != val {
				return rule, fmt.Errorf("query parameter %q: %q is not a placeholder (a colon, a letter, then letters, digits or _)", p, val)
			}
			qp.Value, qp.Placeholder = val[1:], true
			if captured[qp.Value] || qp.Value == "splat" {
				return rule, fmt.Errorf("query parameter %q: :%s is already captured", p, qp.Value)
			}
			captured[qp.Value] = true
		}
		rule.Query = append(rule.Query, qp)
	}
	rule.To = parts[toIdx]
	if rule.target, err = parseTemplate(rule.To, captured); err != nil {
		return rule, err
	}
	rest := parts[toIdx+1:]
	if len(rest) > 0 {
		m := statusRe.FindStringSubmatch(rest[0])
		switch {
		case m != nil:
			var code int
			fmt.Sscan(m[1], &code)
			if !validStatus[code] {
				hint := ""
				if code == 404 || code == 410 || code == 451 {
					hint = " (Netlify's error rewrites are not supported: a 404.html next to the paths is served for them)"
				}
				return rule, fmt.Errorf("unknown status %q; %s%s", m[1], statusChoice, hint)
			}
			rule.Status, rule.Force = code, m[2] == "!"
		case strings.Contains(rest[0], "="):
			return rule, fmt.Errorf("conditions such as %q (Netlify's country, language, role or cookie rules) are not supported", rest[0])
		default:
			return rule, fmt.Errorf("unknown status %q; %s", rest[0], statusChoice)
		}
		if len(rest) > 1 {
			if strings.Contains(rest[1], "=") {
				return rule, fmt.Errorf("conditions such as %q (Netlify's country, language, role or cookie rules) are not supported", rest[1])
			}
			return rule, fmt.Errorf("unexpected %q after the status; want SOURCE TARGET [STATUS]", rest[1])
		}
	}
	if rule.Status == 200 && rule.target.absolute {
		return rule, fmt.Errorf("a 200 rewrite serves a path of this site, not %q: proxying to another server is not supported", rule.To)
	}
	return rule, nil
}

// template is a rule's target with its references to captures.
type template struct {
	parts    []templatePart
	absolute bool // an http(s) URL
	hasQuery bool
}

type templatePart struct {
	literal string
	ref     string // capture name ("" for a literal)
	where   byte   // 'p' path, 'q' query, 'f' fragment
}

func parseTemplate(to string, captured map[string]bool) (template, error) {
	t := template{}
	if rest, ok := cutScheme(to); ok {
		t.absolute = true
		u, err := url.Parse(to)
		if err != nil || u.Host == "" || strings.HasPrefix(rest, "/") {
			return t, fmt.Errorf("target %q: not a valid http(s) URL", to)
		}
	} else if strings.HasPrefix(to, "//") {
		return t, fmt.Errorf("target %q: a target starting with \"//\" names another host; write https:// before it", to)
	}
	where := byte('p')
	pos := 0
	for _, loc := range placeholderRe.FindAllStringIndex(to, -1) {
		name := to[loc[0]+1 : loc[1]]
		if !captured[name] {
			if name == "splat" {
				return t, fmt.Errorf("target %q uses :splat, but the source has no *", to)
			}
			return t, fmt.Errorf("target %q uses :%s, which the source does not capture (write %%3A for a literal colon)", to, name)
		}
		lit := to[pos:loc[0]]
		t.parts, where = appendLiteral(t.parts, lit, where)
		t.parts = append(t.parts, templatePart{ref: name, where: where})
		pos = loc[1]
	}
	t.parts, _ = appendLiteral(t.parts, to[pos:], where)
	t.hasQuery = strings.Contains(strings.SplitN(to, "#", 2)[0], "?")
	return t, nil
}

// appendLiteral adds a literal, tracking whether the text after it is in
// the path, the query or the fragment.
func appendLiteral(parts []templatePart, lit string, where byte) ([]templatePart, byte) {
	if lit == "" {
		return parts, where
	}
	for _, c := range []byte(lit) {
		switch {
		case c == '?' && where == 'p':
			where = 'q'
		case c == '#':
			where = 'f'
		}
	}
	return append(parts, templatePart{literal: lit}), where
}

// expand writes the target with the captured values escaped for where
// they appear.
func (t template) expand(caps Captures) string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.ref == "" {
			b.WriteString(p.literal)
			continue
		}
		v := caps[p.ref]
		switch p.where {
		case 'q':
			b.WriteString(url.QueryEscape(v))
		default:
			b.WriteString(escapePath(v))
		}
	}
	return b.String()
}

// escapePath escapes a captured value for a URL path, keeping its slashes.
func escapePath(v string) string {
	segs := strings.Split(v, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// Match is a rule matched by a request, with what it captured.
type Match struct {
	Rule     *Redirect
	Captures Captures
}

// Match returns the first rule that matches a request's host (lower case,
// without port), path (decoded, as http.Request.URL.Path) and query.
func (r *Redirects) Match(host, path string, query url.Values) (Match, bool) {
	if r == nil {
		return Match{}, false
	}
	best := -1
	var bestCaps Captures
	for _, key := range [2]string{"\x00" + path, host + "\x00" + path} {
		for _, i := range r.static[key] {
			if best >= 0 && i > best {
				break
			}
			if caps, ok := r.rules[i].matchQuery(query, nil); ok {
				best, bestCaps = i, caps
				break
			}
		}
		if host == "" {
			break
		}
	}
	for _, i := range r.dynamic {
		if best >= 0 && i > best {
			break
		}
		rule := &r.rules[i]
		caps, ok := rule.From.Match(host, path)
		if !ok {
			continue
		}
		if caps, ok = rule.matchQuery(query, caps); ok {
			best, bestCaps = i, caps
			break
		}
	}
	if best < 0 {
		return Match{}, false
	}
	return Match{Rule: &r.rules[best], Captures: bestCaps}, true
}

func (rule *Redirect) matchQuery(query url.Values, caps Captures) (Captures, bool) {
	for _, q := range rule.Query {
		vals, ok := query[q.Key]
		if !ok || len(vals) == 0 {
			return nil, false
		}
		if !q.Placeholder {
			if vals[0] != q.Value {
				return nil, false
			}
			continue
		}
		if caps == nil {
			caps = Captures{}
		}
		caps[q.Value] = vals[0]
	}
	return caps, true
}

// Location returns the Location of a redirect: the target with the
// captured values, and the request's query (rawQuery) when the target has
// none and the rule does not match on the query itself (it consumed it).
func (m Match) Location(rawQuery string) string {
	loc := m.Rule.target.expand(m.Captures)
	if rawQuery == "" || m.Rule.target.hasQuery || len(m.Rule.Query) > 0 {
		return loc
	}
	path, frag, hasFrag := strings.Cut(loc, "#")
	loc = path + "?" + rawQuery
	if hasFrag {
		loc += "#" + frag
	}
	return loc
}

// RewritePath returns the decoded path a 200 rewrite serves (the target
// without its query and fragment), or false when the target does not
// decode to a path.
func (m Match) RewritePath() (string, bool) {
	loc := m.Rule.target.expand(m.Captures)
	if i := strings.IndexAny(loc, "?#"); i >= 0 {
		loc = loc[:i]
	}
	p, err := url.PathUnescape(loc)
	if err != nil || !strings.HasPrefix(p, "/") {
		return "", false
	}
	return p, true
}
