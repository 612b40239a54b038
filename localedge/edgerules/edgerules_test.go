package edgerules

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnctl/cdnctl/siterules"
)

func mustCompile(t *testing.T, specs ...Spec) *Rules {
	t.Helper()
	rs, err := Compile(specs)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return rs
}

func TestEvaluateRouting(t *testing.T) {
	rs := mustCompile(t,
		Spec{Path: "/old/*", Redirect: &RedirectSpec{To: "/new/:splat", Status: 301}},
		Spec{Host: "example.com", Path: "/blog/:year/:slug", Redirect: &RedirectSpec{To: "https://blog.example.com/:year/:slug?from=edge", Status: 308}},
		Spec{Path: "/app/*", Rewrite: "/index.html"},
		Spec{Path: "/v1/:name", Rewrite: "/api/v1/:name?via=rule"},
		Spec{Host: "*.example.net", Path: "/healthz", Respond: &RespondSpec{Status: 200, Body: "ok\n"}},
		Spec{Path: "/blocked/*", Respond: &RespondSpec{Status: 403, Body: "<h1>no</h1>", ContentType: "text/html; charset=utf-8"}},
		// Never reached for /old/*: the first routing rule decides.
		Spec{Path: "/old/x", Respond: &RespondSpec{Status: 410}},
	)
	tests := []struct {
		name, host, path, query string
		wantStatus              int
		wantLocation            string
		wantPath, wantQuery     string
		wantBody                string
		wantDetail              string
	}{
		{name: "redirect with splat and query kept", host: "a.test", path: "/old/x/y.html", query: "q=1",
			wantStatus: 301, wantLocation: "/new/x/y.html?q=1", wantDetail: "rule 0 redirect"},
		{name: "first routing rule wins", host: "a.test", path: "/old/x",
			wantStatus: 301, wantLocation: "/new/x", wantDetail: "rule 0 redirect"},
		{name: "redirect to another host with placeholders, target query replaces", host: "Example.COM:8080", path: "/blog/2024/hello", query: "utm=x",
			wantStatus: 308, wantLocation: "https://blog.example.com/2024/hello?from=edge", wantDetail: "rule 1 redirect"},
		{name: "host must match", host: "other.test", path: "/blog/2024/hello"},
		{name: "rewrite keeps the query", host: "a.test", path: "/app/settings/profile", query: "tab=2",
			wantPath: "/index.html", wantQuery: "tab=2", wantDetail: "rule 2 rewrite"},
		{name: "rewrite with a query of its own", host: "a.test", path: "/v1/users", query: "x=1",
			wantPath: "/api/v1/users", wantQuery: "via=rule", wantDetail: "rule 3 rewrite"},
		{name: "wildcard host: subdomain", host: "a.b.example.net", path: "/healthz",
			wantStatus: 200, wantBody: "ok\n", wantDetail: "rule 4 respond"},
		{name: "wildcard host: not the apex", host: "example.net", path: "/healthz"},
		{name: "fixed response", host: "a.test", path: "/blocked/thing",
			wantStatus: 403, wantBody: "<h1>no</h1>", wantDetail: "rule 5 respond"},
		{name: "no rule", host: "a.test", path: "/other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl := rs.Evaluate(tt.host, tt.path, tt.query)
			if got := pl.Detail(); got != tt.wantDetail {
				t.Errorf("Detail() = %q; want %q", got, tt.wantDetail)
			}
			if tt.wantStatus == 0 {
				if pl.Answer != nil {
					t.Fatalf("Answer = %+v; want none", pl.Answer)
				}
			} else {
				if pl.Answer == nil {
					t.Fatalf("Answer = nil; want status %d", tt.wantStatus)
				}
				if pl.Answer.Status != tt.wantStatus || pl.Answer.Header.Get("Location") != tt.wantLocation || pl.Answer.Body != tt.wantBody {
					t.Errorf("Answer = %d %q %q; want %d %q %q", pl.Answer.Status, pl.Answer.Header.Get("Location"), pl.Answer.Body, tt.wantStatus, tt.wantLocation, tt.wantBody)
				}
			}
			if pl.Rewritten != (tt.wantPath != "") {
				t.Fatalf("Rewritten = %v; want %v", pl.Rewritten, tt.wantPath != "")
			}
			if pl.Rewritten && (pl.Path != tt.wantPath || pl.RawQuery != tt.wantQuery) {
				t.Errorf("rewrite = %q ? %q; want %q ? %q", pl.Path, pl.RawQuery, tt.wantPath, tt.wantQuery)
			}
		})
	}
}

func TestRespondHeaders(t *testing.T) {
	rs := mustCompile(t,
		Spec{Path: "/gone", Respond: &RespondSpec{Status: 410, Body: "gone"}},
		Spec{Path: "/empty", Respond: &RespondSpec{Status: 204}},
	)
	pl := rs.Evaluate("a.test", "/gone", "")
	want := http.Header{"Content-Type": {"text/plain; charset=utf-8"}, "Content-Length": {"4"}}
	if diff := cmp.Diff(want, pl.Answer.Header); diff != "" {
		t.Errorf("410 header (-want +got):\n%s", diff)
	}
	pl = rs.Evaluate("a.test", "/empty", "")
	if got := pl.Answer.Header.Get("Content-Type"); got != "" {
		t.Errorf("204 Content-Type = %q; want none", got)
	}
}

func TestRewriteCannotLeaveTheSite(t *testing.T) {
	rs := mustCompile(t, Spec{Path: "/files/*", Rewrite: "/static/:splat"})
	pl := rs.Evaluate("a.test", "/files/../../etc/passwd", "")
	if pl.Path != "/etc/passwd" {
		t.Errorf("Path = %q; want the cleaned /etc/passwd (the origin then keeps it in its folder)", pl.Path)
	}
	pl = rs.Evaluate("a.test", "/files/dir/", "")
	if pl.Path != "/static/dir/" {
		t.Errorf("Path = %q; want the trailing slash kept", pl.Path)
	}
}

func TestHeaderRulesAllApply(t *testing.T) {
	rs := mustCompile(t,
		Spec{Path: "/*", RequestHeaders: &HeaderOps{Set: map[string]string{"X-Env": "dev", "X-Team": "web"}, Remove: []string{"cookie"}},
			ResponseHeaders: &HeaderOps{Set: map[string]string{"Strict-Transport-Security": "max-age=31536000"}, Remove: []string{"Server"}}},
		Spec{Path: "/api/:version/*", RequestHeaders: &HeaderOps{Set: map[string]string{"X-Env": "api"}, Add: map[string]string{"X-Api-Version": ":version"}},
			ResponseHeaders: &HeaderOps{Add: map[string]string{"Link": "</api/:version/>; rel=index"}}},
		Spec{Path: "/api/*", Rewrite: "/backend/:splat"},
		Spec{Path: "/api/*", Redirect: &RedirectSpec{To: "/never"}},
	)
	pl := rs.Evaluate("a.test", "/api/v2/users", "")
	req := http.Header{"Cookie": {"session=secret"}, "X-Api-Version": {"client"}, "Accept": {"*/*"}}
	pl.ApplyRequest(req)
	wantReq := http.Header{"X-Env": {"api"}, "X-Team": {"web"}, "X-Api-Version": {"client", "v2"}, "Accept": {"*/*"}}
	if diff := cmp.Diff(wantReq, req); diff != "" {
		t.Errorf("request header (-want +got):\n%s", diff)
	}
	backing := make([]string, 1, 2) // a stored response's lines, with room to spare
	backing[0] = "<a>; rel=x"
	resp := http.Header{"Server": {"origin"}, "Link": backing}
	pl.ApplyResponse(resp)
	wantResp := http.Header{"Strict-Transport-Security": {"max-age=31536000"}, "Link": {"<a>; rel=x", "</api/v2/>; rel=index"}}
	if diff := cmp.Diff(wantResp, resp); diff != "" {
		t.Errorf("response header (-want +got):\n%s", diff)
	}
	if got := backing[:2][1]; got != "" {
		t.Errorf("ApplyResponse wrote %q into the stored response's lines; want a copy", got)
	}
	if got, want := pl.Detail(), "rule 0 request-headers, rule 1 request-headers, rule 2 rewrite"; got != want {
		t.Errorf("Detail() = %q; want %q", got, want)
	}
	if pl.Path != "/backend/v2/users" {
		t.Errorf("Path = %q; want /backend/v2/users", pl.Path)
	}
}

func TestAnswerDropsRequestHeaderChanges(t *testing.T) {
	rs := mustCompile(t,
		Spec{Name: "tag", RequestHeaders: &HeaderOps{Set: map[string]string{"X-A": "1"}}, ResponseHeaders: &HeaderOps{Set: map[string]string{"X-Frame-Options": "DENY"}}},
		Spec{Name: "legacy", Path: "/legacy", Redirect: &RedirectSpec{To: "/"}},
	)
	pl := rs.Evaluate("a.test", "/legacy", "")
	if got, want := pl.Detail(), "rule 1 (legacy) redirect"; got != want {
		t.Errorf("Detail() = %q; want %q", got, want)
	}
	h := pl.Answer.Header.Clone()
	pl.ApplyResponse(h)
	if h.Get("X-Frame-Options") != "DENY" {
		t.Errorf("response rules not applied to the edge's own answer: %v", h)
	}
}

func TestNilRules(t *testing.T) {
	var rs *Rules
	pl := rs.Evaluate("a", "/", "")
	if pl.Answer != nil || pl.Rewritten || pl.Detail() != "" || pl.ChangesResponse() {
		t.Errorf("nil rules did something: %+v", pl)
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		spec Spec
		want string
	}{
		{Spec{Path: "/a"}, "[0]: no action"},
		{Spec{Path: "a", Rewrite: "/b"}, `[0].path: "a": want a path pattern starting with "/"`},
		{Spec{Path: "/a/*/*", Rewrite: "/b"}, "[0].path: \"/a/*/*\": 2 splats"},
		{Spec{Host: "https://x.test", Rewrite: "/b"}, "[0].host: \"https://x.test\": want a host name"},
		{Spec{Host: "x.test:80", Rewrite: "/b"}, "[0].host"},
		{Spec{Name: "r", Path: "/a", Rewrite: "/b", Redirect: &RedirectSpec{To: "/c"}}, "[0] (r): a rule has at most one of rewrite, redirect and respond"},
		{Spec{Path: "/a", Redirect: &RedirectSpec{To: "/c", Status: 200}}, "[0].redirect.status: 200: want 301, 302, 303, 307 or 308"},
		{Spec{Path: "/a", Redirect: &RedirectSpec{}}, "[0].redirect.to: missing"},
		{Spec{Path: "/a", Redirect: &RedirectSpec{To: "example.com/c"}}, "[0].redirect.to: \"example.com/c\": want a path"},
		{Spec{Path: "/a/:x", Redirect: &RedirectSpec{To: "/c/:y"}}, "[0].redirect.to: target \"/c/:y\" uses :y, which the source does not capture"},
		{Spec{Path: "/a", Rewrite: "https://other.test/"}, "[0].rewrite: \"https://other.test/\": want a path"},
		{Spec{Path: "/a", Rewrite: "//other.test/"}, "[0].rewrite"},
		{Spec{Path: "/a", Respond: &RespondSpec{Status: 99}}, "[0].respond.status: 99: want a status from 200 to 599"},
		{Spec{Path: "/a", Respond: &RespondSpec{Status: 204, Body: "x"}}, "[0].respond.body: a 204 response has no body"},
		{Spec{Path: "/a", Respond: &RespondSpec{Body: strings.Repeat("x", MaxBody+1)}}, "[0].respond.body: 65537 bytes"},
		{Spec{Path: "/a", Respond: &RespondSpec{ContentType: "html"}}, "[0].respond.content_type"},
		{Spec{RequestHeaders: &HeaderOps{Set: map[string]string{"Host": "x"}}}, "[0].request_headers: set: Host cannot be changed by a rule"},
		{Spec{RequestHeaders: &HeaderOps{Remove: []string{"x-forwarded-for"}}}, "[0].request_headers: remove: X-Forwarded-For cannot be changed by a rule"},
		{Spec{RequestHeaders: &HeaderOps{Set: map[string]string{"Bad Name": "x"}}}, `"Bad Name" is not a header name`},
		{Spec{ResponseHeaders: &HeaderOps{Set: map[string]string{"X-A": "a\nb"}}}, "has a character a header cannot carry"},
		{Spec{ResponseHeaders: &HeaderOps{Set: map[string]string{"Content-Length": "1"}}}, "[0].response_headers: set: Content-Length cannot be changed"},
		{Spec{Path: "/a/:x", ResponseHeaders: &HeaderOps{Set: map[string]string{"X-A": ":y"}}}, `uses :y, which the path does not capture`},
		{Spec{ResponseHeaders: &HeaderOps{}}, "[0].response_headers: empty"},
	}
	for _, tt := range tests {
		_, err := Compile([]Spec{tt.spec})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Compile(%+v) = %v; want an error containing %q", tt.spec, err, tt.want)
		}
	}
	// A URL's colon is not a capture.
	if _, err := Compile([]Spec{{ResponseHeaders: &HeaderOps{Set: map[string]string{"Link": "<https://cdn.test:8443/a>; rel=preconnect"}}}}); err != nil {
		t.Errorf("Compile(URL value) = %v; want no error", err)
	}
	// Every bad rule is reported, with its index.
	_, err := Compile([]Spec{{Path: "/ok", Rewrite: "/b"}, {Path: "/x"}, {Path: "/y", Redirect: &RedirectSpec{To: "/z", Status: 1}}})
	if err == nil || !strings.Contains(err.Error(), "[1]: no action") || !strings.Contains(err.Error(), "[2].redirect.status") {
		t.Errorf("Compile(two bad rules) = %v; want both reported", err)
	}
}

func TestSplatWithoutPath(t *testing.T) {
	rs := mustCompile(t,
		Spec{ResponseHeaders: &HeaderOps{Set: map[string]string{"X-Path": ":splat", "X-Fixed": "a"}}},
		Spec{Rewrite: "/all/:splat"},
	)
	pl := rs.Evaluate("a.test", "/x/y", "")
	h := http.Header{}
	pl.ApplyResponse(h)
	if h.Get("X-Path") != "x/y" || h.Get("X-Fixed") != "a" || pl.Path != "/all/x/y" {
		t.Errorf("without a path, :splat = %q, X-Fixed %q, rewrite %q; want the whole path", h.Get("X-Path"), h.Get("X-Fixed"), pl.Path)
	}
}

// TestPrefixPatternsMatchAsRegexps: the prefix fast path of "/dir/*"
// patterns matches and captures what the pattern's regexp does.
func TestPrefixPatternsMatchAsRegexps(t *testing.T) {
	for _, p := range []string{"/assets/*", "/*", "/a.b/*", "/x*"} {
		rs := mustCompile(t, Spec{Path: p, ResponseHeaders: &HeaderOps{Set: map[string]string{"X-S": ":splat"}}})
		if rs.rules[0].prefix == "" {
			t.Errorf("%s: no prefix fast path", p)
		}
		pat := rs.rules[0].pattern
		for _, path := range []string{"/assets/app.css", "/assets/", "/assets", "/a.b/c", "/axb/c", "/x", "/xyz/w", "/", "/assets/a\nb"} {
			want, wantOK := pat.Match("", path)
			pl := rs.Evaluate("h", path, "")
			h := http.Header{}
			pl.ApplyResponse(h)
			wantV := siterules.ExpandValue(":splat", want)
			if got := h.Get("X-S"); pl.ChangesResponse() != wantOK || (wantOK && got != wantV) {
				t.Errorf("%s on %q: matched %v with %q; the regexp: %v with %q", p, path, pl.ChangesResponse(), got, wantOK, wantV)
			}
		}
	}
}
