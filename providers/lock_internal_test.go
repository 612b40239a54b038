package providers

import (
	"os"
	"os/exec"
	"runtime"
	"testing"
)

func TestProcessAlive(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("a lock's holder is judged by its PID on Linux only")
	}
	if !processAlive(os.Getpid()) {
		t.Error("processAlive(this process) = false")
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if processAlive(cmd.Process.Pid) {
		t.Errorf("processAlive(%d) = true for a process that exited", cmd.Process.Pid)
	}
	if h := CurrentHolder(""); h.Namespace == "" || h.PID != os.Getpid() || h.Host == "" {
		t.Errorf("CurrentHolder() = %+v; want this process, host and namespace", h)
	}
}
