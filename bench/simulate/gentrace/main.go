// Command gentrace writes a synthetic request trace for bench/simulate: a
// Zipf-popular catalogue of objects with log-normal sizes, requested at a
// steady rate, as a CSV trace (time,url,bytes: what libCacheSim and
// cdnctl simulate both read) or as an nginx combined access log.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/cdnctl/cdnctl/simulate/workload"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gentrace:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		n       = flag.Int64("n", 1_000_000, "requests")
		objects = flag.Int64("objects", 100_000, "objects in the catalogue")
		zipf    = flag.Float64("zipf", 0.9, "Zipf exponent of popularity")
		median  = flag.String("median", "20KiB", "median object size")
		sigma   = flag.Float64("sigma", 1, "sigma of the log-normal sizes")
		rate    = flag.Float64("rate", 1000, "requests per second")
		seed    = flag.Uint64("seed", 1, "random seed")
		format  = flag.String("format", "csv", "csv (time,url,bytes) or combined (nginx)")
		out     = flag.String("o", "-", "output file (.gz: gzip)")
	)
	flag.Parse()
	med, err := workload.ParseByteSize(*median)
	if err != nil {
		return err
	}
	z := *zipf
	spec := workload.Spec{
		Duration: time.Duration(float64(*n) / *rate * 1.2 * float64(time.Second)), Seed: *seed,
		Rate: workload.Rate{Steady: *rate},
		Content: []workload.Content{{
			Name: "objects", Share: 1, Objects: *objects, Zipf: &z, Path: "/o/{id}",
			Size: workload.Size{LogNormal: &workload.LogNormal{Median: workload.ByteSize(med), Sigma: *sigma}},
		}},
	}
	src, err := workload.NewSynthetic(spec)
	if err != nil {
		return err
	}
	var w io.Writer = os.Stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
		if len(*out) > 3 && (*out)[len(*out)-3:] == ".gz" {
			zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
			defer zw.Close()
			w = zw
		}
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	defer bw.Flush()
	if *format == "csv" {
		bw.WriteString("time,url,bytes\n")
	}
	buf := make([]workload.Event, 1024)
	var written int64
	var line []byte
	for written < *n {
		k, err := src.Read(buf)
		for _, ev := range buf[:k] {
			if written >= *n {
				break
			}
			line = line[:0]
			switch *format {
			case "csv":
				line = strconv.AppendInt(line, ev.Time/int64(time.Second), 10)
				line = append(line, ',')
				line = append(line, ev.Path...)
				line = append(line, ',')
				line = strconv.AppendInt(line, ev.Size, 10)
			case "combined":
				ip := 1 + written*7919%65000
				line = fmt.Appendf(line, "10.%d.%d.%d - - [%s] \"GET %s HTTP/1.1\" 200 %d \"-\" \"Mozilla/5.0\"",
					ip>>16&255, ip>>8&255, ip&255, time.Unix(0, ev.Time).UTC().Format("02/Jan/2006:15:04:05 -0700"), ev.Path, ev.Size)
			default:
				return fmt.Errorf("format %q: want csv or combined", *format)
			}
			line = append(line, '\n')
			bw.Write(line)
			written++
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	if written < *n {
		return fmt.Errorf("the workload ended after %d requests", written)
	}
	return nil
}
