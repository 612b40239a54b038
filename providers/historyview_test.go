package providers_test

import (
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/deploystate"
	"github.com/cdnctl/cdnctl/providers"
)

func TestHistoryEntries(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	rec := func(id, status, rollbackOf string) providers.DeployRecord {
		return providers.DeployRecord{ID: id, Status: status, RollbackOf: rollbackOf}
	}
	h := providers.NewHistory()
	h.Deploys = []providers.DeployRecord{
		rec("a", "", ""), // older versions wrote no status: complete
		rec("b", deploystate.StatusComplete, ""),
		rec("c", deploystate.StatusInterrupted, ""),
		rec("d", deploystate.StatusRunning, ""), // killed: nobody holds its lock
		rec("e", deploystate.StatusComplete, "a"),
		rec("f", deploystate.StatusRunning, ""),
	}
	running := &deploystate.Lock{DeployID: "f", Refreshed: now.Add(-10 * time.Second), StaleAfterSeconds: 300}
	for _, tc := range []struct {
		name string
		lock *deploystate.Lock
		want map[string]string
	}{
		{"f holds the lock", running, map[string]string{"a": "complete", "b": "rolled back", "c": "interrupted", "d": "interrupted", "e": "complete", "f": "running"}},
		{"no lock", nil, map[string]string{"f": "interrupted"}},
		{"f's lock is stale", &deploystate.Lock{DeployID: "f", Refreshed: now.Add(-time.Hour), StaleAfterSeconds: 300}, map[string]string{"f": "interrupted"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := providers.HistoryEntries(h, tc.lock, now)
			if len(got) != 6 || got[0].ID != "f" || got[5].ID != "a" {
				t.Fatalf("entries %v; want 6, newest first", got)
			}
			for _, e := range got {
				if want, ok := tc.want[e.ID]; ok && e.State != want {
					t.Errorf("%s: state %q; want %q", e.ID, e.State, want)
				}
				if e.Live != (e.ID == "e") {
					t.Errorf("%s: live %v; want only e (the newest complete deploy) live", e.ID, e.Live)
				}
			}
		})
	}
}
