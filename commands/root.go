// Package commands is the cdnctl command line: a thin cobra layer that
// parses flags and config, calls the library packages (hashing, localedge,
// providers) and prints their results. Each command lives in its own file as
// an options struct, a newCmdXxx constructor and a runXxx function.
package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/cdnctl/cdnctl/localedge/runstate"
)

// Build describes the binary: set by main from -ldflags at release.
type Build struct {
	Version string
}

// Factory carries what commands share: streams, logger, config, clock. One
// is built per Main call; nothing here is global.
type Factory struct {
	IO    *IOStreams
	Build Build
	// LookupEnv reads the environment (os.LookupEnv in production).
	LookupEnv func(string) (string, bool)
	// Now is the clock (time.Now in production).
	Now func() time.Time
	// WorkDir is the working directory ("": the process's), where a
	// running local CDN is looked up.
	WorkDir string

	// Set from the global flags before a subcommand runs.
	JSON   bool
	Logger *slog.Logger
	// logFormat is --log-format (for logs written elsewhere than stderr).
	logFormat string

	configPath     string
	configExplicit bool
	configOnce     sync.Once
	config         *Config
	configErr      error

	// The running local CDN, found once per run (localcdn.go).
	localOnce  sync.Once
	localState *runstate.State
	localErr   error
}

// Config returns the loaded configuration, reading the file on first use,
// so commands that need none (version, completion) never fail on it.
func (f *Factory) Config() (*Config, error) {
	f.configOnce.Do(func() {
		f.config, f.configErr = LoadConfig(f.configPath, f.configExplicit, f.LookupEnv)
	})
	return f.config, f.configErr
}

// Main runs cdnctl with args (without the program name) and returns the
// process exit code. Errors are printed to ios.ErrOut.
func Main(ctx context.Context, args []string, ios *IOStreams, build Build) int {
	f := &Factory{
		IO:        ios,
		Build:     build,
		LookupEnv: os.LookupEnv,
		Now:       time.Now,
		Logger:    slog.New(slog.DiscardHandler),
	}
	return f.Run(ctx, args)
}

// Run executes the command tree with f; tests call it with TestStreams.
func (f *Factory) Run(ctx context.Context, args []string) int {
	root := NewRootCmd(f)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil {
		var exit *ExitError
		if !(errors.As(err, &exit) && exit.Err == nil) {
			fmt.Fprintf(f.IO.ErrOut, "cdnctl: %v\n", err)
		}
		var usage *UsageError
		if errors.As(err, &usage) && !usage.NoHint {
			fmt.Fprintln(f.IO.ErrOut, "Run 'cdnctl --help' for usage.")
		}
	}
	return exitCode(err)
}

// NewRootCmd builds the whole command tree.
func NewRootCmd(f *Factory) *cobra.Command {
	var (
		logLevel  string
		logFormat string
		noColor   bool
		noHeaders bool
	)
	root := &cobra.Command{
		Use:   "cdnctl",
		Short: "Fingerprint, deploy, purge, prewarm and serve a site through a CDN",
		Long: `cdnctl does a site operator's CDN job in one binary: content-hash a build
(fingerprint), upload only what changed to origin storage (push, deploy),
purge CloudFront, Cloudflare, Fastly, Akamai or the local edge (purge), warm
every PoP (prewarm), and run a whole local CDN for development and tests
(serve, demo).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// With no subcommand, print help; an unknown one is a usage error
		// with a suggestion.
		Args: unknownCommandArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("config") {
				if v, ok := f.LookupEnv(envPrefix + "CONFIG"); ok && v != "" {
					f.configPath, f.configExplicit = v, true
				}
			} else {
				f.configExplicit = true
			}
			if !cmd.Flags().Changed("log-level") {
				if v, ok := f.LookupEnv(envPrefix + "LOG_LEVEL"); ok && v != "" {
					logLevel = v
				}
			}
			if noColor {
				f.IO.DisableColor()
			}
			if noHeaders {
				f.IO.DisableHeaders()
			}
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return usageErrorf("--log-level %q: want debug, info, warn or error", logLevel)
			}
			if !cmd.Flags().Changed("log-format") {
				if v, ok := f.LookupEnv(envPrefix + "LOG_FORMAT"); ok && v != "" {
					logFormat = v
				}
			}
			h, err := newLogHandler(logFormat, f.IO.SyncErr(), f.IO.IsStderrTTY(), level)
			if err != nil {
				return err
			}
			f.Logger = slog.New(h)
			f.logFormat = logFormat
			return nil
		},
	}
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	root.SetIn(f.IO.In)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &UsageError{Err: suggestFlag(cmd, err)}
	})

	pf := root.PersistentFlags()
	pf.StringVar(&f.configPath, "config", DefaultConfigFile, "config file (env CDNCTL_CONFIG)")
	pf.BoolVar(&f.JSON, "json", false, "print machine-readable JSON on stdout")
	pf.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error (env CDNCTL_LOG_LEVEL)")
	pf.StringVar(&logFormat, "log-format", "auto", "logs and warnings on stderr: human, logfmt or json; auto is human on a terminal, logfmt otherwise (env CDNCTL_LOG_FORMAT)")
	pf.BoolVar(&noColor, "no-color", false, "disable colour (also NO_COLOR=1)")
	pf.BoolVar(&noHeaders, "no-headers", false, "print tables without their header row (piped tables start with one)")

	root.AddCommand(
		newCmdVersion(f),
		newCmdResolve(f),
		newCmdPush(f),
		newCmdFingerprint(f),
		newCmdPurge(f),
		newCmdServe(f),
		newCmdTrust(f),
		newCmdProbe(f),
		newCmdDeploy(f),
		newCmdHistory(f),
		newCmdPrewarm(f),
		newCmdVerify(f),
		newCmdDemo(f),
		newCmdInspect(f),
		newCmdSimulate(f),
		newCmdInit(f),
		newCmdDoctor(f),
		newCmdConfig(f),
	)
	root.InitDefaultCompletionCmd()
	registerCompletions(root, f)
	return root
}

// wrapArgs turns cobra's positional-argument errors into usage errors.
func wrapArgs(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return &UsageError{Err: err}
		}
		return nil
	}
}
