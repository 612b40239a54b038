package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/prewarm"
)

// Error is a failed deploy: which step failed, and what state it left
// the site in (Outcome). Its Unwrap is the cause.
type Error struct {
	Outcome string
	Step    string
	Err     error
}

func (e *Error) Error() string {
	return fmt.Sprintf("deploy: %s: %v (%s)", e.Step, e.Err, OutcomeText(e.Outcome))
}

func (e *Error) Unwrap() error { return e.Err }

// OutcomeText explains an outcome in one line.
func OutcomeText(outcome string) string {
	switch outcome {
	case OutcomeSucceeded:
		return "deployed"
	case OutcomeFailedUnchanged:
		return "nothing was changed"
	case OutcomeFailedPartial:
		return "some files were uploaded, no entry point was switched: the live site is the previous deploy and works; run again to finish"
	case OutcomeFailedSwitched:
		return "the new site is live at the origin, but caches may still serve the previous one; run again to purge and verify"
	}
	return outcome
}

// applyState tracks what Apply has changed, for the outcome.
type applyState struct {
	modified atomic.Bool // an object of the origin was written or deleted
	switched atomic.Bool // an entry point was written, or the push completed
}

func (s *applyState) outcome() string {
	switch {
	case s.switched.Load():
		return OutcomeFailedSwitched
	case s.modified.Load():
		return OutcomeFailedPartial
	}
	return OutcomeFailedUnchanged
}

// Apply carries out a plan, step by step, and returns the report with
// each step's outcome. On failure (or cancellation) it stops, marks the
// remaining steps not-run, and returns the report with an *Error whose
// Outcome says what state the site is in; running the deploy again
// finishes the job.
func (d *Deployer) Apply(ctx context.Context, p *Plan) (*Report, error) {
	start := time.Now()
	rep := p.Report
	rep.Steps = slices.Clone(p.Steps)
	rep.Warnings = slices.Clone(p.Warnings)
	rep.StartedAt = d.cfg.Now()
	var st applyState
	if p.resumed != nil {
		// The previous run switched entry points that are not purged yet.
		st.switched.Store(true)
	}
	finish := func(step string, err error) (*Report, error) {
		// The deploy's record: complete, or interrupted with why.
		if p.applied != nil {
			if ferr := p.applied.Finish(ctx, err); ferr != nil && err == nil {
				rep.Warnings = append(rep.Warnings, "the deploy is done but could not be recorded as complete: "+ferr.Error())
			}
		}
		rep.DurationMS = time.Since(start).Milliseconds()
		if rc, ok := d.cfg.Store.(retryCounter); ok {
			rep.Retries = int(rc.Retries())
		}
		if err == nil {
			rep.Status = OutcomeSucceeded
			return &rep, nil
		}
		s := rep.step(step)
		s.Error = err.Error()
		if s.Status == StatusPlanned || s.Status == StatusRunning {
			s.Status = StatusFailed
			if ctx.Err() != nil {
				s.Status = StatusInterrupted
			}
		}
		for i := range rep.Steps {
			if rep.Steps[i].Status == StatusPlanned {
				rep.Steps[i].Status = StatusNotRun
			}
		}
		d.emitEnd(s, err)
		e := &Error{Outcome: st.outcome(), Step: step, Err: err}
		rep.Status, rep.Error = e.Outcome, e.Error()
		return &rep, e
	}

	// Before any change: record the purge this deploy owes, and keep
	// rollback copies.
	if len(p.purgeKeys) > 0 {
		pd := &pendingDeploy{Version: SchemaVersion, ID: p.ID, Started: d.cfg.Now().UTC(), Keys: p.purgeKeys}
		if p.resumed != nil && p.ID == "" {
			pd.ID = p.resumed.ID
		}
		if err := writePending(ctx, d.cfg.Store, pd); err != nil {
			return finish(StepUploadAssets, err)
		}
	}
	if err := d.writeCopies(ctx, p.copies); err != nil {
		return finish(StepUploadAssets, fmt.Errorf("rollback copies: %w", err))
	}

	// Upload, delete, record.
	if step, err := d.applyPush(ctx, p, &rep, &st); err != nil {
		return finish(step, err)
	}
	if p.push.Pending() {
		st.switched.Store(true)
	}

	// Purge, then wait.
	sent := make([]*providers.PurgeRecord, len(p.cdns))
	if err := d.runStep(ctx, &rep, StepPurge, func(s *Step) error { return d.purge(ctx, p, s, sent) }); err != nil {
		return finish(StepPurge, err)
	}
	if err := d.runStep(ctx, &rep, StepWait, func(s *Step) error { return d.wait(ctx, p, sent) }); err != nil {
		return finish(StepWait, err)
	}
	verifying := rep.step(StepVerify).Status == StatusPlanned
	if !verifying {
		if err := d.clearPending(ctx, p); err != nil {
			rep.Warnings = append(rep.Warnings, err.Error())
		}
	}

	// Prewarm: failed requests are warnings (verify is the check).
	if err := d.runStep(ctx, &rep, StepPrewarm, func(s *Step) error { return d.prewarm(ctx, p, s, &rep) }); err != nil {
		return finish(StepPrewarm, err)
	}
	if err := d.runStep(ctx, &rep, StepVerify, func(s *Step) error { return d.verify(ctx, p, s) }); err != nil {
		return finish(StepVerify, err)
	}
	if verifying {
		if err := d.clearPending(ctx, p); err != nil {
			rep.Warnings = append(rep.Warnings, err.Error())
		}
	}
	return finish("", nil)
}

// runStep runs a planned step with its events and timing; a skipped step
// is left alone.
func (d *Deployer) runStep(ctx context.Context, rep *Report, name string, fn func(s *Step) error) error {
	s := rep.step(name)
	if s.Status != StatusPlanned {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	d.cfg.Progress.start(name, s.Files, s.Bytes)
	d.emit(name, StatusRunning, s.Files, s.Bytes, nil)
	t0 := time.Now()
	err := fn(s)
	s.DurationMS = time.Since(t0).Milliseconds()
	if err != nil {
		return err
	}
	s.Status = StatusDone
	d.emitEnd(s, nil)
	return nil
}

func (d *Deployer) emit(step, status string, files int, bytes int64, err error) {
	if d.cfg.OnEvent != nil {
		d.cfg.OnEvent(Event{Step: step, Status: status, Files: files, Bytes: bytes, Err: err, Time: d.cfg.Now()})
	}
}

// emitEnd reports that step s ended, with its recorded duration.
func (d *Deployer) emitEnd(s *Step, err error) {
	if d.cfg.OnEvent != nil {
		d.cfg.OnEvent(Event{Step: s.Name, Status: s.Status, Files: s.Files, Bytes: s.Bytes, Err: err, Time: d.cfg.Now(),
			Duration: time.Duration(s.DurationMS) * time.Millisecond})
	}
}

func (d *Deployer) clearPending(ctx context.Context, p *Plan) error {
	if len(p.purgeKeys) == 0 && p.resumed == nil {
		return nil
	}
	if err := d.cfg.Store.DeleteState(ctx, PendingName); err != nil {
		return fmt.Errorf("deploy: could not remove %s (the next deploy purges its URLs again): %v", PendingName, err)
	}
	return nil
}

// writeCopies keeps the rollback copies (state files), concurrently.
func (d *Deployer) writeCopies(ctx context.Context, jobs []copyJob) error {
	if len(jobs) == 0 {
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(d.cfg.Concurrency)
	for _, j := range jobs {
		g.Go(func() error {
			r, err := j.file.Open()
			if err != nil {
				return err
			}
			data, err := io.ReadAll(r)
			r.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", j.file.Key, err)
			}
			return d.cfg.Store.WriteState(gctx, j.name, data)
		})
	}
	return g.Wait()
}

// applyPush runs the push plan, mapping its groups to the upload and
// delete steps. It returns the step that failed.
func (d *Deployer) applyPush(ctx context.Context, p *Plan, rep *Report, st *applyState) (string, error) {
	push := p.push
	if !push.Pending() && !push.Record && !push.HistoryChanged {
		return "", nil
	}
	var (
		mu      sync.Mutex // guards current and rep's upload steps
		current string
		timer   = map[string]time.Time{} // when each step started
	)
	startStep := func(name string) {
		mu.Lock()
		defer mu.Unlock()
		if current == name {
			return
		}
		if current != "" {
			s := rep.step(current)
			s.Status = StatusDone
			if t0, ok := timer[current]; ok {
				s.DurationMS = time.Since(t0).Milliseconds()
			}
			d.emitEnd(s, nil)
		}
		current = name
		s := rep.step(name)
		s.Status = StatusRunning
		d.cfg.Progress.start(name, s.Files, s.Bytes)
		d.emit(name, StatusRunning, s.Files, s.Bytes, nil)
	}
	pusher := *p.pusher
	p.applied = &pusher
	pusher.OnStage = func(g providers.Group, _ []providers.Change) {
		name := groupStep(g)
		if _, ok := timer[name]; !ok {
			timer[name] = time.Now()
		}
		startStep(name)
	}
	prog := d.cfg.Progress
	pusher.OnChange = func(c providers.Change, err error) {
		if err != nil {
			if prog != nil {
				prog.Failed.Add(1)
			}
			return
		}
		st.modified.Store(true)
		if c.Group == providers.GroupEntryPoints {
			st.switched.Store(true)
		}
		if prog != nil {
			prog.Done.Add(1)
			if c.Op == providers.OpUpload {
				prog.Bytes.Add(c.Size)
			}
		}
	}
	res, err := pusher.Apply(ctx, push)
	rep.Push = res
	mu.Lock()
	last := current
	mu.Unlock()
	for name, t0 := range timer {
		// Each step ran until the next one started (set then); the last
		// one until the push ended.
		if s := rep.step(name); s.DurationMS == 0 {
			s.DurationMS = time.Since(t0).Milliseconds()
		}
	}
	if err != nil {
		if last == "" {
			last = StepUploadAssets
		}
		return last, err
	}
	for _, name := range []string{StepUploadAssets, StepUploadFiles, StepUploadEntryPoints, StepDelete} {
		if s := rep.step(name); s.Status == StatusRunning || s.Status == StatusPlanned {
			s.Status = StatusDone
			if name == last {
				d.emitEnd(s, nil)
			}
		}
	}
	return "", nil
}

// purge sends every CDN's purge, concurrently; the step fails when any
// CDN's did.
func (d *Deployer) purge(ctx context.Context, p *Plan, s *Step, sent []*providers.PurgeRecord) error {
	s.Purges = slices.Clone(s.Purges)
	var (
		wg   sync.WaitGroup
		errs = make([]error, len(p.cdns))
	)
	for i, cp := range p.cdns {
		if cp.purge == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := clonePurge(cp.purge)
			err := cp.cdn.Purger.Purge(ctx, rec)
			s.Purges[i].Record, sent[i] = rec, rec
			if d.cfg.Progress != nil {
				d.cfg.Progress.Done.Add(int64(rec.Items()))
			}
			if err != nil {
				errs[i] = fmt.Errorf("cdn %s: %w", cp.cdn.Name, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// clonePurge copies a planned record, so the plan stays a plan and a
// rerun of Apply sends it again.
func clonePurge(r *providers.PurgeRecord) *providers.PurgeRecord {
	c := *r
	c.Batches = slices.Clone(r.Batches)
	return &c
}

// wait waits for the purges that complete after they are accepted.
func (d *Deployer) wait(ctx context.Context, p *Plan, sent []*providers.PurgeRecord) error {
	if d.cfg.WaitTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.cfg.WaitTimeout)
		defer cancel()
	}
	var errs []error
	for i, cp := range p.cdns {
		pr := sent[i]
		w, ok := cp.cdn.Purger.(providers.PurgeWaiter)
		if !ok || pr == nil || pr.Status != providers.PurgeInProgress {
			continue
		}
		if err := w.Wait(ctx, pr, nil); err != nil {
			errs = append(errs, fmt.Errorf("cdn %s: %w", cp.cdn.Name, err))
		}
		if d.cfg.Progress != nil {
			d.cfg.Progress.Done.Add(1)
		}
	}
	return errors.Join(errs...)
}

// prewarm warms every CDN's PoPs; failed requests become warnings.
func (d *Deployer) prewarm(ctx context.Context, p *Plan, s *Step, rep *Report) error {
	s.Prewarm = cloneWarm(s.Prewarm)
	var wg sync.WaitGroup
	t := 0
	for _, cp := range p.cdns {
		if cp.edges == nil {
			continue
		}
		i := t
		t++
		w := d.cfg.Prewarm.Warmer
		prog := d.cfg.Progress
		user := w.OnRequest
		w.OnRequest = func(edge string, r prewarm.Request) {
			if prog != nil {
				prog.Done.Add(1)
				prog.Bytes.Add(r.Bytes)
				if r.Error != "" {
					prog.Failed.Add(1)
				}
			}
			if user != nil {
				user(edge, r)
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := w.Warm(ctx, cp.warmURLs, cp.edges)
			s.Prewarm.Targets[i].Report = r
			if err != nil {
				s.Prewarm.Targets[i].Error = err.Error()
			}
		}()
	}
	wg.Wait()
	s.Files, s.Bytes = 0, 0
	for _, tg := range s.Prewarm.Targets {
		if tg.Report != nil {
			s.Files += tg.Report.Requests
			for _, pr := range tg.Report.Pops {
				s.Bytes += pr.Bytes
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, tg := range s.Prewarm.Targets {
		if tg.Report != nil && tg.Report.Errors > 0 {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("prewarm: cdn %s: %d of %d requests failed", tg.CDN, tg.Report.Errors, tg.Report.Requests))
		}
		if tg.Error != "" {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("prewarm: cdn %s: %s", tg.CDN, tg.Error))
		}
	}
	return nil
}

func cloneWarm(w *Warm) *Warm {
	c := *w
	c.Targets = slices.Clone(w.Targets)
	return &c
}

// verify checks every CDN's PoPs; any stale or wrong answer fails it.
func (d *Deployer) verify(ctx context.Context, p *Plan, s *Step) error {
	c := *s.Verify
	c.Targets = slices.Clone(s.Verify.Targets)
	s.Verify = &c
	var (
		wg   sync.WaitGroup
		errs = make([]error, len(p.cdns))
	)
	t := 0
	for i, cp := range p.cdns {
		if cp.edges == nil {
			continue
		}
		ti := t
		t++
		v := d.cfg.Verify.Verifier
		prog := d.cfg.Progress
		user := v.OnRequest
		v.OnRequest = func(edge string, ok bool) {
			if prog != nil {
				prog.Done.Add(1)
				if !ok {
					prog.Failed.Add(1)
				}
			}
			if user != nil {
				user(edge, ok)
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := v.Verify(ctx, cp.checks, cp.edges)
			s.Verify.Targets[ti].Report = r
			if err != nil {
				s.Verify.Targets[ti].Error = err.Error()
				errs[i] = fmt.Errorf("cdn %s: %w", cp.cdn.Name, err)
			}
		}()
	}
	wg.Wait()
	s.Files = 0
	for _, tg := range s.Verify.Targets {
		if tg.Report != nil {
			s.Files += tg.Report.Requests
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.Join(errs...)
}
