package scoring

import (
	"math"
	"testing"
)

// TestConjugateGradientsAgreeWithCholesky fits the same batch with the
// dense factorization and with conjugate gradients (which a batch above
// DenseLimit items gets) and wants the same standard errors, reference
// contrasts, order-effect SE and focus covariances. (The maximum-likelihood
// fit is the plain one, as BradleyTerry2's: no order effect.)
func TestConjugateGradientsAgreeWithCholesky(t *testing.T) {
	cs := benchData(300, 9000) // oriented: the order effect is fitted
	cases := []struct {
		name string
		opts func() Options
	}{
		{"jeffreys", DefaultOptions},
		{"ml-reference", func() Options {
			o := DefaultOptions()
			o.Estimator, o.Reference = EstimatorML, "essay_00007"
			return o
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts()
			opts.Focus = []string{"essay_00003", "essay_00150", "essay_00299"}
			dense, err := Fit(cs, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer func(l int) { denseLimit = l }(denseLimit)
			denseLimit = 0
			cg, err := Fit(cs, opts)
			if err != nil {
				t.Fatal(err)
			}
			close := func(what string, a, b float64) {
				t.Helper()
				if math.Abs(a-b) > 1e-7*math.Max(1, math.Abs(a)) {
					t.Errorf("%s: dense %.12g, conjugate gradients %.12g", what, a, b)
				}
			}
			if (dense.Order == nil) != (cg.Order == nil) || (tc.name == "jeffreys") != (dense.Order != nil) {
				t.Fatalf("order effect: dense %v, cg %v", dense.Order, cg.Order)
			}
			if dense.Order != nil {
				close("order SE", dense.Order.SE, cg.Order.SE)
			}
			for i := range dense.Items {
				close(dense.Items[i].ID+" SE", dense.Items[i].SE, cg.Items[i].SE)
			}
			for _, f := range opts.Focus {
				fi := indexOf(t, dense, f)
				for j := range dense.Items {
					close("cov("+f+", "+dense.Items[j].ID+")", dense.Covariance(j, fi), cg.Covariance(j, fi))
				}
			}
		})
	}
}

func indexOf(t *testing.T, r *Result, id string) int {
	t.Helper()
	for i, it := range r.Items {
		if it.ID == id {
			return i
		}
	}
	t.Fatalf("%s not among the fitted items", id)
	return -1
}

// TestMeanVarianceEstimate checks the split-half's length-factor input: the
// trace estimate of the mean error variance against every diagonal entry.
func TestMeanVarianceEstimate(t *testing.T) {
	for _, size := range []struct{ n, m int }{{1000, 20000}, {400, 2400}} {
		cs := benchData(size.n, size.m)
		opts := DefaultOptions()
		opts.SkipSE, opts.meanVariance = true, true
		est, err := Fit(cs, opts)
		if err != nil {
			t.Fatal(err)
		}
		// The exact figure: every diagonal entry of the same inverse.
		saved := exactTrace
		exactTrace = size.n
		full, err := Fit(cs, opts)
		exactTrace = saved
		if err != nil {
			t.Fatal(err)
		}
		exact := full.meanVar
		if rel := math.Abs(est.meanVar/exact - 1); rel > 0.01 {
			t.Errorf("n=%d m=%d: estimated mean variance %.6f, exact %.6f (%.2f%% off)", size.n, size.m, est.meanVar, exact, 100*rel)
		} else {
			t.Logf("n=%d m=%d: estimated mean variance %.6f, exact %.6f (%.3f%% off)", size.n, size.m, est.meanVar, exact, 100*rel)
		}
	}
}
