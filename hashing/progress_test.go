package hashing

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// progressLog records what Options.Progress receives.
type progressLog struct {
	mu    sync.Mutex
	calls []Progress
}

func (l *progressLog) add(p Progress) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, p)
}

// phases checks the calls and returns, for each phase in order, its last
// call: phases follow each other in order, each starts at zero, and
// within one the counts grow one file at a time up to the totals.
func (l *progressLog) phases(t *testing.T) []Progress {
	t.Helper()
	var last []Progress
	for i, p := range l.calls {
		if len(last) == 0 || last[len(last)-1].Phase != p.Phase {
			if p.Files != 0 || p.Bytes != 0 {
				t.Errorf("call %d: phase %s starts at %d files, %d bytes: want 0", i, p.Phase, p.Files, p.Bytes)
			}
			last = append(last, p)
			continue
		}
		prev := last[len(last)-1]
		switch {
		case p.Files != prev.Files+1:
			t.Errorf("call %d: %s files %d after %d: want one more", i, p.Phase, p.Files, prev.Files)
		case p.Bytes < prev.Bytes:
			t.Errorf("call %d: %s bytes %d after %d: went back", i, p.Phase, p.Bytes, prev.Bytes)
		case p.FilesTotal != prev.FilesTotal || p.BytesTotal != prev.BytesTotal:
			t.Errorf("call %d: %s totals changed: %+v after %+v", i, p.Phase, p, prev)
		case p.Files > p.FilesTotal || p.Bytes > p.BytesTotal:
			t.Errorf("call %d: %s beyond its totals: %+v", i, p.Phase, p)
		}
		last[len(last)-1] = p
	}
	return last
}

func TestBuildProgress(t *testing.T) {
	src := copyFixture(t)
	var sourceBytes int64
	var sourceFiles int
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		sourceFiles++
		sourceBytes += info.Size()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")

	// First run: every file is read and written, by 4 workers at once.
	var first progressLog
	opts := DirOptions{Options: Options{Workers: 4, Progress: first.add}}
	res, err := FingerprintDir(context.Background(), src, out, opts)
	if err != nil {
		t.Fatal(err)
	}
	got := first.phases(t)
	if len(got) != 3 || got[0].Phase != PhaseScan || got[1].Phase != PhaseRead || got[2].Phase != PhaseWrite {
		t.Fatalf("phases %+v: want scan, read, write", got)
	}
	if got[0] != (Progress{Phase: PhaseScan}) {
		t.Errorf("scan: %+v, want no count", got[0])
	}
	read := got[1]
	if read.FilesTotal == 0 || read.FilesTotal >= sourceFiles || read.Files != read.FilesTotal || read.Bytes != read.BytesTotal {
		t.Errorf("read: %+v: want every one of the text files (some of the %d files) read", read, sourceFiles)
	}
	write := got[2]
	if write.FilesTotal != res.Stats.Files || write.Files != write.FilesTotal {
		t.Errorf("write: %+v: want %d files (the manifest's), all done", write, res.Stats.Files)
	}
	if write.BytesTotal != sourceBytes || write.Bytes != sourceBytes {
		t.Errorf("write: %+v: want %d bytes (the source's)", write, sourceBytes)
	}

	// Second run, nothing changed: the references come from the cache
	// and nothing is written.
	var second progressLog
	opts.Progress = second.add
	if _, err := FingerprintDir(context.Background(), src, out, opts); err != nil {
		t.Fatal(err)
	}
	got = second.phases(t)
	if len(got) != 2 || got[1] != (Progress{Phase: PhaseRead}) {
		t.Errorf("unchanged run: %+v: want scan, and read of no file", got)
	}

	// One page changed: it is read again; every file goes through the
	// write phase (the others are reused from the previous output).
	writeTree(t, src, map[string]string{"index.html": "<!doctype html><title>new</title><link rel=stylesheet href=css/app.css>"})
	var third progressLog
	opts.Progress = third.add
	if _, err := FingerprintDir(context.Background(), src, out, opts); err != nil {
		t.Fatal(err)
	}
	got = third.phases(t)
	if len(got) != 3 || got[1].FilesTotal != 1 || got[2].Files != got[2].FilesTotal {
		t.Errorf("one page changed: %+v: want 1 file read and every file through the write phase", got)
	}
}
