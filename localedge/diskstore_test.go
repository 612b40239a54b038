package localedge

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDiskStoreSurvivesRestart fills a disk-backed proxy, closes it as a
// graceful shutdown does, and checks that a new proxy on the same folder
// serves hits without asking the origin.
func TestDiskStoreSurvivesRestart(t *testing.T) {
	clock := newClock()
	o := newOrigin(t, clock)
	o.static("/a.css", 200, "body{color:red}", "Cache-Control", "max-age=600", "Content-Type", "text/css", "Cache-Tag", "css")
	o.handle("/v", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Vary", "Accept-Encoding")
		io.WriteString(w, "enc="+r.Header.Get("Accept-Encoding"))
	})
	o.static("/soft", 200, "soft", "Cache-Control", "max-age=600", "ETag", `"s1"`)
	dir := t.TempDir()

	run := func(fn func(p *Proxy, base string)) {
		store, err := OpenDiskStore(dir, DiskStoreOptions{Capacity: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		p, srv := newProxy(t, o.URL, clock, func(p *Proxy) { p.Store = store })
		fn(p, srv.URL)
		srv.Close()
		p.Close()
		if err := store.Close(); err != nil {
			t.Fatal(err)
		}
	}
	const host = "www.example.test"
	get := func(t *testing.T, u string, kv ...string) (*http.Response, string) {
		return do(t, http.MethodGet, u, append([]string{"Host", host}, kv...)...)
	}
	run(func(p *Proxy, base string) {
		get(t, base+"/a.css")
		get(t, base+"/v", "Accept-Encoding", "gzip")
		get(t, base+"/v", "Accept-Encoding", "br")
		get(t, base+"/soft")
		if _, err := p.Purge(t.Context(), PurgeRequest{URLs: []string{"/soft"}, Soft: true}); err != nil {
			t.Fatal(err)
		}
	})
	before := o.count("/a.css") + o.count("/v")
	clock.Advance(10 * time.Second)
	run(func(p *Proxy, base string) {
		r, body := get(t, base+"/a.css")
		if xcache(r) != "HIT" || body != "body{color:red}" || r.Header.Get("Content-Type") != "text/css" || r.Header.Get("Age") != "10" {
			t.Errorf("after restart /a.css = %q %q CT %q Age %q; want a hit", xcache(r), body, r.Header.Get("Content-Type"), r.Header.Get("Age"))
		}
		for _, enc := range []string{"gzip", "br"} {
			if r, body := get(t, base+"/v", "Accept-Encoding", enc); xcache(r) != "HIT" || body != "enc="+enc {
				t.Errorf("after restart variant %s = %q %q", enc, xcache(r), body)
			}
		}
		if r, _ := get(t, base+"/a.css", "Range", "bytes=0-3"); r.StatusCode != 206 {
			t.Errorf("range from disk = %d", r.StatusCode)
		}
		if o.count("/a.css")+o.count("/v") != before {
			t.Errorf("origin asked again after restart")
		}
		if pg, _ := ListEntries(t.Context(), []*Proxy{p}, EntryQuery{Filter: "tag:css"}); pg.Total != 1 || pg.Entries[0].Size != 15 {
			t.Errorf("listing after restart = %+v", pg)
		}
		// The soft purge was persisted: the entry is stale.
		if d, ok, _ := p.Entry(t.Context(), "http://"+host+"/soft"); !ok || !d.Variants[0].Stale {
			t.Errorf("soft-purged entry after restart: %+v, %v; want stale", d, ok)
		}
		if n, err := p.Purge(t.Context(), PurgeRequest{URLs: []string{"/a.css"}}); err != nil || n != 1 {
			t.Errorf("purge after restart = %d, %v", n, err)
		}
	})
	run(func(p *Proxy, base string) {
		if r, _ := get(t, base+"/a.css"); xcache(r) == "HIT" {
			t.Errorf("hard purge did not persist")
		}
	})
}

func TestDiskStoreEvictsAndCleansUp(t *testing.T) {
	clock := newClock()
	o := newOrigin(t, clock)
	for i := 0; i < 20; i++ {
		o.handle("/f"+string(rune('a'+i)), func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=600")
			io.WriteString(w, strings.Repeat("x", 10_000))
		})
	}
	dir := t.TempDir()
	store, err := OpenDiskStore(dir, DiskStoreOptions{Capacity: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	p, srv := newProxy(t, o.URL, clock, func(p *Proxy) { p.Store = store })
	for i := 0; i < 20; i++ {
		get(t, srv.URL+"/f"+string(rune('a'+i)))
	}
	st := p.Stats()
	if st.BytesStored > 64<<10 || st.Entries >= 20 || st.Entries == 0 {
		t.Errorf("after 200 KB into a 64 KiB disk cache: %d entries, %d bytes", st.Entries, st.BytesStored)
	}
	waitFor(t, "the index to follow the evictions", func() bool { return int64(p.idx.len()) == p.Stats().Entries })
	var files int
	filepath.WalkDir(filepath.Join(dir, "bodies"), func(_ string, d os.DirEntry, _ error) error {
		if !d.IsDir() {
			files++
		}
		return nil
	})
	if int64(files) != st.Entries {
		t.Errorf("%d body files for %d entries", files, st.Entries)
	}
	// A body file lost behind the store's back: a miss, not an error.
	var victim string
	for k := range store.keys {
		victim = k
	}
	os.Remove(store.bodyPath(store.keys[victim].files[0]))
	store.hot.InvalidateAll()
	path := victim[strings.Index(victim, "/f"):]
	if r, body := get(t, srv.URL+path); r.StatusCode != 200 || len(body) != 10_000 || xcache(r) != "MISS" {
		t.Errorf("lost body file: %d, %d bytes, %q", r.StatusCode, len(body), xcache(r))
	}
	srv.Close()
	p.Close()
	store.Close()

	// An orphan body file and a corrupt index are dealt with on open.
	os.WriteFile(filepath.Join(dir, "bodies", "ab", "abandoned"), []byte("x"), 0o644)
	os.MkdirAll(filepath.Join(dir, "bodies", "ab"), 0o755)
	os.WriteFile(filepath.Join(dir, "bodies", "ab", "abandoned"), []byte("x"), 0o644)
	store, err = OpenDiskStore(dir, DiskStoreOptions{Capacity: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "bodies", "ab", "abandoned")); err == nil {
		t.Errorf("orphan body file kept")
	}
	store.Close()
	os.WriteFile(filepath.Join(dir, "index.db"), []byte("not a bolt database"), 0o644)
	store, err = OpenDiskStore(dir, DiskStoreOptions{})
	if err != nil {
		t.Fatalf("open with a corrupt index = %v; want a fresh start", err)
	}
	if st := store.Stats(); st.Keys != 0 {
		t.Errorf("corrupt index: %d keys", st.Keys)
	}
	store.Close()
}
