// Command fpprof profiles a first run of cdnctl fingerprint: it
// fingerprints SRC into a new folder ROUNDS times, with the end-of-run
// audit as the command runs it (no precompressed copies, as
// bench/fingerprint/run.sh), and writes a CPU profile of all the rounds.
// It prints each round's wall and CPU time (user + system) and when each
// phase (scan, read, write, then the audit and the rename) started. Each
// round starts after a sync, so that no round pays for the writeback of
// the one before. With -rerun, it measures re-runs with nothing changed
// instead: each round writes into the output of a first run made before
// the rounds. Not run by CI.
//
//	go run ./bench/fingerprint/fpprof [-rounds 3] [-cpuprofile cpu.out] [-memprofile mem.out] [-workers N] [-dir DIR] [-timeline 50ms] [-rerun] SRC
//	go tool pprof -top cpu.out
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/cdnctl/cdnctl/bench/internal/cputime"
	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/siteaudit"
)

func main() {
	rounds := flag.Int("rounds", 3, "first runs to measure")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the rounds to this file")
	memProfile := flag.String("memprofile", "", "write an allocation profile of the rounds to this file")
	workers := flag.Int("workers", 0, "files processed at once (0: the default)")
	dir := flag.String("dir", "", "folder for the outputs, removed at the end (default: next to SRC)")
	timeline := flag.Duration("timeline", 0, "print how many CPUs the run kept busy in each interval of this length (0: no timeline)")
	rerun := flag.Bool("rerun", false, "measure re-runs with nothing changed: every round writes into the output of a first run made before (not measured)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: fpprof [-rounds N] [-cpuprofile FILE] [-memprofile FILE] [-workers N] [-dir DIR] [-timeline D] [-rerun] SRC")
		os.Exit(2)
	}
	src := flag.Arg(0)
	parent := *dir
	if parent == "" {
		parent = filepath.Dir(filepath.Clean(src))
	}
	work, err := os.MkdirTemp(parent, "fpprof-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer os.RemoveAll(work)
	if *rerun {
		if _, err := hashing.FingerprintDir(context.Background(), src, filepath.Join(work, "out"), hashing.DirOptions{}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		defer func() {
			runtime.GC() // the profile is as of the last collection
			f, err := os.Create(*memProfile)
			if err == nil {
				err = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
			}
		}()
	}
	for i := range *rounds {
		out := filepath.Join(work, fmt.Sprint("out", i))
		if *rerun {
			out = filepath.Join(work, "out")
		}
		auditor := &siteaudit.Auditor{Source: os.DirFS(src), Options: siteaudit.Options{Skip: []string{hashing.DefaultManifestName}}}
		syscall.Sync()
		var phases []string
		u0, s0 := cputime.Process()
		c0 := u0 + s0
		t0 := time.Now()
		stopTimeline := startTimeline(*timeline, t0)
		opts := hashing.DirOptions{Audit: auditor.Audit, Watch: auditor}
		opts.Workers = *workers
		opts.Progress = func(p hashing.Progress) {
			if p.Files == 0 {
				phases = append(phases, fmt.Sprintf("%s %.3f (CPU %.3f)", p.Phase, time.Since(t0).Seconds(), (cputime.Total()-c0).Seconds()))
			}
		}
		audit := opts.Audit
		opts.Audit = func(ctx context.Context, dir string, res *hashing.Result) error {
			phases = append(phases, fmt.Sprintf("audit %.3f (CPU %.3f)", time.Since(t0).Seconds(), (cputime.Total()-c0).Seconds()))
			err := audit(ctx, dir, res)
			phases = append(phases, fmt.Sprintf("rename %.3f (CPU %.3f)", time.Since(t0).Seconds(), (cputime.Total()-c0).Seconds()))
			return err
		}
		res, err := hashing.FingerprintDir(context.Background(), src, out, opts)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		wall := time.Since(t0)
		stopTimeline()
		u1, s1 := cputime.Process()
		fmt.Printf("round %d: %d files, wall %.3f s, CPU %.3f s (user %.3f, sys %.3f), audit %d files; phases start (s): %s\n", i+1, res.Stats.Files,
			wall.Seconds(), (u1 - u0 + s1 - s0).Seconds(), (u1 - u0).Seconds(), (s1 - s0).Seconds(), auditor.Report.Files, strings.Join(phases, ", "))
	}
}

// startTimeline prints, every interval from t0 until stop is called, the
// CPUs used (CPU time over wall time) in that interval.
func startTimeline(interval time.Duration, t0 time.Time) (stop func()) {
	if interval <= 0 {
		return func() {}
	}
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		last, lastT := cputime.Total(), t0
		var line []string
		flush := func() {
			fmt.Println("  CPUs busy per", interval, "from the start:", strings.Join(line, " "))
		}
		for {
			select {
			case <-done:
				flush()
				return
			case now := <-tick.C:
				c := cputime.Total()
				line = append(line, fmt.Sprintf("%.1f", (c-last).Seconds()/now.Sub(lastT).Seconds()))
				last, lastT = c, now
			}
		}
	}()
	return func() { close(done); <-finished }
}
