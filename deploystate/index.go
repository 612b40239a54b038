package deploystate

import (
	"encoding/json"
	"fmt"
)

// IndexVersion is the schema version of ObjectIndex.
const IndexVersion = 1

// ObjectIndex is the object index a store keeps as IndexName: what
// cdnctl recorded about every object it wrote, so that a listing plus
// this one file describe the whole store. The folder store's copy
// (<root>/.cdnctl/objects.json) is also what the local static origin
// serves headers from (contracts.md §5).
type ObjectIndex struct {
	Version int                   `json:"version"`
	Objects map[string]IndexEntry `json:"objects"`
}

// IndexEntry is one object of an ObjectIndex.
type IndexEntry struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	Metadata
	// ETag is the entity tag the store returned when cdnctl wrote the
	// object (S3 only): a listed object whose ETag still matches is
	// unchanged since, so its SHA256 and Metadata can be trusted.
	ETag string `json:"etag,omitempty"`
	// MD5 is the body's hex MD5 when the store wrote it as metadata too
	// (S3: md5chksum on multipart uploads, for rclone); "" otherwise.
	MD5 string `json:"md5,omitempty"`
}

// NewObjectIndex returns an empty index.
func NewObjectIndex() *ObjectIndex {
	return &ObjectIndex{Version: IndexVersion, Objects: map[string]IndexEntry{}}
}

// ParseObjectIndex decodes an index, checking its version.
func ParseObjectIndex(data []byte) (*ObjectIndex, error) {
	var idx ObjectIndex
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("object index: %w", err)
	}
	if idx.Version != IndexVersion {
		return nil, fmt.Errorf("object index: version %d: want %d", idx.Version, IndexVersion)
	}
	if idx.Objects == nil {
		idx.Objects = map[string]IndexEntry{}
	}
	return &idx, nil
}

// Marshal encodes the index as compact JSON with sorted keys (so equal
// indexes are equal bytes) and a trailing newline.
func (idx *ObjectIndex) Marshal() ([]byte, error) {
	b, err := marshalCompact(idx)
	if err != nil {
		return nil, fmt.Errorf("object index: %w", err)
	}
	return b, nil
}
