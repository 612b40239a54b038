package commands

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/localedge/geodns"
	"github.com/cdnctl/cdnctl/localedge/geodns/geodnstest"
)

// startGeoDNS runs the default GeoDNS server on a free loopback port.
func startGeoDNS(t *testing.T) string {
	t.Helper()
	_, addr := geodnstest.Start(t, geodns.DefaultConfig())
	return addr
}

// runCLI runs cdnctl in-process with env as the environment.
func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ios, _, out, errOut := TestStreams()
	f := &Factory{
		IO:        ios,
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Now:       time.Now,
	}
	// The deadline only bounds a command that hangs: it times nothing.
	// 30 s was too short for CPU-heavy commands under the race detector on
	// a loaded machine (fingerprint of the vite-vue fixture takes about
	// 27 s of CPU under -race, and ran past 4 minutes there).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	code = f.Run(ctx, args)
	return code, out.String(), errOut.String()
}

func TestResolveRegions(t *testing.T) {
	addr := startGeoDNS(t)
	tests := []struct {
		args    []string
		wantOut []string
	}{
		{[]string{"--from", "127.2.0.1"}, []string{
			"www.example.test.\t30\tCNAME\twww.example.cdn.test.\n",
			"www.example.cdn.test.\t30\tA\t127.0.2.1\n",
			";; PoP pop2: source 127.2.0.1/32 in region 127.2.0.0/16\n",
			";; status NOERROR from " + addr + " (udp)",
		}},
		{[]string{"--subnet", "127.3.0.0/24"}, []string{
			"127.0.3.1\n", ";; PoP pop3: ecs 127.3.0.0/24 in region 127.3.0.0/16\n", "ECS scope /16\n",
		}},
		{[]string{"--from", "127.9.0.1"}, []string{
			"127.0.1.1\n", ";; PoP pop1: source 127.9.0.1/32 matches no region: default PoP\n",
		}},
	}
	for _, tt := range tests {
		args := append([]string{"resolve", "www.example.test", "--dns", addr}, tt.args...)
		code, out, errOut := runCLI(t, nil, args...)
		if code != 0 {
			t.Fatalf("cdnctl %v: exit %d\n%s", args, code, errOut)
		}
		for _, w := range tt.wantOut {
			if !strings.Contains(out, w) {
				t.Errorf("cdnctl %v: output lacks %q:\n%s", args, w, out)
			}
		}
	}
}

func TestResolveJSON(t *testing.T) {
	addr := startGeoDNS(t)
	// The server address comes from the config (here the environment).
	code, out, errOut := runCLI(t, map[string]string{"CDNCTL_DNS_LISTEN": addr}, "--json", "resolve", "WWW.example.test.", "--from", "127.1.0.1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res struct {
		Name   string `json:"name"`
		Status string `json:"status"`
		Server string `json:"server"`
		Answer []struct {
			Name, Type, Data string
			TTL              int
		} `json:"answer"`
		PoP struct {
			Name, Reason, Via, Network string
		} `json:"pop"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if res.Status != "NOERROR" || res.Server != addr || len(res.Answer) != 2 || res.Answer[1].Data != "127.0.1.1" || res.Answer[1].TTL != 30 {
		t.Errorf("result %+v", res)
	}
	if res.PoP.Name != "pop1" || res.PoP.Reason != "region" || res.PoP.Via != "source" || res.PoP.Network != "127.1.0.0/16" {
		t.Errorf("pop %+v; want pop1, region 127.1.0.0/16 via source", res.PoP)
	}
}

func TestResolveErrors(t *testing.T) {
	addr := startGeoDNS(t)
	tests := []struct {
		args     []string
		code     int
		inStderr string
	}{
		{[]string{"resolve", "nope.cdn.test", "--dns", addr}, ExitFailure, "NXDOMAIN"},
		{[]string{"resolve", "example.com", "--dns", addr}, ExitFailure, "REFUSED"},
		{[]string{"resolve", "www.example.test", "--dns", addr, "--type", "BOGUS"}, ExitUsage, `--type "BOGUS"`},
		{[]string{"resolve", "www.example.test", "--dns", addr, "--from", "nope"}, ExitUsage, `--from "nope"`},
		{[]string{"resolve", "www.example.test", "--dns", addr, "--from", "192.0.2.1"}, ExitUsage, "not an address of this machine"},
		{[]string{"resolve", "www.example.test", "--dns", addr, "--subnet", "127.3.0.1/16"}, ExitUsage, "did you mean 127.3.0.0/16"},
		{[]string{"resolve", "www.example.test", "--dns", addr, "--subnet", "x"}, ExitUsage, `--subnet "x"`},
		{[]string{"resolve", "www.example.test", "--from", "127.1.0.1", "--subnet", "127.3.0.0/24"}, ExitUsage, "give one or the other"},
		{[]string{"resolve", "www.example.test", "--dns", "localhost"}, ExitUsage, "want host:port"},
		{[]string{"resolve"}, ExitUsage, "accepts 1 arg"},
	}
	for _, tt := range tests {
		code, _, errOut := runCLI(t, nil, tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.inStderr) {
			t.Errorf("cdnctl %v: exit %d, stderr %q; want exit %d mentioning %q", tt.args, code, errOut, tt.code, tt.inStderr)
		}
	}
}
