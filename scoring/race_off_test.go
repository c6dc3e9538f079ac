//go:build !race

package scoring

// raceDetector reports whether the tests were built with -race.
const raceDetector = false
