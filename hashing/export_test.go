package hashing

import "net/url"

// Hooks for the external tests (package hashing_test).

// ModuleSite is the module site of the tests (see moduleSite).
var ModuleSite = moduleSite

// ScriptURLs returns the absolute URLs the script src served at doc names
// (module specifiers, asset and worker URLs); inline says src is an
// inline script of the page doc.
func ScriptURLs(src []byte, doc *url.URL, inline bool) []string {
	page := (*url.URL)(nil)
	if inline {
		page = doc
	}
	var out []string
	for _, r := range jsRefs(src, 0, doc, page, doc.ResolveReference(&url.URL{Path: "/"})) {
		u, err := url.Parse(r.url)
		if err != nil || r.pin != pinNone {
			continue
		}
		out = append(out, r.base.ResolveReference(u).String())
	}
	return out
}
