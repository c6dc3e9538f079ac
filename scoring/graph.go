package scoring

import "sort"

// components returns the connected components of the comparison graph,
// ignoring direction; each sorted by id, largest first (ties by first id).
func (p *problem) components() [][]string {
	n := len(p.ids)
	parent := make([]int, n)
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for k := range p.pi {
		a, b := find(p.pi[k]), find(p.pj[k])
		if a != b {
			parent[a] = b
		}
	}
	groups := map[int][]string{}
	for i, id := range p.ids {
		r := find(i)
		groups[r] = append(groups[r], id)
	}
	return sortGroups(groups)
}

// strongComponents returns the strongly connected components of the win
// graph (an edge from each loser to the winner that beat it). The MLE exists
// exactly when there is a single one covering every item.
func (p *problem) strongComponents() [][]string {
	n := len(p.ids)
	adj := make([][]int, n)
	for k := range p.pi {
		i, j := p.pi[k], p.pj[k]
		if p.wij[k] > 0 { // i beat j
			adj[j] = append(adj[j], i)
		}
		if p.nij[k]-p.wij[k] > 0 { // j beat i
			adj[i] = append(adj[i], j)
		}
	}
	// Iterative Tarjan, so deep graphs cannot overflow the stack.
	index := make([]int, n)
	low := make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var stack []int
	next := 0
	groups := map[int][]string{}
	type frame struct{ v, e int }
	for s := 0; s < n; s++ {
		if index[s] >= 0 {
			continue
		}
		call := []frame{{s, 0}}
		index[s], low[s] = next, next
		next++
		stack = append(stack, s)
		onStack[s] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			if f.e < len(adj[f.v]) {
				w := adj[f.v][f.e]
				f.e++
				if index[w] < 0 {
					index[w], low[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					call = append(call, frame{w, 0})
				} else if onStack[w] && index[w] < low[f.v] {
					low[f.v] = index[w]
				}
				continue
			}
			v := f.v
			call = call[:len(call)-1]
			if len(call) > 0 {
				u := call[len(call)-1].v
				if low[v] < low[u] {
					low[u] = low[v]
				}
			}
			if low[v] == index[v] {
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					groups[v] = append(groups[v], p.ids[w])
					if w == v {
						break
					}
				}
			}
		}
	}
	return sortGroups(groups)
}

func sortGroups(groups map[int][]string) [][]string {
	out := make([][]string, 0, len(groups))
	for _, g := range groups {
		sort.Strings(g)
		out = append(out, g)
	}
	sort.Slice(out, func(a, b int) bool {
		if len(out[a]) != len(out[b]) {
			return len(out[a]) > len(out[b])
		}
		return out[a][0] < out[b][0]
	})
	return out
}
