// Package fastlytest is a strict fake of the Fastly purge API, served over
// real HTTP on loopback, for the tests of providers/fastly and of the
// commands that purge through it. It checks each request as Fastly's API
// reference defines it and answers as the API does:
//
//   - POST /purge/{cached_url}: cached_url is host and path, no scheme
//     ("www.example.com/path/to/object"); answer {"status": "ok", "id"}.
//   - POST /service/{service_id}/purge/{surrogate_key}: one key; same
//     answer.
//   - POST /service/{service_id}/purge: 1 to 256 keys, in a JSON body
//     {"surrogate_keys": [...]} or a Surrogate-Key request header (space
//     separated), not both; answer {key: purge ID, ...}.
//   - POST /service/{service_id}/purge_all: answer {"status": "ok"}; it
//     cannot be soft, and it counts against the hourly rate limit of
//     non-read requests (URL and key purges do not).
//   - Fastly-Key: the API token, with the purge_select scope for URL and
//     key purges and purge_all for purge_all; 401 without a valid token,
//     403 without the scope.
//   - Fastly-Soft-Purge: 1 marks the purge soft.
//   - Rate-limited answers carry Fastly-RateLimit-Remaining and
//     Fastly-RateLimit-Reset (UTC epoch seconds); past the limit, 429.
//   - Errors are JSON {"msg", "detail"}.
//
// https://www.fastly.com/documentation/reference/api/purging/
// https://www.fastly.com/documentation/reference/api/#rate-limiting
// https://www.fastly.com/documentation/reference/api/auth-tokens/#scopes
package fastlytest

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Scopes of Fastly API tokens that matter to purging.
const (
	ScopePurgeSelect = "purge_select"
	ScopePurgeAll    = "purge_all"
	ScopeGlobal      = "global"
)

// Purge is one purge the fake applied.
type Purge struct {
	Kind string // "url", "key" or "all"
	// Item is the cached URL (host/path?query) or the key; "" for all.
	Item string
	Soft bool
	ID   string
}

// Fault is an answer forced on the next request, before any check.
type Fault struct {
	Status     int
	RetryAfter string // Retry-After header, if set
	// Reset sets Fastly-RateLimit-Remaining: 0 and Fastly-RateLimit-Reset
	// to now + Reset.
	Reset time.Duration
	Body  string // default: a JSON error
}

// Server is the fake API. Its exported fields can be set before the first
// request.
type Server struct {
	URL       string // base URL: http://127.0.0.1:PORT
	ServiceID string
	Token     string
	// Scopes of Token (default purge_select and purge_all).
	Scopes []string
	// Services limits Token to these services (none: every service), as
	// GET /tokens/self reports it.
	Services []string
	// HourlyLimit is the number of rate-limited requests (purge_all)
	// allowed per hour (default 1000, as documented).
	HourlyLimit int
	// Now is the clock (time.Now).
	Now func() time.Time

	srv *httptest.Server

	mu       sync.Mutex // guards the fields below
	faults   []Fault
	purges   []Purge
	statuses []int
	used     int       // rate-limited requests in the current window
	window   time.Time // start of the current window
	seq      int
	bodies   []string // raw batch purge bodies, in order
}

// New starts a fake for one service and token; it stops with the test.
func New(t testing.TB, serviceID, token string) *Server {
	s := &Server{ServiceID: serviceID, Token: token, Scopes: []string{ScopePurgeSelect, ScopePurgeAll}, HourlyLimit: 1000, Now: time.Now}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Inject queues answers forced on the next requests, one each.
func (s *Server) Inject(fs ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fs...)
}

// Purges returns the purges applied, in order.
func (s *Server) Purges() []Purge {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Purge(nil), s.purges...)
}

// Statuses returns the status of every answer, in order.
func (s *Server) Statuses() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.statuses...)
}

// BatchBodies returns the raw bodies of the batch key purges received.
func (s *Server) BatchBodies() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bodies...)
}

func (s *Server) reply(w http.ResponseWriter, status int, v any) {
	s.mu.Lock()
	s.statuses = append(s.statuses, status)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) fail(w http.ResponseWriter, status int, msg, detail string) {
	s.reply(w, status, map[string]string{"msg": msg, "detail": detail})
}

var keyPathRe = regexp.MustCompile(`^/service/([^/]+)/(purge_all|purge)(?:/(.+))?$`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var flt *Fault
	if len(s.faults) > 0 {
		flt = &s.faults[0]
		s.faults = s.faults[1:]
	}
	s.mu.Unlock()
	if flt != nil {
		s.forced(w, *flt)
		return
	}
	if r.Method == http.MethodGet && r.URL.Path == "/tokens/self" {
		s.tokenSelf(w, r)
		return
	}
	if r.Method != http.MethodPost {
		s.fail(w, http.StatusMethodNotAllowed, "Method not allowed", r.Method+" "+r.URL.Path+": purges are POST requests")
		return
	}
	if key := r.Header.Get("Fastly-Key"); key == "" || key != s.Token {
		s.fail(w, http.StatusUnauthorized, "Provided credentials are missing or invalid", "send the API token in the Fastly-Key header")
		return
	}
	soft := r.Header.Get("Fastly-Soft-Purge") != ""
	if cached, ok := strings.CutPrefix(r.URL.EscapedPath(), "/purge/"); ok {
		s.purgeURL(w, r, cached, soft)
		return
	}
	m := keyPathRe.FindStringSubmatch(r.URL.EscapedPath())
	if m == nil {
		s.fail(w, http.StatusNotFound, "Record not found", "no API endpoint at "+r.URL.Path)
		return
	}
	if m[1] != s.ServiceID {
		s.fail(w, http.StatusNotFound, "Record not found", "Cannot find service '"+m[1]+"'")
		return
	}
	switch {
	case m[2] == "purge_all" && m[3] == "":
		s.purgeAll(w, r, soft)
	case m[2] == "purge" && m[3] != "":
		key, err := url.PathUnescape(m[3])
		if err != nil {
			s.fail(w, http.StatusBadRequest, "Bad request", "malformed surrogate key in the path")
			return
		}
		s.purgeKeys(w, r, []string{key}, soft, true)
	case m[2] == "purge":
		keys, msg := s.batchKeys(r)
		if msg != "" {
			s.fail(w, http.StatusBadRequest, "Bad request", msg)
			return
		}
		s.purgeKeys(w, r, keys, soft, false)
	default:
		s.fail(w, http.StatusNotFound, "Record not found", "no API endpoint at "+r.URL.Path)
	}
}

func (s *Server) forced(w http.ResponseWriter, f Fault) {
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if f.Reset != 0 {
		w.Header().Set("Fastly-RateLimit-Remaining", "0")
		w.Header().Set("Fastly-RateLimit-Reset", strconv.FormatInt(s.Now().Add(f.Reset).Unix(), 10))
	}
	if f.Body != "" {
		s.mu.Lock()
		s.statuses = append(s.statuses, f.Status)
		s.mu.Unlock()
		w.WriteHeader(f.Status)
		_, _ = io.WriteString(w, f.Body)
		return
	}
	msg := http.StatusText(f.Status)
	if f.Status == http.StatusTooManyRequests {
		msg = "Too many requests"
	}
	s.fail(w, f.Status, msg, "injected by the test")
}

func (s *Server) hasScope(scope string) bool {
	for _, sc := range s.Scopes {
		if sc == scope || sc == ScopeGlobal {
			return true
		}
	}
	return false
}

// purgeURL applies a single-URL purge: cached is host/path as escaped in
// the request line.
func (s *Server) purgeURL(w http.ResponseWriter, r *http.Request, cached string, soft bool) {
	if !s.hasScope(ScopePurgeSelect) {
		s.fail(w, http.StatusForbidden, "Forbidden", "this token lacks the purge_select scope")
		return
	}
	host, path, _ := strings.Cut(cached, "/")
	switch {
	case strings.Contains(host, ":") && !validHostPort(host):
		s.fail(w, http.StatusBadRequest, "Bad request", "the cached URL is host/path, without a scheme: "+cached)
		return
	case !validHostPort(host):
		s.fail(w, http.StatusBadRequest, "Bad request", "the cached URL must start with a hostname: "+cached)
		return
	}
	item := host + "/" + path
	if r.URL.RawQuery != "" {
		item += "?" + r.URL.RawQuery
	}
	id := s.apply(Purge{Kind: "url", Item: item, Soft: soft})
	s.reply(w, http.StatusOK, map[string]string{"status": "ok", "id": id})
}

var hostPortRe = regexp.MustCompile(`^(?i)[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*(:[0-9]{1,5})?$`)

func validHostPort(h string) bool { return hostPortRe.MatchString(h) }

// batchKeys reads the keys of a batch purge: a JSON body or the
// Surrogate-Key header, exactly one of them.
func (s *Server) batchKeys(r *http.Request) ([]string, string) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, "unreadable body"
	}
	header := r.Header.Get("Surrogate-Key")
	var keys []string
	switch {
	case len(raw) > 0 && header != "":
		return nil, "give the keys in the JSON body or the Surrogate-Key header, not both"
	case len(raw) > 0:
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
			return nil, "a JSON body needs Content-Type: application/json"
		}
		var body map[string]json.RawMessage
		if err := json.Unmarshal(raw, &body); err != nil {
			return nil, "malformed JSON body"
		}
		for k := range body {
			if k != "surrogate_keys" {
				return nil, "unknown field " + strconv.Quote(k) + "; want {\"surrogate_keys\": [...]}"
			}
		}
		if err := json.Unmarshal(body["surrogate_keys"], &keys); err != nil {
			return nil, "surrogate_keys must be an array of strings"
		}
		s.mu.Lock()
		s.bodies = append(s.bodies, string(raw))
		s.mu.Unlock()
	case header != "":
		keys = strings.Fields(header)
	default:
		return nil, "no surrogate keys: send {\"surrogate_keys\": [...]} or a Surrogate-Key header"
	}
	if len(keys) == 0 || len(keys) > 256 {
		return nil, fmt.Sprintf("%d surrogate keys: a batch purge takes 1 to 256", len(keys))
	}
	return keys, ""
}

func (s *Server) purgeKeys(w http.ResponseWriter, _ *http.Request, keys []string, soft, single bool) {
	if !s.hasScope(ScopePurgeSelect) {
		s.fail(w, http.StatusForbidden, "Forbidden", "this token lacks the purge_select scope")
		return
	}
	for _, k := range keys {
		if len(k) == 0 || len(k) > 1024 {
			s.fail(w, http.StatusBadRequest, "Bad request", fmt.Sprintf("surrogate key of %d bytes: keys have 1 to 1024", len(k)))
			return
		}
		for i := 0; i < len(k); i++ {
			if c := k[i]; c <= ' ' || c > '~' {
				s.fail(w, http.StatusBadRequest, "Bad request", "surrogate key "+strconv.Quote(k)+": printable ASCII without spaces")
				return
			}
		}
	}
	ids := make(map[string]string, len(keys))
	for _, k := range keys {
		ids[k] = s.apply(Purge{Kind: "key", Item: k, Soft: soft})
	}
	if single {
		s.reply(w, http.StatusOK, map[string]string{"status": "ok", "id": ids[keys[0]]})
		return
	}
	s.reply(w, http.StatusOK, ids)
}

func (s *Server) purgeAll(w http.ResponseWriter, _ *http.Request, soft bool) {
	if !s.hasScope(ScopePurgeAll) {
		s.fail(w, http.StatusForbidden, "Forbidden", "this token lacks the purge_all scope")
		return
	}
	if soft {
		s.fail(w, http.StatusBadRequest, "Bad request", "purge_all cannot be soft")
		return
	}
	now := s.Now()
	s.mu.Lock()
	if s.window.IsZero() || now.Sub(s.window) >= time.Hour {
		s.window, s.used = now, 0
	}
	s.used++
	remaining, reset := s.HourlyLimit-s.used, s.window.Add(time.Hour)
	s.mu.Unlock()
	w.Header().Set("Fastly-RateLimit-Remaining", strconv.Itoa(max(remaining, 0)))
	w.Header().Set("Fastly-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	if remaining < 0 {
		s.fail(w, http.StatusTooManyRequests, "Too many requests", "rate limit of non-read requests exceeded")
		return
	}
	s.apply(Purge{Kind: "all", Soft: soft})
	s.reply(w, http.StatusOK, map[string]string{"status": "ok"})
}

// apply records p and returns its purge ID.
func (s *Server) apply(p Purge) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	p.ID = fmt.Sprintf("%d-%d-%d", 100+s.seq, s.Now().Unix(), 9000+s.seq)
	s.purges = append(s.purges, p)
	return p.ID
}

// tokenSelf answers GET /tokens/self: the token's scope (space-separated)
// and the services it is limited to, as the API documents them.
func (s *Server) tokenSelf(w http.ResponseWriter, r *http.Request) {
	if key := r.Header.Get("Fastly-Key"); key == "" || key != s.Token {
		s.fail(w, http.StatusUnauthorized, "Provided credentials are missing or invalid", "send the API token in the Fastly-Key header")
		return
	}
	services := s.Services
	if services == nil {
		services = []string{}
	}
	s.reply(w, http.StatusOK, map[string]any{
		"id": "5Yo3XXnrQpjc20u0ybrf2g", "user_id": "x9KzsrACXZv8tPwlEDsKb6", "name": "cdnctl",
		"scope": strings.Join(s.Scopes, " "), "services": services,
		"created_at": "2026-01-01T00:00:00Z", "expires_at": nil,
	})
}
