package providers

import (
	"crypto/sha256"
	"encoding/hex"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/cdnctl/cdnctl/deploystate"
)

// HistoryVersion is the schema version of History.
const HistoryVersion = deploystate.HistoryVersion

// DefaultHistoryLimit is how many deploy records History keeps.
const DefaultHistoryLimit = deploystate.DefaultHistoryLimit

// The deploy history and snapshots (package deploystate).
type (
	History        = deploystate.History
	DeployRecord   = deploystate.DeployRecord
	DeployCounts   = deploystate.DeployCounts
	Asset          = deploystate.Asset
	DeploySnapshot = deploystate.DeploySnapshot
	SnapshotEntry  = deploystate.SnapshotEntry
)

// ParseSnapshot decodes a deploy snapshot, checking its version.
func ParseSnapshot(data []byte) (*DeploySnapshot, error) { return deploystate.ParseSnapshot(data) }

// SnapshotName is the state file name of a deploy's snapshot.
func SnapshotName(id string) string { return deploystate.SnapshotName(id) }

// NewHistory returns an empty history.
func NewHistory() *History { return deploystate.NewHistory() }

// ParseHistory decodes a history file, checking its version.
func ParseHistory(data []byte) (*History, error) { return deploystate.ParseHistory(data) }

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
