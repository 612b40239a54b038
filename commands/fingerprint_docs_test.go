package commands

import (
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
	logTimeRE  = regexp.MustCompile(`time=\S+`)
	durationRE = regexp.MustCompile(`( in )[0-9.]+(µs|ms|s)\b`)
)

// normalizeRun blanks what changes from run to run: log times and the
// run's duration.
func normalizeRun(s string) string {
	s = logTimeRE.ReplaceAllString(s, "time=…")
	return durationRE.ReplaceAllString(s, "${1}…")
}
