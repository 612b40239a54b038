package providers

import "testing"

func TestCanonicalPath(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"/", "/"},
		{"/app.css", "/app.css"},
		{"/a b/", "/a%20b/"},
		{"/a%20b/", "/a%20b/"},
		{"/a%2fb", "/a%2Fb"},         // hex upper-cased, the escape kept (a / in a segment)
		{"/%7Euser/%41", "/~user/A"}, // unreserved escapes decoded
		{"/café", "/caf%C3%A9"},
		{"/caf%c3%a9", "/caf%C3%A9"},
		{"/100%", "/100%25"},
		{"/100%zz", "/100%25zz"},
		{"/a%2", "/a%252"},
		{"/{x}^`\"<>", "/%7Bx%7D%5E%60%22%3C%3E"},
		{"/a|b[c]:@!$&'()*+,;=", "/a|b[c]:@!$&'()*+,;="}, // not in the path percent-encode set
		{"/tab\there", "/tab%09here"},
		{"/q?a=1 2&b='x'", "/q?a=1%202&b=%27x%27"},
		{"/q?{x}", "/q?{x}"}, // braces are left alone in a query
		{"/q?a=%e2%82%ac", "/q?a=%E2%82%AC"},
	} {
		if got := CanonicalPath(c.in); got != c.want {
			t.Errorf("CanonicalPath(%q) = %q; want %q", c.in, got, c.want)
		}
		if got := CanonicalPath(c.want); got != c.want {
			t.Errorf("CanonicalPath is not idempotent: CanonicalPath(%q) = %q", c.want, got)
		}
	}
}
