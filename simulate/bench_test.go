package simulate

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/simulate/workload"
)

// BenchmarkZipfHitHeavy replays a hit-heavy Zipf workload (10,000 and
// 100,000 objects, α 0.9, max-age one day) through 3 PoPs and a shield:
// the figure of bench/simulate, per simulated request.
func BenchmarkZipfHitHeavy(b *testing.B) {
	for _, objects := range []int64{10000, 100000} {
		b.Run(fmt.Sprintf("objects=%d", objects), func(b *testing.B) { benchmarkZipf(b, objects) })
	}
}

func benchmarkZipf(b *testing.B, objects int64) {
	z := 0.9
	spec := workload.Spec{
		Duration: time.Duration(b.N) * time.Millisecond, Rate: workload.Rate{Steady: 1000},
		Content: []workload.Content{{Name: "img", Share: 1, Objects: objects, Zipf: &z, Path: "/img/{id}.jpg",
			Size: workload.Size{Fixed: 20 << 10}, CacheControl: "public, max-age=86400"}},
	}
	src, err := workload.NewSynthetic(spec)
	if err != nil {
		b.Fatal(err)
	}
	sc := threePoPs(true)
	sc.Topology.Cache.Capacity = 1 << 30
	b.ReportAllocs()
	b.ResetTimer()
	r, err := Run(context.Background(), sc, src, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(r.Edge.HitRatio.Requests, "hit-ratio")
	b.ReportMetric(float64(r.Requests)/b.Elapsed().Seconds(), "req/s")
}
