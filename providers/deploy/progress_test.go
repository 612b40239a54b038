package deploy_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/providers/deploy"
	"github.com/cdnctl/cdnctl/providers/local"
	"github.com/cdnctl/cdnctl/sample"
)

// TestFingerprintProgress: while the fingerprint step runs, Progress
// carries hashing's counts, phase by phase, and the caller's own
// callback still gets them.
func TestFingerprintProgress(t *testing.T) {
	dir := t.TempDir()
	src, originDir := filepath.Join(dir, "src"), filepath.Join(dir, "origin")
	if err := os.CopyFS(src, sample.Site()); err != nil {
		t.Fatal(err)
	}
	store, err := local.NewStore(originDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	prog := &deploy.Progress{}
	var (
		calls     int
		phases    []string
		lastWrite hashing.Progress
	)
	own := func(h hashing.Progress) {
		calls++
		if prog.Step() != deploy.StepFingerprint || prog.Phase() != h.Phase || prog.Done.Load() != int64(h.Files) ||
			prog.Total.Load() != int64(h.FilesTotal) || prog.Bytes.Load() != h.Bytes || prog.BytesTotal.Load() != h.BytesTotal {
			t.Errorf("progress %s %s %d/%d %d/%d; hashing says %+v", prog.Step(), prog.Phase(), prog.Done.Load(), prog.Total.Load(),
				prog.Bytes.Load(), prog.BytesTotal.Load(), h)
		}
		if len(phases) == 0 || phases[len(phases)-1] != h.Phase {
			phases = append(phases, h.Phase)
		}
		if h.Phase == hashing.PhaseWrite {
			lastWrite = h
		}
	}
	d := deploy.New(deploy.Config{
		Source: src, Dir: filepath.Join(dir, "out"), Store: store, Target: "file://" + originDir,
		Fingerprint: hashing.DirOptions{Options: hashing.Options{Progress: own}},
		Progress:    prog,
	})
	p, err := d.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fp := p.Report.Step(deploy.StepFingerprint)
	if len(phases) != 3 || phases[0] != hashing.PhaseScan || phases[1] != hashing.PhaseRead || phases[2] != hashing.PhaseWrite {
		t.Errorf("phases %v (%d calls): want scan, read, write", phases, calls)
	}
	if lastWrite.Files != fp.Files || lastWrite.FilesTotal != fp.Files {
		t.Errorf("last write progress %+v; the step wrote %d files", lastWrite, fp.Files)
	}
}
