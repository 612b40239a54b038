package prewarm

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/providers"
)

// ParseBase reads a base URL ("https://www.example.com/", or a path
// prefix such as "https://www.example.com/docs/"); the result ends in "/".
func ParseBase(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("base URL %q: want http(s)://host/ such as https://www.example.com/", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("base URL %q: no query or fragment", raw)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	u.RawPath = ""
	return u, nil
}

// KeyURLs returns the URLs the keys are served at under base: each key's
// path (see providers.KeyPaths: an index document is also its directory),
// in order, without duplicates.
func KeyURLs(base *url.URL, keys []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range keys {
		paths, err := providers.KeyPaths(k, "")
		if err != nil {
			continue
		}
		for _, p := range paths {
			u := *base
			u.Path = strings.TrimSuffix(base.Path, "/") + p
			s := u.String()
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}

// Which files of a manifest ManifestURLs lists.
const (
	AllFiles    = "all"          // every file
	Assets      = "assets"       // fingerprinted files
	EntryPoints = "entry-points" // files that keep their names
)

// ManifestURLs returns the URLs of a fingerprinted build's files under
// base (the served paths: hashed names for assets), sorted by logical
// path. which is AllFiles, Assets or EntryPoints.
func ManifestURLs(m *hashing.Manifest, base *url.URL, which string) ([]string, error) {
	switch which {
	case "", AllFiles, Assets, EntryPoints:
	default:
		return nil, fmt.Errorf("prewarm: %q: want %s, %s or %s", which, AllFiles, Assets, EntryPoints)
	}
	var keys []string
	for _, logical := range m.LogicalPaths() {
		e := m.Files[logical]
		if (which == Assets && !e.Fingerprinted) || (which == EntryPoints && e.Fingerprinted) {
			continue
		}
		keys = append(keys, e.Path)
	}
	return KeyURLs(base, keys), nil
}
