package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestTmuxInspect drives the real binary in a real terminal: cdnctl serve
// runs in the background, cdnctl inspect in a tmux pane; keys are sent
// with send-keys and the screen read with capture-pane. CI installs tmux
// (.ci/run) and fails here without it; elsewhere the test is skipped when
// tmux is missing.
func TestTmuxInspect(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tmux is not installed: .ci/run installs it (apt-get install tmux)")
		}
		t.Skip("tmux is not installed (apt-get install tmux); CI runs this test")
	}
	if _, err := exec.LookPath("cdnctl"); err != nil {
		t.Fatalf("cdnctl is not on PATH (testscript.Main puts it there): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// The topology, on free ports.
	serve := exec.CommandContext(ctx, "cdnctl", "serve", "--json", "--free-ports", "--access-log=false", "--stop-after", "80s")
	serve.Dir = t.TempDir()
	stdout, err := serve.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		serve.Process.Signal(os.Interrupt)
		serve.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("cdnctl serve printed no startup line: %v", err)
	}
	var info struct {
		PoPs []struct {
			Name, URL string
		} `json:"pops"`
		Admin struct{ URL string } `json:"admin"`
		Token string               `json:"token"`
	}
	if err := json.Unmarshal([]byte(line), &info); err != nil || info.Token == "" {
		t.Fatalf("startup line %q: %v", line, err)
	}
	for _, path := range []string{"/", "/css/main.css", "/css/base.css", "/blog/"} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, info.PoPs[0].URL+path, nil)
		req.Host = "www.example.test"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	// A private tmux server, so no one else's sessions are touched.
	sock := fmt.Sprintf("cdnctl-test-%d", os.Getpid())
	tmux := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, "tmux", append([]string{"-L", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	t.Cleanup(func() { exec.Command("tmux", "-L", sock, "kill-server").Run() })
	shell := fmt.Sprintf("CDNCTL_ADMIN_TOKEN=%s cdnctl inspect --admin %s --refresh 500ms; echo INSPECT-EXIT=$?; sleep 60", info.Token, info.Admin.URL)
	tmux("new-session", "-d", "-s", "inspect", "-x", "120", "-y", "30", "env", "TERM=xterm-256color", "PATH="+os.Getenv("PATH"), "sh", "-c", shell)

	screen := func() string { return tmux("capture-pane", "-p", "-t", "inspect") }
	waitFor := func(want ...string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			s := screen()
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(s, w)
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the pane never showed %q; it shows:\n%s", want, s)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	keys := func(k ...string) { tmux(append([]string{"send-keys", "-t", "inspect"}, k...)...) }

	waitFor("cdnctl inspect", "pop1", "shield", "HIT RATIO")
	keys("Tab")
	waitFor("entry 1 of 8") // 4 objects at pop1 and at the shield
	keys("/")
	tmux("send-keys", "-t", "inspect", "-l", "main.css")
	keys("Enter")
	waitFor("filter: main.css", "entry 1 of 2")
	keys("Enter")
	waitFor("freshness lifetime", "held by", "pop1, shield")
	keys("x")
	waitFor("Purge?", "affects 2 cached entries")
	keys("y")
	waitFor("purged 2 entries (hard") // and their variants' stored responses
	tmux("resize-window", "-t", "inspect", "-x", "80", "-y", "24")
	waitFor("No cached entry matches.", "tab overview/entries", "? help • q quit")
	// The purge prompts show at 80x24, and take what is typed as is.
	keys("p")
	tmux("send-keys", "-t", "inspect", "-l", "/css/")
	waitFor("purge prefix: /css/▏", "? help • q quit")
	// An escape alone, not Alt+ the next key: the prompt closes first.
	escape := func(prompt string) {
		t.Helper()
		keys("Escape")
		for deadline := time.Now().Add(20 * time.Second); strings.Contains(screen(), prompt); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("esc did not close the prompt:\n%s", screen())
			}
		}
	}
	escape("purge prefix:")
	keys("t")
	tmux("send-keys", "-t", "inspect", "-l", "css")
	waitFor("purge tag: css▏")
	escape("purge tag:")
	keys("q")
	waitFor("INSPECT-EXIT=0")
	if s := screen(); strings.Contains(s, "cdnctl inspect") || strings.Contains(s, "filter:") {
		t.Errorf("the terminal was not restored after q:\n%s", s)
	}
}
