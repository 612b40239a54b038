package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"charm.land/bubbles/v2/progress"

	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/deploy"
	"github.com/cdnctl/cdnctl/providers/prewarm"
	"github.com/cdnctl/cdnctl/providers/verify"
)

// deployUI shows a deploy's progress on stderr: a progress bar per step on
// a terminal, timestamped lines otherwise, and GitHub Actions annotations
// and a step summary when GITHUB_ACTIONS=true.
type deployUI struct {
	f        *Factory
	tty      bool
	color    bool
	gha      bool
	summary  string // $GITHUB_STEP_SUMMARY
	progress *deploy.Progress
	bar      progress.Model

	mu      sync.Mutex // guards the fields below
	step    string
	started time.Time
	stopc   chan struct{}
	done    chan struct{}
}

func newDeployUI(f *Factory) *deployUI {
	u := &deployUI{f: f, tty: f.IO.IsStderrTTY(), color: f.IO.ColorEnabled(), progress: &deploy.Progress{}}
	if v, _ := f.LookupEnv("GITHUB_ACTIONS"); v == "true" {
		u.gha = true
		u.summary, _ = f.LookupEnv("GITHUB_STEP_SUMMARY")
	}
	if u.color {
		u.bar = progress.New(progress.WithWidth(28), progress.WithDefaultBlend())
	}
	return u
}

func (u *deployUI) stamp() string {
	return u.f.Now().UTC().Format(time.RFC3339)
}

// event is deploy's OnEvent: a step started or ended.
func (u *deployUI) event(e deploy.Event) {
	u.stop()
	w := u.f.IO.SyncErr()
	size := stepSize(e.Step, e.Files, e.Bytes)
	switch e.Status {
	case deploy.StatusRunning:
		u.mu.Lock()
		u.step, u.started = e.Step, time.Now()
		u.mu.Unlock()
		if !u.tty {
			fmt.Fprintf(w, "%s deploy: %s: started%s\n", u.stamp(), e.Step, size)
		}
		u.startTicker(e.Step)
	default:
		u.mu.Lock()
		elapsed := time.Since(u.started).Round(time.Millisecond)
		if u.step != e.Step {
			elapsed = 0
		}
		u.step = ""
		u.mu.Unlock()
		if e.Duration > 0 || e.Status == deploy.StatusDone {
			elapsed = e.Duration // what the summary table says
		}
		mark := map[string]string{deploy.StatusDone: "✓", deploy.StatusFailed: "✗", deploy.StatusInterrupted: "✗"}[e.Status]
		msg := e.Status
		switch {
		case e.Status == deploy.StatusInterrupted || errors.Is(e.Err, context.Canceled):
			msg = deploy.StatusInterrupted // Ctrl-C: the reason is known
		case e.Err != nil:
			msg += ": " + e.Err.Error()
		}
		if u.tty {
			fmt.Fprintf(w, "\r%s %-20s %s%s (%s)\x1b[K\n", orDefault(mark, "-"), e.Step, msg, size, elapsed)
			return
		}
		fmt.Fprintf(w, "%s deploy: %s: %s%s in %s\n", u.stamp(), e.Step, msg, size, elapsed)
	}
}

func stepSize(step string, files int, bytes int64) string {
	if files == 0 && bytes == 0 {
		return ""
	}
	unit := map[string]string{deploy.StepPurge: "items", deploy.StepPrewarm: "requests", deploy.StepVerify: "requests", deploy.StepWait: "purges"}[step]
	if unit == "" {
		unit = "files"
	}
	if files == 1 {
		unit = strings.TrimSuffix(unit, "s")
	}
	s := fmt.Sprintf(" (%d %s", files, unit)
	if bytes > 0 {
		s += ", " + humanBytes(bytes)
	}
	return s + ")"
}

// startTicker redraws the running step's bar on a terminal (10 times a
// second), or logs its progress every 10 seconds otherwise.
func (u *deployUI) startTicker(step string) {
	interval := 10 * time.Second
	if u.tty {
		interval = 100 * time.Millisecond
	}
	stopc, done := make(chan struct{}), make(chan struct{})
	u.mu.Lock()
	u.stopc, u.done = stopc, done
	u.mu.Unlock()
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-stopc:
				return
			case <-t.C:
				u.render(step)
			}
		}
	}()
}

// stop ends the ticker of the running step, if any.
func (u *deployUI) stop() {
	u.mu.Lock()
	stopc, done := u.stopc, u.done
	u.stopc, u.done = nil, nil
	u.mu.Unlock()
	if stopc != nil {
		close(stopc)
		<-done
	}
}

func (u *deployUI) render(step string) {
	p := u.progress
	if p.Step() != step {
		return
	}
	u.mu.Lock()
	running := time.Since(u.started)
	u.mu.Unlock()
	count, pct := progressCount(p.Phase(), p.Done.Load(), p.Total.Load(), p.Bytes.Load(), p.BytesTotal.Load(), p.Failed.Load(), running)
	w := u.f.IO.SyncErr()
	if !u.tty {
		fmt.Fprintf(w, "%s deploy: %s: %s\n", u.stamp(), step, count)
		return
	}
	fmt.Fprintf(w, "\r  %-20s %s  %s\x1b[K", step, progressBar(u.bar, u.color, pct), count)
}

// progressCount is what a progress line says of a step's counts
// ("writing 120/400  1.2 MiB/3.0 MiB  2 failed") and how far the step is,
// from 0 to 1 (by bytes when it knows them). phase is a fingerprint
// phase (hashing.Progress.Phase) or "". A step without a count (yet)
// says how long it has run.
func progressCount(phase string, done, total, bytes, bytesTotal, failed int64, running time.Duration) (string, float64) {
	pct := 0.0
	switch {
	case bytesTotal > 0:
		pct = float64(bytes) / float64(bytesTotal)
	case total > 0:
		pct = float64(done) / float64(total)
	}
	count := fmt.Sprintf("%d/%d", done, total)
	if bytesTotal > 0 {
		count += "  " + humanBytes(bytes) + "/" + humanBytes(bytesTotal)
	}
	if total == 0 && bytesTotal == 0 {
		count = "running for " + running.Round(time.Second).String()
	}
	if phase != "" {
		count = phaseText(phase) + " " + count
	}
	if failed > 0 {
		count += fmt.Sprintf("  %d failed", failed)
	}
	return count, min(pct, 1)
}

// progressBar draws pct (0 to 1): bar in colour, or 28 #s without.
func progressBar(bar progress.Model, color bool, pct float64) string {
	if color {
		return bar.ViewAs(pct)
	}
	n := int(pct * 28)
	return "[" + strings.Repeat("#", n) + strings.Repeat(" ", 28-n) + fmt.Sprintf("] %3.0f%%", pct*100)
}

// phaseText names a fingerprint phase (hashing.Progress.Phase) for people.
func phaseText(phase string) string {
	switch phase {
	case hashing.PhaseScan:
		return "listing files,"
	case hashing.PhaseRead:
		return "reading references"
	case hashing.PhaseWrite:
		return "writing"
	}
	return phase
}

// annotate writes a GitHub Actions workflow command (error, warning,
// notice) when running in GitHub Actions.
func (u *deployUI) annotate(level, msg string) {
	if !u.gha {
		return
	}
	fmt.Fprintf(u.f.IO.SyncErr(), "::%s title=cdnctl deploy::%s\n", level, ghEscape(msg))
}

// ghEscape escapes a workflow command's message (% CR LF).
func ghEscape(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// finish reports the outcome to GitHub Actions: annotations, and a
// markdown summary appended to $GITHUB_STEP_SUMMARY.
func (u *deployUI) finish(rep *deploy.Report, err error) {
	if !u.gha {
		return
	}
	for _, w := range rep.Warnings {
		u.annotate("warning", w)
	}
	if err != nil {
		u.annotate("error", fmt.Sprintf("%v (exit %d)", err, deployExitCode(rep.Status)))
		var ve *verify.Error
		if errors.As(err, &ve) {
			for i, f := range ve.Failures {
				if i == 10 {
					break
				}
				what := "stale content: "
				if f.Private {
					what = "deploy state served: "
				}
				u.annotate("error", what+f.String())
			}
		}
	} else {
		u.annotate("notice", deployHeadline(rep))
	}
	if u.summary == "" {
		return
	}
	fh, ferr := os.OpenFile(u.summary, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if ferr != nil {
		u.f.Logger.Warn("deploy: cannot write the GitHub step summary", "file", u.summary, "err", ferr)
		return
	}
	defer fh.Close()
	if werr := writeDeployMarkdown(fh, rep); werr != nil {
		u.f.Logger.Warn("deploy: cannot write the GitHub step summary", "file", u.summary, "err", werr)
	}
}

// deployHeadline is the one-line outcome.
func deployHeadline(rep *deploy.Report) string {
	what := "Deployed " + orDefault(rep.ID, "(nothing new)")
	if rep.Kind == "rollback" {
		what = "Rolled back to " + rep.RollbackOf
	}
	if deployInterrupted(rep) {
		return fmt.Sprintf("Deploy %s INTERRUPTED (exit %d): %s", rep.ID, ExitInterrupted, interruptedText(rep))
	}
	if rep.Status != deploy.OutcomeSucceeded {
		return fmt.Sprintf("Deploy %s FAILED (%s, exit %d): %s", rep.ID, rep.Status, deployExitCode(rep.Status), deploy.OutcomeText(rep.Status))
	}
	if !rep.Changes {
		return fmt.Sprintf("Nothing to deploy: %s already serves this site (%s)", rep.Origin, orDefault(rep.ID, "no deploy yet"))
	}
	parts := []string{}
	if p := rep.Push; p != nil {
		parts = append(parts, fmt.Sprintf("%d uploaded (%s), %d updated, %d deleted", p.Uploaded, humanBytes(p.BytesUploaded), p.Updated, p.Deleted))
	}
	if rep.Retries > 0 {
		parts = append(parts, count(rep.Retries, "storage request retried", "storage requests retried"))
	}
	if s := rep.Step(deploy.StepPurge); s.Status == deploy.StatusDone {
		parts = append(parts, fmt.Sprintf("%d purged", s.Files))
	}
	if s := rep.Step(deploy.StepPrewarm); s.Status == deploy.StatusDone {
		req, hits := 0, 0
		for _, t := range s.Prewarm.Targets {
			if t.Report != nil {
				req += t.Report.Requests
				hits += t.Report.Hits
			}
		}
		parts = append(parts, count(req, "prewarm request", "prewarm requests"))
	}
	if s := rep.Step(deploy.StepVerify); s.Status == deploy.StatusDone {
		parts = append(parts, "verified "+count(s.Files, "answer", "answers"))
	}
	return fmt.Sprintf("%s to %s: %s in %s", what, rep.Origin, strings.Join(parts, ", "), (time.Duration(rep.DurationMS) * time.Millisecond).Round(time.Millisecond))
}

// printDeployPlan prints the plan for people.
func printDeployPlan(w io.Writer, rep *deploy.Report, planOnly bool) error {
	kind := "Deploy"
	if rep.Kind == "rollback" {
		kind = "Rollback to " + rep.RollbackOf
	}
	env := ""
	if rep.Environment != "" {
		env = " (env " + rep.Environment + ")"
	}
	id := rep.ID
	if !rep.Changes {
		id = "nothing to deploy"
	}
	fmt.Fprintf(w, "%s plan%s: %s → %s [%s]\n", kind, env, orDefault(rep.Site.Source, rep.Site.Dir), rep.Origin, id)
	site := fmt.Sprintf("  site: %s, %s", count(rep.Site.Files, "file", "files"), humanBytes(rep.Site.Bytes))
	if rep.Site.ManifestDigest != "" {
		site += ", manifest " + shortDigest(rep.Site.ManifestDigest)
	}
	if rep.Site.GitCommit != "" {
		site += ", commit " + shortDigest(rep.Site.GitCommit)
	}
	fmt.Fprintln(w, site)
	if rep.Resumes != "" {
		fmt.Fprintf(w, "  finishes the purge of unfinished deploy %s\n", rep.Resumes)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  STEP\tSTATUS\tFILES\tBYTES\tWHAT")
	for _, s := range rep.Steps {
		bytes := ""
		if s.Bytes > 0 {
			bytes = humanBytes(s.Bytes)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\n", s.Name, s.Status, s.Files, bytes, s.Reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Changes, at most 20 per step when only summarising.
	limit := 20
	if planOnly {
		limit = 1 << 30
	}
	for _, name := range []string{deploy.StepUploadAssets, deploy.StepUploadFiles, deploy.StepUploadEntryPoints, deploy.StepDelete} {
		s := rep.Step(name)
		if len(s.Changes) == 0 {
			continue
		}
		fmt.Fprintf(w, "%s:\n", name)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for i, c := range s.Changes {
			if i == limit {
				fmt.Fprintf(tw, "  … and %d more (--dry-run lists all)\n", len(s.Changes)-limit)
				break
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", c.Op, c.Key, humanBytes(c.Size), c.Reason, c.Detail)
		}
		tw.Flush()
	}
	if s := rep.Step(deploy.StepPurge); len(s.Purges) > 0 && s.Status != deploy.StatusSkipped {
		fmt.Fprintln(w, "purge:")
		for _, p := range s.Purges {
			fmt.Fprintf(w, "  %s (%s): %s\n", p.CDN, p.Provider, p.Why)
			if p.Record != nil {
				for i, b := range p.Record.Batches {
					fmt.Fprintf(w, "    batch %d (%s): %s\n", i+1, b.Kind, clipItems(b.Items, 8))
				}
			}
		}
	}
	if s := rep.Step(deploy.StepPrewarm); s.Status == deploy.StatusPlanned {
		for _, t := range s.Prewarm.Targets {
			fmt.Fprintf(w, "prewarm %s at %s through %s\n", t.CDN, t.BaseURL, edgeList(t.Pops))
		}
	}
	if s := rep.Step(deploy.StepVerify); s.Status == deploy.StatusPlanned {
		var paths []string
		for _, p := range s.Verify.Paths {
			paths = append(paths, p.Path)
		}
		fmt.Fprintf(w, "verify: %s\n", clipItems(paths, 8))
	}
	if planOnly {
		fmt.Fprintln(w, "Plan only: nothing was uploaded or purged.")
	}
	return nil
}

func shortDigest(s string) string {
	s = strings.TrimPrefix(s, "sha256:")
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

func clipItems(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, " ")
	}
	return strings.Join(items[:n], " ") + fmt.Sprintf(" … (%d in all)", len(items))
}

func edgeList(pops []prewarm.Edge) string {
	var parts []string
	for _, p := range pops {
		parts = append(parts, fmt.Sprintf("%s (%s)", p.Name, p.Addr))
	}
	return strings.Join(parts, ", ")
}

// printDeploySummary prints the final table and outcome.
func printDeploySummary(w io.Writer, rep *deploy.Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tSTATUS\tFILES\tBYTES\tTIME\tNOTE")
	for _, s := range rep.Steps {
		bytes := ""
		if s.Bytes > 0 {
			bytes = humanBytes(s.Bytes)
		}
		note := s.Reason
		switch {
		case s.Status == deploy.StatusInterrupted:
			note = "interrupted (Ctrl-C)"
		case s.Error != "":
			note = s.Error
		default:
			if n := stepNote(&s); n != "" {
				note = n
			}
		}
		tm := ""
		if s.DurationMS > 0 || s.Status == deploy.StatusDone {
			tm = (time.Duration(s.DurationMS) * time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", s.Name, s.Status, s.Files, bytes, tm, note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if s := rep.Step(deploy.StepPrewarm); s.Status == deploy.StatusDone {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PREWARM\tPOP\tREQUESTS\tHITS\tMISSES\tERRORS\tBYTES\tP50\tP99")
		for _, t := range s.Prewarm.Targets {
			if t.Report == nil {
				continue
			}
			for _, p := range t.Report.Pops {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\t%.1f ms\t%.1f ms\n", t.CDN, p.Name, p.Requests, p.Hits, p.Misses, p.Errors, humanBytes(p.Bytes), p.P50Ms, p.P99Ms)
			}
		}
		tw.Flush()
	}
	if s := rep.Step(deploy.StepVerify); s.Verify != nil {
		for _, t := range s.Verify.Targets {
			if t.Report == nil {
				continue
			}
			for _, f := range t.Report.Failures {
				if f.Private {
					fmt.Fprintf(w, "EXPOSED at %s: %s\n", t.CDN, f.String())
					continue
				}
				fmt.Fprintf(w, "STALE at %s: %s\n", t.CDN, f.String())
				fmt.Fprintf(w, "  status %d, sha256 %s, want %s\n", f.Status, shortDigest(f.Got), shortDigest(f.Want))
				for _, h := range []string{"Cache-Status", "X-Cache", "CF-Cache-Status", "Age", "X-Served-By", "ETag", "Last-Modified", "Content-Encoding"} {
					if v := f.Headers[h]; v != "" {
						fmt.Fprintf(w, "  %s: %s\n", h, v)
					}
				}
			}
		}
	}
	for _, warn := range rep.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	_, err := fmt.Fprintln(w, deployHeadline(rep))
	return err
}

// stepNote summarises what a finished step did.
func stepNote(s *deploy.Step) string {
	switch {
	case s.Name == deploy.StepPurge && s.Status == deploy.StatusDone:
		var parts []string
		for _, p := range s.Purges {
			if p.Record != nil {
				parts = append(parts, fmt.Sprintf("%s: %s (%s)", p.CDN, p.Record.Status, clipItems(purgeItems(p.Record), 4)))
			}
		}
		return strings.Join(parts, "; ")
	case s.Name == deploy.StepVerify && s.Status == deploy.StatusDone:
		return "every answer has the deployed content"
	}
	return ""
}

func purgeItems(r *providers.PurgeRecord) []string {
	var out []string
	for _, b := range r.Batches {
		out = append(out, b.Items...)
	}
	return out
}

// writeDeployMarkdown writes the GitHub step summary.
func writeDeployMarkdown(w io.Writer, rep *deploy.Report) error {
	icon := "✅"
	if rep.Status != deploy.OutcomeSucceeded {
		icon = "❌"
	}
	fmt.Fprintf(w, "### %s cdnctl %s %s\n\n%s\n\n", icon, rep.Kind, orDefault(rep.ID, ""), deployHeadline(rep))
	fmt.Fprintf(w, "| step | status | files | bytes | time | note |\n|---|---|---:|---:|---:|---|\n")
	for _, s := range rep.Steps {
		note := s.Reason
		switch {
		case s.Status == deploy.StatusInterrupted:
			note = "interrupted (Ctrl-C)"
		case s.Error != "":
			note = s.Error
		default:
			if n := stepNote(&s); n != "" {
				note = n
			}
		}
		fmt.Fprintf(w, "| %s | %s | %d | %s | %s | %s |\n", s.Name, s.Status, s.Files, humanBytes(s.Bytes),
			time.Duration(s.DurationMS)*time.Millisecond, mdEscape(note))
	}
	if s := rep.Step(deploy.StepVerify); s.Verify != nil {
		for _, t := range s.Verify.Targets {
			if t.Report == nil || len(t.Report.Failures) == 0 {
				continue
			}
			fmt.Fprintf(w, "\n**Stale content at %s**\n\n| PoP | URL | Accept-Encoding | status | Cache-Status |\n|---|---|---|---:|---|\n", t.CDN)
			for _, f := range t.Report.Failures {
				fmt.Fprintf(w, "| %s | %s | %s | %d | %s |\n", f.Pop, f.URL, f.Encoding, f.Status, mdEscape(f.Headers["Cache-Status"]))
			}
		}
	}
	_, err := fmt.Fprintf(w, "\norigin `%s`, content %s\n\n", rep.Origin, shortDigest(rep.Site.ContentDigest))
	return err
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s)
}

// deployInterrupted reports whether a step of rep was cut short by Ctrl-C
// (SIGINT or SIGTERM).
func deployInterrupted(rep *deploy.Report) bool {
	for _, st := range rep.Steps {
		if st.Status == deploy.StatusInterrupted {
			return true
		}
	}
	return false
}

// interruptedText says what an interrupted deploy did and how to finish
// it: "12 of 3001 files uploaded; the live site is still the previous
// deploy. Run the same command again to finish."
func interruptedText(rep *deploy.Report) string {
	total := 0
	for _, name := range []string{deploy.StepUploadAssets, deploy.StepUploadFiles, deploy.StepUploadEntryPoints} {
		total += rep.Step(name).Files
	}
	done := 0
	if rep.Push != nil {
		done = rep.Push.Uploaded + rep.Push.Updated
	}
	var state string
	switch rep.Status {
	case deploy.OutcomeFailedUnchanged:
		state = "nothing was changed"
	case deploy.OutcomeFailedPartial:
		state = "no entry point was switched: the live site is still the previous deploy"
	case deploy.OutcomeFailedSwitched:
		state = "the new site is live at the origin, but caches may still serve the previous one"
	default:
		state = deploy.OutcomeText(rep.Status)
	}
	return fmt.Sprintf("%d of %d %s uploaded; %s. Run the same command again to finish.", done, total, plural(total, "file", "files"), state)
}
