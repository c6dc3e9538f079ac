package scoring

import (
	"runtime"
	"sync"
)

// laplacian is A = L + 11ᵀ/n in compressed rows, where L is the weighted
// Laplacian of the comparison graph for pair weights w. A large batch's
// graph is sparse — a few dozen comparisons per item — so A is applied in
// O(pairs) without ever being formed.
type laplacian struct {
	n     int
	start []int32   // row i's neighbours are col[start[i]:start[i+1]]
	col   []int32   // neighbour
	val   []float64 // the pair's weight
	deg   []float64 // row i's total weight
	pre   []float64 // Jacobi preconditioner: 1 / A_ii
}

func newLaplacian(p *problem, w []float64) *laplacian {
	n := len(p.ids)
	a := &laplacian{n: n, start: make([]int32, n+1), deg: make([]float64, n), pre: make([]float64, n)}
	for k := range p.pi {
		a.start[p.pi[k]+1]++
		a.start[p.pj[k]+1]++
	}
	for i := 0; i < n; i++ {
		a.start[i+1] += a.start[i]
	}
	a.col = make([]int32, a.start[n])
	a.val = make([]float64, a.start[n])
	fill := append([]int32(nil), a.start[:n]...)
	put := func(i, j int, v float64) {
		a.col[fill[i]] = int32(j)
		a.val[fill[i]] = v
		fill[i]++
		a.deg[i] += v
	}
	for k := range p.pi {
		put(p.pi[k], p.pj[k], w[k])
		put(p.pj[k], p.pi[k], w[k])
	}
	for i := range a.pre {
		a.pre[i] = 1 / (a.deg[i] + 1/float64(n))
	}
	return a
}

// cgBlock is how many right-hand sides share each pass over the matrix:
// the pass is bound by memory, not arithmetic, so solving eight systems
// costs little more than solving one.
const cgBlock = 8 // mulBlock is written out for eight

// cgTolerance is the relative residual at which a solve stops: solutions
// to about 1e-8 relative, times the condition number.
const cgTolerance = 1e-8

// cgVarianceTolerance is the relative size of the last addition at which a
// variance solve stops. The additions shrink by about ((√κ−1)/(√κ+1))² per
// iteration for a condition number κ, so even at κ = 10⁴ what is left is
// under 25 times the last addition: a variance to about 1e-8 relative.
const cgVarianceTolerance = 1e-9

// mulBlock sets y = A x for cgBlock columns stored interleaved — column c
// of row i is x[i*cgBlock+c] — and returns each column's xᵀy.
func (a *laplacian) mulBlock(x, y []float64) (xy [cgBlock]float64) {
	var sum [cgBlock]float64
	for i := 0; i < a.n; i++ {
		xi := (*[cgBlock]float64)(x[i*cgBlock:])
		for c := range sum {
			sum[c] += xi[c]
		}
	}
	inv := 1 / float64(a.n)
	for c := range sum {
		sum[c] *= inv
	}
	for i := 0; i < a.n; i++ {
		xi := (*[cgBlock]float64)(x[i*cgBlock:])
		// Eight named accumulators stay in registers; an array would not.
		d := a.deg[i]
		a0, a1, a2, a3 := d*xi[0]+sum[0], d*xi[1]+sum[1], d*xi[2]+sum[2], d*xi[3]+sum[3]
		a4, a5, a6, a7 := d*xi[4]+sum[4], d*xi[5]+sum[5], d*xi[6]+sum[6], d*xi[7]+sum[7]
		cols, vals := a.col[a.start[i]:a.start[i+1]], a.val[a.start[i]:a.start[i+1]]
		for k, j := range cols {
			xj := (*[cgBlock]float64)(x[int(j)*cgBlock:])
			v := vals[k]
			a0 -= v * xj[0]
			a1 -= v * xj[1]
			a2 -= v * xj[2]
			a3 -= v * xj[3]
			a4 -= v * xj[4]
			a5 -= v * xj[5]
			a6 -= v * xj[6]
			a7 -= v * xj[7]
		}
		*(*[cgBlock]float64)(y[i*cgBlock:]) = [cgBlock]float64{a0, a1, a2, a3, a4, a5, a6, a7}
		xy[0] += xi[0] * a0
		xy[1] += xi[1] * a1
		xy[2] += xi[2] * a2
		xy[3] += xi[3] * a3
		xy[4] += xi[4] * a4
		xy[5] += xi[5] * a5
		xy[6] += xi[6] * a6
		xy[7] += xi[7] * a7
	}
	return xy
}

// cgWork is one solver's buffers: cgBlock interleaved columns each.
type cgWork struct {
	x, r, z, d, q []float64
}

func newCGWork(n int) *cgWork {
	m := n * cgBlock
	return &cgWork{x: make([]float64, m), r: make([]float64, m), z: make([]float64, m), d: make([]float64, m), q: make([]float64, m)}
}

// solve runs up to cgBlock independent Jacobi-preconditioned conjugate
// gradient solves of A x = b in lockstep, sharing every matrix pass; rhs(c,
// i) is entry i of column c's right-hand side (columns beyond width are
// zero). Solution column c, entry i, is left in ws.x[i*cgBlock+c].
//
// A solve stops at the relative residual cgTolerance, or, when only bᵀx is
// wanted (a variance: b = e_i), once an iteration adds less than
// cgVarianceTolerance of it. From x₀ = 0 each iteration adds exactly
// αₖ rₖᵀzₖ to bᵀxₖ, and the additions shrink geometrically, so what is left
// is a small multiple of the last one.
func (a *laplacian) solve(ws *cgWork, width int, variance bool, rhs func(c, i int) float64) {
	n := a.n
	x, r, z, d, q := ws.x, ws.r, ws.z, ws.d, ws.q
	var rz, bb, energy [cgBlock]float64
	var active [cgBlock]bool
	for i := 0; i < n; i++ {
		for c := 0; c < cgBlock; c++ {
			k := i*cgBlock + c
			b := 0.0
			if c < width {
				b = rhs(c, i)
			}
			x[k] = 0
			r[k] = b
			z[k] = b * a.pre[i]
			d[k] = z[k]
			rz[c] += r[k] * z[k]
			bb[c] += b * b
		}
	}
	live := 0
	for c := range active {
		active[c] = bb[c] > 0
		if active[c] {
			live++
		}
	}
	// mask zeroes a finished column's preconditioned residual, so its
	// direction becomes zero and it stops moving.
	var mask [cgBlock]float64
	for c := range mask {
		if active[c] {
			mask[c] = 1
		}
	}
	stop := func(c int) {
		active[c] = false
		mask[c] = 0
		live--
	}
	for it := 0; live > 0 && it < 10*n+100; it++ {
		dq := a.mulBlock(d, q)
		var step [cgBlock]float64
		for c := range step {
			if !active[c] {
				continue
			}
			if dq[c] <= 0 {
				stop(c)
				continue
			}
			step[c] = rz[c] / dq[c]
		}
		var rr, rzNew [cgBlock]float64
		for i := 0; i < n; i++ {
			xi := (*[cgBlock]float64)(x[i*cgBlock:])
			ri := (*[cgBlock]float64)(r[i*cgBlock:])
			zi := (*[cgBlock]float64)(z[i*cgBlock:])
			di := (*[cgBlock]float64)(d[i*cgBlock:])
			qi := (*[cgBlock]float64)(q[i*cgBlock:])
			pre := a.pre[i]
			for c := range xi {
				xi[c] += step[c] * di[c]
				ri[c] -= step[c] * qi[c]
				rr[c] += ri[c] * ri[c]
				zi[c] = ri[c] * pre
				rzNew[c] += ri[c] * zi[c]
			}
		}
		var beta [cgBlock]float64
		for c := range beta {
			if !active[c] {
				continue
			}
			added := step[c] * rz[c]
			energy[c] += added
			if (variance && added <= cgVarianceTolerance*energy[c]) || rr[c] <= cgTolerance*cgTolerance*bb[c] {
				stop(c)
				continue
			}
			beta[c] = rzNew[c] / rz[c]
			rz[c] = rzNew[c]
		}
		for i := 0; i < n; i++ {
			zi := (*[cgBlock]float64)(z[i*cgBlock:])
			di := (*[cgBlock]float64)(d[i*cgBlock:])
			for c := range di {
				di[c] = mask[c]*zi[c] + beta[c]*di[c]
			}
		}
	}
}

// cgInverse is A⁻¹ through conjugate gradients.
type cgInverse struct {
	a *laplacian
}

// solve solves A x = b.
func (c *cgInverse) solve(b []float64) []float64 {
	return c.solveMany([][]float64{b})[0]
}

// solveMany solves A x = b for every b, cgBlock at a time, on every core.
func (c *cgInverse) solveMany(bs [][]float64) [][]float64 {
	n := c.a.n
	out := make([][]float64, len(bs))
	c.blocks(len(bs), func(ws *cgWork, first, width int) {
		c.a.solve(ws, width, false, func(col, i int) float64 { return bs[first+col][i] })
		for col := 0; col < width; col++ {
			x := make([]float64, n)
			for i := range x {
				x[i] = ws.x[i*cgBlock+col]
			}
			out[first+col] = x
		}
	})
	return out
}

// diag solves A x = e_i for every i and keeps x_i.
func (c *cgInverse) diag() []float64 {
	n := c.a.n
	out := make([]float64, n)
	c.blocks(n, func(ws *cgWork, first, width int) {
		c.a.solve(ws, width, true, func(col, i int) float64 {
			if i == first+col {
				return 1
			}
			return 0
		})
		for col := 0; col < width; col++ {
			out[first+col] = ws.x[(first+col)*cgBlock+col]
		}
	})
	return out
}

// quadratic is bᵀA⁻¹b for every b, with the variance stopping rule.
func (c *cgInverse) quadratic(bs [][]float64) []float64 {
	n := c.a.n
	out := make([]float64, len(bs))
	c.blocks(len(bs), func(ws *cgWork, first, width int) {
		c.a.solve(ws, width, true, func(col, i int) float64 { return bs[first+col][i] })
		for col := 0; col < width; col++ {
			b := bs[first+col]
			for i := 0; i < n; i++ {
				out[first+col] += b[i] * ws.x[i*cgBlock+col]
			}
		}
	})
	return out
}

// blocks hands out the columns [0, m) cgBlock at a time to one worker per
// core; each worker has its own buffers and writes only its own columns,
// so the result does not depend on the scheduling.
func (c *cgInverse) blocks(m int, do func(ws *cgWork, first, width int)) {
	nblocks := (m + cgBlock - 1) / cgBlock
	workers := min(runtime.GOMAXPROCS(0), nblocks)
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ws := newCGWork(c.a.n)
			for {
				mu.Lock()
				b := next
				next++
				mu.Unlock()
				if b >= nblocks {
					return
				}
				first := b * cgBlock
				do(ws, first, min(cgBlock, m-first))
			}
		}()
	}
	wg.Wait()
}
