package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/commands"
	"mvdan.cc/sh/v3/syntax"
)

// TestDocsExamples runs the shell examples of README.md and docs/: every
// ```sh block of a page, in order, in one bash session per page, with the
// cdnctl under test on PATH, in a temporary folder holding real builds
// (public: Hugo, dist: Vite, out: Next.js export) and a temporary HOME.
//
// The examples are written for a user's machine, where `cdnctl serve`
// listens on its default addresses; here every topology listens on free
// ports, and the session translates:
//
//   - `cdnctl serve …` runs with --free-ports (and --json, --stop-after).
//     A serve line in the foreground is a terminal of its own in the
//     user's world: it is started in the background, and the session waits
//     until it listens. Each one replaces the previous topology. Before the
//     first, the session runs a plain `cdnctl serve`, for the pages that
//     say "with cdnctl serve running".
//   - curl, dig and cdnctl get the default addresses in their arguments
//     replaced by the running topology's (127.0.1.1:8081 → pop1's port,
//     127.0.0.1:8099 → the admin API, dig's -p 5353 → the GeoDNS …); client
//     commands find the topology as a user's do, through the state file
//     serve writes for its folder (under the session's HOME).
//   - /tmp/ and /srv/ paths go to the temporary folder.
//
// A curl example whose comment starts with a status code or a cache
// verdict (`# 404`, `# HIT`) must get that answer.
//
// An HTML comment before a block changes how it runs, with a reason:
//
//	<!-- doctest: check-only: REASON -->           nothing of the block runs
//	<!-- doctest: check-only WORDS…: REASON -->    its commands starting with WORDS do not run
//	<!-- doctest: setup
//	shell lines run before the block, unseen by readers
//	-->
//
// What does not run is still checked: a cdnctl command's subcommand,
// flags and arguments are parsed by the command tree, `go run
// ./cmd/cdnctl ARGS` likewise, `go test` packages and `bash` scripts must
// exist.
//
// Under the race detector only the checks run; .ci/run runs the examples
// in a step of their own, without it (about a minute on two cores).
func TestDocsExamples(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	pages := []string{"README.md"}
	for _, glob := range []string{"docs/*.md", "docs/providers/*.md"} {
		m, err := filepath.Glob(filepath.Join(root, glob))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m {
			rel, _ := filepath.Rel(root, p)
			pages = append(pages, rel)
		}
	}
	var runnable []docPage
	total, checkOnly := 0, 0
	for _, rel := range pages {
		raw, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		blocks, err := shellBlocks(rel, string(raw))
		if err != nil {
			t.Error(err)
			continue
		}
		page := docPage{name: rel}
		for _, b := range blocks {
			total++
			if b.setup != nil {
				for _, e := range checkBlock(root, *b.setup) {
					t.Errorf("%s:%d: setup: %v", rel, b.line, e)
				}
			}
			for _, e := range checkBlock(root, b) {
				t.Errorf("%s:%d: %v", rel, b.line, e)
			}
			if b.checkOnly {
				checkOnly++
				continue
			}
			page.blocks = append(page.blocks, b)
		}
		if len(page.blocks) > 0 {
			runnable = append(runnable, page)
		}
	}
	if total == 0 {
		t.Fatal("no shell example found in README.md and docs/")
	}
	// Keep what cannot run few: real clouds, the test suite itself,
	// scripts that need a browser.
	const maxCheckOnly = 10
	if checkOnly > maxCheckOnly {
		t.Errorf("%d of %d shell examples are check-only; at most %d may be", checkOnly, total, maxCheckOnly)
	}
	t.Logf("%d shell examples: %d run, %d check-only", total, total-checkOnly, checkOnly)
	if testing.Short() {
		t.Skip("-short: the examples were checked, not run")
	}
	if raceEnabled {
		// Minutes of serve, deploy and fingerprint under the race detector,
		// which the rest of the suite already runs them under.
		t.Skip("the examples run without the race detector (.ci/run: go test ./cmd/cdnctl -run TestDocsExamples)")
	}
	for _, tool := range []string{"bash", "curl", "jq", "dig"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed: .ci/run installs it", tool)
			}
			t.Skipf("%s is not installed; CI runs the examples", tool)
		}
	}
	if _, err := exec.LookPath("cdnctl"); err != nil {
		t.Fatalf("cdnctl is not on PATH (testscript.Main puts it there): %v", err)
	}
	for _, page := range runnable {
		t.Run(strings.ReplaceAll(page.name, "/", "_"), func(t *testing.T) {
			t.Parallel()
			runPage(t, root, page)
		})
	}
}

type docPage struct {
	name   string
	blocks []docBlock
}

// docBlock is one fenced shell block of a page.
type docBlock struct {
	page      string
	line      int       // of the fence
	text      string    // the block's body
	setup     *docBlock // hidden lines run first
	checkOnly bool      // the whole block is only checked
	skip      [][]string
	file      *syntax.File
}

var fenceRE = regexp.MustCompile("^```(sh|bash|shell)\\s*$")

// shellBlocks returns the ```sh blocks of a page with their annotations.
func shellBlocks(page, doc string) ([]docBlock, error) {
	lines := strings.Split(doc, "\n")
	var out []docBlock
	for i := 0; i < len(lines); i++ {
		if !fenceRE.MatchString(lines[i]) {
			continue
		}
		j := i + 1
		for j < len(lines) && !strings.HasPrefix(lines[j], "```") {
			j++
		}
		b := docBlock{page: page, line: i + 1, text: strings.Join(lines[i+1:j], "\n") + "\n"}
		if err := annotate(&b, lines[:i]); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", page, i+1, err)
		}
		f, err := syntax.NewParser().Parse(strings.NewReader(b.text), page)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: the example is not valid shell: %w", page, i+1, err)
		}
		b.file = f
		out = append(out, b)
		i = j
	}
	return out, nil
}

// annotate reads the doctest comments right above a block (above is the
// page up to the fence).
func annotate(b *docBlock, above []string) error {
	end := len(above)
	for end > 0 && strings.HasSuffix(strings.TrimSpace(above[end-1]), "-->") {
		start := end - 1
		for start >= 0 && !strings.HasPrefix(strings.TrimSpace(above[start]), "<!--") {
			start--
		}
		if start < 0 {
			return errors.New("unterminated comment above the block")
		}
		comment := strings.Join(above[start:end], "\n")
		comment = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(comment), "<!--"), "-->")
		body, ok := strings.CutPrefix(strings.TrimSpace(comment), "doctest:")
		if !ok {
			break
		}
		body = strings.TrimSpace(body)
		switch {
		case strings.HasPrefix(body, "setup"):
			text := strings.TrimPrefix(body, "setup") + "\n"
			f, err := syntax.NewParser().Parse(strings.NewReader(text), b.page)
			if err != nil {
				return fmt.Errorf("doctest: setup is not valid shell: %w", err)
			}
			b.setup = &docBlock{page: b.page, line: b.line, text: text, file: f}
		case strings.HasPrefix(body, "check-only"):
			what, reason, ok := strings.Cut(strings.TrimPrefix(body, "check-only")+" ", ": ")
			if !ok || strings.TrimSpace(reason) == "" {
				return errors.New("doctest: check-only needs a reason after \": \"")
			}
			if words := strings.Fields(what); len(words) > 0 {
				b.skip = append(b.skip, words)
			} else {
				b.checkOnly = true
			}
		default:
			return fmt.Errorf("unknown doctest annotation %q (want check-only or setup)", body)
		}
		end = start
	}
	return nil
}

// calls returns the simple commands of a block with their words (a word
// that is not a literal, such as $(…), becomes "X").
func calls(f *syntax.File) []*syntax.CallExpr {
	var out []*syntax.CallExpr
	syntax.Walk(f, func(n syntax.Node) bool {
		if c, ok := n.(*syntax.CallExpr); ok && len(c.Args) > 0 {
			out = append(out, c)
		}
		return true
	})
	return out
}

func words(c *syntax.CallExpr) []string {
	out := make([]string, len(c.Args))
	for i, w := range c.Args {
		out[i] = wordString(w)
	}
	return out
}

func wordString(w *syntax.Word) string {
	var s strings.Builder
	for _, p := range w.Parts {
		switch p := p.(type) {
		case *syntax.Lit:
			s.WriteString(p.Value)
		case *syntax.SglQuoted:
			s.WriteString(p.Value)
		case *syntax.DblQuoted:
			for _, q := range p.Parts {
				if l, ok := q.(*syntax.Lit); ok {
					s.WriteString(l.Value)
				} else {
					s.WriteString("X")
				}
			}
		default:
			s.WriteString("X")
		}
	}
	return s.String()
}

// checkBlock parses the commands of a block that the tests can check
// without running them.
func checkBlock(root string, b docBlock) []error {
	var errs []error
	for _, c := range calls(b.file) {
		w := words(c)
		switch {
		case w[0] == "cdnctl":
			if err := checkCdnctl(w[1:]); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", strings.Join(w, " "), err))
			}
		case len(w) > 2 && w[0] == "go" && w[1] == "run" && w[2] == "./cmd/cdnctl":
			if err := checkCdnctl(w[3:]); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", strings.Join(w, " "), err))
			}
		case len(w) > 2 && w[0] == "go" && w[1] == "test":
			for _, a := range w[2:] {
				if strings.HasPrefix(a, "./") {
					dir := strings.TrimSuffix(strings.TrimSuffix(a, "..."), "/")
					if _, err := os.Stat(filepath.Join(root, dir)); err != nil {
						errs = append(errs, fmt.Errorf("%s: no package %s", strings.Join(w, " "), a))
					}
				}
			}
		case len(w) > 1 && w[0] == "bash" && !strings.HasPrefix(w[1], "-"):
			if _, err := os.Stat(filepath.Join(root, w[1])); err != nil {
				errs = append(errs, fmt.Errorf("%s: no script %s in the repository", strings.Join(w, " "), w[1]))
			}
		}
	}
	return errs
}

// checkCdnctl parses a cdnctl command line with the real command tree:
// the command exists, its flags exist and take the values given, and its
// positional arguments are accepted.
func checkCdnctl(args []string) error {
	ios, _, _, _ := commands.TestStreams()
	root := commands.NewRootCmd(&commands.Factory{IO: ios, LookupEnv: func(string) (string, bool) { return "", false }})
	cmd, rest, err := root.Find(args)
	if err != nil {
		return err
	}
	if cmd == root && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		return fmt.Errorf("unknown command %q", rest[0])
	}
	if err := cmd.ParseFlags(rest); err != nil {
		return err
	}
	if cmd.Args != nil {
		return cmd.ValidateArgs(cmd.Flags().Args())
	}
	return nil
}

// claimRE is what a curl example's comment claims about its answer: a
// status code ("# 404") or the edge's cache verdict ("# HIT").
var claimRE = regexp.MustCompile(`^\s*#\s*([0-9]{3}|MISS|HIT)\b`)

// script returns a block as the session runs it: the statements it must
// not run replaced by a no-op, a curl whose comment claims a status or a
// cache verdict checked (doc_expect), and after each `cdnctl serve … &` a
// wait for that topology.
func (b docBlock) script() string {
	type edit struct {
		from, to int
		with     string
	}
	var edits []edit
	for _, st := range b.file.Stmts {
		syntax.Walk(st, func(n syntax.Node) bool {
			s, ok := n.(*syntax.Stmt)
			if !ok {
				return true
			}
			c, ok := s.Cmd.(*syntax.CallExpr)
			if !ok || len(c.Args) == 0 {
				return true
			}
			w := words(c)
			for _, skip := range b.skip {
				if matchWords(w, skip) {
					edits = append(edits, edit{int(s.Pos().Offset()), int(s.End().Offset()), ": checked only"})
					return false
				}
			}
			if w[0] == "curl" && !s.Background {
				rest := b.text[s.End().Offset():]
				rest, _, _ = strings.Cut(rest, "\n")
				if m := claimRE.FindStringSubmatch(rest); m != nil {
					at := int(s.Pos().Offset())
					edits = append(edits, edit{at, at, "doc_expect " + m[1] + " "})
				}
			}
			if s.Background && len(w) > 1 && w[0] == "cdnctl" && w[1] == "serve" {
				at := int(s.End().Offset())
				if nl := strings.IndexByte(b.text[at:], '\n'); nl >= 0 {
					at += nl
				} else {
					at = len(b.text)
				}
				edits = append(edits, edit{at, at, "\ndoc_after_bg_serve $!"})
			}
			return true
		})
	}
	slices.SortFunc(edits, func(a, b edit) int { return b.from - a.from })
	text := b.text
	for _, e := range edits {
		text = text[:e.from] + e.with + text[e.to:]
	}
	return text
}

// matchWords reports whether a command's words start with the pattern's;
// a pattern word ending in * matches any word with that prefix.
func matchWords(w, pattern []string) bool {
	if len(w) < len(pattern) {
		return false
	}
	for i, p := range pattern {
		if pre, ok := strings.CutSuffix(p, "*"); ok {
			if !strings.HasPrefix(w[i], pre) {
				return false
			}
		} else if w[i] != p {
			return false
		}
	}
	return true
}

// runPage runs the runnable blocks of a page in one bash session.
func runPage(t *testing.T, root string, page docPage) {
	work := t.TempDir()
	for dst, src := range map[string]string{"public": "hugo", "dist": "vite-vue", "out": "next"} {
		if err := os.CopyFS(filepath.Join(work, dst), os.DirFS(filepath.Join(root, "hashing", "testdata", "sites", src))); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"home", "tmp", "srv", ".doctest"} {
		if err := os.MkdirAll(filepath.Join(work, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var sb strings.Builder
	sb.WriteString(docPrelude)
	for _, b := range page.blocks {
		fmt.Fprintf(&sb, "\ndoc_block %s:%d\n", b.page, b.line)
		if b.setup != nil {
			sb.WriteString(b.setup.script())
		}
		sb.WriteString(b.script())
	}
	text := strings.NewReplacer("/tmp/", work+"/tmp/", "/srv/", work+"/srv/").Replace(sb.String())
	scriptPath := filepath.Join(work, ".doctest", "page.sh")
	if err := os.WriteFile(scriptPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", scriptPath)
	cmd.Dir = work
	cmd.Env = docEnv(work)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// A file, not a pipe: topologies started in the background keep it
	// open after bash exits.
	outPath := filepath.Join(work, ".doctest", "output")
	outFile, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = outFile, outFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	stopGroup(cmd.Process.Pid)
	outFile.Close()
	out, _ := os.ReadFile(outPath)
	if err != nil {
		logs := ""
		if m, _ := filepath.Glob(filepath.Join(work, ".doctest", "serve*.log")); len(m) > 0 {
			for _, f := range m {
				b, _ := os.ReadFile(f)
				logs += fmt.Sprintf("\n--- %s (last lines)\n%s", filepath.Base(f), tail(string(b), 15))
			}
		}
		t.Fatalf("%s: the examples failed (%v); the session's output, the line that failed last:\n%s%s", page.name, err, tail(string(out), 60), logs)
	}
	t.Logf("%s: %d blocks ran", page.name, len(page.blocks))
}

// stopGroup stops what the session left running (topologies it started in
// the background): SIGINT, then SIGKILL after 10s.
func stopGroup(pgid int) {
	if syscall.Kill(-pgid, syscall.SIGINT) != nil {
		return
	}
	for range 100 {
		time.Sleep(100 * time.Millisecond)
		if syscall.Kill(-pgid, 0) != nil {
			return
		}
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// docEnv is the session's environment: this process's, with a HOME of its
// own (the local CA goes to ~/.config/cdnctl) and no cdnctl settings.
func docEnv(work string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "HOME" || strings.HasPrefix(k, "XDG_") || strings.HasPrefix(k, "CDNCTL_") || k == "NO_COLOR" {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"HOME="+filepath.Join(work, "home"),
		"DOC_STATE="+filepath.Join(work, ".doctest"),
		"TERM=dumb",
	)
}

// docPrelude defines the session's translations (see TestDocsExamples).
const docPrelude = `set -eEo pipefail
doc_n=0 doc_pid=
doc_block() { printf '\n=== %s\n' "$1"; }
trap 'echo "FAILED: exit $? at: $BASH_COMMAND" >&2' ERR

# doc_load FILE PID: waits until the topology whose first stdout line goes
# to FILE listens, and reads its addresses.
doc_load() {
  local i line
  for i in $(seq 600); do
    if line=$(head -n1 "$1" 2>/dev/null) && [ -n "$line" ] && jq -e . >/dev/null 2>&1 <<<"$line"; then break; fi
    if ! kill -0 "$2" 2>/dev/null; then echo "cdnctl serve exited before it listened" >&2; return 1; fi
    line=; sleep 0.1
  done
  [ -n "$line" ] || { echo "cdnctl serve did not listen within 60s" >&2; return 1; }
  if [ -n "$doc_pid" ] && [ "$doc_pid" != "$2" ]; then doc_stop; fi
  doc_pid=$2
  D_POP1=$(jq -r '.pops[] | select(.name=="pop1") | .addr // empty' <<<"$line")
  D_POP2=$(jq -r '.pops[] | select(.name=="pop2") | .addr // empty' <<<"$line")
  D_POP3=$(jq -r '.pops[] | select(.name=="pop3") | .addr // empty' <<<"$line")
  D_SHIELD=$(jq -r '.pops[] | select(.name=="shield") | .addr // empty' <<<"$line")
  D_ADMIN=$(jq -r '.admin.url' <<<"$line"); D_ADMIN=${D_ADMIN#http://}
  D_ORIGIN=$(jq -r '.origin.url // empty' <<<"$line"); D_ORIGIN=${D_ORIGIN#http://}
  D_DNS=$(jq -r '.dns.addr // empty' <<<"$line")
}

doc_stop() {
  [ -n "$doc_pid" ] || return 0
  kill -INT "$doc_pid" 2>/dev/null || true
  local i; for i in $(seq 150); do kill -0 "$doc_pid" 2>/dev/null || break; sleep 0.1; done
  doc_pid=
}

# doc_after_bg_serve PID: after "cdnctl serve … &".
doc_after_bg_serve() { doc_load "$DOC_STATE/bg-$1.json" "$1"; }

# doc_rw ARGS: the arguments with the default addresses replaced.
doc_rw() {
  doc_args=()
  local a prev=
  for a in "$@"; do
    if [ -n "$D_ADMIN" ]; then
      local n addr port
      for n in 1 2 3; do
        addr=D_POP$n; addr=${!addr}; [ -n "$addr" ] || continue
        port=${addr##*:}
        a=${a//127.0.$n.1:808$n/$addr}
        a=${a//www.example.test:808$n/www.example.test:$port}
      done
      a=${a//127.0.0.1:8099/$D_ADMIN}
      [ -z "$D_ORIGIN" ] || a=${a//127.0.0.1:8000/$D_ORIGIN}
      [ -z "$D_SHIELD" ] || a=${a//127.0.0.1:8090/$D_SHIELD}
      if [ -n "$D_DNS" ]; then
        a=${a//127.0.0.1:5353/$D_DNS}
        if [ "$prev" = -p ] && [ "$a" = 5353 ]; then a=${D_DNS##*:}; fi
      fi
    fi
    doc_args+=("$a"); prev=$a
  done
}

cdnctl() {
  if [ "${1-}" = serve ]; then
    shift
    if [ "$BASHPID" != "$$" ]; then
      # "cdnctl serve … &": its output goes where the example sends it,
      # and its first line to the session too.
      local me=$BASHPID
      exec cdnctl serve "$@" --json --free-ports --stop-after 10m > >(tee "$DOC_STATE/bg-$me.json")
    fi
    # A terminal of its own, in the user's world; it replaces the running
    # one (two in one folder would leave clients asking which).
    doc_stop
    doc_n=$((doc_n + 1))
    command cdnctl serve "$@" --json --free-ports --stop-after 10m >"$DOC_STATE/serve$doc_n.json" 2>"$DOC_STATE/serve$doc_n.log" &
    doc_load "$DOC_STATE/serve$doc_n.json" $!
    echo "(cdnctl serve $* runs in the background on free ports: pop1 $D_POP1, admin $D_ADMIN)"
    return 0
  fi
  doc_rw "$@"
  command cdnctl "${doc_args[@]}"
}
curl() { doc_rw "$@"; command curl --max-time 20 "${doc_args[@]}"; }

# doc_expect CLAIM COMMAND…: runs a curl example and checks what its
# comment claims: the status of the (last) answer, or X-Cache.
doc_expect() {
  local want=$1 out; shift
  out=$("$@"); printf '%s\n' "$out"
  local status; status=$(tr -d '\r' <<<"$out" | sed -n 's/^HTTP\/[0-9.]* \([0-9][0-9][0-9]\).*/\1/p' | tail -1)
  case $want in
    [0-9][0-9][0-9]) [ "$status" = "$want" ] || { echo "the example claims $want; the answer was $status" >&2; return 1; } ;;
    *) tr -d '\r' <<<"$out" | grep -qi "^X-Cache: $want" || { echo "the example claims X-Cache: $want; the answer says otherwise" >&2; return 1; } ;;
  esac
}
dig() { doc_rw "$@"; command dig +time=5 +tries=1 "${doc_args[@]}"; }

# The pages that say "with cdnctl serve running".
cdnctl serve >/dev/null
`

// TestCheckCdnctl: the check of the examples that do not run catches what
// would fail if they did.
func TestCheckCdnctl(t *testing.T) {
	for _, tt := range []struct {
		line string
		want string // "" for no error
	}{
		{"purge --provider blog /feed.xml", ""},
		{"--json purge --dry-run --all", ""},
		{"deplyo --plan", `unknown command "deplyo"`},
		{"purge --provder blog /", "unknown flag: --provder"},
		{"serve --delay soon", "invalid argument"},
		{"version extra", "unknown command"},
	} {
		err := checkCdnctl(strings.Fields(tt.line))
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("cdnctl %s: %v; want %q", tt.line, err, tt.want)
		}
	}
}
