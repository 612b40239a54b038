package commands

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestWebSocketDocExamples runs the "WebSockets and dev servers" section
// of docs/localedge.md: its cdnctl command lines parse, and `cdnctl serve
// --upstream` in front of a dev server with a hot-reload WebSocket (a
// coder/websocket echo speaking Vite's subprotocol) relays it, with and
// without the shield.
func TestWebSocketDocExamples(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "docs", "localedge.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "\n## WebSockets and dev servers\n")
	if !ok {
		t.Fatal("docs/localedge.md has no WebSockets and dev servers section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	doc := filepath.Join(t.TempDir(), "section.md")
	if err := os.WriteFile(doc, []byte(section), 0o644); err != nil {
		t.Fatal(err)
	}
	var serves [][]string
	for _, block := range fencedBlocks(t, doc, "sh") {
		for _, line := range strings.Split(block, "\n") {
			words := shellWords(strings.TrimSpace(line))
			if len(words) == 0 || words[0] != "cdnctl" {
				continue
			}
			root := NewRootCmd(&Factory{IO: &IOStreams{}, LookupEnv: noEnv, Now: time.Now})
			cmd, rest, err := root.Find(words[1:])
			if err == nil {
				err = cmd.ParseFlags(rest)
			}
			if err != nil || cmd == root {
				t.Errorf("docs: %q: %v", line, err)
			}
			serves = append(serves, words)
		}
	}
	if len(serves) != 2 {
		t.Fatalf("%d cdnctl commands in the section; want 2", len(serves))
	}

	// The dev server: a page, and its hot-reload WebSocket.
	dev := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "" {
			w.Header().Set("Cache-Control", "no-cache")
			_, _ = io.WriteString(w, `<script type="module" src="/@vite/client"></script>`)
			return
		}
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"vite-hmr"}, InsecureSkipVerify: true})
		if err != nil {
			return
		}
		defer c.CloseNow()
		_ = c.Write(r.Context(), websocket.MessageText, []byte(`{"type":"connected"}`))
		for {
			typ, msg, err := c.Read(r.Context())
			if err != nil {
				return
			}
			_ = c.Write(r.Context(), typ, msg)
		}
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = dev.Serve(ln) }()
	t.Cleanup(func() { dev.Close() })
	upstream := "http://" + ln.Addr().String()

	for _, shield := range []bool{false, true} {
		// The section's first serve command, on free ports.
		args := []string{"--json", "serve", "--upstream", upstream, "--free-ports", "--no-dns", "--token", "tok", "--access-log=false"}
		if !shield {
			args = append(args, "--no-shield")
		}
		info, stop := startServeCmd(t, args...)
		pop := info.PoPs[0].URL
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(pop, "http")+"/?token=abc", &websocket.DialOptions{Subprotocols: []string{"vite-hmr"}})
		if err != nil {
			cancel()
			stop()
			t.Fatalf("shield %v: hot-reload WebSocket through %s: %v", shield, pop, err)
		}
		if _, msg, err := c.Read(ctx); err != nil || string(msg) != `{"type":"connected"}` {
			t.Errorf("shield %v: first message %q, %v", shield, msg, err)
		}
		if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"custom","event":"x"}`)); err != nil {
			t.Fatal(err)
		}
		if _, msg, err := c.Read(ctx); err != nil || string(msg) != `{"type":"custom","event":"x"}` {
			t.Errorf("shield %v: echo %q, %v", shield, msg, err)
		}
		wantBy := "pop1"
		if shield {
			wantBy = "shield, pop1"
		}
		if got := resp.Header.Get("X-Served-By"); got != wantBy {
			t.Errorf("shield %v: X-Served-By %q; want %q", shield, got, wantBy)
		}
		c.Close(websocket.StatusNormalClosure, "")
		cancel()
		stop()
	}
}
