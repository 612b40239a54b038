package commands

import (
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestSimulateDocs runs the examples of docs/simulate.md: each yaml block
// whose first line names a file ("# banner.yaml") is written to a folder,
// and each console block ("$ cdnctl simulate …" and what it printed) is
// run there and its output compared with the one in the doc. Figures may
// differ a little (tolerance): W-TinyLFU admission is randomised, so a run
// whose caches evict differs from the next in the last digits. With
// -update the doc is rewritten with this run's outputs.
//
// The examples simulate a few million requests: too slow under the race
// detector, so .ci/run runs this test once more without it.
func TestSimulateDocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the examples run without the race detector (.ci/run: go test ./commands -run TestSimulateDocs)")
	}
	docPath, err := filepath.Abs(filepath.Join("..", "docs", "simulate.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, body := range fencedBlocks(t, docPath, "yaml") {
		first, _, _ := strings.Cut(body, "\n")
		if name, ok := strings.CutPrefix(first, "# "); ok && strings.HasSuffix(name, ".yaml") {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	consoles := fencedBlocks(t, docPath, "console")
	t.Chdir(dir)
	updated := string(doc)
	examples := 0
	for _, body := range consoles {
		cmdLine, want, _ := strings.Cut(body, "\n")
		line, ok := strings.CutPrefix(cmdLine, "$ cdnctl ")
		if !ok {
			t.Errorf("console block does not start with \"$ cdnctl \": %q", cmdLine)
			continue
		}
		args, err := splitArgs(line)
		if err != nil {
			t.Fatal(err)
		}
		examples++
		ios, _, out, errOut := TestStreams()
		f := &Factory{IO: ios, LookupEnv: func(string) (string, bool) { return "", false }}
		if code := f.Run(t.Context(), args); code != 0 {
			t.Errorf("%s: exit code %d: %s", cmdLine, code, errOut)
			continue
		}
		got := out.String()
		if *update {
			updated = strings.Replace(updated, body, cmdLine+"\n"+got, 1)
			continue
		}
		if msg := compareOutputs(want, got); msg != "" {
			t.Errorf("%s: the output differs from docs/simulate.md (go test ./commands -run TestSimulateDocs -update rewrites it): %s\ngot:\n%s", cmdLine, msg, got)
		}
	}
	if examples < 4 {
		t.Errorf("docs/simulate.md has %d examples; want the four questions", examples)
	}
	if *update {
		if err := os.WriteFile(docPath, []byte(updated), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var numberRE = regexp.MustCompile(`[0-9][0-9,]*(\.[0-9]+)?`)

// compareOutputs compares two outputs line by line: the text exactly
// (runs of spaces aside), the numbers within their tolerance.
func compareOutputs(want, got string) string {
	wl := strings.Split(strings.TrimRight(want, "\n"), "\n")
	gl := strings.Split(strings.TrimRight(got, "\n"), "\n")
	if len(wl) != len(gl) {
		return strconv.Itoa(len(gl)) + " lines; the doc has " + strconv.Itoa(len(wl))
	}
	for i := range wl {
		w, g := strings.Join(strings.Fields(wl[i]), " "), strings.Join(strings.Fields(gl[i]), " ")
		if numberRE.ReplaceAllString(w, "#") != numberRE.ReplaceAllString(g, "#") {
			return "line " + strconv.Itoa(i+1) + ": " + strconv.Quote(g) + "; the doc has " + strconv.Quote(w)
		}
		wn, gn := numberRE.FindAllString(w, -1), numberRE.FindAllString(g, -1)
		for j := range wn {
			a, _ := strconv.ParseFloat(strings.ReplaceAll(wn[j], ",", ""), 64)
			b, _ := strconv.ParseFloat(strings.ReplaceAll(gn[j], ",", ""), 64)
			if math.Abs(a-b) > tolerance(wn[j], math.Max(math.Abs(a), math.Abs(b))) {
				return "line " + strconv.Itoa(i+1) + ": " + gn[j] + "; the doc has " + wn[j] + " (" + strconv.Quote(g) + ")"
			}
		}
	}
	return ""
}

// tolerance is how far a figure of the doc may be from a run's: 2.5%,
// and for a count (no decimals) also 1.5 standard deviations of a Poisson
// count, as the counts of rare events (collapsed requests) vary from run
// to run when the caches evict.
func tolerance(token string, x float64) float64 {
	if strings.Contains(token, ".") {
		return math.Max(0.5, 0.025*x)
	}
	return math.Max(1, math.Max(0.025*x, 1.5*math.Sqrt(x)))
}

func TestCompareOutputs(t *testing.T) {
	for _, tc := range []struct {
		want, got string
		ok        bool
	}{
		{"hits   55.6% / 55.4%\n", "hits 55.5% / 55.4%\n", true},
		{"origin 235,199\n", "origin 235,286\n", true},
		{"origin 235,199\n", "origin 245,286\n", false},
		{"p99 284\n", "p99 280\n", true},
		{"collapsed 168\n", "collapsed 187\n", true},
		{"collapsed 168\n", "collapsed 190\n", false},
		{"egress 18.5 GiB\n", "egress 19.1 GiB\n", false},
		{"hit 47.0%\n", "hit 47.4%\n", true},
		{"p50 16 ms\n", "p50 17 ms\n", true},
		{"p50 16 ms\n", "p50 26 ms\n", false},
		{"shield\n", "no shield\n", false},
		{"a\nb\n", "a\n", false},
	} {
		if msg := compareOutputs(tc.want, tc.got); (msg == "") != tc.ok {
			t.Errorf("compareOutputs(%q, %q) = %q; want ok %v", tc.want, tc.got, msg, tc.ok)
		}
	}
}
