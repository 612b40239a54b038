package truststores

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/localedge/localca"
)

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/home/ann/.config/cdnctl/ca/rootCA.pem": "/home/ann/.config/cdnctl/ca/rootCA.pem",
		"/Users/ann/Library/Application Support": "'/Users/ann/Library/Application Support'",
		"cdnctl local CA ann@host 12":            "'cdnctl local CA ann@host 12'",
		"it's":                                   `'it'\''s'`,
		"":                                       "''",
	} {
		if got := ShellQuote(in); got != want {
			t.Errorf("ShellQuote(%q) = %s; want %s", in, got, want)
		}
	}
}

// TestManualSteps checks the commands printed to run by hand: they name
// the CA's file and the nickname truststore installs it under, so that
// what is done by hand is undone by cdnctl trust --uninstall and back.
func TestManualSteps(t *testing.T) {
	ca, _, err := localca.LoadOrCreate(filepath.Join(t.TempDir(), "my ca"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	file := ShellQuote(ca.CertPath())
	nick := nickname(ca)
	if !strings.HasPrefix(nick, "cdnctl local CA ") || !strings.HasSuffix(nick, " "+ca.Certificate().SerialNumber.String()) {
		t.Errorf("nickname = %q; want the common name and the serial", nick)
	}
	stores := All()
	if len(stores) != 2 || stores[0].Name != System || stores[1].Name != NSS {
		t.Fatalf("All() = %v; want system then nss", stores)
	}
	nss := stores[1].Manual(ca, false)
	if len(nss) != 1 || !strings.Contains(nss[0], "-A -t C,, -n "+ShellQuote(nick)+" -i "+file) {
		t.Errorf("nss install steps = %q", nss)
	}
	if un := stores[1].Manual(ca, true); len(un) != 1 || !strings.HasSuffix(un[0], "-D -n "+ShellQuote(nick)) {
		t.Errorf("nss uninstall steps = %q", un)
	}
	sys := strings.Join(stores[0].Manual(ca, false), "\n")
	unsys := strings.Join(stores[0].Manual(ca, true), "\n")
	switch runtime.GOOS {
	case "linux":
		dest, update := linuxSystemStore()
		target := strings.ReplaceAll(nick, " ", "_")
		if !strings.Contains(sys, "sudo cp "+file+" ") || !strings.Contains(sys, target) || !strings.Contains(sys, "sudo "+strings.Join(update, " ")) || !strings.Contains(sys, filepath.Dir(dest)) {
			t.Errorf("linux system steps = %q", sys)
		}
		if !strings.Contains(unsys, "sudo rm -f ") || !strings.Contains(unsys, target) {
			t.Errorf("linux system uninstall steps = %q", unsys)
		}
	case "darwin":
		if !strings.Contains(sys, "security add-trusted-cert -d -k /Library/Keychains/System.keychain "+file) {
			t.Errorf("macOS steps = %q", sys)
		}
	}
}
