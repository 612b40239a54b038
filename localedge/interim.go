package localedge

import (
	"context"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
)

// This file relays interim (1xx) responses, 102 Processing and 103 Early
// Hints, from the upstream to clients, as RFC 9110 §15.2 requires of a
// proxy. They are never stored: a later hit has none (RFC 9111 §3), and
// their fields never become the final response's.

// interimResponse is one 1xx response received from the upstream.
type interimResponse struct {
	code   int
	header http.Header
}

// maxInterim bounds the interim responses kept per flight (Go's
// transport accepts 5 before it gives up).
const maxInterim = 8

// relayable reports whether an interim status is passed on: not 100
// Continue (each hop's own business, answered by Go's server) nor 101.
func relayable(code int) bool {
	return code >= 102 && code <= 199
}

// withInterimTrace returns ctx with a client trace that hands each
// relayable 1xx response the upstream sends to fn, without hop-by-hop
// fields.
func withInterimTrace(ctx context.Context, fn func(interimResponse)) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			if relayable(code) {
				hh := http.Header(h).Clone()
				removeHopByHop(hh)
				fn(interimResponse{code: code, header: hh})
			}
			return nil
		},
	})
}

// forWaiter returns the interim response as relayed to a client that did
// not make the request: without Set-Cookie, which is meant for the client
// that did (an origin may set one in a 103 as in a final response).
func (ir interimResponse) forWaiter() interimResponse {
	if _, ok := ir.header["Set-Cookie"]; !ok {
		return ir
	}
	h := ir.header.Clone()
	delete(h, "Set-Cookie")
	return interimResponse{code: ir.code, header: h}
}

// addInterim records an interim response on a flight for its readers.
func (f *flight) addInterim(ir interimResponse) {
	f.mu.Lock()
	if len(f.interim) < maxInterim {
		f.interim = append(f.interim, ir)
		f.broadcastLocked()
	}
	f.mu.Unlock()
}

// writeInterim sends a 1xx response to a client (HTTP/1.1 or later only,
// RFC 9110 §15.2), then removes its fields from the header map Go's server
// keeps for the final response.
func writeInterim(w http.ResponseWriter, r *http.Request, ir interimResponse) {
	if !r.ProtoAtLeast(1, 1) {
		return
	}
	h := w.Header()
	for name, values := range ir.header {
		h[name] = values
	}
	w.WriteHeader(ir.code)
	for name := range ir.header {
		delete(h, name)
	}
}

// awaitHead waits until f's response head is known, relaying the interim
// responses the upstream sends meanwhile (to the clients collapsed onto
// another's fetch, without cookies: see forWaiter); false when the client
// went away.
func (p *Proxy) awaitHead(w http.ResponseWriter, r *http.Request, f *flight, rd *reader, leader bool) bool {
	relay := func() <-chan struct{} {
		f.mu.Lock()
		pending := f.interim[rd.interim:]
		wait := f.changed
		f.mu.Unlock()
		for _, ir := range pending {
			if !leader {
				ir = ir.forWaiter()
			}
			writeInterim(w, r, ir)
			rd.interim++
		}
		return wait
	}
	for {
		wait := relay()
		select {
		case <-f.ready:
			// The head may have arrived together with the last interim
			// responses (select picks at random among ready cases): relay
			// what is left, as every interim response precedes the head.
			relay()
			return true
		case <-wait:
		case <-r.Context().Done():
			return false
		}
	}
}
