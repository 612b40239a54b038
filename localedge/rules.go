package localedge

import (
	"net/http"
	"strings"

	"github.com/cdnctl/cdnctl/localedge/edgerules"
)

// applyRules runs the edge rules on a request before its cache key is
// computed (see package edgerules). It returns the request to continue
// with (a copy when a rule rewrote its path), the writer to answer through
// (one that applies the response rules and reports the rules in
// Cache-Status), and whether the rules answered the request themselves.
func (p *Proxy) applyRules(w http.ResponseWriter, r *http.Request) (*http.Request, http.ResponseWriter, outcome, bool) {
	plan := p.Rules.Evaluate(r.Host, r.URL.Path, r.URL.RawQuery)
	if plan.Answer != nil {
		return r, w, p.ruleAnswer(w, r, &plan), true
	}
	if len(plan.Applied) == 0 && !plan.ChangesResponse() {
		return r, w, outcome{}, false
	}
	plan.ApplyRequest(r.Header)
	if plan.Rewritten {
		r = r.WithContext(r.Context())
		u := *r.URL
		u.Path, u.RawPath, u.RawQuery = plan.Path, "", plan.RawQuery
		r.URL = &u
	}
	return r, &ruleWriter{ResponseWriter: w, plan: &plan, pop: p.Name, detail: plan.Detail()}, outcome{}, false
}

// ruleAnswer sends a redirect or fixed response of a rule.
func (p *Proxy) ruleAnswer(w http.ResponseWriter, r *http.Request, plan *edgerules.Plan) outcome {
	a := plan.Answer
	cs := CacheStatus{Cache: p.Name, Fwd: FwdBypass, Detail: plan.Detail()}
	h := w.Header()
	for name, v := range a.Header {
		h[name] = v
	}
	h.Set("Cache-Status", cs.String())
	h.Set("X-Cache", "MISS")
	h.Set("X-Served-By", p.Name)
	plan.ApplyResponse(h)
	w.WriteHeader(a.Status)
	var n int
	if r.Method != http.MethodHead && a.Body != "" {
		n, _ = w.Write([]byte(a.Body))
	}
	return outcome{status: a.Status, bytes: int64(n), cs: cs}
}

// ruleWriter applies a plan's response rules to the response header, and
// adds the rules that changed the request to this cache's Cache-Status
// detail, when the response is sent.
type ruleWriter struct {
	http.ResponseWriter
	plan    *edgerules.Plan
	pop     string
	detail  string
	written bool
}

func (w *ruleWriter) WriteHeader(code int) {
	if w.written || (code >= 100 && code < 200 && code != http.StatusSwitchingProtocols) {
		w.ResponseWriter.WriteHeader(code) // interim responses pass as they are
		return
	}
	w.written = true
	h := w.Header()
	w.plan.ApplyResponse(h)
	if v := h["Cache-Status"]; w.detail != "" && len(v) > 0 {
		// A new slice: the lines may be a stored response's.
		nv := make([]string, len(v))
		copy(nv, v)
		nv[len(nv)-1] = addCacheStatusDetail(v[len(v)-1], w.pop, w.detail)
		h["Cache-Status"] = nv
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *ruleWriter) Write(b []byte) (int, error) {
	if !w.written {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *ruleWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// FlushError lets http.ResponseController flush through the writer.
func (w *ruleWriter) FlushError() error {
	if !w.written {
		w.WriteHeader(http.StatusOK)
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// addCacheStatusDetail adds extra to the detail of pop's entry, the last
// member of a Cache-Status field value (RFC 9211: the cache closest to the
// client comes last), joining an existing detail with "; ". A value
// without pop's entry is returned unchanged.
func addCacheStatusDetail(v, pop, extra string) string {
	name := string(appendSFTokenOrString(nil, pop))
	start := -1
	switch {
	case strings.HasPrefix(v, name) && (len(v) == len(name) || v[len(name)] == ';'):
		start = 0
	default:
		for i := strings.LastIndex(v, ", "+name); i >= 0; i = strings.LastIndex(v[:i], ", "+name) {
			if end := i + 2 + len(name); end == len(v) || v[end] == ';' {
				start = i + 2
				break
			}
		}
	}
	if start < 0 {
		return v
	}
	head, member := v[:start], v[start:]
	if j := strings.Index(member, "; detail="); j >= 0 {
		old := member[j+len("; detail="):]
		if strings.HasPrefix(old, `"`) && strings.HasSuffix(old, `"`) && len(old) >= 2 {
			old = strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(old[1 : len(old)-1])
		}
		extra = old + "; " + extra
		member = member[:j]
	}
	return head + string(appendSFTokenOrString([]byte(member+"; detail="), extra))
}
