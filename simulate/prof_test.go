package simulate

import (
	"context"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/simulate/workload"
)

func BenchmarkProfFlash(b *testing.B) {
	z := 0.9
	spec := workload.Spec{
		Duration: 3 * time.Minute, Rate: workload.Rate{Flash: &workload.Flash{From: 1000, To: 50000, At: time.Minute, For: 5 * time.Minute}},
		Content: []workload.Content{
			{Name: "pages", Share: 0.1, Objects: 2000, Path: "/p/{id}.html", Size: workload.Size{LogNormal: &workload.LogNormal{Median: 30 << 10, Sigma: 0.5}}, CacheControl: "public, max-age=60"},
			{Name: "images", Share: 0.9, Objects: 50000, Zipf: &z, Path: "/img/{id}.jpg", Size: workload.Size{LogNormal: &workload.LogNormal{Median: 60 << 10, Sigma: 1}}, CacheControl: "public, max-age=86400"},
		},
	}
	for range b.N {
		src, _ := workload.NewSynthetic(spec)
		sc := threePoPs(true)
		sc.Topology.Cache.Capacity = 4 << 30
		r, err := Run(context.Background(), sc, src, Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(r.Requests), "requests")
	}
}
