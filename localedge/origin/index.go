package origin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// StateDir is the folder under a directory origin's root where cdnctl keeps
// its own state. Nothing under it is ever served.
const StateDir = ".cdnctl"

// IndexName is the metadata index of a directory origin store, relative to
// its root (contracts.md §5).
const IndexName = StateDir + "/objects.json"

// IndexVersion is the schema version of Index.
const IndexVersion = 1

// Index is the metadata index of a directory origin store
// (<root>/.cdnctl/objects.json): for each object key, the headers it is
// served with. The writer (providers/local) replaces it atomically after the
// object files are in place; Handler re-reads it when it changes.
type Index struct {
	Version int                   `json:"version"`
	Objects map[string]ObjectMeta `json:"objects"`
}

// ObjectMeta describes one object of a directory origin store. Empty fields
// fall back to the fingerprint manifest, then to the built-in defaults.
type ObjectMeta struct {
	// SHA256 is the lowercase hex SHA-256 of the stored bytes; it becomes
	// the strong ETag.
	SHA256       string `json:"sha256"`
	Size         int64  `json:"size"`
	ContentType  string `json:"content_type,omitempty"`
	CacheControl string `json:"cache_control,omitempty"`
	// ContentEncoding is set when the stored bytes are themselves encoded
	// ("br", "gzip"): they are served as they are, with that
	// Content-Encoding, like S3 does.
	ContentEncoding string            `json:"content_encoding,omitempty"`
	Tags            []string          `json:"tags,omitempty"`
	Headers         map[string]string `json:"headers,omitempty"`
}

// ReadIndex decodes an index and checks its version. Unknown fields are
// accepted, so an older server can read a newer writer's index.
func ReadIndex(r io.Reader) (*Index, error) {
	var idx Index
	if err := json.NewDecoder(r).Decode(&idx); err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	if idx.Version != IndexVersion {
		return nil, fmt.Errorf("index: version %d: want %d", idx.Version, IndexVersion)
	}
	return &idx, nil
}

// WriteIndex writes idx to <root>/.cdnctl/objects.json atomically: a
// temporary file in the same folder, synced, then renamed over the old one,
// so a concurrent reader sees the old index or the new one, never a part.
func WriteIndex(root string, idx *Index) error {
	if idx.Version == 0 {
		idx.Version = IndexVersion
	}
	b, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	b = append(b, '\n')
	dir := filepath.Join(root, StateDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "objects.*.tmp")
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	_, err = io.Copy(tmp, bytes.NewReader(b))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(root, filepath.FromSlash(IndexName)))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("index: %w", err)
	}
	return nil
}
