package providers

import (
	"os"
	"strings"
	"syscall"
)

// processNamespace names where this process's PID means something: its
// PID namespace and the kernel's boot, so that a lock left by a process
// of this machine (container, boot) can be checked, and no other's.
func processNamespace() string {
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return ""
	}
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return ns + " boot " + strings.TrimSpace(string(boot))
}

// processAlive reports whether a process with this PID runs (a process
// of another user counts: EPERM).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}
