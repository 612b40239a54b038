// Command profile runs `cdnctl ARGS…` in process with a CPU (and
// optionally heap) profile, for finding where cdnctl simulate spends its
// time; cdnctl itself has no profiling flag.
//
//	go run ./bench/simulate/profile -cpuprofile cpu.out -- --config empty.yaml --json simulate --log access.log.gz
//	go tool pprof -top cpu.out
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"

	"github.com/cdnctl/cdnctl/commands"
)

func main() {
	cpu := flag.String("cpuprofile", "", "write a CPU profile to this `file`")
	heap := flag.String("memprofile", "", "write an allocation profile to this `file` at the end")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: profile [-cpuprofile FILE] [-memprofile FILE] -- CDNCTL-ARGS…")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *cpu != "" {
		f, err := os.Create(*cpu)
		if err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
			os.Exit(2)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
			os.Exit(2)
		}
	}
	code := commands.Main(context.Background(), flag.Args(), commands.System(), commands.Build{})
	if *cpu != "" {
		pprof.StopCPUProfile()
	}
	if *heap != "" {
		f, err := os.Create(*heap)
		if err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
			os.Exit(2)
		}
		runtime.GC()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
			os.Exit(2)
		}
		f.Close()
	}
	os.Exit(code)
}
