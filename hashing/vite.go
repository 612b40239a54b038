package hashing

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
)

// ViteManifest is the Vite-compatible manifest ("build.manifest": true):
// for each logical path, the file that serves it, so backend integrations
// written for Vite (Laravel, Rails, Django) can look names up.
type ViteManifest map[string]ViteChunk

// ViteChunk is one entry of a ViteManifest. CSS and Assets list the output
// paths of the style sheets and other files a file references.
type ViteChunk struct {
	File    string   `json:"file"`
	Src     string   `json:"src"`
	IsEntry bool     `json:"isEntry,omitempty"`
	CSS     []string `json:"css,omitempty"`
	Assets  []string `json:"assets,omitempty"`
}

func (b *builder) viteManifest() ViteManifest {
	m := make(ViteManifest, len(b.nodes))
	keys := b.manifestKeys()
	for _, n := range b.nodes {
		c := ViteChunk{File: n.out, Src: keys[n], IsEntry: n.entry}
		for _, l := range n.links {
			t := l.target
			if l.late || l.integrity || !l.resource {
				continue
			}
			switch strings.ToLower(path.Ext(t.logical)) {
			case ".css":
				c.CSS = appendUnique(c.CSS, t.out)
			case ".js", ".mjs", ".map":
			default:
				c.Assets = appendUnique(c.Assets, t.out)
			}
		}
		slices.Sort(c.CSS)
		slices.Sort(c.Assets)
		m[keys[n]] = c
	}
	return m
}

func appendUnique(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

// encode writes the manifest as indented JSON (sorted keys) with a
// trailing newline.
func (m ViteManifest) encode() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("vite manifest: %w", err)
	}
	return append(b, '\n'), nil
}
