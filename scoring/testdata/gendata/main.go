// Command gendata writes the comparison data sets that the BradleyTerry2
// golden fixtures are fitted on. It is deterministic: rerunning it rewrites
// the same files. Run from the repository root:
//
//	go run ./scoring/testdata/gendata
package main

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"eng5np/scoring"
)

type dataset struct {
	name  string
	items int
	comps int
	// pairPool, when > 0, restricts comparisons to this many distinct pairs,
	// so pairs repeat.
	pairPool int
	seed     uint64
}

func main() {
	sets := []dataset{
		{name: "small", items: 8, comps: 60, seed: 1},
		{name: "medium_repeated", items: 30, comps: 600, pairPool: 90, seed: 2},
		{name: "sparse", items: 60, comps: 240, seed: 3},
		{name: "peers150", items: 150, comps: 3000, seed: 4},
	}
	for _, d := range sets {
		if err := write(d); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

func write(d dataset) error {
	for attempt := uint64(0); attempt < 1000; attempt++ {
		cs := generate(d, attempt)
		_, err := scoring.Fit(cs, scoring.Options{Alpha: 0})
		var noMLE *scoring.NoMLEError
		if errors.As(err, &noMLE) {
			continue // the MLE must exist for the comparison with R
		}
		if err != nil {
			return err
		}
		var b strings.Builder
		b.WriteString("winner,loser\n")
		for _, c := range cs {
			fmt.Fprintf(&b, "%s,%s\n", c.Winner, c.Loser)
		}
		path := filepath.Join("scoring", "testdata", d.name+".csv")
		fmt.Printf("%s: %d items, %d comparisons (attempt %d)\n", path, d.items, len(cs), attempt)
		return os.WriteFile(path, []byte(b.String()), 0o644)
	}
	return fmt.Errorf("%s: no strongly connected data set in 1000 attempts", d.name)
}

func generate(d dataset, attempt uint64) []scoring.Comparison {
	r := rand.New(rand.NewPCG(d.seed, attempt))
	theta := make([]float64, d.items)
	for i := range theta {
		theta[i] = r.NormFloat64()
	}
	id := func(i int) string { return fmt.Sprintf("item%03d", i) }
	var pool [][2]int
	for len(pool) < d.pairPool {
		i, j := r.IntN(d.items), r.IntN(d.items)
		if i != j {
			pool = append(pool, [2]int{i, j})
		}
	}
	var cs []scoring.Comparison
	for k := 0; k < d.comps; k++ {
		var i, j int
		if len(pool) > 0 {
			p := pool[r.IntN(len(pool))]
			i, j = p[0], p[1]
		} else {
			i = r.IntN(d.items)
			j = r.IntN(d.items - 1)
			if j >= i {
				j++
			}
		}
		if r.Float64() < 1/(1+math.Exp(theta[j]-theta[i])) {
			cs = append(cs, scoring.Comparison{Winner: id(i), Loser: id(j)})
		} else {
			cs = append(cs, scoring.Comparison{Winner: id(j), Loser: id(i)})
		}
	}
	return cs
}
