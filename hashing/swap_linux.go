package hashing

import "golang.org/x/sys/unix"

// exchangeDirs swaps two folders atomically (renameat2 RENAME_EXCHANGE),
// so readers of b never see it missing.
func exchangeDirs(a, b string) error {
	return unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
}
