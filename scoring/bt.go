// Package scoring fits the Bradley–Terry model to paired comparisons, derives
// standard errors and reliability, and projects abilities onto grade scales.
//
// It is pure computation: no I/O, no clocks, and randomness only from seeds
// the caller gives (split halves, the projection's bootstrap) or derives from
// the data (trace probes). Given the same comparisons (in any order) and
// seeds it returns bit-identical results on any machine: parallel work is
// divided by index, never by core count.
package scoring

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// DefaultAlpha is the regularization of the production CJ service's
// estimator (choix's ILSR), kept for the service-parity fit.
const DefaultAlpha = 0.01

// Estimators Fit offers.
const (
	// EstimatorJeffreys maximizes ℓ(θ) + ½ Σᵢ log Iᵢᵢ(θ): the likelihood
	// under Jeffreys' independence prior (the product of each ability's own
	// Jeffreys prior), a Firth-type bias reduction. Every item that won or
	// lost all its comparisons still gets a finite ability with an honest
	// standard error, and the penalty is symmetric. The default
	// (docs/STATISTICS.md says why).
	EstimatorJeffreys = "jeffreys"
	// EstimatorAlpha maximizes ℓ(θ) + α·Σᵢ log softmax(θ)ᵢ, the fixed point
	// of choix's ILSR: the production CJ service's estimator.
	EstimatorAlpha = "alpha"
	// EstimatorML is the plain maximum-likelihood estimate; it exists only
	// when the win graph is strongly connected. It matches R's
	// BradleyTerry2.
	EstimatorML = "ml"
)

// Estimators lists the estimators Fit accepts.
var Estimators = []string{EstimatorJeffreys, EstimatorAlpha, EstimatorML}

// Slot says where a comparison's winner sat, when the pair's orientation is
// known.
type Slot int8

// Slots.
const (
	SlotB       Slot = -1 // the winner was essay B
	SlotUnknown Slot = 0
	SlotA       Slot = 1 // the winner was essay A
)

// Comparison is one judged pair. Repeated pairs count every time.
type Comparison struct {
	Winner string
	Loser  string
	// Slot is where the winner sat; with orientations known the Jeffreys fit
	// estimates the order effect (the advantage of slot A) with the
	// abilities.
	Slot Slot
	// Judge names who judged (provider/model), for judge fit; "" when
	// unknown.
	Judge string
}

// Options steer Fit. The zero value is not useful; start from DefaultOptions.
type Options struct {
	// Estimator is one of Estimators ("" means EstimatorJeffreys, or
	// EstimatorAlpha/EstimatorML when only Alpha is set, as before
	// estimators had names).
	Estimator string
	// Alpha is EstimatorAlpha's regularization strength.
	Alpha float64
	// Reference, when set, names the item whose ability is fixed at 0. Thetas
	// are then reported relative to it and SEs are those of the contrasts with
	// it (the parametrization of R's BradleyTerry2 with refcat); the reference
	// item's SE is 0. When empty, thetas are mean-centred and SEs are those of
	// the sum-to-zero parametrization.
	Reference string
	// Items lists items to include even if they appear in no comparison.
	// Their order also fixes the order of Result.Items; items only seen in
	// comparisons follow, sorted. With EstimatorAlpha every item gets a
	// finite ability; with the others an item never compared gets none and
	// is listed in Result.Excluded.
	Items []string
	// Focus names items (the anchors) whose connected component is fitted
	// by the Jeffreys estimator: abilities are comparable only within a
	// component. Empty: the largest component. Items of other components
	// are listed in Result.Excluded.
	Focus []string
	// NoOrder fits no order effect even when slots are known.
	NoOrder bool
	// SkipSE skips the standard errors and everything built on them (SSR,
	// the order effect's SE): a fast refit for live rankings.
	SkipSE bool
	// Tolerance ends the iteration once the largest Newton step is at most
	// this (in logits).
	Tolerance float64
	// MaxIterations caps the Newton iterations.
	MaxIterations int

	// penalty is the Jeffreys penalty's weight (0: ½); a split half uses
	// ¼, so that each half is the same estimator on half the data.
	penalty float64
	// meanVariance skips the standard errors but sets Result.meanVar, the
	// mean error variance: what the split-half's length factor needs.
	meanVariance bool
}

// DefaultOptions returns the default fit: the Jeffreys estimator, the
// order effect when slots are known, mean-centred thetas, tolerance 1e-10,
// at most 200 Newton iterations.
func DefaultOptions() Options {
	return Options{Estimator: EstimatorJeffreys, Tolerance: 1e-10, MaxIterations: 200}
}

// ServiceOptions are the production CJ service's estimator: alpha 0.01 over
// every item, no order effect.
func ServiceOptions() Options {
	return Options{Estimator: EstimatorAlpha, Alpha: DefaultAlpha, NoOrder: true, Tolerance: 1e-10, MaxIterations: 200}
}

// Item is one item's fitted ability and its record.
type Item struct {
	ID          string  `json:"id"`
	Theta       float64 `json:"theta"`
	SE          float64 `json:"se"`
	Wins        int     `json:"wins"`
	Losses      int     `json:"losses"`
	Comparisons int     `json:"comparisons"`
	// Infit and Outfit are the information-weighted and unweighted mean
	// squares of the item's standardized residuals (expected 1).
	Infit  float64 `json:"infit"`
	Outfit float64 `json:"outfit"`
}

// Excluded is an item left out of the fit, and why.
type Excluded struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// OrderEffect is the estimated advantage of slot A in logits:
// P(A beats B) = σ(θ_A − θ_B + γ).
type OrderEffect struct {
	Estimate    float64 `json:"estimate"`
	SE          float64 `json:"se"`
	Comparisons int     `json:"comparisons"` // with known slots
}

// JudgeFit is one judge's infit and outfit over its comparisons.
type JudgeFit struct {
	Judge       string  `json:"judge"`
	Comparisons int     `json:"comparisons"`
	Infit       float64 `json:"infit"`
	Outfit      float64 `json:"outfit"`
}

// Result is a fitted model with its diagnostics.
type Result struct {
	// Items are the fitted items: with the Jeffreys estimator those of the
	// focused component, otherwise every item.
	Items         []Item
	Estimator     string
	Alpha         float64
	Reference     string
	Tolerance     float64
	MaxIterations int
	Iterations    int
	Converged     bool
	// SSR is the scale separation reliability (var(θ) − mean(SE²)) / var(θ),
	// computed with sum-to-zero SEs over the fitted items whatever the
	// reporting parametrization; nil when it is undefined (SSRNote says
	// why), and 0 when the measurement error exceeds the spread (SSRNote
	// says so).
	SSR     *float64
	SSRNote string
	// Order is the order effect, when slots were known and it was fitted.
	Order *OrderEffect
	// Components are the connected components of the comparison graph
	// (ignoring direction) over every item, each sorted, largest first.
	Components [][]string
	// Excluded are the items without an ability, with the reason.
	Excluded []Excluded
	// Undefeated lists items that won every comparison they took part in;
	// Winless those that lost every one; Uncompared those never compared.
	Undefeated []string
	Winless    []string
	Uncompared []string
	// Judges are the judges' fit statistics, by judge; Misfits the items
	// whose infit is above the mean plus two standard deviations (Pollitt).
	Judges  []JudgeFit
	Misfits []string
	// PairDistance is the mean |θ difference| of the compared pairs over
	// that of all pairs of fitted items: about 1 for random pairing, well
	// below 1 for adaptive pairing, which inflates SSR.
	PairDistance float64

	// focusCols are the covariance columns of the focus items, by index.
	focusCols map[int][]float64
	// widen scales each item's uncertainty for grade projection (see
	// ForProjection).
	widen []float64
	// meanVar is the mean error variance of the abilities (with
	// Options.meanVariance).
	meanVar float64
}

// ForProjection returns the items and the covariance that grade
// projection integrates over. For the Jeffreys estimator each item's
// uncertainty is widened by √(I*ᵢᵢ / Iᵢᵢ), its information with the
// pseudo-observations over its information without: the likelihood's own
// uncertainty, which the shrunk estimate of an essay at the edge of the
// scale needs for honest grade probabilities (docs/STATISTICS.md shows the
// calibration). Otherwise they are Items and Covariance as they are.
func (r *Result) ForProjection() ([]Item, func(i, j int) float64) {
	if r.widen == nil {
		return r.Items, r.Covariance
	}
	items := append([]Item(nil), r.Items...)
	for i := range items {
		items[i].SE *= r.widen[i]
	}
	return items, func(i, j int) float64 { return r.Covariance(i, j) * r.widen[i] * r.widen[j] }
}

// Covariance is the sum-to-zero covariance of two fitted items' abilities
// (indices into Items): exact when either is a focus item (Options.Focus),
// the variance on the diagonal, 0 otherwise.
func (r *Result) Covariance(i, j int) float64 {
	if col, ok := r.focusCols[j]; ok {
		return col[i]
	}
	if col, ok := r.focusCols[i]; ok {
		return col[j]
	}
	if i == j {
		return r.Items[i].SE * r.Items[i].SE
	}
	return 0
}

// Adaptive reports whether the pairing looks adaptive: compared pairs
// markedly closer in ability than random pairs.
func (r *Result) Adaptive() bool { return r.PairDistance > 0 && r.PairDistance < AdaptiveBelow }

// AdaptiveBelow is the pair-distance ratio under which pairing counts as
// adaptive.
const AdaptiveBelow = 0.8

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
// disconnected comparison graphs, items left out, items at the edge, an
// undefined reliability, adaptive pairing and non-convergence. Empty when
// there is nothing to say.
func (r *Result) Notes() []string {
	var notes []string
	if !r.Converged {
		notes = append(notes, fmt.Sprintf("did not converge within %d iterations (tolerance %g)", r.MaxIterations, r.Tolerance))
	}
	if len(r.Components) > 1 {
		notes = append(notes, fmt.Sprintf("the comparison graph has %d separate components; abilities are only comparable within a component", len(r.Components)))
	}
	for _, e := range r.Excluded {
		notes = append(notes, fmt.Sprintf("%s has no ability: %s", e.ID, e.Reason))
	}
	if len(r.Undefeated) > 0 {
		notes = append(notes, fmt.Sprintf("won every comparison (finite only through the estimator's prior): %s", strings.Join(r.Undefeated, ", ")))
	}
	if len(r.Winless) > 0 {
		notes = append(notes, fmt.Sprintf("lost every comparison (finite only through the estimator's prior): %s", strings.Join(r.Winless, ", ")))
	}
	if r.SSRNote != "" {
		notes = append(notes, "SSR: "+r.SSRNote)
	}
	if r.Adaptive() {
		notes = append(notes, fmt.Sprintf("the pairing looks adaptive (compared pairs are %.0f%% as far apart as random pairs): SSR overstates reliability under adaptive pairing; rely on the split-half estimate", 100*r.PairDistance))
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

// Fit estimates Bradley–Terry abilities by damped Newton–Raphson on the
// (penalized) log-likelihood, then standard errors from the observed Fisher
// information, reliability and fit statistics. It returns an error, never
// NaN, for unusable input.
func Fit(comparisons []Comparison, opts Options) (*Result, error) {
	if math.IsNaN(opts.Alpha) || math.IsInf(opts.Alpha, 0) || opts.Alpha < 0 {
		return nil, fmt.Errorf("alpha must be a finite number ≥ 0, got %v", opts.Alpha)
	}
	switch opts.Estimator {
	case "":
		opts.Estimator = EstimatorML
		if opts.Alpha > 0 {
			opts.Estimator = EstimatorAlpha
		}
	case EstimatorAlpha:
		if opts.Alpha == 0 {
			opts.Estimator = EstimatorML
		}
	case EstimatorJeffreys, EstimatorML:
	default:
		return nil, fmt.Errorf("estimator %q is not one of %s", opts.Estimator, strings.Join(Estimators, ", "))
	}
	if opts.Estimator != EstimatorAlpha {
		opts.Alpha = 0
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
	if len(comparisons) == 0 && (len(opts.Items) == 0 || opts.Estimator != EstimatorAlpha) {
		return nil, ErrNoComparisons
	}
	full, err := buildProblem(comparisons, opts.Items)
	if err != nil {
		return nil, err
	}
	res := &Result{
		Estimator:     opts.Estimator,
		Alpha:         opts.Alpha,
		Reference:     opts.Reference,
		Tolerance:     opts.Tolerance,
		MaxIterations: opts.MaxIterations,
		Components:    full.components(),
	}
	for i, id := range full.ids {
		switch {
		case full.wins[i] == 0 && full.losses[i] == 0:
			res.Uncompared = append(res.Uncompared, id)
		case full.losses[i] == 0:
			res.Undefeated = append(res.Undefeated, id)
		case full.wins[i] == 0:
			res.Winless = append(res.Winless, id)
		}
	}
	sort.Strings(res.Undefeated)
	sort.Strings(res.Winless)
	sort.Strings(res.Uncompared)

	p := full
	if opts.Estimator == EstimatorJeffreys {
		// Abilities are only comparable within a component: fit the one the
		// focus items (the anchors) are in, or the largest.
		keep, excluded := focusComponent(full, res.Components, opts.Focus)
		res.Excluded = excluded
		if len(keep) < 2 {
			return nil, ErrNoComparisons
		}
		p = full.sub(keep)
	}
	if opts.Estimator == EstimatorML {
		if groups := p.strongComponents(); len(groups) > 1 {
			return nil, &NoMLEError{Undefeated: res.Undefeated, Winless: res.Winless, Uncompared: res.Uncompared, Groups: groups}
		}
	}
	n := len(p.ids)
	ref := -1
	if opts.Reference != "" {
		i, ok := p.index[opts.Reference]
		if !ok {
			return nil, fmt.Errorf("reference item %q does not appear among the fitted items", opts.Reference)
		}
		ref = i
	}

	var theta []float64
	gamma, withOrder := 0.0, false
	switch opts.Estimator {
	case EstimatorJeffreys:
		withOrder = !opts.NoOrder && p.oriented >= minOrdered(n)
		pw := opts.penalty
		if pw <= 0 {
			pw = 0.5
		}
		theta, gamma, res.Iterations, res.Converged, err = p.jeffreys(withOrder, pw, opts.Tolerance, opts.MaxIterations)
	default:
		theta, res.Iterations, res.Converged, err = p.newton(opts.Alpha, opts.Tolerance, opts.MaxIterations)
	}
	if err != nil {
		return nil, err
	}

	se := make([]float64, n)
	seRef := []float64(nil)
	if !opts.SkipSE {
		var focus []int
		for _, f := range opts.Focus {
			if i, ok := p.index[f]; ok {
				focus = append(focus, i)
			}
		}
		cov, err := p.covariance(theta, gamma, withOrder, opts.Alpha, ref, opts.Estimator == EstimatorJeffreys, focus)
		if errors.Is(err, errOrderNotIdentified) {
			// Refit without it.
			withOrder, gamma = false, 0
			pw := opts.penalty
			if pw <= 0 {
				pw = 0.5
			}
			if theta, _, res.Iterations, res.Converged, err = p.jeffreys(false, pw, opts.Tolerance, opts.MaxIterations); err != nil {
				return nil, err
			}
			cov, err = p.covariance(theta, 0, false, opts.Alpha, ref, true, focus) // the Jeffreys refit
		}
		if err != nil {
			return nil, err
		}
		se, seRef = cov.seCentred, cov.seReference
		res.focusCols = cov.cols
		if opts.Estimator == EstimatorJeffreys {
			res.widen = p.widening(theta, gamma, withOrder)
		}
		if withOrder {
			res.Order = &OrderEffect{Estimate: gamma, SE: cov.seGamma, Comparisons: p.oriented}
		}
	} else if withOrder {
		res.Order = &OrderEffect{Estimate: gamma, Comparisons: p.oriented}
	}
	if opts.meanVariance {
		res.meanVar = p.meanVariance(theta, gamma, withOrder)
	}
	shift := mean(theta)
	if ref >= 0 {
		shift = theta[ref]
	}
	fs := p.fitStats(theta, gamma)
	res.Items = make([]Item, n)
	for i, id := range p.ids {
		s := se[i]
		if seRef != nil {
			s = seRef[i]
		}
		res.Items[i] = Item{
			ID:          id,
			Theta:       theta[i] - shift,
			SE:          s,
			Wins:        p.wins[i],
			Losses:      p.losses[i],
			Comparisons: p.wins[i] + p.losses[i],
			Infit:       fs.infit[i],
			Outfit:      fs.outfit[i],
		}
		if math.IsNaN(res.Items[i].Theta) || math.IsInf(res.Items[i].Theta, 0) || math.IsNaN(s) || math.IsInf(s, 0) {
			return nil, fmt.Errorf("fit of item %q is not finite; the data may be too extreme for the %s estimator", id, opts.Estimator)
		}
	}
	res.Judges, res.Misfits = fs.judges, fs.misfits
	res.PairDistance = p.pairDistance(theta)
	if !opts.SkipSE {
		res.SSR, res.SSRNote = ssrOf(theta, se, p)
	}
	return res, nil
}

// minOrdered is how many oriented comparisons the order effect needs before
// it is fitted: one parameter more is worth it only with enough data.
func minOrdered(n int) int { return max(20, n) }

// focusComponent picks the component to fit: the one holding most of the
// focus items, else the largest; the items of the others are excluded with
// the reason.
func focusComponent(p *problem, comps [][]string, focus []string) (keep []int, excluded []Excluded) {
	best, bestN := 0, -1
	if len(focus) > 0 {
		in := map[string]bool{}
		for _, f := range focus {
			in[f] = true
		}
		for c, comp := range comps {
			k := 0
			for _, id := range comp {
				if in[id] {
					k++
				}
			}
			if k > bestN {
				best, bestN = c, k
			}
		}
	}
	chosen := map[string]bool{}
	for _, id := range comps[best] {
		chosen[id] = true
	}
	what := "the largest component"
	if bestN > 0 {
		what = "the anchors' component"
	}
	for i, id := range p.ids {
		switch {
		case chosen[id]:
			keep = append(keep, i)
		case p.wins[i]+p.losses[i] == 0:
			excluded = append(excluded, Excluded{ID: id, Reason: "never compared"})
		default:
			size := 0
			for _, comp := range comps {
				for _, x := range comp {
					if x == id {
						size = len(comp)
					}
				}
			}
			excluded = append(excluded, Excluded{ID: id, Reason: fmt.Sprintf("its comparisons (in a group of %d items) never link it to %s (%d items); abilities are comparable only within a connected group", size, what, len(comps[best]))})
		}
	}
	sort.Slice(excluded, func(a, b int) bool { return excluded[a].ID < excluded[b].ID })
	return keep, excluded
}

// MinItemsForSSR and the other guards: SSR needs a few items and at least
// as many comparisons as items before it says anything.
const MinItemsForSSR = 3

// ssrOf is the SSR of the fitted items with the reason when it is
// undefined or clamped.
func ssrOf(theta, se []float64, p *problem) (*float64, string) {
	n := len(theta)
	var m float64
	for _, c := range p.nij {
		m += c
	}
	switch {
	case n < MinItemsForSSR:
		return nil, fmt.Sprintf("undefined: %d fitted items, at least %d needed", n, MinItemsForSSR)
	case m < float64(n):
		return nil, fmt.Sprintf("undefined: %.0f comparisons for %d items; at least as many comparisons as items are needed", m, n)
	}
	v := ssr(theta, se)
	if math.IsNaN(v) {
		return nil, "undefined: the abilities do not vary"
	}
	if v < 0 {
		zero := 0.0
		return &zero, fmt.Sprintf("the measurement error exceeds the spread of the abilities (raw estimate %.2f): reported as 0", v)
	}
	return &v, ""
}

// ssr is the scale separation reliability of thetas with their SEs:
// (var(θ) − mean(SE²)) / var(θ), with the sample variance (n − 1). It is 0
// with fewer than two items, NaN when the thetas do not vary.
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
		return math.NaN()
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
