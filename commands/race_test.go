//go:build race

package commands

// raceEnabled reports whether the tests run under the race detector.
const raceEnabled = true
