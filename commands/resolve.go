package commands

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/miekg/dns"
	"github.com/spf13/cobra"

	"github.com/cdnctl/cdnctl/localedge/resolver"
)

// ResolveOptions are the inputs of `cdnctl resolve`.
type ResolveOptions struct {
	IO      *IOStreams
	JSON    bool
	Name    string
	Type    string
	From    string
	Subnet  string
	Server  string
	Timeout time.Duration
}

func newCmdResolve(f *Factory) *cobra.Command {
	opts := &ResolveOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "resolve NAME",
		Short: "Ask the GeoDNS server what a client in a region gets for a name",
		Long: `Resolve NAME at a DNS server (by default the GeoDNS server of the local CDN
that cdnctl serve runs for this folder, found by itself) as a client in a
chosen region would, and print the whole answer: the CNAME chain, the
addresses with their TTLs, and which PoP was chosen and why.

The region is the query's source address (--from, any 127.x.y.z on
loopback) or an EDNS Client Subnet option (--subnet), which the server
prefers when present. Without either, the server sees 127.0.0.1.`,
		Example: `  cdnctl resolve www.example.test --from 127.2.0.1
  cdnctl resolve www.example.test --subnet 127.3.0.0/24
  cdnctl resolve www.example.cdn.test --type AAAA --dns 127.0.0.1:5353 --json`,
		Args: wrapArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			opts.JSON = f.JSON
			if cmd.Flags().Changed("from") && cmd.Flags().Changed("subnet") {
				return usageErrorf("--from and --subnet: give one or the other (the server prefers the subnet)")
			}
			if !cmd.Flags().Changed("dns") {
				cfg, err := f.Config()
				if err != nil {
					return err
				}
				if err := cfg.DNS.validate(); err != nil {
					return err
				}
				if opts.Server, err = f.localDNS(cmd.Context(), cfg); err != nil {
					return fmt.Errorf("resolve: no --dns: %w", err)
				}
			}
			return runResolve(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Type, "type", "t", "A", "record type to ask for (A, AAAA, CNAME, TXT, NS, SOA, ANY, …)")
	fl.StringVar(&opts.From, "from", "", "send the query from this source address (e.g. 127.2.0.1: a client in PoP 2's region)")
	fl.StringVar(&opts.Subnet, "subnet", "", "send an EDNS Client Subnet option for this network (e.g. 127.3.0.0/24)")
	fl.StringVar(&opts.Server, "dns", "", "DNS server host:port (default: the GeoDNS of the local CDN running for this folder, else dns.listen when set)")
	fl.DurationVar(&opts.Timeout, "timeout", resolver.DefaultTimeout, "timeout of one exchange with the server")
	aliasFlag(cmd, "server", "dns")
	return cmd
}

// resolveResult is the --json output of `cdnctl resolve`.
type resolveResult struct {
	Name   string       `json:"name"`
	Type   string       `json:"type"`
	Server string       `json:"server"`
	From   string       `json:"from,omitempty"`
	Subnet string       `json:"subnet,omitempty"`
	Status string       `json:"status"`
	Answer []resolvedRR `json:"answer"`
	Scope  *int         `json:"ecs_scope,omitempty"`
	PoP    *resolvedPoP `json:"pop,omitempty"`
	TCP    bool         `json:"tcp"`
	RTTMs  float64      `json:"rtt_ms"`
}

type resolvedRR struct {
	Name string `json:"name"`
	TTL  uint32 `json:"ttl"`
	Type string `json:"type"`
	Data string `json:"data"`
}

type resolvedPoP struct {
	Name         string `json:"name"`
	Reason       string `json:"reason"`
	Via          string `json:"via,omitempty"`
	Client       string `json:"client,omitempty"`
	Network      string `json:"network,omitempty"`
	FailoverFrom string `json:"failover_from,omitempty"`
	Detail       string `json:"detail"`
}

func runResolve(ctx context.Context, opts *ResolveOptions) error {
	qtype, ok := dns.StringToType[strings.ToUpper(opts.Type)]
	if !ok {
		return usageErrorf("--type %q: want a record type such as A, AAAA or TXT", opts.Type)
	}
	if _, ok := dns.IsDomainName(opts.Name); !ok {
		return usageErrorf("%q is not a domain name", opts.Name)
	}
	if _, _, err := net.SplitHostPort(opts.Server); err != nil {
		return usageErrorf("--server %q: want host:port such as 127.0.0.1:5353", opts.Server)
	}
	r := &resolver.Resolver{Server: opts.Server, Timeout: opts.Timeout}
	if opts.From != "" {
		ip, err := netip.ParseAddr(opts.From)
		if err != nil {
			return usageErrorf("--from %q: want an IP address such as 127.2.0.1", opts.From)
		}
		r.LocalAddr = ip
	}
	if opts.Subnet != "" {
		p, err := parseSubnet(opts.Subnet)
		if err != nil {
			return err
		}
		r.Subnet = p
	}

	a, err := r.Lookup(ctx, opts.Name, qtype)
	if err != nil {
		if errors.Is(err, syscall.EADDRNOTAVAIL) {
			return usageErrorf("--from %s: not an address of this machine (any 127.x.y.z works on loopback)", opts.From)
		}
		return err
	}

	res := resolveResult{
		Name:   a.Name,
		Type:   dns.TypeToString[qtype],
		Server: opts.Server,
		From:   opts.From,
		Status: dns.RcodeToString[a.Rcode],
		Answer: []resolvedRR{},
		TCP:    a.TCP,
		RTTMs:  float64(a.RTT.Microseconds()) / 1000,
	}
	if r.Subnet.IsValid() {
		res.Subnet = r.Subnet.String()
	}
	if a.Scope >= 0 {
		res.Scope = &a.Scope
	}
	for _, rr := range a.Records {
		h := rr.Header()
		res.Answer = append(res.Answer, resolvedRR{
			Name: h.Name, TTL: h.Ttl, Type: dns.TypeToString[h.Rrtype],
			Data: strings.TrimPrefix(rr.String(), h.String()),
		})
	}
	if a.PoP != nil {
		res.PoP = &resolvedPoP{
			Name: a.PoP.PoP, Reason: a.PoP.Reason, Via: a.PoP.Via, Client: a.PoP.Client,
			Network: a.PoP.Network, FailoverFrom: a.PoP.FailoverFrom, Detail: a.PoP.Detail,
		}
	}

	if opts.JSON {
		if err := writeJSON(opts.IO.Out, res); err != nil {
			return err
		}
	} else if err := printResolve(opts.IO, &res); err != nil {
		return err
	}
	if a.Rcode != dns.RcodeSuccess {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("resolve %s: %s", strings.TrimSuffix(a.Name, "."), res.Status)}
	}
	return nil
}

// parseSubnet reads a CIDR; a bare address is a full-length prefix.
func parseSubnet(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Masked() != p {
			return netip.Prefix{}, usageErrorf("--subnet %s: host bits set; did you mean %s?", s, p.Masked())
		}
		return p, nil
	}
	if ip, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(ip, ip.BitLen()), nil
	}
	return netip.Prefix{}, usageErrorf("--subnet %q: want a network such as 127.3.0.0/24", s)
}

func printResolve(ios *IOStreams, res *resolveResult) error {
	w := ios.Out
	if len(res.Answer) > 0 {
		t := newTable(ios, "NAME", "TTL", "TYPE", "DATA")
		for _, rr := range res.Answer {
			t.Row(rr.Name, strconv.FormatUint(uint64(rr.TTL), 10), rr.Type, rr.Data)
		}
		if err := t.Render(w); err != nil {
			return err
		}
	}
	if res.PoP != nil {
		fmt.Fprintf(w, ";; PoP %s: %s\n", res.PoP.Name, res.PoP.Detail)
	}
	via := "udp"
	if res.TCP {
		via = "tcp"
	}
	line := fmt.Sprintf(";; status %s from %s (%s) in %.1f ms", res.Status, res.Server, via, res.RTTMs)
	if res.Scope != nil {
		line += fmt.Sprintf(", ECS scope /%d", *res.Scope)
	}
	_, err := fmt.Fprintln(w, line)
	return err
}
