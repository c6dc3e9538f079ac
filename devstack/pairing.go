package devstack

import (
	"math"
	"sort"
)

// pair is one comparison of a wave, oriented: A is shown first.
type pair struct {
	A, B string
}

// pairKey identifies an unordered pair.
type pairKey struct{ lo, hi string }

func keyOf(a, b string) pairKey {
	if a > b {
		a, b = b, a
	}
	return pairKey{a, b}
}

// pairingState is what wave generation needs to know about a batch.
type pairingState struct {
	essays   []string           // wire ids, sorted
	count    map[string]int     // comparisons sent per essay
	skew     map[string]int     // times in slot A − times in slot B
	compared map[pairKey]int    // how often each unordered pair was sent
	theta    map[string]float64 // nil before the first fit
}

func newPairingState(essays []string) *pairingState {
	sorted := append([]string(nil), essays...)
	sort.Strings(sorted)
	return &pairingState{essays: sorted, count: map[string]int{}, skew: map[string]int{}, compared: map[pairKey]int{}}
}

// balanceBonus is added to the weight of a pair whose essays lean to
// opposite slots (one has been in A more often, the other in B): oriented
// the obvious way, such a pair brings both back toward zero skew.
const balanceBonus = 0.3

// nextWave pairs every essay at most once, following the production CJ
// service's documented rule: each candidate pair weighs 1/(1+cᵢ) + 1/(1+cⱼ)
// (favouring essays with few comparisons) plus 0.5·exp(−|θᵢ−θⱼ|) when the
// abilities are known and closer than 2 (favouring informative pairs), plus
// balanceBonus when the two essays' A−B skews have opposite signs. Pairs
// already compared are excluded while uncompared ones remain (coverage
// mode). A greedy matching takes the heaviest pairs first, ties broken by a
// seeded hash. Each pair is oriented so that the essay that has been in slot
// A less often goes first (a seeded coin decides ties), which keeps every
// essay's A−B skew near zero. At most limit pairs are returned; when only is
// non-nil, only those essays take part.
//
// The result is a pure function of the state, the seed and the wave number.
func (s *pairingState) nextWave(seed int64, wave, limit int, only map[string]bool) []pair {
	n := len(s.essays)
	if n < 2 || limit <= 0 {
		return nil
	}
	coverage := false
	for i := 0; i < n && !coverage; i++ {
		for j := i + 1; j < n; j++ {
			if s.compared[pairKey{s.essays[i], s.essays[j]}] == 0 {
				coverage = true
				break
			}
		}
	}
	type cand struct {
		i, j int
		w    float64
		tie  float64
	}
	cands := make([]cand, 0, n*(n-1)/2)
	w := itoa(wave)
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			a, b := s.essays[i], s.essays[j]
			if !allowedPair(s, only, coverage, a, b) {
				continue
			}
			weight := 1/(1+float64(s.count[a])) + 1/(1+float64(s.count[b]))
			if s.theta != nil {
				if d := math.Abs(s.theta[a] - s.theta[b]); d < 2 {
					weight += 0.5 * math.Exp(-d)
				}
			}
			if s.skew[a]*s.skew[b] < 0 {
				weight += balanceBonus
			}
			if !coverage {
				// Outside coverage mode, pairs already seen often give way to
				// those seen rarely.
				weight /= 1 + float64(s.compared[pairKey{a, b}])
			}
			cands = append(cands, cand{i, j, weight, unit(seed, "pair-tie", w, a, b)})
		}
	}
	sort.Slice(cands, func(x, y int) bool {
		if cands[x].w != cands[y].w {
			return cands[x].w > cands[y].w
		}
		return cands[x].tie < cands[y].tie
	})
	allowed := func(i, j int) bool { return allowedPair(s, only, coverage, s.essays[i], s.essays[j]) }
	used := make([]bool, n)
	var chosen [][2]int
	for _, c := range cands {
		if len(chosen) >= limit {
			break
		}
		if used[c.i] || used[c.j] {
			continue
		}
		used[c.i], used[c.j] = true, true
		chosen = append(chosen, [2]int{c.i, c.j})
	}
	chosen = repairMatching(chosen, used, limit, allowed, only, s.essays)

	out := make([]pair, 0, len(chosen))
	for _, c := range chosen {
		a, b := s.essays[c[0]], s.essays[c[1]]
		switch {
		case s.skew[a] > s.skew[b]:
			a, b = b, a
		case s.skew[a] == s.skew[b] && unit(seed, "orientation", w, a, b) < 0.5:
			a, b = b, a
		}
		s.skew[a]++
		s.skew[b]--
		s.count[a]++
		s.count[b]++
		s.compared[keyOf(a, b)]++
		out = append(out, pair{A: a, B: b})
	}
	return out
}

func allowedPair(s *pairingState, only map[string]bool, coverage bool, a, b string) bool {
	if only != nil && (!only[a] || !only[b]) {
		return false
	}
	return !coverage || s.compared[keyOf(a, b)] == 0
}

// repairMatching grows a greedy matching toward a perfect one: two essays the
// greedy pass left out (their own pair was already compared) take the places
// of a chosen pair (x, y) when u–x and v–y are both allowed. Greedy matching
// in coverage mode otherwise leaves a couple of essays out of late waves,
// which unbalances comparison counts and, through their parity, A−B skew.
func repairMatching(chosen [][2]int, used []bool, limit int, allowed func(i, j int) bool, only map[string]bool, essays []string) [][2]int {
	for len(chosen) < limit {
		var free []int
		for i, u := range used {
			if !u && (only == nil || only[essays[i]]) {
				free = append(free, i)
			}
		}
		grown := false
		for x := 0; x < len(free) && !grown; x++ {
			for y := x + 1; y < len(free) && !grown; y++ {
				u, v := free[x], free[y]
				if allowed(u, v) {
					chosen = append(chosen, [2]int{u, v})
					used[u], used[v] = true, true
					grown = true
					break
				}
				for k, c := range chosen {
					p, q := c[0], c[1]
					switch {
					case allowed(u, p) && allowed(v, q):
					case allowed(u, q) && allowed(v, p):
						p, q = q, p
					default:
						continue
					}
					chosen[k] = [2]int{u, p}
					chosen = append(chosen, [2]int{v, q})
					used[u], used[v] = true, true
					grown = true
					break
				}
			}
		}
		if !grown {
			break
		}
	}
	return chosen
}
