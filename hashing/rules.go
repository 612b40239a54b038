package hashing

import (
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/cdnctl/cdnctl/httpfield"
)

// Cache-Control defaults: fingerprinted files never change under their
// name, entry points must be revalidated on every use.
const (
	ImmutableCacheControl  = "public, max-age=31536000, immutable"
	EntryPointCacheControl = "public, max-age=0, must-revalidate"
)

// DefaultKeep returns the entry-point globs: files whose URL is typed by
// people or requested by convention, so they keep their names (and get
// EntryPointCacheControl). Options.Keep adds to them.
func DefaultKeep() []string {
	return []string{
		"*.html", "*.htm",
		"/robots.txt", "/humans.txt", "/ads.txt", "/app-ads.txt", "/security.txt", "/llms.txt",
		"sitemap*.xml", "sitemap*.xml.gz", "*.rss", "*.atom", "feed.xml", "atom.xml", "rss.xml", "index.xml",
		"favicon.ico", "/apple-touch-icon*.png", "/browserconfig.xml", "/crossdomain.xml",
		".well-known/", "*.webmanifest", "manifest.json",
		"sw.js", "service-worker.js", "serviceworker.js", "firebase-messaging-sw.js",
		"/CNAME", "/_headers", "/_redirects", "/_routes.json",
		".*", // dot files: .htaccess, .nojekyll
	}
}

// DefaultExclude returns the globs of files never copied: OS droppings and
// version control folders. Options.Exclude adds to them. cdnctl's own state
// folder (.cdnctl/) is always excluded.
func DefaultExclude() []string {
	return []string{".DS_Store", "Thumbs.db", "desktop.ini", ".git/", ".svn/", ".hg/"}
}

// Rule attaches headers to the files it matches. Every matching rule
// applies, in order: a later rule's CacheControl or ContentType replaces an
// earlier one's, Headers are merged (later wins per name), Tags accumulate.
type Rule struct {
	// Match lists globs (see Glob) of logical paths.
	Match []string `json:"match" yaml:"match"`
	// CacheControl replaces the default Cache-Control.
	CacheControl string `json:"cache_control,omitempty" yaml:"cache_control"`
	// ContentType replaces the built-in media type ("text/plain;
	// charset=utf-8").
	ContentType string `json:"content_type,omitempty" yaml:"content_type"`
	// Headers are extra response headers ("Access-Control-Allow-Origin").
	Headers map[string]string `json:"headers,omitempty" yaml:"headers"`
	// Tags are cache tags (Cache-Tag / Surrogate-Key) to purge by.
	Tags []string `json:"tags,omitempty" yaml:"tags"`
}

type compiledRule struct {
	Rule
	globs Globs
}

// headersManaged are set by cdnctl itself and cannot be set by a rule.
var headersManaged = map[string]string{
	"Cache-Control":     "use cache_control",
	"Content-Type":      "use content_type",
	"Content-Encoding":  "set by precompression",
	"Content-Length":    "set by the server",
	"Transfer-Encoding": "set by the server",
	"Etag":              "set by the server",
	"Last-Modified":     "set by the server",
	"Vary":              "set by the server for precompressed files",
}

func compileRules(rules []Rule) ([]compiledRule, error) {
	out := make([]compiledRule, 0, len(rules))
	for i, r := range rules {
		what := fmt.Sprintf("rules[%d]", i)
		if len(r.Match) == 0 {
			return nil, fmt.Errorf("%s: match: no glob given", what)
		}
		globs, err := compileGlobs(what+".match", r.Match)
		if err != nil {
			return nil, err
		}
		if err := checkHeaderValue(r.CacheControl); err != nil {
			return nil, fmt.Errorf("%s.cache_control %q: %w", what, r.CacheControl, err)
		}
		if r.ContentType != "" {
			if _, _, err := mime.ParseMediaType(r.ContentType); err != nil {
				return nil, fmt.Errorf("%s.content_type %q: %w", what, r.ContentType, err)
			}
		}
		hdr := make(map[string]string, len(r.Headers))
		for k, v := range r.Headers {
			if !validHeaderName(k) {
				return nil, fmt.Errorf("%s.headers: %q is not a valid header name", what, k)
			}
			ck := http.CanonicalHeaderKey(k)
			if why, ok := headersManaged[ck]; ok {
				return nil, fmt.Errorf("%s.headers: %s cannot be set here (%s)", what, ck, why)
			}
			if err := checkHeaderValue(v); err != nil {
				return nil, fmt.Errorf("%s.headers[%s] %q: %w", what, k, v, err)
			}
			hdr[ck] = v
		}
		for j, t := range r.Tags {
			if t == "" || strings.ContainsAny(t, " ,\t\r\n") {
				return nil, fmt.Errorf("%s.tags[%d] %q: a tag is one word without spaces or commas", what, j, t)
			}
		}
		r.Headers = hdr
		out = append(out, compiledRule{Rule: r, globs: globs})
	}
	return out, nil
}

func checkHeaderValue(v string) error {
	if !httpfield.ValidValue(v) {
		return fmt.Errorf("control character in header value")
	}
	return nil
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool { return httpfield.ValidName(s) }

// headersFor returns what the rules say about the logical path name, on top
// of the defaults.
func headersFor(rules []compiledRule, name string, fingerprinted bool) (cacheControl, contentType string, headers map[string]string, tags []string) {
	cacheControl = EntryPointCacheControl
	if fingerprinted {
		cacheControl = ImmutableCacheControl
	}
	contentType = ContentType(name)
	for _, r := range rules {
		if !r.globs.Match(name) {
			continue
		}
		if r.CacheControl != "" {
			cacheControl = r.CacheControl
		}
		if r.ContentType != "" {
			contentType = r.ContentType
		}
		for k, v := range r.Headers {
			if headers == nil {
				headers = make(map[string]string)
			}
			headers[k] = v
		}
		for _, t := range r.Tags {
			if !slices.Contains(tags, t) {
				tags = append(tags, t)
			}
		}
	}
	return cacheControl, contentType, headers, tags
}
