package scoring

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchData is m random oriented comparisons among n items, θ ~ N(0, 1.2²).
func benchData(n, m int) []Comparison {
	r := rand.New(rand.NewPCG(uint64(n), 1))
	ids := make([]string, n)
	theta := make([]float64, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("essay_%05d", i)
		theta[i] = r.NormFloat64() * 1.2
	}
	cs := make([]Comparison, 0, m)
	for len(cs) < m {
		i, j := r.IntN(n), r.IntN(n)
		if i == j {
			continue
		}
		if r.Float64() < sigmoid(theta[i]-theta[j]) {
			cs = append(cs, Comparison{Winner: ids[i], Loser: ids[j], Slot: SlotA})
		} else {
			cs = append(cs, Comparison{Winner: ids[j], Loser: ids[i], Slot: SlotB})
		}
	}
	return cs
}

var benchSizes = []struct{ n, m int }{{150, 3000}, {1000, 20000}, {5000, 100000}}

// BenchmarkFit measures a full default fit: the Jeffreys estimator with the
// order effect, standard errors (dense up to DenseLimit items, conjugate
// gradients on every core above), fit statistics and SSR.
func BenchmarkFit(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("n=%d/m=%d", size.n, size.m), func(b *testing.B) {
			cs := benchData(size.n, size.m)
			for b.Loop() {
				if _, err := Fit(cs, DefaultOptions()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFitAbilities measures the live ranking's refit: abilities only.
func BenchmarkFitAbilities(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("n=%d/m=%d", size.n, size.m), func(b *testing.B) {
			cs := benchData(size.n, size.m)
			opts := DefaultOptions()
			opts.SkipSE = true
			for b.Loop() {
				if _, err := Fit(cs, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSplitHalf measures the split-half reliability at its defaults.
func BenchmarkSplitHalf(b *testing.B) {
	for _, size := range benchSizes[:2] {
		b.Run(fmt.Sprintf("n=%d/m=%d", size.n, size.m), func(b *testing.B) {
			cs := benchData(size.n, size.m)
			for b.Loop() {
				if _, err := SplitHalf(cs, DefaultOptions(), DefaultSplits, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
