package workload

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// cloudflareParser reads Cloudflare Logpush HTTP requests (the
// http_requests dataset) as JSON lines, with timestamps in any of the
// formats Logpush writes (unixnano, unix, rfc3339).
type cloudflareParser struct {
	l *Log
}

type cloudflareLine struct {
	EdgeStartTimestamp    json.RawMessage   `json:"EdgeStartTimestamp"`
	ClientIP              string            `json:"ClientIP"`
	ClientRequestHost     string            `json:"ClientRequestHost"`
	ClientRequestMethod   string            `json:"ClientRequestMethod"`
	ClientRequestURI      string            `json:"ClientRequestURI"`
	EdgeResponseStatus    int               `json:"EdgeResponseStatus"`
	EdgeResponseBodyBytes *int64            `json:"EdgeResponseBodyBytes"`
	EdgeResponseBytes     int64             `json:"EdgeResponseBytes"`
	CacheCacheStatus      string            `json:"CacheCacheStatus"`
	ResponseHeaders       map[string]string `json:"ResponseHeaders"`
}

func (p *cloudflareParser) parse(line []byte, ev *Event) error {
	var r cloudflareLine
	if err := json.Unmarshal(line, &r); err != nil {
		return fmt.Errorf("not a JSON object of the Logpush http_requests dataset: %v", err)
	}
	t, err := logpushTime(r.EdgeStartTimestamp)
	if err != nil {
		return err
	}
	ev.Time = t
	if a, err := netip.ParseAddr(r.ClientIP); err == nil {
		ev.Client = a
	}
	m, ok := methods[r.ClientRequestMethod]
	if !ok {
		return fmt.Errorf("ClientRequestMethod %q: want an HTTP method", r.ClientRequestMethod)
	}
	ev.Method = m
	if r.EdgeResponseStatus < 100 || r.EdgeResponseStatus > 999 {
		return fmt.Errorf("EdgeResponseStatus %d: want an HTTP status", r.EdgeResponseStatus)
	}
	ev.Status = r.EdgeResponseStatus
	ev.Size = r.EdgeResponseBytes
	if r.EdgeResponseBodyBytes != nil {
		ev.Size = *r.EdgeResponseBodyBytes
	}
	if r.ClientRequestHost != "" {
		ev.Host = p.l.internHost([]byte(r.ClientRequestHost))
	}
	if !strings.HasPrefix(r.ClientRequestURI, "/") {
		return fmt.Errorf("ClientRequestURI %q: want a path starting with /", r.ClientRequestURI)
	}
	p.l.intern(ev, []byte(r.ClientRequestURI))
	ev.Observed = observedStatus(r.CacheCacheStatus)
	for k, v := range r.ResponseHeaders {
		if strings.EqualFold(k, "cache-control") {
			ev.CacheControl = p.l.internString([]byte(v))
		}
	}
	return nil
}

// logpushTime reads EdgeStartTimestamp: Unix nanoseconds or seconds (an
// integer), or an RFC 3339 string.
func logpushTime(raw json.RawMessage) (int64, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0, fmt.Errorf("no EdgeStartTimestamp")
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return t.UnixNano(), nil
			}
		}
		return 0, fmt.Errorf("EdgeStartTimestamp %s: want an RFC 3339 time or a Unix time", raw)
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("EdgeStartTimestamp %s: want an RFC 3339 time or a Unix time", raw)
	}
	return unixTime(n), nil
}

// unixTime reads an integer Unix time in seconds, milliseconds,
// microseconds or nanoseconds, told apart by magnitude.
func unixTime(n int64) int64 {
	switch {
	case n < 1e11: // seconds (until the year 5138)
		return n * 1e9
	case n < 1e14:
		return n * 1e6
	case n < 1e17:
		return n * 1e3
	}
	return n
}
