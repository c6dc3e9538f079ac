package scoring

import (
	"errors"
	"math"

	"gonum.org/v1/gonum/mat"
)

// covarianceResult holds standard errors under both parametrizations.
type covarianceResult struct {
	seCentred   []float64 // sum-to-zero parametrization
	seReference []float64 // contrasts with the reference item (nil without one)
}

// covariance inverts the information at theta. With H the (penalized)
// observed information, whose null space is spanned by 1, A = H + 11ᵀ/n is
// positive definite and A⁻¹ = H⁺ + 11ᵀ/n, so the sum-to-zero variances are
// diag(A⁻¹) − 1/n. Contrast variances Var(θᵢ − θᵣ) = H⁺ᵢᵢ + H⁺ᵣᵣ − 2H⁺ᵢᵣ do not
// depend on the parametrization, so the reference SEs come from the same
// factorization: they equal BradleyTerry2's SEs for refcat = r.
func (p *problem) covariance(theta []float64, alpha float64, ref int) (covarianceResult, error) {
	n := len(theta)
	a := mat.NewSymDense(n, nil)
	g := make([]float64, n)
	w := make([]float64, len(p.pi))
	pi := p.gradient(theta, alpha, g, w)
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
	var chol mat.Cholesky
	if ok := chol.Factorize(a); !ok {
		return covarianceResult{}, errors.New("the information matrix is singular: some items are not linked by comparisons; use alpha > 0")
	}
	// A = UᵀU, so A⁻¹ = U⁻¹U⁻ᵀ and diag(A⁻¹)ᵢ is the squared norm of row i
	// of U⁻¹.
	var u, uinv mat.TriDense
	chol.UTo(&u)
	if err := uinv.InverseTri(&u); err != nil {
		return covarianceResult{}, errors.New("the information matrix is numerically singular; use alpha > 0")
	}
	ur := uinv.RawTriangular()
	diag := make([]float64, n)
	for i := 0; i < n; i++ {
		row := ur.Data[i*ur.Stride+i : i*ur.Stride+n]
		diag[i] = dot(row, row)
	}
	res := covarianceResult{seCentred: make([]float64, n)}
	for i := range diag {
		res.seCentred[i] = math.Sqrt(math.Max(diag[i]-inv, 0))
	}
	if ref >= 0 {
		// Column ref of A⁻¹ = U⁻¹ (U⁻ᵀ e_ref); U⁻ᵀ e_ref is row ref of U⁻¹
		// laid out as a column.
		col := make([]float64, n)
		rrow := ur.Data[ref*ur.Stride : ref*ur.Stride+n]
		for i := 0; i < n; i++ {
			row := ur.Data[i*ur.Stride : i*ur.Stride+n]
			var s float64
			for k := max(i, ref); k < n; k++ {
				s += row[k] * rrow[k]
			}
			col[i] = s
		}
		res.seReference = make([]float64, n)
		for i := 0; i < n; i++ {
			// The 1/n terms cancel in the contrast.
			v := diag[i] + diag[ref] - 2*col[i]
			res.seReference[i] = math.Sqrt(math.Max(v, 0))
		}
		res.seReference[ref] = 0
	}
	return res, nil
}
