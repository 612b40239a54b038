// Command cdnctl fingerprints, deploys, purges, prewarms and serves a site
// through a CDN. All logic lives in package commands; main only wires the
// process to it.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/cdnctl/cdnctl/commands"
)

// version is stamped at release time with -ldflags "-X main.version=…".
var version = ""

func main() { exit(run()) }

// exit is os.Exit, named so the testscript harness shares main's path.
func exit(code int) { os.Exit(code) }

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return commands.Main(ctx, os.Args[1:], commands.System(), commands.Build{Version: version})
}
