package scoring

import (
	"errors"
	"math"
)

// jeffreysState holds what one evaluation of the Jeffreys objective needs.
type jeffreysState struct {
	eta  []float64 // per cell
	info []float64 // per item: the likelihood information Iᵢᵢ
}

// eval computes the cells' linear predictors and the items' information at
// (theta, gamma) and returns the penalized log-likelihood
// ℓ(θ, γ) + ½ Σᵢ log Iᵢᵢ(θ, γ).
func (p *problem) evalJeffreys(theta []float64, gamma, pw float64, st *jeffreysState) float64 {
	for i := range st.info {
		st.info[i] = 0
	}
	var f float64
	for k, c := range p.cells {
		i, j := p.pi[c.pair], p.pj[c.pair]
		eta := theta[i] - theta[j] + float64(c.slot)*gamma
		st.eta[k] = eta
		s := sigmoid(eta)
		v := c.n * s * (1 - s)
		st.info[i] += v
		st.info[j] += v
		f += c.w*logSigmoid(eta) + (c.n-c.w)*logSigmoid(-eta)
	}
	for i, v := range st.info {
		if v <= 0 {
			return math.Inf(-1)
		}
		f += pw*math.Log(v) + separationPrior*(logSigmoid(theta[i])+logSigmoid(-theta[i]))
	}
	return f
}

// separationPrior is the weight of a weak logistic prior on each (centred)
// ability, ε·(log σ(θ) + log σ(−θ)): ε pseudo-wins and ε pseudo-losses
// against an average essay. The Jeffreys term keeps a single essay that won
// or lost everything finite, but not a group of essays that never lost to
// the rest (quasi-complete separation): its information survives inside the
// group. This term does, with a pull too weak to matter elsewhere.
const separationPrior = 0.01

// jeffreys maximizes ℓ(θ, γ) + pw·Σᵢ log Iᵢᵢ(θ, γ) (pw = ½: Jeffreys'
// independence prior), with γ (the advantage of slot A) when order is set.
// The penalty's gradient is Firth's modified score with each cell's
// leverage taken as vᵤ(1/Iᵢᵢ + 1/Iⱼⱼ). Newton steps solve with the exact
// Hessian, applied matrix-free in O(cells) (the penalty's Hessian is a
// weighted Laplacian plus one rank-one term per item), by preconditioned
// conjugate gradients; where the Hessian is not positive definite (far from
// the optimum) the step uses the information of the pseudo-data instead. A
// backtracking line search on the penalized likelihood keeps every step an
// ascent; θ stays mean-centred.
func (p *problem) jeffreys(order bool, pw, tol float64, maxIter int) (theta []float64, gamma float64, iters int, converged bool, err error) {
	n := len(p.ids)
	m := n
	if order {
		m = n + 1 // the last parameter is γ
	}
	theta = make([]float64, n)
	st := &jeffreysState{eta: make([]float64, len(p.cells)), info: make([]float64, n)}
	next := &jeffreysState{eta: make([]float64, len(p.cells)), info: make([]float64, n)}
	f := p.evalJeffreys(theta, 0, pw, st)
	h := &hessian{p: p, n: n, m: m, pw: pw, order: order,
		k: make([]float64, len(p.cells)), d1: make([]float64, len(p.cells)), aug: make([]float64, len(p.cells)),
		info: st.info, t: make([]float64, n), prior: make([]float64, n)}
	g := make([]float64, m)
	trial := make([]float64, n)
	for it := 1; it <= maxIter; it++ {
		for i := range g {
			g[i] = 0
		}
		for k, c := range p.cells {
			i, j := p.pi[c.pair], p.pj[c.pair]
			s := sigmoid(st.eta[k])
			v := c.n * s * (1 - s)
			lev := v * (1/st.info[i] + 1/st.info[j])
			ge := c.w - c.n*s + pw*lev*(1-2*s)
			g[i] += ge
			g[j] -= ge
			if order {
				g[n] += float64(c.slot) * ge
			}
			v2 := v * (1 - 6*s + 6*s*s)
			h.k[k] = v - pw*(1/st.info[i]+1/st.info[j])*v2
			h.d1[k] = v * (1 - 2*s)
			h.aug[k] = (c.n + 2*pw*lev) * s * (1 - s)
		}
		// The separation prior, on the centred abilities.
		var gm float64
		for i := 0; i < n; i++ {
			s := sigmoid(theta[i])
			g[i] += separationPrior * (1 - 2*s)
			h.prior[i] = 2 * separationPrior * s * (1 - s)
			gm += g[i]
		}
		gm /= float64(n)
		for i := 0; i < n; i++ {
			g[i] -= gm
		}
		h.info = st.info
		delta, ok := h.solve(g, false)
		if !ok {
			delta, _ = h.solve(g, true)
		}
		dGamma := 0.0
		if order {
			dGamma = delta[n]
		}
		step := 1.0
		accepted := false
		var fn float64
		for tries := 0; tries < 60; tries++ {
			for i := range theta {
				trial[i] = theta[i] + step*delta[i]
			}
			fn = p.evalJeffreys(trial, gamma+step*dGamma, pw, next)
			if !math.IsNaN(fn) && fn >= f-1e-12*math.Abs(f) {
				accepted = true
				break
			}
			step /= 2
		}
		if !accepted {
			// No ascent possible at machine precision: at the optimum.
			return centre(theta), gamma, it, true, nil
		}
		maxStep := math.Abs(step * dGamma)
		for i := range theta {
			maxStep = math.Max(maxStep, math.Abs(trial[i]-theta[i]))
		}
		copy(theta, trial)
		centre(theta)
		gamma += step * dGamma
		f = p.evalJeffreys(theta, gamma, pw, st)
		for _, t := range theta {
			if math.IsNaN(t) || math.IsInf(t, 0) {
				return nil, 0, it, false, errors.New("the fit diverged (non-finite ability)")
			}
		}
		if math.IsNaN(gamma) || math.IsInf(gamma, 0) {
			return nil, 0, it, false, errors.New("the fit diverged (non-finite order effect)")
		}
		if maxStep <= tol {
			return theta, gamma, it, true, nil
		}
	}
	return theta, gamma, maxIter, false, nil
}

// hessian applies the negative Hessian of the Jeffreys objective (or, with
// aug, the information of the pseudo-data) to a parameter vector (θ, then γ
// when order), plus 11ᵀ/n on θ for the shift invariance.
type hessian struct {
	p          *problem
	n, m       int
	pw         float64
	order      bool
	k, d1, aug []float64 // per cell: Laplacian weight, ∂v/∂η, pseudo-data weight
	info       []float64 // per item: Iᵢᵢ
	t          []float64 // per item scratch
	prior      []float64 // per item: the separation prior's curvature
}

func (h *hessian) mul(x, y []float64, aug bool) {
	p, n := h.p, h.n
	for i := range y {
		y[i] = 0
	}
	if !aug {
		for i := range h.t {
			h.t[i] = 0
		}
	}
	var sx float64
	for i := 0; i < n; i++ {
		sx += x[i]
	}
	for k, c := range p.cells {
		a, b := p.pi[c.pair], p.pj[c.pair]
		dx := x[a] - x[b]
		if h.order {
			dx += float64(c.slot) * x[n]
		}
		w := h.k[k]
		if aug {
			w = h.aug[k]
		}
		y[a] += w * dx
		y[b] -= w * dx
		if h.order {
			y[n] += float64(c.slot) * w * dx
		}
		if !aug {
			// tᵢ = ∇Iᵢᵀx for both ends.
			h.t[a] += h.d1[k] * dx
			h.t[b] += h.d1[k] * dx
		}
	}
	if !aug {
		// + pw Σᵢ (tᵢ / Iᵢᵢ²) ∇Iᵢ, ∇Iᵢ = Σ_{cells of i} v′ ∇η.
		for k, c := range p.cells {
			a, b := p.pi[c.pair], p.pj[c.pair]
			coef := h.pw * h.d1[k] * (h.t[a]/(h.info[a]*h.info[a]) + h.t[b]/(h.info[b]*h.info[b]))
			y[a] += coef
			y[b] -= coef
			if h.order {
				y[n] += float64(c.slot) * coef
			}
		}
	}
	for i := 0; i < n; i++ {
		y[i] += sx/float64(n) + h.prior[i]*x[i]
	}
}

// solve solves H δ = g by Jacobi-preconditioned conjugate gradients; ok
// is false when H showed a direction of non-positive curvature.
func (h *hessian) solve(g []float64, aug bool) ([]float64, bool) {
	m, n, p := h.m, h.n, h.p
	pre := make([]float64, m)
	for k, c := range p.cells {
		a, b := p.pi[c.pair], p.pj[c.pair]
		w := h.k[k]
		if aug {
			w = h.aug[k]
		}
		pre[a] += w
		pre[b] += w
		if h.order {
			pre[n] += math.Abs(float64(c.slot)) * w
		}
		if !aug {
			pre[a] += h.pw * h.d1[k] * h.d1[k] / (h.info[a] * h.info[a])
			pre[b] += h.pw * h.d1[k] * h.d1[k] / (h.info[b] * h.info[b])
		}
	}
	for i := range pre {
		if i < n {
			pre[i] += 1/float64(n) + h.prior[i]
		}
		if pre[i] <= 0 {
			if !aug {
				return nil, false
			}
			pre[i] = 1
		}
		pre[i] = 1 / pre[i]
	}
	x := make([]float64, m)
	r := append([]float64(nil), g...)
	z := make([]float64, m)
	for i := range z {
		z[i] = r[i] * pre[i]
	}
	d := append([]float64(nil), z...)
	q := make([]float64, m)
	rz := dot(r, z)
	bnorm := math.Sqrt(dot(g, g))
	if bnorm == 0 {
		return x, true
	}
	for it := 0; it < 10*m+100; it++ {
		h.mul(d, q, aug)
		dq := dot(d, q)
		if dq <= 0 {
			if !aug {
				return nil, false
			}
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
			z[i] = r[i] * pre[i]
		}
		rzNew := dot(r, z)
		beta := rzNew / rz
		rz = rzNew
		for i := range d {
			d[i] = z[i] + beta*d[i]
		}
	}
	centre(x[:n])
	return x, true
}
