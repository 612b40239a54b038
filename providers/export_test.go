package providers

import "time"

// LockTestHooks sets the hooks tests replace: whether a PID runs on this
// machine, and how often a waiting deploy polls.
func LockTestHooks(o LockOptions, alive func(pid int) bool, poll time.Duration) LockOptions {
	o.alive, o.poll = alive, poll
	return o
}
