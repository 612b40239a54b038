package inspect

import (
	"bytes"
	"context"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/localedge/adminclient"
	"github.com/cdnctl/cdnctl/localedge/edgetest"
)

// screenModel runs the real Model and publishes the screen it draws after
// every message, as plain text: the renderer writes only the cells that
// change, so the program's raw output never holds whole lines to search.
type screenModel struct {
	*Model
	mu     sync.Mutex
	screen string
}

func (s *screenModel) Init() tea.Cmd { return s.Model.Init() }

func (s *screenModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	_, cmd := s.Model.Update(msg)
	v := ansi.Strip(s.Model.View().Content)
	s.mu.Lock()
	s.screen = v
	s.mu.Unlock()
	return s, cmd
}

func (s *screenModel) View() tea.View { return s.Model.View() }

func (s *screenModel) current() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.screen
}

// waitFor waits until the screen shows every want.
func waitFor(t *testing.T, sm *screenModel, want ...string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		scr := sm.current()
		missing := ""
		for _, w := range want {
			if !strings.Contains(scr, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the screen never showed %q; it shows:\n%s", missing, scr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func keyMsg(s string) tea.KeyPressMsg {
	switch s {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	}
	r := []rune(s)[0]
	return tea.KeyPressMsg{Code: r, Text: s}
}

// startInspector runs the program over a real topology whose pop1 and
// pop2 (and so the shield) hold the edgetest site.
func startInspector(t *testing.T, mod func(*Options)) (*teatest.TestModel, *screenModel, *adminclient.Client) {
	t.Helper()
	// The caches' clock stands still: the site's 404 is fresh for 30 s
	// only, and on a loaded machine the test takes longer than that (it
	// then counted one stale entry more than its soft purge made).
	now := time.Now()
	env := edgetest.Start(t, func(c *localedge.TopologyConfig) { c.Now = func() time.Time { return now } })
	env.Fill(t, []string{"pop1", "pop2"}, edgetest.SitePaths...)
	client := &adminclient.Client{BaseURL: env.AdminURL, Token: env.Token}
	opts := Options{Client: client, Source: env.AdminURL, Refresh: 300 * time.Millisecond}
	if mod != nil {
		mod(&opts)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sm := &screenModel{Model: New(ctx, opts)}
	tm := teatest.NewTestModel(t, sm, teatest.WithInitialTermSize(120, 36))
	return tm, sm, client
}

func TestTUIBrowseFilterSortDetailPurge(t *testing.T) {
	tm, sm, client := startInspector(t, nil)
	ctx := t.Context()

	// The overview shows every PoP from the live statistics.
	waitFor(t, sm, "pop1", "pop3", "shield", "HIT RATIO")

	// Entries: 7 objects in each of pop1, pop2 and the shield.
	tm.Send(keyMsg("tab"))
	waitFor(t, sm, "entry 1 of 21")

	// Filter as you type.
	tm.Send(keyMsg("/"))
	tm.Type("tag:css")
	tm.Send(keyMsg("enter"))
	waitFor(t, sm, "filter: tag:css", "entry 1 of 6")

	// Sort by size (largest first), then by hits.
	tm.Send(keyMsg("s"))
	waitFor(t, sm, "sort: size ↓")

	// Only one PoP.
	tm.Send(keyMsg("P"))
	waitFor(t, sm, "pop: pop1", "entry 1 of 2")

	// Open the detail.
	tm.Send(keyMsg("enter"))
	waitFor(t, sm, "freshness lifetime", "held by", "pop1, pop2, shield", "Cache-Control: public, max-age=31536000, immutable")

	// Purge it from the detail: the confirmation names the count.
	tm.Send(keyMsg("x"))
	waitFor(t, sm, "Purge?", "affects 3 cached entries")
	tm.Send(keyMsg("y"))
	waitFor(t, sm, "purged 3 entries (hard")

	page, err := client.Entries(ctx, adminclient.ListQuery{Filter: "tag:css"})
	if err != nil || page.Total != 3 {
		t.Fatalf("after purging one CSS file everywhere, tag:css total = %d, %v; want 3", page.Total, err)
	}

	// A purge from the detail goes back to the list (the entry is gone).
	waitFor(t, sm, "filter: tag:css", "entry 1 of 1")

	// Purge a tag, softly.
	tm.Send(keyMsg("t"))
	tm.Type("assets")
	tm.Send(keyMsg("enter"))
	waitFor(t, sm, `tag "assets" on pop1`, "affects 2 cached entries on pop1")
	tm.Send(keyMsg("s"))
	waitFor(t, sm, "purged 2 entries (soft") // and their variants' stored responses
	stale, err := client.Entries(ctx, adminclient.ListQuery{Pop: "pop1", Filter: "stale:true"})
	if err != nil || stale.Total != 2 {
		t.Errorf("after a soft purge of tag assets on pop1, stale entries = %d, %v; want 2", stale.Total, err)
	}

	// Cancel a purge of everything matching.
	tm.Send(keyMsg("X"))
	waitFor(t, sm, `the 1 entry matching "tag:css" on pop1`, "affects 1 cached entry on pop1")
	tm.Send(keyMsg("n"))
	waitFor(t, sm, "purge cancelled")

	// Resize: the layout follows.
	tm.Send(tea.WindowSizeMsg{Width: 80, Height: 24})
	tm.Send(keyMsg("q"))
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*screenModel).Model
	if fm.width != 80 || fm.height != 24 {
		t.Errorf("after a resize the model is %dx%d; want 80x24", fm.width, fm.height)
	}
	view := ansi.Strip(fm.View().Content)
	lines := strings.Split(view, "\n")
	if len(lines) != 24 {
		t.Errorf("view after resize has %d lines; want 24", len(lines))
	}
	for _, l := range lines {
		if ansi.StringWidth(l) > 80 {
			t.Errorf("line wider than 80 after resize: %q", l)
		}
	}
	if fm.filter != "tag:css" || fm.pop != "pop1" || sortFields[fm.sortIdx] != "size" {
		t.Errorf("final query = filter %q, pop %q, sort %s", fm.filter, fm.pop, sortFields[fm.sortIdx])
	}
}

func TestTUIReadOnlyRefusesPurges(t *testing.T) {
	tm, sm, client := startInspector(t, func(o *Options) { o.ReadOnly = true })
	tm.Send(keyMsg("tab"))
	waitFor(t, sm, "entry 1 of 21", "read-only")
	for _, k := range []string{"x", "X", "t", "p"} {
		tm.Send(keyMsg(k))
	}
	waitFor(t, sm, "read-only: purging is disabled")
	tm.Send(keyMsg("q"))
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*screenModel).Model
	if fm.confirm != nil || fm.prompt != nil {
		t.Errorf("read-only model opened a purge: confirm %v, prompt %v", fm.confirm, fm.prompt)
	}
	page, err := client.Entries(t.Context(), adminclient.ListQuery{})
	if err != nil || page.Total != 21 {
		t.Errorf("after refused purges the cache holds %d entries, %v; want 21", page.Total, err)
	}
}

func TestTUIErrorsAndRetry(t *testing.T) {
	env := edgetest.Start(t, nil)

	// A wrong token: said plainly, and the program keeps running.
	sm := &screenModel{Model: New(t.Context(), Options{
		Client: &adminclient.Client{BaseURL: env.AdminURL, Token: "wrong"}, Refresh: 200 * time.Millisecond,
	})}
	tm := teatest.NewTestModel(t, sm, teatest.WithInitialTermSize(100, 30))
	waitFor(t, sm, "admin token rejected")
	tm.Send(keyMsg("q"))
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))

	// Nothing listening: the error shows, then the inspector recovers by
	// itself once an admin API answers there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	client := &adminclient.Client{BaseURL: "http://" + addr, Token: env.Token}
	sm = &screenModel{Model: New(t.Context(), Options{Client: client, Refresh: 200 * time.Millisecond})}
	tm = teatest.NewTestModel(t, sm, teatest.WithInitialTermSize(100, 30))
	waitFor(t, sm, "not reachable", "retrying every 200ms")
	tm.Send(keyMsg("r"))
	waitFor(t, sm, "No statistics")
	tm.Send(keyMsg("q"))
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*screenModel).Model
	if fm.statsErr == "" || !strings.Contains(fm.statsErr, addr) {
		t.Errorf("final stats error = %q; want one naming %s", fm.statsErr, addr)
	}
	out, _ := io.ReadAll(tm.FinalOutput(t))
	if bytes.Contains(out, []byte("panic")) {
		t.Errorf("output shows a panic:\n%s", out)
	}
}

// With NO_COLOR (--no-color) the program writes no colour, only bold and
// reverse video.
func TestTUINoColor(t *testing.T) {
	env := edgetest.Start(t, nil)
	sm := &screenModel{Model: New(t.Context(), Options{
		Client: &adminclient.Client{BaseURL: env.AdminURL, Token: env.Token}, Refresh: time.Second, NoColor: true,
	})}
	tm := teatest.NewTestModel(t, sm, teatest.WithInitialTermSize(100, 30),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
	waitFor(t, sm, "pop1", "up")
	tm.Send(keyMsg("q"))
	out, err := io.ReadAll(tm.FinalOutput(t, teatest.WithFinalTimeout(10*time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	sgr := regexp.MustCompile(`\x1b\[([0-9;:]*)m`)
	for _, m := range sgr.FindAllSubmatch(out, -1) {
		for _, p := range strings.FieldsFunc(string(m[1]), func(r rune) bool { return r == ';' || r == ':' }) {
			n, _ := strconv.Atoi(p)
			if (n >= 30 && n <= 49) || (n >= 90 && n <= 107) {
				if n != 39 && n != 49 { // default colours are not colour
					t.Fatalf("colour escape %q in the output under NO_COLOR", m[0])
				}
			}
		}
	}
	if !bytes.Contains(out, []byte("\x1b[7m")) && !bytes.Contains(out, []byte(";7m")) && !bytes.Contains(out, []byte("[7;")) {
		t.Errorf("no reverse video under NO_COLOR: the selection would be invisible")
	}
}
