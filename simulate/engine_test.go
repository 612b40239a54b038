package simulate

import (
	"context"
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
