package deploystate_test

import (
	"go/build"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/deploystate"
)

// TestLeaf checks that the state format depends on the standard library
// only, so that both providers and localedge can import it.
func TestLeaf(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(build.Default.GOROOT, "bin", "go")
	}
	out, err := exec.Command(goBin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "github.com/cdnctl/cdnctl/deploystate").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	if got := strings.Fields(string(out)); len(got) != 1 || got[0] != "github.com/cdnctl/cdnctl/deploystate" {
		t.Errorf("deploystate depends on %v; want the standard library only", got)
	}
}

func TestHistoryLive(t *testing.T) {
	h := deploystate.NewHistory()
	h.Deploys = []deploystate.DeployRecord{
		{Seq: 1, ID: "a"}, // written by an older version: complete
		{Seq: 2, ID: "b", Status: deploystate.StatusComplete},    //
		{Seq: 3, ID: "c", Status: deploystate.StatusInterrupted}, //
		{Seq: 4, ID: "d", Status: deploystate.StatusRunning},     //
	}
	if got := h.Live(); got == nil || got.ID != "b" {
		t.Errorf("Live() = %+v; want deploy b (the newest complete one)", got)
	}
	for _, tc := range []struct{ seq, want int }{{0, 2}, {1, 1}, {2, 0}, {4, 0}} {
		if got := h.CompletedAfter(tc.seq); got != tc.want {
			t.Errorf("CompletedAfter(%d) = %d; want %d", tc.seq, got, tc.want)
		}
	}
	if got := h.NextSeq(); got != 5 {
		t.Errorf("NextSeq() = %d; want 5", got)
	}
	c := h.Clone()
	c.Deploys[0].ID = "changed"
	c.Assets["x"] = deploystate.Asset{LastDeploy: 1}
	if h.Deploys[0].ID != "a" || len(h.Assets) != 0 {
		t.Errorf("Clone shares memory with the original")
	}
}

func TestLockStale(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	l := &deploystate.Lock{Version: deploystate.LockVersion, Refreshed: t0, StaleAfterSeconds: 60}
	for _, tc := range []struct {
		at   time.Duration
		want bool
	}{{0, false}, {59 * time.Second, false}, {60 * time.Second, false}, {61 * time.Second, true}} {
		if got := l.Stale(t0.Add(tc.at)); got != tc.want {
			t.Errorf("Stale(refreshed+%s) = %v; want %v", tc.at, got, tc.want)
		}
	}
	data, err := l.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := deploystate.ParseLock(data)
	if err != nil || !back.Refreshed.Equal(t0) || back.StaleAfter() != time.Minute {
		t.Errorf("ParseLock(Marshal()) = %+v, %v; want the same lock", back, err)
	}
	if _, err := deploystate.ParseLock([]byte(`{"version": 9}`)); err == nil {
		t.Error("ParseLock accepted version 9")
	}
}

func TestHolderString(t *testing.T) {
	for _, tc := range []struct {
		h    deploystate.Holder
		want string
	}{
		{deploystate.Holder{User: "ci", Host: "runner-3"}, "ci@runner-3"},
		{deploystate.Holder{User: "runner", Host: "fv-az12", CI: "GitHub Actions run 42"}, "runner@fv-az12 (GitHub Actions run 42)"},
		{deploystate.Holder{}, "someone"},
	} {
		if got := tc.h.String(); got != tc.want {
			t.Errorf("%+v.String() = %q; want %q", tc.h, got, tc.want)
		}
	}
}
