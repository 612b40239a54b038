package providers_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/deploystate"
	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/storetest"
)

func scan(t *testing.T, s storetest.Site) []*providers.LocalFile {
	t.Helper()
	set, err := providers.ScanDir(context.Background(), s.Write(t), providers.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return set.Files
}

var site = storetest.Site{
	"index.html":             "<h1>home</h1>",
	"css/app.3f9a1c0e2b.css": "body{}",
	"js/app.0c1d2e3f4a.js":   "alert(1)",
	"robots.txt":             "User-agent: *",
}

func pushAll(t *testing.T, p *providers.Pusher, files []*providers.LocalFile) (*providers.Plan, *providers.Result, error) {
	t.Helper()
	plan, err := p.Plan(context.Background(), files)
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Apply(context.Background(), plan)
	return plan, res, err
}

func TestApplyStopsBeforeNextGroupOnFailure(t *testing.T) {
	m := &storetest.Memory{FailPut: func(key string) error {
		if key == "js/app.0c1d2e3f4a.js" {
			return errors.New("503 SlowDown, retries exhausted")
		}
		return nil
	}}
	p := &providers.Pusher{Store: m, Options: providers.DefaultPlanOptions()}
	_, res, err := pushAll(t, p, scan(t, site))
	if err == nil {
		t.Fatal("push with a failing upload returned no error")
	}
	for _, want := range []string{"1 of 4 changes failed", "js/app.0c1d2e3f4a.js", "SlowDown", "later groups not started"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if len(res.Failures) != 1 || res.Failures[0].Key != "js/app.0c1d2e3f4a.js" || res.Complete {
		t.Errorf("result = %+v; want one failure, incomplete", res)
	}
	// The other asset of the group went up; nothing after the group did.
	if got := strings.Join(m.Keys(), " "); got != "css/app.3f9a1c0e2b.css" {
		t.Errorf("stored %q; want only the asset that did not fail", got)
	}
	// The deploy is in the history as interrupted, with why; none is
	// live.
	h, err := providers.ReadHistory(context.Background(), m)
	if err != nil || len(h.Deploys) != 1 || h.Live() != nil || h.Deploys[0].Status != deploystate.StatusInterrupted ||
		!strings.Contains(h.Deploys[0].Error, "js/app.0c1d2e3f4a.js") {
		t.Errorf("history after a failed push: %+v, %v; want one interrupted deploy naming the failure", h, err)
	}

	// Fixed: the rerun does only what is left.
	m.FailPut = nil
	_, res, err = pushAll(t, p, scan(t, site))
	if err != nil || res.Uploaded != 3 || !res.Recorded {
		t.Errorf("rerun: %+v, %v; want 3 uploads and a recorded deploy", res, err)
	}
}

func TestPlanWritesNothing(t *testing.T) {
	m := &storetest.Memory{}
	p := &providers.Pusher{Store: m, Options: providers.DefaultPlanOptions()}
	plan, err := p.Plan(context.Background(), scan(t, site))
	if err != nil {
		t.Fatal(err)
	}
	if plan.Summary.Upload != 4 {
		t.Errorf("plan summary = %+v; want 4 uploads", plan.Summary)
	}
	c := m.Calls()
	if c.Put+c.UpdateMetadata+c.Delete+c.WriteState+c.Commit != 0 {
		t.Errorf("Plan wrote to the store: %+v", c)
	}
}

func TestHistoryLimitPrunesSnapshots(t *testing.T) {
	m := &storetest.Memory{}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &providers.Pusher{Store: m, Options: providers.DefaultPlanOptions(), HistoryLimit: 2,
		Now: func() time.Time { now = now.Add(time.Minute); return now }}
	var ids []string
	for i := 0; i < 3; i++ {
		s := site.With(storetest.Site{"index.html": fmt.Sprintf("<h1>v%d</h1>", i)})
		_, res, err := pushAll(t, p, scan(t, s))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.DeployID)
	}
	h, err := providers.ReadHistory(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Deploys) != 2 || h.Deploys[0].ID != ids[1] || h.Deploys[1].ID != ids[2] || h.Deploys[1].Seq != 3 {
		t.Errorf("history deploys = %+v; want the last 2 of %q", h.Deploys, ids)
	}
	if m.State(providers.SnapshotName(ids[0])) != nil {
		t.Errorf("snapshot of pruned deploy %s still stored", ids[0])
	}
	if m.State(providers.SnapshotName(ids[2])) == nil {
		t.Errorf("snapshot of deploy %s missing", ids[2])
	}
	if p.Now().Sub(h.Deploys[1].Time) > 2*time.Minute || h.Deploys[1].Source != "push" {
		t.Errorf("deploy record = %+v; want time from the injected clock and source push", h.Deploys[1])
	}
}

// statStore is a Memory that also answers Stat, counting calls: as S3 does
// for objects its index cannot vouch for.
type statStore struct {
	*storetest.Memory
	stats atomic.Int32
}

func (s *statStore) Stat(ctx context.Context, key string) (providers.RemoteObject, error) {
	s.stats.Add(1)
	objs, err := s.List(ctx)
	if err != nil {
		return providers.RemoteObject{}, err
	}
	for _, o := range objs {
		if o.Key == key {
			o.Meta = providers.Metadata{ContentType: "text/plain; charset=utf-8", CacheControl: providers.CacheControlDefault}
			o.MetaKnown = true
			return o, nil
		}
	}
	return providers.RemoteObject{}, fmt.Errorf("stat %s: not found", key)
}

func TestPlanStatsOnlyUndescribedSameSizeObjects(t *testing.T) {
	s := &statStore{Memory: &storetest.Memory{}}
	s.PutForeign("robots.txt", []byte(site["robots.txt"]))    // same size: stat
	s.PutForeign("index.html", []byte("<h1>other size</h1>")) // other size: upload, no stat
	s.PutForeign("stale.txt", []byte("orphan"))               // orphan: no stat
	p := &providers.Pusher{Store: s, Options: providers.DefaultPlanOptions()}
	plan, err := p.Plan(context.Background(), scan(t, site))
	if err != nil {
		t.Fatal(err)
	}
	if n := s.stats.Load(); n != 1 {
		t.Errorf("Stat called %d times; want 1", n)
	}
	for _, c := range plan.Changes {
		if c.Key == "robots.txt" && (c.Op != providers.OpUpdate || c.Reason != providers.ReasonMetadataUnknown) {
			t.Errorf("robots.txt: %s/%s; want update/metadata-unknown (recording the hash)", c.Op, c.Reason)
		}
	}
}

// putOnly hides Memory's UpdateMetadata.
type putOnly struct{ providers.Store }

func TestApplyWithoutMetadataUpdaterReuploads(t *testing.T) {
	m := &storetest.Memory{}
	p := &providers.Pusher{Store: putOnly{m}, Options: providers.DefaultPlanOptions()}
	if _, _, err := pushAll(t, p, scan(t, site)); err != nil {
		t.Fatal(err)
	}
	before := m.Calls().Put
	set, err := providers.ScanDir(context.Background(), site.Write(t), providers.ScanOptions{
		Rules: []providers.HeaderRule{{Match: hashing.MustCompileGlob("*.txt"), CacheControl: "no-store"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, res, err := pushAll(t, p, set.Files)
	if err != nil {
		t.Fatal(err)
	}
	if res.Updated != 1 || m.Calls().Put != before+1 || res.BytesUploaded != int64(len(site["robots.txt"])) {
		t.Errorf("result %+v, puts %d → %d; want the update sent as one Put", res, before, m.Calls().Put)
	}
	if _, meta, _ := m.Object("robots.txt"); meta.CacheControl != "no-store" {
		t.Errorf("cache-control = %q; want no-store", meta.CacheControl)
	}
}

func TestProgressCounts(t *testing.T) {
	m := &storetest.Memory{}
	prog := &providers.Progress{}
	p := &providers.Pusher{Store: m, Options: providers.DefaultPlanOptions(), Progress: prog}
	files := scan(t, site)
	if _, _, err := pushAll(t, p, files); err != nil {
		t.Fatal(err)
	}
	var bytes int64
	for _, f := range files {
		bytes += f.Size
	}
	if prog.FilesDone.Load() != 4 || prog.FilesTotal.Load() != 4 || prog.BytesDone.Load() != bytes || prog.BytesTotal.Load() != bytes {
		t.Errorf("progress files %d/%d bytes %d/%d; want 4/4 %d/%d", prog.FilesDone.Load(), prog.FilesTotal.Load(),
			prog.BytesDone.Load(), prog.BytesTotal.Load(), bytes, bytes)
	}
}

// secondStore is a store that times objects to the second (like S3) and
// notes when the first Put came.
type secondStore struct {
	*storetest.Memory
	firstPut atomic.Pointer[time.Time]
}

func (s *secondStore) TimeGranularity() time.Duration { return time.Second }

func (s *secondStore) Put(ctx context.Context, f *providers.LocalFile) error {
	now := time.Now()
	s.firstPut.CompareAndSwap(nil, &now)
	return s.Memory.Put(ctx, f)
}

// TestApplyWaitsPastFreshModTimes: files modified in the current second
// (a build that just finished) are uploaded only once the clock is past
// that second, so that no object of a store timed to the second looks
// older than its file (`aws s3 sync` would upload it again); files built
// earlier, or stores with fine times, do not wait.
func TestApplyWaitsPastFreshModTimes(t *testing.T) {
	files := scan(t, site)
	fresh := time.Now()
	files[0].ModTime = fresh
	s := &secondStore{Memory: &storetest.Memory{}}
	p := &providers.Pusher{Store: s, Options: providers.DefaultPlanOptions()}
	if _, _, err := pushAll(t, p, files); err != nil {
		t.Fatal(err)
	}
	if first, next := *s.firstPut.Load(), fresh.Truncate(time.Second).Add(time.Second); first.Before(next) {
		t.Errorf("first upload at %s; want it after %s, the second after the newest file's modification", first.Format(time.StampMicro), next.Format(time.StampMicro))
	}

	// Interrupted while waiting: nothing uploaded, the error says so.
	files = scan(t, site.With(storetest.Site{"robots.txt": "User-agent: bot"}))
	for _, f := range files {
		f.ModTime = time.Now().Add(time.Hour) // never passed within the (at most one second) wait
	}
	s2 := &secondStore{Memory: &storetest.Memory{}}
	p = &providers.Pusher{Store: s2, Options: providers.DefaultPlanOptions()}
	plan, err := p.Plan(context.Background(), files)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Apply(ctx, plan); !errors.Is(err, context.Canceled) || s2.firstPut.Load() != nil {
		t.Errorf("cancelled during the wait: err %v, uploaded %v; want context.Canceled and no upload", err, s2.firstPut.Load() != nil)
	}
}

// TestApplyRefusesAHistoryChangedSincePlanning: two pushes planned against
// the same history (no lock: the history's version check alone) cannot
// both record; the second fails before changing anything, and the first's
// record stays.
func TestApplyRefusesAHistoryChangedSincePlanning(t *testing.T) {
	ctx := context.Background()
	m := &storetest.Memory{}
	a := &providers.Pusher{Store: m, Options: providers.DefaultPlanOptions(), DeployID: "a"}
	b := &providers.Pusher{Store: m, Options: providers.DefaultPlanOptions(), DeployID: "b"}
	planA, err := a.Plan(ctx, scan(t, site))
	if err != nil {
		t.Fatal(err)
	}
	planB, err := b.Plan(ctx, scan(t, site.With(storetest.Site{"index.html": "<h1>b</h1>"})))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Apply(ctx, planA); err != nil {
		t.Fatal(err)
	}
	puts := m.Calls().Put
	res, err := b.Apply(ctx, planB)
	if err == nil || !strings.Contains(err.Error(), "another deploy or push ran meanwhile") || !errors.Is(err, providers.ErrStateConflict) {
		t.Fatalf("second Apply = %v; want a conflict saying another deploy ran", err)
	}
	if m.Calls().Put != puts || res.Recorded || m.State(providers.SnapshotName("b")) != nil {
		t.Errorf("the refused push uploaded %d files, recorded %v, left its snapshot %v; want nothing changed", m.Calls().Put-puts, res.Recorded, m.State(providers.SnapshotName("b")) != nil)
	}
	h, err := providers.ReadHistory(ctx, m)
	if err != nil || len(h.Deploys) != 1 || h.Deploys[0].ID != "a" || !h.Deploys[0].Complete() {
		t.Errorf("history = %+v, %v; want deploy a, complete", h, err)
	}
}
