package localca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultLeafLifetime is how long a leaf certificate is valid. Leaves are
// re-issued in memory when a third of it is left, so a long-running
// `cdnctl serve` never presents an expired one.
const DefaultLeafLifetime = 7 * 24 * time.Hour

// Names are the subject alternative names of a leaf: DNS names (possibly
// wildcards such as *.example.test) and IP addresses.
type Names struct {
	DNS []string
	IPs []netip.Addr
}

// ParseNames sorts hostnames and IP addresses into Names, lower-cased,
// without a trailing dot and without duplicates. A name with a scheme, a
// port, a path or spaces is an error naming it.
func ParseNames(names []string) (Names, error) {
	var n Names
	for _, raw := range names {
		s := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(raw)), ".")
		if ip, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
			ip = ip.Unmap()
			if !slices.Contains(n.IPs, ip) {
				n.IPs = append(n.IPs, ip)
			}
			continue
		}
		if !validDNSName(s) {
			return Names{}, fmt.Errorf("certificate name %q: want a hostname such as www.example.test (or *.example.test) or an IP address, without scheme or port", raw)
		}
		if !slices.Contains(n.DNS, s) {
			n.DNS = append(n.DNS, s)
		}
	}
	return n, nil
}

// validDNSName accepts letters, digits, '-' and '_' in dot-separated
// labels of at most 63 bytes, 253 in all, with an optional leading "*."
// label (a wildcard covers one label).
func validDNSName(s string) bool {
	s = strings.TrimPrefix(s, "*.")
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// Add merges other into n.
func (n Names) Add(other Names) Names {
	for _, d := range other.DNS {
		if !slices.Contains(n.DNS, d) {
			n.DNS = append(n.DNS, d)
		}
	}
	for _, ip := range other.IPs {
		if !slices.Contains(n.IPs, ip) {
			n.IPs = append(n.IPs, ip)
		}
	}
	return n
}

// Strings lists the names, DNS names first.
func (n Names) Strings() []string {
	out := append([]string(nil), n.DNS...)
	for _, ip := range n.IPs {
		out = append(out, ip.String())
	}
	return out
}

// Issue signs a server certificate for names, valid from notBefore to
// notAfter (never past the CA's own end), with a new ECDSA P-256 key that
// exists only in the returned value.
func (c *CA) Issue(names Names, notBefore, notAfter time.Time) (*tls.Certificate, error) {
	if len(names.DNS) == 0 && len(names.IPs) == 0 {
		return nil, errors.New("local CA: a certificate needs at least one name")
	}
	if notAfter.After(c.cert.NotAfter) {
		notAfter = c.cert.NotAfter
	}
	if !notAfter.After(notBefore) {
		return nil, fmt.Errorf("local CA: %s expires on %s: run cdnctl trust --uninstall, remove %s, then cdnctl trust", c.Name(), c.cert.NotAfter.Format(time.DateOnly), c.dir)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("local CA: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	cn := "localhost"
	if len(names.DNS) > 0 {
		cn = names.DNS[0]
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Organization: []string{"cdnctl local CDN"}, CommonName: cn},
		DNSNames:     names.DNS,
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, ip := range names.IPs {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.IP(ip.AsSlice()))
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, key.Public(), c.key)
	if err != nil {
		return nil, fmt.Errorf("local CA: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("local CA: %w", err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// Leaves serves one leaf certificate for Names to a TLS server
// (GetCertificate), issuing it on first use and again once a third of its
// lifetime is left. The zero Lifetime and Now mean DefaultLeafLifetime
// and time.Now.
type Leaves struct {
	CA       *CA
	Names    Names
	Lifetime time.Duration
	Now      func() time.Time

	mu  sync.Mutex       // guards cur
	cur *tls.Certificate // the leaf handed out
}

// Certificate returns the current leaf, issuing a new one when needed.
func (l *Leaves) Certificate() (*tls.Certificate, error) {
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	life := l.Lifetime
	if life <= 0 {
		life = DefaultLeafLifetime
	}
	t := now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if c := l.cur; c != nil {
		left := c.Leaf.NotAfter.Sub(t)
		if left > life/3 || (left > 0 && c.Leaf.NotAfter.Equal(l.CA.cert.NotAfter)) {
			return c, nil
		}
	}
	// Valid from an hour ago: a client whose clock is a little behind
	// still accepts it.
	c, err := l.CA.Issue(l.Names, t.Add(-time.Hour), t.Add(life))
	if err != nil {
		return nil, err
	}
	l.cur = c
	return c, nil
}

// GetCertificate is a tls.Config.GetCertificate: every server name gets
// the same leaf (a client asking for a name it does not list fails
// verification, as it should).
func (l *Leaves) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return l.Certificate()
}
