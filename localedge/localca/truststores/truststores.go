// Package truststores installs the local CA (package localca) into the
// places browsers and tools look for trusted roots — the operating
// system's store, and the NSS databases of Chromium (~/.pki/nssdb on
// Linux) and Firefox — as mkcert does, with github.com/smallstep/truststore
// (mkcert's code as a library). Where it cannot, each store says how to do
// it by hand.
package truststores

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strings"

	"github.com/smallstep/truststore"

	"github.com/cdnctl/cdnctl/localedge/localca"
)

// Store is one trust store.
type Store struct {
	// Name is "system" or "nss".
	Name string
	// Check says whether the CA is in the store (present), or why the
	// store cannot be used on this machine (err).
	Check func(ca *localca.CA) (present bool, err error)
	// Install and Uninstall change the store (they may run sudo).
	Install   func(ca *localca.CA) error
	Uninstall func(ca *localca.CA) error
	// Manual is what to run by hand to install (or uninstall) the CA.
	Manual func(ca *localca.CA, uninstall bool) []string
}

// Names of the stores.
const (
	System = "system"
	NSS    = "nss"
)

// All returns the stores of this machine: the system's, then NSS (Linux,
// macOS: Chromium on Linux and Firefox read it).
func All() []Store {
	return []Store{systemStore(), nssStore()}
}

// nickname is the name the CA is listed under in NSS and, on Linux, the
// system store's file name (truststore's naming: common name and serial).
func nickname(ca *localca.CA) string {
	return ca.Name() + " " + ca.Certificate().SerialNumber.String()
}

func systemStore() Store {
	return Store{
		Name: System,
		Check: func(ca *localca.CA) (bool, error) {
			if err := systemStoreKnown(); err != nil {
				return false, err
			}
			// The CA is trusted when it verifies against the platform's
			// roots (Verify with no roots asks the platform verifier on
			// macOS and Windows).
			_, err := ca.Certificate().Verify(x509.VerifyOptions{})
			return err == nil, nil
		},
		Install: func(ca *localca.CA) error {
			return describe(truststore.InstallFile(ca.CertPath()))
		},
		Uninstall: func(ca *localca.CA) error {
			return describe(truststore.UninstallFile(ca.CertPath()))
		},
		Manual: func(ca *localca.CA, uninstall bool) []string {
			return systemManual(ca, uninstall)
		},
	}
}

func systemManual(ca *localca.CA, uninstall bool) []string {
	file := ShellQuote(ca.CertPath())
	switch runtime.GOOS {
	case "darwin":
		if uninstall {
			return []string{"sudo security remove-trusted-cert -d " + file}
		}
		return []string{"sudo security add-trusted-cert -d -k /Library/Keychains/System.keychain " + file}
	case "windows":
		if uninstall {
			return []string{fmt.Sprintf("certutil -delstore ROOT %x   (in an administrator prompt)", ca.Certificate().SerialNumber)}
		}
		return []string{"certutil -addstore -f ROOT " + file + "   (in an administrator prompt)"}
	case "linux":
		dest, update := linuxSystemStore()
		target := ShellQuote(fmt.Sprintf(dest, strings.ReplaceAll(nickname(ca), " ", "_")))
		if uninstall {
			return []string{"sudo rm -f " + target, "sudo " + strings.Join(update, " ")}
		}
		return []string{"sudo cp " + file + " " + target, "sudo " + strings.Join(update, " ")}
	}
	return []string{"add " + ca.CertPath() + " to the trusted root certificates of your system"}
}

func nssStore() Store {
	return Store{
		Name: NSS,
		Check: func(ca *localca.CA) (bool, error) {
			t, err := truststore.NewNSSTrust()
			if err != nil {
				if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
					return false, errors.New("NSS is not used on this system")
				}
				return false, fmt.Errorf("certutil not found (install it: %s)", strings.ReplaceAll(truststore.CertutilInstallHelp, `"`, ""))
			}
			if err := t.PreCheck(); err != nil {
				return false, errors.New("no NSS database found (~/.pki/nssdb of Chromium, or a Firefox profile): start the browser once, then run cdnctl trust again")
			}
			return t.Exists(ca.Certificate()), nil
		},
		Install: func(ca *localca.CA) error {
			t, err := truststore.NewNSSTrust()
			if err != nil {
				return err
			}
			return describe(t.Install(ca.CertPath(), ca.Certificate()))
		},
		Uninstall: func(ca *localca.CA) error {
			t, err := truststore.NewNSSTrust()
			if err != nil {
				return err
			}
			return describe(t.Uninstall(ca.CertPath(), ca.Certificate()))
		},
		Manual: func(ca *localca.CA, uninstall bool) []string {
			db := "sql:$HOME/.pki/nssdb"
			if runtime.GOOS == "darwin" {
				db = "sql:<your Firefox profile folder>"
			}
			name := ShellQuote(nickname(ca))
			if uninstall {
				return []string{"certutil -d " + db + " -D -n " + name}
			}
			return []string{"certutil -d " + db + " -A -t C,, -n " + name + " -i " + ShellQuote(ca.CertPath())}
		},
	}
}

// describe adds a failed command's output to its error.
func describe(err error) error {
	var ce *truststore.CmdError
	if errors.As(err, &ce) {
		out := strings.TrimSpace(string(ce.Out()))
		if out != "" {
			return fmt.Errorf("%w: %s", err, out)
		}
	}
	var ee *exec.Error
	if errors.As(err, &ee) {
		return fmt.Errorf("%s not found", ee.Name)
	}
	return err
}

// ShellQuote quotes s for a POSIX shell when it needs it (for the
// commands printed to run by hand).
func ShellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:@=,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
