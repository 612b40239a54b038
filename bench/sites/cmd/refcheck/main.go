// Command refcheck lists the references of a built site that name no file
// of it (see package refcheck): one line each, exit status 1 when there is
// any. With -all it lists the references found too.
//
//	go run ./bench/sites/cmd/refcheck [-host fixture.example] [-skip cdnctl-manifest.json] [-original ORIGINAL] DIR
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/cdnctl/cdnctl/bench/sites/refcheck"
)

func main() {
	var opts refcheck.Options
	var hosts, skip string
	all := flag.Bool("all", false, "list every reference found, not only the dangling ones")
	flag.StringVar(&hosts, "host", "", "comma-separated host names the site is served at (absolute URLs on them are checked)")
	flag.StringVar(&skip, "skip", "", "comma-separated files (or folders ending in /) not scanned")
	flag.StringVar(&opts.Original, "original", "", "folder of the site before a tool changed it (what names a file is judged by)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: refcheck [-host H,…] [-skip F,…] [-original ORIGINAL] DIR")
		os.Exit(2)
	}
	if hosts != "" {
		opts.Hosts = strings.Split(hosts, ",")
	}
	if skip != "" {
		opts.Skip = strings.Split(skip, ",")
	}
	refs, err := refcheck.Scan(flag.Arg(0), opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	dangling := 0
	for _, r := range refs {
		if !r.Found {
			dangling++
		}
		if *all || !r.Found {
			fmt.Println(r)
		}
	}
	if dangling > 0 {
		os.Exit(1)
	}
}
