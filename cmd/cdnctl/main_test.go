package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets testscript run the real CLI in-process as the "cdnctl"
// command of the scripts in testdata/script.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"cdnctl": func() { exit(run()) },
	})
}

func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		// A runtime folder per script, as a logged-in user has: where
		// cdnctl serve records itself for the client commands.
		Setup: func(env *testscript.Env) error {
			env.Setenv("XDG_RUNTIME_DIR", env.WorkDir+"/.run")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"serveinfo": cmdServeInfo,
			"http":      cmdHTTP,
		},
	})
}

// cmdServeInfo waits (up to 30s) for the first line of `cdnctl serve
// --json` in a file and exports where the topology listens: POP1_URL …,
// SHIELD_URL, ORIGIN_URL, ADMIN_URL, TOKEN, DNS_ADDR (when the GeoDNS
// runs), and with HTTPS POP1_HTTPS_URL … and CA_FILE.
//
//	serveinfo FILE
func cmdServeInfo(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: serveinfo FILE")
	}
	path := ts.MkAbs(args[0])
	deadline := time.Now().Add(30 * time.Second)
	var line string
	for {
		if f, err := os.Open(path); err == nil {
			l, err := bufio.NewReader(f).ReadString('\n')
			f.Close()
			if err == nil {
				line = l
				break
			}
		}
		if time.Now().After(deadline) {
			ts.Fatalf("serveinfo: no complete line in %s after 30s", args[0])
		}
		time.Sleep(20 * time.Millisecond)
	}
	var info struct {
		PoPs []struct {
			Name, URL string
			HTTPSURL  string `json:"https_url"`
		} `json:"pops"`
		Origin struct{ URL string }   `json:"origin"`
		Admin  struct{ URL string }   `json:"admin"`
		Token  string                 `json:"token"`
		DNS    *struct{ Addr string } `json:"dns"`
		HTTPS  *struct {
			CAFile string `json:"ca_file"`
		} `json:"https"`
	}
	if err := json.Unmarshal([]byte(line), &info); err != nil {
		ts.Fatalf("serveinfo: first line of %s is not the topology: %v", args[0], err)
	}
	for _, p := range info.PoPs {
		ts.Setenv(strings.ToUpper(p.Name)+"_URL", p.URL)
		if p.HTTPSURL != "" {
			ts.Setenv(strings.ToUpper(p.Name)+"_HTTPS_URL", p.HTTPSURL)
		}
	}
	if info.HTTPS != nil {
		ts.Setenv("CA_FILE", info.HTTPS.CAFile)
	}
	ts.Setenv("ORIGIN_URL", info.Origin.URL)
	ts.Setenv("ADMIN_URL", info.Admin.URL)
	ts.Setenv("TOKEN", info.Token)
	if info.DNS != nil {
		ts.Setenv("DNS_ADDR", info.DNS.Addr)
	}
}

// cmdHTTP sends one request and prints the protocol, the status, the
// response header (sorted) and the body, for stdout assertions. With
// -cacert, an https URL is checked against that CA only (HTTP/2 offered).
//
//	http [-H Name:value]... [-d body] [-cacert FILE] METHOD URL
func cmdHTTP(ts *testscript.TestScript, neg bool, args []string) {
	var headers [][2]string
	var body, caFile string
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		if len(args) < 2 {
			ts.Fatalf("usage: http [-H Name:value]... [-d body] METHOD URL")
		}
		switch args[0] {
		case "-H":
			k, v, _ := strings.Cut(args[1], ":")
			headers = append(headers, [2]string{k, strings.TrimSpace(v)})
		case "-d":
			body = args[1]
		case "-cacert":
			caFile = ts.MkAbs(args[1])
		default:
			ts.Fatalf("http: unknown option %s", args[0])
		}
		args = args[2:]
	}
	if len(args) != 2 {
		ts.Fatalf("usage: http [-H Name:value]... [-d body] METHOD URL")
	}
	req, err := http.NewRequest(args[0], args[1], strings.NewReader(body))
	ts.Check(err)
	for _, h := range headers {
		if strings.EqualFold(h[0], "Host") {
			req.Host = h[1]
		} else {
			req.Header.Add(h[0], h[1])
		}
	}
	tr := &http.Transport{DisableCompression: true}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		ts.Check(err)
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			ts.Fatalf("http: %s holds no PEM certificate", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: roots}
		tr.ForceAttemptHTTP2 = true
	}
	client := &http.Client{Timeout: 20 * time.Second, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		if !neg {
			ts.Fatalf("http %s %s: %v", args[0], args[1], err)
		}
		fmt.Fprintf(ts.Stdout(), "error: %v\n", err)
		return
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	ts.Check(err)
	var out strings.Builder
	fmt.Fprintf(&out, "proto: %s\nstatus: %d\n", resp.Proto, resp.StatusCode)
	names := make([]string, 0, len(resp.Header))
	for k := range resp.Header {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		fmt.Fprintf(&out, "%s: %s\n", k, strings.Join(resp.Header[k], ", "))
	}
	out.WriteString("\n")
	out.Write(b)
	fmt.Fprint(ts.Stdout(), out.String())
	if neg == (resp.StatusCode < 400) {
		ts.Fatalf("http %s %s: status %d", args[0], args[1], resp.StatusCode)
	}
}
