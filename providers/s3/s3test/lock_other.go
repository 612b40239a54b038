//go:build !unix

package s3test

import "context"

// lockFile does not lock where flock is unavailable.
func lockFile(context.Context, string) (func(), error) { return func() {}, nil }

var _ = errLockTimeout
