package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/cdnctl/cdnctl/providers"
)

// RunState runs the state suite: conditional writes (create once,
// replace only the version read, delete only the version read), against
// concurrent writers holding separate handles, and the listing. newState
// makes an empty state location and returns a function that opens a new
// handle on it (a new client, as another cdnctl process would have).
func RunState(t *testing.T, newState func(t *testing.T) func() providers.State) {
	t.Run("Conditional", func(t *testing.T) { testConditional(t, newState(t)) })
	t.Run("CreateRace", func(t *testing.T) { testCreateRace(t, newState(t)) })
	t.Run("NoLostUpdate", func(t *testing.T) { testNoLostUpdate(t, newState(t)) })
	t.Run("List", func(t *testing.T) { testListState(t, newState(t)) })
}

func testConditional(t *testing.T, open func() providers.State) {
	ctx := context.Background()
	st := open()
	if loc := st.StateLocation(); loc.URL == "" {
		t.Errorf("StateLocation() = %+v; want a URL", loc)
	}
	if _, _, err := st.ReadStateVersion(ctx, "lock.json"); !errors.Is(err, providers.ErrStateNotFound) {
		t.Fatalf("ReadStateVersion(missing) = %v; want ErrStateNotFound", err)
	}
	v1, err := st.WriteStateIf(ctx, "lock.json", []byte("one"), "")
	if err != nil || v1 == "" {
		t.Fatalf("create: %q, %v; want a version", v1, err)
	}
	if _, err := open().WriteStateIf(ctx, "lock.json", []byte("two"), ""); !errors.Is(err, providers.ErrStateConflict) {
		t.Fatalf("second create = %v; want ErrStateConflict", err)
	}
	data, v, err := open().ReadStateVersion(ctx, "lock.json")
	if err != nil || string(data) != "one" || v != v1 {
		t.Fatalf("read = %q, %q, %v; want \"one\", %q", data, v, err, v1)
	}
	v2, err := st.WriteStateIf(ctx, "lock.json", []byte("three"), v1)
	if err != nil || v2 == "" || v2 == v1 {
		t.Fatalf("replace at %q = %q, %v; want a new version", v1, v2, err)
	}
	if _, err := open().WriteStateIf(ctx, "lock.json", []byte("stale"), v1); !errors.Is(err, providers.ErrStateConflict) {
		t.Fatalf("replace at the old version = %v; want ErrStateConflict", err)
	}
	if err := open().DeleteStateIf(ctx, "lock.json", v1); !errors.Is(err, providers.ErrStateConflict) {
		t.Fatalf("delete at the old version = %v; want ErrStateConflict", err)
	}
	if data, _ := st.ReadState(ctx, "lock.json"); string(data) != "three" {
		t.Fatalf("after refused writes: %q; want \"three\"", data)
	}
	if err := st.DeleteStateIf(ctx, "lock.json", v2); err != nil {
		t.Fatalf("delete at %q: %v", v2, err)
	}
	if _, err := st.ReadState(ctx, "lock.json"); !errors.Is(err, providers.ErrStateNotFound) {
		t.Fatalf("after delete: %v; want ErrStateNotFound", err)
	}
	if err := st.DeleteStateIf(ctx, "lock.json", v2); err != nil {
		t.Fatalf("deleting again: %v; want nil (already gone)", err)
	}
	if _, err := st.WriteStateIf(ctx, "lock.json", []byte("four"), v2); !errors.Is(err, providers.ErrStateConflict) {
		t.Fatalf("replace of a deleted file = %v; want ErrStateConflict", err)
	}
}

// testCreateRace: of writers creating the same file at once, exactly one
// succeeds.
func testCreateRace(t *testing.T, open func() providers.State) {
	ctx := context.Background()
	const n = 8
	var (
		wg   sync.WaitGroup
		wins = make([]bool, n)
		errs = make([]error, n)
	)
	start := make(chan struct{})
	for i := range n {
		st := open()
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := st.WriteStateIf(ctx, "lock.json", []byte(strconv.Itoa(i)), "")
			wins[i] = err == nil
			if err != nil && !errors.Is(err, providers.ErrStateConflict) {
				errs[i] = err
			}
		}()
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	winner := slices.Index(wins, true)
	if got := len(slices.DeleteFunc(slices.Clone(wins), func(b bool) bool { return !b })); got != 1 {
		t.Fatalf("%d of %d concurrent creates succeeded; want exactly 1", got, n)
	}
	if data, _ := open().ReadState(ctx, "lock.json"); string(data) != strconv.Itoa(winner) {
		t.Errorf("lock.json = %q; want the winner's %d", data, winner)
	}
}

// testNoLostUpdate: writers each add one line with read, then write-if
// (retrying on conflict); every line is there in the end.
func testNoLostUpdate(t *testing.T, open func() providers.State) {
	ctx := context.Background()
	const n = 6
	if _, err := open().WriteStateIf(ctx, "history.json", nil, ""); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		st := open()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for attempt := 0; attempt < 100; attempt++ {
				data, v, err := st.ReadStateVersion(ctx, "history.json")
				if err != nil {
					errs[i] = err
					return
				}
				_, err = st.WriteStateIf(ctx, "history.json", append(data, fmt.Sprintf("deploy %d\n", i)...), v)
				if err == nil {
					return
				}
				if !errors.Is(err, providers.ErrStateConflict) {
					errs[i] = err
					return
				}
			}
			errs[i] = fmt.Errorf("writer %d: 100 conflicts in a row", i)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	data, err := open().ReadState(ctx, "history.json")
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if !slices.Contains(splitLines(string(data)), fmt.Sprintf("deploy %d", i)) {
			t.Errorf("history lost deploy %d:\n%s", i, data)
		}
	}
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		out = append(out, s[:i])
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}

func testListState(t *testing.T, open func() providers.State) {
	ctx := context.Background()
	st := open()
	if names, err := st.ListState(ctx); err != nil || len(names) != 0 {
		t.Fatalf("ListState(empty) = %v, %v; want nothing", names, err)
	}
	want := []string{"bodies/ab/abcd", "deploys/2026.json", "history.json"}
	for _, n := range want {
		if err := st.WriteState(ctx, n, []byte(n)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := open().ListState(ctx)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("ListState() = %v, %v; want %v", got, err, want)
	}
}
