package commands

import "runtime/debug"

// collectLessOften lets the heap grow to five times what is live before
// the garbage collector runs (GOGC=400) instead of twice, unless GOGC is
// set, and returns the function that restores the setting. For the
// commands whose work makes much garbage: a fingerprint run (parsed
// references, rewritten pages; on the 10,000-file benchmark tree about
// 2–3% less CPU time, for a peak resident memory of about 305 MB instead
// of 290: docs/fingerprint.md, Speed), a simulation (many long-lived
// cache entries).
func collectLessOften(lookupEnv func(string) (string, bool)) (restore func()) {
	if lookupEnv != nil {
		if v, ok := lookupEnv("GOGC"); ok && v != "" {
			return func() {}
		}
	}
	old := debug.SetGCPercent(400)
	return func() { debug.SetGCPercent(old) }
}
