package scoring

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"
)

// SplitHalfResult is the split-half reliability: over Splits random halves
// of the judgements, the correlation of the two halves' abilities stepped up
// to the full length (Kinnear et al. 2025): the median, and the range.
// Factor is the step-up's length factor: the full data's error variance
// relative to a half's.
type SplitHalfResult struct {
	Estimate float64 `json:"estimate"`
	Min      float64 `json:"min"`
	Max      float64 `json:"max"`
	Splits   int     `json:"splits"`
	Factor   float64 `json:"length_factor"`
}

// DefaultSplits is how many random halvings SplitHalf takes the median of.
const DefaultSplits = 20

// factorSplits is how many of them the length factor is averaged over.
const factorSplits = 5

// SplitHalf estimates reliability by halving the comparisons at random
// splits times (seeded by seed: the same comparisons and seed give the same
// result), fitting each half with opts, correlating the halves' abilities
// over the items fitted in both, and stepping each correlation r up to the
// full length with the Spearman–Brown formula L·r / (1 + (L − 1)·r). Classic
// Spearman–Brown takes L = 2; in a sparse comparison design halving the
// comparisons more than doubles the error variance (indirect comparisons
// carry less), so L is the ratio of the halves' mean error variance to the
// full data's (from the likelihood's information; estimated from its trace
// for a large batch), over the first factorSplits splits. It returns the median
// with the range; an error when no split leaves three items fitted in both
// halves.
func SplitHalf(comparisons []Comparison, opts Options, splits int, seed uint64) (SplitHalfResult, error) {
	if splits <= 0 {
		splits = DefaultSplits
	}
	opts.SkipSE, opts.meanVariance = true, true
	// The order of the comparisons must not matter: sort a copy.
	cs := append([]Comparison(nil), comparisons...)
	sort.Slice(cs, func(a, b int) bool {
		x, y := cs[a], cs[b]
		switch {
		case x.Winner != y.Winner:
			return x.Winner < y.Winner
		case x.Loser != y.Loser:
			return x.Loser < y.Loser
		case x.Slot != y.Slot:
			return x.Slot < y.Slot
		}
		return x.Judge < y.Judge
	})
	full, err := Fit(cs, opts)
	if err != nil {
		return SplitHalfResult{}, err
	}
	// The length factor, from the first splits' halves.
	var halfSE2 float64
	var halves int
	for s := 0; s < min(splits, factorSplits); s++ {
		a, b := halve(cs, rand.New(rand.NewPCG(seed, uint64(s))))
		for _, h := range [2][]Comparison{a, b} {
			if r, err := Fit(h, opts); err == nil {
				halfSE2 += r.meanVar
				halves++
			}
		}
	}
	if halves == 0 {
		return SplitHalfResult{}, errors.New("too few comparisons for a split-half estimate")
	}
	factor := halfSE2 / float64(halves) / full.meanVar
	if math.IsNaN(factor) || factor < 1 {
		factor = 2
	}
	opts.meanVariance = false
	values := make([]float64, splits)
	ok := make([]bool, splits)
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(runtime.GOMAXPROCS(0), 1))
	for s := 0; s < splits; s++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			values[s], ok[s] = splitOnce(cs, opts, rand.New(rand.NewPCG(seed, uint64(s))), factor)
		}()
	}
	wg.Wait()
	var got []float64
	for s := range values {
		if ok[s] {
			got = append(got, values[s])
		}
	}
	if len(got) == 0 {
		return SplitHalfResult{}, errors.New("too few comparisons for a split-half estimate")
	}
	sort.Float64s(got)
	med := got[len(got)/2]
	if len(got)%2 == 0 {
		med = (got[len(got)/2-1] + got[len(got)/2]) / 2
	}
	return SplitHalfResult{Estimate: med, Min: got[0], Max: got[len(got)-1], Splits: len(got), Factor: factor}, nil
}

// halve divides the comparisons in two: in random order, each goes to the
// half where its two items have fewer comparisons so far (the smaller half,
// then a coin, decides ties), so that every item's comparisons divide about
// evenly.
func halve(cs []Comparison, r *rand.Rand) (a, b []Comparison) {
	perm := r.Perm(len(cs))
	load := [2]map[string]int{{}, {}}
	var halves [2][]Comparison
	for _, i := range perm {
		c := cs[i]
		la := load[0][c.Winner] + load[0][c.Loser]
		lb := load[1][c.Winner] + load[1][c.Loser]
		h := 0
		switch {
		case lb < la:
			h = 1
		case lb == la:
			switch {
			case len(halves[1]) < len(halves[0]):
				h = 1
			case len(halves[1]) == len(halves[0]):
				h = r.IntN(2)
			}
		}
		halves[h] = append(halves[h], c)
		load[h][c.Winner]++
		load[h][c.Loser]++
	}
	return halves[0], halves[1]
}

// splitOnce is one random halving, stepped up by factor.
func splitOnce(cs []Comparison, opts Options, r *rand.Rand, factor float64) (float64, bool) {
	a, b := halve(cs, r)
	ra, errA := Fit(a, opts)
	rb, errB := Fit(b, opts)
	if errA != nil || errB != nil {
		return 0, false
	}
	tb := make(map[string]float64, len(rb.Items))
	for _, it := range rb.Items {
		tb[it.ID] = it.Theta
	}
	var x, y []float64
	for _, it := range ra.Items {
		if v, ok := tb[it.ID]; ok {
			x = append(x, it.Theta)
			y = append(y, v)
		}
	}
	if len(x) < 3 {
		return 0, false
	}
	rho := correlation(x, y)
	if math.IsNaN(rho) {
		return 0, false
	}
	return factor * rho / (1 + (factor-1)*rho), true
}

func correlation(x, y []float64) float64 {
	mx, my := mean(x), mean(y)
	var sxy, sxx, syy float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
		syy += (y[i] - my) * (y[i] - my)
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	return sxy / math.Sqrt(sxx*syy)
}

// Seed derives the seed of a batch's random steps (split halves, the
// projection's bootstrap) from its name: the same batch always gets the
// same numbers.
func Seed(name string) uint64 {
	sum := sha256.Sum256([]byte(name))
	return binary.BigEndian.Uint64(sum[:8])
}
