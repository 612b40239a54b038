package simulate

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/simulate/workload"
)

var t0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC).UnixNano()

// onePoP is one edge fetching from the origin 100 ms away.
func onePoP() Scenario {
	return Scenario{
		Name: "one PoP",
		Topology: Topology{
			PoPs:      []PoP{{Name: "pop1", UpstreamRTT: 100 * time.Millisecond}},
			ClientRTT: RTTRange{15 * time.Millisecond, 15 * time.Millisecond},
		},
	}
}

func get(at time.Duration, path, cc string) workload.Event {
	return workload.Event{
		Kind: workload.Request, Time: t0 + int64(at), Method: "GET", Host: "www.example.test", Path: path,
		Region: -1, Type: -1, ChangedType: -1, Status: 200, Size: 1000, CacheControl: cc,
	}
}

func run(t *testing.T, sc Scenario, evs []workload.Event) *Result {
	t.Helper()
	r, err := Run(context.Background(), sc, &workload.Events{List: evs}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestEverySecondMaxAge60: a URL requested every second with max-age=60
// through one PoP gets 59 hits per 60 requests: the first request of
// each minute finds the copy exactly 60 s old, stale (RFC 9111 §4.2: fresh
// while age < lifetime), and refetches it.
func TestEverySecondMaxAge60(t *testing.T) {
	for _, minutes := range []int{1, 2, 10} {
		var evs []workload.Event
		for s := 0; s < 60*minutes; s++ {
			evs = append(evs, get(time.Duration(s)*time.Second, "/a.css", "max-age=60"))
		}
		r := run(t, onePoP(), evs)
		if want := int64(59 * minutes); r.Edge.Hits != want || r.Requests != int64(60*minutes) {
			t.Errorf("%d minutes: %d hits of %d requests; want %d of %d", minutes, r.Edge.Hits, r.Requests, want, 60*minutes)
		}
		if r.Origin.Requests != int64(minutes) {
			t.Errorf("%d minutes: %d origin requests; want %d", minutes, r.Origin.Requests, minutes)
		}
		// A hit takes the client's round trip; a miss adds the origin's.
		if r.Latency.P50 != 15 || r.Latency.Max != 115 {
			t.Errorf("%d minutes: latency p50 %v max %v ms; want 15 and 115", minutes, r.Latency.P50, r.Latency.Max)
		}
	}
}

// threePoPs is three edges 20 ms from a shield 80 ms from the origin (or,
// without the shield, 100 ms from the origin).
func threePoPs(shield bool) Scenario {
	sc := Scenario{Name: "three PoPs", Topology: Topology{ClientRTT: RTTRange{15 * time.Millisecond, 15 * time.Millisecond}}}
	for _, name := range []string{"pop1", "pop2", "pop3"} {
		p := PoP{Name: name, UpstreamRTT: 100 * time.Millisecond}
		if shield {
			p.UpstreamRTT = 20 * time.Millisecond
		}
		sc.Topology.PoPs = append(sc.Topology.PoPs, p)
	}
	if shield {
		sc.Topology.Shield = &Shield{OriginRTT: 80 * time.Millisecond}
	}
	return sc
}

// flashCrowd: from cold caches, each second for 150 s, each of 100 objects
// (max-age=60) is requested once from each of three regions (300
// requests/s).
func flashCrowd() *workload.Events {
	src := &workload.Events{Meta: workload.Info{Regions: []workload.Region{{Name: "a"}, {Name: "b"}, {Name: "c"}}}}
	for sec := 0; sec < 150; sec++ {
		for o := 0; o < 100; o++ {
			for region := 0; region < 3; region++ {
				ev := get(time.Duration(sec)*time.Second, "/o/"+strconv.Itoa(o), "max-age=60")
				ev.Region = region
				src.List = append(src.List, ev)
			}
		}
	}
	return src
}

// TestShieldFlashCrowd checks the shield's effect against a hand
// computation. An object fetched at second k is dated k by the origin, so
// it expires at k+60 in every cache that holds it, the PoPs' copies too
// (they carry the shield's Date and Age): in 150 s each cache fetches each
// object 3 times, at 0, 60 and 120 s. Without the shield every PoP fetches
// every object from the origin: 3 PoPs × 100 objects × 3 = 900 origin
// requests, 300 of them in the first second. With it, the three PoPs'
// fills of an object reach the shield together and collapse onto one
// origin fill: 100 × 3 = 300 origin requests, 100 in the first second,
// while the shield gets the PoPs' 900 fills (600 of them collapsed).
func TestShieldFlashCrowd(t *testing.T) {
	ctx := context.Background()
	without, err := Run(ctx, threePoPs(false), flashCrowd(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	with, err := Run(ctx, threePoPs(true), flashCrowd(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if without.Origin.Requests != 900 || without.Origin.PerSecond.Max != 300 {
		t.Errorf("without shield: %d origin requests, at most %v/s; want 900 and 300", without.Origin.Requests, without.Origin.PerSecond.Max)
	}
	if with.Origin.Requests != 300 || with.Origin.PerSecond.Max != 100 {
		t.Errorf("with shield: %d origin requests, at most %v/s; want 300 and 100", with.Origin.Requests, with.Origin.PerSecond.Max)
	}
	if with.Shield == nil || with.Shield.Requests != 900 || with.Shield.Fills != 300 || with.Shield.Collapsed != 600 {
		t.Errorf("shield: %+v; want 900 requests, 300 fills, 600 collapsed", with.Shield)
	}
	// The clients see the same edge hits either way: every PoP refetches
	// each object at the same moments.
	for _, r := range []*Result{without, with} {
		if r.Requests != 45000 || r.Edge.Hits != 45000-900 {
			t.Errorf("%s: %d hits of %d requests; want %d of 45000", r.Scenario, r.Edge.Hits, r.Requests, 45000-900)
		}
	}
}

// TestCollapsing: requests arriving while a fill is under way wait for it
// (one origin request), each for the rest of its round trip.
func TestCollapsing(t *testing.T) {
	var evs []workload.Event
	for i := 0; i < 10; i++ {
		evs = append(evs, get(time.Duration(i)*10*time.Millisecond, "/a.css", "max-age=60"))
	}
	r := run(t, onePoP(), evs)
	if r.Origin.Requests != 1 || r.Collapsed != 9 || r.Edge.Hits != 0 {
		t.Errorf("%d origin requests, %d collapsed, %d hits; want 1, 9 and 0", r.Origin.Requests, r.Collapsed, r.Edge.Hits)
	}
	// The fill ends at 100 ms: the request at 90 ms waits 10 ms, the first
	// one 100 ms, each plus the client's 15 ms: 25, 35, … 115 ms, whose
	// median (the 5th of 10) is 65 ms.
	if r.Latency.Max != 115 || r.Latency.P50 != 65 {
		t.Errorf("latency max %v p50 %v ms; want 115 and 65", r.Latency.Max, r.Latency.P50)
	}
}

// TestHitForMiss: a response that cannot be stored (no-store) makes the
// next requests for its URL fetch without waiting for each other, for 30
// s (Proxy's hit-for-miss).
func TestHitForMiss(t *testing.T) {
	var evs []workload.Event
	evs = append(evs, get(0, "/api", "no-store"))
	for i := 0; i < 5; i++ {
		evs = append(evs, get(time.Second+time.Duration(i)*10*time.Millisecond, "/api", "no-store"))
	}
	r := run(t, onePoP(), evs)
	if r.Origin.Requests != 6 || r.Collapsed != 0 {
		t.Errorf("%d origin requests, %d collapsed; want 6 and 0", r.Origin.Requests, r.Collapsed)
	}
}

// TestStaleWhileRevalidate: a stale response within its
// stale-while-revalidate window is served at once and refreshed in the
// background, once.
func TestStaleWhileRevalidate(t *testing.T) {
	evs := []workload.Event{
		get(0, "/a", "max-age=10, stale-while-revalidate=30"),
		get(20*time.Second, "/a", "max-age=10, stale-while-revalidate=30"),
		get(20*time.Second+10*time.Millisecond, "/a", "max-age=10, stale-while-revalidate=30"),
		get(21*time.Second, "/a", "max-age=10, stale-while-revalidate=30"),
		get(61*time.Second, "/a", "max-age=10, stale-while-revalidate=30"),
	}
	r := run(t, onePoP(), evs)
	// 0: miss. 20 s and 20.01 s: stale, served, one refresh (done at
	// 20.1 s, stale from 30.1 s). 21 s: fresh. 61 s: 30.9 s stale, past
	// the window: a miss.
	if r.Edge.Hits != 3 || r.Stale != 2 || r.Origin.Requests != 3 {
		t.Errorf("%d hits, %d stale, %d origin requests; want 3, 2 and 3", r.Edge.Hits, r.Stale, r.Origin.Requests)
	}
	if r.Latency.P50 != 15 {
		t.Errorf("latency p50 %v ms; want 15 (stale responses are served at once)", r.Latency.P50)
	}
}

// TestStaleIfErrorDuringOutage: while the origin answers 503, a stale
// response within stale-if-error is served; past it, the 503 is.
func TestStaleIfErrorDuringOutage(t *testing.T) {
	sc := onePoP()
	sc.Topology.Origin.Outages = []Outage{{At: 30 * time.Second, For: time.Hour, Status: 503}}
	evs := []workload.Event{
		get(0, "/a", "max-age=10, stale-if-error=60"),
		get(40*time.Second, "/a", "max-age=10, stale-if-error=60"),
		get(100*time.Second, "/a", "max-age=10, stale-if-error=60"),
	}
	r := run(t, sc, evs)
	if r.Stale != 1 || r.Errors != 1 || r.PoPs[0].StaleIfError != 1 {
		t.Errorf("%d stale, %d errors, %d stale-if-error; want 1, 1, 1", r.Stale, r.Errors, r.PoPs[0].StaleIfError)
	}
	if r.Origin.Errors != 2 {
		t.Errorf("%d origin errors; want 2", r.Origin.Errors)
	}
}

// TestPurgeOnChange: content that changes is outdated in the caches until
// its max-age runs out, unless purged (at once or after a delay) or
// versioned.
func TestPurgeOnChange(t *testing.T) {
	src := func() *workload.Events {
		s := &workload.Events{Meta: workload.Info{Types: []string{"banner"}}}
		for sec := 0; sec < 600; sec++ {
			ev := get(time.Duration(sec)*time.Second, "/banner.jpg", "max-age=300")
			ev.Type = 0
			s.List = append(s.List, ev)
			if sec == 100 {
				s.List = append(s.List, workload.Event{Kind: workload.Change, Time: ev.Time, Host: ev.Host, Region: -1, Type: 0, ChangedType: 0})
			}
		}
		return s
	}
	cases := []struct {
		name           string
		change         func(*Scenario)
		outdated       int64
		longest        float64
		originRequests int64
	}{
		// The change comes just after the request of second 100. Fetched
		// at 0 (dated 0), the copy is fresh until 300 s: requests 101 to
		// 299 s are outdated; refetched at 300 s.
		{"none", func(*Scenario) {}, 199, 199, 2},
		{"purge", func(s *Scenario) { s.Purge = PurgeHard }, 0, 0, 3},
		// Purged at 105 s: requests 101 to 104 s are outdated.
		{"purge after 5 s", func(s *Scenario) { s.Purge, s.PurgeDelay = PurgeHard, 5*time.Second }, 4, 4, 3},
		{"versioned", func(s *Scenario) { s.Versioned = []string{"/banner.*"} }, 0, 0, 3},
	}
	for _, tc := range cases {
		sc := onePoP()
		tc.change(&sc)
		r, err := Run(context.Background(), sc, src(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Outdated.Responses != tc.outdated || r.Outdated.Longest != tc.longest || r.Origin.Requests != tc.originRequests {
			t.Errorf("%s: %d outdated, longest %v s, %d origin requests; want %d, %v s, %d",
				tc.name, r.Outdated.Responses, r.Outdated.Longest, r.Origin.Requests, tc.outdated, tc.longest, tc.originRequests)
		}
	}
}

// TestVary: a response that varies on Accept-Encoding is stored once per
// normalised value; a request collapsed onto a fill for another value is
// released and fetches its own.
func TestVary(t *testing.T) {
	src := &workload.Events{Meta: workload.Info{Encodings: []string{"gzip", "br, gzip", "gzip, deflate"}}}
	add := func(at time.Duration, enc int) {
		ev := get(at, "/app.js", "max-age=600")
		ev.Vary, ev.Encoding = "Accept-Encoding", enc
		src.List = append(src.List, ev)
	}
	add(0, 0)                   // gzip: fill 1
	add(10*time.Millisecond, 1) // br: collapsed, then released: fill 2
	add(20*time.Millisecond, 2) // "gzip, deflate" normalises to gzip: collapsed onto fill 1
	add(time.Second, 0)         // hit
	add(time.Second, 1)         // hit (the br variant)
	add(time.Second, 2)         // hit (the gzip variant)
	r, err := Run(context.Background(), onePoP(), src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Origin.Requests != 2 || r.Edge.Hits != 3 || r.Collapsed != 1 {
		t.Errorf("%d origin requests, %d hits, %d collapsed; want 2, 3 and 1", r.Origin.Requests, r.Edge.Hits, r.Collapsed)
	}
}

// TestTooLargeAndPost: a response larger than the largest object stored
// passes through uncached; a POST passes through every tier and
// invalidates the URL it changed (RFC 9111 §4.4).
func TestTooLargeAndPost(t *testing.T) {
	sc := onePoP()
	sc.Topology.Cache.MaxObjectSize = 1 << 20
	big := get(0, "/video.mp4", "max-age=600")
	big.Size = 2 << 20
	big2 := big
	big2.Time += int64(time.Second)
	post := get(3*time.Second, "/cart", "")
	post.Method = "POST"
	evs := []workload.Event{big, big2,
		get(time.Second, "/cart", "max-age=600"), get(2*time.Second, "/cart", "max-age=600"),
		post,
		get(4*time.Second, "/cart", "max-age=600")}
	r := run(t, sc, evs)
	// video: 2 misses. cart: miss, hit, POST (origin), then a miss after
	// the invalidation.
	if r.Origin.Requests != 5 || r.Edge.Hits != 1 {
		t.Errorf("%d origin requests, %d hits; want 5 and 1", r.Origin.Requests, r.Edge.Hits)
	}
}

// TestSoftPurge: a soft-purged response is served stale while it is
// revalidated during the grace, and the revalidation is a 304.
func TestSoftPurge(t *testing.T) {
	src := &workload.Events{Meta: workload.Info{Types: []string{"css"}}}
	for _, at := range []time.Duration{0, 10 * time.Second, 10*time.Second + 500*time.Millisecond} {
		ev := get(at, "/a.css", "max-age=600")
		ev.Type = 0
		src.List = append(src.List, ev)
	}
	// A change that the origin does not make visible in the version: a
	// purge of the type's tag only.
	src.List = append(src.List[:1], append([]workload.Event{{Kind: workload.Change, Time: t0 + int64(5*time.Second), Host: "www.example.test", Region: -1, ChangedType: 0, Type: 0}}, src.List[1:]...)...)
	sc := onePoP()
	sc.Purge = PurgeSoft
	r, err := Run(context.Background(), sc, src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// 10 s: soft-purged 5 s ago, within the 10 s grace: served stale,
	// refreshed (a 200: the content changed). 10.5 s: fresh hit.
	if r.Edge.Hits != 2 || r.Stale != 1 || r.Origin.Requests != 2 || r.Outdated.Responses != 1 {
		t.Errorf("%d hits, %d stale, %d origin requests, %d outdated; want 2, 1, 2, 1", r.Edge.Hits, r.Stale, r.Origin.Requests, r.Outdated.Responses)
	}
}

// TestRevalidation304: a stale response with a validator is revalidated
// with a conditional request, answered 304 when the content did not
// change: no body crosses, and the copy is fresh again.
func TestRevalidation304(t *testing.T) {
	evs := []workload.Event{get(0, "/a", "max-age=10"), get(20*time.Second, "/a", "max-age=10"), get(25*time.Second, "/a", "max-age=10")}
	r := run(t, threePoPs(true), evs)
	if r.Origin.Requests != 2 || r.Origin.NotModified != 1 || r.Origin.Bytes != 1000 {
		t.Errorf("origin: %d requests, %d not modified, %d bytes; want 2, 1 and 1000", r.Origin.Requests, r.Origin.NotModified, r.Origin.Bytes)
	}
}

// TestFewerPoPs: the clients of a PoP that does not run go to the
// nearest one that does, with the round trip between the two added.
func TestFewerPoPs(t *testing.T) {
	sc := Scenario{Name: "two of three", Topology: Topology{
		Active: 2, ClientRTT: RTTRange{15 * time.Millisecond, 15 * time.Millisecond},
		PoPs: []PoP{
			{Name: "sin", Location: &localedge.Location{Lat: 1.35, Lon: 103.8}},
			{Name: "iad", Location: &localedge.Location{Lat: 38.9, Lon: -77.4}},
			{Name: "fra", Location: &localedge.Location{Lat: 50.1, Lon: 8.7}},
		},
	}}
	src := &workload.Events{Meta: workload.Info{Regions: []workload.Region{{Name: "asia", PoP: "sin"}, {Name: "europe", PoP: "fra"}}}}
	for i := 0; i < 10; i++ {
		ev := get(time.Duration(i)*time.Second, "/a", "max-age=600")
		ev.Region = 1
		src.List = append(src.List, ev)
	}
	r, err := Run(context.Background(), sc, src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Frankfurt's clients go to Virginia, 6,600 km away: 66 ms more.
	extra := rtt(sc.Topology.PoPs[2].Location, sc.Topology.PoPs[1].Location)
	if extra != 66*time.Millisecond {
		t.Errorf("Frankfurt–Virginia round trip %v; want 66ms (6,600 km at 100 km/ms)", extra)
	}
	if r.PoPs[1].Requests != 10 || r.Latency.P50 != 15+66 {
		t.Errorf("iad got %d requests, p50 %v ms; want 10 and 81", r.PoPs[1].Requests, r.Latency.P50)
	}
}

func TestRTTFromDistance(t *testing.T) {
	loc := func(lat, lon float64) *localedge.Location { return &localedge.Location{Lat: lat, Lon: lon} }
	tests := []struct {
		name string
		a, b *localedge.Location
		want time.Duration
	}{
		{"New York–London", loc(40.7, -74.0), loc(51.5, -0.1), 56 * time.Millisecond},
		{"Singapore–Virginia (across an ocean)", loc(1.35, 103.8), loc(38.9, -77.4), 155 * time.Millisecond},
		{"same place", loc(38.9, -77.4), loc(38.9, -77.4), time.Millisecond},
		{"unknown place", nil, loc(38.9, -77.4), time.Millisecond},
	}
	for _, tt := range tests {
		if got := rtt(tt.a, tt.b); got != tt.want {
			t.Errorf("rtt(%s) = %v; want %v", tt.name, got, tt.want)
		}
	}
}
