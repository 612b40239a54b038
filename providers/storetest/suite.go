package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/deploystate"
	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/providers"
)

// Target is one empty store under test, plus ways to look at what it holds
// that do not go through the store (a raw S3 client, the folder itself).
type Target struct {
	// Open returns a Store on the target. It is called again to stand for
	// a new cdnctl run (nothing cached in memory).
	Open func(t *testing.T) providers.Store
	// Object reads what is stored at key: its body and headers.
	Object func(t *testing.T, key string) (body []byte, meta providers.Metadata, ok bool)
	// Keys lists the stored object keys, sorted, without cdnctl's state.
	Keys func(t *testing.T) []string
	// PutForeign stores an object as another tool would: no cdnctl hash or
	// index entry, the given content type.
	PutForeign func(t *testing.T, key string, body []byte, contentType string)
	// Requests, if set, counts the requests sent to the server so far.
	Requests func() Requests
}

// Requests counts requests by kind.
type Requests struct {
	List   int // list pages (ListObjectsV2)
	Get    int // object reads (the index, the history)
	Head   int
	Put    int // requests carrying object bodies (PutObject, UploadPart)
	Copy   int // CopyObject (metadata-only updates)
	Post   int // DeleteObjects, multipart create/complete
	Delete int
}

// Sub returns r - o.
func (r Requests) Sub(o Requests) Requests {
	return Requests{r.List - o.List, r.Get - o.Get, r.Head - o.Head, r.Put - o.Put, r.Copy - o.Copy, r.Post - o.Post, r.Delete - o.Delete}
}

// Run runs the push suite against the stores newTarget makes (one fresh,
// empty target per subtest).
func Run(t *testing.T, newTarget func(t *testing.T) Target) {
	t.Run("FirstDeployThenNoOp", func(t *testing.T) { testFirstDeployThenNoOp(t, newTarget(t)) })
	t.Run("ContentChange", func(t *testing.T) { testContentChange(t, newTarget(t)) })
	t.Run("HeaderOnlyChange", func(t *testing.T) { testHeaderOnlyChange(t, newTarget(t)) })
	t.Run("Retention", func(t *testing.T) { testRetention(t, newTarget(t)) })
	t.Run("MaxDeletes", func(t *testing.T) { testMaxDeletes(t, newTarget(t)) })
	t.Run("ProtectedPrefixes", func(t *testing.T) { testProtected(t, newTarget(t)) })
	t.Run("InterruptedThenRerun", func(t *testing.T) { testInterrupted(t, newTarget(t)) })
	t.Run("ForeignObjects", func(t *testing.T) { testForeign(t, newTarget(t)) })
	t.Run("ChecksumVerified", func(t *testing.T) { testChecksum(t, newTarget(t)) })
}

// Site is a folder's files by slash path.
type Site map[string]string

// Write creates the site in a new temporary folder, its files modified
// at a fixed time in the past.
func (s Site) Write(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range s {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		// Built a while ago: a push need not wait for the clock to pass
		// the files' modification times (Pusher.Apply).
		if err := os.Chtimes(p, siteTime, siteTime); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// siteTime is the modification time of the files Write creates.
var siteTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// With returns a copy of s with changes applied ("" deletes a file).
func (s Site) With(changes Site) Site {
	out := Site{}
	for k, v := range s {
		out[k] = v
	}
	for k, v := range changes {
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// siteV1 is a small fingerprinted site: hashed assets (one with a
// precompressed sibling), entry points, other files.
var siteV1 = Site{
	"index.html":                `<link href="/css/app.1111aaaa11.css"><img src="/img/logo.2222bbbb22.png">`,
	"about/index.html":          `<link href="/css/app.1111aaaa11.css">about`,
	"css/app.1111aaaa11.css":    "body{background:url(/img/logo.2222bbbb22.png)}",
	"css/app.1111aaaa11.css.br": "\x0b\x02\x80brotli-ish",
	"img/logo.2222bbbb22.png":   "\x89PNG fake image bytes",
	"robots.txt":                "User-agent: *\n",
	"data/feed.json":            `{"items":[]}`,
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// run is one push of a folder.
type run struct {
	store   providers.Store
	dir     string
	opts    providers.PlanOptions
	scan    providers.ScanOptions
	clock   *fakeClock
	ctx     context.Context
	workers int
}

func newRun(t *testing.T, store providers.Store, s Site, clock *fakeClock) *run {
	return &run{store: store, dir: s.Write(t), opts: providers.DefaultPlanOptions(), clock: clock, ctx: context.Background(), workers: 4}
}

func (r *run) files(t *testing.T) []*providers.LocalFile {
	t.Helper()
	set, err := providers.ScanDir(context.Background(), r.dir, r.scan)
	if err != nil {
		t.Fatal(err)
	}
	return set.Files
}

func (r *run) push(t *testing.T) (*providers.Plan, *providers.Result, error) {
	t.Helper()
	p := &providers.Pusher{Store: r.store, Options: r.opts, Concurrency: r.workers, Now: r.clock.Now}
	plan, err := p.Plan(r.ctx, r.files(t))
	if err != nil {
		return nil, nil, err
	}
	res, err := p.Apply(r.ctx, plan)
	return plan, res, err
}

func (r *run) mustPush(t *testing.T) (*providers.Plan, *providers.Result) {
	t.Helper()
	plan, res, err := r.push(t)
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	if !res.Complete {
		t.Fatalf("push result not complete: %+v", res)
	}
	return plan, res
}

// verify checks that the target holds exactly the files (plus extra
// keys), with their bodies and headers.
func verify(t *testing.T, tg Target, files []*providers.LocalFile, extra ...string) {
	t.Helper()
	bodies, err := Bodies(files)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range files {
		want = append(want, f.Key)
	}
	want = append(want, extra...)
	sort.Strings(want)
	if got := tg.Keys(t); !slices.Equal(got, want) {
		t.Errorf("stored keys:\n got %q\nwant %q", got, want)
	}
	for _, f := range files {
		body, meta, ok := tg.Object(t, f.Key)
		if !ok {
			t.Errorf("%s: not stored", f.Key)
			continue
		}
		if !bytes.Equal(body, bodies[f.Key]) {
			t.Errorf("%s: stored body %q; want %q", f.Key, body, bodies[f.Key])
		}
		if d := meta.Diff(f.Meta); d != nil {
			t.Errorf("%s: stored headers differ: %s", f.Key, strings.Join(d, "; "))
		}
	}
}

func countOps(plan *providers.Plan) map[providers.Op]int {
	m := map[providers.Op]int{}
	for _, c := range plan.Changes {
		m[c.Op]++
	}
	return m
}

func opOf(t *testing.T, plan *providers.Plan, key string) providers.Change {
	t.Helper()
	for _, c := range plan.Changes {
		if c.Key == key {
			return c
		}
	}
	t.Fatalf("no change for %s", key)
	return providers.Change{}
}

func testFirstDeployThenNoOp(t *testing.T, tg Target) {
	clock := newClock()
	rec := &recorder{}
	r := newRun(t, wrap(tg.Open(t), rec), siteV1, clock)
	plan, res := r.mustPush(t)
	files := r.files(t)
	if res.Uploaded != len(files) || res.Updated+res.Deleted+res.Kept != 0 {
		t.Errorf("first deploy: %+v; want %d uploads only", res, len(files))
	}
	if !res.Recorded || res.Seq != 1 || res.DeployID == "" {
		t.Errorf("first deploy record: recorded %v seq %d id %q; want recorded as deploy 1", res.Recorded, res.Seq, res.DeployID)
	}
	verify(t, tg, files)

	// Hashed assets were stored before any entry point started.
	var lastAsset, firstEntry int64 = -1, 1 << 62
	for _, e := range rec.events() {
		fp := strings.Contains(e.key, "1111aaaa11") || strings.Contains(e.key, "2222bbbb22")
		switch {
		case fp && e.end > lastAsset:
			lastAsset = e.end
		case isEntryPoint(e.key) && e.start < firstEntry:
			firstEntry = e.start
		}
	}
	if lastAsset < 0 || firstEntry == 1<<62 || lastAsset > firstEntry {
		t.Errorf("order: last asset finished at %d, first entry point started at %d; want assets first (events %+v)", lastAsset, firstEntry, rec.events())
	}

	// The history records the deploy and its snapshot.
	st := tg.Open(t)
	h, err := providers.ReadHistory(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Deploys) != 1 || h.Deploys[0].ID != res.DeployID || h.Deploys[0].ContentDigest != plan.ContentDigest ||
		h.Deploys[0].Counts.Uploaded != len(files) || h.Deploys[0].Counts.Files != len(files) {
		t.Errorf("history deploys = %+v; want one record of this deploy", h.Deploys)
	}
	if a := h.Assets["css/app.1111aaaa11.css"]; a.LastDeploy != 1 || !a.UnreferencedSince.IsZero() {
		t.Errorf("history asset = %+v; want referenced by deploy 1", a)
	}
	snap, err := providers.ReadSnapshot(context.Background(), st, &h.Deploys[0])
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	if len(snap.Objects) != len(files) || snap.ID != res.DeployID {
		t.Errorf("snapshot %s has %d objects, id %q; want %d, %q", h.Deploys[0].Snapshot, len(snap.Objects), snap.ID, len(files), res.DeployID)
	}
	if e := snap.Objects["css/app.1111aaaa11.css"]; !e.Fingerprinted || e.SHA256 == "" || e.CacheControl != providers.CacheControlImmutable {
		t.Errorf("snapshot entry = %+v; want the asset's hash, headers and fingerprinted flag", e)
	}

	// No-op: a new run against the same store changes nothing and sends
	// no writes.
	var before Requests
	if tg.Requests != nil {
		before = tg.Requests()
	}
	r.store = tg.Open(t)
	plan, res = r.mustPush(t)
	if n := countOps(plan); n[providers.OpKeep] != len(files) || plan.Pending() {
		t.Errorf("no-op plan ops = %v; want %d keeps", n, len(files))
	}
	if res.Uploaded+res.Updated+res.Deleted != 0 || res.Recorded {
		t.Errorf("no-op result = %+v; want nothing done, nothing recorded", res)
	}
	if tg.Requests != nil {
		d := tg.Requests().Sub(before)
		if d.Put+d.Copy+d.Post+d.Delete != 0 || d.Head != 0 {
			t.Errorf("no-op push sent writes or HEADs: %+v", d)
		}
		if d.List > 1 || d.Get > 2 {
			t.Errorf("no-op push sent %d LIST pages and %d GETs; want ≤ 1 (under 1,000 objects) and ≤ 2 (index, history)", d.List, d.Get)
		}
	}
	verify(t, tg, files)
}

func testContentChange(t *testing.T, tg Target) {
	clock := newClock()
	r := newRun(t, tg.Open(t), siteV1, clock)
	r.mustPush(t)

	// v2: new CSS (new hashed name), changed HTML, a deleted plain file.
	v2 := siteV1.With(Site{
		"css/app.1111aaaa11.css":    "",
		"css/app.1111aaaa11.css.br": "",
		"css/app.3333cccc33.css":    "body{color:red}",
		"index.html":                `<link href="/css/app.3333cccc33.css"> v2`,
		"about/index.html":          `<link href="/css/app.3333cccc33.css">ABOUT`, // same size, new bytes
		"data/feed.json":            "",
	})
	clock.Advance(time.Hour)
	r = newRun(t, tg.Open(t), v2, clock)
	plan, res := r.mustPush(t)
	for key, want := range map[string]struct {
		op     providers.Op
		reason providers.Reason
	}{
		"css/app.3333cccc33.css":    {providers.OpUpload, providers.ReasonNew},
		"index.html":                {providers.OpUpload, providers.ReasonSizeChanged},
		"about/index.html":          {providers.OpUpload, providers.ReasonContentChanged},
		"img/logo.2222bbbb22.png":   {providers.OpKeep, providers.ReasonUnchanged},
		"css/app.1111aaaa11.css":    {providers.OpRetain, providers.ReasonRetention},
		"css/app.1111aaaa11.css.br": {providers.OpRetain, providers.ReasonRetention},
		"data/feed.json":            {providers.OpDelete, providers.ReasonOrphan},
	} {
		if c := opOf(t, plan, key); c.Op != want.op || c.Reason != want.reason {
			t.Errorf("%s: %s/%s (%s); want %s/%s", key, c.Op, c.Reason, c.Detail, want.op, want.reason)
		}
	}
	if res.Uploaded != 3 || res.Deleted != 1 || res.Retained != 2 || res.Seq != 2 {
		t.Errorf("result = %+v; want 3 uploads, 1 delete, 2 retained, deploy 2", res)
	}
	verify(t, tg, r.files(t), "css/app.1111aaaa11.css", "css/app.1111aaaa11.css.br")
}

func testHeaderOnlyChange(t *testing.T, tg Target) {
	clock := newClock()
	r := newRun(t, tg.Open(t), siteV1, clock)
	r.mustPush(t)

	var before Requests
	if tg.Requests != nil {
		before = tg.Requests()
	}
	r.store = tg.Open(t)
	r.scan.Rules = []providers.HeaderRule{{
		Match: hashing.MustCompileGlob("*.html"), CacheControl: "public, max-age=120", Tags: []string{"pages"},
	}}
	plan, res := r.mustPush(t)
	for _, key := range []string{"index.html", "about/index.html"} {
		if c := opOf(t, plan, key); c.Op != providers.OpUpdate || c.Reason != providers.ReasonCacheControlChanged {
			t.Errorf("%s: %s/%s; want update/cache-control-changed", key, c.Op, c.Reason)
		}
	}
	if res.Updated != 2 || res.Uploaded != 0 || res.BytesUploaded != 0 {
		t.Errorf("result = %+v; want 2 metadata updates and no bytes uploaded", res)
	}
	if tg.Requests != nil {
		d := tg.Requests().Sub(before)
		if d.Put != 4 || d.Copy != 2 {
			// The HTML goes by copy; the only bodies are cdnctl's state:
			// the index, the deploy's snapshot and the history (running,
			// then complete).
			t.Errorf("requests = %+v; want 2 copies and 4 PUTs (index, snapshot, history twice)", d)
		}
	}
	verify(t, tg, r.files(t))
}

func testRetention(t *testing.T, tg Target) {
	clock := newClock()
	asset := func(n int) string { return fmt.Sprintf("js/app.%d0c1d2e3f4.js", n) }
	siteN := func(n int) Site {
		return Site{
			"index.html": fmt.Sprintf(`<script src="/%s"></script>`, asset(n)),
			asset(n):     fmt.Sprintf("console.log(%d)", n),
		}
	}
	deploy := func(n int) *providers.Plan {
		t.Helper()
		r := newRun(t, tg.Open(t), siteN(n), clock)
		r.opts.Retention = providers.Retention{Deploys: 2, Age: 24 * time.Hour}
		plan, res := r.mustPush(t)
		if res.Seq != n {
			t.Fatalf("deploy %d recorded as %d", n, res.Seq)
		}
		return plan
	}
	keys := func() []string { return tg.Keys(t) }
	deploy(1)
	deploy(2)
	if got, want := keys(), []string{"index.html", asset(1), asset(2)}; !sameSet(got, want) {
		t.Errorf("after deploy 2: %q; want %q (asset 1 retained)", got, want)
	}
	p := deploy(3)
	if c := opOf(t, p, asset(1)); c.Op != providers.OpRetain || !strings.Contains(c.Detail, "2 of 2 deploys, 0s") {
		t.Errorf("deploy 3: asset 1 %s/%s %q; want retained by age", c.Op, c.Reason, c.Detail)
	}
	clock.Advance(25 * time.Hour)
	p = deploy(4)
	if c := opOf(t, p, asset(1)); c.Op != providers.OpDelete || c.Reason != providers.ReasonExpired {
		t.Errorf("deploy 4: asset 1 %s/%s %q; want deleted (3 deploys, 25h)", c.Op, c.Reason, c.Detail)
	}
	if c := opOf(t, p, asset(2)); c.Op != providers.OpDelete || c.Reason != providers.ReasonExpired {
		t.Errorf("deploy 4: asset 2 %s/%s %q; want deleted (2 deploys, 25h)", c.Op, c.Reason, c.Detail)
	}
	if c := opOf(t, p, asset(3)); c.Op != providers.OpRetain || c.Reason != providers.ReasonRetention {
		t.Errorf("deploy 4: asset 3 %s/%s %q; want retained (1 deploy)", c.Op, c.Reason, c.Detail)
	}
	if got, want := keys(), []string{"index.html", asset(3), asset(4)}; !sameSet(got, want) {
		t.Errorf("after deploy 4: %q; want %q", got, want)
	}
	h, err := providers.ReadHistory(context.Background(), tg.Open(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := h.Assets[asset(1)]; ok || len(h.Deploys) != 4 {
		t.Errorf("history: %d deploys, assets %v; want 4 deploys and asset 1 forgotten", len(h.Deploys), h.Assets)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	sort.Strings(a)
	sort.Strings(b)
	return slices.Equal(a, b)
}

func testMaxDeletes(t *testing.T, tg Target) {
	clock := newClock()
	for i := 0; i < 5; i++ {
		tg.PutForeign(t, fmt.Sprintf("old/page%d.html", i), []byte("old"), "text/html")
	}
	r := newRun(t, tg.Open(t), siteV1, clock)
	r.opts.MaxDeletes = 4
	plan, res := r.mustPush(t)
	if res.Deleted != 0 || res.Retained != 5 || len(plan.Warnings) != 1 {
		t.Errorf("max 4 with 5 orphans: %+v, warnings %q; want nothing deleted and a warning", res, plan.Warnings)
	}
	if c := opOf(t, plan, "old/page0.html"); c.Reason != providers.ReasonMaxDeletes {
		t.Errorf("orphan reason %s; want max-deletes", c.Reason)
	}
	if n := len(tg.Keys(t)); n != len(siteV1)+5 {
		t.Errorf("%d keys stored; want %d", n, len(siteV1)+5)
	}

	r.store = tg.Open(t)
	r.opts.MaxDeletes = 5
	_, res = r.mustPush(t)
	if res.Deleted != 5 {
		t.Errorf("max 5: deleted %d; want 5", res.Deleted)
	}
	verify(t, tg, r.files(t))
}

func testProtected(t *testing.T, tg Target) {
	clock := newClock()
	tg.PutForeign(t, "shared/other-team.txt", []byte("theirs"), "text/plain")
	tg.PutForeign(t, "shared/deep/x.css", []byte("theirs too"), "text/css")
	tg.PutForeign(t, "stale.txt", []byte("mine"), "text/plain")
	r := newRun(t, tg.Open(t), siteV1, clock)
	r.opts.Protected = []string{"shared/"}
	plan, res := r.mustPush(t)
	if c := opOf(t, plan, "shared/deep/x.css"); c.Op != providers.OpRetain || c.Reason != providers.ReasonProtected {
		t.Errorf("shared/deep/x.css: %s/%s; want retain/protected", c.Op, c.Reason)
	}
	if res.Deleted != 1 {
		t.Errorf("deleted %d; want 1 (stale.txt)", res.Deleted)
	}
	verify(t, tg, r.files(t), "shared/deep/x.css", "shared/other-team.txt")
	if body, _, ok := tg.Object(t, "shared/other-team.txt"); !ok || string(body) != "theirs" {
		t.Errorf("protected object = %q, %v; want untouched", body, ok)
	}
}

func testInterrupted(t *testing.T, tg Target) {
	clock := newClock()
	s := siteV1.With(nil)
	for i := 0; i < 24; i++ {
		s[fmt.Sprintf("img/photo%02d.%08x0a.jpg", i, i+1)] = strings.Repeat(fmt.Sprint(i), 100+i)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var puts atomic.Int32
	rec := &recorder{after: func(key string, err error) {
		if err == nil && puts.Add(1) == 6 {
			cancel() // the user presses ^C mid-deploy
		}
	}}
	r := newRun(t, wrap(tg.Open(t), rec), s, clock)
	r.ctx = ctx
	_, res, err := r.push(t)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted push error = %v; want context.Canceled", err)
	}
	if res.Complete || !res.Recorded || res.Seq != 1 || res.Uploaded >= len(s) {
		t.Errorf("interrupted result = %+v; want incomplete, recorded as deploy 1", res)
	}
	// The live site is never broken: no entry point was uploaded before
	// every asset was.
	for _, k := range tg.Keys(t) {
		if isEntryPoint(k) {
			t.Errorf("entry point %s stored by an interrupted first deploy", k)
		}
	}
	// The deploy was recorded before its first upload, with its assets,
	// and marked interrupted when it stopped.
	h, err := providers.ReadHistory(context.Background(), tg.Open(t))
	if err != nil || len(h.Deploys) != 1 || h.Deploys[0].Status != deploystate.StatusInterrupted || h.Live() != nil {
		t.Fatalf("history after interruption: %+v, %v; want deploy 1 interrupted, none live", h, err)
	}
	for k := range s {
		if _, ok := h.Assets[k]; ok != strings.Contains(k, "photo") && !strings.HasPrefix(k, "css/") && !strings.HasPrefix(k, "img/") {
			t.Errorf("history asset %s recorded: %v", k, ok)
		}
	}
	if _, ok := h.Assets["img/photo23.000000180a.jpg"]; !ok {
		t.Error("an asset of the interrupted deploy is not in the history: retention would not know it")
	}

	// Rerun: finishes the job without redoing what was done.
	r = newRun(t, tg.Open(t), s, clock)
	_, res2 := r.mustPush(t)
	if res2.Uploaded+res2.Updated > len(s)-res.Uploaded {
		t.Errorf("rerun did %d uploads and %d updates; want at most the %d not done before", res2.Uploaded, res2.Updated, len(s)-res.Uploaded)
	}
	if res2.Uploaded == 0 || !res2.Recorded || res2.Seq != 2 {
		t.Errorf("rerun result = %+v; want uploads and deploy 2 recorded", res2)
	}
	h, err = providers.ReadHistory(context.Background(), tg.Open(t))
	if err != nil || len(h.Deploys) != 2 || h.Live() == nil || h.Live().Seq != 2 {
		t.Errorf("history after the rerun: %+v, %v; want deploy 1 interrupted and deploy 2 live", h, err)
	}
	verify(t, tg, r.files(t))
}

func testForeign(t *testing.T, tg Target) {
	clock := newClock()
	// Another tool uploaded the same robots.txt with other headers, and an
	// older feed.json.
	tg.PutForeign(t, "robots.txt", []byte(siteV1["robots.txt"]), "application/octet-stream")
	tg.PutForeign(t, "data/feed.json", []byte(`{"items":[1]}`), "application/json")
	var before Requests
	if tg.Requests != nil {
		before = tg.Requests()
	}
	r := newRun(t, tg.Open(t), siteV1, clock)
	plan, _ := r.mustPush(t)
	if c := opOf(t, plan, "robots.txt"); c.Op != providers.OpUpdate {
		t.Errorf("robots.txt (same body, foreign): %s/%s; want a metadata update, not an upload", c.Op, c.Reason)
	}
	if c := opOf(t, plan, "data/feed.json"); c.Op != providers.OpUpload {
		t.Errorf("data/feed.json (other body, same size): %s/%s; want upload", c.Op, c.Reason)
	}
	if tg.Requests != nil {
		d := tg.Requests().Sub(before)
		// Bodies: every file but robots.txt, plus the index, the
		// snapshot and the history (running, then complete).
		if want := len(siteV1) - 1 + 4; d.Put != want || d.Copy != 1 {
			t.Errorf("requests = %+v; want %d PUTs and 1 copy", d, want)
		}
	}
	verify(t, tg, r.files(t))

	// Now cdnctl knows both: a rerun does nothing.
	r.store = tg.Open(t)
	plan, _ = r.mustPush(t)
	if plan.Pending() {
		t.Errorf("second push after adopting foreign objects: %+v", plan.Summary)
	}
}

func testChecksum(t *testing.T, tg Target) {
	st := tg.Open(t)
	body := "the real body"
	lf := &providers.LocalFile{Key: "bad.txt", SHA256: strings.Repeat("ab", 32), Size: int64(len(body)),
		Meta: providers.Metadata{ContentType: "text/plain", CacheControl: "no-cache"}}
	lf.Open = openString(body)
	err := st.Put(context.Background(), lf)
	if err == nil {
		t.Fatal("Put of a body that does not match its SHA-256 succeeded; want an error")
	}
	t.Logf("rejected as expected: %v", err)
	if _, _, ok := tg.Object(t, "bad.txt"); ok {
		t.Error("a body with the wrong hash was stored")
	}
	if err := st.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	objs, err := tg.Open(t).List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 0 {
		t.Errorf("listing after a failed put: %+v; want empty", objs)
	}
}
