package scoring

import (
	"errors"
	"fmt"
	"sort"
)

// problem is the aggregated comparison data in index space: per unordered
// pair (i < j) the comparisons and i's wins, and per cell — a pair, the slot
// i sat in, and the judge — the same, for the order effect and judge fit.
type problem struct {
	ids    []string
	index  map[string]int
	pi, pj []int     // unique unordered pairs, pi < pj
	nij    []float64 // comparisons of the pair
	wij    []float64 // times pi beat pj
	wins   []int
	losses []int

	cells  []cell
	judges []string
	// oriented counts the comparisons whose slots are known.
	oriented int
}

// cell is the comparisons of one pair with the same orientation and judge.
type cell struct {
	pair  int32
	slot  int8  // +1: pi sat in slot A; -1: pj did; 0: unknown
	judge int32 // index into problem.judges (0: "" when no judge is named)
	n, w  float64
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
	// result does not depend on comparison order; judges likewise.
	var extra []string
	seen := map[string]bool{}
	judgeSet := map[string]bool{}
	for k, c := range comparisons {
		if c.Winner == "" || c.Loser == "" {
			return nil, fmt.Errorf("comparison %d: empty item id", k+1)
		}
		if c.Winner == c.Loser {
			return nil, fmt.Errorf("comparison %d: item %q compared with itself", k+1, c.Winner)
		}
		if c.Slot < SlotB || c.Slot > SlotA {
			return nil, fmt.Errorf("comparison %d: slot %d is not SlotA, SlotB or SlotUnknown", k+1, c.Slot)
		}
		for _, id := range [2]string{c.Winner, c.Loser} {
			if _, ok := p.index[id]; !ok && !seen[id] {
				seen[id] = true
				extra = append(extra, id)
			}
		}
		judgeSet[c.Judge] = true
	}
	sort.Strings(extra)
	for _, id := range extra {
		add(id)
	}
	p.judges = make([]string, 0, len(judgeSet))
	for j := range judgeSet {
		p.judges = append(p.judges, j)
	}
	sort.Strings(p.judges)
	judgeIdx := make(map[string]int32, len(p.judges))
	for i, j := range p.judges {
		judgeIdx[j] = int32(i)
	}

	n := len(p.ids)
	p.wins = make([]int, n)
	p.losses = make([]int, n)
	type pairKey struct{ i, j int }
	type cellKey struct {
		i, j  int
		slot  int8
		judge int32
	}
	pairN := map[pairKey][2]float64{}
	cellN := map[cellKey][2]float64{}
	for _, c := range comparisons {
		w, l := p.index[c.Winner], p.index[c.Loser]
		p.wins[w]++
		p.losses[l]++
		i, j := w, l
		// slot of i: the winner sat in c.Slot; i is the winner unless swapped.
		slot := int8(c.Slot)
		if i > j {
			i, j = j, i
			slot = -slot
		}
		if c.Slot != SlotUnknown {
			p.oriented++
		}
		pk := pairKey{i, j}
		v := pairN[pk]
		v[0]++
		ck := cellKey{i, j, slot, judgeIdx[c.Judge]}
		cv := cellN[ck]
		cv[0]++
		if w == i {
			v[1]++
			cv[1]++
		}
		pairN[pk] = v
		cellN[ck] = cv
	}
	// Canonical orders make every floating-point sum independent of the
	// order comparisons arrived in.
	pairs := make([]pairKey, 0, len(pairN))
	for k := range pairN {
		pairs = append(pairs, k)
	}
	sort.Slice(pairs, func(a, b int) bool {
		if pairs[a].i != pairs[b].i {
			return pairs[a].i < pairs[b].i
		}
		return pairs[a].j < pairs[b].j
	})
	pairIdx := make(map[pairKey]int32, len(pairs))
	for k, pk := range pairs {
		pairIdx[pk] = int32(k)
		p.pi = append(p.pi, pk.i)
		p.pj = append(p.pj, pk.j)
		p.nij = append(p.nij, pairN[pk][0])
		p.wij = append(p.wij, pairN[pk][1])
	}
	cells := make([]cellKey, 0, len(cellN))
	for k := range cellN {
		cells = append(cells, k)
	}
	sort.Slice(cells, func(a, b int) bool {
		x, y := cells[a], cells[b]
		switch {
		case x.i != y.i:
			return x.i < y.i
		case x.j != y.j:
			return x.j < y.j
		case x.slot != y.slot:
			return x.slot < y.slot
		}
		return x.judge < y.judge
	})
	p.cells = make([]cell, len(cells))
	for k, ck := range cells {
		v := cellN[ck]
		p.cells[k] = cell{pair: pairIdx[pairKey{ck.i, ck.j}], slot: ck.slot, judge: ck.judge, n: v[0], w: v[1]}
	}
	return p, nil
}

// sub is the problem restricted to the items keep (indices into p.ids, in
// order): comparisons with an item outside are dropped.
func (p *problem) sub(keep []int) *problem {
	newIdx := make([]int, len(p.ids))
	for i := range newIdx {
		newIdx[i] = -1
	}
	q := &problem{index: map[string]int{}, judges: p.judges}
	for k, i := range keep {
		newIdx[i] = k
		q.ids = append(q.ids, p.ids[i])
		q.index[p.ids[i]] = k
	}
	q.wins = make([]int, len(keep))
	q.losses = make([]int, len(keep))
	pairMap := make([]int32, len(p.pi))
	for k := range p.pi {
		i, j := newIdx[p.pi[k]], newIdx[p.pj[k]]
		if i < 0 || j < 0 {
			pairMap[k] = -1
			continue
		}
		pairMap[k] = int32(len(q.pi))
		q.pi = append(q.pi, i)
		q.pj = append(q.pj, j)
		q.nij = append(q.nij, p.nij[k])
		q.wij = append(q.wij, p.wij[k])
		q.wins[i] += int(p.wij[k])
		q.losses[j] += int(p.wij[k])
		q.wins[j] += int(p.nij[k] - p.wij[k])
		q.losses[i] += int(p.nij[k] - p.wij[k])
	}
	for _, c := range p.cells {
		if m := pairMap[c.pair]; m >= 0 {
			c.pair = m
			q.cells = append(q.cells, c)
			if c.slot != 0 {
				q.oriented += int(c.n)
			}
		}
	}
	return q
}
