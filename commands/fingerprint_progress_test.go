package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/hashing"
)

func TestProgressCount(t *testing.T) {
	tests := []struct {
		phase                              string
		done, total, bytes, btotal, failed int64
		running                            time.Duration
		want                               string
		pct                                float64
	}{
		{"", 3, 10, 0, 0, 0, time.Second, "3/10", 0.3},
		{"", 3, 10, 512, 2048, 1, time.Second, "3/10  512 B/2.0 KiB  1 failed", 0.25},
		{"", 0, 0, 0, 0, 0, 2400 * time.Millisecond, "running for 2s", 0},
		{hashing.PhaseScan, 0, 0, 0, 0, 0, 3 * time.Second, "listing files, running for 3s", 0},
		{hashing.PhaseRead, 40, 80, 1 << 20, 4 << 20, 0, 0, "reading references 40/80  1.0 MiB/4.0 MiB", 0.25},
		{hashing.PhaseWrite, 10000, 10000, 5 << 20, 5 << 20, 0, 0, "writing 10000/10000  5.0 MiB/5.0 MiB", 1},
	}
	for _, tt := range tests {
		got, pct := progressCount(tt.phase, tt.done, tt.total, tt.bytes, tt.btotal, tt.failed, tt.running)
		if got != tt.want || pct != tt.pct {
			t.Errorf("progressCount(%q, %d/%d, %d/%d) = %q, %v; want %q, %v", tt.phase, tt.done, tt.total, tt.bytes, tt.btotal, got, pct, tt.want, tt.pct)
		}
	}
}

// manyFiles is a site of n pages and n stylesheets, each page naming its
// stylesheet.
func manyFiles(n int) map[string]string {
	files := map[string]string{}
	for i := range n {
		files[fmt.Sprintf("p%d/index.html", i)] = fmt.Sprintf(`<link rel="stylesheet" href="/css/s%d.css"><h1>%d</h1>`, i, i)
		files[fmt.Sprintf("css/s%d.css", i)] = fmt.Sprintf("h1{margin:%dpx}", i)
	}
	return files
}

// TestFingerprintProgressOnTerminal: hashing's progress drives the line
// drawn on a terminal, phase by phase.
func TestFingerprintProgressOnTerminal(t *testing.T) {
	src := writeSite(t, manyFiles(20))
	ios, _, _, errOut := TestStreams()
	ios.SetTTY(true)
	ios.DisableColor()
	ui := newFingerprintUI(ios, slog.New(slog.DiscardHandler))
	ui.start(src, "out")
	// Draw the line at the middle of each phase, as the ticker would.
	opts := hashing.DirOptions{Options: hashing.Options{Progress: func(p hashing.Progress) {
		ui.update(p)
		if p.Files == p.FilesTotal/2 && p.Files > 0 {
			ui.render()
		}
	}}}
	res, err := hashing.FingerprintDir(context.Background(), src, filepath.Join(t.TempDir(), "out"), opts)
	ui.stop()
	if err != nil {
		t.Fatal(err)
	}
	ui.finished(res) // nothing on a terminal
	got := errOut.String()
	// How full the bar is at the middle of a phase depends on which files
	// the workers finished first (their sizes differ): a bar with some
	// progress, not a given width.
	for _, want := range []string{
		"\r  fingerprint  [###", "%  reading references 20/40  ", "%  writing 20/40  ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("stderr does not show %q:\n%q", want, got)
		}
	}
	if !strings.HasSuffix(got, "\r\x1b[K") {
		t.Errorf("the line is not cleared at the end: %q", got)
	}
}

// TestFingerprintProgressPlain: without a terminal, one line when the run
// starts and one when it ends, no bar; --json's stdout is the summary
// alone.
func TestFingerprintProgressPlain(t *testing.T) {
	src := writeSite(t, manyFiles(20))
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := runCLI(t, nil, "fingerprint", src, "--out", out, "--json")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var sum fingerprintSummary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil || sum.Stats.Files != 40 {
		t.Errorf("stdout is not the summary (%v): %s", err, stdout)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n") // nothing else to say of this site
	if len(lines) != 2 || !strings.Contains(lines[0], "fingerprint: started") || !strings.Contains(lines[0], "source="+src) ||
		!strings.Contains(lines[1], "fingerprint: done") || !strings.Contains(lines[1], "files=40") {
		t.Errorf("stderr: want a start and an end line:\n%s", stderr)
	}
	if strings.ContainsAny(stderr, "\r#") {
		t.Errorf("stderr has a bar:\n%q", stderr)
	}
}
