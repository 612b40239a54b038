//go:build !linux

package hashing

import (
	"errors"
	"os"
)

// readFileAt reads the file at the OS path p into buf, grown as needed,
// and returns the bytes read.
func readFileAt(p string, buf []byte) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return buf, err
	}
	defer f.Close()
	return readAll(f, buf)
}

// createFileAt writes data as a new file at the OS path p (mode 0644
// before the umask) and returns its modification time (Unix
// nanoseconds, 0 if unknown); it fails with an error matching
// fs.ErrExist if there is one.
func createFileAt(p string, data []byte) (mtime int64, err error) {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, err
	}
	_, werr := f.Write(data)
	if err := errors.Join(werr, f.Close()); err != nil {
		os.Remove(p)
		return 0, err
	}
	if info, err := os.Lstat(p); err == nil {
		mtime = info.ModTime().UnixNano()
	}
	return mtime, nil
}
