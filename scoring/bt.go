// Package scoring fits the Bradley–Terry model to paired comparisons, derives
// standard errors and reliability, and projects abilities onto grade scales.
//
// It is pure computation: no I/O, no clocks, no randomness. Given the same
// comparisons (in any order) it returns bit-identical results.
package scoring

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// DefaultAlpha is the regularization used by the production CJ service.
const DefaultAlpha = 0.01

// Comparison is one judged pair. Repeated pairs count every time.
type Comparison struct {
	Winner string
	Loser  string
}

// Options steer Fit. The zero value is not useful; start from DefaultOptions.
type Options struct {
	// Alpha is the regularization strength. 0 gives the pure maximum-likelihood
	// estimate, which exists only when the win graph is strongly connected.
	// Alpha > 0 maximizes ℓ(θ) + α·Σᵢ log softmax(θ)ᵢ, which is exactly the
	// fixed point of choix's ILSR with the same alpha (the production CJ
	// service's estimator), so every item gets a finite ability.
	Alpha float64
	// Reference, when set, names the item whose ability is fixed at 0. Thetas
	// are then reported relative to it and SEs are those of the contrasts with
	// it (the parametrization of R's BradleyTerry2 with refcat); the reference
	// item's SE is 0. When empty, thetas are mean-centred and SEs are those of
	// the sum-to-zero parametrization.
	Reference string
	// Items lists items to include even if they appear in no comparison (with
	// Alpha > 0 they get a finite theta and a large SE). Their order also fixes
	// the order of Result.Items; items only seen in comparisons follow, sorted.
	Items []string
	// Tolerance ends the iteration once the largest Newton step is at most
	// this (in logits).
	Tolerance float64
	// MaxIterations caps the Newton iterations.
	MaxIterations int
}

// DefaultOptions returns the options of the production service: alpha 0.01,
// mean-centred thetas, tolerance 1e-10, at most 100 Newton iterations.
func DefaultOptions() Options {
	return Options{Alpha: DefaultAlpha, Tolerance: 1e-10, MaxIterations: 100}
}

// Item is one item's fitted ability and its record.
type Item struct {
	ID          string  `json:"id"`
	Theta       float64 `json:"theta"`
	SE          float64 `json:"se"`
	Wins        int     `json:"wins"`
	Losses      int     `json:"losses"`
	Comparisons int     `json:"comparisons"`
}

// Result is a fitted model with its diagnostics.
type Result struct {
	Items         []Item
	Alpha         float64
	Reference     string
	Tolerance     float64
	MaxIterations int
	Iterations    int
	Converged     bool
	// SSR is the scale separation reliability (var(θ) − mean(SE²)) / var(θ),
	// computed with sum-to-zero SEs whatever the reporting parametrization.
	// It is 0 when fewer than two items or var(θ) is 0.
	SSR float64
	// Components are the connected components of the comparison graph
	// (ignoring direction), each sorted, largest first.
	Components [][]string
	// Undefeated lists items that won every comparison they took part in;
	// Winless those that lost every one. Their abilities are finite only
	// because Alpha > 0.
	Undefeated []string
	Winless    []string
	// Uncompared lists items (from Options.Items) with no comparison.
	Uncompared []string
}

// SortByTheta orders items best first: higher theta first, ties by id, so
// that a ranking never depends on the order items came in.
func SortByTheta(items []Item) {
	sort.SliceStable(items, func(i, j int) bool {
		if items[i].Theta != items[j].Theta {
			return items[i].Theta > items[j].Theta
		}
		return items[i].ID < items[j].ID
	})
}

// Notes describes, in plain sentences, what a reader of the fit should know:
// disconnected comparison graphs, items whose ability is finite only through
// regularization, and non-convergence. Empty when there is nothing to say.
func (r *Result) Notes() []string {
	var notes []string
	if !r.Converged {
		notes = append(notes, fmt.Sprintf("did not converge within %d iterations (tolerance %g)", r.MaxIterations, r.Tolerance))
	}
	if len(r.Components) > 1 {
		notes = append(notes, fmt.Sprintf("the comparison graph has %d separate components; abilities are only comparable within a component", len(r.Components)))
	}
	if len(r.Undefeated) > 0 {
		notes = append(notes, fmt.Sprintf("won every comparison (finite only because alpha > 0): %s", strings.Join(r.Undefeated, ", ")))
	}
	if len(r.Winless) > 0 {
		notes = append(notes, fmt.Sprintf("lost every comparison (finite only because alpha > 0): %s", strings.Join(r.Winless, ", ")))
	}
	if len(r.Uncompared) > 0 {
		notes = append(notes, fmt.Sprintf("never compared (theta from regularization alone): %s", strings.Join(r.Uncompared, ", ")))
	}
	return notes
}

// NoMLEError reports that the maximum-likelihood estimate does not exist
// (alpha 0 and a win graph that is not strongly connected).
type NoMLEError struct {
	Undefeated []string
	Winless    []string
	Uncompared []string
	// Groups holds the strongly connected groups of the win graph when no item
	// is undefeated, winless or uncompared but the groups still never beat
	// each other in both directions.
	Groups [][]string
}

func (e *NoMLEError) Error() string {
	var parts []string
	if len(e.Undefeated) > 0 {
		parts = append(parts, "won every comparison: "+strings.Join(e.Undefeated, ", "))
	}
	if len(e.Winless) > 0 {
		parts = append(parts, "lost every comparison: "+strings.Join(e.Winless, ", "))
	}
	if len(e.Uncompared) > 0 {
		parts = append(parts, "never compared: "+strings.Join(e.Uncompared, ", "))
	}
	if len(parts) == 0 && len(e.Groups) > 0 {
		gs := make([]string, len(e.Groups))
		for i, g := range e.Groups {
			gs[i] = "{" + strings.Join(g, ", ") + "}"
		}
		parts = append(parts, "the items split into groups that never both win and lose against each other: "+strings.Join(gs, " "))
	}
	return "the maximum-likelihood estimate does not exist with alpha 0 (" + strings.Join(parts, "; ") + "); use alpha > 0, e.g. 0.01"
}

// ErrNoComparisons is returned when there is nothing to fit.
var ErrNoComparisons = errors.New("no comparisons to fit")

// problem is the aggregated comparison data in index space.
type problem struct {
	ids    []string
	index  map[string]int
	pi, pj []int     // unique unordered pairs, pi < pj
	nij    []float64 // comparisons of the pair
	wij    []float64 // times pi beat pj
	wins   []int
	losses []int
}

func buildProblem(comparisons []Comparison, items []string) (*problem, error) {
	p := &problem{index: map[string]int{}}
	add := func(id string) int {
		if i, ok := p.index[id]; ok {
			return i
		}
		p.index[id] = len(p.ids)
		p.ids = append(p.ids, id)
		return len(p.ids) - 1
	}
	for _, id := range items {
		if id == "" {
			return nil, errors.New("items: empty item id")
		}
		add(id)
	}
	// Items seen only in comparisons come after Options.Items, sorted, so the
	// result does not depend on comparison order.
	var extra []string
	seen := map[string]bool{}
	for k, c := range comparisons {
		if c.Winner == "" || c.Loser == "" {
			return nil, fmt.Errorf("comparison %d: empty item id", k+1)
		}
		if c.Winner == c.Loser {
			return nil, fmt.Errorf("comparison %d: item %q compared with itself", k+1, c.Winner)
		}
		for _, id := range [2]string{c.Winner, c.Loser} {
			if _, ok := p.index[id]; !ok && !seen[id] {
				seen[id] = true
				extra = append(extra, id)
			}
		}
	}
	sort.Strings(extra)
	for _, id := range extra {
		add(id)
	}
	n := len(p.ids)
	p.wins = make([]int, n)
	p.losses = make([]int, n)
	type key struct{ i, j int }
	pairs := map[key]int{}
	for _, c := range comparisons {
		w, l := p.index[c.Winner], p.index[c.Loser]
		p.wins[w]++
		p.losses[l]++
		i, j := w, l
		if i > j {
			i, j = j, i
		}
		k, ok := pairs[key{i, j}]
		if !ok {
			k = len(p.pi)
			pairs[key{i, j}] = k
			p.pi = append(p.pi, i)
			p.pj = append(p.pj, j)
			p.nij = append(p.nij, 0)
			p.wij = append(p.wij, 0)
		}
		p.nij[k]++
		if w == i {
			p.wij[k]++
		}
	}
	// Canonical pair order makes the floating-point sums independent of the
	// order comparisons arrived in.
	order := make([]int, len(p.pi))
	for k := range order {
		order[k] = k
	}
	sort.Slice(order, func(a, b int) bool {
		ka, kb := order[a], order[b]
		if p.pi[ka] != p.pi[kb] {
			return p.pi[ka] < p.pi[kb]
		}
		return p.pj[ka] < p.pj[kb]
	})
	pi, pj, nij, wij := make([]int, len(order)), make([]int, len(order)), make([]float64, len(order)), make([]float64, len(order))
	for dst, src := range order {
		pi[dst], pj[dst], nij[dst], wij[dst] = p.pi[src], p.pj[src], p.nij[src], p.wij[src]
	}
	p.pi, p.pj, p.nij, p.wij = pi, pj, nij, wij
	return p, nil
}

// Fit estimates Bradley–Terry abilities by damped Newton–Raphson on the
// (penalized) log-likelihood, then standard errors from the observed Fisher
// information. It returns an error, never NaN, for unusable input.
func Fit(comparisons []Comparison, opts Options) (*Result, error) {
	if math.IsNaN(opts.Alpha) || math.IsInf(opts.Alpha, 0) || opts.Alpha < 0 {
		return nil, fmt.Errorf("alpha must be a finite number ≥ 0, got %v", opts.Alpha)
	}
	if opts.Tolerance <= 0 || math.IsNaN(opts.Tolerance) {
		opts.Tolerance = DefaultOptions().Tolerance
	}
	if opts.MaxIterations <= 0 {
		opts.MaxIterations = DefaultOptions().MaxIterations
	}
	// With alpha > 0 the listed items have a finite fit even before the first
	// comparison (every ability 0, SEs from the regularization alone), which a
	// partial capture needs.
	if len(comparisons) == 0 && (len(opts.Items) == 0 || opts.Alpha == 0) {
		return nil, ErrNoComparisons
	}
	p, err := buildProblem(comparisons, opts.Items)
	if err != nil {
		return nil, err
	}
	n := len(p.ids)
	ref := -1
	if opts.Reference != "" {
		i, ok := p.index[opts.Reference]
		if !ok {
			return nil, fmt.Errorf("reference item %q does not appear in the comparisons", opts.Reference)
		}
		ref = i
	}

	res := &Result{
		Alpha:         opts.Alpha,
		Reference:     opts.Reference,
		Tolerance:     opts.Tolerance,
		MaxIterations: opts.MaxIterations,
		Components:    p.components(),
	}
	for i, id := range p.ids {
		switch {
		case p.wins[i] == 0 && p.losses[i] == 0:
			res.Uncompared = append(res.Uncompared, id)
		case p.losses[i] == 0:
			res.Undefeated = append(res.Undefeated, id)
		case p.wins[i] == 0:
			res.Winless = append(res.Winless, id)
		}
	}
	sort.Strings(res.Undefeated)
	sort.Strings(res.Winless)
	sort.Strings(res.Uncompared)

	if opts.Alpha == 0 {
		if groups := p.strongComponents(); len(groups) > 1 {
			return nil, &NoMLEError{Undefeated: res.Undefeated, Winless: res.Winless, Uncompared: res.Uncompared, Groups: groups}
		}
	}

	theta, iters, converged, err := p.newton(opts.Alpha, opts.Tolerance, opts.MaxIterations)
	if err != nil {
		return nil, err
	}
	res.Iterations, res.Converged = iters, converged

	cov, err := p.covariance(theta, opts.Alpha, ref)
	if err != nil {
		return nil, err
	}
	shift := mean(theta)
	if ref >= 0 {
		shift = theta[ref]
	}
	res.Items = make([]Item, n)
	for i, id := range p.ids {
		se := cov.seCentred[i]
		if ref >= 0 {
			se = cov.seReference[i]
		}
		res.Items[i] = Item{
			ID:          id,
			Theta:       theta[i] - shift,
			SE:          se,
			Wins:        p.wins[i],
			Losses:      p.losses[i],
			Comparisons: p.wins[i] + p.losses[i],
		}
		if math.IsNaN(res.Items[i].Theta) || math.IsInf(res.Items[i].Theta, 0) || math.IsNaN(se) || math.IsInf(se, 0) {
			return nil, fmt.Errorf("fit of item %q is not finite; the data may be too extreme for alpha %g", id, opts.Alpha)
		}
	}
	res.SSR = ssr(theta, cov.seCentred)
	return res, nil
}

// ssr is the scale separation reliability of thetas with their SEs:
// (var(θ) − mean(SE²)) / var(θ), with the sample variance (n − 1). It is 0
// when there are fewer than two items or the thetas do not vary.
func ssr(theta, se []float64) float64 {
	n := len(theta)
	if n < 2 {
		return 0
	}
	m := mean(theta)
	var v, e float64
	for i, t := range theta {
		v += (t - m) * (t - m)
		e += se[i] * se[i]
	}
	v /= float64(n - 1)
	e /= float64(n)
	if v == 0 {
		return 0
	}
	return (v - e) / v
}

func mean(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// sigmoid is the logistic function, stable for large |x|.
func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// logSigmoid is log(sigmoid(x)) without overflow.
func logSigmoid(x float64) float64 {
	if x >= 0 {
		return -math.Log1p(math.Exp(-x))
	}
	return x - math.Log1p(math.Exp(x))
}

// softmax returns exp(θ)/Σexp(θ) and log Σ exp(θ).
func softmax(theta []float64) ([]float64, float64) {
	mx := math.Inf(-1)
	for _, t := range theta {
		mx = math.Max(mx, t)
	}
	pi := make([]float64, len(theta))
	var s float64
	for i, t := range theta {
		pi[i] = math.Exp(t - mx)
		s += pi[i]
	}
	for i := range pi {
		pi[i] /= s
	}
	return pi, mx + math.Log(s)
}

// objective is the penalized log-likelihood.
func (p *problem) objective(theta []float64, alpha float64) float64 {
	var f float64
	for k := range p.pi {
		d := theta[p.pi[k]] - theta[p.pj[k]]
		f += p.wij[k]*logSigmoid(d) + (p.nij[k]-p.wij[k])*logSigmoid(-d)
	}
	if alpha > 0 {
		_, lse := softmax(theta)
		var s float64
		for _, t := range theta {
			s += t
		}
		f += alpha * (s - float64(len(theta))*lse)
	}
	return f
}

// gradient returns ∂f/∂θ and the pair weights nij·p·(1−p) of the information.
func (p *problem) gradient(theta []float64, alpha float64, g, w []float64) []float64 {
	for i := range g {
		g[i] = 0
	}
	for k := range p.pi {
		i, j := p.pi[k], p.pj[k]
		s := sigmoid(theta[i] - theta[j])
		r := p.wij[k] - p.nij[k]*s
		g[i] += r
		g[j] -= r
		w[k] = p.nij[k] * s * (1 - s)
	}
	var pi []float64
	if alpha > 0 {
		pi, _ = softmax(theta)
		n := float64(len(theta))
		for i := range g {
			g[i] += alpha * (1 - n*pi[i])
		}
	}
	return pi
}

// newton maximizes the objective. Each step solves (H + 11ᵀ/n)δ = g by
// preconditioned conjugate gradients on the sparse information H, which keeps
// a 5,000-item fit cheap; the 11ᵀ/n term fixes the shift invariance and
// leaves δ orthogonal to 1 because g is.
func (p *problem) newton(alpha, tol float64, maxIter int) ([]float64, int, bool, error) {
	n := len(p.ids)
	theta := make([]float64, n)
	g := make([]float64, n)
	w := make([]float64, len(p.pi))
	f := p.objective(theta, alpha)
	for it := 1; it <= maxIter; it++ {
		pi := p.gradient(theta, alpha, g, w)
		delta := p.solveNewton(g, w, pi, alpha)
		step := 1.0
		next := make([]float64, n)
		accepted := false
		for tries := 0; tries < 60; tries++ {
			for i := range theta {
				next[i] = theta[i] + step*delta[i]
			}
			if fn := p.objective(next, alpha); fn >= f-1e-12*math.Abs(f) && !math.IsNaN(fn) {
				f = fn
				accepted = true
				break
			}
			step /= 2
		}
		if !accepted {
			// No ascent possible at machine precision: we are at the optimum.
			return centre(theta), it, true, nil
		}
		maxStep := 0.0
		for i := range theta {
			maxStep = math.Max(maxStep, math.Abs(next[i]-theta[i]))
		}
		theta = centre(next)
		for _, t := range theta {
			if math.IsNaN(t) || math.IsInf(t, 0) {
				return nil, it, false, errors.New("the fit diverged (non-finite ability)")
			}
		}
		if maxStep <= tol {
			return theta, it, true, nil
		}
	}
	return theta, maxIter, false, nil
}

func centre(theta []float64) []float64 {
	m := mean(theta)
	for i := range theta {
		theta[i] -= m
	}
	return theta
}

// infoMul computes y = (H + 11ᵀ/n) x for the information H (pair weights w
// plus, with alpha > 0, the penalty's α·n·(diag(π) − ππᵀ)).
func (p *problem) infoMul(x, y, w, pi []float64, alpha float64) {
	n := len(x)
	var sx float64
	for i := range y {
		y[i] = 0
		sx += x[i]
	}
	for k := range p.pi {
		i, j := p.pi[k], p.pj[k]
		d := w[k] * (x[i] - x[j])
		y[i] += d
		y[j] -= d
	}
	if alpha > 0 {
		var pix float64
		for i := range x {
			pix += pi[i] * x[i]
		}
		an := alpha * float64(n)
		for i := range y {
			y[i] += an * pi[i] * (x[i] - pix)
		}
	}
	for i := range y {
		y[i] += sx / float64(n)
	}
}

func (p *problem) solveNewton(g, w, pi []float64, alpha float64) []float64 {
	n := len(g)
	diag := make([]float64, n)
	for k := range p.pi {
		diag[p.pi[k]] += w[k]
		diag[p.pj[k]] += w[k]
	}
	for i := range diag {
		if alpha > 0 {
			diag[i] += alpha * float64(n) * pi[i] * (1 - pi[i])
		}
		diag[i] += 1 / float64(n)
	}
	x := make([]float64, n)
	r := append([]float64(nil), g...)
	z := make([]float64, n)
	for i := range z {
		z[i] = r[i] / diag[i]
	}
	d := append([]float64(nil), z...)
	q := make([]float64, n)
	rz := dot(r, z)
	bnorm := math.Sqrt(dot(g, g))
	if bnorm == 0 {
		return x
	}
	for it := 0; it < 10*n+100; it++ {
		p.infoMul(d, q, w, pi, alpha)
		dq := dot(d, q)
		if dq <= 0 {
			break
		}
		a := rz / dq
		for i := range x {
			x[i] += a * d[i]
			r[i] -= a * q[i]
		}
		if math.Sqrt(dot(r, r)) <= 1e-13*bnorm+1e-300 {
			break
		}
		for i := range z {
			z[i] = r[i] / diag[i]
		}
		rzNew := dot(r, z)
		b := rzNew / rz
		rz = rzNew
		for i := range d {
			d[i] = z[i] + b*d[i]
		}
	}
	return centre(x)
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
