package extfilter

import "testing"

func TestSet(t *testing.T) {
	var s Set
	for name, want := range map[string]bool{"img/a.png": true, "b.PNG": true, "app.js.map": true, "LICENSE": false, "dir.d/README": true, "trailing.": false, "c.png": true} {
		if got := s.Add(name); got != want {
			t.Errorf("Add(%q) = %v, want %v", name, got, want)
		}
	}
	// "png", "PNG", "map", "d/README"
	if s.Len() != 4 {
		t.Errorf("Len() = %d, want 4 (png, PNG, map, d/README)", s.Len())
	}
	for text, want := range map[string]bool{
		"":                        false,
		"no dot at all":           false,
		"x = a.length + b.size;":  false,
		"url(/img/a.png)":         true,
		"A.PNG":                   true,
		"a.Png":                   false,
		"a.pngx":                  true, // a prefix is enough: the scan decides
		"sourceMappingURL=x.map":  true,
		"ends with a dot.":        false,
		"..png":                   true,
		"one.two.three.png.later": true,
	} {
		if got := s.Holds([]byte(text)); got != want {
			t.Errorf("Holds(%q) = %v, want %v", text, got, want)
		}
	}
	var empty Set
	if empty.Holds([]byte("a.png")) {
		t.Error("an empty set holds a.png")
	}
}
