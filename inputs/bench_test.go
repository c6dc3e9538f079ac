package inputs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkLoad1000 inventories a generated batch of 1,000 student essays
// (one in ten a .docx) and 12 anchors: listing, reading, text extraction,
// sha256 of every file and id assignment.
func BenchmarkLoad1000(b *testing.B) {
	dir := b.TempDir()
	mk := func(rel string, data []byte) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	para := strings.Repeat("Students argue that a later start would let them sleep and learn more. ", 25)
	mk("instructions.md", []byte("Write an argumentative text.\n"))
	mk("prompt.md", []byte("Pick the better essay.\n"))
	grades := []string{"F+", "E-", "E+", "D-", "D+", "C-", "C+", "B", "A", "A", "B", "F+"}
	for i, g := range grades {
		mk(fmt.Sprintf("anchors/anchor_%02d_%s.txt", i, g), []byte(para))
	}
	var bytesTotal int64
	for i := 0; i < 1000; i++ {
		if i%10 == 0 {
			var buf bytes.Buffer
			if err := WriteDocx(&buf, []string{para, para}); err != nil {
				b.Fatal(err)
			}
			mk(fmt.Sprintf("students/Student %04d.docx", i), buf.Bytes())
			bytesTotal += int64(buf.Len())
		} else {
			text := []byte(fmt.Sprintf("Essay %d\n\n%s\n%s\n", i, para, para))
			mk(fmt.Sprintf("students/Student %04d.txt", i), text)
			bytesTotal += int64(len(text))
		}
	}
	b.SetBytes(bytesTotal)
	b.ResetTimer()
	for b.Loop() {
		batch, err := Load(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if len(batch.Students) != 1000 {
			b.Fatalf("%d students", len(batch.Students))
		}
	}
	b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "essays/s")
}
