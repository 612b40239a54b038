package providers

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestPurgeURLs(t *testing.T) {
	hosts := []string{"www.example.com", "example.com"}
	for _, c := range []struct {
		raw   string
		hosts []string
		want  []string
		err   string
	}{
		{raw: "/app.css", hosts: hosts, want: []string{"https://www.example.com/app.css", "https://example.com/app.css"}},
		{raw: "/a b/?x=1 2", hosts: hosts[:1], want: []string{"https://www.example.com/a%20b/?x=1%202"}},
		{raw: "https://WWW.Example.com/a%20b/", hosts: hosts, want: []string{"https://www.example.com/a%20b/"}},
		{raw: "https://www.example.com/a b/", hosts: hosts, want: []string{"https://www.example.com/a%20b/"}},
		{raw: "https://www.example.com/caf%c3%a9", hosts: hosts, want: []string{"https://www.example.com/caf%C3%A9"}},
		{raw: "https://www.example.com", hosts: hosts, want: []string{"https://www.example.com/"}},
		{raw: "https://www.example.com:443/x", hosts: hosts, want: []string{"https://www.example.com/x"}},
		{raw: "http://www.example.com:8080/x", hosts: hosts, want: []string{"http://www.example.com:8080/x"}},
		{raw: "https://any.example.net/x", want: []string{"https://any.example.net/x"}},
		{raw: "https://other.example.net/x", hosts: hosts, err: "host other.example.net is not one of this CDN's hostnames"},
		{raw: "/x", err: "a path needs the CDN's hostnames"},
		{raw: "/x#frag", hosts: hosts, err: "a fragment"},
		{raw: "ftp://www.example.com/x", hosts: hosts, err: "want an absolute http(s) URL"},
		{raw: "x.css", hosts: hosts, err: "want an absolute http(s) URL"},
		{raw: "https://u:p@www.example.com/x", hosts: hosts, err: "user:password"},
	} {
		got, err := PurgeURLs("test", c.raw, c.hosts)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, ErrInvalidPurge) {
				t.Errorf("PurgeURLs(%q) = %v, %v; want an invalid-purge error containing %q", c.raw, got, err, c.err)
			}
		case err != nil || !slices.Equal(got, c.want):
			t.Errorf("PurgeURLs(%q) = %q, %v; want %q", c.raw, got, err, c.want)
		}
	}
}

func TestCheckHost(t *testing.T) {
	hosts := []string{"www.example.com"}
	if h, err := CheckHost("test", "WWW.example.com", hosts); err != nil || h != "www.example.com" {
		t.Errorf("CheckHost(WWW.example.com) = %q, %v; want the lower-case host", h, err)
	}
	if _, err := CheckHost("test", "static.example.com", hosts); err == nil || !strings.Contains(err.Error(), "not one of this CDN's hostnames (www.example.com)") {
		t.Errorf("CheckHost(a host not served) = %v; want refused with the hostnames", err)
	}
	if h, err := CheckHost("test", "static.example.com", nil); err != nil || h != "static.example.com" {
		t.Errorf("CheckHost with no hostnames configured = %q, %v; want any host", h, err)
	}
	for _, bad := range []string{"https://www.example.com", "www.example.com/x", "", "a b"} {
		if _, err := CheckHost("test", bad, nil); err == nil {
			t.Errorf("CheckHost(%q) accepted", bad)
		}
	}
	if _, err := CheckHostnames("test", []string{"www.example.com", "example.com:443"}); err == nil {
		t.Error("CheckHostnames accepted host:port")
	}
}
