package origin

import (
	"fmt"
	"io"

	"github.com/cdnctl/cdnctl/deploystate"
)

// StateDir is the folder under a directory origin's root where cdnctl keeps
// its own state. Nothing under it is ever served.
const StateDir = deploystate.Dir

// IndexName is the metadata index of a directory origin store, relative to
// its root (contracts.md §5).
const IndexName = deploystate.Dir + "/" + deploystate.IndexName

// Index is the metadata index of a directory origin store
// (<root>/.cdnctl/objects.json), as providers/local writes it: for each
// object key, its hash, size and the headers it is served with. Handler
// re-reads it when it changes.
type Index = deploystate.ObjectIndex

// ReadIndex decodes an index and checks its version.
func ReadIndex(r io.Reader) (*Index, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("object index: %w", err)
	}
	return deploystate.ParseObjectIndex(b)
}
