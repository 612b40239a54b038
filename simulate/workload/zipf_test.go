package workload

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestZipfFrequencies draws many ranks and compares each rank's frequency
// with the exact probability 1/k^s / H(n, s), for exponents below, at and
// above 1 (a chi-square test at the 0.1% level).
func TestZipfFrequencies(t *testing.T) {
	for _, s := range []float64{0, 0.6, 0.9, 1, 1.4} {
		const n, draws = 50, 400000
		rng := rand.New(rand.NewPCG(1, 2))
		z := newZipf(n, s, rng.Float64)
		counts := make([]float64, n+1)
		for range draws {
			k := z.next()
			if k < 1 || k > n {
				t.Fatalf("s=%v: rank %d outside [1, %d]", s, k, n)
			}
			counts[k]++
		}
		var norm float64
		for k := 1; k <= n; k++ {
			norm += math.Pow(float64(k), -s)
		}
		var chi2 float64
		for k := 1; k <= n; k++ {
			want := draws * math.Pow(float64(k), -s) / norm
			chi2 += (counts[k] - want) * (counts[k] - want) / want
		}
		// The 99.9th percentile of chi-square with 49 degrees of freedom.
		if chi2 > 85.35 {
			t.Errorf("s=%v: chi-square %.1f over 49 degrees of freedom; the draws do not follow Zipf", s, chi2)
		}
	}
}

func TestZipfOneObject(t *testing.T) {
	z := newZipf(1, 0.9, rand.New(rand.NewPCG(1, 2)).Float64)
	for range 10 {
		if k := z.next(); k != 1 {
			t.Fatalf("next() = %d; want 1 for a one-object catalogue", k)
		}
	}
}
