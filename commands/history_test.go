package commands

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/deploystate"
	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/local"
	"github.com/cdnctl/cdnctl/providers/storetest"
)

// runTTY runs cdnctl with stdin, on a terminal or not.
func runTTY(t *testing.T, tty bool, stdin string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	ios, in, out, errOut := TestStreams()
	ios.SetTTY(tty)
	in.WriteString(stdin)
	f := &Factory{
		IO:        ios,
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Now:       time.Now,
		Logger:    slog.New(slog.DiscardHandler),
	}
	code := f.Run(context.Background(), args)
	return code, out.String(), errOut.String()
}

func TestHistoryCommand(t *testing.T) {
	origin := filepath.Join(t.TempDir(), "origin")
	ci := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "42", "RUNNER_NAME": "runner-3", "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567"}
	if code, _, errOut := runTTY(t, false, "", ci, "push", pushSite.Write(t), "--to", origin); code != 0 {
		t.Fatalf("push: exit %d\n%s", code, errOut)
	}
	v2 := pushSite.With(storetest.Site{"index.html": `<link href="/css/app.3f9a1c0e2b.css"><h1>v2</h1>`})
	if code, _, errOut := runTTY(t, false, "", nil, "push", v2.Write(t), "--to", origin); code != 0 {
		t.Fatalf("push: exit %d\n%s", code, errOut)
	}

	// Piped: TSV with a header row, newest first, the live one marked.
	code, out, errOut := runTTY(t, false, "", nil, "history", "--to", origin)
	if code != 0 {
		t.Fatalf("history: exit %d\n%s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 || lines[0] != "ID\tTIME\tWHO\tCOMMIT\tMESSAGE\tFILES\tCHANGED\tSTATUS\tLIVE" {
		t.Fatalf("history piped:\n%s\nwant a header row and 2 deploys", out)
	}
	newest, oldest := strings.Split(lines[1], "\t"), strings.Split(lines[2], "\t")
	if newest[7] != "complete" || newest[8] != "live" || oldest[8] != "" || oldest[5] != "3" || oldest[6] != "+3 ~0 -0" {
		t.Errorf("rows:\n%s\n%s\nwant the newest complete and live, the oldest with 3 files uploaded", lines[1], lines[2])
	}
	if !strings.HasSuffix(oldest[2], " (GitHub Actions run 42 on runner-3)") || oldest[3] != ci["GITHUB_SHA"] {
		t.Errorf("oldest: who %q, commit %q; want the CI job and the full commit", oldest[2], oldest[3])
	}

	// A terminal: an aligned table, commits shortened.
	_, out, _ = runTTY(t, true, "", nil, "history", "--to", origin, "--limit", "1")
	if !strings.HasPrefix(out, "ID ") || strings.Count(out, "\n") != 2 || strings.Contains(out, "\t") {
		t.Errorf("history on a terminal:\n%s\nwant a header and one aligned row", out)
	}

	// --json: every field, state and live.
	_, out, _ = runTTY(t, false, "", nil, "--json", "history", "--to", origin)
	var entries []providers.HistoryEntry
	if err := json.Unmarshal([]byte(out), &entries); err != nil || len(entries) != 2 || !entries[0].Live || entries[1].CI == "" || entries[0].State != "complete" {
		t.Errorf("history --json: %v\n%s", err, out)
	}
}

// TestDeployLockCommand: a deploy while another holds the lock fails
// before changing anything, naming the holder; --force-unlock takes it.
func TestDeployLockCommand(t *testing.T) {
	e := newDeployEnv(t, nil, "")
	st, err := local.NewStore(e.originDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	held, _, err := providers.AcquireLock(context.Background(), st, providers.LockOptions{
		Operation: "deploy", Holder: deploystate.Holder{User: "ci", Host: "runner-3", PID: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := held.SetDeployID(context.Background(), "20261207T100000Z-3f9a1c0e"); err != nil {
		t.Fatal(err)
	}
	defer held.Release(context.Background())
	code, _, errOut := e.run(t, "deploy")
	if code != ExitDeployUnchanged || !strings.Contains(errOut, "deploy 20261207T100000Z-3f9a1c0e by ci@runner-3 started ") || !strings.Contains(errOut, "holds the lock on file://") {
		t.Fatalf("deploy while locked: exit %d; want %d naming the holder\n%s", code, ExitDeployUnchanged, errOut)
	}
	if _, err := os.Stat(filepath.Join(e.originDir, "index.html")); err == nil {
		t.Error("a deploy that did not get the lock uploaded files")
	}
	if code, _, errOut := e.run(t, "deploy", "--force-unlock"); code != 0 {
		t.Fatalf("deploy --force-unlock: exit %d\n%s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(e.originDir, ".cdnctl", "lock.json")); err == nil {
		t.Error("the deploy left its lock")
	}
}

// TestRollbackListsCandidates: deploy --rollback on a terminal lists the
// deploys it can go back to and asks which.
func TestRollbackListsCandidates(t *testing.T) {
	e := newDeployEnv(t, nil, "")
	for _, text := range []string{"", "Second", "Third"} {
		switch text {
		case "Second":
			e.editAbout(t, text)
		case "Third":
			p := filepath.Join(e.site, "about", "index.html")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.Replace(string(b), "<h1>Second</h1>", "<h1>Third</h1>", 1)), 0o644)
		}
		if code, _, errOut := e.run(t, "deploy"); code != 0 {
			t.Fatalf("deploy %q: exit %d\n%s", text, code, errOut)
		}
	}
	// Pick the second in the list (the first deploy), then confirm.
	code, _, errOut := runPushCLI2(t, e, true, "2\ny\n", "deploy", "--rollback")
	if code != 0 {
		t.Fatalf("deploy --rollback: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{"Live: ", "Roll back to:", "  1) ", "  2) ", "Which one? [1]"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("prompt lacks %q:\n%s", want, errOut)
		}
	}
	if r := e.edge.Get(t, "pop1", "/about/"); r.Status != 200 || strings.Contains(r.Body, "Second") || strings.Contains(r.Body, "Third") || !strings.Contains(r.Body, "About this site") {
		t.Errorf("after rolling back to the first deploy, /about/ = %d %q", r.Status, r.Body)
	}
	_, out, _ := e.run(t, "history")
	if !strings.Contains(out, "rolled back") {
		t.Errorf("history after a rollback:\n%s\nwant the replaced deploy shown as rolled back", out)
	}
}

func runPushCLI2(t *testing.T, e *deployEnv, tty bool, stdin string, args ...string) (int, string, string) {
	t.Helper()
	return runTTY(t, tty, stdin, e.env, append([]string{"--config", e.config}, args...)...)
}
