// Package deploy takes a site folder to a live, warm CDN in one plan,
// computed before anything changes and then applied step by step:
//
//	fingerprint → upload hashed assets → upload other files → upload entry
//	points → delete → purge → wait → prewarm → verify
//
// It is an orchestration of the other packages, not a reimplementation:
// hashing fingerprints, providers.Pusher plans and uploads (ordering,
// retention, deploy history), the providers' purgers purge, prewarm warms
// and verify checks. What it adds is the plan as one document (a stable
// JSON schema, see docs/deploy.md), purges driven by what changed
// (fingerprinted files are never purged; changed entry points and
// un-hashed files are, by URL or by tag), several CDNs in front of one
// origin, rollbacks to a previous deploy, a classification of failures
// (nothing changed / partly uploaded / switched) and an intent record so
// that an interrupted deploy is finished by the next run.
package deploy

import (
	"context"
	"io/fs"
	"log/slog"
	"net/url"
	"time"

	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/prewarm"
	"github.com/cdnctl/cdnctl/providers/verify"
)

// SchemaVersion is the version of the plan and result documents (Report).
const SchemaVersion = 1

// Config is what a deploy needs. Store and Dir are required.
type Config struct {
	// Source is the folder fingerprinted into Dir (or SourceFS, e.g. the
	// embedded sample site). With neither, Dir is pushed as it is (built
	// by cdnctl fingerprint or another tool).
	Source      string
	SourceFS    fs.FS
	Fingerprint hashing.DirOptions
	// Dir is the folder pushed: the fingerprint output.
	Dir string

	// Store is the origin; Target names it in messages and the report
	// ("s3://bucket/www", "file:///srv/origin").
	Store  providers.Store
	Target string
	// KeyPrefix is the store's key prefix in its bucket ("www" for
	// s3://bucket/www), so keys map to CDN paths through each CDN's
	// OriginPath as the purgers map them.
	KeyPrefix string

	Scan providers.ScanOptions
	Plan providers.PlanOptions
	// Concurrency bounds parallel uploads (providers.DefaultConcurrency
	// when 0) and rollback copies.
	Concurrency  int
	HistoryLimit int

	// CDNs are purged, warmed and verified, each on its own.
	CDNs []CDN
	// Wait waits for purges that complete asynchronously (CloudFront
	// invalidations) before prewarming and verifying.
	Wait        bool
	WaitTimeout time.Duration

	Prewarm PrewarmConfig
	Verify  VerifyConfig

	// NoRollbackCopies skips keeping a copy of each un-fingerprinted
	// file's body in the origin's state (under .cdnctl/bodies/), which
	// --rollback needs to restore a deploy's entry points.
	NoRollbackCopies bool

	// Environment names the cdnctl.yaml environment (for the report).
	Environment string
	// GitCommit and GitMessage (its subject) of the site's source; User
	// ("alice@laptop") and CI (the CI job) say who deploys: all recorded
	// in the history.
	GitCommit  string
	GitMessage string
	User, CI   string
	Logger     *slog.Logger
	Now        func() time.Time
	// OnEvent, if set, is called as steps start and end (from the
	// goroutine running Apply). Progress has the live counters.
	OnEvent func(Event)
	// Progress, if set, is updated as steps progress, for progress bars.
	Progress *Progress
}

// CDN is one CDN in front of the origin.
type CDN struct {
	// Name is the cdns entry's name; Provider its provider.
	Name     string
	Provider string
	Purger   providers.Purger
	// OriginPath is the storage prefix the CDN reads the site from (see
	// providers.KeyPaths).
	OriginPath string
	// PurgeBy is PurgeAuto (default), PurgeURLs or PurgeTags.
	PurgeBy string
	// BaseURL is where the CDN serves the site, for prewarm and verify
	// (nil: neither runs for this CDN).
	BaseURL *url.URL
	// Edges finds the CDN's PoPs (nil: neither prewarm nor verify runs
	// for this CDN). It is called while planning.
	Edges func(ctx context.Context) ([]prewarm.Edge, error)
}

// How a CDN is purged.
const (
	// PurgeAuto purges by URL, or by tag when the changed files' tags
	// select exactly those files and are fewer than their URLs.
	PurgeAuto = "auto"
	PurgeURLs = "urls"
	PurgeTags = "tags"
)

// Which URLs prewarm requests.
const (
	WarmChanged     = "changed"      // uploaded and purged files (default)
	WarmAll         = "all"          // every file of the site
	WarmEntryPoints = "entry-points" // changed un-fingerprinted files only
)

// PrewarmConfig says what prewarm does.
type PrewarmConfig struct {
	Enabled bool
	// What is WarmChanged (default), WarmAll or WarmEntryPoints.
	What   string
	Warmer prewarm.Warmer
}

// VerifyConfig says what verify checks.
type VerifyConfig struct {
	Enabled bool
	// Sample is how many fingerprinted assets are checked besides every
	// changed entry point (-1: all of them).
	Sample   int
	Verifier verify.Verifier
}

// Deployer plans and applies deploys. Create it with New.
type Deployer struct {
	cfg Config
	log *slog.Logger
}

// New returns a Deployer for cfg.
func New(cfg Config) *Deployer {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = providers.DefaultConcurrency
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Deployer{cfg: cfg, log: log}
}

// Step names, in the order they run.
const (
	StepFingerprint       = "fingerprint"
	StepUploadAssets      = "upload-assets"
	StepUploadFiles       = "upload-files"
	StepUploadEntryPoints = "upload-entry-points"
	StepDelete            = "delete"
	StepPurge             = "purge"
	StepWait              = "wait"
	StepPrewarm           = "prewarm"
	StepVerify            = "verify"
)

// StepNames returns the steps in order: every plan and result has them all.
func StepNames() []string {
	return []string{
		StepFingerprint, StepUploadAssets, StepUploadFiles, StepUploadEntryPoints,
		StepDelete, StepPurge, StepWait, StepPrewarm, StepVerify,
	}
}

// Step statuses.
const (
	StatusPlanned     = "planned"     // will run
	StatusSkipped     = "skipped"     // nothing to do, or disabled (Reason says which)
	StatusRunning     = "running"     // in progress (events only)
	StatusDone        = "done"        // completed
	StatusFailed      = "failed"      // failed (Error says why)
	StatusNotRun      = "not-run"     // not started: an earlier step failed
	StatusInterrupted = "interrupted" // cancelled while running
)

// Outcomes of a deploy (Report.Status once applied).
const (
	OutcomePlanned = "planned"
	// OutcomeSucceeded: every step completed (or there was nothing to do).
	OutcomeSucceeded = "succeeded"
	// OutcomeFailedUnchanged: failed before the origin or a CDN was
	// changed: nothing was modified.
	OutcomeFailedUnchanged = "failed-unchanged"
	// OutcomeFailedPartial: some files were uploaded, but no entry point
	// was switched: the live site is still the previous deploy, and works.
	OutcomeFailedPartial = "failed-partial"
	// OutcomeFailedSwitched: the push completed or entry points were
	// switched (the new site is live at the origin), then a later step —
	// delete, purge, wait or verify — failed: caches may serve stale
	// content until the purge is redone (a rerun does it).
	OutcomeFailedSwitched = "failed-switched"
)

// Event reports a step starting or ending.
type Event struct {
	Step   string
	Status string // StatusRunning, then StatusDone, StatusFailed, StatusSkipped or StatusInterrupted
	// Files and Bytes are the step's planned totals.
	Files int
	Bytes int64
	Err   error
	Time  time.Time
	// Duration is how long an ended step ran: the report's DurationMS, so
	// progress lines and the summary table say the same.
	Duration time.Duration
}
