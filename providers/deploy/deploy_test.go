package deploy_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/localedge/edgetest"
	"github.com/cdnctl/cdnctl/localedge/origin"
	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/deploy"
	"github.com/cdnctl/cdnctl/providers/local"
	"github.com/cdnctl/cdnctl/providers/prewarm"
	"github.com/cdnctl/cdnctl/providers/s3"
	"github.com/cdnctl/cdnctl/providers/s3/s3test"
	"github.com/cdnctl/cdnctl/providers/verify"
	"github.com/cdnctl/cdnctl/sample"
)

// edgeHTML makes the edges cache HTML for an hour (CDN-Cache-Control,
// RFC 9213) while browsers revalidate: the setup where a deploy must
// purge.
var edgeHTML = hashing.Rule{Match: []string{"*.html"}, Headers: map[string]string{"CDN-Cache-Control": "max-age=3600"}}

// site is a test's local CDN over a folder origin, and the sample site's
// source.
type site struct {
	src, out, originDir string
	edge                *edgetest.Env
	// store opens the origin (a folder store at originDir when nil).
	store  func(t *testing.T) providers.Store
	target string
}

// newSite copies the sample site into a source folder and starts the
// default topology (3 PoPs and a shield) over an empty folder origin.
// mod changes the topology's configuration.
func newSite(t *testing.T, mod func(*localedge.TopologyConfig)) *site {
	t.Helper()
	dir := t.TempDir()
	s := &site{src: filepath.Join(dir, "src"), out: filepath.Join(dir, "out"), originDir: filepath.Join(dir, "origin")}
	if err := os.CopyFS(s.src, sample.Site()); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(s.originDir, 0o755); err != nil {
		t.Fatal(err)
	}
	h, err := origin.New(s.originDir, origin.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	s.edge = edgetest.Start(t, func(c *localedge.TopologyConfig) {
		c.Origin.Handler = h
		if mod != nil {
			mod(c)
		}
	})
	return s
}

// config is a deploy of the source to the folder origin, purged, warmed
// and verified through the local topology.
func (s *site) config(t *testing.T) deploy.Config {
	t.Helper()
	var store providers.Store
	target := "file://" + s.originDir
	if s.store != nil {
		store, target = s.store(t), s.target
	} else {
		ls, err := local.NewStore(s.originDir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ls.Close() })
		store = ls
	}
	purger, err := local.NewPurger(local.PurgerConfig{AdminURL: s.edge.AdminURL, Token: providers.Secret(s.edge.Token)})
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse("http://" + edgetest.Host + "/")
	info := s.edge.Info
	opts := providers.DefaultPlanOptions()
	return deploy.Config{
		Source: s.src, Dir: s.out,
		Fingerprint: hashing.DirOptions{Options: hashing.Options{Rules: []hashing.Rule{edgeHTML}}},
		Store:       store, Target: target,
		Plan: opts,
		CDNs: []deploy.CDN{{
			Name: "local", Provider: "local", Purger: purger, BaseURL: base,
			Edges: func(ctx context.Context) ([]prewarm.Edge, error) { return prewarm.LocalEdges(ctx, info, edgetest.Host) },
		}},
		Prewarm: deploy.PrewarmConfig{Enabled: true},
		Verify:  deploy.VerifyConfig{Enabled: true, Sample: 5},
	}
}

func run(t *testing.T, ctx context.Context, cfg deploy.Config) (*deploy.Plan, *deploy.Report, error) {
	t.Helper()
	d := deploy.New(cfg)
	p, err := d.Plan(ctx)
	if err != nil {
		return nil, nil, err
	}
	rep, err := d.Apply(ctx, p)
	return p, rep, err
}

func mustRun(t *testing.T, cfg deploy.Config) (*deploy.Plan, *deploy.Report) {
	t.Helper()
	p, rep, err := run(t, context.Background(), cfg)
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	if rep.Status != deploy.OutcomeSucceeded {
		t.Fatalf("deploy status %q; want succeeded", rep.Status)
	}
	return p, rep
}

func (s *site) editAbout(t *testing.T, text string) {
	t.Helper()
	p := filepath.Join(s.src, "about", "index.html")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.Replace(string(b), "<h1>About this site</h1>", "<h1>"+text+"</h1>", 1))
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// changedKeys are the un-fingerprinted files that change with the about
// page.
var changedKeys = []string{"about/index.html", hashing.DefaultManifestName}

func statuses(r *deploy.Report) map[string]string {
	m := map[string]string{}
	for _, s := range r.Steps {
		m[s.Name] = s.Status
	}
	return m
}

// everyPoP fetches path through every edge PoP and returns the bodies.
func (s *site) everyPoP(t *testing.T, path string) map[string]edgetest.Response {
	t.Helper()
	out := map[string]edgetest.Response{}
	for _, p := range s.edge.Info.PoPs {
		if p.Role == localedge.RoleEdge {
			out[p.Name] = s.edge.Get(t, p.Name, path)
		}
	}
	return out
}

func TestDeployThenChangeOneEntryPoint(t *testing.T) {
	s := newSite(t, nil)
	cfg := s.config(t)

	// First deploy: everything uploaded, in order; nothing to purge yet
	// is not true (every page is new) but every step runs.
	p1, r1 := mustRun(t, cfg)
	st := statuses(r1)
	for _, name := range []string{deploy.StepFingerprint, deploy.StepUploadAssets, deploy.StepUploadFiles, deploy.StepUploadEntryPoints, deploy.StepPurge, deploy.StepPrewarm, deploy.StepVerify} {
		if st[name] != deploy.StatusDone {
			t.Errorf("first deploy: step %s = %s; want done (steps %v)", name, st[name], st)
		}
	}
	if r1.Push == nil || !r1.Push.Recorded || r1.Push.DeployID != p1.ID {
		t.Errorf("first deploy push = %+v; want recorded as %s", r1.Push, p1.ID)
	}
	pw := r1.Step(deploy.StepPrewarm).Prewarm
	if len(pw.Targets) != 1 || pw.Targets[0].Report == nil || len(pw.Targets[0].Report.Pops) != 3 || pw.Targets[0].Report.Errors != 0 {
		t.Fatalf("prewarm = %+v; want one CDN, 3 PoPs, no errors", pw.Targets)
	}
	vr := r1.Step(deploy.StepVerify).Verify.Targets[0].Report
	if vr == nil || !vr.Passed || vr.Requests < 3*len(r1.Step(deploy.StepVerify).Verify.Paths) {
		t.Fatalf("verify = %+v; want passed, every path at every PoP", vr)
	}
	// Warm: the home page is a hit at every PoP.
	for pop, r := range s.everyPoP(t, "/") {
		if !strings.Contains(r.Header.Get("Cache-Status"), pop+"; hit") {
			t.Errorf("GET / via %s after prewarm: Cache-Status %q; want a hit at %s", pop, r.Header.Get("Cache-Status"), pop)
		}
	}

	// Same site again: nothing to do, nothing recorded, nothing purged.
	p2, r2 := mustRun(t, cfg)
	if p2.Changes || p2.Step(deploy.StepPurge).Status != deploy.StatusSkipped || r2.Push != nil {
		t.Errorf("no-change deploy: changes %v, purge %s, push %+v; want nothing", p2.Changes, p2.Step(deploy.StepPurge).Status, r2.Push)
	}

	// One page changes: only it is uploaded and purged.
	s.editAbout(t, "About, version two")
	p3, r3 := mustRun(t, cfg)
	// The manifest lists the page, so it changed too: it is the other
	// un-fingerprinted file purged.
	if got := p3.Step(deploy.StepPurge).Purges[0].Keys; !slices.Equal(got, changedKeys) {
		t.Errorf("purged keys = %q; want only %q", got, changedKeys)
	}
	if p3.Step(deploy.StepUploadAssets).Status != deploy.StatusSkipped {
		t.Errorf("upload-assets = %s; want skipped (no asset changed)", p3.Step(deploy.StepUploadAssets).Status)
	}
	var uploaded []string
	for _, c := range p3.Step(deploy.StepUploadEntryPoints).Changes {
		uploaded = append(uploaded, c.Key)
	}
	if !slices.Contains(uploaded, "about/index.html") || slices.Contains(uploaded, "index.html") {
		t.Errorf("entry points uploaded = %q; want about/index.html (and its encodings) only", uploaded)
	}
	rec := r3.Step(deploy.StepPurge).Purges[0].Record
	if rec.Status != providers.PurgeCompleted || rec.Items() != 4 {
		t.Errorf("purge record = %+v; want completed, 4 URLs (/about/index.html, /about, /about/, /cdnctl-manifest.json)", rec)
	}
	for pop, r := range s.everyPoP(t, "/about/") {
		if !strings.Contains(r.Body, "About, version two") {
			t.Errorf("GET /about/ via %s: old content after the deploy", pop)
		}
	}

	// The history has the two deploys that changed something.
	store, _ := local.NewStore(s.originDir)
	defer store.Close()
	h, err := providers.ReadHistory(context.Background(), store)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Deploys) != 2 || h.Deploys[1].ID != p3.ID || h.Deploys[1].Source != "deploy" || h.Deploys[1].ManifestDigest == "" {
		t.Errorf("history = %+v; want deploys %s and %s", h.Deploys, p1.ID, p3.ID)
	}
}

func TestVerifyCatchesAnEdgeThatIgnoresPurges(t *testing.T) {
	s := newSite(t, func(c *localedge.TopologyConfig) { c.PoPs[1].IgnorePurges = true })
	cfg := s.config(t)
	mustRun(t, cfg)
	s.editAbout(t, "About, version two")
	_, rep, err := run(t, context.Background(), cfg)
	var de *deploy.Error
	if !errors.As(err, &de) || de.Step != deploy.StepVerify || de.Outcome != deploy.OutcomeFailedSwitched {
		t.Fatalf("deploy error = %v; want a verify failure after switching", err)
	}
	if rep.Status != deploy.OutcomeFailedSwitched {
		t.Errorf("report status = %s; want %s", rep.Status, deploy.OutcomeFailedSwitched)
	}
	var ve *verify.Error
	if !errors.As(err, &ve) {
		t.Fatalf("error %v does not carry the verify failures", err)
	}
	for _, f := range ve.Failures {
		if f.Pop != "pop2" || !strings.Contains(f.URL, "/about/") || f.Headers["Cache-Status"] == "" || f.Got == f.Want {
			t.Errorf("failure %+v; want pop2 serving a stale /about/ with its headers", f)
		}
	}
	if len(ve.Failures) == 0 {
		t.Fatal("no failure reported")
	}
	// The other PoPs serve the new page.
	for pop, r := range s.everyPoP(t, "/about/") {
		if fresh := strings.Contains(r.Body, "version two"); fresh == (pop == "pop2") {
			t.Errorf("GET /about/ via %s: fresh %v", pop, fresh)
		}
	}
	// The purge is still owed: a rerun purges and verifies again (and
	// fails again, since the PoP still ignores purges).
	p, _, err := run(t, context.Background(), cfg)
	if p == nil || p.Resumes == "" || !slices.Equal(p.Step(deploy.StepPurge).Purges[0].Keys, changedKeys) {
		t.Errorf("rerun plan: resumes %q; want the unfinished deploy's purge again", p.Resumes)
	}
	if !errors.As(err, &de) || de.Step != deploy.StepVerify {
		t.Errorf("rerun error = %v; want verify to fail again", err)
	}
}

func TestRollback(t *testing.T) {
	s := newSite(t, nil)
	cfg := s.config(t)
	p1, _ := mustRun(t, cfg)
	s.editAbout(t, "About, version two")
	mustRun(t, cfg)
	for _, r := range s.everyPoP(t, "/about/") {
		if !strings.Contains(r.Body, "version two") {
			t.Fatal("second deploy not served")
		}
	}

	d := deploy.New(cfg)
	p, err := d.PlanRollback(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if p.RollbackOf != p1.ID || p.Kind != "rollback" {
		t.Errorf("rollback of %q (%s); want %s", p.RollbackOf, p.Kind, p1.ID)
	}
	if got := p.Step(deploy.StepPurge).Purges[0].Keys; !slices.Equal(got, changedKeys) {
		t.Errorf("rollback purges %q; want %q", got, changedKeys)
	}
	rep, err := d.Apply(context.Background(), p)
	if err != nil || rep.Status != deploy.OutcomeSucceeded {
		t.Fatalf("rollback: %v (%s)", err, rep.Status)
	}
	for pop, r := range s.everyPoP(t, "/about/") {
		if !strings.Contains(r.Body, "<h1>About this site</h1>") {
			t.Errorf("GET /about/ via %s after rollback: not the first version", pop)
		}
	}
	store, _ := local.NewStore(s.originDir)
	defer store.Close()
	h, _ := providers.ReadHistory(context.Background(), store)
	if last := h.Last(); last.Source != "rollback" || last.RollbackOf != p1.ID || last.ContentDigest != h.Deploys[0].ContentDigest {
		t.Errorf("last history record = %+v; want a rollback to %s with its content digest", last, p1.ID)
	}
}

// TestInterruptedAtEachStep cancels the deploy of a changed site as each
// step starts, then runs it again: the rerun completes, and every PoP
// serves the new site.
func TestInterruptedAtEachStep(t *testing.T) {
	testInterrupted(t, []string{deploy.StepFingerprint, deploy.StepUploadAssets, deploy.StepUploadFiles,
		deploy.StepUploadEntryPoints, deploy.StepDelete, deploy.StepPurge, deploy.StepPrewarm, deploy.StepVerify}, newSite)
}

// TestInterruptedS3 interrupts deploys to an S3 origin (versitygw), which
// saves its object index only at the end or when a push stops early, at
// each step that writes to it; the edges read the bucket through a
// signed-fetch origin.
func TestInterruptedS3(t *testing.T) {
	ctx := context.Background()
	srv, err := s3test.Start(ctx, s3test.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	newS3Site := func(t *testing.T, _ func(*localedge.TopologyConfig)) *site {
		bucket, err := srv.CreateBucket(ctx, "interrupt")
		if err != nil {
			t.Fatal(err)
		}
		up := httptest.NewServer(srv.Origin(bucket, "www"))
		t.Cleanup(up.Close)
		s := newSite(t, func(c *localedge.TopologyConfig) { c.Origin.Handler, c.Origin.URL = nil, up.URL })
		s.target = "s3://" + bucket + "/www"
		s.store = func(t *testing.T) providers.Store {
			st, err := s3.New(ctx, s3.Config{Bucket: bucket, Prefix: "www", Endpoint: srv.Endpoint, Region: s3test.Region, Credentials: srv.Credentials()})
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
		return s
	}
	testInterrupted(t, []string{deploy.StepUploadAssets, deploy.StepUploadEntryPoints, deploy.StepDelete, deploy.StepPurge}, newS3Site)
}

func testInterrupted(t *testing.T, steps []string, newSite func(*testing.T, func(*localedge.TopologyConfig)) *site) {
	for _, step := range steps {
		t.Run(step, func(t *testing.T) {
			s := newSite(t, nil)
			cfg := s.config(t)
			mustRun(t, cfg)
			// Change a page, a style sheet (a new asset), an un-hashed
			// file, and drop another.
			s.editAbout(t, "About, version two")
			appendTo(t, filepath.Join(s.src, "css", "layout.css"), "\n.v2 { color: red }\n")
			appendTo(t, filepath.Join(s.src, "robots.txt"), "\n# v2\n")
			if err := os.Remove(filepath.Join(s.src, ".well-known", "security.txt")); err != nil {
				t.Fatal(err)
			}

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			seen := false
			cfg.OnEvent = func(e deploy.Event) {
				if e.Step == step && e.Status == deploy.StatusRunning {
					seen = true
					cancel()
				}
			}
			_, rep, err := run(t, ctx, cfg)
			if !seen {
				t.Fatalf("step %s never started", step)
			}
			if err == nil || !errors.Is(err, context.Canceled) {
				t.Fatalf("interrupted deploy: error %v; want cancelled", err)
			}
			if rep != nil && rep.Step(step).Status != deploy.StatusInterrupted && rep.Step(step).Status != deploy.StatusFailed {
				t.Errorf("step %s = %s; want interrupted", step, rep.Step(step).Status)
			}
			// The live site works at every PoP whatever the state.
			for pop, r := range s.everyPoP(t, "/about/") {
				if r.Status != http.StatusOK {
					t.Errorf("GET /about/ via %s while interrupted: %d", pop, r.Status)
				}
			}

			cfg.OnEvent = nil
			_, rep, err = run(t, context.Background(), cfg)
			if err != nil {
				t.Fatalf("rerun: %v", err)
			}
			if rep.Status != deploy.OutcomeSucceeded {
				t.Fatalf("rerun status %s", rep.Status)
			}
			for pop, r := range s.everyPoP(t, "/about/") {
				if !strings.Contains(r.Body, "version two") {
					t.Errorf("GET /about/ via %s after the rerun: old content", pop)
				}
			}
			if r := s.edge.Get(t, "pop1", "/robots.txt"); !strings.Contains(r.Body, "# v2") {
				t.Errorf("robots.txt after the rerun: old content")
			}
			if r := s.edge.Get(t, "pop1", "/.well-known/security.txt"); r.Status != http.StatusNotFound {
				t.Errorf("deleted file after the rerun: status %d; want 404", r.Status)
			}
		})
	}
}

func appendTo(t *testing.T, name, text string) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, append(b, text...), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTwoCDNs deploys one origin behind two CDNs (two local topologies
// reading the same folder): each is purged, warmed and verified.
func TestTwoCDNs(t *testing.T) {
	s := newSite(t, nil)
	h, err := origin.New(s.originDir, origin.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	other := edgetest.Start(t, func(c *localedge.TopologyConfig) { c.Origin.Handler = h; c.Shield = nil })
	cfg := s.config(t)
	purger, err := local.NewPurger(local.PurgerConfig{AdminURL: other.AdminURL, Token: providers.Secret(other.Token)})
	if err != nil {
		t.Fatal(err)
	}
	second := cfg.CDNs[0]
	second.Name, second.Purger = "other", purger
	second.Edges = func(ctx context.Context) ([]prewarm.Edge, error) {
		return prewarm.LocalEdges(ctx, other.Info, edgetest.Host)
	}
	cfg.CDNs = append(cfg.CDNs, second)
	mustRun(t, cfg)
	s.editAbout(t, "About, version two")
	_, rep := mustRun(t, cfg)
	purges := rep.Step(deploy.StepPurge).Purges
	if len(purges) != 2 || purges[0].CDN != "local" || purges[1].CDN != "other" {
		t.Fatalf("purges = %+v; want one per CDN", purges)
	}
	for _, p := range purges {
		if p.Record.Status != providers.PurgeCompleted || !slices.Equal(p.Keys, changedKeys) {
			t.Errorf("purge at %s = %s %q", p.CDN, p.Record.Status, p.Keys)
		}
	}
	vt := rep.Step(deploy.StepVerify).Verify.Targets
	if len(vt) != 2 || vt[1].Report == nil || !vt[1].Report.Passed || len(vt[1].Report.Pops) != 3 {
		t.Errorf("verify targets = %+v; want both CDNs' PoPs verified", vt)
	}
	for _, pop := range []string{"pop1", "pop2", "pop3"} {
		if r := other.Get(t, pop, "/about/"); !strings.Contains(r.Body, "version two") {
			t.Errorf("the other CDN's %s serves the old page", pop)
		}
	}
}

// TestDeployLeavesDotfilesOut: a deploy publishes no dotfile of the
// source unless both allow-lists name it (fingerprint copies, push
// uploads), says which it left out, and every PoP answers 404 for them.
func TestDeployLeavesDotfilesOut(t *testing.T) {
	s := newSite(t, nil)
	for name, body := range map[string]string{".env": "SECRET_KEY=deploy-secret", ".htaccess": "Options -Indexes"} {
		if err := os.WriteFile(filepath.Join(s.src, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := s.config(t)
	cfg.Fingerprint.AllowDotfiles = []string{"/.htaccess"} // copied, but push does not allow it
	p, _ := mustRun(t, cfg)
	warnings := strings.Join(p.Warnings, "\n")
	for _, want := range []string{
		"fingerprint: dotfiles not published (they often hold secrets): .env; fingerprint.allow_dotfiles and origin.allow_dotfiles publish one",
		"push: dotfiles not uploaded (they often hold secrets): .htaccess; origin.allow_dotfiles uploads one",
	} {
		if !strings.Contains(warnings, want) {
			t.Errorf("plan warnings lack %q:\n%s", want, warnings)
		}
	}
	for _, path := range []string{"/.env", "/.htaccess"} {
		for pop, r := range s.everyPoP(t, path) {
			if r.Status != http.StatusNotFound || strings.Contains(r.Body, "deploy-secret") {
				t.Errorf("%s GET %s = %d %q; want 404", pop, path, r.Status, r.Body)
			}
		}
		if _, err := os.Stat(filepath.Join(s.originDir, path)); err == nil {
			t.Errorf("%s uploaded to the origin", path)
		}
	}
}
