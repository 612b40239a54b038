package commands

import (
	"context"
	"errors"
	"fmt"
)

// Exit codes. docs/exit-codes.md documents them; keep the two in step.
const (
	ExitOK      = 0 // success
	ExitFailure = 1 // the command failed
	ExitUsage   = 2 // bad flags, arguments or configuration
	// Deploy failures, by what they left behind (docs/deploy.md).
	ExitDeployUnchanged = 3 // failed before the origin or a CDN was changed: nothing was modified
	ExitDeployPartial   = 4 // some files uploaded, no entry point switched: the live site is the previous deploy
	ExitDeploySwitched  = 5 // the new site is live; a later step (delete, purge, wait, verify) failed
	// ExitInterrupted is returned when the command was cancelled by
	// SIGINT/SIGTERM (128 + SIGINT, as shells report it).
	ExitInterrupted = 130
)

// UsageError is a mistake in how cdnctl was invoked: an unknown flag, a
// missing argument, a config file that does not decode. It exits with
// ExitUsage.
type UsageError struct {
	Err error
	// NoHint marks a mistake the usage text does not help with: in the
	// configuration (cdnctl.yaml, CDNCTL_*, the entries it names) or a
	// folder that is not there. Same exit code, no "Run 'cdnctl --help'".
	NoHint bool
}

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// configError marks err as a configuration mistake (see UsageError).
func configError(err error) error {
	return &UsageError{Err: err, NoHint: true}
}

// configErrorf builds a configuration mistake (see configError).
func configErrorf(format string, args ...any) error {
	return configError(fmt.Errorf(format, args...))
}

// usageErrorf builds a UsageError.
func usageErrorf(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// ExitError carries a specific exit code (deploy distinguishes several
// kinds of failure). A nil Err means the command already reported the
// problem and only the code remains.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}
func (e *ExitError) Unwrap() error { return e.Err }

// exitCode maps an error returned by a command to the process exit code.
// It is the only place that does so.
func exitCode(err error) int {
	var usage *UsageError
	var exit *ExitError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &exit):
		return exit.Code
	case errors.As(err, &usage):
		return ExitUsage
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	default:
		return ExitFailure
	}
}
