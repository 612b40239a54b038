package commands

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cdnctl/cdnctl/hashing"
)

func writeSite(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "site")
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func loadManifest(t *testing.T, dir, name string) *hashing.Manifest {
	t.Helper()
	m, err := hashing.LoadManifest(os.DirFS(dir), name)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestFingerprintCommand(t *testing.T) {
	src := writeSite(t, map[string]string{
		"index.html":  `<link rel="stylesheet" href="css/app.css"><img src="img/missing.png">`,
		"css/app.css": strings.Repeat("body { background: url(../img/a.png) }\n", 50),
		"img/a.png":   "png",
		"feed.rss":    "<rss/>",
	})
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := runCLI(t, nil, "fingerprint", src, "--out", out)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	for _, want := range []string{"fingerprinted " + src + " into " + out, "files:    4 (2 fingerprinted, 2 entry points", "br:", "gzip:", "manifest: " + filepath.Join(out, "cdnctl-manifest.json"), "missing:  1 references"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout does not contain %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "reference to a missing file") || !strings.Contains(stderr, "img/missing.png") {
		t.Errorf("stderr does not warn about the missing file:\n%s", stderr)
	}
	m := loadManifest(t, out, "")
	css := m.Files["css/app.css"]
	if !css.Fingerprinted || len(css.Encodings) != 2 {
		t.Fatalf("css/app.css = %+v; want fingerprinted with two precompressed copies", css)
	}
	index, err := os.ReadFile(filepath.Join(out, "index.html"))
	if err != nil || !strings.Contains(string(index), css.Path) {
		t.Fatalf("index.html does not name %s: %s", css.Path, index)
	}

	// --strict turns the missing file into a failure (exit 1), and the
	// output stays as it was.
	code, _, stderr = runCLI(t, nil, "fingerprint", src, "--out", out, "--strict")
	if code != ExitFailure || !strings.Contains(stderr, "index.html:1: img/missing.png") {
		t.Fatalf("--strict: exit %d, stderr:\n%s", code, stderr)
	}
	if again := loadManifest(t, out, ""); again.Files["css/app.css"].Path != css.Path {
		t.Fatalf("a failed run changed the output")
	}
}

func TestFingerprintCommandConfig(t *testing.T) {
	src := writeSite(t, map[string]string{
		"index.html":    `<script src="app.js"></script>`,
		"app.js":        "x()",
		"data/feed.txt": "kept by the config",
	})
	out := filepath.Join(t.TempDir(), "out")
	cfg := filepath.Join(t.TempDir(), "cdnctl.yaml")
	body := "fingerprint:\n" +
		"  src: " + src + "\n" +
		"  out: " + out + "\n" +
		"  hash_length: 8\n" +
		"  keep: [\"data/**\"]\n" +
		"  compress: [none]\n" +
		"  manifest: meta/manifest.json\n" +
		"  rules:\n" +
		"    - match: [\"*.js\"]\n" +
		"      tags: [js]\n" +
		"      headers: {Access-Control-Allow-Origin: \"*\"}\n" +
		"    - match: [\"*.html\"]\n" +
		"      cache_control: \"public, max-age=60\"\n"
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, map[string]string{"CDNCTL_FINGERPRINT_HASH_LENGTH": "12"}, "--config", cfg, "--json", "fingerprint")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	var sum struct {
		Source   string
		Manifest string
		Stats    hashing.Stats
		Missing  []hashing.MissingRef
	}
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("--json output: %v\n%s", err, stdout)
	}
	if sum.Source != src || sum.Manifest != filepath.Join(out, "meta", "manifest.json") || sum.Stats.Files != 3 || sum.Missing == nil {
		t.Errorf("summary = %+v", sum)
	}
	m := loadManifest(t, out, "meta/manifest.json")
	js := m.Files["app.js"]
	if _, hash, ok := hashing.ParseFingerprint(js.Path); !ok || len(hash) != 12 {
		t.Errorf("app.js → %s; want a 12-digit hash (environment over file)", js.Path)
	}
	if js.Tags[0] != "js" || js.Headers["Access-Control-Allow-Origin"] != "*" || len(js.Encodings) != 0 {
		t.Errorf("app.js = %+v; want the rule's tag and header, no precompression", js)
	}
	if e := m.Files["data/feed.txt"]; e.Fingerprinted || e.Path != "data/feed.txt" {
		t.Errorf("data/feed.txt = %+v; want kept by the config's keep", e)
	}
	if e := m.Files["index.html"]; e.CacheControl != "public, max-age=60" {
		t.Errorf("index.html cache control %q; want the rule's", e.CacheControl)
	}

	// Flags override both.
	code, _, stderr = runCLI(t, map[string]string{"CDNCTL_FINGERPRINT_HASH_LENGTH": "12"}, "--config", cfg, "fingerprint", "--hash-length", "6", "--compress", "gzip", "--compress-min-size", "1")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	m = loadManifest(t, out, "meta/manifest.json")
	if _, hash, _ := hashing.ParseFingerprint(m.Files["app.js"].Path); len(hash) != 6 {
		t.Errorf("app.js → %s; want a 6-digit hash (flag over environment)", m.Files["app.js"].Path)
	}
}

func TestFingerprintCommandErrors(t *testing.T) {
	src := writeSite(t, map[string]string{"index.html": "<p>"})
	badCfg := filepath.Join(t.TempDir(), "cdnctl.yaml")
	os.WriteFile(badCfg, []byte("fingerprint:\n  rules:\n    - match: [\"img/[a-\"]\n"), 0o644)
	badKeepCfg := filepath.Join(t.TempDir(), "cdnctl.yaml")
	os.WriteFile(badKeepCfg, []byte("fingerprint:\n  keep: [\"robots.txt\", \"[a-\"]\n"), 0o644)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no source", []string{"fingerprint", "--out", "x"}, ExitUsage, "no source: give SRC, --sample"},
		{"source and sample", []string{"fingerprint", src, "--sample-site", "--out", "x"}, ExitUsage, "give SRC or --sample-site, not both"},
		{"no output", []string{"fingerprint", src}, ExitUsage, "no output folder: give --out DIR"},
		{"two sources", []string{"fingerprint", src, src, "--out", "x"}, ExitUsage, "accepts at most 1 arg"},
		{"bad compress", []string{"fingerprint", src, "--out", "x", "--compress", "zstd"}, ExitUsage, `unknown encoding "zstd"`},
		{"bad keep glob", []string{"fingerprint", src, "--out", "x", "--keep", "{a"}, ExitUsage, `glob "{a"`},
		{"bad hash length", []string{"fingerprint", src, "--out", "x", "--hash-length", "2"}, ExitUsage, "hash length 2"},
		{"source missing", []string{"fingerprint", filepath.Join(src, "nope"), "--out", filepath.Join(t.TempDir(), "o")}, ExitUsage, "nope: no such folder"},
		{"output inside source", []string{"fingerprint", src, "--out", filepath.Join(src, "dist")}, ExitFailure, "is inside the source folder"},
		{"dry run, source missing", []string{"fingerprint", filepath.Join(src, "nope"), "--dry-run"}, ExitUsage, "no such folder"},
		{"invalid rule glob in the config", []string{"--config", badCfg, "fingerprint", src, "--out", filepath.Join(t.TempDir(), "o")}, ExitUsage, badCfg + `: fingerprint section: rules[0].match[0]: glob "img/[a-": syntax error in pattern`},
		// The position is the one in the list the user wrote, not after cdnctl's default keep globs.
		{"invalid keep glob in the config", []string{"--config", badKeepCfg, "fingerprint", src, "--out", filepath.Join(t.TempDir(), "o")}, ExitUsage, badKeepCfg + `: fingerprint section: keep[1]: glob "[a-": syntax error in pattern`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, nil, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Errorf("cdnctl %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tt.args, " "), code, stderr, tt.code, tt.want)
			}
		})
	}
}

func TestFingerprintCommandDryRun(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := runCLI(t, nil, "fingerprint", "--sample-site", "--out", out, "--dry-run")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("a dry run created %s", out)
	}
	if !strings.Contains(stdout, "css/main.css\tcss/main.") || !strings.Contains(stdout, "index.html\tindex.html\t") {
		t.Errorf("dry run listing (TSV when piped):\n%s", stdout)
	}
	if !strings.Contains(stderr, "dry run: would write 26 files") {
		t.Errorf("stderr:\n%s", stderr)
	}
	code, stdout, _ = runCLI(t, nil, "--json", "fingerprint", "--sample-site", "-n")
	var sum fingerprintSummary
	if err := json.Unmarshal([]byte(stdout), &sum); code != 0 || err != nil || !sum.DryRun || len(sum.Files) != sum.Stats.Files || sum.Stats.Files == 0 {
		t.Fatalf("--json --dry-run: exit %d, %v, %+v", code, err, sum)
	}
}

// TestFingerprintCommandDotfiles: dotfiles are not copied into the output,
// and the summary says which; --allow-dotfile (added to
// fingerprint.allow_dotfiles) copies what it names.
func TestFingerprintCommandDotfiles(t *testing.T) {
	src := writeSite(t, map[string]string{
		"index.html":               "<p>",
		".env":                     "SECRET=1",
		".htaccess":                "Options -Indexes",
		".nojekyll":                "",
		".cache/a.json":            "{}",
		".well-known/security.txt": "Contact: x",
	})
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := runCLI(t, nil, "fingerprint", src, "--out", out)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	const line = "dotfiles: 4 not copied (they often hold secrets): .cache/, .env, .htaccess, .nojekyll; copy one with --allow-dotfile GLOB or fingerprint.allow_dotfiles"
	if !strings.Contains(stdout, line) {
		t.Errorf("stdout lacks %q:\n%s", line, stdout)
	}
	for name, want := range map[string]bool{".env": false, ".htaccess": false, ".cache/a.json": false, ".well-known/security.txt": true, "index.html": true} {
		if _, err := os.Stat(filepath.Join(out, filepath.FromSlash(name))); (err == nil) != want {
			t.Errorf("%s in the output: %v; want %v", name, err == nil, want)
		}
	}

	cfg := writeConfig(t, "fingerprint:\n  allow_dotfiles: [/.htaccess]\n")
	code, stdout, stderr = runCLI(t, nil, "--config", cfg, "--json", "fingerprint", src, "--out", out, "--allow-dotfile", ".nojekyll")
	if code != 0 {
		t.Fatalf("allow-list: exit %d; stderr:\n%s", code, stderr)
	}
	var sum struct {
		Skipped []hashing.Skipped `json:"skipped"`
	}
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("--json: %v\n%s", err, stdout)
	}
	var skipped []string
	for _, s := range sum.Skipped {
		if s.Reason == hashing.ReasonDotfile {
			skipped = append(skipped, s.Path)
		}
	}
	if strings.Join(skipped, " ") != ".cache/a.json .env" { // with an allow-list, hidden folders are walked
		t.Errorf("skipped dotfiles %q; want .cache/a.json and .env", skipped)
	}
	for _, name := range []string{".htaccess", ".nojekyll"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Errorf("allowed %s not copied: %v", name, err)
		}
	}
	if code, _, stderr := runCLI(t, nil, "fingerprint", src, "--out", out, "--allow-dotfile", "[.env"); code != ExitUsage || !strings.Contains(stderr, "allow dotfiles") {
		t.Errorf("bad glob: exit %d, %s", code, stderr)
	}
}

// TestFingerprintKeepsRulesFiles: _redirects and _headers are entry
// points (hashing.DefaultKeep): fingerprint copies them under their names,
// byte for byte, without precompressed copies.
func TestFingerprintKeepsRulesFiles(t *testing.T) {
	rules := map[string]string{
		"_redirects": strings.Repeat("# a long comment so that the file is over the compression threshold\n", 30) + "/old /about 301\n/app /index.html 200\n",
		"_headers":   strings.Repeat("# a long comment so that the file is over the compression threshold\n", 30) + "/*\n  X-Frame-Options: DENY\n/css/*\n  Cache-Control: public, max-age=60\n",
	}
	files := map[string]string{
		"index.html":  `<link rel="stylesheet" href="css/app.css">`,
		"about.html":  "<h1>about</h1>",
		"css/app.css": strings.Repeat("body { color: red }\n", 100),
	}
	for k, v := range rules {
		files[k] = v
	}
	out := filepath.Join(t.TempDir(), "out")
	if code, _, stderr := runCLI(t, nil, "fingerprint", writeSite(t, files), "--out", out); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	m := loadManifest(t, out, "")
	for name, body := range rules {
		e, ok := m.Files[name]
		if !ok || e.Fingerprinted || e.Path != name || len(e.Encodings) != 0 {
			t.Errorf("manifest entry of %s = %+v; want kept under its name, no encodings", name, e)
		}
		if b, err := os.ReadFile(filepath.Join(out, name)); err != nil || string(b) != body {
			t.Errorf("%s in the output differs from the source (%v)", name, err)
		}
		for _, ext := range []string{".br", ".gz"} {
			if _, err := os.Stat(filepath.Join(out, name+ext)); err == nil {
				t.Errorf("%s%s written", name, ext)
			}
		}
	}
}

// auditBrokenSite is a site whose fingerprinted output names a renamed
// file by its source name: a script reads the image's URL from JSON
// written in a JavaScript string, its "/" escaped twice ("\\\/img\\\/logo.png",
// as JSON inside a string is written), which fingerprint's rules do not
// read as "/img/logo.png" (they undo one level of escapes: "\/", "\x2f",
// "\u002f"), while the page's <img> (which they rewrite) makes them
// rename the image. If the rules learn this form, use another they miss:
// the test says so.
func auditBrokenSite(t *testing.T) map[string]string {
	return map[string]string{
		"index.html":    `<img src="/img/logo.png"><script src="/js/gallery.js"></script>`,
		"img/logo.png":  "png",
		"js/gallery.js": "const img = new Image();\nimg.src = JSON.parse(\"{\\\"src\\\":\\\"\\\\\\/img\\\\\\/logo.png\\\"}\").src;\ndocument.body.append(img);\n",
	}
}

func TestFingerprintCommandAudit(t *testing.T) {
	src := writeSite(t, auditBrokenSite(t))
	out := filepath.Join(t.TempDir(), "out")

	// --audit=warn: written, with a warning naming the file and line.
	code, stdout, stderr := runCLI(t, nil, "fingerprint", src, "--out", out, "--audit=warn")
	if code != 0 {
		t.Fatalf("--audit=warn: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "a reference still names a renamed file by its source name") || !strings.Contains(stderr, "line=2") || !strings.Contains(stderr, `url=/img/logo.png`) {
		t.Errorf("--audit=warn: no warning naming js/gallery.js line 2:\n%s", stderr)
	}
	if !strings.Contains(stdout, "audit:    1 references still name renamed files") {
		t.Errorf("--audit=warn: the summary does not count the finding:\n%s", stdout)
	}
	m := loadManifest(t, out, "")
	logo := m.Files["img/logo.png"]
	if logo.Path == "img/logo.png" {
		t.Fatalf("the image kept its name (%+v): the site no longer shows what the audit is for; make another reference fingerprint does not rewrite", logo)
	}
	before, err := os.ReadFile(filepath.Join(out, "cdnctl-manifest.json"))
	if err != nil {
		t.Fatal(err)
	}

	// The default: exit 1, the file and line named, the output as it was.
	os.WriteFile(filepath.Join(src, "index.html"), []byte(`<img src="/img/logo.png" alt="the logo"><script src="/js/gallery.js"></script>`), 0o644)
	code, _, stderr = runCLI(t, nil, "fingerprint", src, "--out", out)
	if code != ExitFailure {
		t.Fatalf("exit %d; want %d\n%s", code, ExitFailure, stderr)
	}
	gallery := m.Files["js/gallery.js"].Path
	for _, want := range []string{
		"audit: 1 reference(s) of the output name 1 file(s) by their source names",
		`js/gallery.js:2 (` + gallery + ` in the output): "/img/logo.png" names img/logo.png, which the output has only as ` + logo.Path,
		"--keep /img/logo.png", "--audit=warn",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr)
		}
	}
	after, err := os.ReadFile(filepath.Join(out, "cdnctl-manifest.json"))
	if err != nil || string(after) != string(before) {
		t.Errorf("a failed audit changed the output (%v)", err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "index.html")); strings.Contains(string(b), "the logo") {
		t.Error("a failed audit wrote the new index.html")
	}

	// The fix the error suggests works, and the audit passes.
	code, stdout, stderr = runCLI(t, nil, "fingerprint", src, "--out", out, "--keep", "/img/logo.png")
	if code != 0 || !strings.Contains(stdout, "audit:    ") || !strings.Contains(stdout, "every reference to a renamed file names its new name") {
		t.Fatalf("--keep: exit %d\n%s\n%s", code, stdout, stderr)
	}

	// Nothing changed: the folder is kept, and so is the audit's pass.
	code, stdout, stderr = runCLI(t, nil, "fingerprint", src, "--out", out, "--keep", "/img/logo.png")
	if code != 0 || !strings.Contains(stdout, "as the last run's audit passed them") {
		t.Fatalf("unchanged re-run: exit %d\n%s\n%s", code, stdout, stderr)
	}

	// A wrong mode is a usage error as a flag, and a configuration error
	// naming the key in the configuration (exit 2 as well, as every other
	// bad value there: docs/cli.md's exit codes).
	if code, _, stderr := runCLI(t, nil, "fingerprint", src, "--out", out, "--audit=off"); code != ExitUsage || !strings.Contains(stderr, `audit "off": want error`) {
		t.Errorf("--audit=off: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := runCLI(t, map[string]string{"CDNCTL_FINGERPRINT_AUDIT": "maybe"}, "fingerprint", src, "--out", out); code != ExitUsage || !strings.Contains(stderr, `fingerprint section: audit "maybe"`) {
		t.Errorf("CDNCTL_FINGERPRINT_AUDIT=maybe: exit %d\n%s", code, stderr)
	}
}

// TestFingerprintAuditDocs: the audit's examples in docs/fingerprint.md
// are what the command prints for auditBrokenSite.
func TestFingerprintAuditDocs(t *testing.T) {
	src := writeSite(t, auditBrokenSite(t))
	out := filepath.Join(t.TempDir(), "out")
	code, _, stderr := runCLI(t, nil, "fingerprint", src, "--out", out)
	if code != ExitFailure {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	// The docs show the error; the line before it says the run started
	// (without a terminal), naming this test's temporary folders.
	started, stderr, ok := strings.Cut(stderr, "\n")
	if !ok || !strings.Contains(started, `msg="fingerprint: started"`) {
		t.Errorf("stderr does not start with the start line:\n%s", started)
	}
	code, stdout, errOut := runCLI(t, nil, "fingerprint", src, "--out", out, "--keep", "/img/logo.png")
	if code != 0 {
		t.Fatalf("--keep: exit %d\n%s", code, errOut)
	}
	var summary string
	for _, l := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(l, "  audit:") {
			summary = l + "\n"
		}
	}
	doc, err := os.ReadFile(filepath.Join("..", "docs", "fingerprint.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{stderr, summary} {
		if want == "" || !strings.Contains(string(doc), "```\n"+want+"```\n") {
			t.Errorf("docs/fingerprint.md (The audit) does not show what the command prints:\n%s", want)
		}
	}
}
