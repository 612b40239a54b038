package deploy

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/prewarm"
	"github.com/cdnctl/cdnctl/providers/verify"
)

// Plan is a deploy computed and not yet applied: the Report people and CI
// read, and what Apply needs. Computing it changes nothing at the origin
// or the CDNs (the fingerprint step builds the local folder it pushes).
type Plan struct {
	Report

	pusher *providers.Pusher
	push   *providers.Plan
	// applied is the pusher Apply ran (it records the deploy's outcome).
	applied *providers.Pusher
	// purgeKeys are the logical keys purged at every CDN: changed
	// un-fingerprinted files, deleted ones, and those of an unfinished
	// deploy.
	purgeKeys []string
	cdns      []*cdnPlan
	// copies are the rollback copies to write before uploading.
	copies []copyJob
	// live reports whether a previous, unfinished deploy already switched
	// entry points that this one purges.
	resumed *pendingDeploy
}

// cdnPlan is what the plan does at one CDN.
type cdnPlan struct {
	cdn      CDN
	purge    *providers.PurgeRecord
	warmURLs []string
	checks   []verify.Check
	edges    []prewarm.Edge
}

// copyJob is a rollback copy: the body of file, kept as the state file
// name.
type copyJob struct {
	name string
	file *providers.LocalFile
}

// Plan fingerprints the source (when there is one), reads the folder and
// the origin's state, and computes every step. It changes nothing at the
// origin or the CDNs: `cdnctl deploy --plan` stops here.
func (d *Deployer) Plan(ctx context.Context) (*Plan, error) {
	start := time.Now()
	p := d.newPlan("deploy")
	cfg := d.cfg
	fp := p.step(StepFingerprint)
	switch {
	case cfg.Dir == "":
		return nil, errors.New("deploy: no site folder")
	case cfg.Store == nil:
		return nil, errors.New("deploy: no origin store")
	case cfg.Source != "" || cfg.SourceFS != nil:
		d.cfg.Progress.start(StepFingerprint, 0, 0) // the counts come from hashing, phase by phase
		d.emit(StepFingerprint, StatusRunning, 0, 0, nil)
		t0 := time.Now()
		var (
			res *hashing.Result
			err error
		)
		fo := cfg.Fingerprint
		if own, prog := fo.Progress, d.cfg.Progress; prog != nil {
			fo.Progress = func(h hashing.Progress) {
				prog.fingerprinted(h)
				if own != nil {
					own(h)
				}
			}
		}
		if cfg.SourceFS != nil {
			res, err = hashing.Fingerprint(ctx, cfg.SourceFS, cfg.Dir, fo)
		} else {
			res, err = hashing.FingerprintDir(ctx, cfg.Source, cfg.Dir, fo)
		}
		fp.DurationMS = time.Since(t0).Milliseconds()
		if err != nil {
			fp.Status = StatusFailed
			if ctx.Err() != nil {
				fp.Status = StatusInterrupted
			}
			d.emitEnd(fp, err)
			return nil, fmt.Errorf("deploy: fingerprint: %w", err)
		}
		st := res.Stats
		fp.Status, fp.Files, fp.Bytes, fp.Fingerprint = StatusDone, st.Files, st.Bytes, &st
		fp.Reason = fmt.Sprintf("built %s locally: %d files, %d fingerprinted, %d entry points, %d unchanged since the last build",
			cfg.Dir, st.Files, st.Fingerprinted, st.Kept, st.Reused)
		if n := len(res.Missing); n > 0 {
			p.Warnings = append(p.Warnings, fmt.Sprintf("fingerprint: %d references to files not in the source (first: %s)", n, res.Missing[0]))
		}
		var dotfiles []string
		for _, s := range res.Skipped {
			if s.Reason == hashing.ReasonDotfile {
				dotfiles = append(dotfiles, s.Path)
			}
		}
		if len(dotfiles) > 0 {
			p.Warnings = append(p.Warnings, fmt.Sprintf("fingerprint: dotfiles not published (they often hold secrets): %s; fingerprint.allow_dotfiles and origin.allow_dotfiles publish one",
				strings.Join(dotfiles, ", ")))
		}
		d.emitEnd(fp, nil)
		p.Site.Source = cfg.Source
		if cfg.Source == "" {
			p.Site.Source = "(embedded)"
		}
	default:
		fp.Status, fp.Reason = StatusSkipped, "the folder is pushed as it is (no source to fingerprint)"
	}

	pusher := d.newPusher("deploy")
	var (
		set    *providers.LocalSet
		remote *providers.Remote
		edges  [][]prewarm.Edge
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		set, err = providers.ScanDir(gctx, cfg.Dir, cfg.Scan)
		return err
	})
	g.Go(func() error {
		var err error
		remote, err = pusher.Fetch(gctx)
		return err
	})
	g.Go(func() error {
		var err error
		edges, err = d.findEdges(gctx)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("deploy: %w", err)
	}
	p.Site.Dir = cfg.Dir
	p.Warnings = append(p.Warnings, set.Warnings...)
	if len(set.SkippedDotfiles) > 0 {
		names := make([]string, len(set.SkippedDotfiles))
		for i, s := range set.SkippedDotfiles {
			names[i] = s.Path
		}
		p.Warnings = append(p.Warnings, fmt.Sprintf("push: dotfiles not uploaded (they often hold secrets): %s; origin.allow_dotfiles uploads one",
			strings.Join(names, ", ")))
	}
	pusher.ManifestDigest = set.ManifestDigest
	p.Site.ManifestDigest = set.ManifestDigest

	// Known rollback copies: the last deploy's.
	var known map[string]providers.SnapshotEntry
	if last := remote.History.Last(); last != nil && !cfg.NoRollbackCopies && last.Snapshot != "" {
		snap, err := providers.ReadSnapshot(ctx, cfg.Store, last)
		if err != nil && !errors.Is(err, providers.ErrStateNotFound) {
			return nil, fmt.Errorf("deploy: %w", err)
		}
		if snap != nil {
			known = snap.Objects
		}
	}
	if err := d.finishPlan(ctx, p, pusher, set.Files, set.Manifest, remote, edges, known); err != nil {
		return nil, err
	}
	p.DurationMS = time.Since(start).Milliseconds()
	return p, nil
}

func (d *Deployer) newPlan(kind string) *Plan {
	p := &Plan{Report: Report{
		Version: SchemaVersion, Kind: kind, Environment: d.cfg.Environment, Origin: d.cfg.Target,
		Status: OutcomePlanned,
	}}
	p.Site.GitCommit = d.cfg.GitCommit
	if d.cfg.Store != nil {
		p.State = d.cfg.Store.StateLocation().URL
	}
	for _, name := range StepNames() {
		p.Steps = append(p.Steps, Step{Name: name, Status: StatusSkipped})
	}
	return p
}

func (d *Deployer) newPusher(source string) *providers.Pusher {
	cfg := d.cfg
	return &providers.Pusher{
		Store: cfg.Store, Options: cfg.Plan, Concurrency: cfg.Concurrency, Logger: d.log, Now: cfg.Now,
		Source: source, GitCommit: cfg.GitCommit, GitMessage: cfg.GitMessage, User: cfg.User, CI: cfg.CI,
		HistoryLimit: cfg.HistoryLimit, KeepRunning: true,
	}
}

// findEdges finds every CDN's PoPs (nil for a CDN without prewarm and
// verify), concurrently.
func (d *Deployer) findEdges(ctx context.Context) ([][]prewarm.Edge, error) {
	out := make([][]prewarm.Edge, len(d.cfg.CDNs))
	if !d.cfg.Prewarm.Enabled && !d.cfg.Verify.Enabled {
		return out, nil
	}
	g, gctx := errgroup.WithContext(ctx)
	for i, c := range d.cfg.CDNs {
		if c.Edges == nil || c.BaseURL == nil {
			continue
		}
		g.Go(func() error {
			e, err := c.Edges(gctx)
			if err != nil {
				return fmt.Errorf("cdn %s: finding its PoPs for prewarm and verify: %w", c.Name, err)
			}
			out[i] = e
			return nil
		})
	}
	return out, g.Wait()
}

// finishPlan computes everything after the site's files are known: the
// push plan, the steps, purges, prewarm and verify.
func (d *Deployer) finishPlan(ctx context.Context, p *Plan, pusher *providers.Pusher, files []*providers.LocalFile,
	manifest *hashing.Manifest, remote *providers.Remote, edges [][]prewarm.Edge, known map[string]providers.SnapshotEntry) error {
	cfg := d.cfg
	pending, err := readPending(ctx, cfg.Store)
	if err != nil {
		return fmt.Errorf("deploy: %w", err)
	}
	push, err := pusher.PlanAgainst(ctx, files, remote)
	if err != nil {
		return fmt.Errorf("deploy: %w", err)
	}
	p.pusher, p.push = pusher, push
	p.Warnings = append(p.Warnings, push.Warnings...)
	p.Site.Files, p.Site.Bytes, p.Site.ContentDigest = push.Summary.Files, push.Summary.Bytes, push.ContentDigest
	if push.Record {
		p.ID = providers.NewDeployID(cfg.Now(), push.ContentDigest)
		pusher.DeployID = p.ID
	} else if last := remote.History.Last(); last != nil {
		p.ID = last.ID
	}

	// Upload and delete steps, from the push plan's groups.
	for _, c := range push.Changes {
		st := p.step(groupStep(c.Group))
		switch c.Op {
		case providers.OpKeep:
			st.Unchanged++
			continue
		case providers.OpUpload:
			st.Bytes += c.Size
			st.Files++
		case providers.OpUpdate, providers.OpDelete:
			st.Files++
		}
		st.Changes = append(st.Changes, c)
	}
	for _, name := range []string{StepUploadAssets, StepUploadFiles, StepUploadEntryPoints, StepDelete} {
		st := p.step(name)
		if st.Files > 0 {
			st.Status = StatusPlanned
			st.Reason = reasonCounts(st.Changes)
			if st.Unchanged > 0 {
				st.Reason += fmt.Sprintf("; %d unchanged", st.Unchanged)
			}
			continue
		}
		st.Reason = "nothing to " + strings.TrimPrefix(strings.ReplaceAll(name, "-", " "), "upload ")
		if name != StepDelete {
			st.Reason = "nothing to upload"
		}
		if st.Unchanged > 0 {
			st.Reason += fmt.Sprintf(" (%d unchanged)", st.Unchanged)
		}
	}
	if n := len(p.step(StepDelete).Changes); n > 0 && p.step(StepDelete).Files == 0 {
		p.step(StepDelete).Reason = fmt.Sprintf("nothing to delete (%d old assets retained)", n)
	}

	// What changed, by logical key.
	changed := map[string]bool{} // logical keys uploaded or updated
	for _, c := range push.Changes {
		if (c.Op == providers.OpUpload || c.Op == providers.OpUpdate) && c.File != nil {
			changed[providers.LogicalKey(c.File)] = true
		}
	}
	purge := map[string]bool{}
	for _, c := range push.Changes {
		switch {
		case (c.Op == providers.OpUpload || c.Op == providers.OpUpdate) && c.File != nil && !c.File.Fingerprinted:
			purge[providers.LogicalKey(c.File)] = true
		case c.Op == providers.OpDelete && c.Reason == providers.ReasonOrphan:
			purge[deletedLogicalKey(c.Key, push.Changes)] = true
		}
	}
	if pending != nil {
		p.resumed = pending
		p.Resumes = pending.ID
		for _, k := range pending.Keys {
			purge[k] = true
		}
		p.Warnings = append(p.Warnings, fmt.Sprintf("deploy %s did not finish (started %s): its %d purged URLs are purged again", pending.ID, pending.Started.Format(time.RFC3339), len(pending.Keys)))
	}
	p.purgeKeys = sortedKeys(purge)

	// Rollback copies of un-fingerprinted files (only when the deploy is
	// recorded: its snapshot names them).
	bodies := map[string]string{}
	if !cfg.NoRollbackCopies && push.Record {
		for _, f := range files {
			if f.Fingerprinted {
				continue
			}
			if e, ok := known[f.Key]; ok && e.Body != "" && strings.EqualFold(e.SHA256, f.SHA256) {
				bodies[f.Key] = e.Body
				continue
			}
			name := BodyName(f.SHA256)
			bodies[f.Key] = name
			if !slices.ContainsFunc(p.copies, func(j copyJob) bool { return j.name == name }) {
				p.copies = append(p.copies, copyJob{name: name, file: f})
			}
		}
		p.Site.RollbackCopies = len(bodies)
	}
	if len(bodies) > 0 {
		pusher.Bodies = bodies
	}

	// Purge, prewarm and verify, per CDN.
	if err := d.planCDNs(p, files, changed, manifest, edges); err != nil {
		return err
	}
	p.Changes = push.Pending() || push.Record || push.HistoryChanged || len(p.purgeKeys) > 0
	return nil
}

// reasonCounts summarises changes by op and reason: "3 upload new, 1
// update cache-control-changed".
func reasonCounts(changes []providers.Change) string {
	type k struct {
		op     providers.Op
		reason providers.Reason
	}
	n := map[k]int{}
	var order []k
	for _, c := range changes {
		key := k{c.Op, c.Reason}
		if n[key] == 0 {
			order = append(order, key)
		}
		n[key]++
	}
	parts := make([]string, len(order))
	for i, key := range order {
		parts[i] = fmt.Sprintf("%d %s %s", n[key], key.op, key.reason)
	}
	return strings.Join(parts, ", ")
}

// groupStep maps a push group to its step.
func groupStep(g providers.Group) string {
	switch g {
	case providers.GroupAssets:
		return StepUploadAssets
	case providers.GroupEntryPoints:
		return StepUploadEntryPoints
	case providers.GroupDeletes:
		return StepDelete
	}
	return StepUploadFiles
}

// deletedLogicalKey maps a deleted precompressed sibling to the key it
// encoded, when that key is deleted too ("old.html.br" with "old.html").
func deletedLogicalKey(key string, changes []providers.Change) string {
	for _, suf := range []string{".br", ".gz", ".zst"} {
		base, ok := strings.CutSuffix(key, suf)
		if !ok {
			continue
		}
		if slices.ContainsFunc(changes, func(c providers.Change) bool { return c.Key == base && c.Op == providers.OpDelete }) {
			return base
		}
	}
	return key
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// BodyName is the state file (under .cdnctl/) that keeps a copy of a body
// with this SHA-256 for rollbacks.
func BodyName(sha256 string) string {
	s := strings.ToLower(sha256)
	return path.Join("bodies", s[:2], s)
}

// planCDNs plans the purge, prewarm and verify steps.
func (d *Deployer) planCDNs(p *Plan, files []*providers.LocalFile, changed map[string]bool, manifest *hashing.Manifest, edges [][]prewarm.Edge) error {
	cfg := d.cfg
	site := verify.NewSite(files, manifest)
	entries, assets := site.Keys()

	// Purge.
	ps := p.step(StepPurge)
	tagsOf := map[string][]string{}
	for _, f := range files {
		if f.Key == providers.LogicalKey(f) {
			tagsOf[f.Key] = f.Meta.Tags
		}
	}
	for _, c := range cfg.CDNs {
		cp := &cdnPlan{cdn: c}
		p.cdns = append(p.cdns, cp)
		pu, err := d.planPurge(c, p.purgeKeys, tagsOf)
		if err != nil {
			return err
		}
		cp.purge = pu.Record
		ps.Purges = append(ps.Purges, pu)
		if pu.Record != nil {
			ps.Files += pu.Record.Items()
		}
	}
	switch {
	case len(cfg.CDNs) == 0:
		ps.Reason = "no CDN configured"
	case len(p.purgeKeys) == 0:
		ps.Reason = "no entry point or un-fingerprinted file changed: nothing to purge (fingerprinted files have new URLs)"
	default:
		ps.Status = StatusPlanned
		ps.Reason = fmt.Sprintf("%d changed entry points and un-fingerprinted files; fingerprinted files are never purged", len(p.purgeKeys))
	}

	// Wait.
	ws := p.step(StepWait)
	switch {
	case ps.Status != StatusPlanned:
		ws.Reason = "nothing purged"
	case !cfg.Wait:
		ws.Reason = "not asked to wait (purges complete on their own)"
	default:
		for i, c := range cfg.CDNs {
			if _, ok := c.Purger.(providers.PurgeWaiter); ok && p.cdns[i].purge != nil {
				ps.Purges[i].Waited = true
				ws.Files++
			}
		}
		if ws.Files > 0 {
			ws.Status = StatusPlanned
			ws.Reason = "wait until the purges have completed everywhere"
		} else {
			ws.Reason = "every purge completes before it is acknowledged"
		}
	}

	// What prewarm requests and verify checks.
	var warmKeys []string
	if p.Changes || len(changed) > 0 || len(p.purgeKeys) > 0 {
		switch cfg.Prewarm.What {
		case WarmAll:
			warmKeys = append(slices.Clone(entries), assets...)
		case WarmEntryPoints:
			for _, k := range p.purgeKeys {
				if site.Has(k) {
					warmKeys = append(warmKeys, k)
				}
			}
		case "", WarmChanged:
			set := map[string]bool{}
			for k := range changed {
				set[k] = true
			}
			for _, k := range p.purgeKeys {
				if site.Has(k) {
					set[k] = true
				}
			}
			warmKeys = sortedKeys(set)
		default:
			return fmt.Errorf("deploy: prewarm %q: want %s, %s or %s", cfg.Prewarm.What, WarmChanged, WarmAll, WarmEntryPoints)
		}
	}
	// Entry points first: they are what visitors request first.
	slices.SortStableFunc(warmKeys, func(a, b string) int {
		af, bf := site.Fingerprinted(a), site.Fingerprinted(b)
		switch {
		case af == bf:
			return 0
		case !af:
			return -1
		}
		return 1
	})

	var checkKeys []string
	for _, k := range p.purgeKeys {
		if site.Has(k) {
			checkKeys = append(checkKeys, k)
		}
	}
	var newAssets []string
	for _, k := range assets {
		if changed[k] {
			newAssets = append(newAssets, k)
		}
	}
	if len(newAssets) == 0 {
		newAssets = assets
	}
	entryChecks := len(checkKeys)
	if len(checkKeys) > 0 || len(changed) > 0 {
		checkKeys = append(checkKeys, verify.Sample(newAssets, cfg.Verify.Sample)...)
	}
	expect := site.Expect(checkKeys)
	checks := make([]CheckPath, len(expect))
	for i, e := range expect {
		checks[i] = CheckPath{Path: e.Path, Key: e.Key, SHA256: e.SHA256}
	}

	pw := p.step(StepPrewarm)
	pw.Prewarm = &Warm{What: orDefault(cfg.Prewarm.What, WarmChanged), Paths: []string{}, Targets: []WarmTarget{}}
	for _, k := range warmKeys {
		paths, _ := providers.KeyPaths(k, "")
		pw.Prewarm.Paths = append(pw.Prewarm.Paths, paths...)
	}
	vs := p.step(StepVerify)
	vs.Verify = &Check{Paths: checks, Targets: []CheckTarget{}}
	loc := cfg.Store.StateLocation()
	stateServed := loc.InSite && !loc.HiddenByOrigin
	if stateServed {
		p.Warnings = append(p.Warnings, fmt.Sprintf("the deploy state (%s) is inside what the site is served from: a CDN in front of it serves the deploy history, git commits and object list unless it refuses /%s/*; deploy checks through every CDN that it does; move it out with origin.state (docs/deploy.md#state)", loc.URL, providers.StateDir))
	}
	private := 0
	for i, cp := range p.cdns {
		c := cp.cdn
		if c.BaseURL == nil || edges[i] == nil {
			continue
		}
		cp.edges = edges[i]
		urls, err := d.cdnURLs(c, warmKeys)
		if err != nil {
			return err
		}
		cp.warmURLs = urls
		pw.Prewarm.Targets = append(pw.Prewarm.Targets, WarmTarget{CDN: c.Name, BaseURL: c.BaseURL.String(), Pops: edges[i]})
		for _, e := range expect {
			u, err := d.cdnURL(c, e.Key, e.Path)
			if err != nil {
				return err
			}
			cp.checks = append(cp.checks, verify.Check{URL: u, Key: e.Key, SHA256: e.SHA256, Encoded: e.Encoded})
		}
		paths, served := d.statePaths(c, loc)
		if served && !loc.InSite {
			stateServed = true
			p.Warnings = append(p.Warnings, fmt.Sprintf("cdn %s serves the deploy state (%s) at %s: its origin_path %q includes it; give it the site's prefix as origin_path, or move the state to another bucket with origin.state (docs/deploy.md#state)", c.Name, loc.URL, paths[len(paths)-1], c.OriginPath))
		}
		cp.checks = append(cp.checks, verify.PrivateChecks(c.BaseURL, paths)...)
		private += len(paths)
		vs.Verify.Targets = append(vs.Verify.Targets, CheckTarget{CDN: c.Name, BaseURL: c.BaseURL.String(), Pops: edges[i], Private: paths})
		pw.Files += len(urls) * len(edges[i])
		vs.Files += len(cp.checks) * len(edges[i])
	}
	switch {
	case !cfg.Prewarm.Enabled:
		pw.Reason = "disabled"
		pw.Files = 0
	case len(pw.Prewarm.Targets) == 0:
		pw.Reason = "no CDN with a base URL and PoPs to warm"
	case len(warmKeys) == 0:
		pw.Reason = "nothing changed"
	default:
		pw.Status = StatusPlanned
		pw.Reason = fmt.Sprintf("%d URLs (%s) through %d PoPs, at least once each", len(pw.Prewarm.Paths), pw.Prewarm.What, countPops(pw.Prewarm.Targets))
	}
	switch {
	case !cfg.Verify.Enabled:
		vs.Reason = "disabled"
		vs.Files = 0
	case len(vs.Verify.Targets) == 0:
		vs.Reason = "no CDN with a base URL and PoPs to check"
	case len(checks) == 0 && stateServed:
		// Every deploy checks a state that lies where a CDN may serve it.
		vs.Status = StatusPlanned
		vs.Reason = fmt.Sprintf("nothing changed; %s through every PoP: none may serve it", statePathsText(private))
	case len(checks) == 0:
		vs.Reason = "nothing changed"
		for _, cp := range p.cdns {
			cp.checks = nil
		}
		vs.Files = 0
	default:
		vs.Status = StatusPlanned
		vs.Reason = fmt.Sprintf("%d URLs (changed entry points and un-fingerprinted files, %d sampled assets) through every PoP: body SHA-256 must equal the deployed file's; %s: none may serve it",
			len(checks), len(checkKeys)-entryChecks, statePathsText(private))
	}
	return nil
}

func statePathsText(n int) string {
	if n == 1 {
		return "1 path of cdnctl's deploy state"
	}
	return fmt.Sprintf("%d paths of cdnctl's deploy state", n)
}

// statePaths returns the paths at CDN c that must not serve cdnctl's
// deploy state: /.cdnctl/history.json (where cdnctl kept it beside the
// site, and where people look for it), and the state's own history.json
// when the CDN's origin path includes it (served).
func (d *Deployer) statePaths(c CDN, loc providers.StateLocation) (paths []string, served bool) {
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			paths = append(paths, p)
		}
	}
	legacy := providers.StateDir + "/" + providers.HistoryName
	add("/" + legacy)
	if ps, err := providers.KeyPaths(d.prefixed(legacy), c.OriginPath); err == nil {
		add(ps[0])
	}
	if loc.Key != "" {
		if ps, err := providers.KeyPaths(loc.Key+"/"+providers.HistoryName, c.OriginPath); err == nil {
			add(ps[0])
			served = true
		}
	}
	return paths, served
}

func countPops(ts []WarmTarget) int {
	n := 0
	for _, t := range ts {
		n += len(t.Pops)
	}
	return n
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// prefixed is a site key as the CDN's origin sees it (under KeyPrefix).
func (d *Deployer) prefixed(key string) string {
	if pre := strings.Trim(d.cfg.KeyPrefix, "/"); pre != "" {
		return pre + "/" + key
	}
	return key
}

// cdnURLs returns the URLs the keys are served at by the CDN.
func (d *Deployer) cdnURLs(c CDN, keys []string) ([]string, error) {
	var out []string
	for _, k := range keys {
		paths, err := providers.KeyPaths(d.prefixed(k), c.OriginPath)
		if err != nil {
			return nil, fmt.Errorf("deploy: cdn %s: %w", c.Name, err)
		}
		for _, pth := range paths {
			u := *c.BaseURL
			u.Path = strings.TrimSuffix(c.BaseURL.Path, "/") + pth
			out = append(out, u.String())
		}
	}
	return out, nil
}

// cdnURL returns the URL of one of key's site paths (as KeyPaths(key,
// "") gives them) at the CDN.
func (d *Deployer) cdnURL(c CDN, key, sitePath string) (string, error) {
	paths, err := providers.KeyPaths(d.prefixed(key), c.OriginPath)
	if err != nil {
		return "", fmt.Errorf("deploy: cdn %s: %w", c.Name, err)
	}
	site, _ := providers.KeyPaths(key, "")
	i := slices.Index(site, sitePath)
	if i < 0 || i >= len(paths) {
		i = 0
	}
	u := *c.BaseURL
	u.Path = strings.TrimSuffix(c.BaseURL.Path, "/") + paths[i]
	return u.String(), nil
}
