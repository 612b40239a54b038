package localedge

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"
)

// BenchmarkAdminEntries100k measures what the inspector waits for: one page
// of 100 entries of GET /api/v1/entries over HTTP (query, filter, sort,
// JSON encoding and decoding) on a PoP holding 100,000 entries, and reports
// the p50 and p99 latency per page. Target: p99 < 20 ms.
//
//	go test ./localedge -run '^$' -bench AdminEntries100k -benchtime 200x
func BenchmarkAdminEntries100k(b *testing.B) {
	cfg := DefaultTopologyConfig(true)
	cfg.Origin.Handler = http.NotFoundHandler()
	cfg.Token = "bench"
	top, err := NewTopology(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := top.Start(ctx); err != nil {
		cancel()
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- top.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	pop1, _ := top.PoP("pop1")
	fillStore(b, pop1.Proxy, 100_000, time.Now())
	admin := top.Info().Admin.URL
	hc := &http.Client{Transport: &http.Transport{Proxy: nil}}

	for _, q := range []url.Values{
		{"pop": {"pop1"}},
		{"pop": {"pop1"}, "offset": {"50000"}},
		{"pop": {"pop1"}, "sort": {"ttl"}, "order": {"desc"}, "offset": {"500"}},
		{"pop": {"pop1"}, "sort": {"size"}},
		{"pop": {"pop1"}, "q": {"tag:css"}, "sort": {"hits"}, "order": {"desc"}},
		{"pop": {"pop1"}, "q": {"assets 0001"}},
		{"q": {"host:b.test status:200"}, "sort": {"age"}},
		{"pop": {"pop1"}, "q": {"nomatch"}},
	} {
		b.Run(q.Encode(), func(b *testing.B) {
			u := admin + "/api/v1/entries?" + q.Encode()
			var lat []time.Duration
			for b.Loop() {
				start := time.Now()
				req, _ := http.NewRequest(http.MethodGet, u, nil)
				req.Header.Set("Authorization", "Bearer bench")
				resp, err := hc.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				var page EntryPage
				err = json.NewDecoder(resp.Body).Decode(&page)
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 {
					b.Fatalf("GET %s: %d %v", u, resp.StatusCode, err)
				}
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			pct := func(p float64) float64 {
				return float64(lat[min(len(lat)-1, int(float64(len(lat))*p))].Microseconds()) / 1000
			}
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(0, "ns/op")
			if testing.Verbose() {
				fmt.Printf("%s: p50 %.2f ms, p99 %.2f ms over %d pages\n", q.Encode(), pct(0.5), pct(0.99), len(lat))
			}
		})
	}
}
