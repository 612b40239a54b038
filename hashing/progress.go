package hashing

import "sync"

// Phases of a build, as Progress.Phase names them.
const (
	// PhaseScan lists the source folder (no count yet).
	PhaseScan = "scan"
	// PhaseRead reads the files that can name others (HTML, CSS,
	// JavaScript, source maps, web manifests, text) for their references.
	PhaseRead = "read"
	// PhaseWrite hashes, rewrites and writes every file with its
	// precompressed copies.
	PhaseWrite = "write"
)

// Progress is how far a build is, as Options.Progress receives it.
type Progress struct {
	// Phase is PhaseScan, PhaseRead or PhaseWrite.
	Phase string
	// Files is how many files of the phase are done, of FilesTotal (0
	// during PhaseScan, which does not know it yet).
	Files, FilesTotal int
	// Bytes is the source size of the files done, of BytesTotal.
	Bytes, BytesTotal int64
}

// progress reports a build's Progress to Options.Progress: once when a
// phase starts and once per file done. Calls are made one at a time,
// whatever the number of workers, so the counts a callback sees only
// grow within a phase. It does nothing when there is no callback.
type progress struct {
	fn func(Progress)

	mu sync.Mutex // guards p and serialises the calls of fn
	p  Progress
}

func (r *progress) start(phase string, files int, bytes int64) {
	if r.fn == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.p = Progress{Phase: phase, FilesTotal: files, BytesTotal: bytes}
	r.fn(r.p)
}

// done counts one file of size bytes.
func (r *progress) done(size int64) {
	if r.fn == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.p.Files++
	r.p.Bytes += size
	r.fn(r.p)
}
