package localca_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/localedge/localca"
)

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func newCA(t *testing.T) *localca.CA {
	t.Helper()
	ca, created, err := localca.LoadOrCreate(filepath.Join(t.TempDir(), "ca"), now)
	if err != nil || !created {
		t.Fatalf("LoadOrCreate = %v, created %v", err, created)
	}
	return ca
}

func TestCreateThenLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "config", "cdnctl", "ca")
	ca, created, err := localca.LoadOrCreate(dir, now)
	if err != nil || !created {
		t.Fatalf("LoadOrCreate = %v, created %v; want a new CA", err, created)
	}
	c := ca.Certificate()
	if !c.IsCA || !c.MaxPathLenZero || c.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("CA certificate: IsCA %v, MaxPathLenZero %v, KeyUsage %b; want a CA that signs leaves only", c.IsCA, c.MaxPathLenZero, c.KeyUsage)
	}
	if !strings.HasPrefix(ca.Name(), "cdnctl local CA ") {
		t.Errorf("Name() = %q", ca.Name())
	}
	if got := c.NotAfter.Sub(now); got < localca.CALifetime-time.Hour || got > localca.CALifetime {
		t.Errorf("CA valid for %v; want about %v", got, localca.CALifetime)
	}
	if runtime.GOOS != "windows" {
		for name, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, localca.KeyFile): 0o600, filepath.Join(dir, localca.CertFile): 0o644} {
			st, err := os.Stat(name)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != want {
				t.Errorf("%s: mode %04o; want %04o", name, st.Mode().Perm(), want)
			}
		}
	}
	again, created, err := localca.LoadOrCreate(dir, now.Add(time.Hour))
	if err != nil || created {
		t.Fatalf("second LoadOrCreate = %v, created %v; want the same CA loaded", err, created)
	}
	if again.Certificate().SerialNumber.Cmp(c.SerialNumber) != 0 || string(again.CertPEM()) != string(ca.CertPEM()) {
		t.Errorf("second LoadOrCreate returned another CA")
	}
	if ca.CertPath() != filepath.Join(dir, localca.CertFile) {
		t.Errorf("CertPath() = %q", ca.CertPath())
	}
	// The folder holds only the CA: no temporary folder is left next to it.
	entries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 1 {
		t.Errorf("%s holds %d entries; want only the CA folder", filepath.Dir(dir), len(entries))
	}
}

func TestCreateInExistingEmptyFolder(t *testing.T) {
	dir := t.TempDir()
	if _, created, err := localca.LoadOrCreate(dir, now); err != nil || !created {
		t.Fatalf("LoadOrCreate(empty folder) = %v, %v", err, created)
	}
	if _, err := localca.Load(dir, now); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentCreateGivesOneCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	var wg sync.WaitGroup
	serials := make([]string, 8)
	errs := make([]error, 8)
	for i := range serials {
		wg.Go(func() {
			ca, _, err := localca.LoadOrCreate(dir, now)
			errs[i] = err
			if err == nil {
				serials[i] = ca.Certificate().SerialNumber.String()
			}
		})
	}
	wg.Wait()
	for i := range serials {
		if errs[i] != nil {
			t.Fatalf("LoadOrCreate #%d: %v", i, errs[i])
		}
		if serials[i] != serials[0] {
			t.Fatalf("LoadOrCreate #%d got CA %s, #0 got %s; want one CA", i, serials[i], serials[0])
		}
	}
}

func TestLoadRefuses(t *testing.T) {
	if _, err := localca.Load(t.TempDir(), now); !errors.Is(err, localca.ErrNoCA) {
		t.Errorf("Load(empty) = %v; want ErrNoCA", err)
	}
	if runtime.GOOS != "windows" {
		ca := newCA(t)
		key := filepath.Join(ca.Dir(), localca.KeyFile)
		os.Chmod(key, 0o644)
		_, err := localca.Load(ca.Dir(), now)
		if err == nil || !strings.Contains(err.Error(), "chmod 600 "+key) {
			t.Errorf("Load(key mode 0644) = %v; want a refusal saying chmod 600", err)
		}
	}
	a, b := newCA(t), newCA(t)
	k, _ := os.ReadFile(filepath.Join(b.Dir(), localca.KeyFile))
	os.WriteFile(filepath.Join(a.Dir(), localca.KeyFile), k, 0o600)
	if _, err := localca.Load(a.Dir(), now); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("Load(another CA's key) = %v; want a mismatch error", err)
	}
	c := newCA(t)
	if _, err := localca.Load(c.Dir(), now.Add(localca.CALifetime+time.Hour)); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("Load(after the CA's end) = %v; want expired", err)
	}
	d := newCA(t)
	os.Remove(filepath.Join(d.Dir(), localca.KeyFile))
	if _, err := localca.Load(d.Dir(), now); err == nil || errors.Is(err, localca.ErrNoCA) {
		t.Errorf("Load(certificate without key) = %v; want an error other than ErrNoCA (never overwrite a trusted CA)", err)
	}
}

func TestParseNames(t *testing.T) {
	for _, tc := range []struct {
		in      []string
		dns     []string
		ips     []string
		wantErr bool
	}{
		{in: []string{"WWW.Example.Test.", "www.example.test", "pop1", "*.cdn.test", "127.0.1.1", "::1", "[::1]"},
			dns: []string{"www.example.test", "pop1", "*.cdn.test"}, ips: []string{"127.0.1.1", "::1"}},
		{in: []string{"https://www.example.test"}, wantErr: true},
		{in: []string{"www.example.test:8443"}, wantErr: true},
		{in: []string{"a b"}, wantErr: true},
		{in: []string{""}, wantErr: true},
		{in: []string{"-bad.test"}, wantErr: true},
		{in: []string{"a.*.test"}, wantErr: true},
	} {
		n, err := localca.ParseNames(tc.in)
		if tc.wantErr {
			if err == nil || !strings.Contains(err.Error(), "want a hostname") {
				t.Errorf("ParseNames(%q) = %+v, %v; want an error", tc.in, n, err)
			}
			continue
		}
		var ips []string
		for _, ip := range n.IPs {
			ips = append(ips, ip.String())
		}
		if err != nil || !slices.Equal(n.DNS, tc.dns) || !slices.Equal(ips, tc.ips) {
			t.Errorf("ParseNames(%q) = %q %q, %v; want %q %q", tc.in, n.DNS, ips, err, tc.dns, tc.ips)
		}
	}
}

func verifyLeaf(ca *localca.CA, leaf *x509.Certificate, name string, at time.Time) error {
	roots := x509.NewCertPool()
	roots.AddCert(ca.Certificate())
	_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: name, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	return err
}

func TestLeafNamesAndChain(t *testing.T) {
	ca := newCA(t)
	names, err := localca.ParseNames([]string{"www.example.test", "pop1", "127.0.1.1", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	l := &localca.Leaves{CA: ca, Names: names, Now: func() time.Time { return now }}
	c, err := l.Certificate()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"www.example.test", "pop1", "127.0.1.1", "::1"} {
		if err := verifyLeaf(ca, c.Leaf, name, now); err != nil {
			t.Errorf("leaf for %s: %v", name, err)
		}
	}
	for _, name := range []string{"www.example.com", "127.0.2.1", "pop2"} {
		if err := verifyLeaf(ca, c.Leaf, name, now); err == nil {
			t.Errorf("leaf verifies for %s, which it does not name", name)
		}
	}
	if err := verifyLeaf(newCA(t), c.Leaf, "www.example.test", now); err == nil {
		t.Errorf("leaf verifies against another CA")
	}
	if got := c.Leaf.NotAfter.Sub(now); got != localca.DefaultLeafLifetime {
		t.Errorf("leaf valid for %v after now; want %v", got, localca.DefaultLeafLifetime)
	}
	if !slices.Equal(c.Leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) || c.Leaf.IsCA {
		t.Errorf("leaf: ExtKeyUsage %v, IsCA %v; want a server certificate", c.Leaf.ExtKeyUsage, c.Leaf.IsCA)
	}
}

func TestLeafReissuedBeforeExpiry(t *testing.T) {
	ca := newCA(t)
	clock := now
	names, _ := localca.ParseNames([]string{"www.example.test"})
	l := &localca.Leaves{CA: ca, Names: names, Lifetime: 3 * time.Hour, Now: func() time.Time { return clock }}
	first, _ := l.Certificate()
	clock = now.Add(time.Hour + 59*time.Minute) // 61 minutes left: over a third
	if c, _ := l.Certificate(); c != first {
		t.Errorf("leaf re-issued with more than a third of its life left")
	}
	clock = now.Add(2*time.Hour + time.Minute) // 59 minutes left
	second, err := l.Certificate()
	if err != nil || second == first {
		t.Fatalf("leaf not re-issued with less than a third of its life left (%v)", err)
	}
	if err := verifyLeaf(ca, second.Leaf, "www.example.test", now.Add(4*time.Hour)); err != nil {
		t.Errorf("re-issued leaf at its use: %v", err)
	}
}

func TestLeafNeverOutlivesCA(t *testing.T) {
	ca := newCA(t)
	end := ca.Certificate().NotAfter
	names, _ := localca.ParseNames([]string{"www.example.test"})
	c, err := ca.Issue(names, end.Add(-48*time.Hour), end.Add(48*time.Hour))
	if err != nil || !c.Leaf.NotAfter.Equal(end) {
		t.Errorf("Issue past the CA's end: %v, NotAfter %v; want capped at %v", err, c.Leaf.NotAfter, end)
	}
	if _, err := ca.Issue(names, end.Add(time.Hour), end.Add(48*time.Hour)); err == nil || !strings.Contains(err.Error(), "cdnctl trust") {
		t.Errorf("Issue after the CA's end = %v; want an error saying what to do", err)
	}
}

// TestTLSHandshakeTrustingOnlyTheCA serves the leaf over a real TLS
// connection to a client whose only root is the CA.
func TestTLSHandshakeTrustingOnlyTheCA(t *testing.T) {
	ca := newCA(t)
	names, _ := localca.ParseNames([]string{"www.example.test", "127.0.0.1"})
	l := &localca.Leaves{CA: ca, Names: names}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: l.GetCertificate, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	pool, err := localca.RootPool(nil)
	if err != nil {
		t.Fatal(err)
	}
	only := x509.NewCertPool()
	only.AppendCertsFromPEM(ca.CertPEM())
	for _, tc := range []struct {
		name string
		pool *x509.CertPool
		ok   bool
	}{{"www.example.test", only, true}, {"127.0.0.1", only, true}, {"www.example.com", only, false}, {"www.example.test", pool, false}} {
		conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{ServerName: tc.name, RootCAs: tc.pool})
		if err == nil {
			conn.Close()
		}
		if (err == nil) != tc.ok {
			t.Errorf("handshake as %s: %v; want ok=%v", tc.name, err, tc.ok)
		}
	}
	withCA, err := localca.RootPool(ca.CertPEM())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{ServerName: "www.example.test", RootCAs: withCA})
	if err != nil {
		t.Fatalf("handshake with RootPool(CA): %v", err)
	}
	conn.Close()
	if _, err := localca.RootPool([]byte("not pem")); err == nil {
		t.Errorf("RootPool(garbage) = nil error")
	}
}

// TestOpenSSLVerifiesTheChain has openssl, a verifier that shares no code
// with Go's, check a leaf against the CA file as written.
func TestOpenSSLVerifiesTheChain(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("no openssl")
	}
	ca := newCA(t)
	names := localca.Names{DNS: []string{"www.example.test"}, IPs: []netip.Addr{netip.MustParseAddr("127.0.1.1")}}
	c, err := ca.Issue(names, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	leafFile := filepath.Join(t.TempDir(), "leaf.pem")
	os.WriteFile(leafFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o600)
	for _, check := range [][]string{{"-verify_hostname", "www.example.test"}, {"-verify_ip", "127.0.1.1"}} {
		args := append([]string{"verify", "-CAfile", ca.CertPath(), "-purpose", "sslserver"}, check...)
		out, err := exec.Command(openssl, append(args, leafFile)...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), ": OK") {
			t.Errorf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	out, err := exec.Command(openssl, "verify", "-CAfile", ca.CertPath(), "-verify_hostname", "www.example.com", leafFile).CombinedOutput()
	if err == nil {
		t.Errorf("openssl verified the leaf for www.example.com:\n%s", out)
	}
}
