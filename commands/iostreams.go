package commands

import (
	"bytes"
	"io"
	"os"
	"sync"

	"github.com/charmbracelet/x/term"
)

// IOStreams is where a command reads and writes. Data goes to Out, logs,
// progress, prompts and the TUI go to ErrOut, so `cdnctl … --json | jq`
// always sees clean JSON.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	stdinTTY  bool
	stdoutTTY bool
	stderrTTY bool
	noColor   bool
	// noHeaders drops the header row of tables (--no-headers).
	noHeaders bool

	errOnce sync.Once
	errSync io.Writer
}

// lockedWriter serialises the writes of several goroutines to one writer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// SyncErr is ErrOut behind a lock shared by everything that writes to it
// from more than one goroutine: the logger and the progress lines that a
// ticker redraws while a step logs, so that neither tears the other's
// line (nor races on a buffer in tests).
func (s *IOStreams) SyncErr() io.Writer {
	s.errOnce.Do(func() { s.errSync = &lockedWriter{w: s.ErrOut} })
	return s.errSync
}

// System returns streams bound to the process's stdin, stdout and stderr,
// with terminal detection.
func System() *IOStreams {
	return &IOStreams{
		In:        os.Stdin,
		Out:       os.Stdout,
		ErrOut:    os.Stderr,
		stdinTTY:  term.IsTerminal(os.Stdin.Fd()),
		stdoutTTY: term.IsTerminal(os.Stdout.Fd()),
		stderrTTY: term.IsTerminal(os.Stderr.Fd()),
		noColor:   os.Getenv("NO_COLOR") != "",
	}
}

// TestStreams returns streams backed by buffers, none of them a terminal.
func TestStreams() (ios *IOStreams, in, out, errOut *bytes.Buffer) {
	in, out, errOut = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}

// SetTTY marks all three streams as terminals or not (tests use it to take
// the interactive paths).
func (s *IOStreams) SetTTY(tty bool) {
	s.stdinTTY, s.stdoutTTY, s.stderrTTY = tty, tty, tty
}

// IsStdoutTTY reports whether Out is a terminal: tables and colour for
// people, plain or JSON output for pipes.
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }

// IsStderrTTY reports whether ErrOut is a terminal: progress bars instead of
// periodic log lines.
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

// CanPrompt reports whether the user can answer a confirmation prompt.
func (s *IOStreams) CanPrompt() bool { return s.stdinTTY && s.stderrTTY }

// ColorEnabled reports whether ANSI colour may be written to ErrOut.
func (s *IOStreams) ColorEnabled() bool { return s.stderrTTY && !s.noColor }

// DisableHeaders drops tables' header rows (the --no-headers flag).
func (s *IOStreams) DisableHeaders() { s.noHeaders = true }

// DisableColor turns colour off (the --no-color flag).
func (s *IOStreams) DisableColor() { s.noColor = true }

// ReadLine reads one answer line from In, without reading past it (a
// command that asks twice gets each answer). The newline is not
// returned; io.EOF comes with what was read before it.
func (s *IOStreams) ReadLine() (string, error) {
	var line []byte
	b := make([]byte, 1)
	for {
		n, err := s.In.Read(b)
		if n == 1 {
			if b[0] == '\n' {
				return string(bytes.TrimSuffix(line, []byte("\r"))), nil
			}
			line = append(line, b[0])
		}
		if err != nil {
			return string(line), err
		}
	}
}
