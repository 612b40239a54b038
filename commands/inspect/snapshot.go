package inspect

import (
	"context"
	"fmt"

	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/localedge/adminclient"
)

// Snapshot is what the inspector shows, read once: for scripts and for
// output that is not a terminal.
type Snapshot struct {
	Admin   string                  `json:"admin"`
	Stats   localedge.StatsResponse `json:"stats"`
	Query   SnapshotQuery           `json:"query"`
	Entries localedge.EntryPage     `json:"entries"`
}

// SnapshotQuery is the listing the snapshot holds.
type SnapshotQuery struct {
	Pop    string `json:"pop,omitempty"`
	Filter string `json:"filter,omitempty"`
	Sort   string `json:"sort"`
	Desc   bool   `json:"desc"`
}

// Take reads the statistics and one page of entries.
func Take(ctx context.Context, client API, admin string, q adminclient.ListQuery) (*Snapshot, error) {
	stats, err := client.Stats(ctx)
	if err != nil {
		return nil, err
	}
	if q.Sort == "" {
		q.Sort = "key"
	}
	page, err := client.Entries(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("entries: %w", err)
	}
	return &Snapshot{
		Admin: admin, Stats: stats, Entries: page,
		Query: SnapshotQuery{Pop: q.Pop, Filter: q.Filter, Sort: q.Sort, Desc: q.Desc},
	}, nil
}
