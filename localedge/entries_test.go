package localedge

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// fillStore puts n synthetic entries into p's store: hosts a/b, every
// tenth a CSS file tagged "css", ages spread over an hour.
func fillStore(tb testing.TB, p *Proxy, n int, now time.Time) {
	tb.Helper()
	p.init()
	ctx := context.Background()
	for i := 0; i < n; i++ {
		host := "a.test"
		if i%2 == 1 {
			host = "b.test"
		}
		path := fmt.Sprintf("/p/%06d.html", i)
		h := http.Header{"Cache-Control": {fmt.Sprintf("max-age=%d", 60+i%3600)}, "Content-Type": {"text/html"}}
		var tags []string
		status := 200
		if i%10 == 0 {
			path = fmt.Sprintf("/assets/%06d.css", i)
			tags = []string{"css"}
		}
		if i%100 == 7 {
			status = 404
		}
		k, err := KeyOptions{}.Build("http", host, path, "", nil)
		if err != nil {
			tb.Fatal(err)
		}
		at := now.Add(-time.Duration(i%3600) * time.Second)
		e := &Entry{Key: k.Key, URL: k.URL, Host: k.Host, Path: k.Path, Status: status, Header: h,
			mem: newMemBody(make([]byte, 100+i%1000)), RequestTime: at, ResponseTime: at, StoredAt: at, Tags: tags}
		e.hits.Store(int64(i % 97))
		p.prepare(e)
		if !p.put(ctx, e, nil) {
			tb.Fatalf("put %s failed", e.Key)
		}
	}
}

func TestListEntries(t *testing.T) {
	clock := newClock()
	p := &Proxy{Name: "pop1", Upstream: mustURL("http://127.0.0.1:1"), Now: clock.Now, Store: NewMemoryStore(1 << 30)}
	defer p.Close()
	fillStore(t, p, 1000, clock.Now())
	ctx := t.Context()

	page, err := ListEntries(ctx, []*Proxy{p}, EntryQuery{})
	if err != nil || page.Total != 1000 || len(page.Entries) != 100 || page.Limit != 100 {
		t.Fatalf("default page = total %d, %d entries, limit %d, %v", page.Total, len(page.Entries), page.Limit, err)
	}
	if page.Entries[0].Key > page.Entries[1].Key {
		t.Errorf("default order is not by key: %q then %q", page.Entries[0].Key, page.Entries[1].Key)
	}
	// Paging covers every key exactly once, in order.
	seen := map[string]bool{}
	last := int64(-1 << 62)
	for off := 0; off < 1000; off += 300 {
		pg, err := ListEntries(ctx, []*Proxy{p}, EntryQuery{Sort: "ttl", Offset: off, Limit: 300})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range pg.Entries {
			if seen[e.Key] {
				t.Fatalf("key %s on two pages", e.Key)
			}
			seen[e.Key] = true
			if e.TTLS < last {
				t.Fatalf("ttl order broken: %d after %d", e.TTLS, last)
			}
			last = e.TTLS
		}
	}
	if len(seen) != 1000 {
		t.Errorf("paging saw %d keys; want 1000", len(seen))
	}
	for _, tt := range []struct {
		q     string
		total int
	}{
		{"tag:css", 100},
		{"status:404", 10},
		{"status:4xx", 10},
		{"host:b.test", 500},
		{"host:b.test tag:css", 0},
		{"assets", 100},
		{"ASSETS 000010", 1},
		{"stale:true", 0},
		{"http://a.test/assets/000020.css", 1},
	} {
		pg, err := ListEntries(ctx, []*Proxy{p}, EntryQuery{Filter: tt.q})
		if err != nil || pg.Total != tt.total {
			t.Errorf("filter %q: total %d, %v; want %d", tt.q, pg.Total, err, tt.total)
		}
	}
	clock.Advance(2 * time.Hour)
	if pg, _ := ListEntries(ctx, []*Proxy{p}, EntryQuery{Filter: "stale:true"}); pg.Total != 1000 {
		t.Errorf("after 2h stale:true total = %d; want 1000", pg.Total)
	}
	pg, _ := ListEntries(ctx, []*Proxy{p}, EntryQuery{Sort: "hits", Desc: true, Limit: 5})
	if pg.Entries[0].Hits != 96 {
		t.Errorf("most hits first = %d; want 96", pg.Entries[0].Hits)
	}
	for _, bad := range []EntryQuery{{Filter: "color:red"}, {Filter: "status:abc"}, {Filter: "stale:maybe"}, {Sort: "colour"}} {
		if _, err := ListEntries(ctx, []*Proxy{p}, bad); err == nil {
			t.Errorf("ListEntries(%+v) = nil error", bad)
		}
	}
	if pg, _ := ListEntries(ctx, []*Proxy{p}, EntryQuery{Offset: 5000}); pg.Total != 1000 || len(pg.Entries) != 0 {
		t.Errorf("offset past the end = %d entries", len(pg.Entries))
	}
	d, ok, err := p.Entry(ctx, "http://a.test/assets/000000.css")
	if !ok || err != nil || len(d.Variants) != 1 || d.Variants[0].Tags[0] != "css" || !strings.HasPrefix(d.Variants[0].Headers.Get("Cache-Control"), "max-age=") {
		t.Errorf("Entry = %+v, %v, %v", d, ok, err)
	}
	if _, ok, _ := p.Entry(ctx, "http://nope/"); ok {
		t.Errorf("Entry of a missing key found")
	}
}

// BenchmarkListEntries100k pages through a cache of 100k entries as the
// inspector does: target < 20 ms per page of 100.
func BenchmarkListEntries100k(b *testing.B) {
	now := time.Now()
	p := &Proxy{Name: "pop1", Upstream: mustURL("http://127.0.0.1:1"), Now: func() time.Time { return now }, Store: NewMemoryStore(1 << 30)}
	defer p.Close()
	fillStore(b, p, 100_000, now)
	for _, q := range []EntryQuery{
		{Sort: "key", Offset: 50_000},
		{Sort: "ttl", Desc: true, Offset: 500},
		{Sort: "size"},
		{Filter: "tag:css", Sort: "hits", Desc: true},
		{Filter: "assets"},
	} {
		b.Run(fmt.Sprintf("sort=%s,q=%s,offset=%d", q.Sort, q.Filter, q.Offset), func(b *testing.B) {
			for b.Loop() {
				pg, err := ListEntries(context.Background(), []*Proxy{p}, q)
				if err != nil || len(pg.Entries) == 0 {
					b.Fatalf("page: %v", err)
				}
			}
		})
	}
}
