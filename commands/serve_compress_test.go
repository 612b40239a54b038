package commands

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
)

// siteCSS is a compressible stylesheet of about 40 kB.
func siteCSS() string {
	var b strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&b, ".c%d { margin: %dpx auto; color: #%06x; }\n", i, i%37, i*7919%0xffffff)
	}
	return b.String()
}

// TestServeCompress runs `cdnctl serve` over a folder through the edges
// and the shield: the edges compress what the origin sends as it is, the
// origin's precompressed sibling wins, and --compress=false turns it off.
func TestServeCompress(t *testing.T) {
	css := siteCSS()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(css))
	_ = zw.Close()
	dir := writeSite(t, map[string]string{
		"app.css":    css,
		"pre.css":    css,
		"pre.css.gz": gz.String(),
		"index.html": "<h1>small</h1>",
	})
	get := func(pop, path, ae string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", pop+path, nil)
		req.Host = "www.example.test"
		req.Header.Set("Accept-Encoding", ae)
		resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}

	info, stop := startServeCmd(t, "--json", "serve", "--origin", dir, "--free-ports", "--no-dns", "--token", "tok", "--access-log=false")
	pop := info.PoPs[0].URL
	resp, body := get(pop, "/app.css", "gzip, deflate, br, zstd")
	if resp.Header.Get("Content-Encoding") != "br" || !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
		t.Fatalf("/app.css through pop1: Content-Encoding %q, Vary %q; want br, Accept-Encoding", resp.Header.Get("Content-Encoding"), resp.Header.Get("Vary"))
	}
	if plain, err := io.ReadAll(brotli.NewReader(bytes.NewReader(body))); err != nil || string(plain) != css {
		t.Errorf("/app.css: brotli body does not decode to the file (%v)", err)
	}
	if etag := resp.Header.Get("ETag"); etag != "" && !strings.HasPrefix(etag, "W/") {
		t.Errorf("/app.css: ETag %q of a compressed response is strong", etag)
	}
	// The origin's gzip sibling, byte for byte.
	resp, body = get(pop, "/pre.css", "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" || !bytes.Equal(body, gz.Bytes()) {
		t.Errorf("/pre.css: Content-Encoding %q, %d bytes; want the origin's pre.css.gz (%d bytes)", resp.Header.Get("Content-Encoding"), len(body), gz.Len())
	}
	// Too small (under 1,000 bytes): as the origin sends it.
	if resp, _ = get(pop, "/", "br"); resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("/: a small page compressed (%q)", resp.Header.Get("Content-Encoding"))
	}
	stop()

	info, stop = startServeCmd(t, "--json", "serve", "--origin", dir, "--free-ports", "--no-dns", "--token", "tok", "--access-log=false", "--compress=false")
	defer stop()
	if resp, body = get(info.PoPs[0].URL, "/app.css", "br"); resp.Header.Get("Content-Encoding") != "" || string(body) != css {
		t.Errorf("--compress=false: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
}

func TestServeCompressConfigErrors(t *testing.T) {
	for _, tt := range []struct{ yaml, want string }{
		{"serve:\n  compress:\n    encodings: [deflate]\n", `serve.compress.encodings: "deflate" is not a coding the edge produces (want br, zstd or gzip)`},
		{"serve:\n  compress:\n    min_size: 2MiB\n    max_size: 1MiB\n", "serve.compress.max_size 1048576 is smaller than min_size 2097152"},
		{"serve:\n  compress:\n    types: [html]\n", `serve.compress.types: "html" is not a media type`},
		{"serve:\n  compress:\n    max_size: big\n", "serve.compress.max_size"},
	} {
		ios, _, _, errOut := TestStreams()
		f := &Factory{IO: ios, LookupEnv: noEnv, Now: time.Now}
		args := []string{"--config", writeConfig(t, tt.yaml), "serve", "--origin", t.TempDir(), "--free-ports", "--no-dns"}
		if code := f.Run(context.Background(), args); code != ExitUsage || !strings.Contains(errOut.String(), tt.want) {
			t.Errorf("%s: exit %d, %s; want %d and %q", tt.yaml, code, errOut, ExitUsage, tt.want)
		}
	}
}
