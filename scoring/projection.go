package scoring

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"gonum.org/v1/gonum/mat"
)

// Band is one grade's interval on the theta scale: (Lower, Upper].
type Band struct {
	Grade string
	Lower float64 // -Inf for the lowest band
	Upper float64 // +Inf for the top band
	// Mean is the grade's modelled position (NaN for the below-lowest band);
	// Anchors is how many anchors of that grade informed the model.
	Mean    float64
	Anchors int
}

// GradeModel is the fitted anchor model of a scale: every grade of the
// scale at Intercept + Slope·k (k its position, lowest 0), bands between
// the midpoints, and below the lowest grade's band the scale's below-lowest
// grade when it has one.
type GradeModel struct {
	Scale     Scale
	Bands     []Band
	Intercept float64
	Slope     float64
	// ResidualSD is the anchors' scatter around the line (0 with two).
	ResidualSD float64
	// Draws is how many parametric bootstrap draws of the anchors carried
	// their uncertainty into the probabilities.
	Draws int
}

// Projection is one essay's projected grade.
type Projection struct {
	EssayID string
	Grade   string
	// Probabilities maps every grade of the scale (and the below-lowest
	// grade) to the probability that the essay belongs to it; they sum to 1.
	Probabilities map[string]float64
	// Set80 and Set95 are the smallest sets of grades, most probable first,
	// holding at least 80% and 95% of the probability.
	Set80, Set95    []string
	PrimaryAnchorID string
	IsAnchor        bool
	AnchorGrade     string
	// LOOGrade is, for an anchor, the grade it projects to by a model
	// fitted without it; Alignment compares it with the registered grade:
	// "aligned", "above" or "below".
	LOOGrade  string
	Alignment string
}

// ProjectionResult holds the projections, or the reason there are none.
type ProjectionResult struct {
	Model       *GradeModel
	Projections []Projection
	// Skipped explains why no projection was made; empty when projections
	// exist.
	Skipped string
	// Alignment counts the anchors by leave-one-out alignment.
	Aligned, Above, Below int
}

// ProjectOptions steer ProjectGrades.
type ProjectOptions struct {
	// Cov gives the covariance of two items' abilities (indices into the
	// items), for the anchors' joint uncertainty; nil treats the abilities
	// as independent with their SEs. Result.Covariance provides it.
	Cov func(i, j int) float64
	// Seed seeds the bootstrap: the same seed gives the same
	// probabilities.
	Seed uint64
	// Draws is the number of bootstrap draws (default DefaultDraws; a
	// negative number takes none: the fitted line only).
	Draws int
}

// DefaultDraws is the bootstrap's default number of draws.
const DefaultDraws = 400

// ProjectGrades projects every item onto the scale using the anchors (item
// id → registered grade). The model: the anchors' abilities rise linearly
// with their grade's position k on the scale, θ = a + b·k (least squares
// over the anchors), which places every grade of the scale — unanchored
// ones included — at a + b·k; grade k's band runs between the midpoints
// a + b·(k ± ½); below the lowest grade's band lies the scale's
// below-lowest grade. The anchors' abilities are uncertain and correlated
// with each essay's: the line is refitted on draws of the anchors from
// their joint normal distribution, each essay's ability drawn with them
// (conditionally on the anchors' draw), and an essay's probability of a
// grade is the mean over the draws of its conditional normal mass in that
// grade's band. Each anchor is also projected by the line fitted without it
// (its leave-one-out alignment).
func ProjectGrades(scale Scale, items []Item, anchors map[string]string, opts ProjectOptions) (ProjectionResult, error) {
	index := make(map[string]int, len(items))
	for i, it := range items {
		index[it.ID] = i
	}
	ids := make([]string, 0, len(anchors))
	for id := range anchors {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	type anchor struct {
		id    string
		item  int
		grade int
	}
	var as []anchor
	var missing []string
	for _, id := range ids {
		g := anchors[id]
		k, ok := scale.Index(g)
		if !ok || k < 0 {
			return ProjectionResult{}, fmt.Errorf("anchor %q has grade %q, which is not on scale %s (%s)", id, g, scale.Name, strings.Join(scale.Grades, ", "))
		}
		i, ok := index[id]
		if !ok {
			missing = append(missing, id)
			continue
		}
		as = append(as, anchor{id, i, k})
	}
	grades := map[int]bool{}
	for _, a := range as {
		grades[a.grade] = true
	}
	if len(grades) < 2 {
		var gs []string
		for k := range scale.Grades {
			if grades[k] {
				gs = append(gs, scale.Grades[k])
			}
		}
		reason := fmt.Sprintf("grade projection needs fitted anchors of at least 2 distinct grades; found %d anchor(s)", len(as))
		if len(gs) > 0 {
			reason += " of grade " + strings.Join(gs, ", ")
		}
		if len(missing) > 0 {
			reason += fmt.Sprintf("; %d anchor(s) have no ability yet (%s)", len(missing), strings.Join(missing, ", "))
		}
		return ProjectionResult{Skipped: reason}, nil
	}
	k := make([]float64, len(as))
	th := make([]float64, len(as))
	for j, a := range as {
		k[j], th[j] = float64(a.grade), items[a.item].Theta
	}
	a0, b0 := line(k, th, -1)
	if !(b0 > 0) {
		return ProjectionResult{Skipped: fmt.Sprintf("the anchors' abilities do not rise with their grades (fitted slope %.3f logits per grade): the anchors contradict the scale, so no projection is made", b0)}, nil
	}
	model := &GradeModel{Scale: scale, Intercept: a0, Slope: b0}
	var rss float64
	for j := range k {
		d := th[j] - (a0 + b0*k[j])
		rss += d * d
	}
	if len(as) > 2 {
		model.ResidualSD = math.Sqrt(rss / float64(len(as)-2))
	}
	counts := make([]int, len(scale.Grades))
	for _, a := range as {
		counts[a.grade]++
	}
	model.Bands = bands(scale, a0, b0, counts)

	// The bootstrap: anchors drawn jointly, each essay conditionally.
	draws := opts.Draws
	if draws == 0 {
		draws = DefaultDraws
	}
	if draws < 0 {
		draws = 0
	}
	na := len(as)
	cov := func(i, j int) float64 {
		if opts.Cov != nil {
			return opts.Cov(i, j)
		}
		if i == j {
			return items[i].SE * items[i].SE
		}
		return 0
	}
	sigmaAA := mat.NewSymDense(na, nil)
	for x := 0; x < na; x++ {
		for y := x; y < na; y++ {
			sigmaAA.SetSym(x, y, cov(as[x].item, as[y].item))
		}
	}
	var chol mat.Cholesky
	jitter := 0.0
	for !chol.Factorize(withJitter(sigmaAA, jitter)) {
		jitter = math.Max(2*jitter, 1e-10)
		if jitter > 1 {
			draws = 0
			break
		}
	}
	var lower mat.TriDense
	type drawn struct {
		delta []float64 // the anchors' deviations
		bands []Band
	}
	var ds []drawn
	if draws > 0 {
		chol.LTo(&lower)
		r := rand.New(rand.NewPCG(opts.Seed, 0x6772616465)) // "grade"
		z := make([]float64, na)
		for d := 0; d < draws; d++ {
			for j := range z {
				z[j] = r.NormFloat64()
			}
			delta := make([]float64, na)
			for x := 0; x < na; x++ {
				var s float64
				for y := 0; y <= x; y++ {
					s += lower.At(x, y) * z[y]
				}
				delta[x] = s
			}
			pert := make([]float64, na)
			for j := range pert {
				pert[j] = th[j] + delta[j]
			}
			a, b := line(k, pert, -1)
			if !(b > 0) {
				// A draw in which the anchors do not rise with their
				// grades has no bands (they would run backwards): the
				// scale's order is a constraint, so the draw is rejected.
				continue
			}
			ds = append(ds, drawn{delta, bands(scale, a, b, nil)})
		}
		model.Draws = len(ds)
	}
	// Solve Σ_AA κ = Σ_Ae for every item: its regression on the anchors.
	var sigmaInv mat.SymDense
	haveInv := draws > 0 && chol.InverseTo(&sigmaInv) == nil

	anchorOf := map[int]int{}
	for j, a := range as {
		anchorOf[a.item] = j
	}
	res := ProjectionResult{Model: model}
	grid := allGrades(scale)
	for i, it := range items {
		probs := make(map[string]float64, len(grid))
		if len(ds) == 0 || !haveInv {
			for g, p := range bandProbs(model.Bands, it.Theta, it.SE) {
				probs[g] = p
			}
		} else {
			kappa := make([]float64, na)
			condVar := it.SE * it.SE
			if j, isAnchor := anchorOf[i]; isAnchor {
				kappa[j], condVar = 1, 0
			} else {
				sae := make([]float64, na)
				for j := range sae {
					sae[j] = cov(as[j].item, i)
				}
				for x := 0; x < na; x++ {
					var s float64
					for y := 0; y < na; y++ {
						s += sigmaInv.At(x, y) * sae[y]
					}
					kappa[x] = s
				}
				condVar -= dot(sae, kappa)
				condVar = math.Max(condVar, 0)
			}
			sd := math.Sqrt(condVar)
			for _, d := range ds {
				m := it.Theta + dot(kappa, d.delta)
				for g, p := range bandProbs(d.bands, m, sd) {
					probs[g] += p
				}
			}
			for g := range probs {
				probs[g] /= float64(len(ds))
			}
		}
		normalize(grid, probs)
		p := Projection{EssayID: it.ID, Probabilities: probs}
		p.Grade = mostProbable(grid, probs)
		p.Set80, p.Set95 = credibleSet(grid, probs, 0.8), credibleSet(grid, probs, 0.95)
		best := math.Inf(1)
		for _, a := range as {
			if a.item == i {
				continue
			}
			if d := math.Abs(items[a.item].Theta - it.Theta); d < best {
				best, p.PrimaryAnchorID = d, a.id
			}
		}
		if j, ok := anchorOf[i]; ok {
			p.IsAnchor, p.AnchorGrade = true, scale.Grades[as[j].grade]
			p.LOOGrade = looGrade(scale, k, th, j, it)
			if p.LOOGrade != "" {
				gi, _ := scale.Index(p.AnchorGrade)
				li, _ := scale.Index(p.LOOGrade)
				switch {
				case li == gi:
					p.Alignment = "aligned"
					res.Aligned++
				case li > gi:
					p.Alignment = "above"
					res.Above++
				default:
					p.Alignment = "below"
					res.Below++
				}
			}
		}
		res.Projections = append(res.Projections, p)
	}
	return res, nil
}

// line is the least-squares line through (k, th), leaving out index skip.
func line(k, th []float64, skip int) (a, b float64) {
	var n, mk, mt float64
	for j := range k {
		if j != skip {
			n++
			mk += k[j]
			mt += th[j]
		}
	}
	mk /= n
	mt /= n
	var sxy, sxx float64
	for j := range k {
		if j != skip {
			sxy += (k[j] - mk) * (th[j] - mt)
			sxx += (k[j] - mk) * (k[j] - mk)
		}
	}
	if sxx == 0 {
		return mt, 0
	}
	b = sxy / sxx
	return mt - b*mk, b
}

// bands places every grade at a + b·k with bands between midpoints.
func bands(scale Scale, a, b float64, counts []int) []Band {
	var out []Band
	bottom := math.Inf(-1)
	if scale.BelowLowest != "" {
		bottom = a - b/2
		out = append(out, Band{Grade: scale.BelowLowest, Lower: math.Inf(-1), Upper: bottom, Mean: math.NaN()})
	}
	for k, g := range scale.Grades {
		band := Band{Grade: g, Lower: bottom, Upper: a + b*(float64(k)+0.5), Mean: a + b*float64(k)}
		if k == len(scale.Grades)-1 {
			band.Upper = math.Inf(1)
		}
		if counts != nil {
			band.Anchors = counts[k]
		}
		out = append(out, band)
		bottom = band.Upper
	}
	return out
}

// bandProbs integrates N(theta, sd²) over every band; with sd 0 the band
// holding theta gets 1.
func bandProbs(bs []Band, theta, sd float64) map[string]float64 {
	out := make(map[string]float64, len(bs))
	for _, b := range bs {
		var p float64
		if sd <= 0 {
			if theta > b.Lower && theta <= b.Upper {
				p = 1
			}
		} else {
			p = normCDF((b.Upper-theta)/sd) - normCDF((b.Lower-theta)/sd)
		}
		out[b.Grade] += math.Max(p, 0)
	}
	return out
}

// looGrade is an anchor's grade by the line fitted without it; "" when the
// others do not span two grades.
func looGrade(scale Scale, k, th []float64, skip int, it Item) string {
	seen := map[float64]bool{}
	for j := range k {
		if j != skip {
			seen[k[j]] = true
		}
	}
	if len(seen) < 2 {
		return ""
	}
	a, b := line(k, th, skip)
	if !(b > 0) {
		return ""
	}
	probs := bandProbs(bands(scale, a, b, nil), it.Theta, it.SE)
	normalize(allGrades(scale), probs)
	return mostProbable(allGrades(scale), probs)
}

// allGrades lists the below-lowest grade (if any) then the scale's.
func allGrades(scale Scale) []string {
	if scale.BelowLowest == "" {
		return scale.Grades
	}
	return append([]string{scale.BelowLowest}, scale.Grades...)
}

// normalize scales probs to sum to 1, summing in the grid's order so that
// the result does not depend on map iteration.
func normalize(grid []string, probs map[string]float64) {
	var total float64
	for _, g := range grid {
		total += probs[g]
	}
	if total > 0 {
		for g := range probs {
			probs[g] /= total
		}
	}
}

// mostProbable returns the grade with the highest probability; ties go to
// the lower grade.
func mostProbable(grid []string, probs map[string]float64) string {
	best, grade := -1.0, ""
	for _, g := range grid {
		if p := probs[g]; p > best {
			best, grade = p, g
		}
	}
	return grade
}

// credibleSet is the smallest set of grades, most probable first (ties:
// lower grade first), whose probabilities sum to at least level: the
// highest-probability set. With few, discrete grades it often holds more
// than level, and covers accordingly.
func credibleSet(grid []string, probs map[string]float64, level float64) []string {
	order := append([]string(nil), grid...)
	pos := map[string]int{}
	for i, g := range grid {
		pos[g] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		if probs[order[a]] != probs[order[b]] {
			return probs[order[a]] > probs[order[b]]
		}
		return pos[order[a]] < pos[order[b]]
	})
	var out []string
	var cum float64
	for _, g := range order {
		out = append(out, g)
		cum += probs[g]
		if cum >= level-1e-12 {
			break
		}
	}
	return out
}

// withJitter returns s with jitter added to its diagonal.
func withJitter(s *mat.SymDense, jitter float64) *mat.SymDense {
	if jitter == 0 {
		return s
	}
	n := s.SymmetricDim()
	out := mat.NewSymDense(n, nil)
	out.CopySym(s)
	for i := 0; i < n; i++ {
		out.SetSym(i, i, out.At(i, i)+jitter)
	}
	return out
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
