package scoring

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func legacy(t *testing.T) Scale {
	t.Helper()
	s, err := LookupScale("eng5_np_legacy_9_step")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLookupScale(t *testing.T) {
	_, err := LookupScale("eng5_np_made_up")
	if err == nil || !strings.Contains(err.Error(), "eng5_np_legacy_9_step") || !strings.Contains(err.Error(), "eng5_np_national_9_step") {
		t.Fatalf("err = %v, want the known scales listed", err)
	}
	n, err := LookupScale("eng5_np_national_9_step")
	if err != nil || n.BelowLowest != "0" || n.Grades[0] != "1" || n.Grades[8] != "9" {
		t.Fatalf("national scale = %+v, %v", n, err)
	}
	l := legacy(t)
	if strings.Join(l.Grades, " ") != "F+ E- E+ D- D+ C- C+ B A" || l.BelowLowest != "F" {
		t.Fatalf("legacy scale = %+v", l)
	}
	if g, ok := l.Canonical(" c+ "); !ok || g != "C+" {
		t.Errorf("Canonical(c+) = %q %v", g, ok)
	}
	if _, ok := l.Canonical("F"); ok {
		t.Error("the below-lowest grade is not a registrable grade")
	}
}

// items builds evenly spaced anchors (two per grade) around the grade means
// 0, 1, 2, … and a few students.
func fixedItems(scale Scale, gradesUsed int, se float64) ([]Item, map[string]string) {
	var items []Item
	anchors := map[string]string{}
	for k := 0; k < gradesUsed; k++ {
		for j, off := range []float64{-0.1, 0.1} {
			id := fmt.Sprintf("anchor_%d_%d", k, j)
			items = append(items, Item{ID: id, Theta: float64(k) + off, SE: se})
			anchors[id] = scale.Grades[k]
		}
	}
	return items, anchors
}

func TestProjectGradesProbabilitiesAndBands(t *testing.T) {
	scale := legacy(t)
	items, anchors := fixedItems(scale, 9, 0.3)
	items = append(items,
		Item{ID: "middling", Theta: 4.05, SE: 0.3},
		Item{ID: "very_weak", Theta: -6, SE: 0.3},
		Item{ID: "uncertain", Theta: 4.5, SE: 2},
		Item{ID: "exact", Theta: 2, SE: 0},
	)
	res, err := ProjectGrades(scale, items, anchors, ProjectOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped != "" || res.Model == nil {
		t.Fatalf("skipped: %s", res.Skipped)
	}
	if len(res.Model.Bands) != 10 || res.Model.Bands[0].Grade != "F" || res.Model.Bands[9].Grade != "A" {
		t.Fatalf("bands = %+v", res.Model.Bands)
	}
	for i := 1; i < len(res.Model.Bands); i++ {
		if res.Model.Bands[i].Lower != res.Model.Bands[i-1].Upper {
			t.Fatalf("bands do not tile the line: %+v", res.Model.Bands)
		}
	}
	byID := map[string]Projection{}
	for _, p := range res.Projections {
		byID[p.EssayID] = p
		var sum float64
		for g, v := range p.Probabilities {
			if v < 0 || v > 1 {
				t.Errorf("%s: P(%s) = %v", p.EssayID, g, v)
			}
			sum += v
		}
		if math.Abs(sum-1) > 1e-12 {
			t.Errorf("%s: probabilities sum to %v", p.EssayID, sum)
		}
		if len(p.Probabilities) != 10 {
			t.Errorf("%s: %d probabilities, want one per band", p.EssayID, len(p.Probabilities))
		}
	}
	if p := byID["middling"]; p.Grade != "D+" || p.Probabilities["D+"] > 0.99 || p.Probabilities["D+"] < 0.5 {
		t.Errorf("middling: %+v, want D+ and not one-hot", p)
	}
	if p := byID["very_weak"]; p.Grade != "F" {
		t.Errorf("very_weak: grade %q, want the below-lowest F", p.Grade)
	}
	if p := byID["uncertain"]; p.Probabilities[p.Grade] > 0.5 {
		t.Errorf("uncertain: most probable grade has %v, want spread out", p.Probabilities[p.Grade])
	}
	if p := byID["exact"]; p.Grade != "E+" || p.Probabilities["E+"] < 0.99 || len(p.Set95) != 1 {
		t.Errorf("exact (SE 0, in the middle of its band): %+v", p)
	}
	if p := byID["uncertain"]; len(p.Set80) < 3 || len(p.Set95) <= len(p.Set80) {
		t.Errorf("uncertain: 80%% set %v, 95%% set %v; want wide, nested sets", p.Set80, p.Set95)
	}
	if p := byID["middling"]; p.PrimaryAnchorID != "anchor_4_1" {
		t.Errorf("middling: primary anchor %q, want the nearest, anchor_4_1", p.PrimaryAnchorID)
	}
	if p := byID["anchor_3_0"]; !p.IsAnchor || p.AnchorGrade != "D-" || p.LOOGrade != "D-" || p.Alignment != "aligned" || p.PrimaryAnchorID == "anchor_3_0" {
		t.Errorf("anchor_3_0: %+v, want aligned D- with another anchor as primary", p)
	}
	if m := res.Model; math.Abs(m.Slope-1) > 0.01 || math.Abs(m.Intercept) > 0.01 || m.Draws != DefaultDraws || res.Aligned != 18 {
		t.Errorf("model %+v, aligned %d", m, res.Aligned)
	}
	// The same seed gives the same probabilities.
	again, _ := ProjectGrades(scale, items, anchors, ProjectOptions{Seed: 1})
	for i := range res.Projections {
		if fmt.Sprint(again.Projections[i].Probabilities) != fmt.Sprint(res.Projections[i].Probabilities) {
			t.Fatalf("%s: probabilities differ between two runs with the same seed", res.Projections[i].EssayID)
		}
	}
}

// Every grade of the scale gets a band, anchored or not, so an essay well
// below the anchored range is not "below the scale" while grades lie
// between: with anchors only at D- … C+, an essay at the E- position is
// E-, not F.
func TestUnanchoredGradesGetTheirBands(t *testing.T) {
	scale := legacy(t)
	var items []Item
	anchors := map[string]string{}
	for _, g := range []string{"D-", "D+", "C-", "C+"} {
		k, _ := scale.Index(g)
		for j := 0; j < 3; j++ {
			id := fmt.Sprintf("%s_%d", g, j)
			items = append(items, Item{ID: id, Theta: 0.8*float64(k) + 0.05*float64(j-1), SE: 0.2})
			anchors[id] = g
		}
	}
	items = append(items, Item{ID: "weak", Theta: 0.8 * 1, SE: 0.2}) // E-'s place
	res, err := ProjectGrades(scale, items, anchors, ProjectOptions{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Model.Bands) != 10 {
		t.Fatalf("%d bands, want one per grade plus F", len(res.Model.Bands))
	}
	for _, p := range res.Projections {
		if p.EssayID == "weak" && (p.Grade != "E-" || p.Probabilities["F"] > 0.01) {
			t.Errorf("weak: %s, P(F) %.3f; want E-", p.Grade, p.Probabilities["F"])
		}
	}
}

func TestSwappedAnchorsAreMisaligned(t *testing.T) {
	scale := legacy(t)
	// The C- anchors sit below the D+ anchors: by the line through all
	// anchors, the D+ anchors project above their grade and the C- ones
	// below, each judged without itself.
	items := []Item{
		{ID: "e1", Theta: -2, SE: 0.2}, {ID: "e2", Theta: -2.1, SE: 0.2}, {ID: "e3", Theta: -1.9, SE: 0.2},
		{ID: "d1", Theta: 1, SE: 0.2}, {ID: "d2", Theta: 1.1, SE: 0.2}, {ID: "d3", Theta: 0.9, SE: 0.2},
		{ID: "c1", Theta: 0.4, SE: 0.2}, {ID: "c2", Theta: 0.5, SE: 0.2}, {ID: "c3", Theta: 0.6, SE: 0.2},
		{ID: "a1", Theta: 3, SE: 0.2}, {ID: "a2", Theta: 3.2, SE: 0.2}, {ID: "a3", Theta: 2.8, SE: 0.2},
	}
	anchors := map[string]string{"e1": "E-", "e2": "E-", "e3": "E-", "d1": "D+", "d2": "D+", "d3": "D+", "c1": "C-", "c2": "C-", "c3": "C-", "a1": "A", "a2": "A", "a3": "A"}
	res, err := ProjectGrades(scale, items, anchors, ProjectOptions{Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	align := map[string]string{}
	for _, p := range res.Projections {
		align[p.EssayID] = p.Alignment
	}
	if align["d2"] != "above" || align["c2"] != "below" {
		t.Errorf("swapped grades: d2 %s, c2 %s; want above and below", align["d2"], align["c2"])
	}
	if res.Above == 0 || res.Below == 0 {
		t.Errorf("alignment counts %d aligned, %d above, %d below", res.Aligned, res.Above, res.Below)
	}
}

func TestProjectGradesNeedsTwoAnchorGrades(t *testing.T) {
	scale := legacy(t)
	items := []Item{{ID: "a", Theta: 0, SE: 1}, {ID: "b", Theta: 1, SE: 1}, {ID: "s", Theta: 2, SE: 1}}
	res, err := ProjectGrades(scale, items, map[string]string{"a": "B", "b": "B"}, ProjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Model != nil || len(res.Projections) != 0 || !strings.Contains(res.Skipped, "at least 2 distinct grades") || !strings.Contains(res.Skipped, "B") {
		t.Errorf("result %+v, want a clear skip reason", res)
	}
	if _, err := ProjectGrades(scale, items, map[string]string{"a": "Z", "b": "B"}, ProjectOptions{}); err == nil || !strings.Contains(err.Error(), `"Z"`) {
		t.Errorf("unknown grade: err = %v", err)
	}
	if res, err := ProjectGrades(scale, items, map[string]string{"zz": "A", "b": "B"}, ProjectOptions{}); err != nil || res.Model != nil || !strings.Contains(res.Skipped, "zz") {
		t.Errorf("anchor without a fitted ability: %v, %+v", err, res)
	}
	// Anchors that fall with their grades contradict the scale.
	down := []Item{{ID: "a", Theta: 1, SE: 0.1}, {ID: "b", Theta: 0, SE: 0.1}}
	if res, _ := ProjectGrades(scale, down, map[string]string{"a": "E-", "b": "A"}, ProjectOptions{}); res.Model != nil || !strings.Contains(res.Skipped, "do not rise") {
		t.Errorf("falling anchors: %+v", res)
	}
}

// Anchors of a simulated scale, compared like everything else, project back
// to their own grade by the line fitted without them in most cases: with
// grades 0.9 logits apart and SEs near 0.35, an anchor at its grade's
// centre lands in its band with probability about 0.8 even when the line is
// known, so about 0.7 is what an honest leave-one-out projection reaches.
func TestAnchorsProjectToTheirOwnGrade(t *testing.T) {
	scale := legacy(t)
	const reps = 10
	var aligned, total int
	for rep := 0; rep < reps; rep++ {
		r := rand.New(rand.NewPCG(uint64(rep), 77))
		var theta []float64
		var ids []string
		anchors := map[string]string{}
		for k, g := range scale.Grades {
			for j := 0; j < 2; j++ {
				id := fmt.Sprintf("anchor_%d_%d", k, j)
				ids = append(ids, id)
				theta = append(theta, (float64(k)-4)*0.9+r.NormFloat64()*0.1)
				anchors[id] = g
			}
		}
		for i := 0; i < 100; i++ {
			ids = append(ids, fmt.Sprintf("student_%03d", i))
			theta = append(theta, r.NormFloat64()*1.2)
		}
		opts := DefaultOptions()
		for id := range anchors {
			opts.Focus = append(opts.Focus, id)
		}
		res, err := Fit(simulate(r, theta, ids, 20, 0.5), opts)
		if err != nil {
			t.Fatal(err)
		}
		proj, err := ProjectGrades(scale, res.Items, anchors, ProjectOptions{Cov: res.Covariance, Seed: uint64(rep)})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range proj.Projections {
			if p.IsAnchor {
				total++
				if p.Alignment == "aligned" {
					aligned++
				}
			}
		}
	}
	rate := float64(aligned) / float64(total)
	t.Logf("%d of %d anchors (%.1f%%) projected to their own grade", aligned, total, 100*rate)
	if rate < 0.65 {
		t.Errorf("only %.1f%% of anchors project to their own grade, want ≥ 65%%", 100*rate)
	}
}

// With uncertain anchors that barely rise with their grades, some
// bootstrap draws slope the wrong way; their bands would run backwards and
// send the strongest essay to the lowest grade. Such draws are rejected:
// probabilities stay in [0, 1] and the ends of the scale stay the ends.
func TestProjectionRejectsBackwardDraws(t *testing.T) {
	scale := legacy(t)
	items := []Item{
		{ID: "fplus", Theta: -0.3, SE: 2}, {ID: "eplus", Theta: -0.1, SE: 2},
		{ID: "cplus", Theta: 0.1, SE: 2}, {ID: "a", Theta: 0.3, SE: 2},
		{ID: "strong", Theta: 8, SE: 0.5}, {ID: "weak", Theta: -8, SE: 0.5},
	}
	anchors := map[string]string{"fplus": "F+", "eplus": "E+", "cplus": "C+", "a": "A"}
	res, err := ProjectGrades(scale, items, anchors, ProjectOptions{Seed: 3})
	if err != nil || res.Model == nil {
		t.Fatalf("%v %s", err, res.Skipped)
	}
	if res.Model.Draws >= DefaultDraws {
		t.Fatalf("no draw was rejected (%d of %d kept): this test would prove nothing", res.Model.Draws, DefaultDraws)
	}
	by := map[string]Projection{}
	for _, p := range res.Projections {
		by[p.EssayID] = p
		for g, v := range p.Probabilities {
			if v < -1e-12 || v > 1+1e-12 {
				t.Errorf("%s: P(%s) = %v", p.EssayID, g, v)
			}
		}
	}
	if p := by["strong"].Probabilities["A"]; p < 0.5 {
		t.Errorf("the strongest essay has P(A) = %.2f", p)
	}
	if p := by["weak"].Probabilities["F"]; p < 0.5 {
		t.Errorf("the weakest essay has P(F) = %.2f", p)
	}
	// Backward draws sent the A anchor below the scale a third of the
	// time (P(F) 0.33, and the F+ anchor to A 0.36); what is left is the
	// anchors' own noise (SE 2 against a spread of 0.6).
	if p := by["a"].Probabilities["F"]; p > 0.2 {
		t.Errorf("the A anchor has P(F) = %.2f", p)
	}
	if p := by["fplus"].Probabilities["A"]; p > 0.2 {
		t.Errorf("the F+ anchor has P(A) = %.2f", p)
	}
}
