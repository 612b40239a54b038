package localedge

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"testing"
)

// TestCollapsedWaitersGetOnlyWhatTheyCouldAlone: clients collapsed onto a
// cookie-less client's fetch get its response only when they could have
// got it from the cache on their own. A client with a Cookie or
// Authorization waiting on a response that must be validated on every use
// (no-cache, max-age=0) asks the origin itself, with its credentials, as
// it would have had it come a moment later; a plain client shares it. A
// 103 that sets a cookie reaches the client whose request it answers, and
// the others without the cookie. Before, every waiter got the leader's
// response (the origin rendered for an anonymous visitor) and the leader's
// 103 cookie.
func TestCollapsedWaitersGetOnlyWhatTheyCouldAlone(t *testing.T) {
	o := newOrigin(t, nil)
	var mu sync.Mutex
	release := map[string]chan struct{}{}
	o.handle("/page", func(w http.ResponseWriter, r *http.Request) {
		who := r.Header.Get("X-Client")
		mu.Lock()
		ch := release[r.URL.RawQuery]
		mu.Unlock()
		w.Header().Set("Link", "</app.css>; rel=preload; as=style")
		w.Header().Set("Set-Cookie", "hint="+who)
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		w.Header().Del("Set-Cookie")
		if who == "leader" {
			<-ch
		}
		w.Header().Set("Cache-Control", r.URL.Query().Get("cc"))
		w.Header().Set("ETag", `"`+who+`"`)
		fmt.Fprintf(w, "for %s", who)
	})
	p, srv := newProxy(t, o.URL, nil, nil)

	type result struct {
		body, cs string
		hints    []string // the Set-Cookie of each 103
	}
	request := func(query, who string, kv ...string) result {
		var mu sync.Mutex
		var hints []string
		trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			mu.Lock()
			hints = append(hints, strings.Join(h["Set-Cookie"], ";"))
			mu.Unlock()
			return nil
		}}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), "GET", srv.URL+"/page?"+query, nil)
		req.Header.Set("X-Client", who)
		for i := 0; i+1 < len(kv); i += 2 {
			req.Header.Set(kv[i], kv[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Error(err)
			return result{}
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		mu.Lock()
		defer mu.Unlock()
		return result{string(b), resp.Header.Get("Cache-Status"), hints}
	}
	for _, tc := range []struct {
		cc          string
		credsShared bool // waiters with credentials may share the response
	}{
		{"no-cache", false},
		{"max-age=0", false},
		{"public, no-cache", false},
		{"max-age=60", true},
		{"public, max-age=60", true},
	} {
		query := "cc=" + strings.ReplaceAll(tc.cc, " ", "")
		mu.Lock()
		release[query] = make(chan struct{})
		mu.Unlock()
		before, fetches := p.Stats().Collapsed, o.count("/page")
		var wg sync.WaitGroup
		var leader result
		wg.Add(1)
		go func() { defer wg.Done(); leader = request(query, "leader") }()
		waitFor(t, "the leader at the origin", func() bool { return o.count("/page") > fetches })
		waiters := []struct {
			who string
			kv  []string
		}{{"plain", nil}, {"cookie", []string{"Cookie", "session=cookie"}}, {"auth", []string{"Authorization", "Bearer auth"}}}
		got := make([]result, len(waiters))
		for i, wt := range waiters {
			wg.Add(1)
			go func() { defer wg.Done(); got[i] = request(query, wt.who, wt.kv...) }()
		}
		waitFor(t, "3 waiters collapsed", func() bool { return p.Stats().Collapsed == before+3 })
		mu.Lock()
		close(release[query])
		mu.Unlock()
		wg.Wait()

		if leader.body != "for leader" || len(leader.hints) == 0 || leader.hints[0] != "hint=leader" {
			t.Errorf("%s: leader got %q with 103 cookies %q", tc.cc, leader.body, leader.hints)
		}
		for i, wt := range waiters {
			r := got[i]
			want := "for leader"
			if wt.kv != nil && !tc.credsShared {
				want = "for " + wt.who
			}
			if r.body != want {
				t.Errorf("%s: %s waiter got %q (%s); want %q", tc.cc, wt.who, r.body, r.cs, want)
			}
			for _, h := range r.hints {
				if h != "" && h != "hint="+wt.who {
					t.Errorf("%s: %s waiter got a 103 setting %q, meant for another client", tc.cc, wt.who, h)
				}
			}
		}
		p.Purge(t.Context(), PurgeRequest{All: true})
	}
}
