package localedge

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

// preparedEntry is an entry as a Proxy stores it: its header parsed by
// prepare.
func preparedEntry(p *Proxy, h http.Header, body string, reqTime, respTime time.Time) *Entry {
	e := &Entry{
		Key: "http://h.test/a", URL: "http://h.test/a", Host: "h.test", Path: "/a",
		Status: 200, Header: h, mem: newMemBody([]byte(body)),
		RequestTime: reqTime, ResponseTime: respTime, StoredAt: respTime,
	}
	p.prepare(e)
	return e
}

// TestSetDerivedMatchesPrepare: an entry given its derived values by
// SetDerived (parsed once, body not kept) is decided on, expires and is
// weighed exactly like the entry the Proxy prepares from the same header.
func TestSetDerivedMatchesPrepare(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := &Proxy{Now: func() time.Time { return t0 }}
	p.init()
	for _, cc := range []string{
		"public, max-age=60",
		"s-maxage=30, stale-while-revalidate=30",
		"max-age=10, stale-if-error=60",
		"no-cache",
		"max-age=60, must-revalidate",
	} {
		h := http.Header{
			"Cache-Control": {cc}, "Date": {t0.Add(-3 * time.Second).Format(http.TimeFormat)},
			"Age": {"5"}, "Etag": {`"v1"`}, "Content-Type": {"text/plain"},
		}
		reqTime, respTime := t0.Add(-time.Second), t0
		want := preparedEntry(p, h, "0123456789", reqTime, respTime)

		d, _ := SelectDirectives(h, defaultTargetedFields)
		lifetime, heur := FreshnessLifetime(200, h, d, respTime, Heuristic{})
		age, _ := AgeValue(h)
		got := &Entry{
			Key: want.Key, URL: want.URL, Host: want.Host, Path: want.Path, Status: 200, Header: h,
			RequestTime: reqTime, ResponseTime: respTime, StoredAt: respTime,
		}
		got.SetDerived(Derived{
			Directives: d, Lifetime: lifetime, Heuristic: heur,
			InitialAge: InitialAge(DateValue(h, respTime), age, reqTime, respTime),
		}, 10)

		if got.BodyLen() != 10 || got.Size() != want.Size() {
			t.Errorf("%s: BodyLen, Size = %d, %d; want 10, %d", cc, got.BodyLen(), got.Size(), want.Size())
		}
		none := ParseRequestCacheControl(nil)
		for _, at := range []time.Duration{0, 10 * time.Second, 30 * time.Second, 50 * time.Second, 2 * time.Minute} {
			now := t0.Add(at)
			if g, w := got.TTL(now), want.TTL(now); g != w {
				t.Errorf("%s at +%v: TTL = %v; want %v", cc, at, g, w)
			}
			gu, gf, gd := Decide(got, none, now, DefaultSoftPurgeGrace)
			wu, wf, wd := p.decide(want, none, now)
			if gu != wu || gf != wf || gd != wd {
				t.Errorf("%s at +%v: Decide = %v %q %q; want %v %q %q", cc, at, gu, gf, gd, wu, wf, wd)
			}
			if g, w := StaleIfError(got, none, now, DefaultStaleIfError), StaleIfError(want, none, now, DefaultStaleIfError); g != w {
				t.Errorf("%s at +%v: StaleIfError = %v; want %v", cc, at, g, w)
			}
		}
	}
}

// TestSoftPurgedKeepsDerived: a soft-purged copy is stale from the purge,
// served during the grace while revalidated, and otherwise the same entry.
func TestSoftPurgedKeepsDerived(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := &Proxy{}
	p.init()
	e := preparedEntry(p, http.Header{"Cache-Control": {"max-age=600"}, "Date": {t0.Format(http.TimeFormat)}}, "body", t0, t0)
	purgedAt := t0.Add(time.Minute)
	c := e.SoftPurged(purgedAt)
	if !e.InvalidatedAt.IsZero() {
		t.Fatal("SoftPurged modified the original entry")
	}
	if c.Size() != e.Size() || c.FreshnessLifetime() != e.FreshnessLifetime() || c.variant != e.variant {
		t.Errorf("SoftPurged changed derived values: size %d/%d lifetime %v/%v", c.Size(), e.Size(), c.FreshnessLifetime(), e.FreshnessLifetime())
	}
	none := ParseRequestCacheControl(nil)
	if u, _, d := Decide(c, none, purgedAt.Add(time.Second), 10*time.Second); u != UseStaleRefresh || d != "soft-purge-grace" {
		t.Errorf("within the grace: Decide = %v %q; want stale-refresh, soft-purge-grace", u, d)
	}
	if u, fwd, _ := Decide(c, none, purgedAt.Add(11*time.Second), 10*time.Second); u != UseValidate || fwd != FwdStale {
		t.Errorf("after the grace: Decide = %v %q; want validate, stale", u, fwd)
	}
	if u, _, _ := Decide(e, none, purgedAt.Add(11*time.Second), 10*time.Second); u != UseFresh {
		t.Errorf("the original entry: Decide = %v; want fresh", u)
	}
}

// TestPurgeMatcherApply: the variants a purge keeps, and URLKeys for
// purges that name exact URLs only.
func TestPurgeMatcherApply(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := &Proxy{}
	p.init()
	tagged := preparedEntry(p, http.Header{"Cache-Control": {"max-age=600"}, "Surrogate-Key": {"banner"}}, "b", t0, t0)
	tagged.Tags = []string{"banner"}
	plain := preparedEntry(p, http.Header{"Cache-Control": {"max-age=600"}}, "p", t0, t0)
	plain.Vary = []VaryValue{{Name: "Accept-Encoding", Value: "gzip", Present: true}}

	m, err := KeyOptions{}.CompilePurge(PurgeRequest{Tags: []string{"banner"}})
	if err != nil {
		t.Fatal(err)
	}
	keep, n := m.Apply([]*Entry{tagged, plain}, false, t0)
	if n != 1 || len(keep) != 1 || keep[0] != plain {
		t.Errorf("hard purge by tag kept %d of 2, selected %d; want the untagged variant, 1", len(keep), n)
	}
	keep, n = m.Apply([]*Entry{tagged, plain}, true, t0)
	if n != 1 || len(keep) != 2 || keep[0].InvalidatedAt != t0 || keep[1] != plain {
		t.Errorf("soft purge by tag: kept %d, selected %d; want both kept, the tagged one invalidated", len(keep), n)
	}
	if _, ok := m.URLKeys(); ok {
		t.Error("URLKeys of a purge by tag: ok; want false")
	}
	m, err = KeyOptions{}.CompilePurge(PurgeRequest{URLs: []string{"HTTP://H.test:80/a"}})
	if err != nil {
		t.Fatal(err)
	}
	if keys, ok := m.URLKeys(); !ok || len(keys) != 1 || keys[0] != "http://h.test/a" {
		t.Errorf("URLKeys = %q, %v; want [http://h.test/a], true", keys, ok)
	}
	if keep, n := m.Apply([]*Entry{tagged, plain}, false, t0); n != 2 || len(keep) != 0 {
		t.Errorf("purge by URL kept %d, selected %d; want every variant purged", len(keep), n)
	}
}

// TestInlineMemoryStoreEvictsAtWrite: the inline store is within its
// capacity as soon as each write returns, with no goroutine to wait for.
func TestInlineMemoryStoreEvictsAtWrite(t *testing.T) {
	const capacity = 64 << 10
	s := NewInlineMemoryStore(capacity)
	defer s.Close()
	ctx := t.Context()
	for i := range 2000 {
		e := &Entry{Key: "k" + strconv.Itoa(i), URL: "k", Status: 200}
		e.SetDerived(Derived{Directives: noDirectives()}, 1000)
		if err := s.Set(ctx, e.Key, []*Entry{e}); err != nil {
			t.Fatal(err)
		}
		if st := s.Stats(); st.Bytes > capacity {
			t.Fatalf("after write %d: %d bytes stored; want at most %d", i, st.Bytes, capacity)
		}
	}
	if st := s.Stats(); st.Keys < 30 {
		t.Errorf("%d keys stored; want the store nearly full (about %d)", st.Keys, capacity/1600)
	}
}
