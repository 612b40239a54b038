// Package deploystate is the format of cdnctl's deploy state: the small
// files a store keeps beside a site so that pushes and deploys can plan,
// record and lock. It holds the object index (what cdnctl wrote, with the
// headers it is served with), the deploy history and each deploy's
// snapshot, and the lock that lets one deploy run at a time.
//
// It is a leaf: it imports only the standard library, so that both the
// stores that write the state (package providers and its
// implementations) and the folder origin that serves headers from the
// index (localedge/origin) can read it without depending on each other.
//
// Where the state lives is the stores' business (docs/deploy.md#state):
// names here are relative to the state's folder.
package deploystate

import (
	"bytes"
	"encoding/json"
	"path"
	"strings"
)

// Dir is the state folder's name under a site's root when the state
// lives there: the folder origin's default, and where cdnctl versions
// before origin.state kept it in S3 buckets. cdnctl's origin never serves
// it.
const Dir = ".cdnctl"

// State file names, relative to the state's folder.
const (
	IndexName   = "objects.json" // the object index (ObjectIndex)
	HistoryName = "history.json" // the deploy history (History)
	LockName    = "lock.json"    // the deploy lock (Lock), while a deploy runs
	// MovedName is left where the state was, once it has moved to another
	// location (Moved).
	MovedName = "moved.json"
)

// SnapshotName is the state file name of a deploy's snapshot.
func SnapshotName(id string) string { return path.Join("deploys", id+".json") }

// BodyName is the state file that keeps a copy of a body with this
// SHA-256, for rollbacks.
func BodyName(sha256 string) string {
	s := strings.ToLower(sha256)
	return path.Join("bodies", s[:2], s)
}

// Moved is the content of MovedName: where the state went.
type Moved struct {
	Version int `json:"version"`
	// To names the new location (s3://bucket/prefix, file:///path).
	To string `json:"to"`
}

// marshalIndent encodes v as indented JSON without HTML escaping, with a
// trailing newline.
func marshalIndent(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// marshalCompact encodes v as compact JSON without HTML escaping, with a
// trailing newline.
func marshalCompact(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
