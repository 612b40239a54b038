package commands

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/localedge"
)

// TestDocsEdgeLogic runs the examples of docs/localedge.md "Edge logic":
// each section's cdnctl.yaml as a local CDN over the origin the text
// describes, and each row of its table as a request to pop1.
func TestDocsEdgeLogic(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "docs", "localedge.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	for _, heading := range []string{"### Edge rules", "### Rate limiting", "### ESI"} {
		t.Run(strings.TrimPrefix(heading, "### "), func(t *testing.T) {
			sec := docSectionText(t, doc, heading)
			yml := fencedIn(sec, "yaml")
			page := fencedIn(sec, "html")
			rows := docRequestRows(sec)
			if len(yml) != 1 || len(rows) == 0 {
				t.Fatalf("section %q: %d yaml blocks, %d request rows; want 1 and some", heading, len(yml), len(rows))
			}
			pageBody := ""
			if len(page) > 0 {
				pageBody = page[0]
			}
			base := startDocTopology(t, yml[0], docOrigin(pageBody))
			for _, row := range rows {
				row.run(t, base)
			}
		})
	}
}

func docSectionText(t *testing.T, doc, heading string) string {
	t.Helper()
	i := strings.Index(doc, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("docs/localedge.md has no %q", heading)
	}
	rest := doc[i+len(heading)+2:]
	if j := regexp.MustCompile(`\n#{2,3} `).FindStringIndex(rest); j != nil {
		rest = rest[:j[0]]
	}
	return rest
}

func fencedIn(sec, lang string) []string {
	var out []string
	for _, m := range regexp.MustCompile("(?s)```"+lang+"\n(.*?)```").FindAllStringSubmatch(sec, -1) {
		out = append(out, m[1])
	}
	return out
}

type docRow struct {
	line          string
	method, path  string
	header        [][2]string
	times, status int
	fields, body  []string
}

var backticked = regexp.MustCompile("`([^`]*)`")

// docRequestRows reads the rows of the section's "| request | status |
// response fields | body |" table.
func docRequestRows(sec string) []docRow {
	var rows []docRow
	in := false
	for _, line := range strings.Split(sec, "\n") {
		if strings.HasPrefix(line, "| request | status |") {
			in = true
			continue
		}
		if !in || strings.HasPrefix(line, "|---") {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			in = false
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		for len(cells) < 4 {
			cells = append(cells, "")
		}
		r := docRow{line: line, times: 1}
		req := backticked.FindAllStringSubmatch(cells[0], -1)
		r.method, r.path, _ = strings.Cut(req[0][1], " ")
		for _, h := range req[1:] {
			name, v, _ := strings.Cut(h[1], ": ")
			r.header = append(r.header, [2]string{name, v})
		}
		if _, n, ok := strings.Cut(cells[0], "×"); ok {
			r.times, _ = strconv.Atoi(strings.TrimSpace(n))
		}
		r.status, _ = strconv.Atoi(strings.Trim(strings.TrimSpace(cells[1]), "`"))
		for _, m := range backticked.FindAllStringSubmatch(cells[2], -1) {
			r.fields = append(r.fields, m[1])
		}
		for _, m := range backticked.FindAllStringSubmatch(cells[3], -1) {
			r.body = append(r.body, m[1])
		}
		rows = append(rows, r)
	}
	return rows
}

var docClient = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport:     &http.Transport{DisableCompression: true},
}

func (r docRow) run(t *testing.T, base string) {
	t.Helper()
	for i := 0; i < r.times; i++ {
		req, err := http.NewRequest(r.method, base+r.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range r.header {
			if h[0] == "Host" {
				req.Host = h[1]
			} else {
				req.Header.Set(h[0], h[1])
			}
		}
		resp, err := docClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", r.line, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body := string(b)
		if resp.StatusCode != r.status {
			t.Errorf("%s\n(request %d): status %d; want %d", r.line, i+1, resp.StatusCode, r.status)
		}
		for _, f := range r.fields {
			if name, ok := strings.CutPrefix(f, "-"); ok {
				if v := resp.Header.Values(name); len(v) > 0 {
					t.Errorf("%s: %s = %q; want none", r.line, name, v)
				}
				continue
			}
			name, want, _ := strings.Cut(f, ": ")
			if got := strings.Join(resp.Header.Values(name), ", "); !strings.Contains(got, want) {
				t.Errorf("%s: %s = %q; want it to contain %q", r.line, name, got, want)
			}
		}
		for _, s := range r.body {
			if not, ok := strings.CutPrefix(s, "-"); ok {
				if strings.Contains(body, not) {
					t.Errorf("%s: body %q contains %q", r.line, body, not)
				}
			} else if !strings.Contains(body, s) {
				t.Errorf("%s: body %q; want it to contain %q", r.line, body, s)
			}
		}
	}
}

// docOrigin is the origin the sections describe.
func docOrigin(product string) http.Handler {
	var prices atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Server", "origin/1.0")
		switch p := r.URL.Path; {
		case p == "/index.html":
			h.Set("Cache-Control", "public, max-age=60")
			h.Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, "<p>the single-page app</p>")
		case strings.HasPrefix(p, "/assets/"):
			h.Set("Cache-Control", "public, max-age=60")
			c := r.Header.Get("Cookie")
			if c == "" {
				c = "none"
			}
			io.WriteString(w, "cookie: "+c)
		case p == "/login" && r.Method == http.MethodPost:
			h.Set("Cache-Control", "no-store")
			io.WriteString(w, "welcome")
		case p == "/product.html" && product != "":
			h.Set("Cache-Control", "public, max-age=3600")
			h.Set("Surrogate-Control", `content="ESI/1.0"`)
			h.Set("Content-Type", "text/html; charset=utf-8")
			h.Set("ETag", `"product-v1"`)
			io.WriteString(w, product)
		case p == "/fragments/header.html":
			h.Set("Cache-Control", "public, max-age=300")
			io.WriteString(w, "<header>Shop</header>")
		case p == "/fragments/price":
			h.Set("Cache-Control", "no-store")
			fmt.Fprintf(w, "%.2f", 42+float64(prices.Add(1)-1)/100)
		case p == "/fragments/recommendations":
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
		default:
			http.NotFound(w, r)
		}
	})
}

// startDocTopology runs a configuration's local CDN over origin and
// returns pop1's base URL.
func startDocTopology(t *testing.T, yml string, origin http.Handler) string {
	t.Helper()
	cfg, err := LoadConfig(writeConfig(t, yml), true, noEnv)
	if err != nil {
		t.Fatalf("the example's cdnctl.yaml: %v", err)
	}
	tc, err := cfg.Serve.topology(true)
	if err != nil {
		t.Fatalf("the example's cdnctl.yaml: %v", err)
	}
	tc.Origin.Handler = origin
	top, err := localedge.NewTopology(tc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := top.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- top.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("topology: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("topology did not stop")
		}
	})
	pop1, _ := top.PoP("pop1")
	return pop1.URL()
}
