package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cdnctl/cdnctl/localedge/localca"
	"github.com/cdnctl/cdnctl/localedge/localca/truststores"
)

// TrustOptions are the inputs of `cdnctl trust`.
type TrustOptions struct {
	Uninstall bool
	Stores    []string
	// stores are the trust stores of this machine (truststores.All, or
	// fakes in tests).
	stores []truststores.Store
}

func newCmdTrust(f *Factory) *cobra.Command {
	opts := &TrustOptions{stores: truststores.All()}
	cmd := &cobra.Command{
		Use:   "trust [--uninstall] [--store system,nss]",
		Short: "Make this machine's browsers and tools trust the local CA of cdnctl serve --https",
		Long: `Trust installs the local CA that signs the certificates of cdnctl serve
--https into this machine's trust stores, as mkcert -install does: the
system's (Debian's update-ca-certificates, Fedora's update-ca-trust, the
macOS System keychain, the Windows root store; this may ask for your sudo
password) and NSS (Chromium on Linux reads ~/.pki/nssdb, Firefox its
profiles; needs certutil, from Debian's libnss3-tools). The CA is created
first if it does not exist yet (serve.https.ca_dir, by default in your
user config folder).

For each store it says what it did; where it cannot (no certutil, no NSS
database, no permission) it prints the commands to run by hand. --uninstall
removes the CA from the stores (the CA itself stays: delete its folder to
start over). Exit code 1 when a store that could be changed failed.

The CA's private key never leaves its folder (mode 0600): anyone who reads
it can make certificates your browser trusts.`,
		Example: `  cdnctl trust
  cdnctl trust --store nss
  cdnctl trust --uninstall`,
		Args: wrapArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTrust(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Uninstall, "uninstall", false, "remove the CA from the trust stores")
	cmd.Flags().StringSliceVar(&opts.Stores, "store", []string{truststores.System, truststores.NSS}, "trust stores to change: system, nss")
	return cmd
}

// TrustReport is what `cdnctl trust --json` prints.
type TrustReport struct {
	CA      string        `json:"ca"`
	CAFile  string        `json:"ca_file"`
	Created bool          `json:"created,omitempty"`
	Stores  []StoreResult `json:"stores"`
}

// StoreResult is what happened in one trust store.
type StoreResult struct {
	Store string `json:"store"`
	// Status is installed, uninstalled, present (already trusted), absent
	// (nothing to uninstall), unavailable (the store cannot be used here)
	// or failed.
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Manual is what to run by hand, when the store was not changed.
	Manual []string `json:"manual,omitempty"`
}

func runTrust(_ context.Context, f *Factory, opts *TrustOptions) error {
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	var stores []truststores.Store
	for _, name := range opts.Stores {
		i := slices.IndexFunc(opts.stores, func(s truststores.Store) bool { return s.Name == strings.TrimSpace(name) })
		if i < 0 {
			return usageErrorf("--store %q: want system or nss", name)
		}
		if !slices.ContainsFunc(stores, func(s truststores.Store) bool { return s.Name == opts.stores[i].Name }) {
			stores = append(stores, opts.stores[i])
		}
	}
	dir, err := cfg.Serve.HTTPS.caDir()
	if err != nil {
		return err
	}
	var ca *localca.CA
	created := false
	if opts.Uninstall {
		ca, err = localca.Load(dir, f.Now())
		if errors.Is(err, localca.ErrNoCA) {
			fmt.Fprintf(f.IO.ErrOut, "No local CA in %s: nothing to uninstall.\n", dir)
			return nil
		}
	} else {
		ca, created, err = localca.LoadOrCreate(dir, f.Now())
	}
	if err != nil {
		return fmt.Errorf("trust: %w", err)
	}
	rep := TrustReport{CA: ca.Name(), CAFile: ca.CertPath(), Created: created}
	failed := 0
	for _, s := range stores {
		r := changeStore(s, ca, opts.Uninstall)
		if r.Status == "failed" {
			failed++
		}
		rep.Stores = append(rep.Stores, r)
	}
	if f.JSON {
		if err := writeJSON(f.IO.Out, rep); err != nil {
			return err
		}
	} else if err := printTrust(f.IO.Out, rep); err != nil {
		return err
	}
	if failed > 0 {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("trust: %d of %d trust stores could not be changed", failed, len(stores))}
	}
	return nil
}

// changeStore installs or uninstalls the CA in one store.
func changeStore(s truststores.Store, ca *localca.CA, uninstall bool) StoreResult {
	r := StoreResult{Store: s.Name}
	present, err := s.Check(ca)
	switch {
	case err != nil:
		r.Status, r.Detail = "unavailable", err.Error()
	case uninstall && !present:
		r.Status = "absent"
		return r
	case !uninstall && present:
		r.Status = "present"
		return r
	case uninstall:
		if err := s.Uninstall(ca); err != nil {
			r.Status, r.Detail = "failed", err.Error()
		} else {
			r.Status = "uninstalled"
			return r
		}
	default:
		if err := s.Install(ca); err != nil {
			r.Status, r.Detail = "failed", err.Error()
		} else {
			r.Status = "installed"
			return r
		}
	}
	r.Manual = s.Manual(ca, uninstall)
	return r
}

func printTrust(w io.Writer, rep TrustReport) error {
	made := ""
	if rep.Created {
		made = ", created now"
	}
	fmt.Fprintf(w, "Local CA: %s (%s%s)\n", rep.CA, rep.CAFile, made)
	says := map[string]string{
		"installed":   "installed: trusted from now on",
		"uninstalled": "uninstalled",
		"present":     "already trusted",
		"absent":      "not installed: nothing to remove",
		"unavailable": "not changed",
		"failed":      "FAILED",
	}
	for _, s := range rep.Stores {
		line := fmt.Sprintf("  %-7s %s", s.Store, says[s.Status])
		if s.Detail != "" {
			line += ": " + s.Detail
		}
		fmt.Fprintln(w, line)
	}
	for _, s := range rep.Stores {
		if len(s.Manual) == 0 {
			continue
		}
		fmt.Fprintf(w, "By hand (%s):\n", s.Store)
		for _, m := range s.Manual {
			fmt.Fprintf(w, "  %s\n", m)
		}
	}
	_, err := fmt.Fprintln(w, "Browsers read the stores when they start: restart the ones running.")
	return err
}
