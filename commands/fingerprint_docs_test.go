package commands

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestFingerprintDocs runs the console examples of docs/fingerprint.md
// ("$ cdnctl fingerprint …" and what it printed, the log on stderr first,
// then the summary) on the real generator builds of
// hashing/testdata/sites, and compares the outputs with the doc's: times
// and durations aside, they must be the same. With -update the doc is
// rewritten with this run's outputs.
func TestFingerprintDocs(t *testing.T) {
	docPath, err := filepath.Abs(filepath.Join("..", "docs", "fingerprint.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	hashingDir, err := filepath.Abs(filepath.Join("..", "hashing"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(hashingDir, filepath.Join(dir, "hashing")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	updated := string(doc)
	examples := 0
	for _, body := range fencedBlocks(t, docPath, "console") {
		cmdLine, want, _ := strings.Cut(body, "\n")
		line, ok := strings.CutPrefix(cmdLine, "$ cdnctl ")
		if !ok || !strings.HasPrefix(line, "fingerprint ") {
			t.Errorf("console block does not start with \"$ cdnctl fingerprint \": %q", cmdLine)
			continue
		}
		args, err := splitArgs(line)
		if err != nil {
			t.Fatal(err)
		}
		examples++
		ios, _, out, errOut := TestStreams()
		f := &Factory{IO: ios, Now: time.Now, LookupEnv: func(string) (string, bool) { return "", false }}
		if code := f.Run(t.Context(), args); code != 0 {
			t.Errorf("%s: exit code %d: %s", cmdLine, code, errOut)
			continue
		}
		got := normalizeRun(errOut.String() + out.String())
		if *update {
			updated = strings.Replace(updated, body, cmdLine+"\n"+got, 1)
			continue
		}
		if got != normalizeRun(want) {
			t.Errorf("%s: the output differs from docs/fingerprint.md (go test ./commands -run TestFingerprintDocs -update rewrites it)\ngot:\n%s\nthe doc has:\n%s", cmdLine, got, want)
		}
	}
	if examples < 2 {
		t.Errorf("docs/fingerprint.md has %d console examples; want at least 2", examples)
	}
	if *update {
		if err := os.WriteFile(docPath, []byte(updated), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var (
	logTimeRE     = regexp.MustCompile(`time=\S+`)
	logDurationRE = regexp.MustCompile(`duration=\S+`)
	durationRE    = regexp.MustCompile(`( in )[0-9.]+(µs|ms|s)\b`)
)

// normalizeRun blanks what changes from run to run: log times and the
// run's duration.
func normalizeRun(s string) string {
	s = logTimeRE.ReplaceAllString(s, "time=…")
	s = logDurationRE.ReplaceAllString(s, "duration=…")
	return durationRE.ReplaceAllString(s, "${1}…")
}

// TestFingerprintJSONDetected checks that --json says which generator was
// recognised and where each pinned file is named, on a real Vite build.
func TestFingerprintJSONDetected(t *testing.T) {
	src := filepath.Join("..", "hashing", "testdata", "sites", "vite-vue")
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := runCLI(t, nil, "fingerprint", src, "--out", out, "--json")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var sum struct {
		Detected []struct {
			Generator string `json:"generator"`
			Files     int    `json:"files"`
			Evidence  string `json:"evidence"`
		} `json:"detected"`
		Pinned []struct {
			Path, Reason, At string
		} `json:"pinned"`
	}
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if len(sum.Detected) != 1 || sum.Detected[0].Generator != "Vite" || sum.Detected[0].Files != 17 || sum.Detected[0].Evidence == "" {
		t.Errorf("detected %+v; want Vite, its 17 hashed files under assets/, and the evidence", sum.Detected)
	}
	if len(sum.Pinned) != 1 || sum.Pinned[0].Path != "icons.svg" || !strings.HasSuffix(sum.Pinned[0].At, "assets/index-B0ypLGK_.js:2: /icons.svg") {
		t.Errorf("pinned %+v; want icons.svg, named by the entry chunk's line 2", sum.Pinned)
	}
}
