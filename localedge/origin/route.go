package origin

import (
	"fmt"
	"net/http"
	"path"
	"strings"
)

// HTMLHandling is the folder origin's clean-URL and trailing-slash policy:
// which file a path names and which URL of an HTML page is canonical. The
// names and behaviour of the first three are Cloudflare's
// (assets.html_handling of Workers static assets, the rules of Cloudflare
// Pages), with one difference: a non-canonical URL is redirected in one
// hop to the canonical one.
type HTMLHandling string

const (
	// AutoTrailingSlash serves "about.html" at /about and "docs/index.html"
	// at /docs/; /about.html, /about/, /docs, /docs/index and
	// /docs/index.html redirect (308) there. The default.
	AutoTrailingSlash HTMLHandling = "auto-trailing-slash"
	// ForceTrailingSlash serves both at a URL ending in "/": /about/ and
	// /docs/.
	ForceTrailingSlash HTMLHandling = "force-trailing-slash"
	// DropTrailingSlash serves both at a URL without the slash: /about and
	// /docs.
	DropTrailingSlash HTMLHandling = "drop-trailing-slash"
	// NoHTMLHandling serves a file at its exact name only, and a folder by
	// its index.html at its URL ending in "/" (/docs redirects there with
	// 301), as nginx, Apache httpd and S3 website hosting do.
	NoHTMLHandling HTMLHandling = "none"
)

// HTMLHandlings lists the policies, the default first.
var HTMLHandlings = []HTMLHandling{AutoTrailingSlash, ForceTrailingSlash, DropTrailingSlash, NoHTMLHandling}

// ParseHTMLHandling checks a policy name ("" is the default).
func ParseHTMLHandling(s string) (HTMLHandling, error) {
	if s == "" {
		return AutoTrailingSlash, nil
	}
	for _, h := range HTMLHandlings {
		if string(h) == s {
			return h, nil
		}
	}
	return "", fmt.Errorf("%q: want %s", s, joinChoices(HTMLHandlings))
}

// NotFoundHandling says what a path that names no file is answered with.
type NotFoundHandling string

const (
	// NotFoundPage answers 404 with the nearest 404.html up the folder tree
	// (/blog/x: blog/404.html, then 404.html), as Cloudflare Pages does;
	// Go's plain "404 page not found" when there is none. The default.
	NotFoundPage NotFoundHandling = "404-page"
	// SinglePageApplication answers 200 with /200.html (Surge's name for
	// the fallback), else /index.html, as Netlify's "/* /index.html 200"
	// and Cloudflare's single-page-application do.
	SinglePageApplication NotFoundHandling = "single-page-application"
	// PlainNotFound answers Go's plain "404 page not found".
	PlainNotFound NotFoundHandling = "none"
)

// NotFoundHandlings lists the choices, the default first.
var NotFoundHandlings = []NotFoundHandling{NotFoundPage, SinglePageApplication, PlainNotFound}

// ParseNotFoundHandling checks a choice ("" is the default).
func ParseNotFoundHandling(s string) (NotFoundHandling, error) {
	if s == "" {
		return NotFoundPage, nil
	}
	for _, h := range NotFoundHandlings {
		if string(h) == s {
			return h, nil
		}
	}
	return "", fmt.Errorf("%q: want %s", s, joinChoices(NotFoundHandlings))
}

func joinChoices[T ~string](list []T) string {
	s := make([]string, len(list))
	for i, v := range list {
		s[i] = string(v)
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// Redirect statuses of canonical URLs: Cloudflare Pages' 308 for the clean
// URL policies, nginx's 301 for a folder without its slash under
// NoHTMLHandling.
const (
	canonicalStatus = http.StatusPermanentRedirect
	folderStatus    = http.StatusMovedPermanently
)

// entryKind is what a key names in the folder.
type entryKind int

const (
	entryNone entryKind = iota
	entryFile           // a regular file
	entryDir            // a folder
)

// routeKind is the answer resolve chooses.
type routeKind int

const (
	routeNotFound routeKind = iota
	routeFile               // serve key
	routeRedirect           // redirect to location
)

// route is the outcome of resolving a request path.
type route struct {
	kind     routeKind
	key      string // the file served (routeFile)
	location string // the decoded path redirected to (routeRedirect)
	status   int    // the redirect's status
}

// urlPath is a request path split as resolve sees it: the cleaned key (""
// for the root) and whether the path ends with "/".
type urlPath struct {
	key   string
	slash bool
}

func (u urlPath) String() string {
	switch {
	case u.key == "":
		return "/"
	case u.slash:
		return "/" + u.key + "/"
	}
	return "/" + u.key
}

// resolve decides what a request path (key as cleanKey returns it, slash
// when the path ends with "/") is answered with under policy, asking stat
// what the folder holds. It is a pure function of its arguments.
//
// Under the clean-URL policies a path first names a file (alias), then the
// file's canonical URL (canonical) decides: that URL serves it, any other
// is redirected there in one hop. When another file takes the clean URL
// (a file "a" next to "a.html", or "b.html" next to "b/index.html" when
// both want /b), the page keeps its exact name, as on Cloudflare Pages;
// so a redirect never loops nor leads to another file.
func resolve(key string, slash bool, policy HTMLHandling, stat func(key string) entryKind) route {
	req := urlPath{key, slash || key == ""}
	if policy == NoHTMLHandling {
		return resolveExact(req, stat)
	}
	f := alias(req, stat)
	if f == "" {
		return route{kind: routeNotFound}
	}
	c := canonical(f, policy)
	if alias(c, stat) != f {
		// Another file takes the clean URL: this one keeps its own name,
		// which always names it (Cloudflare Pages serves a.html at
		// /a.html when a file "a" exists).
		c = urlPath{f, false}
	}
	if c == req {
		return route{kind: routeFile, key: f}
	}
	return route{kind: routeRedirect, location: c.String(), status: canonicalStatus}
}

// resolveExact is NoHTMLHandling: exact names, and folders by their
// index.html at their URL ending in "/".
func resolveExact(req urlPath, stat func(string) entryKind) route {
	if req.slash {
		k := path.Join(req.key, "index.html")
		if stat(k) == entryFile {
			return route{kind: routeFile, key: k}
		}
		return route{kind: routeNotFound}
	}
	switch stat(req.key) {
	case entryFile:
		return route{kind: routeFile, key: req.key}
	case entryDir:
		return route{kind: routeRedirect, location: urlPath{req.key, true}.String(), status: folderStatus}
	}
	return route{kind: routeNotFound}
}

// alias returns the file a URL names ("" for none), trying in order: the
// exact name (not for a URL ending in "/"), the folder's index.html (for a
// URL ending in "/"), the parent's index.html for a last segment "index",
// then NAME.html, then the folder's index.html (for a URL without "/").
func alias(u urlPath, stat func(string) entryKind) string {
	file := func(k string) bool { return stat(k) == entryFile }
	if u.key == "" {
		if file("index.html") {
			return "index.html"
		}
		return ""
	}
	if u.slash {
		if k := u.key + "/index.html"; file(k) {
			return k
		}
	} else if file(u.key) {
		return u.key
	}
	if k := u.key + ".html"; file(k) {
		// Also /docs/index (and /docs/index/): docs/index.html.
		return k
	}
	if !u.slash {
		if k := u.key + "/index.html"; file(k) {
			return k
		}
	}
	return ""
}

// canonical returns the URL a file is served at under policy: an
// index.html at its folder's URL, another HTML page at its name without
// ".html", anything else at its exact name.
func canonical(file string, policy HTMLHandling) urlPath {
	withSlash := policy != DropTrailingSlash
	switch {
	case file == "index.html":
		return urlPath{"", true}
	case strings.HasSuffix(file, "/index.html"):
		return urlPath{strings.TrimSuffix(file, "/index.html"), withSlash}
	case strings.HasSuffix(file, ".html") && file != ".html":
		return urlPath{strings.TrimSuffix(file, ".html"), policy == ForceTrailingSlash}
	}
	return urlPath{file, false}
}

// resolveRewrite finds the file a 200 rewrite's target path names: the
// alias of the policy (NoHTMLHandling: the exact name or the folder's
// index.html), never a redirect.
func resolveRewrite(key string, slash bool, policy HTMLHandling, stat func(string) entryKind) string {
	req := urlPath{key, slash || key == ""}
	if policy != NoHTMLHandling {
		return alias(req, stat)
	}
	if !req.slash && stat(req.key) == entryFile {
		return req.key
	}
	if k := path.Join(req.key, "index.html"); stat(k) == entryFile {
		return k
	}
	return ""
}
