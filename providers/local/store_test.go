package local

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/localedge/origin"
	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/storetest"
)

// target describes a folder store to the suite, looking at the folder
// directly and reading headers with the static origin's own index reader
// (the consumer side of contracts.md §5).
func target(t *testing.T) storetest.Target {
	dir := filepath.Join(t.TempDir(), "origin")
	return storetest.Target{
		Open: func(t *testing.T) providers.Store {
			s, err := NewStore(dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		Object: func(t *testing.T, key string) ([]byte, providers.Metadata, bool) {
			body, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(key)))
			if err != nil {
				return nil, providers.Metadata{}, false
			}
			idx := readIndex(t, dir)
			m := idx.Objects[key] // no entry: foreign file, empty headers
			return body, providers.Metadata{
				ContentType: m.ContentType, CacheControl: m.CacheControl, ContentEncoding: m.ContentEncoding,
				Tags: m.Tags, Headers: m.Headers,
			}, true
		},
		Keys: func(t *testing.T) []string { return walkKeys(t, dir) },
		PutForeign: func(t *testing.T, key string, body []byte, _ string) {
			p := filepath.Join(dir, filepath.FromSlash(key))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, body, 0o644); err != nil {
				t.Fatal(err)
			}
		},
	}
}

func readIndex(t *testing.T, dir string) *origin.Index {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, ".cdnctl", "objects.json"))
	if err != nil {
		t.Fatalf("objects.json: %v", err)
	}
	defer f.Close()
	idx, err := origin.ReadIndex(f)
	if err != nil {
		t.Fatalf("the static origin cannot read objects.json: %v", err)
	}
	return idx
}

func walkKeys(t *testing.T, dir string) []string {
	t.Helper()
	var keys []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return filepath.SkipAll
			}
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == ".cdnctl" {
				return filepath.SkipDir
			}
			return nil
		}
		keys = append(keys, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(keys)
	return keys
}

func TestStoreSuite(t *testing.T) {
	storetest.Run(t, target)
}

var site = storetest.Site{
	"index.html":             "<h1>home</h1>",
	"css/app.3f9a1c0e2b.css": "body{}",
	"robots.txt":             "User-agent: *",
}

func push(t *testing.T, s providers.Store, dir string) (*providers.Plan, *providers.Result) {
	t.Helper()
	set, err := providers.ScanDir(context.Background(), dir, providers.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := &providers.Pusher{Store: s, Options: providers.DefaultPlanOptions()}
	plan, err := p.Plan(context.Background(), set.Files)
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Apply(context.Background(), plan)
	if err != nil {
		t.Fatal(err)
	}
	return plan, res
}

func mtimes(t *testing.T, dir string) map[string]time.Time {
	t.Helper()
	m := map[string]time.Time{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		m[p] = info.ModTime()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestNoOpPushTouchesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "origin")
	src := site.Write(t)
	s1, _ := NewStore(dir)
	push(t, s1, src)
	// Age every file and folder, so that a rewrite shows in its mtime
	// whatever the clock's resolution.
	past := time.Now().Add(-time.Hour)
	for p := range mtimes(t, dir) {
		if err := os.Chtimes(p, past, past); err != nil {
			t.Fatal(err)
		}
	}
	before := mtimes(t, dir)
	s2, _ := NewStore(dir)
	_, res := push(t, s2, src)
	if res.Uploaded+res.Updated+res.Deleted != 0 {
		t.Errorf("no-op result = %+v", res)
	}
	after := mtimes(t, dir)
	for p, m := range before {
		if !after[p].Equal(m) {
			t.Errorf("%s rewritten by a no-op push", p)
		}
	}
	if len(after) != len(before) {
		t.Errorf("no-op push changed the folder: %d entries → %d", len(before), len(after))
	}
}

func TestHandEditedFileIsDetected(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "origin")
	src := site.Write(t)
	s1, _ := NewStore(dir)
	push(t, s1, src)

	// Someone edits the served file in place (same size) after the push.
	later := time.Now().Add(time.Minute)
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("<h1>HACK</h1>"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(dir, "index.html"), later, later); err != nil {
		t.Fatal(err)
	}
	s2, _ := NewStore(dir)
	plan, _ := push(t, s2, src)
	for _, c := range plan.Changes {
		if c.Key == "index.html" && (c.Op != providers.OpUpload || c.Reason != providers.ReasonContentChanged) {
			t.Errorf("hand-edited index.html: %s/%s; want upload/content-changed", c.Op, c.Reason)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "index.html")); string(b) != site["index.html"] {
		t.Errorf("index.html = %q after push; want restored", b)
	}

	// Touched but identical: no upload, headers still trusted.
	later = later.Add(time.Minute)
	if err := os.Chtimes(filepath.Join(dir, "robots.txt"), later, later); err != nil {
		t.Fatal(err)
	}
	s3, _ := NewStore(dir)
	plan, _ = push(t, s3, src)
	if plan.Pending() {
		t.Errorf("touched file caused changes: %+v", plan.Changes)
	}
}

func TestPlanOnMissingFolderCreatesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "not", "yet")
	s, err := NewStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	set, err := providers.ScanDir(context.Background(), site.Write(t), providers.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := (&providers.Pusher{Store: s, Options: providers.DefaultPlanOptions()}).Plan(context.Background(), set.Files)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Summary.Upload != 3 {
		t.Errorf("plan = %+v; want 3 uploads", plan.Summary)
	}
	if _, err := os.Stat(filepath.Dir(dir)); !os.IsNotExist(err) {
		t.Errorf("planning created %s (err %v)", filepath.Dir(dir), err)
	}
}

func TestStoreErrors(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewStore(file); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("NewStore(file) error = %v; want not a directory", err)
	}

	dir := filepath.Join(base, "origin")
	s, _ := NewStore(dir)
	defer s.Close()
	ctx := context.Background()
	put := func(key, body string) error {
		f := &providers.LocalFile{Key: key, SHA256: sha(body), Size: int64(len(body)), Meta: providers.Metadata{ContentType: "text/plain"},
			Open: func() (ioReadSeekCloser, error) { return nopCloser{strings.NewReader(body)}, nil }}
		return s.Put(ctx, f)
	}
	if err := put("docs/a.txt", "a"); err != nil {
		t.Fatal(err)
	}
	// A file where a folder is, and a folder where a file is.
	if err := put("docs", "x"); err == nil || !strings.Contains(err.Error(), "folder exists") {
		t.Errorf("put over a folder: %v; want a clear error", err)
	}
	if err := put("docs/a.txt/b", "x"); err == nil || !strings.Contains(err.Error(), "docs/a.txt/b") {
		t.Errorf("put under a file: %v; want an error naming the key", err)
	}
	for _, key := range []string{"../escape.txt", ".cdnctl/objects.json", "/abs"} {
		if err := put(key, "x"); err == nil {
			t.Errorf("put %q succeeded; want refused", key)
		}
	}
	// A symlink inside the folder cannot take a write outside it.
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err == nil {
		if err := put("link/evil.txt", "x"); err == nil {
			t.Error("put through a symlink leaving the root succeeded")
		}
		if _, err := os.Stat(filepath.Join(outside, "evil.txt")); err == nil {
			t.Error("a file was written outside the root")
		}
	}
	// Nothing half-written is left behind in the temp folder.
	tmp, _ := os.ReadDir(filepath.Join(dir, ".cdnctl", "tmp"))
	if len(tmp) != 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
	if _, err := s.ReadState(ctx, "../../etc/passwd"); err == nil {
		t.Error("ReadState outside .cdnctl succeeded")
	}
	if _, err := s.ReadState(ctx, "nope.json"); !errorsIsNotFound(err) {
		t.Errorf("ReadState(missing) = %v; want ErrStateNotFound", err)
	}
	// A corrupt index is an error naming the file.
	if err := os.WriteFile(filepath.Join(dir, ".cdnctl", "objects.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	s2, _ := NewStore(dir)
	defer s2.Close()
	if _, err := s2.List(ctx); err == nil || !strings.Contains(err.Error(), "objects.json") {
		t.Errorf("List with a corrupt index: %v; want an error naming objects.json", err)
	}
}

// entryPointCheck fails the test if an entry point is written before the
// index on disk describes the assets uploaded before it.
type entryPointCheck struct {
	*Store
	t       *testing.T
	checked bool
}

func (c *entryPointCheck) Put(ctx context.Context, f *providers.LocalFile) error {
	if f.Key == "index.html" {
		c.checked = true
		idx := readIndex(c.t, c.Dir())
		if _, ok := idx.Objects["css/app.3f9a1c0e2b.css"]; !ok {
			c.t.Errorf("index.html uploaded while objects.json does not describe the asset yet: %v", idx.Objects)
		}
	}
	return c.Store.Put(ctx, f)
}

func TestIndexCommittedBeforeEntryPoints(t *testing.T) {
	s, _ := NewStore(filepath.Join(t.TempDir(), "origin"))
	defer s.Close()
	c := &entryPointCheck{Store: s, t: t}
	push(t, c, site.Write(t))
	if !c.checked {
		t.Fatal("index.html was never uploaded")
	}
}

// TestStateSuite runs the state suite on the state beside the site and on
// a state folder of its own, each opened again for every writer as
// another process would.
func TestStateSuite(t *testing.T) {
	t.Run("InSite", func(t *testing.T) {
		storetest.RunState(t, func(t *testing.T) func() providers.State {
			dir := t.TempDir()
			return func() providers.State { return openStore(t, dir, "") }
		})
	})
	t.Run("OwnFolder", func(t *testing.T) {
		storetest.RunState(t, func(t *testing.T) func() providers.State {
			dir, state := t.TempDir(), filepath.Join(t.TempDir(), "state")
			return func() providers.State { return openStore(t, dir, state) }
		})
	})
}

func openStore(t *testing.T, dir, state string) *Store {
	t.Helper()
	s, err := NewStoreWithState(dir, state)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStateFolderMustNotOverlapSite(t *testing.T) {
	dir := t.TempDir()
	for _, state := range []string{dir, filepath.Join(dir, "private"), filepath.Dir(dir)} {
		if _, err := NewStoreWithState(dir, state); err == nil || !strings.Contains(err.Error(), "overlap") {
			t.Errorf("NewStoreWithState(%s, %s) = %v; want an error saying they overlap", dir, state, err)
		}
	}
	s, err := NewStoreWithState(dir, filepath.Join(dir, ".cdnctl"))
	if err != nil || !s.StateLocation().InSite {
		t.Errorf("NewStoreWithState(dir, dir/.cdnctl) = %v; want the default state in the site", err)
	}
}
