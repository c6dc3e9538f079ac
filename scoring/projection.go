package scoring

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Band is one grade's interval on the theta scale: (Lower, Upper].
type Band struct {
	Grade string
	Lower float64 // -Inf for the below-lowest band
	Upper float64 // +Inf for the top band
	// Mean is the grade's modelled position (NaN for the below-lowest band);
	// Anchors is how many anchors of that grade informed it.
	Mean    float64
	Anchors int
}

// GradeModel is the fitted anchor model of a scale.
type GradeModel struct {
	Scale Scale
	// Bands run from the below-lowest band up to the highest anchored grade.
	Bands []Band
	// PooledSD is the within-grade standard deviation of anchor thetas.
	PooledSD float64
}

// Projection is one essay's projected grade.
type Projection struct {
	EssayID string
	Grade   string
	// Probabilities maps every band's grade to the probability that the
	// essay's ability lies in it; they sum to 1.
	Probabilities   map[string]float64
	PrimaryAnchorID string
	IsAnchor        bool
	AnchorGrade     string
	// Alignment is set for anchors: "aligned", "above" or "below" comparing
	// the projected grade with the registered one.
	Alignment string
}

// ProjectionResult holds the projections, or the reason there are none.
type ProjectionResult struct {
	Model       *GradeModel
	Projections []Projection
	// Skipped explains why no projection was made (fewer than two distinct
	// anchor grades); empty when projections exist.
	Skipped string
}

// anchorsForFullWeight is the number of anchors of a grade above which its
// mean is used as is; grades with fewer are shrunk toward the line through
// all anchored grades.
const anchorsForFullWeight = 3

// belowLowestSDs is how many pooled SDs under the lowest anchored grade's mean
// an essay must be to fall below the scale.
const belowLowestSDs = 2.0

// ProjectGrades projects every item onto the scale using the anchors (item id
// → registered grade). The model: per grade, the anchors' thetas are normal
// around a grade mean with a pooled variance; grades with fewer than three
// anchors are shrunk toward the weighted least-squares line of mean on grade
// index, grades without anchors inside the anchored range take the line's
// value, and the means are then forced non-decreasing by isotonic regression.
// Band boundaries lie midway between consecutive means; the lowest band starts
// two pooled SDs under its mean, and anything below is the scale's
// below-lowest grade. An essay's probabilities integrate N(θ, SE²) over each
// band; its grade is the most probable one.
func ProjectGrades(scale Scale, items []Item, anchors map[string]string) (ProjectionResult, error) {
	byID := make(map[string]Item, len(items))
	for _, it := range items {
		byID[it.ID] = it
	}
	type anchor struct {
		id    string
		grade int
		theta float64
		se    float64
	}
	var as []anchor
	ids := make([]string, 0, len(anchors))
	for id := range anchors {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		g := anchors[id]
		k, ok := scale.Index(g)
		if !ok || k < 0 {
			return ProjectionResult{}, fmt.Errorf("anchor %q has grade %q, which is not on scale %s (%s)", id, g, scale.Name, strings.Join(scale.Grades, ", "))
		}
		it, ok := byID[id]
		if !ok {
			return ProjectionResult{}, fmt.Errorf("anchor %q has no fitted ability", id)
		}
		as = append(as, anchor{id, k, it.Theta, it.SE})
	}

	sum := make([]float64, len(scale.Grades))
	cnt := make([]int, len(scale.Grades))
	for _, a := range as {
		sum[a.grade] += a.theta
		cnt[a.grade]++
	}
	var present []int
	for k := range cnt {
		if cnt[k] > 0 {
			present = append(present, k)
		}
	}
	if len(present) < 2 {
		var gs []string
		for _, k := range present {
			gs = append(gs, scale.Grades[k])
		}
		reason := fmt.Sprintf("grade projection needs anchors of at least 2 distinct grades; found %d anchor(s)", len(as))
		if len(gs) > 0 {
			reason += " of grade " + strings.Join(gs, ", ")
		}
		return ProjectionResult{Skipped: reason}, nil
	}

	m := make([]float64, len(scale.Grades))
	for _, k := range present {
		m[k] = sum[k] / float64(cnt[k])
	}
	var ssw, se2 float64
	for _, a := range as {
		ssw += (a.theta - m[a.grade]) * (a.theta - m[a.grade])
		se2 += a.se * a.se
	}
	var pooledVar float64
	if dof := len(as) - len(present); dof > 0 {
		pooledVar = ssw / float64(dof)
	} else {
		// One anchor per grade: the spread within a grade is unknown, so
		// use the anchors' own measurement error.
		pooledVar = se2 / float64(len(as))
	}
	pooledSD := math.Sqrt(pooledVar)

	// Weighted least-squares line m_k ≈ a + b·k through the anchored grades.
	var wSum, kBar, mBar float64
	for _, k := range present {
		w := float64(cnt[k])
		wSum += w
		kBar += w * float64(k)
		mBar += w * m[k]
	}
	kBar /= wSum
	mBar /= wSum
	var sxy, sxx float64
	for _, k := range present {
		w := float64(cnt[k])
		sxy += w * (float64(k) - kBar) * (m[k] - mBar)
		sxx += w * (float64(k) - kBar) * (float64(k) - kBar)
	}
	slope := sxy / sxx
	line := func(k int) float64 { return mBar + slope*(float64(k)-kBar) }

	lo, hi := present[0], present[len(present)-1]
	mu := make([]float64, 0, hi-lo+1)
	wts := make([]float64, 0, hi-lo+1)
	for k := lo; k <= hi; k++ {
		c := cnt[k]
		switch {
		case c >= anchorsForFullWeight:
			mu = append(mu, m[k])
		case c > 0:
			mu = append(mu, (float64(c)*m[k]+float64(anchorsForFullWeight-c)*line(k))/anchorsForFullWeight)
		default:
			mu = append(mu, line(k))
		}
		wts = append(wts, math.Max(float64(c), 1))
	}
	mu = isotonic(mu, wts)

	model := &GradeModel{Scale: scale, PooledSD: pooledSD}
	lowest := math.Inf(-1)
	if scale.BelowLowest != "" {
		// Scales with a below-lowest grade give it to essays far under the
		// lowest band; the others' lowest band reaches down forever.
		lowest = mu[0] - belowLowestSDs*pooledSD
		model.Bands = append(model.Bands, Band{Grade: scale.BelowLowest, Lower: math.Inf(-1), Upper: lowest, Mean: math.NaN()})
	}
	for i := range mu {
		b := Band{Grade: scale.Grades[lo+i], Lower: lowest, Upper: math.Inf(1), Mean: mu[i], Anchors: cnt[lo+i]}
		if i+1 < len(mu) {
			b.Upper = (mu[i] + mu[i+1]) / 2
		}
		lowest = b.Upper
		model.Bands = append(model.Bands, b)
	}

	res := ProjectionResult{Model: model}
	for _, it := range items {
		p := Projection{EssayID: it.ID, Probabilities: model.Probabilities(it.Theta, it.SE)}
		p.Grade = model.MostProbable(p.Probabilities)
		best := math.Inf(1)
		for _, a := range as {
			if a.id == it.ID {
				continue
			}
			if d := math.Abs(a.theta - it.Theta); d < best {
				best, p.PrimaryAnchorID = d, a.id
			}
		}
		if g, ok := anchors[it.ID]; ok {
			p.IsAnchor, p.AnchorGrade = true, g
			gi, _ := scale.Index(g)
			pi, _ := scale.Index(p.Grade)
			switch {
			case pi == gi:
				p.Alignment = "aligned"
			case pi > gi:
				p.Alignment = "above"
			default:
				p.Alignment = "below"
			}
		}
		res.Projections = append(res.Projections, p)
	}
	return res, nil
}

// Probabilities integrates N(theta, se²) over every band. With se 0 the band
// holding theta gets probability 1.
func (m *GradeModel) Probabilities(theta, se float64) map[string]float64 {
	probs := make(map[string]float64, len(m.Bands))
	var total float64
	for _, b := range m.Bands {
		var p float64
		if se <= 0 {
			if theta > b.Lower && theta <= b.Upper {
				p = 1
			}
		} else {
			p = normCDF((b.Upper-theta)/se) - normCDF((b.Lower-theta)/se)
		}
		p = math.Max(p, 0)
		probs[b.Grade] += p
		total += p
	}
	if total > 0 {
		for g := range probs {
			probs[g] /= total
		}
	}
	return probs
}

// MostProbable returns the band grade with the highest probability; ties go
// to the lower grade.
func (m *GradeModel) MostProbable(probs map[string]float64) string {
	best, grade := -1.0, ""
	for _, b := range m.Bands {
		if p := probs[b.Grade]; p > best {
			best, grade = p, b.Grade
		}
	}
	return grade
}

func normCDF(x float64) float64 {
	if math.IsInf(x, 1) {
		return 1
	}
	if math.IsInf(x, -1) {
		return 0
	}
	return 0.5 * math.Erfc(-x/math.Sqrt2)
}

// isotonic returns the weighted least-squares non-decreasing fit to y (pool
// adjacent violators).
func isotonic(y, w []float64) []float64 {
	type block struct {
		sum, weight float64
		n           int
	}
	var bs []block
	for i := range y {
		bs = append(bs, block{y[i] * w[i], w[i], 1})
		for len(bs) > 1 {
			a, b := bs[len(bs)-2], bs[len(bs)-1]
			if a.sum/a.weight <= b.sum/b.weight {
				break
			}
			bs = append(bs[:len(bs)-2], block{a.sum + b.sum, a.weight + b.weight, a.n + b.n})
		}
	}
	out := make([]float64, 0, len(y))
	for _, b := range bs {
		for i := 0; i < b.n; i++ {
			out = append(out, b.sum/b.weight)
		}
	}
	return out
}
