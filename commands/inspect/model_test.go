package inspect

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/localedge/adminclient"
)

// t0 is the fixed clock of the model tests.
var t0 = time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)

// stats builds a stats answer: pop1 busy, pop2 idle, pop3 down, shield.
func stats(step int64) localedge.StatsResponse {
	return localedge.StatsResponse{PoPs: []localedge.Stats{
		{Name: "pop1", Role: "edge", Healthy: true, Requests: 1000 + 40*step, Hits: 900 + 36*step, Misses: 100 + 4*step, Stale: 3, Collapsed: 12, OriginFetches: 100 + 4*step, HitRatio: 0.9, Entries: 812, BytesStored: 48 << 20, CapacityBytes: 64 << 20},
		{Name: "pop2", Role: "edge", Healthy: true, Requests: 10, Hits: 5, Misses: 5, OriginFetches: 5, HitRatio: 0.5, Entries: 5, BytesStored: 10 << 10, CapacityBytes: 64 << 20},
		{Name: "pop3", Role: "edge", Healthy: false, CapacityBytes: 64 << 20},
		{Name: "shield", Role: "shield", Healthy: true, Requests: 105 + 4*step, Hits: 5, Misses: 100 + 4*step, OriginFetches: 100 + 4*step, HitRatio: 0.05, Entries: 805, BytesStored: 47 << 20, CapacityBytes: 64 << 20},
	}, Time: t0.Format(time.RFC3339)}
}

func entryPage() localedge.EntryPage {
	var p localedge.EntryPage
	p.Total, p.Limit = 812, 100
	for i := 0; i < 100; i++ {
		e := localedge.EntryInfo{
			Pop: "pop1", Key: fmt.Sprintf("http://www.example.test/assets/file%03d.css", i), Status: 200,
			Size: int64(1000 + 37*i), AgeS: int64(30 * i), TTLS: 31536000 - int64(30*i), Tags: []string{"css", "assets"},
			Hits: int64(100 - i), Variants: 1, StoredAt: t0.Add(-time.Duration(30*i) * time.Second),
		}
		e.URL, e.Host, e.Path = e.Key, "www.example.test", e.Key[len("http://www.example.test"):]
		if i%7 == 3 {
			e.Status, e.Tags, e.Stale, e.TTLS = 404, []string{}, true, -12
		}
		if i%5 == 1 {
			e.Variants = 2
		}
		p.Entries = append(p.Entries, e)
	}
	return p
}

func entryDetail() localedge.EntryDetail {
	return localedge.EntryDetail{
		Pop: "pop1", Key: "http://www.example.test/assets/file000.css", URL: "http://www.example.test/assets/file000.css",
		PopsHolding: []string{"pop1", "pop2", "shield"},
		Variants: []localedge.VariantInfo{
			{Vary: map[string]string{"Accept-Encoding": "br"}, Status: 200, Size: 1000, AgeS: 42, TTLS: 31535958, FreshnessLifetimeS: 31536000, Hits: 17,
				Tags: []string{"css", "assets"}, StoredAt: t0.Add(-42 * time.Second),
				Headers: http.Header{"Cache-Control": {"public, max-age=31536000, immutable"}, "Content-Type": {"text/css"}, "Content-Encoding": {"br"}, "Etag": {`"9f86d081"`}}},
			{Vary: map[string]string{"Accept-Encoding": ""}, Status: 200, Size: 4100, AgeS: 700, TTLS: -100, FreshnessLifetimeS: 600, Stale: true, GraceS: 8, Hits: 2,
				Tags: []string{}, StoredAt: t0.Add(-700 * time.Second),
				Headers: http.Header{"Cache-Control": {"public, max-age=600"}, "Content-Type": {"text/css"}}},
		},
	}
}

// testModel is a model fed with canned answers: Update and View only, no
// program and no admin API (the teatest tests use a real one).
func testModel(t *testing.T, w, h int, mod func(*Options)) *Model {
	t.Helper()
	opts := Options{Source: "http://127.0.0.1:8099", Refresh: 2 * time.Second, Now: func() time.Time { return t0 }}
	if mod != nil {
		mod(&opts)
	}
	m := New(context.Background(), opts)
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	for i, s := range []int64{0, 1, 2, 3} {
		m.Update(statsMsg{resp: stats(s), at: t0.Add(time.Duration(i) * 2 * time.Second)})
	}
	m.Update(pageMsg{seq: m.pageSeq, page: entryPage()})
	return m
}

func press(m *Model, keys ...string) tea.Cmd {
	var last tea.Cmd
	for _, k := range keys {
		var msg tea.KeyPressMsg
		switch k {
		case "enter":
			msg = tea.KeyPressMsg{Code: tea.KeyEnter}
		case "esc":
			msg = tea.KeyPressMsg{Code: tea.KeyEscape}
		case "tab":
			msg = tea.KeyPressMsg{Code: tea.KeyTab}
		case "down":
			msg = tea.KeyPressMsg{Code: tea.KeyDown}
		case "backspace":
			msg = tea.KeyPressMsg{Code: tea.KeyBackspace}
		default:
			r := []rune(k)[0]
			msg = tea.KeyPressMsg{Code: r, Text: k}
		}
		_, last = m.Update(msg)
	}
	return last
}

// screen is the view as plain text.
func screen(m *Model) string { return ansi.Strip(m.View().Content) }

func TestViews(t *testing.T) {
	for _, size := range []struct{ w, h int }{{80, 24}, {132, 40}} {
		for _, tt := range []struct {
			name string
			mod  func(*Options)
			do   func(m *Model)
		}{
			{"overview", nil, func(m *Model) { press(m, "down") }},
			{"entries", nil, func(m *Model) { press(m, "tab", "down", "down", "down") }},
			{"filter", nil, func(m *Model) { press(m, "tab", "/", "t", "a", "g", ":", "c") }},
			{"detail", nil, func(m *Model) {
				press(m, "tab", "enter")
				m.Update(detailMsg{detail: entryDetail()})
			}},
			{"confirm", nil, func(m *Model) {
				press(m, "tab", "x")
				m.Update(planMsg{plan: &purgePlan{What: "http://www.example.test/assets/file000.css from pop1, pop2, shield", Count: 3,
					Req: localedge.PurgeRequest{URLs: []string{"http://www.example.test/assets/file000.css"}}}})
			}},
			{"readonly", func(o *Options) { o.ReadOnly = true }, func(m *Model) { press(m, "tab", "X") }},
			{"purge_prefix", nil, func(m *Model) { press(m, "tab", "p", "/", "c", "s", "s", "/") }},
			{"purge_prefix_empty", nil, func(m *Model) { press(m, "p") }},
			{"purge_tag", nil, func(m *Model) { press(m, "tab", "t", "c", "s", "s") }},
			{"purge_tag_overview", nil, func(m *Model) { press(m, "t") }},
			{"unreachable", nil, func(m *Model) {
				err := errors.New(`admin API at http://127.0.0.1:8099 not reachable: dial tcp 127.0.0.1:8099: connect: connection refused (is cdnctl serve running, with this admin address?)`)
				m.Update(statsMsg{err: err, at: t0})
			}},
			{"unauthorized", nil, func(m *Model) {
				m.Update(statsMsg{err: &adminclient.APIError{StatusCode: 401, Message: "invalid bearer token"}, at: t0})
			}},
			{"help", nil, func(m *Model) { press(m, "?") }},
		} {
			t.Run(fmt.Sprintf("%s_%dx%d", tt.name, size.w, size.h), func(t *testing.T) {
				m := testModel(t, size.w, size.h, tt.mod)
				tt.do(m)
				got := screen(m)
				lines := strings.Split(got, "\n")
				if len(lines) != size.h {
					t.Errorf("view has %d lines; want %d (the terminal's height)", len(lines), size.h)
				}
				for i, l := range lines {
					if w := ansi.StringWidth(l); w > size.w {
						t.Errorf("line %d is %d cells wide; the terminal has %d: %q", i+1, w, size.w, l)
					}
				}
				golden.RequireEqual(t, got)
			})
		}
	}
}

// The purge prompts: what is typed is what is purged (no "/" typed for
// the user), from the overview and from the entries.
func TestPurgePrompts(t *testing.T) {
	for _, tt := range []struct {
		keys []string
		busy string
	}{
		{[]string{"tab", "p", "/", "c", "s", "s", "/", "enter"}, "counting the entries under /css/"},
		{[]string{"p", "/", "c", "s", "s", "/", "enter"}, "counting the entries under /css/"},
		{[]string{"t", "c", "s", "s", "enter"}, "counting the entries tagged css"},
		{[]string{"tab", "t", "p", "a", "g", "e", "s", "enter"}, "counting the entries tagged pages"},
	} {
		m := testModel(t, 80, 24, nil)
		press(m, tt.keys[:len(tt.keys)-1]...)
		if got := screen(m); !strings.Contains(got, "purge ") {
			t.Errorf("%v: the prompt is not on screen:\n%s", tt.keys, got)
		}
		if cmd := press(m, "enter"); cmd == nil {
			t.Errorf("%v: enter sent no request", tt.keys)
		}
		if m.busy != tt.busy {
			t.Errorf("%v: busy %q; want %q", tt.keys, m.busy, tt.busy)
		}
	}
}

// The help bar keeps ? help and q quit at any width, and --readonly
// leaves the purge keys out of it.
func TestHelpBar(t *testing.T) {
	for _, w := range []int{40, 60, 80, 100, 132} {
		for _, ro := range []bool{false, true} {
			m := testModel(t, w, 24, func(o *Options) { o.ReadOnly = ro })
			lines := strings.Split(screen(m), "\n")
			bar := lines[len(lines)-1]
			if !strings.HasSuffix(bar, "? help • q quit") {
				t.Errorf("width %d, read-only %v: help bar %q does not end with ? help • q quit", w, ro, bar)
			}
			if ro && strings.Contains(bar, "purge") {
				t.Errorf("width %d, read-only: help bar %q offers a purge", w, bar)
			}
			press(m, "?")
			if full := screen(m); ro && strings.Contains(full, "purge entry") {
				t.Errorf("width %d, read-only: full help offers purges:\n%s", w, full)
			}
		}
	}
}

// A resize that changes the entry columns (the tags column comes and
// goes at 100 cells) keeps the rows and the selection.
func TestResizeKeepsEntries(t *testing.T) {
	m := testModel(t, 132, 40, nil)
	press(m, "tab", "down", "down")
	for _, w := range []int{80, 40, 132, 99, 100} {
		m.Update(tea.WindowSizeMsg{Width: w, Height: 20})
		if got := m.table.Cursor(); got != 2 {
			t.Errorf("width %d: cursor = %d; want 2", w, got)
		}
		if n := len(m.table.Rows()); n != 100 {
			t.Errorf("width %d: %d rows; want 100", w, n)
		}
		for i, l := range strings.Split(screen(m), "\n") {
			if ansi.StringWidth(l) > w {
				t.Errorf("width %d: line %d is %d cells", w, i+1, ansi.StringWidth(l))
			}
		}
	}
}

// Answers to a query the user has since changed are dropped.
func TestStalePageDropped(t *testing.T) {
	m := testModel(t, 100, 30, nil)
	old := m.pageSeq
	press(m, "tab", "s") // a new query: sort by size
	m.Update(pageMsg{seq: old, page: localedge.EntryPage{Total: 1, Entries: []localedge.EntryInfo{{Key: "stale answer"}}}})
	if m.page.Total != 812 {
		t.Errorf("a stale page replaced the current one: total %d", m.page.Total)
	}
	if !m.loading {
		t.Errorf("the new query is not loading")
	}
}

// A filter the admin API refuses (typed half way) is explained in the
// status line; the listing stays and no retry banner appears.
func TestBadFilterInStatusLine(t *testing.T) {
	m := testModel(t, 100, 30, nil)
	press(m, "tab", "/", "t", "a", "g", ":")
	m.Update(pageMsg{seq: m.pageSeq, err: &adminclient.APIError{StatusCode: 400, Message: `filter "tag:": empty value`}})
	s := screen(m)
	if !strings.Contains(s, `filter "tag:": empty value`) || strings.Contains(s, "retrying") || m.page.Total != 812 {
		t.Errorf("after a 400 the screen shows:\n%s", s)
	}
	press(m, "c")
	m.Update(pageMsg{seq: m.pageSeq, page: localedge.EntryPage{Total: 3, Limit: 100}})
	if s := screen(m); strings.Contains(s, "empty value") {
		t.Errorf("the error stayed after a good answer:\n%s", s)
	}
}

// The mouse wheel moves through the list and past the page's end it loads
// the next page.
func TestMouseWheel(t *testing.T) {
	m := testModel(t, 100, 30, nil)
	press(m, "tab")
	down := tea.MouseWheelMsg{Button: tea.MouseWheelDown}
	m.Update(down)
	if got := m.table.Cursor(); got != 3 {
		t.Errorf("after one wheel step down the cursor is %d; want 3", got)
	}
	m.Update(tea.MouseWheelMsg{Button: tea.MouseWheelUp})
	if got := m.table.Cursor(); got != 0 {
		t.Errorf("after a step back up the cursor is %d; want 0", got)
	}
	m.table.SetCursor(99)
	seq := m.pageSeq
	_, cmd := m.Update(down)
	if cmd == nil || m.pageSeq != seq+1 || !m.loading {
		t.Fatalf("the wheel at the page's end did not load the next page")
	}
	if m.requested.Offset != 100 || m.requested.Limit != DefaultPageSize {
		t.Errorf("next page = offset %d, limit %d; want 100, %d", m.requested.Offset, m.requested.Limit, DefaultPageSize)
	}
}
