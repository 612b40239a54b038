package workload

import "math"

// zipf draws ranks 1..n with probability proportional to 1/k^s, for any
// exponent s ≥ 0 (math/rand's Zipf needs s > 1; web popularity is usually
// 0.6 to 1). It is the rejection-inversion method of W. Hörmann and G.
// Derflinger, "Rejection-inversion to generate variates from monotone
// discrete distributions" (ACM TOMACS 6(3), 1996), as Apache Commons Math
// implements it: one logarithm, one exponential and rarely a rejection per
// draw, whatever n.
type zipf struct {
	s, n             float64
	hX1, hN, squeeze float64
	uniform          func() float64 // uniform in [0, 1)
	fixedOnly        bool           // n is 1
}

func newZipf(n int64, s float64, uniform func() float64) *zipf {
	z := &zipf{s: s, n: float64(n), uniform: uniform}
	if n <= 1 {
		z.fixedOnly = true
		return z
	}
	z.hX1 = z.hIntegral(1.5) - 1
	z.hN = z.hIntegral(z.n + 0.5)
	z.squeeze = 2 - z.hIntegralInverse(z.hIntegral(2.5)-z.h(2))
	return z
}

// next returns a rank in [1, n].
func (z *zipf) next() int64 {
	if z.fixedOnly {
		return 1
	}
	for {
		u := z.hN + z.uniform()*(z.hX1-z.hN)
		x := z.hIntegralInverse(u)
		k := math.Floor(x + 0.5)
		if k < 1 {
			k = 1
		} else if k > z.n {
			k = z.n
		}
		if k-x <= z.squeeze || u >= z.hIntegral(k+0.5)-z.h(k) {
			return int64(k)
		}
	}
}

// h is the unnormalised probability of rank x: x^-s.
func (z *zipf) h(x float64) float64 { return math.Exp(-z.s * math.Log(x)) }

// hIntegral is an antiderivative of h: (x^(1-s) - 1) / (1-s), or log x
// when s = 1.
func (z *zipf) hIntegral(x float64) float64 {
	logX := math.Log(x)
	return expm1Over((1-z.s)*logX) * logX
}

func (z *zipf) hIntegralInverse(x float64) float64 {
	t := x * (1 - z.s)
	if t < -1 {
		t = -1 // rounding errors only
	}
	return math.Exp(log1pOver(t) * x)
}

// log1pOver is log(1+x)/x, and its limit 1 near 0.
func log1pOver(x float64) float64 {
	if math.Abs(x) > 1e-8 {
		return math.Log1p(x) / x
	}
	return 1 - x*(1.0/2-x*(1.0/3-x*(1.0/4)))
}

// expm1Over is (e^x - 1)/x, and its limit 1 near 0.
func expm1Over(x float64) float64 {
	if math.Abs(x) > 1e-8 {
		return math.Expm1(x) / x
	}
	return 1 + x*(1.0/2)*(1+x*(1.0/3)*(1+x*(1.0/4)))
}
