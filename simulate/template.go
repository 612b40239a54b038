package simulate

import (
	"net/http"
	"strconv"
	"time"

	"github.com/cdnctl/cdnctl/localedge"
)

// A template is the shape of the origin's responses shared by many
// objects: status, Cache-Control, Vary and tag. Its header is parsed once
// (directives, freshness lifetime, Vary fields) and each version of it
// (an ETag) is one shared, never modified http.Header that every entry of
// that version points to: entries cost no header of their own.
type template struct {
	id        int
	status    int
	base      http.Header
	d         localedge.ResponseDirectives
	lifetime  time.Duration
	heuristic bool
	varyNames []string
	tags      []string
	versions  map[int32]http.Header
	// selecting holds, per client class, the class's values of the Vary
	// fields (nil until needed; noVary marks "none").
	selecting [][]localedge.VaryValue
	selDone   []bool
}

type tmplKey struct {
	status         int
	cc, vary, tags string
}

// templates interns templates.
type templates struct {
	byKey     map[tmplKey]*template
	list      []*template
	targeted  []string
	heuristic localedge.Heuristic
}

func newTemplates(heur localedge.Heuristic) *templates {
	return &templates{byKey: make(map[tmplKey]*template), targeted: localedge.DefaultTargetedFields(), heuristic: heur}
}

func (ts *templates) get(status int, cc, vary, tag string) *template {
	k := tmplKey{status, cc, vary, tag}
	if t := ts.byKey[k]; t != nil {
		return t
	}
	h := http.Header{}
	if cc != "" {
		h["Cache-Control"] = []string{cc}
	}
	if vary != "" {
		h["Vary"] = []string{vary}
	}
	if tag != "" {
		h["Surrogate-Key"] = []string{tag}
	}
	t := &template{id: len(ts.list), status: status, base: h, versions: make(map[int32]http.Header)}
	t.d, _ = localedge.SelectDirectives(h, ts.targeted)
	// The stored headers have no Expires and no Last-Modified, so the
	// lifetime does not depend on the response's Date: computed once.
	t.lifetime, t.heuristic = localedge.FreshnessLifetime(status, h, t.d, time.Time{}, ts.heuristic)
	t.varyNames, _ = localedge.VaryFields(h)
	t.tags = localedge.ParseTags(h)
	ts.byKey[k] = t
	ts.list = append(ts.list, t)
	return t
}

// header is the stored header of a version: the template's fields and an
// ETag naming the template and the version.
func (t *template) header(version int32) http.Header {
	if h := t.versions[version]; h != nil {
		return h
	}
	h := make(http.Header, len(t.base)+1)
	for k, v := range t.base {
		h[k] = v
	}
	h["Etag"] = []string{`"` + strconv.Itoa(t.id) + "." + strconv.Itoa(int(version)) + `"`}
	t.versions[version] = h
	return h
}

// selectingFor returns the Vary values of a client class.
func (t *template) selectingFor(c *class) []localedge.VaryValue {
	if len(t.varyNames) == 0 {
		return nil
	}
	for len(t.selDone) <= c.idx {
		t.selDone = append(t.selDone, false)
		t.selecting = append(t.selecting, nil)
	}
	if !t.selDone[c.idx] {
		t.selecting[c.idx] = localedge.SelectingValues(c.h, t.varyNames)
		t.selDone[c.idx] = true
	}
	return t.selecting[c.idx]
}

// entryTemplate tells the template and version of a stored entry from its
// ETag.
func (ts *templates) entryTemplate(e *localedge.Entry) (*template, int32) {
	v := e.Header["Etag"]
	if len(v) == 0 {
		return nil, 0
	}
	// `"id.version"`, as header wrote it.
	s := v[0]
	id, ver, dot := 0, 0, false
	for i := 1; i < len(s)-1; i++ {
		c := s[i]
		switch {
		case c == '.':
			dot = true
		case c < '0' || c > '9':
			return nil, 0
		case dot:
			ver = ver*10 + int(c-'0')
		default:
			id = id*10 + int(c-'0')
		}
	}
	if !dot || id >= len(ts.list) {
		return nil, 0
	}
	return ts.list[id], int32(ver)
}

// A class is what clients send that responses may vary on: their
// Accept-Encoding, normalised as the edge normalises it (and forwards it).
type class struct {
	idx int
	h   http.Header
	// matches tells whether the class selects a stored variant (for
	// localedge.SelectVariant).
	matches func([]localedge.VaryValue) bool
}

func newClass(idx int, acceptEncoding string) *class {
	c := &class{idx: idx, h: http.Header{"Accept-Encoding": localedge.NormalizeAcceptEncoding([]string{acceptEncoding})}}
	c.matches = func(v []localedge.VaryValue) bool { return localedge.VaryMatches(v, c.h) }
	return c
}
