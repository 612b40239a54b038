package localedge

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
)

// admin serves a topology's admin API (contract §2).
type admin struct {
	t     *Topology
	token []byte
	mux   *http.ServeMux
}

func newAdmin(t *Topology) http.Handler {
	a := &admin{t: t, token: []byte(t.token), mux: http.NewServeMux()}
	a.mux.HandleFunc("/healthz", a.only(http.MethodGet, a.healthz))
	a.mux.Handle("/metrics", a.auth(a.only(http.MethodGet, promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{}).ServeHTTP)))
	a.mux.Handle("/api/v1/topology", a.auth(a.only(http.MethodGet, a.topology)))
	a.mux.Handle("/api/v1/purge", a.auth(a.only(http.MethodPost, a.purge)))
	a.mux.Handle("/api/v1/stats", a.auth(a.only(http.MethodGet, a.stats)))
	a.mux.Handle("/api/v1/entries", a.auth(a.only(http.MethodGet, a.entries)))
	a.mux.Handle("/api/v1/entry", a.auth(a.only(http.MethodGet, a.entry)))
	a.mux.Handle("/api/v1/pops/{name}/{state}", a.auth(a.only(http.MethodPost, a.popState)))
	a.mux.Handle("/", a.auth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no such endpoint: %s %s", r.Method, r.URL.Path))
	})))
	return a.mux
}

// auth requires the bearer token, compared in constant time. The scheme
// name is case-insensitive (RFC 9110 §11.1): "bearer" works too.
func (a *admin) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("Authorization")
		scheme, cred, _ := strings.Cut(strings.TrimSpace(got), " ")
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(cred)), a.token) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="cdnctl"`)
			msg := "missing bearer token"
			if len(got) > 0 {
				msg = "invalid bearer token"
			}
			writeError(w, http.StatusUnauthorized, msg)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (a *admin) only(method string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method {
			w.Header().Set("Allow", method)
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: use %s", r.Method, r.URL.Path, method))
			return
		}
		h(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding the response failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, ErrorResponse{Error: msg})
}

func (a *admin) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (a *admin) topology(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, a.t.Info())
}

// StatsResponse is the body of GET /api/v1/stats.
type StatsResponse struct {
	PoPs []Stats `json:"pops"`
	Time string  `json:"time"`
}

func (a *admin) stats(w http.ResponseWriter, r *http.Request) {
	resp := StatsResponse{Time: time.Now().UTC().Format(time.RFC3339)}
	for _, p := range a.t.PoPs() {
		resp.PoPs = append(resp.PoPs, p.Proxy.Stats())
	}
	writeJSON(w, http.StatusOK, resp)
}

// AdminPurgeRequest is the body of POST /api/v1/purge: a PurgeRequest and
// the PoPs to apply it to (all, shield included, when empty).
type AdminPurgeRequest struct {
	PurgeRequest
	PoPs []string `json:"pops,omitempty"`
}

// PurgeResponse is the answer to a purge, once every PoP applied it.
type PurgeResponse struct {
	ID         string     `json:"id"`
	Soft       bool       `json:"soft"`
	Purged     int        `json:"purged"`
	PoPs       []PoPPurge `json:"pops"`
	DurationMS int64      `json:"duration_ms"`
}

// PoPPurge is one PoP's share of a purge.
type PoPPurge struct {
	Name   string `json:"name"`
	Purged int    `json:"purged"`
}

func (a *admin) purge(w http.ResponseWriter, r *http.Request) {
	var req AdminPurgeRequest
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	pops, err := a.selectPoPs(req.PoPs)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	resp, err := PurgeAll(r.Context(), pops, req.PurgeRequest)
	if err != nil {
		var pe *PurgeError
		if errors.Is(err, ErrEmptyPurge) || errors.As(err, &pe) {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// PurgeAll applies a purge to the given PoPs and returns when all have
// applied it: the shield first, then the edges concurrently. In the other
// order (or all at once), an edge purged before the shield could fetch the
// shield's old copy and store it again after its purge.
func PurgeAll(ctx context.Context, pops []*PoP, req PurgeRequest) (PurgeResponse, error) {
	start := time.Now()
	// Validate once, before touching any PoP.
	if _, err := (KeyOptions{}).CompilePurge(req); err != nil {
		return PurgeResponse{}, err
	}
	resp := PurgeResponse{ID: newID(), Soft: req.Soft, PoPs: make([]PoPPurge, len(pops))}
	for _, tier := range []func(*PoP) bool{
		func(p *PoP) bool { return p.Role == RoleShield },
		func(p *PoP) bool { return p.Role != RoleShield },
	} {
		g, gctx := errgroup.WithContext(ctx)
		for i, p := range pops {
			if !tier(p) {
				continue
			}
			g.Go(func() error {
				n, err := p.Proxy.Purge(gctx, req)
				resp.PoPs[i] = PoPPurge{Name: p.Name, Purged: n}
				if err != nil {
					return fmt.Errorf("%s: %w", p.Name, err)
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return PurgeResponse{}, err
		}
	}
	for _, pp := range resp.PoPs {
		resp.Purged += pp.Purged
	}
	resp.DurationMS = time.Since(start).Milliseconds()
	return resp, nil
}

// newID returns a random UUID (version 4) for a purge.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// jsonBodyType checks a request's Content-Type for a JSON body: none,
// application/json, application/*+json, or the form type that curl -d sends
// by default (application/x-www-form-urlencoded), whose body is then read as
// JSON too, so that `curl -H "$auth" -d '{"all":true}' …` works as written.
// Accepting the form type opens no cross-site hole: every endpoint that
// takes a body needs the Authorization header, which a browser's form or
// simple request cannot send to another origin. form reports the form type,
// so that a body that is a real form gets a hint.
func jsonBodyType(ct string) (form bool, err error) {
	if strings.TrimSpace(ct) == "" {
		return false, nil
	}
	mt, _, perr := mime.ParseMediaType(ct)
	switch {
	case perr != nil:
	case mt == "application/json", strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"):
		return false, nil
	case mt == "application/x-www-form-urlencoded":
		return true, nil
	}
	return false, fmt.Errorf("Content-Type %q: want application/json (or none)", ct)
}

// decodeJSON reads a JSON request body strictly: at most 1 MiB, no unknown
// fields, one value; errors name the offending field.
func decodeJSON(r *http.Request, v any) error {
	form, err := jsonBodyType(r.Header.Get("Content-Type"))
	if err != nil {
		return err
	}
	err = decodeJSONBody(r.Body, v)
	var se *json.SyntaxError
	if form && errors.As(err, &se) && se.Offset <= 1 {
		return fmt.Errorf("%w (the body is a form; send a JSON object, e.g. {\"urls\":[\"/\"]})", err)
	}
	return err
}

func decodeJSONBody(body io.Reader, v any) error {
	dec := json.NewDecoder(io.LimitReader(body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.Is(err, io.EOF):
			return errors.New("empty request body: want a JSON object")
		case errors.As(err, &te):
			field := te.Field
			if i := strings.LastIndexByte(field, '.'); i >= 0 && strings.HasPrefix(field, "PurgeRequest.") {
				field = field[i+1:] // promoted from the embedded PurgeRequest
			}
			return fmt.Errorf("field %q: want %s, got a JSON %s", field, te.Type, te.Value)
		case errors.As(err, &se):
			return fmt.Errorf("malformed JSON at byte %d: %w", se.Offset, se)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return fmt.Errorf("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return fmt.Errorf("malformed JSON: %v", err)
	}
	if dec.More() {
		return errors.New("malformed JSON: more than one value")
	}
	return nil
}

// selectPoPs resolves PoP names (all PoPs when none are given).
func (a *admin) selectPoPs(names []string) ([]*PoP, error) {
	if len(names) == 0 {
		return a.t.PoPs(), nil
	}
	var out []*PoP
	edge, shield := false, false
	for i, n := range names {
		p, ok := a.t.PoP(n)
		if !ok {
			return nil, fmt.Errorf("pops[%d]: unknown PoP %q", i, n)
		}
		edge = edge || p.Role == RoleEdge
		shield = shield || p.Role == RoleShield
		out = append(out, p)
	}
	if edge && !shield && a.t.shield != nil {
		// A purge of an edge alone would not work: the edge would fetch
		// the shield's copy again. It reaches the shield too.
		out = append(out, a.t.shield)
	}
	return out, nil
}

func (a *admin) entries(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q := EntryQuery{Filter: v.Get("q"), Sort: v.Get("sort")}
	switch v.Get("order") {
	case "", "asc":
	case "desc":
		q.Desc = true
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("order %q: want asc or desc", v.Get("order")))
		return
	}
	for _, f := range []struct {
		name string
		dst  *int
		max  int
	}{{"offset", &q.Offset, 1 << 30}, {"limit", &q.Limit, MaxEntryLimit}} {
		s := v.Get(f.name)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > f.max {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("%s %q: want an integer from 0 to %d", f.name, s, f.max))
			return
		}
		*f.dst = n
	}
	var pops []*PoP
	if name := v.Get("pop"); name != "" {
		p, ok := a.t.PoP(name)
		if !ok {
			writeError(w, http.StatusNotFound, fmt.Sprintf("pop %q: no such PoP", name))
			return
		}
		pops = []*PoP{p}
	} else {
		pops = a.t.PoPs()
	}
	proxies := make([]*Proxy, len(pops))
	for i, p := range pops {
		proxies[i] = p.Proxy
	}
	page, err := ListEntries(r.Context(), proxies, q)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (a *admin) entry(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	key := v.Get("key")
	if key == "" {
		writeError(w, http.StatusBadRequest, "key: required")
		return
	}
	pops := a.t.PoPs()
	if name := v.Get("pop"); name != "" {
		p, ok := a.t.PoP(name)
		if !ok {
			writeError(w, http.StatusNotFound, fmt.Sprintf("pop %q: no such PoP", name))
			return
		}
		pops = []*PoP{p}
	}
	var found *EntryDetail
	for _, p := range pops {
		d, ok, err := p.Proxy.Entry(r.Context(), key)
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		if ok {
			found = &d
			break
		}
	}
	if found == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("key %q is not cached", key))
		return
	}
	found.PopsHolding = []string{}
	for _, p := range a.t.PoPs() {
		if vs, err := p.Proxy.StoreOf().Get(r.Context(), key); err == nil && len(vs) > 0 {
			found.PopsHolding = append(found.PopsHolding, p.Name)
		}
	}
	writeJSON(w, http.StatusOK, found)
}

func (a *admin) popState(w http.ResponseWriter, r *http.Request) {
	name, state := r.PathValue("name"), r.PathValue("state")
	p, ok := a.t.PoP(name)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("pop %q: no such PoP", name))
		return
	}
	switch state {
	case "down":
		p.Proxy.SetDown(true)
	case "up":
		p.Proxy.SetDown(false)
	default:
		writeError(w, http.StatusNotFound, fmt.Sprintf("%s: want .../down or .../up", r.URL.Path))
		return
	}
	writeJSON(w, http.StatusOK, PoPHealth{Name: p.Name, Healthy: p.Proxy.Healthy()})
}

// PoPHealth is the answer of POST /api/v1/pops/<name>/down and .../up.
type PoPHealth struct {
	Name    string `json:"name"`
	Healthy bool   `json:"healthy"`
}

// ErrorResponse is the body of every admin API error (4xx/5xx).
type ErrorResponse struct {
	Error string `json:"error"`
}
