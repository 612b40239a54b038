//go:build unix

package local

import (
	"os"
	"syscall"
)

// casLock serialises the conditional writes of one state folder between
// the processes of this machine (flock, released by the kernel if the
// process dies), so that a compare and the rename after it are atomic.
func casLock(root *os.Root) (unlock func(), err error) {
	if err := root.MkdirAll(stateTmp, 0o755); err != nil {
		return nil, err
	}
	f, err := root.OpenFile(stateTmp+"/cas.lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
