package hashing

import (
	"bytes"
	"html"
	"net/url"
	"strings"
)

// htmlRefs returns the URLs of an HTML document served at doc: src, href,
// srcset, poster, data, lazy-loading data-src/data-srcset, <meta> image
// URLs (og:image…), inline style="" and <style> CSS. A <base href> changes
// what later relative URLs resolve against.
func htmlRefs(src []byte, doc *url.URL) []ref {
	refs, _, _ := htmlScan(src, doc)
	return refs
}

// decodedAttr is the value of an attribute written with character
// references ("images&#x2f;a.png"), decoded, and where it starts.
type decodedAttr struct {
	start int
	val   string
}

// htmlScan returns the references of an HTML document (see htmlRefs) and
// the regions of it where names of files may be written: attribute
// values and the contents of <script> (of any type), <style> and
// <noscript>; not the text people read.
func htmlScan(src []byte, doc *url.URL) ([]ref, []span, []decodedAttr) {
	var (
		refs    []ref
		decoded []decodedAttr
	)
	regions := []span{} // not nil: nil means all of the file
	inRaw := false
	base := doc
	z := newHTMLTokenizer(src)
	inStyle, inImportMap, inScript := false, false, false
	var attrs []attr
	for {
		start := z.pos
		tt := z.next()
		if tt == htmlEnd {
			break
		}
		off := z.pos
		switch tt {
		case htmlText:
			if inRaw {
				regions = append(regions, span{start, off})
			}
			switch {
			case inStyle:
				refs = append(refs, cssRefs(src[start:off], start, base)...)
			case inImportMap:
				refs = append(refs, importMapRefs(src[start:off], start, base)...)
			case inScript:
				// Module specifiers and worker URLs of an inline script
				// resolve against the page's base URL.
				refs = append(refs, jsRefs(src[start:off], start, base, base, nil)...)
			}
		case htmlEndTag:
			inStyle, inImportMap, inScript, inRaw = false, false, false, false
		case htmlStartTag, htmlSelfClosingTag:
			tag := tagName(src[start:off])
			attrs = scanAttrs(attrs[:0], src[start:off], start) // reused: nothing keeps them past the tag
			for i := range attrs {
				switch a := &attrs[i]; {
				case a.end == a.start:
				case bytes.IndexByte(a.value, '&') >= 0 && a.load().raw != a.val:
					decoded = append(decoded, decodedAttr{a.start, a.val})
				default:
					regions = append(regions, span{a.start, a.end})
				}
			}
			// The tokenizer reads <noscript> as text too: its markup is
			// searched like a script's.
			inRaw = (tag == "script" || tag == "style" || tag == "noscript") && tt == htmlStartTag
			inStyle = tag == "style" && tt == htmlStartTag
			scriptType := strings.ToLower(strings.TrimSpace(attrValue(findAttr(attrs, "type"))))
			inImportMap = tag == "script" && tt == htmlStartTag && scriptType == "importmap"
			inScript = tag == "script" && tt == htmlStartTag && findAttr(attrs, "src") == nil && isJSType(scriptType)
			var newBase *url.URL
			refs, newBase = tagRefs(refs, tag, attrs, base, src)
			if newBase != nil {
				base = newBase
			}
		}
	}
	return refs, regions, decoded
}

func findAttr(attrs []attr, key string) *attr {
	for i := range attrs {
		if attrs[i].key == key {
			return attrs[i].load()
		}
	}
	return nil
}

// isJSType reports whether a <script type> (lower case) runs JavaScript:
// none, "module" or a JavaScript MIME type.
func isJSType(t string) bool {
	t, _, _ = strings.Cut(t, ";")
	switch strings.TrimSpace(t) {
	case "", "module", "text/javascript", "application/javascript", "text/ecmascript", "application/ecmascript",
		"application/x-javascript", "application/x-ecmascript", "text/x-javascript", "text/x-ecmascript",
		"text/jscript", "text/livescript", "text/javascript1.0", "text/javascript1.1", "text/javascript1.2",
		"text/javascript1.3", "text/javascript1.4", "text/javascript1.5":
		return true
	}
	return false
}

// importMapRefs returns the URLs of an import map (<script
// type="importmap">) that starts at byte off of the document: the values
// of "imports" and of each scope of "scopes", so modules imported by bare
// specifiers ("app") keep working when their files are renamed. A value
// ending in "/" maps a prefix ("three/addons/": "./jsm/"): the files
// under that folder are named by bare specifiers ("three/addons/a.js"),
// which cannot be rewritten, so they keep their names (ref.pin).
func importMapRefs(text []byte, off int, base *url.URL) []ref {
	strs, err := jsonStrings(text)
	if err != nil {
		return nil
	}
	var refs []ref
	for _, s := range strs {
		if len(s.path) == 2 && s.path[0] == "imports" || len(s.path) == 3 && s.path[0] == "scopes" {
			r := jsonRef(text, s, base, refResource)
			r.start += off
			r.end += off
			if strings.HasSuffix(strings.TrimSpace(s.val), "/") {
				r.pin = pinImportMapDir
			}
			refs = append(refs, r)
		}
	}
	return refs
}

// tagName returns the name of the start tag raw ("<Script src=…>":
// "script"), as the HTML tokenizer gives it: ASCII letters in lower case,
// NUL as U+FFFD.
func tagName(raw []byte) string {
	i := 1
	for i < len(raw) && !isASCIISpace(raw[i]) && raw[i] != '/' && raw[i] != '>' {
		i++
	}
	return lowerName(raw[1:i])
}

// isASCIISpace reports whether c is white space as HTML and CSS define it
// (space, tab, line feed, carriage return, form feed).
func isASCIISpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' }

// lowerName returns a tag or attribute name with its ASCII letters in lower
// case and NUL as U+FFFD; the common names without allocating.
func lowerName(b []byte) string {
	var buf [16]byte
	lower := buf[:0]
	if len(b) > len(buf) {
		lower = make([]byte, 0, len(b))
	}
	for _, c := range b {
		lower = append(lower, lowerASCIIByte(c))
	}
	if s, ok := commonNames[string(lower)]; ok {
		return s
	}
	b = lower
	if bytes.IndexByte(b, 0) >= 0 {
		return strings.ReplaceAll(string(b), "\x00", "\ufffd")
	}
	return string(b)
}

// commonNames are the tag and attribute names lowerName returns without
// allocating.
var commonNames = func() map[string]string {
	m := map[string]string{}
	for _, n := range strings.Fields(`a abbr area article aside audio b base blockquote body br button canvas caption code col dd details
		div dl dt em embed feimage figure footer form frame h1 h2 h3 h4 h5 h6 head header hr html i iframe image img input label li link
		main meta nav noscript object ol option p path picture pre script section select source span strong style sub summary sup svg
		symbol table tbody td template textarea th thead title tr track u ul use video
		action alt async height href id charset class content controls crossorigin data decoding defer fetchpriority for integrity
		itemprop lang loading media name nomodule poster property rel role sizes src srcset style tabindex target title type value
		width xlink:href xmlns aria-label aria-hidden http-equiv referrerpolicy as viewbox fill d`) {
		m[n] = n
	}
	return m
}()

// attr is one attribute of a start tag, with the byte range of its value
// in the document. raw and val are set by load, called for the
// attributes read (most are not: alt, class, loading…).
type attr struct {
	key        string // lower case
	start, end int    // value range in the document
	value      []byte // the value as written, in the document
	raw        string // the value as written
	val        string // the value with character references decoded
	quoted     bool
	loaded     bool
}

// load sets raw and val; it returns a (nil if a is).
func (a *attr) load() *attr {
	if a != nil && !a.loaded {
		a.raw = string(a.value)
		a.val = html.UnescapeString(a.raw)
		a.loaded = true
	}
	return a
}

// scanAttrs lists the attributes of the start tag raw (which starts at
// byte off of the document), following the HTML tokenizer's rules.
func scanAttrs(attrs []attr, raw []byte, off int) []attr {
	i := 1
	for i < len(raw) && !isASCIISpace(raw[i]) && raw[i] != '/' && raw[i] != '>' {
		i++
	}
	for i < len(raw) {
		for i < len(raw) && (isASCIISpace(raw[i]) || raw[i] == '/') {
			i++
		}
		if i >= len(raw) || raw[i] == '>' {
			break
		}
		ks := i
		i++ // a leading '=' belongs to the name
		for i < len(raw) && !isASCIISpace(raw[i]) && raw[i] != '/' && raw[i] != '>' && raw[i] != '=' {
			i++
		}
		a := attr{key: lowerName(raw[ks:i])}
		j := i
		for j < len(raw) && isASCIISpace(raw[j]) {
			j++
		}
		if j < len(raw) && raw[j] == '=' {
			j++
			for j < len(raw) && isASCIISpace(raw[j]) {
				j++
			}
			if j < len(raw) && (raw[j] == '"' || raw[j] == '\'') {
				q := raw[j]
				vs := j + 1
				ve := bytes.IndexByte(raw[vs:], q)
				if ve < 0 {
					ve = len(raw) - vs
				}
				a.start, a.end, a.quoted = off+vs, off+vs+ve, true
				i = vs + ve + 1
			} else {
				vs := j
				for j < len(raw) && !isASCIISpace(raw[j]) && raw[j] != '>' {
					j++
				}
				a.start, a.end = off+vs, off+j
				i = j
			}
			a.value = raw[a.start-off : a.end-off]
		}
		attrs = append(attrs, a)
	}
	return attrs
}

// metaURLProps are <meta property|name> whose content is a URL fetched by
// crawlers and browsers.
var metaURLProps = map[string]bool{
	"og:image": true, "og:image:url": true, "og:image:secure_url": true,
	"og:video": true, "og:video:url": true, "og:video:secure_url": true,
	"og:audio": true, "og:audio:url": true, "og:audio:secure_url": true,
	"twitter:image": true, "twitter:image:src": true, "twitter:player:stream": true,
	"msapplication-tileimage": true, "msapplication-config": true,
	"msapplication-square70x70logo": true, "msapplication-square150x150logo": true,
	"msapplication-wide310x150logo": true, "msapplication-square310x310logo": true,
}

// resourceRels are <link rel> values whose href is fetched with the page.
var resourceRels = map[string]bool{
	"stylesheet": true, "icon": true, "shortcut": true, "apple-touch-icon": true,
	"apple-touch-icon-precomposed": true, "apple-touch-startup-image": true, "mask-icon": true,
	"preload": true, "modulepreload": true, "prefetch": true, "manifest": true, "fluid-icon": true,
}

func tagRefs(refs []ref, tag string, attrs []attr, base *url.URL, src []byte) ([]ref, *url.URL) {
	get := func(k string) *attr {
		for i := range attrs {
			if attrs[i].key == k && attrs[i].start != attrs[i].end {
				return attrs[i].load()
			}
		}
		return nil
	}
	add := func(a *attr, kind refKind) {
		if a != nil {
			refs = append(refs, attrRef(a, base, kind))
		}
	}
	addSrcset := func(a *attr) {
		if a != nil {
			refs = append(refs, srcsetRefs(a, base)...)
		}
	}
	var newBase *url.URL
	switch tag {
	case "base":
		if a := get("href"); a != nil {
			if u, err := url.Parse(strings.TrimSpace(a.val)); err == nil {
				newBase = base.ResolveReference(u)
			}
		}
	case "a", "area":
		add(get("href"), refLink)
	case "iframe", "frame":
		add(get("src"), refLink)
		add(get("data-src"), refLink)
	case "link":
		kind := refLink
		for _, r := range strings.Fields(strings.ToLower(attrValue(get("rel")))) {
			if resourceRels[r] {
				kind = refResource
			}
		}
		add(get("href"), kind)
		addSrcset(get("imagesrcset"))
	case "meta":
		prop := strings.ToLower(attrValue(get("property")) + attrValue(get("name")) + attrValue(get("itemprop")))
		if metaURLProps[prop] || prop == "image" {
			add(get("content"), refResource)
		}
	case "object":
		add(get("data"), refResource)
	case "video":
		add(get("poster"), refResource)
		add(get("src"), refResource)
	case "body", "table", "td", "th":
		add(get("background"), refResource)
	case "use", "image", "feimage":
		add(get("href"), refResource)
		add(get("xlink:href"), refResource)
	default:
		add(get("src"), refResource)
		add(get("data-src"), refResource)
		addSrcset(get("srcset"))
		addSrcset(get("data-srcset"))
	}
	if integ := get("integrity"); integ != nil && (tag == "link" || tag == "script") {
		src := get("src")
		if tag == "link" {
			src = get("href")
		}
		if src != nil {
			quoted := integ.quoted
			refs = append(refs, ref{
				start: integ.start, end: integ.end, text: integ.raw, url: strings.TrimSpace(src.val), base: base,
				kind: refLink, integrity: true,
				encode: func(v string) string {
					if quoted {
						return v
					}
					return `"` + v + `"`
				},
			})
		}
	}
	if a := get("style"); a != nil {
		if a.raw == a.val {
			refs = append(refs, cssRefs(src[a.start:a.end], a.start, base)...)
		} else {
			// Character references in the attribute: find the URLs in the
			// decoded CSS and write the attribute back escaped.
			g := attrGroup(a)
			for _, r := range cssRefs([]byte(a.val), 0, base) {
				r.group = g
				refs = append(refs, r)
			}
		}
	}
	return refs, newBase
}

func attrValue(a *attr) string {
	if a == nil {
		return ""
	}
	return a.val
}

// attrRef is the reference an attribute value holds. Leading and
// trailing spaces are not part of the URL.
func attrRef(a *attr, base *url.URL, kind refKind) ref {
	var g *refGroup
	v := a.raw
	start := a.start
	if a.raw != a.val {
		g, v, start = attrGroup(a), a.val, 0
	}
	lead := len(v) - len(strings.TrimLeft(v, " \t\n\r\f"))
	u := strings.TrimSpace(v)
	return ref{start: start + lead, end: start + lead + len(u), text: u, url: u, base: base, kind: kind, group: g}
}

// attrGroup holds the decoded value of an attribute written with
// character references, so its URLs are rewritten in the decoded text and
// the whole value is written back escaped.
func attrGroup(a *attr) *refGroup {
	quoted := a.quoted
	return &refGroup{start: a.start, end: a.end, val: a.val, escape: func(s string) string { return escapeAttr(s, quoted) }}
}

// escapeAttr escapes an attribute value.
func escapeAttr(s string, quoted bool) string {
	s = html.EscapeString(s)
	if !quoted {
		s = strings.NewReplacer(" ", "&#32;", "\t", "&#9;", "\n", "&#10;", "\f", "&#12;", "\r", "&#13;", ">", "&gt;").Replace(s)
	}
	return s
}

// srcsetRefs parses a srcset attribute ("a.png 1x, b.png 2x") and returns
// one reference per image candidate.
func srcsetRefs(a *attr, base *url.URL) []ref {
	var g *refGroup
	v, start := a.raw, a.start
	if a.raw != a.val {
		g, v, start = attrGroup(a), a.val, 0
	}
	var refs []ref
	for _, c := range parseSrcset(v) {
		u := v[c[0]:c[1]]
		refs = append(refs, ref{start: start + c[0], end: start + c[1], text: u, url: u, base: base, kind: refResource, group: g})
	}
	return refs
}

// parseSrcset returns the byte ranges of the URLs of a srcset value
// (WHATWG "parse a srcset attribute").
func parseSrcset(s string) [][2]int {
	var out [][2]int
	i := 0
	for i < len(s) {
		for i < len(s) && (isASCIISpace(s[i]) || s[i] == ',') {
			i++
		}
		if i >= len(s) {
			break
		}
		start := i
		for i < len(s) && !isASCIISpace(s[i]) {
			i++
		}
		end := i
		if s[end-1] == ',' {
			for end > start && s[end-1] == ',' {
				end--
			}
			if end > start {
				out = append(out, [2]int{start, end})
			}
			continue
		}
		out = append(out, [2]int{start, end})
		// Skip the descriptors up to the next comma outside parentheses.
		depth := 0
		for i < len(s) {
			c := s[i]
			if c == '(' {
				depth++
			} else if c == ')' && depth > 0 {
				depth--
			} else if c == ',' && depth == 0 {
				i++
				break
			}
			i++
		}
	}
	return out
}
