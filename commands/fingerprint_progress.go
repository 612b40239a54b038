package commands

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"charm.land/bubbles/v2/progress"

	"github.com/cdnctl/cdnctl/hashing"
)

// fingerprintUI shows the progress of `cdnctl fingerprint` on stderr: on
// a terminal a line with a bar, redrawn 10 times a second while the run
// lasts and cleared at its end; otherwise one log line when it starts
// and one when it ends. hashing reports to update; nothing here reaches
// stdout, so --json is unaffected.
type fingerprintUI struct {
	ios    *IOStreams
	log    *slog.Logger
	tty    bool
	color  bool
	bar    progress.Model
	phase  atomic.Value // string
	done   atomic.Int64
	total  atomic.Int64
	bytes  atomic.Int64
	btotal atomic.Int64

	mu      sync.Mutex // guards the fields below
	started time.Time
	stopc   chan struct{}
	stopped chan struct{}
}

func newFingerprintUI(ios *IOStreams, log *slog.Logger) *fingerprintUI {
	u := &fingerprintUI{ios: ios, log: log, tty: ios.IsStderrTTY(), color: ios.ColorEnabled()}
	if u.color {
		u.bar = progress.New(progress.WithWidth(28), progress.WithDefaultBlend())
	}
	return u
}

// update is hashing's Options.Progress.
func (u *fingerprintUI) update(p hashing.Progress) {
	u.done.Store(int64(p.Files))
	u.total.Store(int64(p.FilesTotal))
	u.bytes.Store(p.Bytes)
	u.btotal.Store(p.BytesTotal)
	u.phase.Store(p.Phase)
}

// start begins showing the run of what (source → output).
func (u *fingerprintUI) start(source, output string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.started = time.Now()
	if !u.tty {
		u.log.Info("fingerprint: started", "source", source, "output", output)
		return
	}
	u.stopc, u.stopped = make(chan struct{}), make(chan struct{})
	go func(stopc, stopped chan struct{}) {
		defer close(stopped)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopc:
				fmt.Fprint(u.ios.SyncErr(), "\r\x1b[K")
				return
			case <-t.C:
				u.render()
			}
		}
	}(u.stopc, u.stopped)
}

// render draws the progress line (on a terminal).
func (u *fingerprintUI) render() {
	u.mu.Lock()
	running := time.Since(u.started)
	u.mu.Unlock()
	phase, _ := u.phase.Load().(string)
	count, pct := progressCount(phase, u.done.Load(), u.total.Load(), u.bytes.Load(), u.btotal.Load(), 0, running)
	fmt.Fprintf(u.ios.SyncErr(), "\r  fingerprint  %s  %s\x1b[K", progressBar(u.bar, u.color, pct), count)
}

// stop ends the display.
func (u *fingerprintUI) stop() {
	u.mu.Lock()
	stopc, stopped := u.stopc, u.stopped
	u.stopc, u.stopped = nil, nil
	u.mu.Unlock()
	if stopc != nil {
		close(stopc)
		<-stopped
	}
}

// finished logs the end line of a run that succeeded, without a terminal (a
// failure's end line is its error; on a terminal the summary follows).
func (u *fingerprintUI) finished(res *hashing.Result) {
	if u.tty {
		return
	}
	u.mu.Lock()
	elapsed := time.Since(u.started).Round(time.Millisecond)
	u.mu.Unlock()
	u.log.Info("fingerprint: done", "files", res.Stats.Files, "bytes", res.Stats.Bytes, "reused", res.Stats.Reused, "duration", elapsed.String())
}
