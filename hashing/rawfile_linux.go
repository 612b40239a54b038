package hashing

import (
	"io/fs"
	"syscall"
)

// The whole-file reads and writes of a build, with plain system calls:
// os.Open and os.OpenFile try to register every file with the network
// poller (five system calls that fail for a regular file), a tenth of the
// cost of opening one; a build opens every file of the site twice.

// readFileAt reads the file at the OS path p into buf, grown as needed,
// and returns the bytes read.
func readFileAt(p string, buf []byte) ([]byte, error) {
	fd, err := retryEINTR(func() (int, error) { return syscall.Open(p, syscall.O_RDONLY|syscall.O_CLOEXEC, 0) })
	if err != nil {
		return buf, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	defer syscall.Close(fd)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := retryEINTR(func() (int, error) { return syscall.Read(fd, buf[len(buf):cap(buf)]) })
		if err != nil {
			return buf, &fs.PathError{Op: "read", Path: p, Err: err}
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
}

// createFileAt writes data as a new file at the OS path p (mode 0644
// before the umask) and returns its modification time (Unix
// nanoseconds, 0 if unknown); it fails with an error matching
// fs.ErrExist if there is one.
func createFileAt(p string, data []byte) (mtime int64, err error) {
	fd, err := retryEINTR(func() (int, error) {
		return syscall.Open(p, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_CLOEXEC, 0o644)
	})
	if err != nil {
		return 0, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	fail := func(op string, err error) (int64, error) {
		syscall.Close(fd)
		syscall.Unlink(p)
		return 0, &fs.PathError{Op: op, Path: p, Err: err}
	}
	for len(data) > 0 {
		n, err := retryEINTR(func() (int, error) { return syscall.Write(fd, data) })
		if err != nil {
			return fail("write", err)
		}
		data = data[n:]
	}
	// The time of the last write, as a stat after the close gives it
	// (closing a local file does not change it); 0 if unknown.
	var st syscall.Stat_t
	if syscall.Fstat(fd, &st) == nil {
		mtime = st.Mtim.Nano()
	}
	if err := syscall.Close(fd); err != nil {
		syscall.Unlink(p)
		return 0, &fs.PathError{Op: "close", Path: p, Err: err}
	}
	return mtime, nil
}

func retryEINTR(call func() (int, error)) (int, error) {
	for {
		n, err := call()
		if err != syscall.EINTR {
			return n, err
		}
	}
}
