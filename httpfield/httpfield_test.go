package httpfield

import "testing"

func TestValidName(t *testing.T) {
	for s, want := range map[string]bool{
		"Cache-Control": true, "X-A_b.c~1": true, "!#$%&'*+-.^_`|~": true,
		"": false, "X A": false, "X:A": false, "X\nA": false, "Ä": false, "(x)": false,
	} {
		if got := ValidName(s); got != want {
			t.Errorf("ValidName(%q) = %v; want %v", s, got, want)
		}
	}
}

func TestValidValue(t *testing.T) {
	for s, want := range map[string]bool{
		"": true, "public, max-age=60": true, "a\tb": true, "caf\xc3\xa9": true,
		"a\r\nSet-Cookie: x": false, "a\x00": false, "a\x7f": false, "a\x01": false,
	} {
		if got := ValidValue(s); got != want {
			t.Errorf("ValidValue(%q) = %v; want %v", s, got, want)
		}
	}
}
