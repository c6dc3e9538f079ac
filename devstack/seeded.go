package devstack

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"
)

// unit returns a number in [0, 1) that is a pure function of the seed and the
// parts. Every random choice the stack makes (pair tie-breaks, orientation
// coins, verdicts, faults, jitter) goes through it with its own first part as
// a stream name, so that the streams are independent: adding a fault never
// changes a verdict.
func unit(seed int64, parts ...string) float64 {
	h := sha256.New()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(seed))
	h.Write(b[:])
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	sum := h.Sum(nil)
	return float64(binary.LittleEndian.Uint64(sum[:8])>>11) / (1 << 53)
}

func itoa(i int) string { return strconv.Itoa(i) }
