//go:build unix

package hashing

import (
	"io/fs"
	"syscall"
)

// fileID identifies a file on the machine: device and inode.
type fileID struct{ dev, ino uint64 }

// identity returns the identity of the file info describes, when the file
// system reports one (os.DirFS does; embed.FS and fstest.MapFS do not).
func identity(info fs.FileInfo) (fileID, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok || st == nil {
		return fileID{}, false
	}
	return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}, true
}
