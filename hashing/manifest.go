package hashing

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"runtime"
	"slices"
	"sort"
	"strconv"
)

// DefaultManifestName is the manifest file written at the top of the output
// folder.
const DefaultManifestName = "cdnctl-manifest.json"

// ManifestVersion is the schema version written in Manifest.Version.
const ManifestVersion = 1

// Manifest describes a fingerprinted build: for every logical path (the
// name in the source folder) the file that serves it and the headers it
// should be served with. It is what the static origin, push, purge,
// prewarm and verify read. Encoded with WriteTo it is deterministic byte for
// byte: keys are sorted and nothing depends on time or the machine.
type Manifest struct {
	Version int `json:"version"`
	// Algorithm is the content hash used for names and SHA256 fields.
	Algorithm string `json:"algorithm"`
	// Files is keyed by logical path: slash-separated, relative to the
	// site root, no leading slash ("css/app.css").
	Files map[string]Entry `json:"files"`
}

// Entry is one logical file of a Manifest.
type Entry struct {
	// Path is the output path, relative to the site root: the hashed name
	// for fingerprinted assets ("css/app.3f9a1c0e2b.css"), the logical path
	// for entry points.
	Path string `json:"path"`
	// Fingerprinted is true when Path carries the content hash, so the
	// file is immutable and never needs purging.
	Fingerprinted bool `json:"fingerprinted"`
	// SHA256 is the lowercase hex SHA-256 of the output bytes (after
	// references were rewritten).
	SHA256 string `json:"sha256"`
	// Integrity is the Subresource Integrity value, "sha384-<base64>",
	// of the resources integrity checks apply to: scripts, style sheets
	// and other text, JSON and WebAssembly (what integrity attributes and
	// fetch() check). Empty for images, fonts, media and other binaries,
	// where computing it would double the cost of hashing.
	Integrity    string            `json:"integrity,omitempty"`
	Size         int64             `json:"size"`
	ContentType  string            `json:"content_type"`
	CacheControl string            `json:"cache_control"`
	Headers      map[string]string `json:"headers,omitempty"`
	Tags         []string          `json:"tags,omitempty"`
	// Encodings lists precompressed siblings by content coding ("br",
	// "gzip").
	Encodings map[string]Encoding `json:"encodings,omitempty"`
}

// Encoding is a precompressed sibling of an Entry ("app.3f9a1c0e2b.css.br").
type Encoding struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// WriteTo writes m as indented JSON with a trailing newline.
func (m *Manifest) WriteTo(w io.Writer) (int64, error) {
	b, err := m.encode()
	if err != nil {
		return 0, fmt.Errorf("manifest: %w", err)
	}
	b = append(b, '\n')
	n, err := w.Write(b)
	return int64(n), err
}

// encode returns json.MarshalIndent(m, "", "  "), the entries of a large
// manifest (one per file of the site) encoded on several goroutines. The
// fields around Files are written here by hand: TestManifestEncoding fails
// when a field added to Manifest is not.
func (m *Manifest) encode() ([]byte, error) {
	if len(m.Files) < 512 {
		return json.MarshalIndent(m, "", "  ")
	}
	keys := make([]string, 0, len(m.Files))
	for k := range m.Files {
		keys = append(keys, k)
	}
	slices.Sort(keys) // as encoding/json sorts map keys
	parts := make([][]byte, len(keys))
	errs := make([]error, len(keys))
	inParallel(len(keys), runtime.GOMAXPROCS(0), func(i int) {
		k, err := json.Marshal(keys[i])
		if err == nil {
			var v []byte
			v, err = json.MarshalIndent(m.Files[keys[i]], "    ", "  ")
			parts[i] = slices.Concat([]byte("    "), k, []byte(": "), v)
		}
		errs[i] = err
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	alg, err := json.Marshal(m.Algorithm)
	if err != nil {
		return nil, err
	}
	size := 64 + len(alg)
	for _, p := range parts {
		size += len(p) + 2
	}
	out := make([]byte, 0, size)
	out = append(out, "{\n  \"version\": "...)
	out = strconv.AppendInt(out, int64(m.Version), 10)
	out = append(out, ",\n  \"algorithm\": "...)
	out = append(out, alg...)
	out = append(out, ",\n  \"files\": {\n"...)
	for i, p := range parts {
		if i > 0 {
			out = append(out, ",\n"...)
		}
		out = append(out, p...)
	}
	return append(out, "\n  }\n}"...), nil
}

// ReadManifest decodes a manifest and checks its version.
func ReadManifest(r io.Reader) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if m.Version != ManifestVersion {
		return nil, fmt.Errorf("manifest: version %d: want %d", m.Version, ManifestVersion)
	}
	return &m, nil
}

// LoadManifest reads name (DefaultManifestName if empty) from fsys.
func LoadManifest(fsys fs.FS, name string) (*Manifest, error) {
	if name == "" {
		name = DefaultManifestName
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	defer f.Close()
	m, err := ReadManifest(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return m, nil
}

// ByPath indexes the manifest by output path (including precompressed
// siblings, which map to their Entry too): what a server that receives a
// request for "css/app.3f9a1c0e2b.css" needs.
func (m *Manifest) ByPath() map[string]Entry {
	idx := make(map[string]Entry, len(m.Files))
	for _, e := range m.Files {
		idx[e.Path] = e
		for _, enc := range e.Encodings {
			idx[enc.Path] = e
		}
	}
	return idx
}

// LogicalPaths returns the manifest's logical paths, sorted.
func (m *Manifest) LogicalPaths() []string {
	keys := make([]string, 0, len(m.Files))
	for k := range m.Files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
