// Package akamaitest is a strict fake of Akamai's Fast Purge API v3,
// served over real HTTP on loopback, for the tests of providers/akamai and
// of the commands that purge through it. It checks each request as the
// API reference defines it and answers as the API does:
//
//   - POST /ccu/v3/{invalidate|delete}/{url|cpcode|tag}/{production|staging}
//     https://techdocs.akamai.com/purge-cache/reference/api
//   - EdgeGrid EG1-HMAC-SHA256 authentication, verified by recomputing the
//     signature (edgegrid.go, checked against Akamai's test vectors); a
//     timestamp far from the clock or a nonce seen before is refused (401)
//     https://techdocs.akamai.com/developer/docs/authenticate-with-edgegrid
//   - Content-Type: application/json (415 otherwise); a body over 50,000
//     bytes is refused with 413; the body is exactly {"objects": [...]}
//     (plus "hostname" for URL paths), one object type per request:
//     absolute http(s) URLs in ASCII, integer CP codes, cache tags of at
//     most 128 token characters
//   - token buckets per account, one for requests and one per object type,
//     as documented (requests 100 / 50 per s; URLs 10,000 / 200 per s; CP
//     codes 300 / 30 per min; tags 5,000 / 500 per min), with X-Ratelimit-*
//     headers on every answer; 429 when a bucket cannot serve the whole
//     request, no token taken
//     https://techdocs.akamai.com/purge-cache/reference/rate-limiting
//   - 201 {httpStatus, estimatedSeconds, purgeId, supportId, detail};
//     errors are application/api-problem+json {supportId, httpStatus,
//     title, detail, describedBy}
//     https://techdocs.akamai.com/purge-cache/reference/api-errors
package akamaitest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Object types and their buckets.
const (
	TypeURL    = "url"
	TypeCPCode = "cpcode"
	TypeTag    = "tag"
	// BucketRequests is the bucket of API requests.
	BucketRequests = "requests"
)

// MaxBody is the largest body the API accepts, in bytes.
const MaxBody = 50000

// Purge is one purge request the fake accepted.
type Purge struct {
	Method  string // invalidate or delete
	Type    string // url, cpcode or tag
	Network string // production or staging
	Objects []string
	PurgeID string
}

// Fault is an answer forced on the next request, before any check.
type Fault struct {
	Status int
	Body   string // default: an api-problem document
}

// Server is the fake API. Set its exported fields before the first
// request.
type Server struct {
	URL   string // http://127.0.0.1:PORT
	Host  string // 127.0.0.1:PORT, what the client signs as the host
	Creds Credentials
	// Hostnames the account may purge URLs of (empty: any).
	Hostnames []string
	// CPCodes the account may purge (empty: any).
	CPCodes []int
	// EstimatedSeconds is answered for each purge (default 5).
	EstimatedSeconds int
	// Skew is how far a signature's timestamp may be from Now (default
	// 30 s).
	Skew time.Duration
	Now  func() time.Time

	srv *httptest.Server

	mu       sync.Mutex // guards the fields below
	buckets  map[string]*bucket
	faults   []Fault
	purges   []Purge
	statuses []int
	bodies   []int // body sizes of the requests received
	nonces   map[string]bool
}

type bucket struct {
	burst, rate float64 // tokens, tokens per second
	tokens      float64
	at          time.Time
}

func (b *bucket) level(now time.Time) float64 {
	return math.Min(b.burst, b.tokens+now.Sub(b.at).Seconds()*b.rate)
}

// New starts a fake for one API client; it stops with the test.
func New(t testing.TB, c Credentials) *Server {
	s := &Server{Creds: c, EstimatedSeconds: 5, Skew: 30 * time.Second, Now: time.Now, nonces: map[string]bool{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	s.Host = strings.TrimPrefix(s.srv.URL, "http://")
	now := time.Now()
	s.buckets = map[string]*bucket{
		BucketRequests: {burst: 100, rate: 50, tokens: 100, at: now},
		TypeURL:        {burst: 10000, rate: 200, tokens: 10000, at: now},
		TypeCPCode:     {burst: 300, rate: 30.0 / 60, tokens: 300, at: now},
		TypeTag:        {burst: 5000, rate: 500.0 / 60, tokens: 5000, at: now},
	}
	t.Cleanup(s.srv.Close)
	return s
}

// SetLimit changes a bucket (BucketRequests or an object type): its size
// and refill rate per second; it starts full.
func (s *Server) SetLimit(name string, burst int, perSecond float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buckets[name] = &bucket{burst: float64(burst), rate: perSecond, tokens: float64(burst), at: s.Now()}
}

// Inject queues answers forced on the next requests, one each.
func (s *Server) Inject(fs ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fs...)
}

// Purges returns the purges accepted, in order.
func (s *Server) Purges() []Purge {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.purges)
}

// Statuses returns the status of every answer, in order.
func (s *Server) Statuses() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.statuses)
}

// BodySizes returns the size of every request body received, in order.
func (s *Server) BodySizes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.bodies)
}

func supportID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "edcp-" + hex.EncodeToString(b[:])
}

func (s *Server) problem(w http.ResponseWriter, status int, title, detail string, extra map[string]any) {
	doc := map[string]any{
		"supportId":   supportID(),
		"httpStatus":  status,
		"title":       title,
		"detail":      detail,
		"describedBy": "https://techdocs.akamai.com/purge-cache/reference/api-errors",
	}
	for k, v := range extra {
		doc[k] = v
	}
	s.write(w, status, "application/api-problem+json", doc)
}

func (s *Server) write(w http.ResponseWriter, status int, contentType string, v any) {
	s.mu.Lock()
	s.statuses = append(s.statuses, status)
	s.mu.Unlock()
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

var pathRe = regexp.MustCompile(`^/ccu/v3/(invalidate|delete)/(url|cpcode|tag)(?:/(production|staging))?$`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var flt *Fault
	if len(s.faults) > 0 {
		flt = &s.faults[0]
		s.faults = s.faults[1:]
	}
	s.mu.Unlock()
	if flt != nil {
		if flt.Body != "" {
			s.mu.Lock()
			s.statuses = append(s.statuses, flt.Status)
			s.mu.Unlock()
			w.WriteHeader(flt.Status)
			_, _ = io.WriteString(w, flt.Body)
			return
		}
		s.problem(w, flt.Status, http.StatusText(flt.Status), "injected by the test", nil)
		return
	}

	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		s.problem(w, http.StatusBadRequest, "bad request", "unreadable body", nil)
		return
	}
	s.mu.Lock()
	s.bodies = append(s.bodies, len(body))
	s.mu.Unlock()

	// Authentication comes first: the API gateway answers it.
	signed, err := Verify(r, "http", body, s.Creds, nil, 131072, s.Now(), s.Skew)
	if err == nil {
		s.mu.Lock()
		if s.nonces[signed.Nonce] {
			err = fmt.Errorf("nonce %s was already used", signed.Nonce)
		}
		s.nonces[signed.Nonce] = true
		s.mu.Unlock()
	}
	if err != nil {
		s.write(w, http.StatusUnauthorized, "application/problem+json", map[string]any{
			"type":   "https://problems.luna.akamaiapis.net/-/pep-authn/deny",
			"title":  "Not authorized",
			"status": 401,
			"detail": err.Error(),
			"method": r.Method,
		})
		return
	}

	m := pathRe.FindStringSubmatch(r.URL.Path)
	if m == nil {
		s.problem(w, http.StatusNotFound, "not found", "no Fast Purge endpoint at "+r.URL.Path, nil)
		return
	}
	if r.Method != http.MethodPost {
		s.problem(w, http.StatusMethodNotAllowed, "method not allowed", r.Method+" is not allowed; purge requests are POST", nil)
		return
	}
	method, typ, network := m[1], m[2], m[3]
	if network == "" {
		network = "production"
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		s.problem(w, http.StatusUnsupportedMediaType, "bad media type", "send Content-Type: application/json", nil)
		return
	}
	if len(body) > MaxBody {
		s.problem(w, http.StatusRequestEntityTooLarge, "request entity too large", fmt.Sprintf("the body is %d bytes; the maximum is %d", len(body), MaxBody), nil)
		return
	}
	objects, status, title, detail := s.parse(typ, body)
	if status != 0 {
		s.problem(w, status, title, detail, nil)
		return
	}
	if !s.take(w, typ, len(objects)) {
		return
	}
	id := supportID()
	s.mu.Lock()
	s.purges = append(s.purges, Purge{Method: method, Type: typ, Network: network, Objects: objects, PurgeID: id})
	s.mu.Unlock()
	s.write(w, http.StatusCreated, "application/json", map[string]any{
		"httpStatus":       201,
		"estimatedSeconds": s.EstimatedSeconds,
		"purgeId":          id,
		"supportId":        id,
		"detail":           "Request accepted",
	})
}

// tagRe is a cache tag: RFC 7230 token characters without *, 1 to 128.
var tagRe = regexp.MustCompile("^[A-Za-z0-9!#$%&'+.^_`|~-]{1,128}$")

// parse checks a body and returns its objects as strings, or the error
// answer.
func (s *Server) parse(typ string, body []byte) (objects []string, status int, title, detail string) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]json.RawMessage
	if err := dec.Decode(&doc); err != nil || dec.More() {
		return nil, 400, "bad request", "malformed JSON body"
	}
	for k := range doc {
		if k != "objects" && !(k == "hostname" && typ == TypeURL) {
			return nil, 400, "bad request", "unknown field " + strconv.Quote(k)
		}
	}
	raw, ok := doc["objects"]
	if !ok {
		return nil, 400, "bad request", "the body has no objects"
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil || len(items) == 0 {
		return nil, 400, "bad request", "objects must be a non-empty array"
	}
	var hostname string
	if h, ok := doc["hostname"]; ok {
		if err := json.Unmarshal(h, &hostname); err != nil || hostname == "" {
			return nil, 400, "bad URL hostname", "hostname must be a string"
		}
	}
	for _, it := range items {
		switch typ {
		case TypeCPCode:
			var n json.Number
			d := json.NewDecoder(bytes.NewReader(it))
			d.UseNumber()
			code, err := int64(0), d.Decode(&n)
			if err == nil {
				code, err = n.Int64()
			}
			if err != nil || code <= 0 {
				return nil, 400, "bad CP code", "CP codes are positive integers: " + string(it)
			}
			if len(s.CPCodes) > 0 && !slices.Contains(s.CPCodes, int(code)) {
				return nil, 403, "unauthorized cpcode", strconv.FormatInt(code, 10)
			}
			objects = append(objects, strconv.FormatInt(code, 10))
		case TypeTag:
			var tag string
			if err := json.Unmarshal(it, &tag); err != nil || !tagRe.MatchString(tag) {
				return nil, 400, "bad tag", "a cache tag is 1 to 128 token characters: " + string(it)
			}
			objects = append(objects, tag)
		case TypeURL:
			var u string
			if err := json.Unmarshal(it, &u); err != nil {
				return nil, 400, "bad URL", "URLs are strings: " + string(it)
			}
			if hostname != "" {
				u = "https://" + hostname + u
			}
			for i := 0; i < len(u); i++ {
				if u[i] >= 0x80 || u[i] <= ' ' {
					return nil, 400, "bad URL", fmt.Sprintf("Invalid or malformed URL %q: contains a non-ASCII or space character", u)
				}
			}
			pu, err := url.Parse(u)
			if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
				return nil, 400, "bad URL", fmt.Sprintf("Invalid or malformed URL %q: want an absolute http(s) URL", u)
			}
			if len(s.Hostnames) > 0 && !slices.Contains(s.Hostnames, pu.Hostname()) {
				return nil, 403, "unauthorized arl", u
			}
			objects = append(objects, u)
		}
	}
	return objects, 0, "", ""
}

// take takes a request token and n object tokens, or answers 429 taking
// none. Every answer carries the buckets' state.
func (s *Server) take(w http.ResponseWriter, typ string, n int) bool {
	now := s.Now()
	s.mu.Lock()
	req, obj := s.buckets[BucketRequests], s.buckets[typ]
	reqLevel, objLevel := req.level(now), obj.level(now)
	ok := reqLevel >= 1 && objLevel >= float64(n)
	if ok {
		req.tokens, req.at = reqLevel-1, now
		obj.tokens, obj.at = objLevel-float64(n), now
		reqLevel, objLevel = req.tokens, obj.tokens
	}
	h := w.Header()
	h.Set("X-Ratelimit-Limit", strconv.Itoa(int(req.burst)))
	h.Set("X-Ratelimit-Limit-Per-Second", strconv.FormatFloat(req.rate, 'f', 2, 64))
	h.Set("X-Ratelimit-Remaining", strconv.Itoa(int(reqLevel)))
	h.Set("X-Ratelimit-Seconds-To-Refresh-Limit", strconv.FormatFloat((req.burst-reqLevel)/req.rate, 'f', 2, 64))
	h.Set("X-Ratelimit-Limit-Objects", strconv.Itoa(int(obj.burst)))
	h.Set("X-Ratelimit-Limit-Per-Second-Objects", strconv.FormatFloat(obj.rate, 'f', 2, 64))
	h.Set("X-Ratelimit-Remaining-Objects", strconv.Itoa(int(objLevel)))
	h.Set("X-Ratelimit-Seconds-To-Refresh-Limit-Objects", strconv.FormatFloat((obj.burst-objLevel)/obj.rate, 'f', 2, 64))
	s.mu.Unlock()
	if ok {
		return true
	}
	title, limit, remaining := "Rate Limit exceeded", req.burst, reqLevel
	if reqLevel >= 1 {
		title, limit, remaining = strings.ToUpper(typ)+" Rate Limit exceeded", obj.burst, objLevel
	}
	s.problem(w, http.StatusTooManyRequests, title, "", map[string]any{
		"rateLimit":                   int(limit),
		"rateLimitCurrentRequestSize": n,
		"rateLimitRemaining":          int(remaining),
	})
	return false
}
