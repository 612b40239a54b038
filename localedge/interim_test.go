package localedge

import (
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"sync"
	"testing"
)

// getInterim sends a request and returns the interim responses seen
// before the final one.
func getInterim(t *testing.T, method, u string) (*http.Response, []interimResponse) {
	t.Helper()
	var mu sync.Mutex
	var got []interimResponse
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		mu.Lock()
		got = append(got, interimResponse{code: code, header: http.Header(h).Clone()})
		mu.Unlock()
		return nil
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	return resp, got
}

// TestInterimResponsesRelayed: 103 Early Hints and 102 Processing from the
// origin reach the client through the edge and the shield, are not stored
// (a hit has none) and lend no field to the final response (RFC 9110
// §15.2; issue 12 conformance: interim-102, -103, -not-cached,
// -no-header-reuse).
func TestInterimResponsesRelayed(t *testing.T) {
	o := newOrigin(t, nil)
	hints := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</styles.css>; rel=preload; as=style")
		w.Header().Set("X-My-Header", "test")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		w.Header().Del("X-My-Header")
		w.WriteHeader(http.StatusProcessing)
		w.Header().Set("Cache-Control", "max-age=100000")
		io.WriteString(w, "final")
	}
	o.handle("/hints", hints)
	o.handle("/post", hints)
	_, shieldSrv := newProxy(t, o.URL, nil, func(p *Proxy) { p.Name, p.Role = "shield", RoleShield })
	_, srv := newProxy(t, shieldSrv.URL, nil, nil)

	resp, got := getInterim(t, "GET", srv.URL+"/hints")
	if len(got) != 2 || got[0].code != 103 || got[0].header.Get("Link") != "</styles.css>; rel=preload; as=style" ||
		got[0].header.Get("X-My-Header") != "test" || got[1].code != 102 {
		t.Errorf("interim responses through edge and shield = %+v; want 103 with the hints, then 102", got)
	}
	if resp.StatusCode != 200 || resp.Header.Get("X-My-Header") != "" || resp.Header.Get("Link") != "" {
		t.Errorf("final response %d carries the 103's fields: %v", resp.StatusCode, resp.Header)
	}
	resp, got = getInterim(t, "GET", srv.URL+"/hints")
	if xcache(resp) != "HIT" || len(got) != 0 || resp.Header.Get("X-My-Header") != "" {
		t.Errorf("hit: X-Cache %s, interim %+v, X-My-Header %q; want a hit without interim responses or their fields", xcache(resp), got, resp.Header.Get("X-My-Header"))
	}
	resp, got = getInterim(t, "POST", srv.URL+"/post")
	if resp.StatusCode != 200 || len(got) != 2 || got[0].code != 103 || got[1].code != 102 {
		t.Errorf("POST: %d with interim %+v; want 103 and 102 relayed", resp.StatusCode, got)
	}
}
