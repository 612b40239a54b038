package hashing

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// jsonString is a string value (or, with jsonTokens' keys, a member
// name) of a JSON document.
type jsonString struct {
	path       []string // keys from the root; "[]" for an array element
	start, end int      // byte range of the token, quotes included
	val        string
	key        bool // a member name (its path is the object's)
}

// jsonStrings lists the string values (not keys) of a JSON document.
func jsonStrings(src []byte) ([]jsonString, error) { return jsonTokens(src, false) }

// jsonTokens lists the string values of a JSON document, and its member
// names too when keys is set.
func jsonTokens(src []byte, keys bool) ([]jsonString, error) {
	type frame struct {
		obj       bool
		expectKey bool
		key       string
	}
	var (
		out   []jsonString
		stack []frame
	)
	path := func() []string {
		p := make([]string, 0, len(stack))
		for _, f := range stack {
			if f.obj {
				p = append(p, f.key)
			} else {
				p = append(p, "[]")
			}
		}
		return p
	}
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].obj {
			stack[n-1].expectKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			if len(stack) > 0 {
				return nil, fmt.Errorf("json: %w", io.ErrUnexpectedEOF)
			}
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("json: %w", err)
		}
		after := int(dec.InputOffset())
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, frame{obj: true, expectKey: true})
			case '[':
				stack = append(stack, frame{})
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
			continue
		case string:
			if n := len(stack); n > 0 && stack[n-1].obj && stack[n-1].expectKey {
				if keys {
					if q := bytes.IndexByte(src[before:after], '"'); q >= 0 {
						p := path()
						out = append(out, jsonString{path: p[:len(p)-1], start: int(before) + q, end: after, val: t, key: true})
					}
				}
				stack[n-1].key = t
				stack[n-1].expectKey = false
				continue
			}
			q := bytes.IndexByte(src[before:after], '"')
			if q >= 0 {
				out = append(out, jsonString{path: path(), start: int(before) + q, end: after, val: t})
			}
		}
		valueDone()
	}
}

// jsonRef makes a reference of a JSON string value.
func jsonRef(src []byte, s jsonString, base *url.URL, kind refKind) ref {
	raw := string(src[s.start+1 : s.end-1])
	if raw == s.val {
		return ref{start: s.start + 1, end: s.end - 1, text: raw, url: raw, base: base, kind: kind}
	}
	return ref{start: s.start, end: s.end, text: string(src[s.start:s.end]), url: s.val, base: base, kind: kind, encode: quoteJSON}
}

// quoteJSON writes s as a JSON string, without HTML escaping.
func quoteJSON(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return "\"\""
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// sourceMapRefs returns the references of a source map served at doc: its
// "file", which is a late reference (see ref.late), and a "sources" entry
// (relative to "sourceRoot" when set) naming the generated file, late too.
// The other sources are not references to the site's files.
func sourceMapRefs(src []byte, doc *url.URL) ([]ref, error) {
	strs, err := jsonStrings(src)
	if err != nil {
		return nil, err
	}
	sourceBase := doc
	for _, s := range strs {
		if len(s.path) == 1 && s.path[0] == "sourceRoot" && s.val != "" {
			root := s.val
			if !strings.HasSuffix(root, "/") {
				root += "/"
			}
			if u, err := url.Parse(root); err == nil {
				sourceBase = doc.ResolveReference(u)
			}
		}
	}
	// The generated file: the one "file" names, and the map's own path
	// without ".map" (app.css for app.css.map).
	generated := map[string]bool{strings.TrimSuffix(doc.Path, ".map"): true}
	for _, s := range strs {
		if len(s.path) == 1 && s.path[0] == "file" {
			if u, err := url.Parse(s.val); err == nil {
				generated[doc.ResolveReference(u).Path] = true
			}
		}
	}
	var refs []ref
	for _, s := range strs {
		switch {
		case len(s.path) == 1 && s.path[0] == "file":
			r := jsonRef(src, s, doc, refSource)
			r.late = true
			refs = append(refs, r)
		case len(s.path) == 2 && s.path[0] == "sources":
			// The sources name the files the generated one was built
			// from, not files of the site (Vite lists a public file it
			// only knows the URL of as "../../icons.svg"), except that
			// tools such as PostCSS and Sass list the generated file
			// itself (Bootstrap's bootstrap.css.map names bootstrap.css):
			// that one names the map, so it is late like "file".
			if u, err := url.Parse(s.val); err == nil && generated[sourceBase.ResolveReference(u).Path] {
				r := jsonRef(src, s, sourceBase, refSource)
				r.late = true
				refs = append(refs, r)
			}
		}
	}
	return refs, nil
}

// webManifestRefs returns the references of a web app manifest served at
// doc: every "src" (icons, screenshots, shortcut icons) and the page URLs
// (start_url, shortcut url, share_target action).
func webManifestRefs(src []byte, doc *url.URL) ([]ref, error) {
	strs, err := jsonStrings(src)
	if err != nil {
		return nil, err
	}
	if !isWebManifest(strs) {
		return nil, errNotWebManifest
	}
	var refs []ref
	for _, s := range strs {
		switch s.path[len(s.path)-1] {
		case "src":
			refs = append(refs, jsonRef(src, s, doc, refResource))
		case "start_url", "url", "action":
			refs = append(refs, jsonRef(src, s, doc, refLink))
		}
	}
	return refs, nil
}

// maxJSScanSize is the largest script scanned whole for module
// specifiers (see jsRefs) and held in memory to rewrite them; of a larger
// one only the tail is read, for its sourceMappingURL, and it is copied
// as a stream.
const maxJSScanSize = 16 << 20

// tailOnly reports whether a node is a script too large to scan whole.
func (n *node) tailOnly() bool { return n.kind == kindJS && n.size > maxJSScanSize }

// jsSourceMapWindow is how much of the end of a script is searched for its
// sourceMappingURL comment, which tools write as the last line.
const jsSourceMapWindow = 16 << 10

// jsTailRefs returns the sourceMappingURL reference of a script whose last
// bytes are tail, starting at byte off of the file.
func jsTailRefs(tail []byte, off int, base *url.URL) []ref {
	best := -1
	var bs, be int
	for i := 0; i < len(tail); {
		j := bytes.IndexByte(tail[i:], '\n')
		line := tail[i:]
		if j >= 0 {
			line = tail[i : i+j]
		}
		t := bytes.TrimLeft(line, " \t")
		lead := len(line) - len(t)
		var body []byte
		switch {
		case bytes.HasPrefix(t, []byte("//")):
			body = t[2:]
		case bytes.HasPrefix(t, []byte("/*")):
			body = bytes.TrimSuffix(bytes.TrimRight(t[2:], " \t\r"), []byte("*/"))
		}
		if body != nil {
			if s, e, ok := sourceMappingValue(body); ok {
				best = i + lead + 2
				bs, be = s, e
			}
		}
		if j < 0 {
			break
		}
		i += j + 1
	}
	if best < 0 {
		return nil
	}
	u := string(tail[best+bs : best+be])
	return []ref{{start: off + best + bs, end: off + best + be, text: u, url: u, base: base, kind: refResource}}
}

// errNotWebManifest: a JSON file named like a web app manifest is
// something else (a bundler's manifest.json, say).
var errNotWebManifest = errors.New("not a web app manifest")

// webManifestMembers are members of a web app manifest that build
// manifests (Vite's, webpack's manifest.json) do not have at the top.
var webManifestMembers = map[string]bool{
	"name": true, "short_name": true, "icons": true, "start_url": true, "display": true,
	"scope": true, "theme_color": true, "background_color": true, "display_override": true,
	"shortcuts": true, "screenshots": true, "orientation": true, "share_target": true,
}

// isWebManifest reports whether a JSON document's strings are those of a
// web app manifest: one of them is a member only web app manifests have
// (or lies inside one).
func isWebManifest(strs []jsonString) bool {
	for _, s := range strs {
		if len(s.path) > 0 && webManifestMembers[s.path[0]] {
			return true
		}
	}
	return false
}
