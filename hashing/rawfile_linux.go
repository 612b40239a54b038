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
// before the umask); it fails with an error matching fs.ErrExist if
// there is one.
func createFileAt(p string, data []byte) error {
	fd, err := retryEINTR(func() (int, error) {
		return syscall.Open(p, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_CLOEXEC, 0o644)
	})
	if err != nil {
		return &fs.PathError{Op: "open", Path: p, Err: err}
	}
	for len(data) > 0 {
		n, err := retryEINTR(func() (int, error) { return syscall.Write(fd, data) })
		if err != nil {
			syscall.Close(fd)
			syscall.Unlink(p)
			return &fs.PathError{Op: "write", Path: p, Err: err}
		}
		data = data[n:]
	}
	if err := syscall.Close(fd); err != nil {
		syscall.Unlink(p)
		return &fs.PathError{Op: "close", Path: p, Err: err}
	}
	return nil
}

func retryEINTR(call func() (int, error)) (int, error) {
	for {
		n, err := call()
		if err != syscall.EINTR {
			return n, err
		}
	}
}
