// Package cputime reads the CPU time the benchmark programs' own process
// has used, for figures that do not depend on what else the machine runs.
package cputime

import (
	"syscall"
	"time"
)

// Process returns the user and system CPU time of this process so far
// (zero when the system cannot tell).
func Process() (user, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// Total returns the user and system CPU time of this process so far.
func Total() time.Duration {
	u, s := Process()
	return u + s
}
