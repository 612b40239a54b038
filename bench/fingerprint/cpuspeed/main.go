// Command cpuspeed measures the CPU work of a cdnctl fingerprint first run
// without its file I/O: it loads SRC into memory, then ROUNDS times builds
// it with hashing.Build into hashing.Discard (references found and
// rewritten, every text file searched for the names of others, every file
// hashed), with the end-of-run audit scanning each file as it is written
// (planned with every source file as one that may be renamed).
// It prints the median and the lowest CPU time (user + system) per round
// and the throughput: on a shared machine these move far less than wall
// or file-system times. Not run by CI.
//
//	go run ./bench/fingerprint/cpuspeed [-rounds 7] [-cpuprofile FILE] SRC
package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"testing/fstest"
	"time"

	"github.com/cdnctl/cdnctl/bench/internal/cputime"
	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/siteaudit"
)

func main() {
	rounds := flag.Int("rounds", 7, "rounds")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the rounds to this file")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: cpuspeed [-rounds N] SRC")
		os.Exit(2)
	}
	src := flag.Arg(0)
	mem := fstest.MapFS{}
	var size int64
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		mem[filepath.ToSlash(rel)] = &fstest.MapFile{Data: b, Mode: 0o644, ModTime: time.Unix(1, 0)}
		size += int64(len(b))
		return nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var names []string
	for name := range mem {
		names = append(names, name)
	}
	if *profile != "" {
		f, err := os.Create(*profile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	var times []time.Duration
	for range *rounds {
		a := &siteaudit.Auditor{}
		a.Planned(names)
		c0 := cputime.Total()
		if _, err := hashing.Build(context.Background(), mem, auditOutput{a}, hashing.Options{}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		times = append(times, cputime.Total()-c0)
	}
	slices.Sort(times)
	med := times[len(times)/2]
	fmt.Printf("%d files, %d bytes: CPU per round median %.3f s, lowest %.3f s (%.0f MB per CPU-second)\n",
		len(mem), size, med.Seconds(), times[0].Seconds(), float64(size)/1e6/med.Seconds())
}

// auditOutput writes nothing, but hands each file to the audit.
type auditOutput struct{ a *siteaudit.Auditor }

func (o auditOutput) Create(string) (hashing.OutputFile, error) { return &auditFile{a: o.a}, nil }

// WriteFile is how hashing writes a file whose content it holds.
func (o auditOutput) WriteFile(name string, data []byte) error {
	o.a.Written(name, data)
	return nil
}

type auditFile struct {
	a    *siteaudit.Auditor
	data []byte
}

func (f *auditFile) Write(p []byte) (int, error) { f.data = append(f.data, p...); return len(p), nil }
func (f *auditFile) Commit(name string) error    { f.a.Written(name, f.data); return nil }
func (f *auditFile) Abort() error                { return nil }
