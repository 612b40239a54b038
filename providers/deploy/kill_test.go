package deploy_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cdnctl/cdnctl/deploystate"
	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/deploy"
	"github.com/cdnctl/cdnctl/providers/prewarm"
	"github.com/cdnctl/cdnctl/providers/s3"
	"github.com/cdnctl/cdnctl/providers/s3/s3test"
)

// killHelperEnv, when set (to a killSpec as JSON), makes the test binary
// a deploy that pauses at a step, for the parent test to kill -9.
const killHelperEnv = "CDNCTL_TEST_KILL_HELPER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(killHelperEnv); spec != "" {
		os.Exit(killHelper(spec))
	}
	os.Exit(m.Run())
}

// killSpec is the deploy the helper process runs.
type killSpec struct {
	Endpoint, AccessKey, SecretKey, Bucket string
	Src, Out, Edge                         string
	// Step is where it pauses: as the step starts, or, with Mid, after
	// the first entry point was uploaded and before the second.
	Step string
	Mid  bool
}

// killConfig is the deploy of spec's site to its bucket under www/,
// behind one CDN (an edge reading the bucket) that is purged, warmed and
// verified; old assets are kept for 2 deploys and no time.
func killConfig(spec killSpec, store providers.Store) deploy.Config {
	base, _ := url.Parse("http://www.example.test/")
	opts := providers.DefaultPlanOptions()
	opts.Retention = providers.Retention{Deploys: 2}
	return deploy.Config{
		Dir: spec.Out, Store: store, Target: "s3://" + spec.Bucket + "/www", KeyPrefix: "www",
		Plan: opts, Concurrency: 1,
		CDNs: []deploy.CDN{{
			Name: "edge", Provider: "test", Purger: nopPurger{}, OriginPath: "/www", BaseURL: base,
			Edges: func(context.Context) ([]prewarm.Edge, error) {
				return []prewarm.Edge{{Name: "pop1", Addr: spec.Edge, Via: "address"}}, nil
			},
		}},
		Prewarm: deploy.PrewarmConfig{Enabled: true},
		Verify:  deploy.VerifyConfig{Enabled: true, Sample: -1},
	}
}

func openS3(spec killSpec) (*s3.Store, error) {
	return s3.New(context.Background(), s3.Config{
		Bucket: spec.Bucket, Prefix: "www", Endpoint: spec.Endpoint, Region: s3test.Region,
		Credentials: credentials.NewStaticCredentialsProvider(spec.AccessKey, spec.SecretKey, ""),
	})
}

// nopPurger accepts every purge (the edge does not cache).
type nopPurger struct{}

func (nopPurger) Plan(req providers.PurgeRequest) (*providers.PurgeRecord, error) {
	return &providers.PurgeRecord{Provider: "test", Status: providers.PurgePlanned,
		Batches: []providers.PurgeBatch{{Kind: providers.KindFiles, Items: req.Keys, Status: providers.PurgePlanned}}}, nil
}

func (nopPurger) Purge(_ context.Context, rec *providers.PurgeRecord) error {
	rec.Status = providers.PurgeCompleted
	return nil
}

// pauseAtSecondPage stops before the second HTML page is uploaded.
type pauseAtSecondPage struct {
	*s3.Store
	pages atomic.Int32
	pause func(string)
}

func (p *pauseAtSecondPage) Put(ctx context.Context, f *providers.LocalFile) error {
	if strings.HasSuffix(f.Key, ".html") && p.pages.Add(1) == 2 {
		p.pause("before " + f.Key)
	}
	return p.Store.Put(ctx, f)
}

// killHelper runs a deploy the way cdnctl deploy does (lock, plan,
// apply) and blocks forever where spec says, after printing "PAUSED".
func killHelper(raw string) int {
	var spec killSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		fmt.Println("ERROR", err)
		return 2
	}
	pause := func(what string) {
		fmt.Println("PAUSED", what)
		select {}
	}
	st, err := openS3(spec)
	if err != nil {
		fmt.Println("ERROR", err)
		return 2
	}
	var store providers.Store = st
	if spec.Mid {
		store = &pauseAtSecondPage{Store: st, pause: pause}
	}
	ctx := context.Background()
	lock, ctx, err := providers.AcquireLock(ctx, store, providers.LockOptions{Operation: "deploy", Holder: providers.CurrentHolder("")})
	if err != nil {
		fmt.Println("ERROR", err)
		return 2
	}
	cfg := killConfig(spec, store)
	cfg.OnEvent = func(e deploy.Event) {
		if !spec.Mid && e.Step == spec.Step && e.Status == deploy.StatusRunning {
			pause(e.Step)
		}
	}
	d := deploy.New(cfg)
	plan, err := d.Plan(ctx)
	if err != nil {
		fmt.Println("ERROR", err)
		return 2
	}
	lock.SetDeployID(ctx, plan.ID)
	_, err = d.Apply(ctx, plan)
	fmt.Println("DONE without pausing:", err)
	return 1
}

// killSite writes version v of a small site into src: pages naming a
// style sheet and scripts (version 2 adds one whose fingerprint is all
// digits), a robots.txt, and a file only version 1 has.
func killSite(t *testing.T, src string, v int) {
	t.Helper()
	if err := os.RemoveAll(src); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"css/site.css": map[int]string{1: "body{color:black}\n", 2: "body{color:red}\n", 3: "body{color:blue}\n"}[v],
		"js/app.js":    "console.log('app')\n",
		"robots.txt":   fmt.Sprintf("User-agent: *\n# v%d\n", v),
	}
	refs := `<link rel="stylesheet" href="/css/site.css"><script src="/js/app.js"></script>`
	switch v {
	case 1:
		files["old.txt"] = "only in version 1\n"
	case 2:
		files["js/a145.js"] = allDigitScript(t)
		refs += `<script src="/js/a145.js"></script>`
	}
	for _, p := range []string{"index.html", "a/index.html", "b/index.html", "c/index.html"} {
		files[p] = fmt.Sprintf("<!doctype html><title>%s</title>%s<p>version %d of %s</p>\n", p, refs, v, p)
	}
	for name, body := range files {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// build fingerprints src into out, as deploy would, with every file
// modified an hour ago: deploys to S3 then need not wait for the clock to
// pass the build's modification times (LastModified has seconds).
func build(t *testing.T, src, out string) {
	t.Helper()
	if _, err := hashing.FingerprintDir(context.Background(), src, out, hashing.DirOptions{}); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	err := filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			err = os.Chtimes(p, old, old)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// allDigitScript returns a script whose content hash starts with 10
// decimal digits (about 1 in 110 do): its fingerprinted name has no hex
// letter, like js/a145.3336109849.js.
func allDigitScript(t *testing.T) string {
	for n := 0; n < 100000; n++ {
		s := fmt.Sprintf("console.log(%d)\n", n)
		sum := sha256.Sum256([]byte(s))
		if strings.Trim(hex.EncodeToString(sum[:])[:10], "0123456789") == "" {
			return s
		}
	}
	t.Fatal("no all-digit hash found")
	return ""
}

// lockedDeploy deploys as cdnctl deploy does: lock, plan, apply,
// release. The lock of a deploy killed on this machine is taken over.
func lockedDeploy(t *testing.T, cfg deploy.Config) *deploy.Report {
	t.Helper()
	ctx := context.Background()
	lock, lctx, err := providers.AcquireLock(ctx, cfg.Store, providers.LockOptions{
		Operation: "deploy", Holder: providers.CurrentHolder(""), Force: runtime.GOOS != "linux",
	})
	if err != nil {
		t.Fatalf("lock: %v", err)
	}
	defer lock.Release(ctx)
	d := deploy.New(cfg)
	plan, err := d.Plan(lctx)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	rep, err := d.Apply(lctx, plan)
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	return rep
}

var refRE = regexp.MustCompile(`(?:src|href)="([^"]+)"`)

// pageRefs returns the site paths a page names.
func pageRefs(body string) []string {
	var out []string
	for _, m := range refRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// livePages returns every page the bucket serves under www/, by path.
func livePages(t *testing.T, srv *s3test.Server, bucket, edge string) map[string]string {
	t.Helper()
	out, err := srv.Client(nil).ListObjectsV2(context.Background(), &awss3.ListObjectsV2Input{Bucket: &bucket, Prefix: aws.String("www/")})
	if err != nil {
		t.Fatal(err)
	}
	pages := map[string]string{}
	for _, o := range out.Contents {
		if k := aws.ToString(o.Key); strings.HasSuffix(k, ".html") {
			p := "/" + strings.TrimPrefix(k, "www/")
			status, body := get(t, edge, p)
			if status != http.StatusOK {
				t.Fatalf("GET %s: %d", p, status)
			}
			pages[p] = body
		}
	}
	if len(pages) < 4 {
		t.Fatalf("%d pages live; want 4", len(pages))
	}
	return pages
}

func get(t *testing.T, edge, p string) (int, string) {
	t.Helper()
	resp, err := http.Get(edge + p)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// checkResolves fails for every asset a page names that the site does
// not serve.
func checkResolves(t *testing.T, when, edge string, pages map[string]string) {
	t.Helper()
	paths := make([]string, 0, len(pages))
	for p := range pages {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		refs := pageRefs(pages[p])
		if len(refs) < 2 {
			t.Fatalf("%s: page %s names %v; want its style sheet and scripts", when, p, refs)
		}
		for _, ref := range refs {
			if status, _ := get(t, edge, ref); status != http.StatusOK {
				t.Errorf("%s: page %s names %s, which answers %d", when, p, ref, status)
			}
		}
	}
}

// TestKill9AtEachStep kills a deploy process (kill -9: no cleanup, no
// deferred saves) at each step, against versitygw, and checks that every
// page of the live site resolves all its assets while it lies there dead,
// and after the next deploy — also the pages that were live in between,
// which clients and caches may hold: their assets, among them one whose
// fingerprint is all digits, uploaded only by the killed deploy, must
// survive the next deploy's deletions.
func TestKill9AtEachStep(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("kill -9 is a Unix signal")
	}
	ctx := context.Background()
	srv, err := s3test.Start(ctx, s3test.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, step string
		mid        bool
	}{
		{"upload-assets", deploy.StepUploadAssets, false},
		{"upload-files", deploy.StepUploadFiles, false},
		{"mid-upload-entry-points", deploy.StepUploadEntryPoints, true},
		{"delete", deploy.StepDelete, false},
		{"purge", deploy.StepPurge, false},
		{"prewarm", deploy.StepPrewarm, false},
		{"verify", deploy.StepVerify, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // most of a step's time is deploys waiting for S3's clock to pass the build's
			bucket, err := srv.CreateBucket(ctx, "kill")
			if err != nil {
				t.Fatal(err)
			}
			edge := httptest.NewServer(srv.Origin(bucket, "www"))
			defer edge.Close()
			dir := t.TempDir()
			spec := killSpec{
				Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Bucket: bucket,
				Src: filepath.Join(dir, "src"), Out: filepath.Join(dir, "out"), Edge: strings.TrimPrefix(edge.URL, "http://"),
				Step: tc.step, Mid: tc.mid,
			}
			config := func() deploy.Config {
				st, err := openS3(spec)
				if err != nil {
					t.Fatal(err)
				}
				return killConfig(spec, st)
			}

			killSite(t, spec.Src, 1)
			build(t, spec.Src, spec.Out)
			lockedDeploy(t, config())
			checkResolves(t, "version 1", edge.URL, livePages(t, srv, bucket, edge.URL))

			// Version 2, killed at the step.
			killSite(t, spec.Src, 2)
			build(t, spec.Src, spec.Out)
			raw, _ := json.Marshal(spec)
			cmd := exec.Command(exe, "-test.run=^$")
			cmd.Env = append(os.Environ(), killHelperEnv+"="+string(raw))
			cmd.Stderr = os.Stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lines := make(chan string, 10)
			go func() {
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					lines <- sc.Text()
				}
				close(lines)
			}()
			select {
			case line := <-lines:
				if !strings.HasPrefix(line, "PAUSED") {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("the deploy did not pause at %s: %s", tc.step, line)
				}
			case <-time.After(2 * time.Minute):
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("the deploy did not reach %s", tc.step)
			}
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			cmd.Wait()

			between := livePages(t, srv, bucket, edge.URL)
			checkResolves(t, "killed at "+tc.name, edge.URL, between)

			// Version 3: the next deploy takes the dead deploy's lock
			// over, finishes, and deletes what retention lets it.
			killSite(t, spec.Src, 3)
			build(t, spec.Src, spec.Out)
			lockedDeploy(t, config())
			checkResolves(t, "after the next deploy", edge.URL, livePages(t, srv, bucket, edge.URL))
			checkResolves(t, "pages live while the deploy lay killed, after the next deploy", edge.URL, between)

			st, err := openS3(spec)
			if err != nil {
				t.Fatal(err)
			}
			h, err := providers.ReadHistory(ctx, st)
			if err != nil {
				t.Fatal(err)
			}
			entries := providers.HistoryEntries(h, nil, time.Now())
			if len(entries) != 3 || entries[0].State != providers.DeployComplete || !entries[0].Live ||
				entries[1].State != providers.DeployInterrupted || entries[1].Status != deploystate.StatusRunning || entries[2].State != providers.DeployComplete {
				t.Errorf("history: %+v; want version 3 live, version 2 interrupted (recorded running when killed), version 1 complete", entries)
			}
			// The all-digit asset the killed deploy uploaded (unless it
			// was killed before) is still there after the next deploy,
			// and retention knows it.
			digits := ""
			for _, page := range between {
				for _, ref := range pageRefs(page) {
					if strings.HasPrefix(ref, "/js/a145.") {
						digits = strings.TrimPrefix(ref, "/")
					}
				}
			}
			if tc.step == deploy.StepUploadAssets {
				return
			}
			if digits == "" {
				for k := range h.Assets {
					if strings.HasPrefix(k, "js/a145.") {
						digits = k
					}
				}
			}
			if _, ok := h.Assets[digits]; !ok || !strings.HasPrefix(digits, "js/a145.") {
				t.Errorf("the killed deploy's all-digit asset %q is not in the history's assets: %v", digits, h.Assets)
			}
			if status, _ := get(t, edge.URL, "/"+digits); status != http.StatusOK {
				t.Errorf("%s after the next deploy: %d; want it kept for retention", digits, status)
			}
		})
	}
}

// TestServedStateFailsVerify deploys a site at the root of a bucket,
// whose state can only be .cdnctl/ under it, through a CDN that serves
// every key: the deploy warns, and its verify step finds the history
// served and fails, naming the fix. Through a CDN that refuses /.cdnctl/
// it passes; with the state in another bucket nothing is served.
func TestServedStateFailsVerify(t *testing.T) {
	ctx := context.Background()
	srv, err := s3test.Start(ctx, s3test.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	for _, tc := range []struct {
		name        string
		public      bool   // the CDN serves /.cdnctl/
		stateBucket string // "": the default location
		wantFail    bool
	}{
		{"public CDN, state in the site", true, "", true},
		{"CDN refusing /.cdnctl/", false, "", false},
		{"public CDN, state in another bucket", true, "state", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bucket, err := srv.CreateBucket(ctx, "root")
			if err != nil {
				t.Fatal(err)
			}
			handler := srv.Origin(bucket, "")
			if tc.public {
				handler = srv.PublicOrigin(bucket, "")
			}
			edge := httptest.NewServer(handler)
			defer edge.Close()
			stateBucket := ""
			if tc.stateBucket != "" {
				if stateBucket, err = srv.CreateBucket(ctx, tc.stateBucket); err != nil {
					t.Fatal(err)
				}
			}
			dir := t.TempDir()
			spec := killSpec{Src: filepath.Join(dir, "src"), Out: filepath.Join(dir, "out"), Edge: strings.TrimPrefix(edge.URL, "http://"), Bucket: bucket}
			killSite(t, spec.Src, 1)
			build(t, spec.Src, spec.Out)
			st, err := s3.New(ctx, s3.Config{Bucket: bucket, Endpoint: srv.Endpoint, Region: s3test.Region, Credentials: srv.Credentials(),
				StateBucket: stateBucket, StatePrefix: map[bool]string{true: "sites/root"}[stateBucket != ""]})
			if err != nil {
				t.Fatal(err)
			}
			cfg := killConfig(spec, st)
			cfg.KeyPrefix, cfg.CDNs[0].OriginPath = "", ""
			d := deploy.New(cfg)
			plan, err := d.Plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			warned := strings.Contains(strings.Join(plan.Warnings, "\n"), "is inside what the site is served from")
			if warned != (stateBucket == "") {
				t.Errorf("warnings %q; want a warning about the state's place: %v", plan.Warnings, stateBucket == "")
			}
			rep, err := d.Apply(ctx, plan)
			if !tc.wantFail {
				if err != nil {
					t.Fatalf("deploy: %v", err)
				}
				// The next deploy, with nothing changed, checks again
				// when the state lies where a CDN serves it.
				plan, err := d.Plan(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if got := plan.Step(deploy.StepVerify).Status == deploy.StatusPlanned; got != (stateBucket == "") {
					t.Errorf("no-change deploy plans verify: %v; want %v (%s)", got, stateBucket == "", plan.Step(deploy.StepVerify).Reason)
				}
				return
			}
			if err == nil || rep.Status != deploy.OutcomeFailedSwitched {
				t.Fatalf("deploy with its history served: %v, %s; want verify to fail", err, rep.Status)
			}
			var exposed []string
			for _, tg := range rep.Step(deploy.StepVerify).Verify.Targets {
				for _, f := range tg.Report.Failures {
					if f.Private && strings.Contains(f.Reason, "origin.state") {
						exposed = append(exposed, f.URL)
					}
				}
			}
			if len(exposed) != 1 || exposed[0] != "http://www.example.test/.cdnctl/history.json" {
				t.Errorf("exposed %v; want the history at /.cdnctl/history.json", exposed)
			}
		})
	}
}
