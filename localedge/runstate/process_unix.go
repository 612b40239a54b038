//go:build unix

package runstate

import (
	"errors"
	"syscall"
)

// processAlive says whether pid is a running process (signal 0: EPERM
// means it runs as another user).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
