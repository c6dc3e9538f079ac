package scoring

import (
	"math"
	"sort"
)

// fitStatistics are the residual-based fit statistics of a fit.
type fitStatistics struct {
	infit, outfit []float64
	judges        []JudgeFit
	misfits       []string
}

// fitStats computes, from each cell's observed and expected wins, every
// item's and every judge's infit (Σ squared residuals / Σ variances) and
// outfit (the mean of squared standardized residuals), both 1 when the
// model fits. Items whose infit exceeds the mean by more than two standard
// deviations are misfits (Pollitt 2012).
func (p *problem) fitStats(theta []float64, gamma float64) fitStatistics {
	n := len(theta)
	r2 := make([]float64, n)
	vs := make([]float64, n)
	z2 := make([]float64, n)
	cnt := make([]float64, n)
	jr2 := make([]float64, len(p.judges))
	jv := make([]float64, len(p.judges))
	jz2 := make([]float64, len(p.judges))
	jn := make([]float64, len(p.judges))
	for _, c := range p.cells {
		i, j := p.pi[c.pair], p.pj[c.pair]
		s := sigmoid(theta[i] - theta[j] + float64(c.slot)*gamma)
		v := s * (1 - s)
		if v < 1e-300 {
			v = 1e-300
		}
		// The cell's w observations of 1 and n − w of 0.
		sr := c.w*(1-s)*(1-s) + (c.n-c.w)*s*s
		sz := sr / v
		for _, k := range [2]int{i, j} {
			r2[k] += sr
			vs[k] += c.n * v
			z2[k] += sz
			cnt[k] += c.n
		}
		jr2[c.judge] += sr
		jv[c.judge] += c.n * v
		jz2[c.judge] += sz
		jn[c.judge] += c.n
	}
	fs := fitStatistics{infit: make([]float64, n), outfit: make([]float64, n)}
	var in []float64
	for i := range theta {
		if cnt[i] == 0 {
			continue
		}
		fs.infit[i] = r2[i] / vs[i]
		fs.outfit[i] = z2[i] / cnt[i]
		in = append(in, fs.infit[i])
	}
	for k, name := range p.judges {
		if jn[k] == 0 {
			continue
		}
		fs.judges = append(fs.judges, JudgeFit{Judge: name, Comparisons: int(jn[k]), Infit: jr2[k] / jv[k], Outfit: jz2[k] / jn[k]})
	}
	if len(in) >= 3 {
		m := mean(in)
		var sd float64
		for _, x := range in {
			sd += (x - m) * (x - m)
		}
		sd = math.Sqrt(sd / float64(len(in)-1))
		for i := range theta {
			if cnt[i] > 0 && fs.infit[i] > m+2*sd {
				fs.misfits = append(fs.misfits, p.ids[i])
			}
		}
		sort.Strings(fs.misfits)
	}
	return fs
}

// pairDistance is the mean |θᵢ − θⱼ| over the comparisons made, divided by
// its mean over every pair of items: about 1 when pairs are drawn at
// random, well below 1 when pairing seeks close abilities.
func (p *problem) pairDistance(theta []float64) float64 {
	n := len(theta)
	if n < 3 {
		return 0
	}
	var made, m float64
	for k := range p.pi {
		made += p.nij[k] * math.Abs(theta[p.pi[k]]-theta[p.pj[k]])
		m += p.nij[k]
	}
	if m == 0 {
		return 0
	}
	made /= m
	// Mean absolute difference over all pairs from the sorted abilities:
	// Σᵢ<ⱼ (t₍ⱼ₎ − t₍ᵢ₎) = Σₖ (2k − n + 1) t₍ₖ₎.
	t := append([]float64(nil), theta...)
	sort.Float64s(t)
	var all float64
	for k, v := range t {
		all += float64(2*k-n+1) * v
	}
	all /= float64(n) * float64(n-1) / 2
	if all == 0 {
		return 0
	}
	return made / all
}
