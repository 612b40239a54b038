// Command fpprof profiles a first run of cdnctl fingerprint: it
// fingerprints SRC into a new folder ROUNDS times, with the end-of-run
// audit as the command runs it (no precompressed copies, as
// bench/fingerprint/run.sh), and writes a CPU profile of all the rounds.
// It prints each round's wall and CPU time (user + system). Not run by CI.
//
//	go run ./bench/fingerprint/fpprof [-rounds 3] [-cpuprofile cpu.out] SRC
//	go tool pprof -top cpu.out
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/siteaudit"
)

func cpuTimes() (user, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

func main() {
	rounds := flag.Int("rounds", 3, "first runs to measure")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the rounds to this file")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: fpprof [-rounds N] [-cpuprofile FILE] SRC")
		os.Exit(2)
	}
	src := flag.Arg(0)
	work, err := os.MkdirTemp(filepath.Dir(filepath.Clean(src)), "fpprof-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer os.RemoveAll(work)
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
	for i := range *rounds {
		out := filepath.Join(work, fmt.Sprint("out", i))
		auditor := &siteaudit.Auditor{Source: os.DirFS(src), Options: siteaudit.Options{Skip: []string{hashing.DefaultManifestName}}}
		u0, s0 := cpuTimes()
		t0 := time.Now()
		res, err := hashing.FingerprintDir(context.Background(), src, out, hashing.DirOptions{Audit: auditor.Audit, Watch: auditor})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		wall := time.Since(t0)
		u1, s1 := cpuTimes()
		fmt.Printf("round %d: %d files, wall %.3f s, CPU %.3f s (user %.3f, sys %.3f), audit %d files\n", i+1, res.Stats.Files,
			wall.Seconds(), (u1 - u0 + s1 - s0).Seconds(), (u1 - u0).Seconds(), (s1 - s0).Seconds(), auditor.Report.Files)
	}
}
