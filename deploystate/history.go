package deploystate

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"
)

// HistoryVersion is the schema version of History and DeploySnapshot.
const HistoryVersion = 1

// DefaultHistoryLimit is how many deploy records History keeps.
const DefaultHistoryLimit = 50

// History is the deploy history a store keeps as HistoryName. It records
// each deploy (newest last) and, for every fingerprinted asset, the last
// deploy that referenced it, which is what retention decides on. The
// objects each deploy referenced are in a separate snapshot file
// (SnapshotName), written once, so this file stays small and a rollback
// can find a previous deploy's objects.
//
//	{
//	  "version": 1,
//	  "deploys": [{"seq": 7, "id": "20261123T130405Z-3f9a1c0e", "time": "…",
//	               "status": "complete", "source": "deploy", "user": "ci@runner-3",
//	               "git_commit": "…", "git_message": "…", "manifest_digest": "sha256:…",
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

// Deploy statuses (DeployRecord.Status).
const (
	// StatusRunning: recorded before the deploy's first change and not
	// finished yet. A record still running whose process is gone (no
	// lock of its deploy is held) was interrupted.
	StatusRunning = "running"
	// StatusComplete: every file was uploaded and the entry points
	// switched (records of cdnctl versions without a status).
	StatusComplete = "complete"
	// StatusInterrupted: the deploy stopped before completing (an error,
	// ^C, a lost lock); some of its files may be live.
	StatusInterrupted = "interrupted"
)

// DeployRecord is one deploy of History.
type DeployRecord struct {
	// Seq numbers deploys 1, 2, 3… in this store; retention counts in it.
	Seq int `json:"seq"`
	// ID names the deploy (unique in the store): by default the UTC time
	// and the first hex digits of ContentDigest.
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
	// Status is StatusRunning, StatusComplete or StatusInterrupted; ""
	// (written by older versions) means complete.
	Status string `json:"status,omitempty"`
	// Source is what recorded the deploy: "push", "deploy", "rollback".
	Source string `json:"source"`
	// User is who ran it ("alice@laptop"), CI the CI job when there is
	// one ("GitHub Actions run 42 on runner-3").
	User string `json:"user,omitempty"`
	CI   string `json:"ci,omitempty"`
	// GitCommit and GitMessage (its subject line) of the site's source,
	// when the caller knows them.
	GitCommit  string `json:"git_commit,omitempty"`
	GitMessage string `json:"git_message,omitempty"`
	// ManifestDigest is "sha256:<hex>" of the fingerprint manifest the
	// deploy was built from, if any.
	ManifestDigest string `json:"manifest_digest,omitempty"`
	// ContentDigest is "sha256:<hex>" over every referenced key with its
	// hash and headers: two deploys with equal digests serve the same site.
	ContentDigest string `json:"content_digest"`
	// Snapshot is the state file listing the objects this deploy
	// referenced (a DeploySnapshot).
	Snapshot string `json:"snapshot,omitempty"`
	// RollbackOf is the ID of the deploy whose objects this one restored.
	RollbackOf string       `json:"rollback_of,omitempty"`
	Counts     DeployCounts `json:"counts"`
	// Finished is when the deploy completed or stopped (zero while it
	// runs); Error why it stopped, when it was interrupted.
	Finished time.Time `json:"finished,omitzero"`
	Error    string    `json:"error,omitempty"`
}

// Complete reports whether the deploy completed.
func (d *DeployRecord) Complete() bool {
	return d.Status == "" || d.Status == StatusComplete
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
	// LastDeploy is the Seq of the last deploy that referenced the key
	// (recorded when that deploy started, so that a deploy interrupted
	// after uploading it still counts).
	LastDeploy int `json:"last_deploy"`
	// UnreferencedSince is when a deploy first stopped referencing it
	// (zero while it is referenced).
	UnreferencedSince time.Time `json:"unreferenced_since,omitzero"`
}

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
	b, err := marshalIndent(h)
	if err != nil {
		return nil, fmt.Errorf("deploy history: %w", err)
	}
	return b, nil
}

// Last returns the newest deploy record, or nil.
func (h *History) Last() *DeployRecord {
	if h == nil || len(h.Deploys) == 0 {
		return nil
	}
	return &h.Deploys[len(h.Deploys)-1]
}

// Live returns the newest complete deploy: the one whose files the site
// serves (nil when none completed).
func (h *History) Live() *DeployRecord {
	if h == nil {
		return nil
	}
	for i := len(h.Deploys) - 1; i >= 0; i-- {
		if h.Deploys[i].Complete() {
			return &h.Deploys[i]
		}
	}
	return nil
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

// NextSeq is the Seq the next recorded deploy gets.
func (h *History) NextSeq() int {
	if last := h.Last(); last != nil {
		return last.Seq + 1
	}
	return 1
}

// CompletedAfter counts the complete deploys with a Seq above seq: how
// many times the site's entry points were replaced since.
func (h *History) CompletedAfter(seq int) int {
	n := 0
	for i := range h.Deploys {
		if h.Deploys[i].Seq > seq && h.Deploys[i].Complete() {
			n++
		}
	}
	return n
}

// Clone returns a deep copy.
func (h *History) Clone() *History {
	return &History{Version: h.Version, Deploys: slices.Clone(h.Deploys), Assets: maps.Clone(h.Assets)}
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

// Marshal encodes the snapshot as compact JSON.
func (s *DeploySnapshot) Marshal() ([]byte, error) {
	b, err := marshalCompact(s)
	if err != nil {
		return nil, fmt.Errorf("deploy snapshot: %w", err)
	}
	return b, nil
}
