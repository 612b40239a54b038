package probe

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Outcome is a cache's outcome for one request, normalised across CDNs.
type Outcome string

// Outcomes, from the best for the origin to the worst.
const (
	// Hit: served from the cache, fresh.
	Hit Outcome = "HIT"
	// Stale: served from the cache although stale (stale-while-revalidate,
	// stale-if-error, Cloudflare UPDATING/STALE, Fastly HIT-STALE).
	Stale Outcome = "STALE"
	// Revalidated: a stored response was validated with the next hop
	// (304) and served (CloudFront RefreshHit, Cache-Status
	// fwd=stale;fwd-status=304).
	Revalidated Outcome = "REVALIDATED"
	// Expired: a stored response was stale and a new one was fetched.
	Expired Outcome = "EXPIRED"
	// Miss: nothing usable was stored; the request went forward.
	Miss Outcome = "MISS"
	// Bypass: the cache was not consulted (method, request directives,
	// configuration, Fastly PASS).
	Bypass Outcome = "BYPASS"
	// Uncacheable: the response may not be cached (Cloudflare DYNAMIC).
	Uncacheable Outcome = "UNCACHEABLE"
	// Generated: the CDN made the response itself before its cache (a
	// redirect rule, an edge function: CloudFront Redirect or
	// FunctionGeneratedResponse, Cloudflare NONE).
	Generated Outcome = "GENERATED"
	// Error: the CDN answered with an error of its own (CloudFront Error,
	// LimitExceeded).
	Error Outcome = "ERROR"
	// Unknown: a header was there but its value is not one we know.
	Unknown Outcome = "UNKNOWN"
)

// Served reports whether the body came out of that cache's storage.
func (r Outcome) Served() bool { return r == Hit || r == Stale || r == Revalidated }

// Layer is one cache on the response's path.
type Layer struct {
	// Cache names the cache: the Cache-Status identifier, a Fastly node
	// (cache-lhr7380-LHR), "cloudfront IAD89-C1", "cloudflare SJC".
	Cache  string  `json:"cache"`
	Result Outcome `json:"result"`
	// Raw is this cache's part of the header, as sent.
	Raw string `json:"raw"`
	// Fwd, FwdStatus, TTL, Stored, Collapsed, Key and Detail are the
	// Cache-Status parameters (RFC 9211 §2).
	Fwd       string `json:"fwd,omitempty"`
	FwdStatus int    `json:"fwd_status,omitempty"`
	TTL       *int64 `json:"ttl,omitempty"`
	Stored    bool   `json:"stored,omitempty"`
	Collapsed bool   `json:"collapsed,omitempty"`
	Key       string `json:"key,omitempty"`
	Detail    string `json:"detail,omitempty"`
	// Hits is the node's hit count for the object (Fastly X-Cache-Hits).
	Hits *int64 `json:"hits,omitempty"`
}

// Verdict is what the response headers say about caching.
type Verdict struct {
	// Result is the outcome at the cache closest to the client (the
	// last layer); "" when no header says anything.
	Result Outcome `json:"result"`
	// Cached reports that some cache on the path served the body from its
	// storage, whatever the closest one did (a shield hit behind an edge
	// miss): the origin did not send it.
	Cached bool `json:"cached"`
	// CDN is who wrote the header used: "cache-status" (RFC 9211),
	// "cloudfront", "cloudflare", "fastly", "akamai" or "x-cache" (an
	// X-Cache of unknown origin, e.g. Varnish or Squid).
	CDN string `json:"cdn,omitempty"`
	// Source is the header the verdict was read from.
	Source string `json:"source,omitempty"`
	// Layers are the caches on the path, upstream (origin side) first.
	Layers []Layer `json:"layers,omitempty"`
	// Summary is one line for people: "MISS at pop1, HIT at shield".
	Summary string `json:"summary"`
	// Warnings name headers that were present but malformed.
	Warnings []string `json:"warnings,omitempty"`
}

// Decode reads the cache verdict of a response from its headers, in order
// of precedence: Cache-Status (RFC 9211, the standard, which names every
// cache on the path), CF-Cache-Status (Cloudflare), X-Cache (CloudFront,
// Fastly with X-Served-By and X-Cache-Hits, Akamai, Varnish and others).
// It is a pure function of h.
func Decode(h http.Header) Verdict {
	var v Verdict
	if lines := h.Values("Cache-Status"); len(lines) > 0 {
		layers, err := decodeCacheStatus(lines)
		if err != nil {
			v.Warnings = append(v.Warnings, fmt.Sprintf("Cache-Status %q: %v (ignored, RFC 8941 §4.2)", strings.Join(lines, ", "), err))
		} else if len(layers) > 0 {
			v.CDN, v.Source, v.Layers = "cache-status", "Cache-Status", layers
			return v.finish()
		}
	}
	if s := strings.TrimSpace(h.Get("CF-Cache-Status")); s != "" {
		cache := "cloudflare"
		if ray := h.Get("CF-Ray"); ray != "" {
			if i := strings.LastIndexByte(ray, '-'); i >= 0 && i+1 < len(ray) {
				cache += " " + ray[i+1:]
			}
		}
		v.CDN, v.Source = "cloudflare", "CF-Cache-Status"
		v.Layers = []Layer{{Cache: cache, Result: cloudflareResult(s), Raw: s}}
		return v.finish()
	}
	if lines := h.Values("X-Cache"); len(lines) > 0 {
		v.Source = "X-Cache"
		v.CDN, v.Layers = decodeXCache(strings.Join(lines, ", "), h)
		return v.finish()
	}
	return v.finish()
}

func (v Verdict) finish() Verdict {
	if len(v.Layers) == 0 {
		v.Summary = "no cache status header"
		return v
	}
	v.Result = v.Layers[len(v.Layers)-1].Result
	parts := make([]string, 0, len(v.Layers))
	// Closest cache first: that is the order people read a path in.
	for i := len(v.Layers) - 1; i >= 0; i-- {
		l := v.Layers[i]
		if l.Result.Served() {
			v.Cached = true
		}
		s := string(l.Result)
		if l.Cache != "" {
			s += " at " + l.Cache
		}
		if l.TTL != nil {
			s += fmt.Sprintf(" (ttl %ds)", *l.TTL)
		}
		parts = append(parts, s)
	}
	v.Summary = strings.Join(parts, ", ")
	return v
}

// decodeCacheStatus reads an RFC 9211 Cache-Status field: a List whose
// members are the caches' identifiers (token or string), first the cache
// closest to the origin, with the parameters hit, fwd, fwd-status, ttl,
// stored, collapsed, key and detail.
func decodeCacheStatus(lines []string) ([]Layer, error) {
	members, err := parseSFList(lines)
	if err != nil {
		return nil, err
	}
	var out []Layer
	for _, m := range members {
		name, ok := m.Value.(string)
		if !ok || m.Inner != nil {
			return nil, fmt.Errorf("member %v: want a cache identifier (token or string)", m.Value)
		}
		l := Layer{Cache: name, Raw: formatMember(m)}
		hit := false
		if b, ok := m.param("hit"); ok {
			hit, _ = b.(bool)
		}
		if s, ok := m.param("fwd"); ok {
			l.Fwd, _ = s.(string)
		}
		if n, ok := m.param("fwd-status"); ok {
			if i, ok := n.(int64); ok {
				l.FwdStatus = int(i)
			}
		}
		if n, ok := m.param("ttl"); ok {
			if i, ok := n.(int64); ok {
				l.TTL = &i
			}
		}
		if b, ok := m.param("stored"); ok {
			l.Stored, _ = b.(bool)
		}
		if b, ok := m.param("collapsed"); ok {
			l.Collapsed, _ = b.(bool)
		}
		if s, ok := m.param("key"); ok {
			l.Key, _ = s.(string)
		}
		if d, ok := m.param("detail"); ok {
			l.Detail, _ = d.(string)
		}
		switch {
		case hit && l.TTL != nil && *l.TTL < 0:
			l.Result = Stale
		case hit:
			l.Result = Hit
		case l.Fwd == "stale" && l.FwdStatus == http.StatusNotModified:
			l.Result = Revalidated
		case l.Fwd == "stale":
			l.Result = Expired
		case l.Fwd == "bypass" || l.Fwd == "method" || l.Fwd == "request":
			l.Result = Bypass
		case l.Fwd != "": // uri-miss, vary-miss, miss, partial, extensions
			l.Result = Miss
		default:
			l.Result = Unknown
		}
		out = append(out, l)
	}
	return out, nil
}

// formatMember writes a member back in its canonical form.
func formatMember(m sfMember) string {
	var b strings.Builder
	b.WriteString(formatBare(m.Value, m.Token))
	for _, p := range m.Params {
		b.WriteString("; ")
		b.WriteString(p.Key)
		if t, ok := p.Value.(bool); ok && t {
			continue
		}
		b.WriteByte('=')
		b.WriteString(formatBare(p.Value, p.Token))
	}
	return b.String()
}

func formatBare(v any, token bool) string {
	switch x := v.(type) {
	case string:
		if token {
			return x
		}
		return strconv.Quote(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		if x {
			return "?1"
		}
		return "?0"
	case []byte:
		return ":" + string(x) + ":"
	}
	return fmt.Sprint(v)
}

// cloudflareResult maps CF-Cache-Status values
// (https://developers.cloudflare.com/cache/concepts/cache-responses/).
func cloudflareResult(s string) Outcome {
	switch strings.ToUpper(s) {
	case "HIT":
		return Hit
	case "STALE", "UPDATING":
		return Stale
	case "REVALIDATED":
		return Revalidated
	case "EXPIRED":
		return Expired
	case "MISS":
		return Miss
	case "BYPASS":
		return Bypass
	case "DYNAMIC":
		return Uncacheable
	case "NONE", "UNKNOWN", "NONE/UNKNOWN":
		return Generated
	}
	return Unknown
}

// decodeXCache reads an X-Cache field, telling CloudFront ("Hit from
// cloudfront"), Akamai ("TCP_HIT from a23-…") and Fastly or Varnish-style
// lists ("MISS, HIT", aligned with X-Served-By and X-Cache-Hits) apart.
func decodeXCache(s string, h http.Header) (cdn string, layers []Layer) {
	lower := strings.ToLower(s)
	switch {
	case strings.HasSuffix(lower, " from cloudfront"):
		kind := strings.TrimSpace(s[:len(s)-len(" from cloudfront")])
		cache := "cloudfront"
		if pop := h.Get("X-Amz-Cf-Pop"); pop != "" {
			cache += " " + pop
		}
		return "cloudfront", []Layer{{Cache: cache, Result: cloudfrontResult(kind), Raw: s}}
	case strings.HasPrefix(lower, "tcp_"):
		kind, server, _ := strings.Cut(s, " from ")
		server, _, _ = strings.Cut(server, " ")
		return "akamai", []Layer{{Cache: server, Result: akamaiResult(kind), Raw: s}}
	}
	values := splitList(s)
	nodes := splitList(h.Get("X-Served-By"))
	hits := splitList(h.Get("X-Cache-Hits"))
	cdn = "x-cache"
	for _, n := range nodes {
		if strings.HasPrefix(n, "cache-") {
			cdn = "fastly"
		}
	}
	// Entries are appended by each server, so lists align from the end
	// (a restart can add X-Cache entries without a server).
	for i, val := range values {
		l := Layer{Result: listResult(val), Raw: val}
		if j := len(nodes) - (len(values) - i); j >= 0 {
			l.Cache = nodes[j]
		}
		if j := len(hits) - (len(values) - i); j >= 0 {
			if n, err := strconv.ParseInt(hits[j], 10, 64); err == nil {
				l.Hits = &n
			}
		}
		layers = append(layers, l)
	}
	return cdn, layers
}

// cloudfrontResult maps the result types CloudFront writes in X-Cache and
// in its logs' x-edge-response-result-type
// (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logs-reference.html).
func cloudfrontResult(kind string) Outcome {
	switch strings.ToLower(kind) {
	case "hit", "originshieldhit":
		return Hit
	case "refreshhit":
		return Revalidated
	case "miss":
		return Miss
	case "redirect", "functiongeneratedresponse", "lambdageneratedresponse":
		return Generated
	case "error", "limitexceeded", "capacityexceeded", "lambdaexecutionerror",
		"lambdavalidationerror", "lambdalimitexceeded", "functionexecutionerror", "functionthrottlederror":
		return Error
	}
	return Unknown
}

// akamaiResult maps Akamai's X-Cache codes (Pragma: akamai-x-cache-on).
func akamaiResult(kind string) Outcome {
	k := strings.ToUpper(kind)
	switch {
	case strings.Contains(k, "REFRESH_HIT"):
		return Revalidated
	case strings.Contains(k, "REFRESH_MISS"):
		return Expired
	case strings.Contains(k, "HIT"):
		return Hit
	case strings.Contains(k, "MISS"):
		return Miss
	case strings.Contains(k, "DENIED"), strings.Contains(k, "DENY"):
		return Error
	}
	return Unknown
}

// listResult maps one entry of a Fastly/Varnish X-Cache list. Fastly
// reports HIT for any fastly_info.state starting HIT (stale and
// synthetic hits too) and MISS otherwise, PASS included
// (https://www.fastly.com/documentation/reference/http/http-headers/X-Cache/);
// other caches also write HIT-STALE, PASS, EXPIRED, STALE or
// REVALIDATED.
func listResult(v string) Outcome {
	u := strings.ToUpper(strings.TrimSpace(v))
	if f := strings.Fields(u); len(f) > 0 {
		u = f[0] // "HIT from proxy.example" (Squid)
	}
	switch {
	case u == "HIT-STALE" || u == "STALE" || u == "UPDATING":
		return Stale
	case strings.HasPrefix(u, "HIT"):
		return Hit
	case u == "REVALIDATED":
		return Revalidated
	case u == "EXPIRED":
		return Expired
	case strings.HasPrefix(u, "MISS"):
		return Miss
	case u == "PASS" || u == "BYPASS":
		return Bypass
	}
	return Unknown
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// ServerTiming is one metric of a Server-Timing field (W3C Server Timing):
// cdn-cache;desc=HIT, edge;dur=12.5, cfRequestDuration;dur=31.0.
type ServerTiming struct {
	Name string   `json:"name"`
	Dur  *float64 `json:"dur_ms,omitempty"`
	Desc string   `json:"desc,omitempty"`
}

// ParseServerTiming reads Server-Timing fields leniently: metrics
// separated by commas, parameters by semicolons, quoted values unquoted;
// malformed parts are skipped, as browsers do.
func ParseServerTiming(lines []string) []ServerTiming {
	var out []ServerTiming
	for _, metric := range splitQuoted(strings.Join(lines, ","), ',') {
		parts := splitQuoted(metric, ';')
		name := strings.TrimSpace(parts[0])
		if name == "" || strings.ContainsAny(name, " \"=") {
			continue
		}
		m := ServerTiming{Name: name}
		for _, p := range parts[1:] {
			k, val, _ := strings.Cut(p, "=")
			k, val = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(val)
			if uq, err := strconv.Unquote(val); err == nil && strings.HasPrefix(val, `"`) {
				val = uq
			}
			switch k {
			case "dur":
				if f, err := strconv.ParseFloat(val, 64); err == nil && m.Dur == nil {
					m.Dur = &f
				}
			case "desc":
				if m.Desc == "" {
					m.Desc = val
				}
			}
		}
		out = append(out, m)
	}
	return out
}

// splitQuoted splits s at sep outside double quotes.
func splitQuoted(s string, sep byte) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == sep && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
