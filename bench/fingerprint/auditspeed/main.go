// Command auditspeed measures the end-of-run audit (package siteaudit) on
// a fingerprinted output folder: it reads the folder's manifest, runs the
// audit ROUNDS times on one worker and on every CPU, and prints the files
// and bytes scanned, the median wall time and the process's CPU time per
// round, and the throughput. Not run by CI.
//
//	go run ./bench/fingerprint/auditspeed [-rounds 5] OUT
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/cdnctl/cdnctl/bench/internal/cputime"
	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/siteaudit"
)

func main() {
	rounds := flag.Int("rounds", 5, "rounds of each measure")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: auditspeed [-rounds N] OUT (a cdnctl fingerprint output folder)")
		os.Exit(2)
	}
	out := flag.Arg(0)
	m, err := hashing.LoadManifest(os.DirFS(out), "")
	if err != nil {
		fmt.Fprintln(os.Stderr, "auditspeed:", err)
		os.Exit(1)
	}
	for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
		var walls, cpus []time.Duration
		var rep *siteaudit.Report
		for range *rounds {
			t0, c0 := time.Now(), cputime.Total()
			rep, err = siteaudit.Check(context.Background(), out, m, siteaudit.Options{Skip: []string{hashing.DefaultManifestName}, Workers: workers})
			if err != nil {
				fmt.Fprintln(os.Stderr, "auditspeed:", err)
				os.Exit(1)
			}
			walls = append(walls, time.Since(t0))
			cpus = append(cpus, cputime.Total()-c0)
		}
		slices.Sort(walls)
		slices.Sort(cpus)
		wall, cpu := walls[len(walls)/2], cpus[len(cpus)/2]
		mb := float64(rep.Bytes) / 1e6
		fmt.Printf("audit of %s, %d worker(s): %d files, %.1f MB, %d findings; median of %d rounds: wall %v (%.0f MB/s), CPU %v (%.0f MB per CPU second)\n",
			out, workers, rep.Files, mb, rep.Total, *rounds, wall.Round(time.Millisecond), mb/wall.Seconds(), cpu.Round(time.Millisecond), mb/cpu.Seconds())
	}
}
