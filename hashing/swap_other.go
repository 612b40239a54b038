//go:build !linux

package hashing

import "errors"

// exchangeDirs is not available here: swapDirs renames twice instead.
func exchangeDirs(a, b string) error { return errors.ErrUnsupported }
