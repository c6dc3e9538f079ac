package journal

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BenchmarkAppend appends groups of 64 realistic records (about 1.2 KB of
// JSON each, as a callback is) with and without the hash chain, fsync per
// group: what the chain costs the capture path.
func BenchmarkAppend(b *testing.B) {
	value := []byte(`{"event_type":"LLMComparisonResultV1","data":{"justification":"` + strings.Repeat("x", 1100) + `"}}`)
	group := make([]Record, 64)
	for _, chained := range []bool{true, false} {
		b.Run(fmt.Sprintf("chain=%v", chained), func(b *testing.B) {
			o, err := Open(filepath.Join(b.TempDir(), "j.jsonl"), false)
			if err != nil {
				b.Fatal(err)
			}
			defer o.Writer.Close()
			o.Writer.legacy = !chained
			at := time.Unix(1_800_000_000, 0)
			b.SetBytes(int64(len(group) * len(value)))
			for b.Loop() {
				for i := range group {
					group[i] = NewRecord("huleedu.llm_provider.comparison_result.v1", i%3, int64(i), nil, value, at, at, 1)
				}
				if err := o.Writer.Append(group); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(group))/b.Elapsed().Seconds(), "records/s")
		})
	}
}
