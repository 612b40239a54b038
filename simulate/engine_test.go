package simulate

import (
	"context"
	"strconv"
	"testing"
	"time"

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
