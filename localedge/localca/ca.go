// Package localca is the local certificate authority of `cdnctl serve
// --https`: one CA per user, created once in the user's config directory
// (like mkcert's), whose short-lived leaf certificates name the local CDN's
// hostnames, PoP names and loopback addresses. The CA's private key never
// leaves that directory (mode 0600); leaves and their keys live only in
// memory. Clients trust the CA through RootPool, `cdnctl trust` installs
// it into the system and NSS stores.
package localca

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"time"
)

// File names inside a CA folder (the names mkcert uses).
const (
	CertFile = "rootCA.pem"
	KeyFile  = "rootCA-key.pem"
)

// CALifetime is how long a new CA is valid (mkcert's ten years).
const CALifetime = 10 * 365 * 24 * time.Hour

// DefaultDir is where the user's CA lives: <os.UserConfigDir>/cdnctl/ca
// ($XDG_CONFIG_HOME or ~/.config on Linux, ~/Library/Application Support
// on macOS, %AppData% on Windows).
func DefaultDir() (string, error) {
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("local CA: no user config directory (%v): set serve.https.ca_dir", err)
	}
	return filepath.Join(base, "cdnctl", "ca"), nil
}

// CA is a loaded certificate authority.
type CA struct {
	dir     string
	cert    *x509.Certificate
	certPEM []byte
	key     crypto.Signer
}

// Dir is the folder holding the CA.
func (c *CA) Dir() string { return c.dir }

// CertPath is the CA certificate's file, the one to trust.
func (c *CA) CertPath() string { return filepath.Join(c.dir, CertFile) }

// Certificate is the CA certificate.
func (c *CA) Certificate() *x509.Certificate { return c.cert }

// CertPEM is the CA certificate in PEM form (public; safe to print or
// hand to clients).
func (c *CA) CertPEM() []byte { return bytes.Clone(c.certPEM) }

// Name is the CA's common name, which trust stores list it under.
func (c *CA) Name() string { return c.cert.Subject.CommonName }

// ErrNoCA is wrapped by Load's error when the folder holds no CA.
var ErrNoCA = errors.New("no local CA")

// Load reads the CA in dir. It refuses a private key other users can read
// (on systems with Unix permissions) and an expired CA.
func Load(dir string, now time.Time) (*CA, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, CertFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("local CA: %s: %w", dir, ErrNoCA)
	}
	if err != nil {
		return nil, fmt.Errorf("local CA: %w", err)
	}
	keyPath := filepath.Join(dir, KeyFile)
	st, err := os.Stat(keyPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("local CA: %s has %s but no %s: remove the folder and start again (then run cdnctl trust again)", dir, CertFile, KeyFile)
		}
		return nil, fmt.Errorf("local CA: %w", err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("local CA: %s can be read by other users (mode %04o); it signs certificates your browser trusts: chmod 600 %s", keyPath, st.Mode().Perm(), keyPath)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("local CA: %w", err)
	}
	cert, err := parseCert(certPEM)
	if err != nil {
		return nil, fmt.Errorf("local CA: %s: %w", filepath.Join(dir, CertFile), err)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("local CA: %s: %w", keyPath, err)
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return nil, fmt.Errorf("local CA: %s does not match %s: remove the folder and start again", keyPath, CertFile)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("local CA: %s is not a CA certificate", filepath.Join(dir, CertFile))
	}
	if now.After(cert.NotAfter) {
		return nil, fmt.Errorf("local CA: %s expired on %s: run cdnctl trust --uninstall, remove the folder, then cdnctl trust", dir, cert.NotAfter.Format(time.DateOnly))
	}
	return &CA{dir: dir, cert: cert, certPEM: certPEM, key: key}, nil
}

// LoadOrCreate loads the CA in dir, creating it first (dir with mode 0700,
// the key with 0600) when dir holds none; created says which. Two
// processes creating it at once end up with the same CA.
func LoadOrCreate(dir string, now time.Time) (ca *CA, created bool, err error) {
	ca, err = Load(dir, now)
	if err == nil || !errors.Is(err, ErrNoCA) {
		return ca, false, err
	}
	if err := create(dir, now); err != nil {
		return nil, false, err
	}
	// Another process may be moving its CA's files in: give it a moment.
	for range 20 {
		if ca, err = Load(dir, now); !errors.Is(err, ErrNoCA) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return ca, err == nil, err
}

// create writes a new CA into a temporary folder next to dir and renames
// it into place: whoever renames first wins, and a loser loads the
// winner's CA.
func create(dir string, now time.Time) error {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return fmt.Errorf("local CA: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, ".cdnctl-ca-*")
	if err != nil {
		return fmt.Errorf("local CA: %w", err)
	}
	defer os.RemoveAll(tmp)
	certPEM, keyPEM, err := newCA(now)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, KeyFile), keyPEM, 0o600); err != nil {
		return fmt.Errorf("local CA: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, CertFile), certPEM, 0o644); err != nil {
		return fmt.Errorf("local CA: %w", err)
	}
	if err := os.Rename(tmp, dir); err == nil {
		return nil
	}
	// dir exists: another process created the CA, or dir is a folder the
	// user named (empty, or with other files): move the files in, the
	// certificate last (Load reads it first).
	if _, err := os.Stat(filepath.Join(dir, CertFile)); err == nil {
		return nil
	}
	if err := os.Link(filepath.Join(tmp, KeyFile), filepath.Join(dir, KeyFile)); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // another process is writing it: its certificate follows
		}
		return fmt.Errorf("local CA: %w", err)
	}
	if err := os.Rename(filepath.Join(tmp, CertFile), filepath.Join(dir, CertFile)); err != nil {
		return fmt.Errorf("local CA: %w", err)
	}
	return nil
}

// newCA makes a CA certificate and key: ECDSA P-256, valid CALifetime
// from an hour ago, allowed to sign leaves only (path length 0).
func newCA(now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("local CA: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, err
	}
	who := userAndHost()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			Organization:       []string{"cdnctl local CA"},
			OrganizationalUnit: []string{who},
			CommonName:         "cdnctl local CA " + who,
		},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(CALifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("local CA: %w", err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("local CA: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), nil
}

func userAndHost() string {
	name := "user"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return name + "@" + host
}

func randomSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("local CA: serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

func parseCert(b []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

func parseKey(b []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("not a PEM private key")
	}
	var k any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q: want a private key", block.Type)
	}
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("unsupported private key type")
	}
	return s, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

// RootPool returns the system's roots plus the CA certificates in caPEM:
// what a cdnctl client trusts when it talks to a local topology (whose
// PoPs' leaves chain to its local CA) and may also reach real edges.
func RootPool(caPEM []byte) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if len(caPEM) > 0 && !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("local CA: the topology's CA certificate is not valid PEM")
	}
	return pool, nil
}
