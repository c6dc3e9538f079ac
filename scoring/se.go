package scoring

import (
	"errors"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// covarianceResult holds standard errors under both parametrizations.
type covarianceResult struct {
	seCentred   []float64 // sum-to-zero parametrization
	seReference []float64 // contrasts with the reference item (nil without one)
	seGamma     float64   // the order effect's (with order)
	// cols are the sum-to-zero covariance columns of the focus items.
	cols map[int][]float64
}

// errOrderNotIdentified: the abilities explain all the information about
// the order effect.
var errOrderNotIdentified = errors.New("the order effect is not identified: the information about it is all explained by the abilities")

// DenseLimit is the number of items up to which the covariance comes from a
// dense Cholesky factorization; above it the variances come from
// preconditioned conjugate-gradient solves, eight columns in lockstep per
// core (cg.go; the information matrix of a large batch is sparse: a few
// dozen comparisons per item).
const DenseLimit = 1500

// denseLimit is DenseLimit; tests lower it to check the two paths agree.
var denseLimit = DenseLimit

// information returns the pair weights, the order column c and Hγγ of the
// likelihood's observed information at (theta, gamma).
func (p *problem) information(theta []float64, gamma float64, order, augmented bool) (w, c []float64, hgg float64) {
	w = make([]float64, len(p.pi))
	c = make([]float64, len(theta))
	var info []float64
	if augmented {
		info = make([]float64, len(theta))
		for _, cl := range p.cells {
			i, j := p.pi[cl.pair], p.pj[cl.pair]
			eta := theta[i] - theta[j]
			if order {
				eta += float64(cl.slot) * gamma
			}
			s := sigmoid(eta)
			info[i] += cl.n * s * (1 - s)
			info[j] += cl.n * s * (1 - s)
		}
	}
	for _, cl := range p.cells {
		i, j := p.pi[cl.pair], p.pj[cl.pair]
		eta := theta[i] - theta[j]
		if order {
			eta += float64(cl.slot) * gamma
		}
		s := sigmoid(eta)
		v := cl.n * s * (1 - s)
		if augmented {
			v += cl.n * s * (1 - s) * (1/info[i] + 1/info[j]) * s * (1 - s)
		}
		w[cl.pair] += v
		if order && cl.slot != 0 {
			sl := float64(cl.slot)
			c[i] += sl * v
			c[j] -= sl * v
			hgg += v
		}
	}
	return w, c, hgg
}

// covariance inverts the information at (theta, gamma). With H the observed
// information of the abilities (penalized for the alpha estimator), whose
// null space is spanned by 1, A = H + 11ᵀ/n is positive definite and
// A⁻¹ = H⁺ + 11ᵀ/n, so the sum-to-zero variances are diag(A⁻¹) − 1/n. With
// the order effect γ, the bordered information [[H, c], [cᵀ, h]] adds
// uuᵀ/s to H⁺ (u = H⁺c, s = h − cᵀu) and gives Var(γ) = 1/s. Contrast
// variances Var(θᵢ − θᵣ) do not depend on the parametrization, so the
// reference SEs come from the same inverse: they equal BradleyTerry2's SEs
// for refcat = r.
func (p *problem) covariance(theta []float64, gamma float64, order bool, alpha float64, ref int, augmented bool, focus []int) (covarianceResult, error) {
	n := len(theta)
	var w, cv []float64
	var hgg float64
	var pi []float64
	if alpha > 0 {
		g := make([]float64, n)
		w = make([]float64, len(p.pi))
		pi = p.gradient(theta, alpha, g, w)
	} else {
		w, cv, hgg = p.information(theta, gamma, order, augmented)
	}
	inv, err := p.inverse(w, pi, alpha)
	if err != nil {
		return covarianceResult{}, err
	}
	diag := inv.diag()
	res := covarianceResult{seCentred: make([]float64, n)}
	var u []float64
	var sch float64
	if order && hgg > 0 {
		u = inv.solve(cv)
		sch = hgg - dot(cv, u)
		if sch <= 1e-12*hgg {
			return covarianceResult{}, errOrderNotIdentified
		}
		res.seGamma = math.Sqrt(1 / sch)
		for i := range diag {
			diag[i] += u[i] * u[i] / sch
		}
		if augmented {
			// γ's own standard error from the likelihood's information:
			// the pseudo-observations carry none about it.
			pw, pc, ph := p.information(theta, gamma, order, false)
			pinv, err := p.inverseDenseUpTo(exactTrace, pw, nil, 0)
			if err != nil {
				return covarianceResult{}, err
			}
			if ps := ph - dot(pc, pinv.solve(pc)); ps > 0 {
				res.seGamma = math.Sqrt(1 / ps)
			}
		}
	}
	invN := 1 / float64(n)
	for i := range diag {
		res.seCentred[i] = math.Sqrt(math.Max(diag[i]-invN, 0))
	}
	if len(focus) > 0 {
		res.cols = make(map[int][]float64, len(focus))
		units := make([][]float64, len(focus))
		for k, f := range focus {
			units[k] = make([]float64, n)
			units[k][f] = 1
		}
		cols := inv.solveMany(units)
		for k, f := range focus {
			col := cols[k]
			for i := range col {
				col[i] -= invN
				if u != nil {
					col[i] += u[i] * u[f] / sch
				}
			}
			res.cols[f] = col
		}
	}
	if ref >= 0 {
		e := make([]float64, n)
		e[ref] = 1
		col := inv.solve(e)
		res.seReference = make([]float64, n)
		for i := 0; i < n; i++ {
			cross := col[i]
			if u != nil {
				cross += u[i] * u[ref] / sch
			}
			// The 1/n terms cancel in the contrast.
			v := diag[i] + diag[ref] - 2*cross
			res.seReference[i] = math.Sqrt(math.Max(v, 0))
		}
		res.seReference[ref] = 0
	}
	return res, nil
}

// inverter gives what the covariance needs of A⁻¹.
type inverter interface {
	diag() []float64
	solve(b []float64) []float64
	solveMany(bs [][]float64) [][]float64
}

// inverse prepares A⁻¹ for the pair weights w (and, for the alpha
// estimator, its dense penalty): a dense Cholesky factorization up to
// DenseLimit items, conjugate gradients above.
func (p *problem) inverse(w, pi []float64, alpha float64) (inverter, error) {
	return p.inverseDenseUpTo(denseLimit, w, pi, alpha)
}

// inverseDenseUpTo inverts densely up to limit items (or with alpha, whose
// penalty is not sparse), by conjugate gradients above.
func (p *problem) inverseDenseUpTo(limit int, w, pi []float64, alpha float64) (inverter, error) {
	if len(p.ids) <= limit || alpha > 0 {
		return p.denseInverse(w, pi, alpha)
	}
	return &cgInverse{a: newLaplacian(p, w)}, nil
}

// denseInv is A⁻¹ through a Cholesky factorization.
type denseInv struct {
	chol mat.Cholesky
	n    int
}

func (p *problem) denseInverse(w, pi []float64, alpha float64) (*denseInv, error) {
	n := len(p.ids)
	a := mat.NewSymDense(n, nil)
	raw := a.RawSymmetric()
	at := func(i, j int) *float64 {
		if i > j {
			i, j = j, i
		}
		return &raw.Data[i*raw.Stride+j]
	}
	inv := 1 / float64(n)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			*at(i, j) = inv
		}
	}
	for k := range p.pi {
		i, j := p.pi[k], p.pj[k]
		*at(i, i) += w[k]
		*at(j, j) += w[k]
		*at(i, j) -= w[k]
	}
	if alpha > 0 {
		an := alpha * float64(n)
		for i := 0; i < n; i++ {
			*at(i, i) += an * pi[i]
			for j := i; j < n; j++ {
				*at(i, j) -= an * pi[i] * pi[j]
			}
		}
	}
	d := &denseInv{n: n}
	if ok := d.chol.Factorize(a); !ok {
		return nil, errors.New("the information matrix is singular: some items are not linked by comparisons")
	}
	return d, nil
}

// diag is diag(A⁻¹): A = UᵀU, so A⁻¹ = U⁻¹U⁻ᵀ and diag(A⁻¹)ᵢ is the
// squared norm of row i of U⁻¹.
func (d *denseInv) diag() []float64 {
	var u, uinv mat.TriDense
	d.chol.UTo(&u)
	out := make([]float64, d.n)
	if err := uinv.InverseTri(&u); err != nil {
		for i := range out {
			out[i] = math.Inf(1)
		}
		return out
	}
	ur := uinv.RawTriangular()
	for i := 0; i < d.n; i++ {
		row := ur.Data[i*ur.Stride+i : i*ur.Stride+d.n]
		out[i] = dot(row, row)
	}
	return out
}

func (d *denseInv) solveMany(bs [][]float64) [][]float64 {
	out := make([][]float64, len(bs))
	for k, b := range bs {
		out[k] = d.solve(b)
	}
	return out
}

func (d *denseInv) solve(b []float64) []float64 {
	var x mat.VecDense
	if err := d.chol.SolveVecTo(&x, mat.NewVecDense(len(b), append([]float64(nil), b...))); err != nil {
		return make([]float64, len(b))
	}
	return append([]float64(nil), x.RawVector().Data...)
}

// widening is √(I*ᵢᵢ / Iᵢᵢ) per item: its information with the Jeffreys
// pseudo-observations over its information without.
func (p *problem) widening(theta []float64, gamma float64, order bool) []float64 {
	n := len(theta)
	plain := make([]float64, n)
	aug := make([]float64, n)
	eta := func(c cell) float64 {
		e := theta[p.pi[c.pair]] - theta[p.pj[c.pair]]
		if order {
			e += float64(c.slot) * gamma
		}
		return e
	}
	for _, c := range p.cells {
		s := sigmoid(eta(c))
		v := c.n * s * (1 - s)
		plain[p.pi[c.pair]] += v
		plain[p.pj[c.pair]] += v
	}
	for _, c := range p.cells {
		i, j := p.pi[c.pair], p.pj[c.pair]
		s := sigmoid(eta(c))
		v := c.n * s * (1 - s)
		va := v + v*(1/plain[i]+1/plain[j])*s*(1-s)
		aug[i] += va
		aug[j] += va
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = 1
		if plain[i] > 0 {
			out[i] = math.Sqrt(aug[i] / plain[i])
		}
	}
	return out
}

// exactTrace is the number of items up to which meanVariance takes every
// diagonal entry (a variable: tests raise it for an exact reference);
// traceProbes is how many random vectors it averages above.
var exactTrace = 256

const traceProbes = 32

// meanVariance is the abilities' mean sum-to-zero error variance from the
// likelihood's information at (theta, gamma), (tr(A⁻¹) − 1)/n: exact up to
// exactTrace items, above from Hutchinson's estimator. For a random sign
// vector z centred to zᶜ = z − z̄1, E[zᶜᵀA⁻¹zᶜ] = tr(A⁻¹) − 1, and its
// spread comes only from the off-diagonal entries of A⁻¹, which a
// comparison design keeps small: traceProbes vectors give the mean to a
// fraction of a percent (TestMeanVarianceEstimate). The vectors are seeded
// by n, so the same data give the same figure.
func (p *problem) meanVariance(theta []float64, gamma float64, order bool) float64 {
	n := len(theta)
	w, _, _ := p.information(theta, gamma, order, false)
	if n <= exactTrace {
		inv, err := p.denseInverse(w, nil, 0)
		if err != nil {
			return math.NaN()
		}
		var s float64
		for _, v := range inv.diag() {
			s += v
		}
		return (s - 1) / float64(n)
	}
	r := rand.New(rand.NewPCG(uint64(n), 0x7ace))
	probes := make([][]float64, traceProbes)
	for k := range probes {
		z := make([]float64, n)
		var mean float64
		for i := range z {
			z[i] = 1
			if r.Uint64()&1 == 0 {
				z[i] = -1
			}
			mean += z[i]
		}
		mean /= float64(n)
		for i := range z {
			z[i] -= mean
		}
		probes[k] = z
	}
	var s float64
	inv := &cgInverse{a: newLaplacian(p, w)}
	for _, q := range inv.quadratic(probes) {
		s += q
	}
	return s / traceProbes / float64(n)
}
