// Command geodnsd runs cdnctl's GeoDNS server alone, for bench/dns: the
// default zones and PoPs, each PoP with a real HTTP health endpoint that
// the server checks, so the whole routing policy (longest-prefix match,
// health flags, ECS) runs on every query. It prints "ready ADDR" once
// listening and stops on SIGINT/SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/cdnctl/cdnctl/localedge/geodns"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "UDP and TCP address")
	queryLog := flag.Bool("query-log", false, "log every query to stderr")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	freePort := flag.Bool("free-port", false, "print a port of 127.0.0.1 free for both UDP and TCP, and exit")
	flag.Parse()
	if *freePort {
		s, err := geodns.New(geodns.DefaultConfig())
		if err == nil {
			err = s.Listen("127.0.0.1:0")
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "geodnsd:", err)
			os.Exit(1)
		}
		// Listen bound both; the port is free again once the process exits.
		_, port, _ := net.SplitHostPort(s.Addr())
		fmt.Println(port)
		return
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "geodnsd:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(*addr, *queryLog); err != nil {
		fmt.Fprintln(os.Stderr, "geodnsd:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(addr string, queryLog bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// One health endpoint per PoP, on the PoP's own loopback address.
	var urls []string
	for i := 1; i <= 3; i++ {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.%d.1:0", i))
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"pop":"pop%d","role":"edge","status":"ok"}`, i)
		})}
		go srv.Serve(l)
		defer srv.Close()
		urls = append(urls, "http://"+l.Addr().String()+geodns.DefaultHealthPath)
	}
	cfg := geodns.DefaultConfig()
	cfg.PoPs = geodns.DefaultPoPs(3, urls...)
	cfg.Health = geodns.HealthConfig{Interval: time.Second}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg.Logger = logger
	if queryLog {
		cfg.QueryLog = logger
		cfg.QueryLogRate = -1 // every query, as the flag says
	}
	s, err := geodns.New(cfg)
	if err != nil {
		return err
	}
	if err := s.Listen(addr); err != nil {
		return err
	}
	fmt.Println("ready", s.Addr())
	return s.Serve(ctx)
}
