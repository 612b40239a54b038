// Package sitedetect recognises the static-site generator of a project
// from the files at its root (package.json dependencies, hugo.toml,
// astro.config.mjs, next.config.js, …) and the folder its build writes,
// as `cdnctl init` needs to write a cdnctl.yaml. It reads an fs.FS and
// runs nothing.
package sitedetect

import (
	"encoding/json"
	"io/fs"
	"path"
	"regexp"
	"strings"
)

// Result is what was recognised.
type Result struct {
	// Generator names it ("Hugo", "Astro", …); "" when nothing was
	// recognised.
	Generator string
	// Output is the build folder, relative to the project root, with
	// forward slashes.
	Output string
	// Evidence says what it was recognised by ("hugo.toml", "package.json
	// dependency astro").
	Evidence string
	// Build is the usual build command ("" when unknown).
	Build string
	// Note is something the user must know about the output (Next.js only
	// writes a static folder with output: 'export').
	Note string
}

// generator is one rule: config files at the root, or a package.json
// dependency, and the default output folder.
type generator struct {
	name    string
	files   []string // any of these at the root
	deps    []string // any of these in package.json (dependencies or devDependencies)
	output  string
	build   string
	outKeys []*regexp.Regexp // read the output folder from the config file
	note    string
}

// Frameworks before the bundler they build on (Astro, SvelteKit and
// VitePress use Vite), so the first match is the most specific.
var generators = []generator{
	{name: "Hugo", files: []string{"hugo.toml", "hugo.yaml", "hugo.json", "config/_default/hugo.toml"}, output: "public", build: "hugo --minify",
		outKeys: []*regexp.Regexp{regexp.MustCompile(`(?m)^\s*publishDir\s*[=:]\s*["']?([^"'\s]+)`)}},
	{name: "Next.js", files: []string{"next.config.js", "next.config.mjs", "next.config.ts", "next.config.cjs"}, deps: []string{"next"}, output: "out", build: "next build",
		outKeys: []*regexp.Regexp{regexp.MustCompile(`distDir\s*:\s*["']([^"']+)`)},
		note:    "Next.js writes a static folder only with output: 'export' in next.config"},
	{name: "Astro", files: []string{"astro.config.mjs", "astro.config.js", "astro.config.ts", "astro.config.mts"}, deps: []string{"astro"}, output: "dist", build: "astro build",
		outKeys: []*regexp.Regexp{regexp.MustCompile(`outDir\s*:\s*["']\.?/?([^"']+)`)}},
	{name: "Nuxt", files: []string{"nuxt.config.ts", "nuxt.config.js"}, deps: []string{"nuxt"}, output: ".output/public", build: "nuxt generate"},
	{name: "SvelteKit", files: []string{"svelte.config.js"}, deps: []string{"@sveltejs/kit"}, output: "build", build: "vite build",
		note: "SvelteKit writes a static folder with @sveltejs/adapter-static"},
	{name: "Gatsby", files: []string{"gatsby-config.js", "gatsby-config.ts", "gatsby-config.mjs"}, deps: []string{"gatsby"}, output: "public", build: "gatsby build"},
	{name: "Docusaurus", files: []string{"docusaurus.config.js", "docusaurus.config.ts"}, deps: []string{"@docusaurus/core"}, output: "build", build: "docusaurus build"},
	{name: "VitePress", deps: []string{"vitepress"}, output: "docs/.vitepress/dist", build: "vitepress build docs"},
	{name: "Eleventy", files: []string{"eleventy.config.js", "eleventy.config.mjs", "eleventy.config.cjs", ".eleventy.js"}, deps: []string{"@11ty/eleventy"}, output: "_site", build: "eleventy"},
	{name: "Create React App", deps: []string{"react-scripts"}, output: "build", build: "react-scripts build"},
	{name: "Vite", files: []string{"vite.config.js", "vite.config.mjs", "vite.config.ts", "vite.config.mts"}, deps: []string{"vite"}, output: "dist", build: "vite build",
		outKeys: []*regexp.Regexp{regexp.MustCompile(`outDir\s*:\s*["']\.?/?([^"']+)`)}},
	{name: "Jekyll", files: []string{"_config.yml", "_config.yaml"}, output: "_site", build: "jekyll build",
		outKeys: []*regexp.Regexp{regexp.MustCompile(`(?m)^destination\s*:\s*["']?\.?/?([^"'\s]+)`)}},
	{name: "MkDocs", files: []string{"mkdocs.yml", "mkdocs.yaml"}, output: "site", build: "mkdocs build",
		outKeys: []*regexp.Regexp{regexp.MustCompile(`(?m)^site_dir\s*:\s*["']?\.?/?([^"'\s]+)`)}},
	{name: "Zola", files: []string{"zola.toml"}, output: "public", build: "zola build"},
}

var (
	hugoBaseURL = regexp.MustCompile(`(?m)^\s*baseURL\s*=`)
	zolaBaseURL = regexp.MustCompile(`(?m)^\s*base_url\s*=`)
)

// packageJSON is the part of package.json read.
type packageJSON struct {
	Dependencies    map[string]string `json:"dependencies"`
	DevDependencies map[string]string `json:"devDependencies"`
}

// Detect recognises the generator of the project at the root of fsys.
// Config files at the root win over package.json dependencies, in the
// order of the table (frameworks before the bundlers they use). A
// project nothing recognises gets the first of public, dist, build,
// _site and out that exists, with an empty Generator.
func Detect(fsys fs.FS) Result {
	var pkg packageJSON
	if data, err := fs.ReadFile(fsys, "package.json"); err == nil {
		json.Unmarshal(data, &pkg) // a broken package.json names no dependency
	}
	hasDep := func(d string) bool {
		_, a := pkg.Dependencies[d]
		_, b := pkg.DevDependencies[d]
		return a || b
	}
	for _, g := range generators {
		for _, f := range g.files {
			if _, err := fs.Stat(fsys, f); err == nil {
				return g.result(fsys, f, f)
			}
		}
	}
	// config.toml is Hugo's older name, and Zola's: told apart by how
	// they spell the base URL.
	if data, err := fs.ReadFile(fsys, "config.toml"); err == nil {
		for _, g := range generators {
			if g.name == "Hugo" && hugoBaseURL.Match(data) || g.name == "Zola" && zolaBaseURL.Match(data) {
				return g.result(fsys, "config.toml", "config.toml")
			}
		}
	}
	for _, g := range generators {
		for _, d := range g.deps {
			if hasDep(d) {
				cfg := ""
				for _, f := range g.files {
					if _, err := fs.Stat(fsys, f); err == nil {
						cfg = f
						break
					}
				}
				return g.result(fsys, cfg, "package.json dependency "+d)
			}
		}
	}
	for _, dir := range []string{"public", "dist", "build", "_site", "out"} {
		if st, err := fs.Stat(fsys, dir); err == nil && st.IsDir() {
			return Result{Output: dir, Evidence: "folder " + dir + "/"}
		}
	}
	return Result{}
}

// result fills in the output folder, from the config file when it sets
// one.
func (g generator) result(fsys fs.FS, cfgFile, evidence string) Result {
	r := Result{Generator: g.name, Output: g.output, Evidence: evidence, Build: g.build, Note: g.note}
	if cfgFile == "" {
		return r
	}
	data, err := fs.ReadFile(fsys, cfgFile)
	if err != nil {
		return r
	}
	for _, re := range g.outKeys {
		if m := re.FindSubmatch(data); m != nil {
			out := path.Clean(strings.TrimPrefix(string(m[1]), "./"))
			if out != "." && !strings.HasPrefix(out, "..") && !path.IsAbs(out) {
				r.Output = out
			}
			break
		}
	}
	return r
}
