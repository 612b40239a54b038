package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/localedge/localca/truststores"
	"github.com/cdnctl/cdnctl/localedge/runstate"
	"github.com/cdnctl/cdnctl/sample/demo"
)

// DemoOptions are the inputs of `cdnctl demo`.
type DemoOptions struct {
	Keep bool
}

func newCmdDemo(f *Factory) *cobra.Command {
	opts := &DemoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a whole CDN on this machine, deploy the sample site to it and watch what happens",
		Long: `Demo is cdnctl's quick start: offline, with no flags and no configuration, it
starts the local CDN of cdnctl serve --https (three edge PoPs answering
HTTPS and HTTP/2, a shield, a GeoDNS and an admin API, on free loopback
ports) over an empty origin folder, and then, narrating each step:

  1. deploys the embedded sample site with cdnctl deploy's plan:
     fingerprint, upload (assets, then files, then entry points), purge,
     prewarm the pages through every PoP, verify;
  2. resolves the site's host (www.example.test) as clients of two regions:
     the GeoDNS sends each to its own PoP;
  3. fetches a file nobody requested yet over HTTP/2: a miss, then a hit,
     then a miss at another PoP that the shield answers; over plain HTTP
     the site is redirected to HTTPS (CloudFront's redirect-to-https);
  4. edits one page and deploys again: only that page (and the manifest
     listing it) is uploaded and purged;
  5. shows the new page served by every PoP;

and stops, removing its temporary folders. --keep-running keeps the CDN running
(until Ctrl-C) and prints how to curl and dig it; the other commands run in
the same folder find it, as they find cdnctl serve's. --json prints what the
demo saw as JSON on stdout (the narration goes to stderr).

The certificates come from your local CA, created on first use in your
config folder (serve.https.ca_dir); cdnctl trust makes browsers trust it.`,
		Example: `  go run ./cmd/cdnctl demo
  cdnctl demo --keep-running`,
		Args: wrapArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Keep, "keep-running", false, "keep the CDN running after the demo, until interrupted")
	aliasFlag(cmd, "keep", "keep-running")
	return cmd
}

func runDemo(ctx context.Context, f *Factory, opts *DemoOptions) error {
	work, err := os.MkdirTemp("", "cdnctl-demo-")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer os.RemoveAll(work)
	originDir := work + string(os.PathSeparator) + "origin"
	if err := os.Mkdir(originDir, 0o755); err != nil {
		return fmt.Errorf("demo: %w", err)
	}

	// The topology of cdnctl serve --https with no other configuration,
	// on free ports, over the empty origin folder; the site is redirected
	// to HTTPS. The CA is the user's (serve.https.ca_dir).
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	sc := defaultServeConfig()
	sc.Origin = originDir
	sc.AccessLog = AccessLogOff
	sc.HTTPS = ServeHTTPSConfig{
		Enabled: true, CADir: cfg.Serve.HTTPS.CADir, Policy: string(localedge.AllowAll),
		HostPolicies: map[string]string{demo.Host: string(localedge.RedirectToHTTPS)},
	}
	dc := defaultDNSConfig()
	dc.QueryLog = false
	dc.Listen = "127.0.0.1:0"
	lc, err := startLocalCDN(ctx, &ServeOptions{
		Config: sc, DNS: dc, FreePorts: true, Logger: f.Logger, LookupEnv: f.LookupEnv,
	})
	if err != nil {
		return err
	}
	defer lc.close()
	if lc.caCreated {
		f.Logger.Info("created the local CA", "dir", filepath.Dir(lc.top.Info().HTTPS.CAFile))
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- lc.top.Run(runCtx) }()
	shutdown := func() error {
		stop()
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			return errors.New("demo: the local CDN did not stop within 15s")
		}
	}

	out := f.IO.Out
	if f.JSON {
		out = f.IO.ErrOut
	}
	info := lc.top.Info()
	start := f.Now()
	res, err := demo.Run(ctx, demo.Env{
		Info: info, Token: lc.top.Token(), OriginDir: originDir, WorkDir: work,
		Out: out, Logger: f.Logger, Now: f.Now,
	})
	if err != nil {
		shutdown()
		return err
	}
	fmt.Fprintf(out, "Done in %s.\n", f.Now().Sub(start).Round(10*time.Millisecond))
	if f.JSON {
		if err := writeJSON(f.IO.Out, res); err != nil {
			shutdown()
			return err
		}
	}
	if opts.Keep {
		// Kept running, it is this folder's local CDN for the other
		// commands, as cdnctl serve is.
		if reg, err := f.runRegistry(); err == nil {
			if dir, err := f.workDir(); err == nil {
				ti := info
				ti.Token = lc.top.Token()
				if st, err := reg.Register(runstate.State{Dir: dir, Topology: ti}); err == nil {
					defer reg.Remove(st)
				}
			}
		}
		printKeep(out, info, lc.top.Token(), originDir)
		<-ctx.Done()
		fmt.Fprintln(out, "Stopping.")
		return shutdown()
	}
	if err := shutdown(); err != nil {
		return err
	}
	fmt.Fprintln(out, "Stopped the local CDN and removed its folders. `cdnctl demo --keep-running` keeps it running; `cdnctl serve` runs one for your own site.")
	return nil
}

// printKeep says how to use the CDN the demo keeps running.
func printKeep(w io.Writer, info localedge.TopologyInfo, token, originDir string) {
	pop := info.PoPs[0]
	_, port, _ := net.SplitHostPort(info.DNS.Addr)
	host, _, _ := net.SplitHostPort(info.DNS.Addr)
	fmt.Fprintf(w, "\nThe local CDN keeps running (Ctrl-C stops it). Try:\n")
	if info.HTTPS != nil {
		popHost, popPort, _ := net.SplitHostPort(pop.Addr)
		fmt.Fprintf(w, "  curl -si --http2 --cacert %s --resolve %s:%s:%s https://%s:%s/about/\n",
			truststores.ShellQuote(info.HTTPS.CAFile), demo.Host, popPort, popHost, demo.Host, popPort)
		fmt.Fprintf(w, "  cdnctl trust   (then browsers open https://%s:%s/ once %s resolves to %s, e.g. in /etc/hosts)\n", demo.Host, popPort, demo.Host, popHost)
	}
	plainNote := ""
	if info.HTTPS != nil && info.HTTPS.HostPolicies[demo.Host] == localedge.RedirectToHTTPS {
		plainNote = "   (301 to https: the site's viewer protocol policy)"
	}
	fmt.Fprintf(w, "  curl -si -H 'Host: %s' %s/about/%s\n", demo.Host, pop.URL, plainNote)
	fmt.Fprintf(w, "  dig @%s -p %s %s +subnet=127.2.0.0/16\n", host, port, demo.Host)
	fmt.Fprintf(w, "  curl -s -H 'Authorization: Bearer %s' %s/api/v1/stats\n", token, info.Admin.URL)
	fmt.Fprintf(w, "  %s=%s cdnctl inspect --admin %s\n", AdminTokenEnv, token, info.Admin.URL)
	var pops []string
	for _, p := range info.PoPs {
		pops = append(pops, p.Name+" "+p.URL)
	}
	fmt.Fprintf(w, "PoPs: %s; origin folder %s\n", strings.Join(pops, ", "), originDir)
}
