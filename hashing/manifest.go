package hashing

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"unicode/utf8"
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

// encode returns json.MarshalIndent(m, "", "  "), written by hand (see
// appendEntry): reflection and the indentation pass cost more than the
// rest of an unchanged re-run. The entries of a large manifest are
// encoded on several goroutines.
func (m *Manifest) encode() ([]byte, error) {
	out := append([]byte(nil), "{\n  \"version\": "...)
	out = strconv.AppendInt(out, int64(m.Version), 10)
	out = append(out, ",\n  \"algorithm\": "...)
	out = appendJSONString(out, m.Algorithm)
	out = append(out, ",\n  \"files\": "...)
	switch {
	case m.Files == nil:
		return append(out, "null\n}"...), nil
	case len(m.Files) == 0:
		return append(out, "{}\n}"...), nil
	}
	keys := make([]string, 0, len(m.Files))
	for k := range m.Files {
		keys = append(keys, k)
	}
	slices.Sort(keys) // as encoding/json sorts map keys
	parts := make([][]byte, len(keys))
	encodeOne := func(i int) {
		e := m.Files[keys[i]]
		p := append(make([]byte, 0, 512), "    "...)
		p = appendJSONString(p, keys[i])
		p = append(p, ": "...)
		parts[i] = appendEntry(p, &e)
	}
	if len(keys) < 512 {
		for i := range keys {
			encodeOne(i)
		}
	} else {
		inParallel(len(keys), runtime.GOMAXPROCS(0), encodeOne)
	}
	size := len(out) + 16
	for _, p := range parts {
		size += len(p) + 2
	}
	out = slices.Grow(out, size)
	out = append(out, "{\n"...)
	for i, p := range parts {
		if i > 0 {
			out = append(out, ",\n"...)
		}
		out = append(out, p...)
	}
	return append(out, "\n  }\n}"...), nil
}

// appendEntry appends e as json.MarshalIndent(e, "    ", "  ") writes it
// (an entry of the manifest's files; TestManifestEncoding and
// FuzzEntryEncoding compare).
func appendEntry(dst []byte, e *Entry) []byte {
	const in = "\n      " // the entry's fields
	dst = append(dst, "{"+in+"\"path\": "...)
	dst = appendJSONString(dst, e.Path)
	dst = append(dst, ","+in+"\"fingerprinted\": "...)
	dst = strconv.AppendBool(dst, e.Fingerprinted)
	dst = append(dst, ","+in+"\"sha256\": "...)
	dst = appendJSONString(dst, e.SHA256)
	if e.Integrity != "" {
		dst = append(dst, ","+in+"\"integrity\": "...)
		dst = appendJSONString(dst, e.Integrity)
	}
	dst = append(dst, ","+in+"\"size\": "...)
	dst = strconv.AppendInt(dst, e.Size, 10)
	dst = append(dst, ","+in+"\"content_type\": "...)
	dst = appendJSONString(dst, e.ContentType)
	dst = append(dst, ","+in+"\"cache_control\": "...)
	dst = appendJSONString(dst, e.CacheControl)
	const in2 = "\n        " // inside a field
	if len(e.Headers) > 0 {
		dst = append(dst, ","+in+"\"headers\": {"...)
		dst = appendMembers(dst, e.Headers, in2, appendJSONString)
		dst = append(dst, in+"}"...)
	}
	if len(e.Tags) > 0 {
		dst = append(dst, ","+in+"\"tags\": ["...)
		for i, t := range e.Tags {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, in2...)
			dst = appendJSONString(dst, t)
		}
		dst = append(dst, in+"]"...)
	}
	if len(e.Encodings) > 0 {
		const in3 = "\n          " // inside an encoding
		dst = append(dst, ","+in+"\"encodings\": {"...)
		dst = appendMembers(dst, e.Encodings, in2, func(dst []byte, enc Encoding) []byte {
			dst = append(dst, "{"+in3+"\"path\": "...)
			dst = appendJSONString(dst, enc.Path)
			dst = append(dst, ","+in3+"\"size\": "...)
			dst = strconv.AppendInt(dst, enc.Size, 10)
			dst = append(dst, ","+in3+"\"sha256\": "...)
			dst = appendJSONString(dst, enc.SHA256)
			return append(dst, in2+"}"...)
		})
		dst = append(dst, in+"}"...)
	}
	return append(dst, "\n    }"...)
}

// appendMembers appends the members of the JSON object m, in key order,
// each on a line of its own starting with indent: "key": value.
func appendMembers[V any](dst []byte, m map[string]V, indent string, value func([]byte, V) []byte) []byte {
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, indent...)
		dst = appendJSONString(dst, k)
		dst = append(dst, ": "...)
		dst = value(dst, m[k])
	}
	return dst
}

// appendJSONString appends s as a JSON string the way encoding/json
// writes it: <, > and & escaped (\u003c…), control characters escaped,
// invalid UTF-8 as \ufffd, U+2028 and U+2029 escaped.
func appendJSONString(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
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
