package origin

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cdnctl/cdnctl/dotfile"
	"github.com/cdnctl/cdnctl/hashing"
)

// secretTree is a build folder with the dotfiles the issue found served
// (and cached by the edges), next to ordinary files.
func secretTree(t *testing.T) string {
	return writeTree(t, map[string]string{
		"index.html":                 "<h1>home</h1>",
		"a.txt":                      "a",
		"docs/index.html":            "<h1>docs</h1>",
		".env":                       "SECRET_KEY=env-secret",
		".env.br":                    "SECRET-BR",
		".git/config":                "[remote] url = https://token@example.test/secret.git",
		".git/HEAD":                  "ref: refs/heads/secret",
		".htpasswd":                  "admin:$apr1$secret",
		".npmrc":                     "//registry.npmjs.org/:_authToken=npm-secret",
		"sub/.htaccess":              "Require all denied # secret",
		".nojekyll":                  "",
		".well-known/security.txt":   "Contact: mailto:security@example.test",
		".well-known/.secret":        "well-known-secret",
		".config/public/app.json":    `{"public": true}`,
		".config/private/creds.json": `{"secret": true}`,
	})
}

// TestDotfilesNotServed: dotfiles and hidden folders answer 404 however
// the path is spelled, except /.well-known/ and what the allow-list names.
func TestDotfilesNotServed(t *testing.T) {
	dir := secretTree(t)
	srv := startOrigin(t, dir, Options{})
	for _, line := range []string{
		"GET /.env HTTP/1.1",
		"HEAD /.env HTTP/1.1",
		"GET /.env/ HTTP/1.1",
		"GET /%2eenv HTTP/1.1",
		"GET /%2Eenv HTTP/1.1",
		"GET //.env HTTP/1.1",
		"GET /./.env HTTP/1.1",
		"GET /docs/../.env HTTP/1.1",
		"GET /.env?x=1 HTTP/1.1",
		"GET /.ENV HTTP/1.1", // a case-insensitive file system would find .env
		"GET /.git/config HTTP/1.1",
		"GET /.git/HEAD HTTP/1.1",
		"GET /.git HTTP/1.1", // no redirect revealing the folder
		"GET /.git/ HTTP/1.1",
		"GET /.htpasswd HTTP/1.1",
		"GET /.npmrc HTTP/1.1",
		"GET /sub/.htaccess HTTP/1.1",
		"GET /.nojekyll HTTP/1.1",
		"GET /.well-known/.secret HTTP/1.1",
		"GET /.config/private/creds.json HTTP/1.1",
		"GET /.config/public/app.json HTTP/1.1",
		"GET http://origin.test/.env HTTP/1.1",
	} {
		r := rawRequest(t, srv, line)
		if r.status != 404 && r.status != 400 {
			t.Errorf("%s = %d; want 404", line, r.status)
		}
		if strings.Contains(r.body, "secret") || r.header.Get("Location") != "" {
			t.Errorf("%s leaked: %q (Location %q)", line, r.body, r.header.Get("Location"))
		}
	}
	for path, want := range map[string]string{
		"/.well-known/security.txt": "Contact: mailto:security@example.test",
		"/a.txt":                    "a",
		"/docs/":                    "<h1>docs</h1>",
	} {
		if r := do(t, "GET", srv.URL+path, nil); r.status != 200 || r.body != want {
			t.Errorf("GET %s = %d %q; want 200 %q", path, r.status, r.body, want)
		}
	}
}

// TestAllowDotfiles: the allow-list serves exactly what it names.
func TestAllowDotfiles(t *testing.T) {
	dir := secretTree(t)
	allow, err := hashing.CompileGlobs([]string{".htaccess", "/.nojekyll", "/.config/public/"})
	if err != nil {
		t.Fatal(err)
	}
	srv := startOrigin(t, dir, Options{AllowDotfiles: allow})
	for path, want := range map[string]string{
		"/sub/.htaccess":            "Require all denied # secret",
		"/.nojekyll":                "",
		"/.config/public/app.json":  `{"public": true}`,
		"/.well-known/security.txt": "Contact: mailto:security@example.test",
	} {
		if r := do(t, "GET", srv.URL+path, nil); r.status != 200 || r.body != want {
			t.Errorf("allowed GET %s = %d %q; want 200 %q", path, r.status, r.body, want)
		}
	}
	for _, path := range []string{"/.env", "/.git/config", "/.htpasswd", "/.npmrc", "/.config/private/creds.json", "/.well-known/.secret", "/.nojekyll/"} {
		if r := do(t, "GET", srv.URL+path, nil); r.status != 404 {
			t.Errorf("GET %s = %d; want 404 (not allowed)", path, r.status)
		}
	}
}

// TestHiddenSiblingNotServed: a precompressed variant that the metadata
// places in a hidden folder is not served either.
func TestHiddenSiblingNotServed(t *testing.T) {
	const css, hidden = "h1{}", "HIDDEN-BR"
	dir := writeTree(t, map[string]string{"app.css": css, ".cache/app.css.br": hidden})
	writeManifest(t, dir, &hashing.Manifest{Version: 1, Algorithm: "sha256", Files: map[string]hashing.Entry{
		"app.css": {Path: "app.css", SHA256: sum(css), Size: int64(len(css)),
			Encodings: map[string]hashing.Encoding{"br": {Path: ".cache/app.css.br", Size: int64(len(hidden)), SHA256: sum(hidden)}}},
	}})
	srv := startOrigin(t, dir, Options{})
	if r := do(t, "GET", srv.URL+"/app.css", map[string]string{"Accept-Encoding": "br"}); r.status != 200 || r.body != css || r.header.Get("Content-Encoding") != "" {
		t.Errorf("GET /app.css (br) = %d %q %q; want the identity file, not the hidden variant", r.status, r.body, r.header.Get("Content-Encoding"))
	}
}

// TestTrailingSlashOnFile: a file's path with a trailing slash names a
// folder that does not exist: 404, as nginx and Apache answer, so one file
// has one URL (and one cache key).
func TestTrailingSlashOnFile(t *testing.T) {
	dir := writeTree(t, map[string]string{"index.html": "<h1>home</h1>", "a.txt": "a", "docs/index.html": "<h1>docs</h1>"})
	for _, policy := range HTMLHandlings {
		t.Run(string(policy), func(t *testing.T) { testTrailingSlashOnFile(t, dir, policy) })
	}
}

func testTrailingSlashOnFile(t *testing.T, dir string, policy HTMLHandling) {
	srv := startOrigin(t, dir, Options{HTMLHandling: policy})
	for _, line := range []string{
		"GET /index.html/ HTTP/1.1",
		"GET /a.txt/ HTTP/1.1",
		"GET /a.txt/. HTTP/1.1",
		"GET /a.txt%2f HTTP/1.1",
		"GET /a.txt// HTTP/1.1",
		"GET /docs/index.html/ HTTP/1.1",
		"HEAD /a.txt/ HTTP/1.1",
		"GET /a.txt/?x=1 HTTP/1.1",
	} {
		if r := rawRequest(t, srv, line); r.status != 404 || r.body == "a" || strings.Contains(r.body, "<h1>") {
			t.Errorf("%s = %d %q; want 404", line, r.status, r.body)
		}
	}
	want := map[string]string{"/": "<h1>home</h1>", "/index.html": "<h1>home</h1>", "/a.txt": "a", "/docs/": "<h1>docs</h1>"}
	switch policy {
	case NoHTMLHandling:
	case DropTrailingSlash:
		delete(want, "/index.html") // redirected to /, as /docs/ to /docs
		delete(want, "/docs/")
		want["/docs"] = "<h1>docs</h1>"
	default:
		delete(want, "/index.html")
	}
	for path, want := range want {
		if r := do(t, "GET", srv.URL+path, nil); r.status != 200 || r.body != want {
			t.Errorf("GET %s = %d %q; want 200 %q", path, r.status, r.body, want)
		}
	}
}

// TestPeers compares the folder origin with what nginx and Apache httpd
// answered on the same site (testdata/peers/peers.tsv, recorded by
// testdata/peers/record.sh): with html_handling none (their behaviour),
// the same status for ordinary paths and for a file's path with a trailing
// slash (404), and 404 for every dotfile but /.well-known/, where nginx
// serves them (200) unless told to deny them (403) and Apache denies only
// .ht* (403). The default auto-trailing-slash answers the same but for
// /index.html, redirected to /.
func TestPeers(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "peers", "peers.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	dir := writeTree(t, map[string]string{
		"index.html":               "home\n",
		"a.txt":                    "a\n",
		"docs/index.html":          "docs\n",
		".env":                     "SECRET=1\n",
		".htpasswd":                "admin:x\n",
		"sub/.htaccess":            "# comment\n",
		".git/config":              "[core]\n",
		".well-known/security.txt": "Contact: mailto:security@example.test\n",
	})
	// NoHTMLHandling is the nginx and Apache behaviour; the clean-URL
	// policies answer the same but for /index.html, redirected to /.
	srv := startOrigin(t, dir, Options{HTMLHandling: NoHTMLHandling})
	auto := startOrigin(t, dir, Options{})
	rows := 0
	for line := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			t.Fatalf("peers.tsv: %q: want path, nginx, nginx with deny, apache", line)
		}
		path, nginx, nginxDeny, apache := f[0], f[1], f[2], f[3]
		rows++
		got := fmt.Sprint(rawRequest(t, srv, "GET "+path+" HTTP/1.1").status)
		gotAuto := fmt.Sprint(rawRequest(t, auto, "GET "+path+" HTTP/1.1").status)
		switch {
		case path == "/index.html":
			if gotAuto != "308" {
				t.Errorf("auto-trailing-slash: GET %s = %s; want 308 to /", path, gotAuto)
			}
		case gotAuto != got:
			t.Errorf("auto-trailing-slash: GET %s = %s; want %s as with none", path, gotAuto, got)
		}
		switch {
		case dotfile.Hidden(path):
			if got != "404" {
				t.Errorf("GET %s = %s; want 404 (nginx %s, nginx with deny %s, apache %s)", path, got, nginx, nginxDeny, apache)
			}
		case nginx != apache:
			t.Errorf("peers.tsv: %s: nginx %s and apache %s differ: which to follow?", path, nginx, apache)
		case got != nginx:
			t.Errorf("GET %s = %s; want %s, as nginx and apache", path, got, nginx)
		}
	}
	if rows < 10 {
		t.Errorf("peers.tsv has %d rows", rows)
	}
}
