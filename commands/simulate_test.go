package commands

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cdnctl/cdnctl/simulate"
)

// TestSimulateLog replays the nginx fixture with two scenarios given as
// flags and reads the JSON.
func TestSimulateLog(t *testing.T) {
	log, err := filepath.Abs(filepath.Join("..", "simulate", "workload", "testdata", "nginx-cache.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir()) // no cdnctl.yaml: serve's defaults
	code, out, errOut := runCLI(t, nil, "--json", "simulate", "--log", log, "--ttl", "/**=public, max-age=600",
		"--scenario", "shield: --shield", "--scenario", "one PoP: --no-shield --pops 1 --hop-rtt 0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res struct {
		Workload  string
		Scenarios []simulate.Result
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(res.Scenarios) != 2 || res.Scenarios[0].Scenario != "shield" || res.Scenarios[1].Scenario != "one PoP" {
		t.Fatalf("scenarios %+v", res.Scenarios)
	}
	sh, one := res.Scenarios[0], res.Scenarios[1]
	// 10 requests (the GARBAGE line is none), one POST.
	if sh.Requests != 10 || one.Requests != 10 || sh.Shield == nil || one.Shield != nil || len(one.PoPs) != 1 {
		t.Errorf("requests %d/%d, shield %v/%v, PoPs of one %d", sh.Requests, one.Requests, sh.Shield != nil, one.Shield != nil, len(one.PoPs))
	}
	// nginx reported 5 hits of 9 cacheable requests.
	if sh.Observed == nil || *sh.Observed < 0.55 || *sh.Observed > 0.56 {
		t.Errorf("observed hit ratio %v; want 5/9", sh.Observed)
	}
	// One PoP, fills without delay: index, logo, app.css and missing are
	// fetched once each, the POST passes: 5 origin requests.
	if one.Origin.Requests != 5 {
		t.Errorf("one PoP: %d origin requests; want 5", one.Origin.Requests)
	}

	// The table on a pipe: no charts; --plot writes SVG and PNG.
	plots := t.TempDir()
	code, out, errOut = runCLI(t, nil, "simulate", "--log", log, "--plot", plots)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"requests", "edge (all PoPs)", "logged by the CDN", "origin egress", "wrote " + filepath.Join(plots, "origin.svg")} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "▁") {
		t.Errorf("charts on a pipe:\n%s", out)
	}
	for _, name := range []string{"origin.svg", "origin.png", "hit-ratio.svg", "hit-ratio.png"} {
		if st, err := os.Stat(filepath.Join(plots, name)); err != nil || st.Size() < 1000 {
			t.Errorf("plot %s: %v", name, err)
		}
	}
}

// TestSimulateErrors: bad input is a usage error (exit 2) naming the
// input and what was expected.
func TestSimulateErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	bad := "bad.log"
	os.WriteFile(bad, []byte("203.0.113.1 - - [07/Dec/2026:14:59:21 +0000] \"GET /a HTTP/1.1\" 200 35 \"-\" \"c\"\n203.0.113.1 - - [07/Dec/2026:14:59:21 +0000] \"GET /b HTTP/1.1\" 2x0 35 \"-\" \"c\"\n"), 0o644)
	os.WriteFile("spec.yaml", []byte("workload:\n  duration: 1h\n  rate: 10\n  contnet: []\n"), 0o644)
	os.WriteFile("nowork.yaml", []byte("scenarios:\n  - name: a\n"), 0o644)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"simulate"}, "no workload: give --log FILE, or --spec FILE with a workload section"},
		{[]string{"simulate", "--log", bad}, `bad.log:2: status "2x0": want a three-digit HTTP status (--skip-bad-lines goes on past malformed lines)`},
		{[]string{"simulate", "--spec", "spec.yaml"}, `spec.yaml:4:3: unknown field "contnet"`},
		{[]string{"simulate", "--spec", "nowork.yaml"}, "no workload"},
		{[]string{"simulate", "--log", bad, "--scenario", "nameless"}, `--scenario "nameless": want 'NAME: FLAGS'`},
		{[]string{"simulate", "--log", bad, "--scenario", "x: --bogus"}, `--scenario "x: --bogus": unknown flag: --bogus`},
		{[]string{"simulate", "--log", bad, "--ttl", "img=max-age=1"}, `--ttl "img=max-age=1": want GLOB=CACHE-CONTROL`},
		{[]string{"simulate", "--log", bad, "--pops", "9"}, "9 PoPs running: want 1 to 3"},
		{[]string{"simulate", "--log", bad, "--eviction", "fifo"}, `eviction "fifo": want tinylfu (serve's) or lru`},
		{[]string{"simulate", "--log", bad, "--charts", "sometimes"}, `--charts "sometimes": want auto, always or never`},
		{[]string{"simulate", "--log", "missing.log"}, "missing.log: no such file or directory"},
	}
	for _, tt := range tests {
		code, _, errOut := runCLI(t, nil, tt.args...)
		if code != ExitUsage || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, %q; want exit 2 and %q", tt.args, code, errOut, tt.want)
		}
	}
	// --skip-bad-lines goes on, and says so.
	code, out, errOut := runCLI(t, nil, "--json", "simulate", "--log", bad, "--skip-bad-lines")
	if code != 0 || !strings.Contains(errOut, "malformed line skipped") || !strings.Contains(out, `"requests": 1,`) {
		t.Errorf("--skip-bad-lines: exit %d, %s\n%s", code, errOut, out)
	}
}

func TestSplitArgs(t *testing.T) {
	got, err := splitArgs(` --ttl '/img/*=public, max-age=60' --no-shield  "--cache-size" 1GiB`)
	want := []string{"--ttl", "/img/*=public, max-age=60", "--no-shield", "--cache-size", "1GiB"}
	if err != nil || strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("splitArgs = %q, %v; want %q", got, err, want)
	}
	if _, err := splitArgs(`--ttl 'open`); err == nil {
		t.Error("an unterminated quote: no error")
	}
}
