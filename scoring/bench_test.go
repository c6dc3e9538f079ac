package scoring

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkFit measures a full fit (Newton iterations and the dense SE
// computation) with the production alpha on random-pairing data.
func BenchmarkFit(b *testing.B) {
	for _, size := range []struct{ n, m int }{{150, 3000}, {1000, 20000}, {5000, 100000}} {
		b.Run(fmt.Sprintf("n=%d/m=%d", size.n, size.m), func(b *testing.B) {
			r := rand.New(rand.NewPCG(uint64(size.n), 1))
			ids := make([]string, size.n)
			theta := make([]float64, size.n)
			for i := range ids {
				ids[i] = fmt.Sprintf("essay_%05d", i)
				theta[i] = r.NormFloat64() * 1.2
			}
			cs := make([]Comparison, 0, size.m)
			for len(cs) < size.m {
				i, j := r.IntN(size.n), r.IntN(size.n)
				if i == j {
					continue
				}
				if r.Float64() < sigmoid(theta[i]-theta[j]) {
					cs = append(cs, Comparison{Winner: ids[i], Loser: ids[j]})
				} else {
					cs = append(cs, Comparison{Winner: ids[j], Loser: ids[i]})
				}
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := Fit(cs, DefaultOptions()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
