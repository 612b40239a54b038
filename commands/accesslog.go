package commands

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// AccessLogSetting is serve.access_log / --access-log: where the local
// CDN writes one line per request. "" (unset) is the default: stderr when
// stderr is a terminal (cdnctl serve in the foreground), off otherwise (CI,
// a service manager, a pipe), as Varnish writes none unless varnishncsa
// runs and an nginx in a container sends its own elsewhere.
type AccessLogSetting string

// Where an access log goes.
const (
	AccessLogOff    = "off"
	AccessLogStdout = "stdout"
	AccessLogStderr = "stderr"
)

// UnmarshalYAML takes off, stdout, stderr or a file path, and for
// configurations written before it was one of them, true (stderr) and
// false (off).
func (a *AccessLogSetting) UnmarshalYAML(node ast.Node) error {
	switch n := node.(type) {
	case *ast.BoolNode:
		*a = AccessLogOff
		if n.Value {
			*a = AccessLogStderr
		}
		return nil
	case *ast.StringNode:
		*a = AccessLogSetting(n.Value)
		return nil
	case *ast.NullNode:
		*a = ""
		return nil
	}
	line := 0
	if tk := node.GetToken(); tk != nil {
		line = tk.Position.Line
	}
	return fmt.Errorf("serve.access_log (line %d): want off, stdout, stderr or a file path", line)
}

// accessLogTarget resolves a setting: AccessLogOff, AccessLogStdout,
// AccessLogStderr or a file path. Unset, it is stderr on a terminal and
// off otherwise; true/on and false/no (the flag's and environment's
// boolean forms) are stderr and off.
func accessLogTarget(s AccessLogSetting, stderrTTY bool) string {
	v := strings.TrimSpace(string(s))
	switch strings.ToLower(v) {
	case "":
		if stderrTTY {
			return AccessLogStderr
		}
		return AccessLogOff
	case "off", "false", "no", "none", "0":
		return AccessLogOff
	case "stderr", "on", "true", "yes", "1":
		return AccessLogStderr
	case "stdout", "-":
		return AccessLogStdout
	}
	return v
}

// openAccessLog returns the logger of the access log that s asks for (nil
// when off) and what closes it. stderr shares the command's logger (and
// its --log-format); stdout and a file get --log-format's records (logfmt
// for auto, as they are for tools), a file appended to.
func openAccessLog(f *Factory, s AccessLogSetting) (*slog.Logger, func(), error) {
	target := accessLogTarget(s, f.IO.IsStderrTTY())
	nop := func() {}
	switch target {
	case AccessLogOff:
		return nil, nop, nil
	case AccessLogStderr:
		return f.Logger, nop, nil
	}
	var (
		w     io.Writer
		close = nop
	)
	if target == AccessLogStdout {
		if f.JSON {
			return nil, nil, usageErrorf("--access-log stdout (serve.access_log): stdout carries the --json output; choose stderr or a file")
		}
		w = f.IO.Out
	} else {
		if info, err := os.Stat(target); err == nil && info.IsDir() {
			return nil, nil, usageErrorf("--access-log %s (serve.access_log): is a folder; want off, stdout, stderr or a file path", target)
		}
		fh, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return nil, nil, fmt.Errorf("serve: access log %s: %w", target, unwrapPathErr(err))
		}
		w, close = &lockedWriter{w: fh}, func() { fh.Close() }
	}
	format := f.logFormat
	if format == "human" {
		format = "logfmt" // people read stderr; files and pipes go to tools
	}
	h, err := newLogHandler(format, w, false, slog.LevelInfo)
	if err != nil {
		close()
		return nil, nil, err
	}
	return slog.New(h), close, nil
}

// unwrapPathErr drops the *PathError's "open FILE:" prefix, which the
// caller's message already names.
func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
