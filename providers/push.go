package providers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cdnctl/cdnctl/deploystate"
)

// DefaultConcurrency is how many objects push writes at once.
const DefaultConcurrency = 16

// Pusher makes a store hold exactly a set of local files: it plans
// (ComputePlan over the store's listing and history), then applies the
// plan group by group, deletes, and records the deploy in the store's
// history. The zero value needs only Store; nil fields have the documented
// defaults.
type Pusher struct {
	Store   Store
	Options PlanOptions
	// Concurrency bounds parallel writes (DefaultConcurrency if 0).
	Concurrency int
	// Logger receives progress at info level and each change at debug
	// level (nil: discard).
	Logger *slog.Logger
	// Now is the clock (time.Now if nil).
	Now func() time.Time
	// Progress, if set, is updated as changes complete, for progress bars.
	Progress *Progress

	// What the deploy record says about its origin.
	Source         string // "push" if empty
	DeployID       string // generated from the time and content digest if empty
	GitCommit      string
	GitMessage     string
	ManifestDigest string
	// User ("alice@laptop") and CI (the CI job) say who deploys.
	User, CI string
	// RollbackOf is the ID of the deploy whose objects this push
	// restores (recorded as the deploy's rollback_of).
	RollbackOf string
	// Bodies maps keys to the state files holding a copy of their body
	// (un-fingerprinted files, which the next deploys overwrite): recorded
	// in the deploy's snapshot so that a rollback can restore them.
	Bodies map[string]string
	// HistoryLimit is how many deploy records history keeps
	// (DefaultHistoryLimit if 0); older snapshots are deleted.
	HistoryLimit int
	// KeepRunning leaves the deploy's record running when the push
	// completes: the caller (deploy, which purges and verifies after)
	// records the outcome with Finish.
	KeepRunning bool

	// rec records the deploy of the last Apply (for Finish).
	rec *recorder

	// OnStage, if set, is called as each group of changes starts (uploads
	// and updates group by group, then GroupDeletes), with its changes.
	OnStage func(g Group, changes []Change)
	// OnChange, if set, is called after each change was applied or failed
	// (err != nil), from the goroutine that applied it: deploy tracks its
	// steps with it. It must be safe for concurrent use.
	OnChange func(c Change, err error)
}

// Progress counts what Apply has done; read it from another goroutine.
type Progress struct {
	FilesTotal atomic.Int64
	FilesDone  atomic.Int64
	BytesTotal atomic.Int64
	BytesDone  atomic.Int64
	Failed     atomic.Int64
}

// Result is what Apply did.
type Result struct {
	// DeployID and Seq identify the recorded deploy (empty when nothing
	// changed and nothing was recorded).
	DeployID      string `json:"deploy_id,omitempty"`
	Seq           int    `json:"seq,omitempty"`
	Recorded      bool   `json:"recorded"`
	Uploaded      int    `json:"uploaded"`
	Updated       int    `json:"updated"`
	Deleted       int    `json:"deleted"`
	Kept          int    `json:"kept"`
	Retained      int    `json:"retained"`
	BytesUploaded int64  `json:"bytes_uploaded"`
	// Retries counts the requests the store sent again after a throttled,
	// failed or timed-out attempt (stores that retry on their own: S3),
	// each also logged as a warning.
	Retries    int       `json:"retries"`
	Failures   []Failure `json:"failures,omitempty"`
	DurationMS int64     `json:"duration_ms"`
	// Complete is true when every change was applied.
	Complete bool `json:"complete"`
}

// Failure is one change that could not be applied.
type Failure struct {
	Key   string `json:"key"`
	Op    Op     `json:"op"`
	Error string `json:"error"`
}

func (p *Pusher) logger() *slog.Logger {
	if p.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Logger
}

func (p *Pusher) now() time.Time {
	if p.Now == nil {
		return time.Now()
	}
	return p.Now()
}

func (p *Pusher) concurrency() int {
	if p.Concurrency <= 0 {
		return DefaultConcurrency
	}
	return p.Concurrency
}

// Remote is what push plans against: the store's objects and history.
type Remote struct {
	Objects []RemoteObject
	History *History
	// HistoryVersion is the version of the history file read ("" when
	// there was none): Apply rewrites it only if it is still that one.
	HistoryVersion string
}

// Fetch lists the store and reads its history (concurrently). Callers can
// run it while they scan the local files.
func (p *Pusher) Fetch(ctx context.Context) (*Remote, error) {
	r := &Remote{}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		r.Objects, err = p.Store.List(gctx)
		return err
	})
	g.Go(func() error {
		var err error
		r.History, r.HistoryVersion, err = ReadHistoryVersion(gctx, p.Store)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return r, nil
}

// Plan fetches the store's state and computes the plan for files. It
// changes nothing: --dry-run stops here.
func (p *Pusher) Plan(ctx context.Context, files []*LocalFile) (*Plan, error) {
	r, err := p.Fetch(ctx)
	if err != nil {
		return nil, err
	}
	return p.PlanAgainst(ctx, files, r)
}

// PlanAgainst computes the plan for files against a fetched state,
// asking the store (Stater) about objects the listing could not describe.
func (p *Pusher) PlanAgainst(ctx context.Context, files []*LocalFile, r *Remote) (*Plan, error) {
	if fc, ok := p.Store.(FileChecker); ok {
		var errs []error
		for _, f := range files {
			if err := fc.CheckFile(f); err != nil {
				errs = append(errs, err)
			}
		}
		if len(errs) > 0 {
			return nil, fmt.Errorf("plan: %d file(s) cannot be stored as configured: %w", len(errs), errors.Join(errs...))
		}
	}
	remote, err := p.stat(ctx, files, slices.Clone(r.Objects))
	if err != nil {
		return nil, err
	}
	plan, err := ComputePlan(PlanInput{Local: files, Remote: remote, History: r.History, Now: p.now(), Options: p.Options})
	if err != nil {
		return nil, err
	}
	plan.HistoryVersion = r.HistoryVersion
	return plan, nil
}

// ReadHistory reads a store's deploy history (empty if it has none).
func ReadHistory(ctx context.Context, s StateStore) (*History, error) {
	data, err := s.ReadState(ctx, HistoryName)
	if errors.Is(err, ErrStateNotFound) {
		return NewHistory(), nil
	}
	if err != nil {
		return nil, err
	}
	return ParseHistory(data)
}

// ReadHistoryVersion reads a store's deploy history and its version ("",
// with an empty history, when it has none).
func ReadHistoryVersion(ctx context.Context, s StateVersions) (*History, string, error) {
	data, v, err := s.ReadStateVersion(ctx, HistoryName)
	if errors.Is(err, ErrStateNotFound) {
		return NewHistory(), "", nil
	}
	if err != nil {
		return nil, "", err
	}
	h, err := ParseHistory(data)
	return h, v, err
}

// ReadSnapshot reads the objects a recorded deploy referenced (for a
// rollback).
func ReadSnapshot(ctx context.Context, s StateStore, d *DeployRecord) (*DeploySnapshot, error) {
	if d.Snapshot == "" {
		return nil, fmt.Errorf("deploy %s: no snapshot recorded", d.ID)
	}
	data, err := s.ReadState(ctx, d.Snapshot)
	if err != nil {
		return nil, fmt.Errorf("deploy %s: %w", d.ID, err)
	}
	return ParseSnapshot(data)
}

// stat fills in hash and headers, with the store's Stater, for listed
// objects the listing could not describe and whose size matches a local
// file (a different size is a change whatever the hash).
func (p *Pusher) stat(ctx context.Context, files []*LocalFile, remote []RemoteObject) ([]RemoteObject, error) {
	st, ok := p.Store.(Stater)
	if !ok {
		return remote, nil
	}
	sizes := make(map[string]int64, len(files))
	for _, f := range files {
		sizes[f.Key] = f.Size
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.concurrency())
	for i := range remote {
		o := remote[i]
		if size, ok := sizes[o.Key]; !ok || size != o.Size || o.SHA256 != "" {
			continue
		}
		g.Go(func() error {
			s, err := st.Stat(gctx, o.Key)
			if err != nil {
				return err
			}
			remote[i] = s
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return remote, nil
}

// retryCounter is a Store that retries requests on its own and counts
// them (package s3).
type retryCounter interface {
	// Retries returns how many requests were sent again since the store
	// was opened.
	Retries() int64
}

// Apply carries out a plan: uploads and metadata updates group by group
// (a group starts only when the previous one fully succeeded), then
// deletions, then the index and the deploy history. On failure or
// cancellation it stops before the next group, saves what the store
// recorded so far, and returns an error with the partial Result; running
// the push again finishes the job.
func (p *Pusher) Apply(ctx context.Context, plan *Plan) (*Result, error) {
	start := time.Now()
	res := &Result{}
	rc, _ := p.Store.(retryCounter)
	var retries0 int64
	if rc != nil {
		retries0 = rc.Retries()
	}
	defer func() {
		res.DurationMS = time.Since(start).Milliseconds()
		if rc != nil {
			res.Retries = int(rc.Retries() - retries0)
		}
	}()
	log := p.logger()

	var work []Change
	var deletes []string
	for _, c := range plan.Changes {
		switch c.Op {
		case OpUpload, OpUpdate:
			work = append(work, c)
		case OpDelete:
			deletes = append(deletes, c.Key)
		case OpKeep:
			res.Kept++
		case OpRetain:
			res.Retained++
		}
	}
	if p.Progress != nil {
		p.Progress.FilesTotal.Store(int64(len(work) + len(deletes)))
		var b int64
		for _, c := range work {
			if c.Op == OpUpload {
				b += c.Size
			}
		}
		p.Progress.BytesTotal.Store(b)
	}

	if err := p.waitPastModTimes(ctx, work); err != nil {
		return res, fmt.Errorf("push interrupted before any change: %w", err)
	}

	// Record the deploy as running before its first change, with the
	// assets it references: a deploy interrupted from here on (even by
	// kill -9) is in the history, and retention keeps its assets.
	rec := &recorder{p: p, plan: plan, version: plan.HistoryVersion}
	p.rec = rec
	if err := rec.begin(ctx, res); err != nil {
		return res, err
	}
	defer func() {
		if !res.Complete {
			rec.interrupted(ctx, res, nil)
		}
	}()

	// Uploads and updates, stage by stage.
	for i := 0; i < len(work); {
		j := i
		for j < len(work) && work[j].Stage == work[i].Stage {
			j++
		}
		stage := work[i:j]
		log.Debug("push: applying group", "group", stage[0].Group, "changes", len(stage))
		if p.OnStage != nil {
			p.OnStage(stage[0].Group, stage)
		}
		p.applyStage(ctx, stage, res)
		if len(res.Failures) > 0 || ctx.Err() != nil {
			p.saveIndex(ctx)
			return res, p.incomplete(ctx, res, len(work)+len(deletes))
		}
		if gc, ok := p.Store.(GroupCommitter); ok && gc.CommitEachGroup() {
			if err := p.Store.Commit(ctx); err != nil {
				return res, fmt.Errorf("push: save object index: %w", err)
			}
		}
		i = j
	}

	if len(deletes) > 0 {
		log.Debug("push: deleting", "objects", len(deletes))
		var delChanges []Change
		if p.OnStage != nil || p.OnChange != nil {
			for _, c := range plan.Changes {
				if c.Op == OpDelete {
					delChanges = append(delChanges, c)
				}
			}
		}
		if p.OnStage != nil {
			p.OnStage(GroupDeletes, delChanges)
		}
		if err := p.Store.Delete(ctx, deletes); err != nil {
			p.saveIndex(ctx)
			if p.OnChange != nil {
				for _, c := range delChanges {
					p.OnChange(c, err)
				}
			}
			return res, fmt.Errorf("push: delete: %w", err)
		}
		res.Deleted = len(deletes)
		if p.Progress != nil {
			p.Progress.FilesDone.Add(int64(len(deletes)))
		}
		if p.OnChange != nil {
			for _, c := range delChanges {
				p.OnChange(c, nil)
			}
		}
	}
	if err := p.Store.Commit(ctx); err != nil {
		return res, fmt.Errorf("push: save object index: %w", err)
	}
	if err := rec.complete(ctx, res); err != nil {
		return res, err
	}
	res.Complete = true
	return res, nil
}

// waitPastModTimes waits, for a store that times objects to the second
// (TimeGranularity: S3's LastModified) and when a file to upload was
// modified in the current second (a build that just finished), until the
// next second starts. Tools that sync by time (`aws s3 sync`) upload a
// file again when it was modified after its object: without the wait, a
// file would look newer than the object written in the same second. It
// waits at most a second.
func (p *Pusher) waitPastModTimes(ctx context.Context, work []Change) error {
	if tg, ok := p.Store.(TimeGranularity); !ok || tg.TimeGranularity() < time.Second {
		return nil
	}
	var newest time.Time
	for _, c := range work {
		if c.Op == OpUpload && c.File != nil && c.File.ModTime.After(newest) {
			newest = c.File.ModTime
		}
	}
	now := time.Now()
	if newest.IsZero() || newest.Before(now.Truncate(time.Second)) {
		return nil
	}
	// The next second after newest (a modification time in the future is
	// a clock problem this does not fix: wait at most a second).
	wait := min(newest.Truncate(time.Second).Add(time.Second).Sub(now), time.Second)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// applyStage runs one group's changes with bounded concurrency. Failures
// are collected, not fatal to the other changes of the group.
func (p *Pusher) applyStage(ctx context.Context, stage []Change, res *Result) {
	log := p.logger()
	updater, canUpdate := p.Store.(MetadataUpdater)
	sem := make(chan struct{}, p.concurrency())
	var (
		wg sync.WaitGroup
		mu sync.Mutex // guards res
	)
	for _, c := range stage {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var err error
			sent := int64(0)
			if c.Op == OpUpdate && canUpdate {
				err = updater.UpdateMetadata(ctx, c.File)
			} else {
				err = p.Store.Put(ctx, c.File)
				sent = c.Size
			}
			if p.OnChange != nil {
				p.OnChange(c, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if ctx.Err() == nil {
					res.Failures = append(res.Failures, Failure{Key: c.Key, Op: c.Op, Error: err.Error()})
					log.Error("push: failed", "op", c.Op, "key", c.Key, "err", err)
					if p.Progress != nil {
						p.Progress.Failed.Add(1)
					}
				}
				return
			}
			log.Debug("push: done", "op", c.Op, "key", c.Key, "reason", c.Reason)
			if c.Op == OpUpload {
				res.Uploaded++
			} else {
				res.Updated++
			}
			res.BytesUploaded += sent
			if p.Progress != nil {
				p.Progress.FilesDone.Add(1)
				if c.Op == OpUpload {
					p.Progress.BytesDone.Add(c.Size)
				}
			}
		}()
	}
	wg.Wait()
	sort.Slice(res.Failures, func(i, j int) bool { return res.Failures[i].Key < res.Failures[j].Key })
}

// saveIndex persists what the store recorded before an early return, even
// when ctx was cancelled, so a rerun does not redo finished uploads.
func (p *Pusher) saveIndex(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := p.Store.Commit(ctx); err != nil {
		p.logger().Warn("push: could not save the object index", "err", err)
	}
}

func (p *Pusher) incomplete(ctx context.Context, res *Result, total int) error {
	done := res.Uploaded + res.Updated
	if err := ctx.Err(); err != nil && len(res.Failures) == 0 {
		return fmt.Errorf("push interrupted after %d of %d changes (entry points not switched unless done; run again to finish): %w", done, total, err)
	}
	f := res.Failures[0]
	more := ""
	if len(res.Failures) > 1 {
		more = fmt.Sprintf(" (and %d more)", len(res.Failures)-1)
	}
	return fmt.Errorf("push: %d of %d changes failed, later groups not started (run again to finish): %s %s: %s%s",
		len(res.Failures), total, f.Op, f.Key, f.Error, more)
}

// NewDeployID is the ID a deploy recorded at t with this content digest
// gets by default: the UTC time and the digest's first 8 hex digits
// ("20261123T130405Z-3f9a1c0e").
func NewDeployID(t time.Time, contentDigest string) string {
	return t.UTC().Format("20060102T150405Z") + "-" + strings.TrimPrefix(contentDigest, "sha256:")[:8]
}

// recorder writes a push's deploy record: running before the first
// change, then complete (or interrupted). Every history write replaces
// exactly the version read before (If-Match), so a deploy that raced
// another one fails instead of dropping its record.
type recorder struct {
	p        *Pusher
	plan     *Plan
	version  string   // of the history file, as last read or written
	hist     *History // as last written (nil before the first write)
	recorded bool     // begin recorded the deploy, at hist.Deploys[index]
	index    int
}

// begin writes the deploy's snapshot and its running record.
func (r *recorder) begin(ctx context.Context, res *Result) error {
	p, plan := r.p, r.plan
	if !plan.Record {
		return nil
	}
	now := p.now().UTC()
	h := plan.History.Clone()
	id := p.DeployID
	if id == "" {
		id = NewDeployID(now, plan.ContentDigest)
	}
	if h.Find(id) != nil {
		id = fmt.Sprintf("%s-%d", id, plan.Seq)
	}
	snap := &DeploySnapshot{Version: HistoryVersion, ID: id, Seq: plan.Seq, Time: now, Objects: map[string]SnapshotEntry{}}
	var counts DeployCounts
	for _, c := range plan.Changes {
		if c.File == nil {
			continue
		}
		snap.Objects[c.Key] = SnapshotEntry{IndexEntry: EntryFor(c.File, ""), Fingerprinted: c.File.Fingerprinted, Body: p.Bodies[c.Key]}
		counts.Files++
		counts.Bytes += c.File.Size
	}
	data, err := snap.Marshal()
	if err != nil {
		return err
	}
	name := SnapshotName(id)
	if err := p.Store.WriteState(ctx, name, data); err != nil {
		return fmt.Errorf("push: write deploy snapshot: %w", err)
	}
	source := p.Source
	if source == "" {
		source = "push"
	}
	h.Deploys = append(h.Deploys, DeployRecord{
		Seq: plan.Seq, ID: id, Time: now, Status: deploystate.StatusRunning, Source: source,
		User: p.User, CI: p.CI, GitCommit: p.GitCommit, GitMessage: p.GitMessage, RollbackOf: p.RollbackOf,
		ManifestDigest: p.ManifestDigest, ContentDigest: plan.ContentDigest, Snapshot: name, Counts: counts,
	})
	r.index = len(h.Deploys) - 1
	if err := r.write(ctx, h); err != nil {
		if derr := p.Store.DeleteState(ctx, name); derr != nil {
			p.logger().Warn("push: could not delete the snapshot of an unrecorded deploy", "snapshot", name, "err", derr)
		}
		return err
	}
	r.recorded = true
	res.DeployID, res.Seq, res.Recorded = id, plan.Seq, true
	return nil
}

// complete records the deploy as complete with its counts, keeps
// HistoryLimit records and deletes older snapshots. A push that records
// no deploy writes the history only when retention clocks moved.
func (r *recorder) complete(ctx context.Context, res *Result) error {
	p, plan := r.p, r.plan
	if !r.recorded {
		if plan.HistoryChanged {
			return r.write(ctx, plan.History.Clone())
		}
		return nil
	}
	h := r.hist.Clone()
	d := &h.Deploys[r.index]
	if !p.KeepRunning {
		d.Status, d.Finished = deploystate.StatusComplete, p.now().UTC()
	}
	d.Counts.Uploaded, d.Counts.Updated, d.Counts.Kept = res.Uploaded, res.Updated, res.Kept
	d.Counts.Deleted, d.Counts.Retained, d.Counts.BytesUploaded = res.Deleted, res.Retained, res.BytesUploaded
	limit := p.HistoryLimit
	if limit <= 0 {
		limit = DefaultHistoryLimit
	}
	var pruned []DeployRecord
	if len(h.Deploys) > limit {
		pruned = append(pruned, h.Deploys[:len(h.Deploys)-limit]...)
		h.Deploys = append([]DeployRecord(nil), h.Deploys[len(h.Deploys)-limit:]...)
	}
	if err := r.write(ctx, h); err != nil {
		return err
	}
	for _, d := range pruned {
		if d.Snapshot == "" {
			continue
		}
		if err := p.Store.DeleteState(ctx, d.Snapshot); err != nil {
			p.logger().Warn("push: could not delete an old deploy snapshot", "snapshot", d.Snapshot, "err", err)
		}
	}
	return nil
}

// interrupted records why a running deploy stopped (best effort, even
// when ctx was cancelled). A deploy killed before it gets here stays
// "running" in the history, which readers show as interrupted once no
// lock of it is held.
func (r *recorder) interrupted(ctx context.Context, res *Result, why error) {
	if !r.recorded {
		return
	}
	cause := context.Cause(ctx)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	h := r.hist.Clone()
	d := &h.Deploys[r.index]
	d.Status, d.Finished = deploystate.StatusInterrupted, r.p.now().UTC()
	if res != nil {
		d.Counts.Uploaded, d.Counts.Updated, d.Counts.Deleted, d.Counts.BytesUploaded = res.Uploaded, res.Updated, res.Deleted, res.BytesUploaded
	}
	switch {
	case why != nil:
		d.Error = why.Error()
	case res != nil && len(res.Failures) > 0:
		d.Error = fmt.Sprintf("%d changes failed (first: %s %s: %s)", len(res.Failures), res.Failures[0].Op, res.Failures[0].Key, res.Failures[0].Error)
	default:
		d.Error = "stopped before completing"
		if cause != nil {
			d.Error += ": " + cause.Error()
		}
	}
	if err := r.write(ctx, h); err != nil {
		r.p.logger().Warn("push: could not record the deploy as interrupted", "deploy", d.ID, "err", err)
	}
}

// Finish records the outcome of the deploy the last Apply left running
// (KeepRunning): complete when err is nil, else interrupted with err. It
// does nothing when Apply recorded no deploy.
func (p *Pusher) Finish(ctx context.Context, err error) error {
	r := p.rec
	if r == nil || !r.recorded || !p.KeepRunning {
		return nil
	}
	if err != nil {
		r.interrupted(ctx, nil, err)
		return nil
	}
	h := r.hist.Clone()
	d := &h.Deploys[r.index]
	d.Status, d.Finished = deploystate.StatusComplete, p.now().UTC()
	return r.write(ctx, h)
}

// write replaces the history, only if it is still the version read.
func (r *recorder) write(ctx context.Context, h *History) error {
	data, err := h.Marshal()
	if err != nil {
		return fmt.Errorf("push: %w", err)
	}
	v, err := r.p.Store.WriteStateIf(ctx, HistoryName, data, r.version)
	if errors.Is(err, ErrStateConflict) {
		return fmt.Errorf("push: the deploy history changed since it was read: another deploy or push ran meanwhile (run again to plan against it): %w", err)
	}
	if err != nil {
		return fmt.Errorf("push: write deploy history: %w", err)
	}
	r.version, r.hist = v, h
	return nil
}
