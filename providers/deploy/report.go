package deploy

import (
	"sync/atomic"
	"time"

	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/prewarm"
	"github.com/cdnctl/cdnctl/providers/verify"
)

// Report is the plan of a deploy (Status "planned") and, once applied,
// its result: the same document with each step's outcome filled in. Its
// JSON form is the stable schema CI systems parse (docs/deploy.md):
// fields are only ever added.
type Report struct {
	Version int `json:"version"`
	// ID is the deploy's ID in the origin's history (as planned; the
	// recorded one is in Push.DeployID).
	ID string `json:"id"`
	// Kind is "deploy" or "rollback".
	Kind        string `json:"kind"`
	RollbackOf  string `json:"rollback_of,omitempty"`
	Environment string `json:"environment,omitempty"`
	Origin      string `json:"origin"`
	// State is where the origin's deploy state (history, lock) is.
	State string `json:"state,omitempty"`
	Site  Site   `json:"site"`
	// Resumes names the unfinished deploy whose purge this one redoes.
	Resumes string `json:"resumes,omitempty"`
	// Status is OutcomePlanned in a plan, then an Outcome.
	Status string `json:"status"`
	// Changes reports whether applying the plan changes anything.
	Changes bool `json:"changes"`
	// Steps are always all present, in StepNames order.
	Steps    []Step   `json:"steps"`
	Warnings []string `json:"warnings,omitempty"`
	// Push is what the upload steps did (result only).
	Push *providers.Result `json:"push,omitempty"`
	// Retries counts the requests to the origin storage sent again after
	// a throttled, failed or timed-out attempt since the store was opened
	// (the whole run: lock, state, uploads; result only). Each was logged
	// as a warning. Stores that do not retry on their own report 0.
	Retries int `json:"retries"`
	// Error is the failure, when Status is a failed outcome.
	Error      string    `json:"error,omitempty"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	DurationMS int64     `json:"duration_ms"`
}

// Site describes what is deployed.
type Site struct {
	Source string `json:"source,omitempty"`
	Dir    string `json:"dir"`
	Files  int    `json:"files"`
	Bytes  int64  `json:"bytes"`
	// ManifestDigest is the fingerprint manifest's "sha256:…", when the
	// folder has one; ContentDigest covers every file's key, hash and
	// headers (equal digests: the same site).
	ManifestDigest string `json:"manifest_digest,omitempty"`
	ContentDigest  string `json:"content_digest"`
	GitCommit      string `json:"git_commit,omitempty"`
	// RollbackCopies is how many un-fingerprinted files get a copy of
	// their body kept for rollbacks.
	RollbackCopies int `json:"rollback_copies"`
}

// Step is one step of the plan; the fields that apply to it are set.
type Step struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	// Reason says what the step does, or why it is skipped.
	Reason string `json:"reason,omitempty"`
	// Files and Bytes are what the step handles: files uploaded or
	// deleted, URLs purged, requests sent.
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
	// Unchanged counts files of the group that stay as they are.
	Unchanged int `json:"unchanged,omitempty"`

	// Fingerprint is set on the fingerprint step.
	Fingerprint *hashing.Stats `json:"fingerprint,omitempty"`
	// Changes are the upload and delete steps' changes (the push plan's,
	// with their reasons).
	Changes []providers.Change `json:"changes,omitempty"`
	// Purges are the purge step's, one per CDN.
	Purges []Purge `json:"purges,omitempty"`
	// Prewarm and Verify are set on their steps.
	Prewarm *Warm  `json:"prewarm,omitempty"`
	Verify  *Check `json:"verify,omitempty"`

	Error      string `json:"error,omitempty"`
	DurationMS int64  `json:"duration_ms"`
}

// Purge is what the purge step does at one CDN.
type Purge struct {
	CDN      string `json:"cdn"`
	Provider string `json:"provider"`
	// By is "urls" or "tags"; Why explains the choice.
	By  string `json:"by"`
	Why string `json:"why,omitempty"`
	// Keys are the changed objects purged; Tags the tags purged (by tags).
	Keys []string `json:"keys"`
	Tags []string `json:"tags,omitempty"`
	// Record is the provider's purge: batches as planned, then as sent.
	Record *providers.PurgeRecord `json:"record"`
	// Waited says whether the wait step waited for this purge.
	Waited bool `json:"waited,omitempty"`
}

// Warm is what prewarm requests.
type Warm struct {
	// What is the WarmXxx choice; Paths the URL paths requested.
	What    string       `json:"what"`
	Paths   []string     `json:"paths"`
	Targets []WarmTarget `json:"targets"`
}

// WarmTarget is one CDN's PoPs and, once warmed, the report.
type WarmTarget struct {
	CDN     string          `json:"cdn"`
	BaseURL string          `json:"base_url"`
	Pops    []prewarm.Edge  `json:"pops"`
	Error   string          `json:"error,omitempty"`
	Report  *prewarm.Report `json:"report,omitempty"`
}

// Check is what verify checks.
type Check struct {
	// Paths are the URL paths checked, with the SHA-256 expected.
	Paths   []CheckPath   `json:"paths"`
	Targets []CheckTarget `json:"targets"`
}

// CheckPath is one path verify fetches.
type CheckPath struct {
	Path   string `json:"path"`
	Key    string `json:"key"`
	SHA256 string `json:"sha256"`
}

// CheckTarget is one CDN's PoPs and, once verified, the report.
type CheckTarget struct {
	CDN     string         `json:"cdn"`
	BaseURL string         `json:"base_url"`
	Pops    []prewarm.Edge `json:"pops"`
	// Private are the paths at this CDN that must not serve cdnctl's
	// deploy state (docs/deploy.md#state).
	Private []string       `json:"private,omitempty"`
	Error   string         `json:"error,omitempty"`
	Report  *verify.Report `json:"report,omitempty"`
}

// step returns the named step.
func (r *Report) step(name string) *Step {
	for i := range r.Steps {
		if r.Steps[i].Name == name {
			return &r.Steps[i]
		}
	}
	panic("deploy: no step " + name)
}

// Step returns the named step, or nil.
func (r *Report) Step(name string) *Step {
	for i := range r.Steps {
		if r.Steps[i].Name == name {
			return &r.Steps[i]
		}
	}
	return nil
}

// retryCounter is a Store that retries requests on its own and counts
// them (package s3).
type retryCounter interface{ Retries() int64 }

// Progress counts what the running step has done; read it from another
// goroutine (progress bars).
type Progress struct {
	step  atomic.Value // string: the running step
	phase atomic.Value // string: what the running step does now, if it says
	Done  atomic.Int64 // files, URLs or requests done in the running step
	Total atomic.Int64
	Bytes atomic.Int64 // bytes done in the running step
	// BytesTotal is the running step's planned bytes.
	BytesTotal atomic.Int64
	Failed     atomic.Int64
}

// Step returns the running step's name ("" before the first).
func (p *Progress) Step() string {
	s, _ := p.step.Load().(string)
	return s
}

// Phase returns what the running step does now ("" when it does not
// say): the fingerprint step's hashing.Progress phase ("scan", "read",
// "write"), whose counts Done, Total, Bytes and BytesTotal are.
func (p *Progress) Phase() string {
	s, _ := p.phase.Load().(string)
	return s
}

// fingerprinted records a fingerprint run's progress.
func (p *Progress) fingerprinted(h hashing.Progress) {
	if p == nil {
		return
	}
	p.Done.Store(int64(h.Files))
	p.Total.Store(int64(h.FilesTotal))
	p.Bytes.Store(h.Bytes)
	p.BytesTotal.Store(h.BytesTotal)
	p.phase.Store(h.Phase)
}

func (p *Progress) start(step string, total int, bytes int64) {
	if p == nil {
		return
	}
	p.Done.Store(0)
	p.Bytes.Store(0)
	p.Failed.Store(0)
	p.Total.Store(int64(total))
	p.BytesTotal.Store(bytes)
	p.phase.Store("")
	p.step.Store(step)
}
