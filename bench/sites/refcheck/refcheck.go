// Package refcheck finds the local references of a built site that name no
// file of it: every path-like string in its text files (HTML, CSS,
// JavaScript, JSON, XML, SVG, text and web manifests), wherever it appears
// — attributes, url(), string literals, JSON values, strings inside strings
// (an RSC payload in a script in a page), service worker precache lists —
// resolved against the site.
//
// It is the independent check of cdnctl fingerprint's output: it shares no
// code with package hashing (whose reference scanner is what it checks) and
// deliberately works differently. It does not parse any language; it scans
// the text of each file (with JSON, JavaScript and HTML escapes of "/" and
// quotes undone) for runs of URL characters that end in a file extension
// found in the site, so it also sees strings that no parser would call a
// reference: a name a runtime joins to a base ("assets/About-3f9a.js",
// "static/chunks/0cz1.js"), a URL in a JSON data file. It resolves each
// against the site the way a browser or a runtime could:
//
//   - "/a/b.png" and "https://HOST/a/b.png" (HOST one of Options.Hosts)
//     against the site root;
//   - a relative "b.png", "./b.png" or "../a/b.png" against the folder of
//     the file that holds it, and, as runtimes join names to a base the scan
//     cannot know (Vite's preload list is relative to the site's base,
//     Turbopack's chunk list to "/_next/"), a relative name without "../"
//     also resolves when some file's path ends with it.
//
// A string that resolves to nothing is dangling. On a generator's own
// output there are none (the tests check this for every fixture of
// hashing/testdata/sites), so any found after a tool changed the site is a
// reference that tool broke.
//
// Source maps (*.map) are not scanned: their "sources" name the files the
// bundle was built from, not files of the site.
package refcheck

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Options configure Check.
type Options struct {
	// Hosts are the host names (with port, if any) the site is served at:
	// absolute URLs on them are local references. Other absolute URLs are
	// not checked.
	Hosts []string
	// Skip lists file paths (slash-separated, relative to the site root)
	// not scanned, such as a tool's own manifest that names files by
	// their former names. A path ending in "/" skips a folder.
	Skip []string
	// Original is the folder of the site before a tool changed it (empty:
	// the folder checked). The strings checked are those ending in the
	// extension of one of its files, and a relative one ("x.js",
	// "assets/x.js", "../x.js") only when its base name is the name of
	// one of its files: "Next.js" in a script, or "src/main.js" in a
	// bundler's manifest, are not references to the site.
	Original string
}

// Reference is a string of the site that names a file of it.
type Reference struct {
	File string // path of the file holding the reference, relative to the site root
	Line int    // 1-based
	Ref  string // the string as it appears (after unescaping)
	// Target is the site path it resolves to (for a relative name, the
	// one against the file's folder).
	Target string
	// Found is whether a file of the site is there. A reference not
	// found is dangling.
	Found bool
}

func (r Reference) String() string {
	if r.Found {
		return fmt.Sprintf("%s:%d: %q names %s", r.File, r.Line, r.Ref, r.Target)
	}
	return fmt.Sprintf("%s:%d: %q names %s, which is not in the site", r.File, r.Line, r.Ref, r.Target)
}

// scanned are the extensions of the files whose text is searched.
var scanned = map[string]bool{
	".html": true, ".htm": true, ".css": true, ".js": true, ".mjs": true, ".cjs": true,
	".json": true, ".xml": true, ".svg": true, ".txt": true, ".webmanifest": true,
	".rss": true, ".atom": true,
}

func extensionsOf(files map[string]bool) []string {
	set := map[string]bool{}
	for f := range files {
		if e := strings.ToLower(path.Ext(f)); e != "" && e != "." {
			set[e] = true
		}
	}
	var out []string
	for e := range set {
		out = append(out, e)
	}
	sort.Strings(out)
	return out
}

func listFiles(dir string) (map[string]bool, error) {
	files := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			files[filepath.ToSlash(rel)] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("refcheck: %w", err)
	}
	return files, nil
}

// Check scans the site in dir and returns its dangling references, sorted
// by file and line.
func Check(dir string, opts Options) ([]Reference, error) {
	refs, err := Scan(dir, opts)
	if err != nil {
		return nil, err
	}
	var out []Reference
	for _, r := range refs {
		if !r.Found {
			out = append(out, r)
		}
	}
	return out, nil
}

// Scan returns every reference of the site in dir, found or not, sorted by
// file and line.
func Scan(dir string, opts Options) ([]Reference, error) {
	files, err := listFiles(dir)
	if err != nil {
		return nil, err
	}
	original := files
	if opts.Original != "" {
		if original, err = listFiles(opts.Original); err != nil {
			return nil, err
		}
	}
	c := &checker{files: files, hosts: map[string]bool{}, suffixes: map[string]string{}, names: map[string]bool{}}
	for f := range original {
		c.names[path.Base(f)] = true
	}
	for _, h := range opts.Hosts {
		c.hosts[strings.ToLower(h)] = true
	}
	for f := range files {
		for i := -1; i < len(f); i++ {
			if i < 0 || f[i] == '/' {
				if prev, ok := c.suffixes[f[i+1:]]; !ok || f < prev {
					c.suffixes[f[i+1:]] = f
				}
			}
		}
	}
	c.pattern = refPattern(extensionsOf(original))
	var names []string
	for f := range files {
		if scanned[strings.ToLower(path.Ext(f))] && !skipped(f, opts.Skip) {
			names = append(names, f)
		}
	}
	sort.Strings(names)
	var out []Reference
	for _, f := range names {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
		if err != nil {
			return nil, fmt.Errorf("refcheck: %w", err)
		}
		out = append(out, c.scan(f, b)...)
	}
	return out, nil
}

func skipped(f string, skip []string) bool {
	for _, s := range skip {
		if f == s || strings.HasSuffix(s, "/") && strings.HasPrefix(f, s) {
			return true
		}
	}
	return false
}

type checker struct {
	files    map[string]bool   // every file of the site
	suffixes map[string]string // every file path, and every tail of one after a "/", to such a file
	names    map[string]bool   // base names of the original site's files
	hosts    map[string]bool
	pattern  *regexp.Regexp
}

// refPattern matches a run of URL characters ending in one of exts, with an
// optional scheme and host in front and an optional query or fragment
// after. Group 1 is the whole reference, group 2 the part before the query.
func refPattern(exts []string) *regexp.Regexp {
	var alts []string
	for _, e := range exts {
		alts = append(alts, regexp.QuoteMeta(strings.TrimPrefix(e, ".")))
	}
	// Longest first, so ".woff2" is not cut to ".woff".
	sort.Slice(alts, func(i, j int) bool { return len(alts[i]) > len(alts[j]) })
	const pathChars = `A-Za-z0-9_\-.~%@$+!/\[\]`
	return regexp.MustCompile(`(?i)((?:(?:https?:)?//[A-Za-z0-9.\-]+(?::[0-9]+)?)?([` + pathChars + `]*\.(?:` +
		strings.Join(alts, "|") + `))(?:[?#][^\s"'<>\x60\\)]*)?)(?:[^` + pathChars + `]|$)`)
}

// unescape undoes the escapes that hide a "/" or a quote in JSON,
// JavaScript and HTML text, keeping every line where it is.
var unescape = strings.NewReplacer(
	`\/`, `/`, `\u002F`, `/`, `\u002f`, `/`, `\x2F`, `/`, `\x2f`, `/`,
	`\"`, `"`, `\'`, `'`, `\u0022`, `"`, `\u0027`, `'`,
	`&#x2F;`, `/`, `&#x2f;`, `/`, `&#47;`, `/`, `&sol;`, `/`,
	`&quot;`, `"`, `&#34;`, `"`, `&#x22;`, `"`, `&#39;`, `'`, `&#x27;`, `'`, `&apos;`, `'`,
	`&amp;`, `&`, `&#38;`, `&`, `&lt;`, `<`, `&gt;`, `>`,
)

func (c *checker) scan(file string, b []byte) []Reference {
	var out []Reference
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), len(b)+1)
	line := 0
	for sc.Scan() {
		line++
		// Undo escapes until nothing changes: "\\\/" in a string in a
		// string in a page is "/" three levels down.
		text := sc.Text()
		for i := 0; i < 4; i++ {
			next := unescape.Replace(strings.ReplaceAll(text, `\\`, `\`))
			if next == text {
				break
			}
			text = next
		}
		for _, m := range c.pattern.FindAllStringSubmatchIndex(text, -1) {
			ref, p := text[m[2]:m[3]], text[m[4]:m[5]]
			if !c.candidate(text, m[2], p) {
				continue
			}
			if target, ok := c.resolve(file, ref); target != "" {
				out = append(out, Reference{File: file, Line: line, Ref: ref, Target: target, Found: ok})
			}
		}
	}
	return out
}

// candidate reports whether the run p, starting at start in text, looks
// like a file reference rather than code or prose. Its base name needs a
// stem (".lean.js", a suffix a runtime appends, is not a file). A path from
// the root or with a scheme always counts. A relative one has to begin a
// quoted string, a url(…) argument, a sourceMappingURL comment's value or
// an item of a comma-separated list (srcset), so that "e.js" in "x=e.js"
// (a property) or "public/data.json" in a sentence is not taken for a
// file; and it has to have the base name of a file of the original site
// (a bundle holds other relative paths: the keys of a bundled
// import.meta.glob, "../../translations/fr.json", or a module name of
// generated glue code, "./pagefind_web_bg.js").
func (c *checker) candidate(text string, start int, p string) bool {
	base := p[strings.LastIndexByte(p, '/')+1:]
	if strings.TrimLeft(base[:strings.LastIndexByte(base, '.')], ".") == "" {
		return false
	}
	if strings.HasPrefix(p, "/") || strings.HasPrefix(text[start:], "http") {
		return true
	}
	if !c.names[base] {
		return false
	}
	if start == 0 {
		return false
	}
	before := text[:start]
	switch before[len(before)-1] {
	case '"', '\'', '`':
		return true
	case '(':
		return strings.HasSuffix(strings.ToLower(before[:len(before)-1]), "url")
	case '=':
		return strings.HasSuffix(before[:len(before)-1], "sourceMappingURL")
	}
	return strings.HasSuffix(strings.TrimRight(before, " \t"), ",")
}

// resolve returns the site path ref names and whether a file is there.
func (c *checker) resolve(file, ref string) (string, bool) {
	u, err := url.Parse(ref)
	if err != nil {
		return "", true // not a URL: not a reference
	}
	if u.Scheme != "" || u.Host != "" {
		if u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https" || !c.hosts[strings.ToLower(u.Host)] {
			return "", true // another site's
		}
	}
	p := u.Path
	if p == "" {
		return "", true
	}
	var t string
	if strings.HasPrefix(p, "/") {
		t = strings.TrimPrefix(path.Clean(p), "/")
	} else {
		t = strings.TrimPrefix(path.Clean("/"+path.Join(path.Dir(file), p)), "/")
	}
	if c.files[t] {
		return t, true
	}
	// A runtime may join the name to a base the scan cannot know.
	if !strings.HasPrefix(p, "../") {
		if f, ok := c.suffixes[strings.TrimPrefix(path.Clean(p), "/")]; ok {
			return f, true
		}
	}
	return t, false
}
