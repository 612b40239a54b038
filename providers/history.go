package providers

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"
)

// HistoryVersion is the schema version of History.
const HistoryVersion = 1

// DefaultHistoryLimit is how many deploy records History keeps.
const DefaultHistoryLimit = 50

// History is the deploy history a store keeps at
// <root>/.cdnctl/history.json. It records each deploy (newest last) and,
// for every fingerprinted asset, the last deploy that referenced it, which
// is what retention decides on. The objects each deploy referenced are in
// a separate snapshot file (SnapshotName), written once, so this file stays
// small and a rollback can find a previous deploy's objects.
//
//	{
//	  "version": 1,
//	  "deploys": [{"seq": 7, "id": "20261123T130405Z-3f9a1c0e", "time": "…",
//	               "source": "push", "git_commit": "…", "manifest_digest": "sha256:…",
//	               "content_digest": "sha256:…", "snapshot": "deploys/20261123T130405Z-3f9a1c0e.json",
//	               "counts": {"files": 120, "bytes": 123456, "uploaded": 3, …}}],
//	  "assets": {"css/app.3f9a1c0e2b.css": {"last_deploy": 7},
//	             "css/app.0c1d2e3f4a.css": {"last_deploy": 6, "unreferenced_since": "…"}}
//	}
type History struct {
	Version int              `json:"version"`
	Deploys []DeployRecord   `json:"deploys"`
	Assets  map[string]Asset `json:"assets"`
}

// DeployRecord is one deploy of History.
type DeployRecord struct {
	// Seq numbers deploys 1, 2, 3… in this store; retention counts in it.
	Seq int `json:"seq"`
	// ID names the deploy (unique in the store): by default the UTC time
	// and the first hex digits of ContentDigest.
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
	// Source is what recorded the deploy: "push", "deploy", "rollback".
	Source string `json:"source"`
	// GitCommit of the site's source, when the caller knows it.
	GitCommit string `json:"git_commit,omitempty"`
	// ManifestDigest is "sha256:<hex>" of the fingerprint manifest the
	// deploy was built from, if any.
	ManifestDigest string `json:"manifest_digest,omitempty"`
	// ContentDigest is "sha256:<hex>" over every referenced key with its
	// hash and headers: two deploys with equal digests serve the same site.
	ContentDigest string `json:"content_digest"`
	// Snapshot is the state file (relative to StateDir) listing the
	// objects this deploy referenced (a DeploySnapshot).
	Snapshot string `json:"snapshot,omitempty"`
	// RollbackOf is the ID of the deploy whose objects this one restored.
	RollbackOf string       `json:"rollback_of,omitempty"`
	Counts     DeployCounts `json:"counts"`
}

// DeployCounts summarises a deploy.
type DeployCounts struct {
	Files         int   `json:"files"`
	Bytes         int64 `json:"bytes"`
	Uploaded      int   `json:"uploaded"`
	Updated       int   `json:"updated"`
	Kept          int   `json:"kept"`
	Deleted       int   `json:"deleted"`
	Retained      int   `json:"retained"`
	BytesUploaded int64 `json:"bytes_uploaded"`
}

// Asset is what History remembers about one fingerprinted key.
type Asset struct {
	// LastDeploy is the Seq of the last deploy that referenced the key.
	LastDeploy int `json:"last_deploy"`
	// UnreferencedSince is when a deploy first stopped referencing it
	// (zero while it is referenced).
	UnreferencedSince time.Time `json:"unreferenced_since,omitzero"`
}

// DeploySnapshot is the state file a deploy record's Snapshot names: every
// object the deploy referenced, with the hash and headers it had. A
// rollback re-points entry points to these.
type DeploySnapshot struct {
	Version int                      `json:"version"`
	ID      string                   `json:"id"`
	Seq     int                      `json:"seq"`
	Time    time.Time                `json:"time"`
	Objects map[string]SnapshotEntry `json:"objects"`
}

// SnapshotEntry is one object of a DeploySnapshot.
type SnapshotEntry struct {
	IndexEntry
	Fingerprinted bool `json:"fingerprinted,omitempty"`
	// Body names the state file holding a copy of the object's body, for
	// un-fingerprinted objects whose key later deploys overwrite (written
	// by deploy; "" when no copy was kept).
	Body string `json:"body,omitempty"`
}

// ParseSnapshot decodes a deploy snapshot, checking its version.
func ParseSnapshot(data []byte) (*DeploySnapshot, error) {
	var s DeploySnapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("deploy snapshot: %w", err)
	}
	if s.Version != HistoryVersion {
		return nil, fmt.Errorf("deploy snapshot: version %d: want %d", s.Version, HistoryVersion)
	}
	return &s, nil
}

// SnapshotName is the state file name of a deploy's snapshot.
func SnapshotName(id string) string { return path.Join("deploys", id+".json") }

// NewHistory returns an empty history.
func NewHistory() *History {
	return &History{Version: HistoryVersion, Assets: map[string]Asset{}}
}

// ParseHistory decodes a history file, checking its version.
func ParseHistory(data []byte) (*History, error) {
	var h History
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, fmt.Errorf("deploy history: %w", err)
	}
	if h.Version != HistoryVersion {
		return nil, fmt.Errorf("deploy history: version %d: want %d", h.Version, HistoryVersion)
	}
	if h.Assets == nil {
		h.Assets = map[string]Asset{}
	}
	return &h, nil
}

// Marshal encodes the history as indented JSON (it is small and people
// read it).
func (h *History) Marshal() ([]byte, error) {
	return marshalIndent(h)
}

// Marshal encodes the snapshot as compact JSON.
func (s *DeploySnapshot) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return nil, fmt.Errorf("deploy snapshot: %w", err)
	}
	return buf.Bytes(), nil
}

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

// Last returns the newest deploy record, or nil.
func (h *History) Last() *DeployRecord {
	if h == nil || len(h.Deploys) == 0 {
		return nil
	}
	return &h.Deploys[len(h.Deploys)-1]
}

// Find returns the deploy with the given ID, or nil.
func (h *History) Find(id string) *DeployRecord {
	for i := range h.Deploys {
		if h.Deploys[i].ID == id {
			return &h.Deploys[i]
		}
	}
	return nil
}

// nextSeq is the Seq the next recorded deploy gets.
func (h *History) nextSeq() int {
	if last := h.Last(); last != nil {
		return last.Seq + 1
	}
	return 1
}

// clone returns a deep copy.
func (h *History) clone() *History {
	c := &History{Version: h.Version, Deploys: append([]DeployRecord(nil), h.Deploys...), Assets: make(map[string]Asset, len(h.Assets))}
	for k, v := range h.Assets {
		c.Assets[k] = v
	}
	return c
}

// ContentDigest returns "sha256:<hex>" over the files' keys, hashes and
// headers, independent of their order.
func ContentDigest(files []*LocalFile) string {
	lines := make([]string, 0, len(files))
	for _, f := range files {
		m := f.Meta.Normalize()
		hdr := make([]string, 0, len(m.Headers))
		for k, v := range m.Headers {
			hdr = append(hdr, k+": "+v)
		}
		sort.Strings(hdr)
		lines = append(lines, strings.Join([]string{f.Key, f.SHA256, m.ContentType, m.CacheControl,
			m.ContentEncoding, strings.Join(m.Tags, ","), strings.Join(hdr, "; ")}, "\t"))
	}
	sort.Strings(lines)
	h := sha256.New()
	for _, l := range lines {
		h.Write([]byte(l))
		h.Write([]byte{'\n'})
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Retention says how long fingerprinted assets stay in the store after no
// deploy references them any more (clients holding old HTML still need
// them). An asset is deleted only when both limits have passed: it was
// not referenced by the last Deploys deploys (this one included) and has
// been unreferenced for at least Age. A zero limit is always passed.
type Retention struct {
	Deploys int
	Age     time.Duration
}

// DefaultRetention returns the retention that keeps old assets for 3 deploys and 7 days.
func DefaultRetention() Retention { return Retention{Deploys: 3, Age: 7 * 24 * time.Hour} }

// fingerprintedName reports whether a file name carries a content hash: a
// dot- or dash-separated segment of 8 to 64 hex digits, with at least one
// digit and one letter, before the extension ("app.3f9a1c0e.js",
// "logo-0badc0de42.png"). Used when no manifest says so.
func fingerprintedName(key string) bool {
	base := path.Base(key)
	// Drop precompression suffixes, then the extension.
	for _, s := range []string{".br", ".gz", ".zst"} {
		base = strings.TrimSuffix(base, s)
	}
	ext := path.Ext(base)
	stem := strings.TrimSuffix(base, ext)
	for _, seg := range strings.FieldsFunc(stem, func(r rune) bool { return r == '.' || r == '-' || r == '_' }) {
		if isHashSegment(seg) {
			return true
		}
	}
	return false
}

func isHashSegment(s string) bool {
	if len(s) < 8 || len(s) > 64 {
		return false
	}
	var digit, letter bool
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digit = true
		case r >= 'a' && r <= 'f':
			letter = true
		default:
			return false
		}
	}
	return digit && letter
}
