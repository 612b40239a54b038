package providers_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/cdnctl/cdnctl/deploystate"
	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/storetest"
)

// located is a Memory state with a location of its choosing.
type located struct {
	*storetest.Memory
	loc providers.StateLocation
}

func (l located) StateLocation() providers.StateLocation { return l.loc }

func newLocated(url string, inSite bool) located {
	return located{&storetest.Memory{}, providers.StateLocation{URL: url, InSite: inSite}}
}

func seedState(t *testing.T, st providers.State, ids ...string) {
	t.Helper()
	ctx := context.Background()
	h := providers.NewHistory()
	for i, id := range ids {
		h.Deploys = append(h.Deploys, providers.DeployRecord{Seq: i + 1, ID: id, Snapshot: providers.SnapshotName(id)})
		if err := st.WriteState(ctx, providers.SnapshotName(id), []byte(`{"version":1}`)); err != nil {
			t.Fatal(err)
		}
	}
	data, err := h.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string][]byte{providers.HistoryName: data, providers.IndexName: []byte(`{"version":1,"objects":{}}`), "bodies/ab/abcd": []byte("<h1>")} {
		if err := st.WriteState(ctx, name, body); err != nil {
			t.Fatal(err)
		}
	}
}

func names(t *testing.T, st providers.State) []string {
	t.Helper()
	n, err := st.ListState(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMigrateStateMovesItOnce(t *testing.T) {
	ctx := context.Background()
	legacy := newLocated("s3://b/www/.cdnctl", true) // served: no forwarding note
	custom := newLocated("s3://b/old-state", false)
	to := newLocated("s3://state/www", false)
	seedState(t, legacy, "d1", "d2")
	lock := providers.LockOptions{Holder: deploystate.Holder{User: "ci", Host: "a"}}
	moved, warnings, err := providers.MigrateState(ctx, to, []providers.State{legacy, custom}, lock)
	if err != nil || moved != "s3://b/www/.cdnctl" || len(warnings) != 0 {
		t.Fatalf("MigrateState = %q, %v, %v; want moved from the legacy location", moved, warnings, err)
	}
	want := []string{"bodies/ab/abcd", "deploys/d1.json", "deploys/d2.json", "history.json", "objects.json"}
	if got := names(t, to); !slices.Equal(got, want) {
		t.Errorf("state at the new location: %v; want %v", got, want)
	}
	if got := names(t, legacy); len(got) != 0 {
		t.Errorf("left at the legacy location (where a CDN serves it): %v; want nothing", got)
	}
	h, err := providers.ReadHistory(ctx, to)
	if err != nil || len(h.Deploys) != 2 {
		t.Errorf("history after the move: %+v, %v", h, err)
	}
	// Nothing more to move.
	if moved, _, err := providers.MigrateState(ctx, to, []providers.State{legacy, custom}, lock); err != nil || moved != "" {
		t.Errorf("second MigrateState = %q, %v; want nothing moved", moved, err)
	}

	// From a location nobody serves: a note says where it went, and a run
	// still configured with it fails.
	seedState(t, custom, "d3")
	to2 := newLocated("s3://state2/www", false)
	if moved, _, err := providers.MigrateState(ctx, to2, []providers.State{custom}, lock); err != nil || moved != "s3://b/old-state" {
		t.Fatalf("MigrateState = %q, %v; want moved from the custom location", moved, err)
	}
	if got := names(t, custom); !slices.Equal(got, []string{providers.MovedName}) {
		t.Errorf("left at the old location: %v; want only %s", got, providers.MovedName)
	}
	_, _, err = providers.MigrateState(ctx, custom, nil, lock)
	if !errors.Is(err, providers.ErrStateMoved) || !strings.Contains(err.Error(), "set origin.state to s3://state2/www") {
		t.Errorf("a run configured with the old location: %v; want ErrStateMoved naming the new one", err)
	}
}

func TestMigrateStateRespectsTheOldLock(t *testing.T) {
	ctx := context.Background()
	old := newLocated("s3://b/www/.cdnctl", true)
	seedState(t, old, "d1")
	held, _, err := providers.AcquireLock(ctx, old, providers.LockOptions{Operation: "deploy", Holder: deploystate.Holder{User: "old", Host: "cdnctl-0.9"}})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release(ctx)
	to := newLocated("s3://b/cdnctl-state/www", false)
	_, _, err = providers.MigrateState(ctx, to, []providers.State{old}, providers.LockOptions{Holder: deploystate.Holder{User: "new", Host: "ci"}})
	var le *providers.LockedError
	if !errors.As(err, &le) {
		t.Fatalf("MigrateState while a deploy holds the old location = %v; want a *LockedError", err)
	}
	if got := names(t, to); len(got) != 0 {
		t.Errorf("copied while the old state was locked: %v", got)
	}
}

func TestMigrateStateLeavesDivergentStateAlone(t *testing.T) {
	ctx := context.Background()
	old, to := newLocated("s3://b/www/.cdnctl", true), newLocated("s3://b/cdnctl-state/www", false)
	seedState(t, old, "d1", "x9")
	seedState(t, to, "d1", "d2")
	moved, warnings, err := providers.MigrateState(ctx, to, []providers.State{old}, providers.LockOptions{})
	if err != nil || moved != "" || len(warnings) != 1 || !strings.Contains(warnings[0], "lies in what the CDN serves") {
		t.Fatalf("MigrateState = %q, %v, %v; want a warning about the unused state", moved, warnings, err)
	}
	if len(names(t, old)) == 0 {
		t.Error("deleted state with deploys the new location does not have")
	}
	// A leftover of an interrupted move (every deploy copied) is cleaned.
	old2 := newLocated("s3://b/www/.cdnctl", true)
	seedState(t, old2, "d1")
	if _, warnings, err := providers.MigrateState(ctx, to, []providers.State{old2}, providers.LockOptions{}); err != nil || len(warnings) != 0 {
		t.Fatalf("MigrateState = %v, %v", warnings, err)
	}
	if got := names(t, old2); len(got) != 0 {
		t.Errorf("leftover of a finished move: %v; want it deleted", got)
	}
}
