package providers

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

var hostRe = regexp.MustCompile(`^(?i)[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?$`)

// ValidHost reports whether h is a bare DNS hostname (no scheme, port or
// path).
func ValidHost(h string) bool { return len(h) <= 253 && hostRe.MatchString(h) }

// CheckHostnames checks the hostnames a CDN target serves (a cdns entry's
// hostnames) and returns them lower-cased.
func CheckHostnames(provider string, hostnames []string) ([]string, error) {
	out := make([]string, len(hostnames))
	for i, h := range hostnames {
		if !ValidHost(h) {
			return nil, fmt.Errorf("%s: hostname %q: want a bare hostname such as www.example.com", provider, h)
		}
		out[i] = strings.ToLower(h)
	}
	return out, nil
}

// CheckHost checks a hostname to purge (--host) against the hostnames the
// target serves (any, when there are none) and returns it lower-cased.
func CheckHost(provider, h string, hostnames []string) (string, error) {
	if !ValidHost(h) {
		return "", InvalidPurge(provider, h, "want a bare hostname such as www.example.com")
	}
	host, ok := ServedHost(hostnames, h)
	if !ok {
		return "", InvalidPurge(provider, h, fmt.Sprintf("host %s is not one of this CDN's hostnames (%s): nothing of it is cached there", host, strings.Join(hostnames, ", ")))
	}
	return host, nil
}

// PurgeURLs turns a URL or a path typed by a user into the absolute URLs
// a CDN caches it under: a path ("/app.css") on every one of hostnames, a
// URL as it is. The host is lower-cased and the path and query put in
// their canonical form (CanonicalPath), so "/a b" and
// "https://host/a%20b" name the same URL. A URL on a host the target does
// not serve, a fragment, or a scheme other than http(s) is refused.
func PurgeURLs(provider, raw string, hostnames []string) ([]string, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, InvalidPurge(provider, raw, "not a URL: "+err.Error())
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, InvalidPurge(provider, raw, "a fragment (#…) never reaches the CDN; remove it")
	case u.User != nil:
		return nil, InvalidPurge(provider, raw, "a URL with user:password@ is not what the CDN caches")
	case u.Scheme == "" && u.Host == "" && strings.HasPrefix(raw, "/"):
		if len(hostnames) == 0 {
			return nil, InvalidPurge(provider, raw, "a path needs the CDN's hostnames: set hostnames in the cdns entry or give a full URL")
		}
		pq := pathQuery(u)
		out := make([]string, 0, len(hostnames))
		for _, h := range hostnames {
			out = append(out, "https://"+h+pq)
		}
		return out, nil
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return nil, InvalidPurge(provider, raw, "want an absolute http(s) URL or a path starting with /")
	}
	host, ok := ServedHost(hostnames, u.Host)
	if !ok {
		return nil, InvalidPurge(provider, raw, fmt.Sprintf("host %s is not one of this CDN's hostnames (%s)", host, strings.Join(hostnames, ", ")))
	}
	if port := u.Port(); port != "" && !(u.Scheme == "https" && port == "443" || u.Scheme == "http" && port == "80") {
		host += ":" + port
	}
	return []string{u.Scheme + "://" + host + pathQuery(u)}, nil
}

// RequestURLs returns the absolute URLs a request's URLs and keys name
// (PurgeURLs of each URL, and of each path KeyPaths maps a key to through
// originPath), in order, for providers that purge by URL.
func RequestURLs(provider string, req PurgeRequest, hostnames []string, originPath string) ([]string, error) {
	var urls []string
	for _, raw := range req.URLs {
		us, err := PurgeURLs(provider, raw, hostnames)
		if err != nil {
			return nil, err
		}
		urls = append(urls, us...)
	}
	for _, key := range req.Keys {
		paths, err := KeyPaths(key, originPath)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", provider, err)
		}
		for _, p := range paths {
			us, err := PurgeURLs(provider, p, hostnames)
			if err != nil {
				return nil, err
			}
			urls = append(urls, us...)
		}
	}
	return urls, nil
}

// pathQuery is u's path ("/" when empty) and query in canonical form.
func pathQuery(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	if u.RawQuery != "" || u.ForceQuery {
		p += "?" + u.RawQuery
	}
	return CanonicalPath(p)
}
