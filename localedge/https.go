package localedge

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/cdnctl/cdnctl/localedge/localca"
)

// ViewerProtocolPolicy is what an edge does with a request that came over
// plain HTTP, named and behaving as CloudFront's viewer protocol policies
// (CloudFront Developer Guide, "Requiring HTTPS for communication between
// viewers and CloudFront").
type ViewerProtocolPolicy string

const (
	// AllowAll serves HTTP and HTTPS alike.
	AllowAll ViewerProtocolPolicy = "allow-all"
	// RedirectToHTTPS answers GET and HEAD over HTTP with 301 to the same
	// URL over HTTPS, other methods with 307 (so the method and body are
	// sent again) — 403 below HTTP/1.1, which has no 307.
	RedirectToHTTPS ViewerProtocolPolicy = "redirect-to-https"
	// HTTPSOnly answers every HTTP request with 403 Forbidden.
	HTTPSOnly ViewerProtocolPolicy = "https-only"
)

// ParseViewerProtocolPolicy reads a policy name ("" is allow-all).
func ParseViewerProtocolPolicy(s string) (ViewerProtocolPolicy, error) {
	switch p := ViewerProtocolPolicy(strings.ToLower(strings.TrimSpace(s))); p {
	case "":
		return AllowAll, nil
	case AllowAll, RedirectToHTTPS, HTTPSOnly:
		return p, nil
	}
	return "", fmt.Errorf("viewer protocol policy %q: want allow-all, redirect-to-https or https-only", s)
}

// PlainHTTPAnswer is the status an edge answers a plain-HTTP request with
// under the policy: 0 to serve it, 301 or 307 to redirect it to HTTPS,
// 403 to refuse it. protoMajor and protoMinor are the request's HTTP
// version.
func (p ViewerProtocolPolicy) PlainHTTPAnswer(method string, protoMajor, protoMinor int) int {
	switch p {
	case RedirectToHTTPS:
		if method == http.MethodGet || method == http.MethodHead {
			return http.StatusMovedPermanently
		}
		if protoMajor > 1 || protoMajor == 1 && protoMinor >= 1 {
			return http.StatusTemporaryRedirect
		}
		return http.StatusForbidden
	case HTTPSOnly:
		return http.StatusForbidden
	}
	return 0
}

// HTTPSConfig turns on HTTPS and HTTP/2 (ALPN h2, HTTP/1.1 kept) at every
// edge PoP. Each edge answers both protocols on its one address: a
// connection that starts with a TLS handshake is served over TLS, any other
// as plain HTTP, so https://<pop addr>/ and http://<pop addr>/ both work
// and a redirect to HTTPS keeps the host and port. The shield, the origin
// and the admin API stay plain HTTP on loopback.
type HTTPSConfig struct {
	// CA signs the edges' certificate. Required.
	CA *localca.CA
	// Names are further names the certificate lists (hostnames such as
	// www.example.test, CDN names, addresses), besides each PoP's name,
	// its address, localhost, 127.0.0.1 and ::1.
	Names []string
	// Policy applies to hosts HostPolicies does not name (default
	// allow-all).
	Policy ViewerProtocolPolicy
	// HostPolicies maps hostnames (lower case, without port) to their
	// policy.
	HostPolicies map[string]ViewerProtocolPolicy
	// LeafLifetime is the certificate's validity (default
	// localca.DefaultLeafLifetime); it is re-issued in memory before it
	// ends.
	LeafLifetime time.Duration
	// MaxConcurrentStreams bounds the requests in flight on one HTTP/2
	// connection (default 128, nginx's http2_max_concurrent_streams).
	MaxConcurrentStreams int
	// Now is the certificates' clock (default time.Now).
	Now func() time.Time
}

// DefaultMaxConcurrentStreams is HTTPSConfig.MaxConcurrentStreams's default.
const DefaultMaxConcurrentStreams = 128

// HTTPSInfo describes the HTTPS side of a running topology.
type HTTPSInfo struct {
	// CAFile is the CA certificate's file; CACert its PEM text, which
	// clients add to their roots to reach the PoPs over HTTPS.
	CAFile string `json:"ca_file"`
	CACert string `json:"ca_cert"`
	// Names are the names the PoPs' certificate lists.
	Names []string `json:"names"`
	// Policy and HostPolicies are the viewer protocol policies.
	Policy       ViewerProtocolPolicy            `json:"policy"`
	HostPolicies map[string]ViewerProtocolPolicy `json:"host_policies,omitempty"`
}

// validate checks the configuration and normalises the host names.
func (c *HTTPSConfig) validate() error {
	if c.CA == nil {
		return fmt.Errorf("https: no CA")
	}
	p, err := ParseViewerProtocolPolicy(string(c.Policy))
	if err != nil {
		return fmt.Errorf("https: %w", err)
	}
	c.Policy = p
	hosts := make(map[string]ViewerProtocolPolicy, len(c.HostPolicies))
	for h, p := range c.HostPolicies {
		name := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
		if n, err := localca.ParseNames([]string{name}); err != nil || len(n.DNS) != 1 || strings.HasPrefix(name, "*.") {
			return fmt.Errorf("https: host %q: want a hostname such as www.example.test, without scheme or port", h)
		}
		pp, err := ParseViewerProtocolPolicy(string(p))
		if err != nil {
			return fmt.Errorf("https: host %s: %w", h, err)
		}
		hosts[name] = pp
	}
	c.HostPolicies = hosts
	if _, err := localca.ParseNames(c.Names); err != nil {
		return fmt.Errorf("https: %w", err)
	}
	if c.MaxConcurrentStreams <= 0 {
		c.MaxConcurrentStreams = DefaultMaxConcurrentStreams
	}
	return nil
}

// policyFor returns the policy of a request's host.
func (c *HTTPSConfig) policyFor(host string) ViewerProtocolPolicy {
	if len(c.HostPolicies) > 0 {
		name := host
		if h, _, err := net.SplitHostPort(host); err == nil {
			name = h
		}
		name = strings.TrimSuffix(strings.ToLower(name), ".")
		if p, ok := c.HostPolicies[name]; ok {
			return p
		}
	}
	return c.Policy
}

// certNames lists what the edges' certificate names: the configured
// names, each PoP's name and listening address (an unspecified address
// stands for 127.0.0.1), localhost and the loopback addresses.
func (t *Topology) certNames() (localca.Names, error) {
	names := append([]string(nil), t.cfg.HTTPS.Names...)
	names = append(names, "localhost", "127.0.0.1", "::1")
	for _, p := range t.edges {
		names = append(names, strings.ToLower(p.Name))
		host := hostOf(p.cfg.Addr)
		if ip, err := netip.ParseAddr(host); err == nil {
			if !ip.IsUnspecified() {
				names = append(names, ip.String())
			}
		} else if host != "" {
			names = append(names, host)
		}
	}
	n, err := localca.ParseNames(names)
	if err != nil {
		return localca.Names{}, fmt.Errorf("https: %w", err)
	}
	return n, nil
}

// tlsConfig is the edges' TLS configuration: TLS 1.2 and 1.3 with Go's
// default cipher suites and curves, the leaf of t.leaves for every
// server name, ALPN h2 then http/1.1 (added by http.Server.ServeTLS).
func (t *Topology) tlsConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: t.leaves.GetCertificate,
	}
}

// viewerPolicy answers the plain-HTTP requests that the viewer protocol
// policy does not let through, and passes the others (and the health
// endpoint, which the GeoDNS checks over HTTP) to next.
type viewerPolicy struct {
	pop  string
	cfg  *HTTPSConfig
	next http.Handler
	// accessLog, when set, gets a record of each answer of the policy
	// (the proxy logs the requests it serves).
	accessLog *slog.Logger
}

func (v *viewerPolicy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == HealthPath {
		v.next.ServeHTTP(w, r)
		return
	}
	policy := v.cfg.policyFor(r.Host)
	status := policy.PlainHTTPAnswer(r.Method, r.ProtoMajor, r.ProtoMinor)
	if status == 0 {
		v.next.ServeHTTP(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Status", CacheStatus{Cache: v.pop, Detail: string(policy)}.String())
	h.Set("X-Served-By", v.pop)
	var body string
	if status == http.StatusForbidden {
		h.Set("Cache-Control", "no-store")
		body = fmt.Sprintf("Forbidden: %s is served over HTTPS only (viewer protocol policy %s)\n", hostOf(r.Host), policy)
	} else {
		target := "https://" + r.Host + r.URL.RequestURI()
		if r.Host == "" || strings.ContainsAny(r.Host, "/\\?#@ ") {
			http.Error(w, "Bad Request: no valid Host to redirect to", http.StatusBadRequest)
			return
		}
		h.Set("Location", target)
		body = "Moved to " + target + "\n"
	}
	w.WriteHeader(status)
	n := 0
	if r.Method != http.MethodHead {
		n, _ = w.Write([]byte(body))
	}
	if v.accessLog != nil {
		v.accessLog.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("pop", v.pop),
			slog.String("client", r.RemoteAddr),
			slog.String("method", r.Method),
			slog.String("host", r.Host),
			slog.String("uri", r.RequestURI),
			slog.Int("status", status),
			slog.Int("bytes", n),
			slog.String("cache", "-"),
			slog.String("cache_status", h.Get("Cache-Status")),
		)
	}
}

// http2 is the edges' HTTP/2 configuration.
func (c *HTTPSConfig) http2() *http.HTTP2Config {
	return &http.HTTP2Config{MaxConcurrentStreams: c.MaxConcurrentStreams}
}

// info describes the configuration for TopologyInfo.
func (c *HTTPSConfig) info(names localca.Names) *HTTPSInfo {
	info := &HTTPSInfo{
		CAFile: c.CA.CertPath(), CACert: string(c.CA.CertPEM()),
		Names: names.Strings(), Policy: c.Policy,
	}
	if len(c.HostPolicies) > 0 {
		info.HostPolicies = maps.Clone(c.HostPolicies)
	}
	return info
}

// RootCAs returns what a client trusts to reach the topology's edges over
// HTTPS: the system's roots plus the topology's CA; nil (the system's
// roots) when the topology serves no HTTPS.
func (i TopologyInfo) RootCAs() (*x509.CertPool, error) {
	if i.HTTPS == nil {
		return nil, nil
	}
	return localca.RootPool([]byte(i.HTTPS.CACert))
}
