package sitedetect

import (
	"testing"
	"testing/fstest"
)

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

func TestDetect(t *testing.T) {
	tests := []struct {
		name  string
		fsys  fstest.MapFS
		want  Result
		check func(Result) bool
	}{
		{"hugo.toml", fstest.MapFS{"hugo.toml": file("baseURL = 'https://example.org/'\nlanguageCode = 'en-us'\ntitle = 'My New Hugo Site'\n")},
			Result{Generator: "Hugo", Output: "public", Evidence: "hugo.toml", Build: "hugo --minify"}, nil},
		{"hugo publishDir", fstest.MapFS{"hugo.yaml": file("baseURL: https://example.org/\npublishDir: site-out\n")},
			Result{Generator: "Hugo", Output: "site-out", Evidence: "hugo.yaml", Build: "hugo --minify"}, nil},
		{"legacy hugo config.toml", fstest.MapFS{"config.toml": file("baseURL = \"https://example.org/\"\ntheme = \"ananke\"\n")},
			Result{Generator: "Hugo", Output: "public", Evidence: "config.toml", Build: "hugo --minify"}, nil},
		{"zola config.toml", fstest.MapFS{"config.toml": file("base_url = \"https://example.com\"\ncompile_sass = false\n")},
			Result{Generator: "Zola", Output: "public", Evidence: "config.toml", Build: "zola build"}, nil},
		// What `npm create astro@latest` writes: the config file and the
		// dependency; the config file is the evidence.
		{"astro", fstest.MapFS{
			"astro.config.mjs": file("// @ts-check\nimport { defineConfig } from 'astro/config';\n\n// https://astro.build/config\nexport default defineConfig({});\n"),
			"package.json":     file(`{"name":"site","type":"module","scripts":{"dev":"astro dev","build":"astro build"},"dependencies":{"astro":"^5.16.0"}}`),
		}, Result{Generator: "Astro", Output: "dist", Evidence: "astro.config.mjs", Build: "astro build"}, nil},
		{"astro outDir", fstest.MapFS{"astro.config.mjs": file("export default defineConfig({ outDir: './build-out' });\n")},
			Result{Generator: "Astro", Output: "build-out", Evidence: "astro.config.mjs", Build: "astro build"}, nil},
		{"next", fstest.MapFS{
			"next.config.mjs": file("/** @type {import('next').NextConfig} */\nconst nextConfig = { output: 'export' };\nexport default nextConfig;\n"),
			"package.json":    file(`{"dependencies":{"next":"15.1.0","react":"^19.0.0","react-dom":"^19.0.0"}}`),
		}, Result{}, func(r Result) bool { return r.Generator == "Next.js" && r.Output == "out" && r.Note != "" }},
		// Vite is a dependency of the frameworks built on it: the framework
		// is named.
		{"sveltekit over vite", fstest.MapFS{
			"package.json": file(`{"devDependencies":{"@sveltejs/kit":"^2.0.0","@sveltejs/adapter-static":"^3.0.0","vite":"^6.0.0"}}`),
		}, Result{}, func(r Result) bool {
			return r.Generator == "SvelteKit" && r.Output == "build" && r.Evidence == "package.json dependency @sveltejs/kit"
		}},
		{"vite", fstest.MapFS{
			"package.json":   file(`{"scripts":{"build":"vite build"},"devDependencies":{"vite":"^6.0.5"}}`),
			"vite.config.ts": file("import { defineConfig } from 'vite'\nexport default defineConfig({ build: { outDir: 'www' } })\n"),
		}, Result{Generator: "Vite", Output: "www", Evidence: "vite.config.ts", Build: "vite build"}, nil},
		{"eleventy", fstest.MapFS{"package.json": file(`{"devDependencies":{"@11ty/eleventy":"^3.0.0"}}`)},
			Result{Generator: "Eleventy", Output: "_site", Evidence: "package.json dependency @11ty/eleventy", Build: "eleventy"}, nil},
		{"jekyll destination", fstest.MapFS{"_config.yml": file("title: Blog\ndestination: ./out\n")},
			Result{Generator: "Jekyll", Output: "out", Evidence: "_config.yml", Build: "jekyll build"}, nil},
		{"mkdocs", fstest.MapFS{"mkdocs.yml": file("site_name: Docs\n")},
			Result{Generator: "MkDocs", Output: "site", Evidence: "mkdocs.yml", Build: "mkdocs build"}, nil},
		// An output key that leaves the project is not taken.
		{"output outside the project", fstest.MapFS{"hugo.toml": file("publishDir = '../elsewhere'\n")},
			Result{Generator: "Hugo", Output: "public", Evidence: "hugo.toml", Build: "hugo --minify"}, nil},
		{"broken package.json", fstest.MapFS{"package.json": file(`{"dependencies":`), "dist/index.html": file("x")},
			Result{Output: "dist", Evidence: "folder dist/"}, nil},
		{"nothing", fstest.MapFS{"README.md": file("hi")}, Result{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Detect(tt.fsys)
			if tt.check != nil {
				if !tt.check(got) {
					t.Errorf("Detect = %+v", got)
				}
				return
			}
			if got != tt.want {
				t.Errorf("Detect = %+v; want %+v", got, tt.want)
			}
		})
	}
}
