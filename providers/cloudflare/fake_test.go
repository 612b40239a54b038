package cloudflare

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAPI is a strict fake of the Cloudflare API v4 purge endpoint. It
// checks each request as the API reference defines it and answers with the
// v4 envelope:
//
//   - POST /client/v4/zones/{zone_id}/purge_cache
//     https://developers.cloudflare.com/api/resources/cache/methods/purge/
//   - Authorization: Bearer <token> (API tokens)
//     https://developers.cloudflare.com/fundamentals/api/get-started/create-token/
//   - body: exactly one of files (URLs, or {url, headers} objects), tags,
//     hosts, prefixes (host/path, no scheme) or purge_everything: true
//     https://developers.cloudflare.com/cache/how-to/purge-cache/purge-by-single-file/
//     https://developers.cloudflare.com/cache/how-to/purge-cache/purge_by_prefix/
//   - at most maxFiles URLs (100; 500 on Enterprise) or maxItems tags,
//     hosts or prefixes (100 on every plan) per request; per account, a
//     token bucket of URLs for single-file purges (URLs per second) and
//     one of requests for the other kinds: 429 when the request's bucket
//     cannot serve it
//     https://developers.cloudflare.com/cache/how-to/purge-cache/#purge-limits
//   - envelope {success, errors, messages, result}; errors are
//     [{code, message}]
//     https://developers.cloudflare.com/fundamentals/api/how-to/make-api-calls/
//
// The error codes of 4xx answers other than authentication are the fake's
// own choice; clients must not depend on them.
type fakeAPI struct {
	t     *testing.T
	srv   *httptest.Server
	zone  string
	token string
	// tokenStatus is what /user/tokens/verify says of token ("": active).
	tokenStatus string
	maxItems    int              // tags, hosts, prefixes per request
	maxFiles    int              // URLs per request
	now         func() time.Time // the buckets' clock (time.Now)

	mu sync.Mutex // guards the fields below
	// bucket: account-wide token bucket of requests for tags, hosts,
	// prefixes and everything (rate per second, burst); rate 0 disables
	// it. urls: the bucket of URLs for single-file purges.
	rate, burst, tokens float64
	last                time.Time
	urls                fakeBucket
	retryAfter          string           // Retry-After sent with a rate-limit 429
	faults              []fault          // consumed one per request, before any check
	reject              map[string]bool  // items that make the API reject a request (400)
	requests            []fakeRequest    // valid purge requests received
	purged              map[string]int   // item → times purged
	statuses            []int            // status of every answer, in order
	headers             []map[string]any // per-file headers of file requests
}

type fakeBucket struct {
	rate, burst, tokens float64
	last                time.Time
}

type fault struct {
	status     int
	retryAfter string
	raw        string // body; default: an error envelope
}

type fakeRequest struct {
	Kind  string
	Items []string
}

func newFakeAPI(t *testing.T, zone, token string) *fakeAPI {
	f := &fakeAPI{t: t, zone: zone, token: token, maxItems: 100, maxFiles: 100, now: time.Now, purged: map[string]int{}, reject: map[string]bool{}, retryAfter: "1"}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// baseURL is what the client is configured with.
func (f *fakeAPI) baseURL() string { return f.srv.URL + "/client/v4/" }

// limit turns the account's bucket of requests (all kinds but URLs) on.
func (f *fakeAPI) limit(rate float64, burst int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rate, f.burst, f.tokens, f.last = rate, float64(burst), float64(burst), f.now()
}

// limitURLs turns the account's bucket of URLs (single-file purges) on.
func (f *fakeAPI) limitURLs(rate float64, burst int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.urls = fakeBucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: f.now()}
}

func (f *fakeAPI) inject(fs ...fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, fs...)
}

func (f *fakeAPI) snapshot() (reqs []fakeRequest, purged map[string]int, statuses []int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	purged = make(map[string]int, len(f.purged))
	for k, v := range f.purged {
		purged[k] = v
	}
	return append([]fakeRequest(nil), f.requests...), purged, append([]int(nil), f.statuses...)
}

type cfMessage struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (f *fakeAPI) reply(w http.ResponseWriter, status int, result any, errs ...cfMessage) {
	f.mu.Lock()
	f.statuses = append(f.statuses, status)
	f.mu.Unlock()
	if errs == nil {
		errs = []cfMessage{}
	}
	var buf [8]byte
	_, _ = rand.Read(buf[:])
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("CF-Ray", hex.EncodeToString(buf[:])+"-SJC")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"success":  status < 300,
		"errors":   errs,
		"messages": []cfMessage{},
		"result":   result,
	})
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	var flt *fault
	if len(f.faults) > 0 {
		flt = &f.faults[0]
		f.faults = f.faults[1:]
	}
	f.mu.Unlock()
	if flt != nil {
		if flt.retryAfter != "" {
			w.Header().Set("Retry-After", flt.retryAfter)
		}
		if flt.raw != "" {
			f.mu.Lock()
			f.statuses = append(f.statuses, flt.status)
			f.mu.Unlock()
			w.WriteHeader(flt.status)
			_, _ = io.WriteString(w, flt.raw)
			return
		}
		f.reply(w, flt.status, nil, cfMessage{Code: 10000 + flt.status, Message: http.StatusText(flt.status)})
		return
	}

	if r.URL.Path == "/client/v4/user/tokens/verify" {
		f.verifyToken(w, r)
		return
	}
	zone, ok := strings.CutPrefix(r.URL.Path, "/client/v4/zones/")
	zone, ok2 := strings.CutSuffix(zone, "/purge_cache")
	if !ok || !ok2 || strings.Contains(zone, "/") {
		f.reply(w, http.StatusNotFound, nil, cfMessage{7003, "Could not route to " + r.URL.Path + ", perhaps your object identifier is invalid?"})
		return
	}
	if r.Method != http.MethodPost {
		f.reply(w, http.StatusMethodNotAllowed, nil, cfMessage{7001, "Method " + r.Method + " not allowed for this endpoint"})
		return
	}
	auth := r.Header.Get("Authorization")
	tok, isBearer := strings.CutPrefix(auth, "Bearer ")
	if !isBearer || tok == "" {
		f.reply(w, http.StatusBadRequest, nil, cfMessage{6003, "Invalid request headers"}, cfMessage{6111, "Invalid format for Authorization header"})
		return
	}
	if tok != f.token {
		f.reply(w, http.StatusForbidden, nil, cfMessage{10000, "Authentication error"})
		return
	}
	if zone != f.zone {
		f.reply(w, http.StatusNotFound, nil, cfMessage{7003, "Could not route to " + r.URL.Path + ", perhaps your object identifier is invalid?"})
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		f.reply(w, http.StatusUnsupportedMediaType, nil, cfMessage{6007, "Malformed request body: want Content-Type application/json"})
		return
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		f.reply(w, http.StatusBadRequest, nil, cfMessage{6007, "Malformed JSON in request body"})
		return
	}
	req, files, msg := f.parse(raw)
	if msg != "" {
		f.reply(w, http.StatusBadRequest, nil, cfMessage{1012, msg})
		return
	}
	if !f.take(req) {
		w.Header().Set("Retry-After", f.retryAfter)
		f.reply(w, http.StatusTooManyRequests, nil, cfMessage{971, "Please wait and consider throttling your request speed"})
		return
	}
	f.mu.Lock()
	for _, it := range req.Items {
		if f.reject[it] {
			f.mu.Unlock()
			f.reply(w, http.StatusBadRequest, nil, cfMessage{1013, "Unable to purge " + it + ": it is not in this zone"})
			return
		}
	}
	f.requests = append(f.requests, req)
	for _, it := range req.Items {
		f.purged[req.Kind+":"+it]++
	}
	f.headers = append(f.headers, files...)
	f.mu.Unlock()
	f.reply(w, http.StatusOK, map[string]string{"id": f.zone})
}

// take takes what req costs from its bucket: one token per URL of a
// single-file purge, one request token otherwise.
func (f *fakeAPI) take(req fakeRequest) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	if req.Kind == "files" {
		b := &f.urls
		if b.rate <= 0 {
			return true
		}
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
		if b.tokens < float64(len(req.Items)) {
			return false
		}
		b.tokens -= float64(len(req.Items))
		return true
	}
	if f.rate <= 0 {
		return true
	}
	f.tokens = min(f.burst, f.tokens+now.Sub(f.last).Seconds()*f.rate)
	f.last = now
	if f.tokens < 1 {
		return false
	}
	f.tokens--
	return true
}

// parse checks a purge body and returns what it asks for, or a message
// saying what is wrong with it.
func (f *fakeAPI) parse(raw []byte) (fakeRequest, []map[string]any, string) {
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&obj); err != nil || dec.More() {
		return fakeRequest{}, nil, "Malformed JSON in request body"
	}
	if len(obj) != 1 {
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		return fakeRequest{}, nil, fmt.Sprintf("Request must contain exactly one of purge_everything, files, tags, hosts or prefixes; got %v", keys)
	}
	for kind, val := range obj {
		switch kind {
		case "purge_everything":
			var b bool
			if err := json.Unmarshal(val, &b); err != nil || !b {
				return fakeRequest{}, nil, "purge_everything must be true"
			}
			return fakeRequest{Kind: "everything"}, nil, ""
		case "files":
			var elems []json.RawMessage
			if err := json.Unmarshal(val, &elems); err != nil {
				return fakeRequest{}, nil, "files must be an array"
			}
			req := fakeRequest{Kind: "files"}
			var hdrs []map[string]any
			for _, e := range elems {
				var s string
				if json.Unmarshal(e, &s) == nil {
					req.Items = append(req.Items, s)
					continue
				}
				var o struct {
					URL     string            `json:"url"`
					Headers map[string]string `json:"headers"`
				}
				d := json.NewDecoder(bytes.NewReader(e))
				d.DisallowUnknownFields()
				if err := d.Decode(&o); err != nil || o.URL == "" {
					return fakeRequest{}, nil, "each file is a URL string or an object {url, headers}"
				}
				req.Items = append(req.Items, o.URL)
				hdrs = append(hdrs, map[string]any{"url": o.URL, "headers": o.Headers})
			}
			if msg := f.checkItems(req); msg != "" {
				return fakeRequest{}, nil, msg
			}
			for _, u := range req.Items {
				pu, err := url.Parse(u)
				if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
					return fakeRequest{}, nil, "files must be absolute http(s) URLs: " + strconv.Quote(u)
				}
			}
			return req, hdrs, ""
		case "tags", "hosts", "prefixes":
			req := fakeRequest{Kind: kind}
			if err := json.Unmarshal(val, &req.Items); err != nil {
				return fakeRequest{}, nil, kind + " must be an array of strings"
			}
			if msg := f.checkItems(req); msg != "" {
				return fakeRequest{}, nil, msg
			}
			for _, it := range req.Items {
				switch {
				case it == "":
					return fakeRequest{}, nil, kind + " must not hold empty strings"
				case kind == "prefixes" && (strings.Contains(it, "://") || strings.HasPrefix(it, "/")):
					return fakeRequest{}, nil, "prefixes are host/path without a scheme: " + strconv.Quote(it)
				case kind == "hosts" && strings.ContainsAny(it, "/:"):
					return fakeRequest{}, nil, "hosts are bare hostnames: " + strconv.Quote(it)
				case kind == "tags" && strings.ContainsAny(it, ", "):
					return fakeRequest{}, nil, "tags hold no commas or spaces: " + strconv.Quote(it)
				}
			}
			return req, nil, ""
		default:
			return fakeRequest{}, nil, "Unknown field " + strconv.Quote(kind)
		}
	}
	panic("unreachable")
}

func (f *fakeAPI) checkItems(req fakeRequest) string {
	if len(req.Items) == 0 {
		return req.Kind + " must not be empty"
	}
	limit := f.maxItems
	if req.Kind == "files" {
		limit = f.maxFiles
	}
	if len(req.Items) > limit {
		return fmt.Sprintf("Too many %s in one request: %d, the maximum is %d", req.Kind, len(req.Items), limit)
	}
	return ""
}

// verifyToken answers GET /user/tokens/verify as the API does: 401 with
// code 1000 for a token it does not know, else the token's status.
func (f *fakeAPI) verifyToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		f.reply(w, http.StatusMethodNotAllowed, nil, cfMessage{7001, "Method " + r.Method + " not allowed for this endpoint"})
		return
	}
	tok, isBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !isBearer || tok == "" {
		f.reply(w, http.StatusBadRequest, nil, cfMessage{6003, "Invalid request headers"}, cfMessage{6111, "Invalid format for Authorization header"})
		return
	}
	if tok != f.token {
		f.reply(w, http.StatusUnauthorized, nil, cfMessage{1000, "Invalid API Token"})
		return
	}
	status := "active"
	if f.tokenStatus != "" {
		status = f.tokenStatus
	}
	f.reply(w, http.StatusOK, map[string]any{"id": "ed17574386854bf78a67040be0a770b0", "status": status})
}
