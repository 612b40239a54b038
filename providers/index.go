package providers

import "github.com/cdnctl/cdnctl/deploystate"

// The state format lives in package deploystate; these names keep the
// vocabulary of the stores in one place.

// IndexVersion is the schema version of ObjectIndex.
const IndexVersion = deploystate.IndexVersion

// ObjectIndex is the object index a store keeps (deploystate.ObjectIndex).
type ObjectIndex = deploystate.ObjectIndex

// IndexEntry is one object of an ObjectIndex.
type IndexEntry = deploystate.IndexEntry

// NewObjectIndex returns an empty index.
func NewObjectIndex() *ObjectIndex { return deploystate.NewObjectIndex() }

// ParseObjectIndex decodes an index, checking its version.
func ParseObjectIndex(data []byte) (*ObjectIndex, error) { return deploystate.ParseObjectIndex(data) }

// EntryFor returns the index entry describing f as written.
func EntryFor(f *LocalFile, etag string) IndexEntry {
	return IndexEntry{SHA256: f.SHA256, Size: f.Size, Metadata: f.Meta.Normalize(), ETag: etag}
}
