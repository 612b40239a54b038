// Package inspect is the interactive cache inspector of `cdnctl inspect`: a
// bubbletea program over the admin API of a local edge topology (package
// localedge/adminclient). It shows every PoP's traffic and cache, lists the
// cached entries with server-side filtering, sorting and paging, shows one
// entry in detail and purges, always after a confirmation that names how
// many entries are affected. All I/O happens in tea.Cmd functions; Update
// and View only compute.
//
// It never imports package commands: the command builds the client and the
// options and calls Run (or New, for tests).
package inspect

import (
	"context"
	"io"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/localedge/adminclient"
)

// API is what the inspector needs of the admin API; *adminclient.Client
// implements it.
type API interface {
	Stats(ctx context.Context) (localedge.StatsResponse, error)
	Entries(ctx context.Context, q adminclient.ListQuery) (localedge.EntryPage, error)
	Entry(ctx context.Context, pop, key string) (localedge.EntryDetail, error)
	Purge(ctx context.Context, req localedge.AdminPurgeRequest) (localedge.PurgeResponse, error)
}

// Defaults of Options.
const (
	DefaultRefresh  = 2 * time.Second
	DefaultPageSize = 100
	// requestTimeout bounds one admin API call made by the inspector.
	requestTimeout = 10 * time.Second
	// historyLen is how many hit-ratio samples the overview keeps.
	historyLen = 60
	// maxPurgeURLs bounds a "purge everything matching" collected entry
	// by entry (a filter that is not one tag or one host).
	maxPurgeURLs = 100_000
)

// Options configure the inspector.
type Options struct {
	// Client talks to the admin API.
	Client API
	// Source names the admin API in the header (its URL).
	Source string
	// Pop is the PoP whose entries are listed first ("" = every PoP).
	Pop string
	// Filter is the initial entries filter (tag:css status:404 …).
	Filter string
	// ReadOnly refuses purges.
	ReadOnly bool
	// Refresh is how often statistics and the page shown are reloaded
	// (DefaultRefresh when 0).
	Refresh time.Duration
	// PageSize is the number of entries fetched at a time
	// (DefaultPageSize when 0).
	PageSize int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// NoColor drops colours (NO_COLOR, --no-color); bold and reverse
	// video remain.
	NoColor bool
}

// Run runs the inspector on a terminal: it reads keys from in, draws on
// out (the standard error stream: standard output stays free), and
// returns when the user quits or ctx is done, with the terminal restored.
func Run(ctx context.Context, opts Options, in io.Reader, out io.Writer) error {
	m := New(ctx, opts)
	popts := []tea.ProgramOption{tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out)}
	if opts.NoColor {
		popts = append(popts, tea.WithColorProfile(colorprofile.Ascii))
	}
	_, err := tea.NewProgram(m, popts...).Run()
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
