//go:build !unix

package runstate

import "os"

// processAlive says whether pid is a running process: on Windows,
// FindProcess opens the process and fails when there is none.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}
