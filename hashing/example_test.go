package hashing_test

import (
	"fmt"

	"github.com/cdnctl/cdnctl/hashing"
)

func ExampleFingerprintName() {
	fmt.Println(hashing.FingerprintName("css/app.css", "3f9a1c0e2b"))
	fmt.Println(hashing.FingerprintName("js/app.js.map", "3f9a1c0e2b"))
	fmt.Println(hashing.FingerprintName("LICENSE", "3f9a1c0e2b"))
	// Output:
	// css/app.3f9a1c0e2b.css
	// js/app.3f9a1c0e2b.js.map
	// LICENSE.3f9a1c0e2b
}

func ExampleParseFingerprint() {
	logical, hash, ok := hashing.ParseFingerprint("css/app.3f9a1c0e2b.css")
	fmt.Println(logical, hash, ok)
	_, _, ok = hashing.ParseFingerprint("js/jquery.min.js")
	fmt.Println(ok)
	// Output:
	// css/app.css 3f9a1c0e2b true
	// false
}

func ExampleGlob() {
	g := hashing.MustCompileGlob("*.{png,jpg}")
	fmt.Println(g.Match("logo.png"), g.Match("img/photos/cat.jpg"), g.Match("app.css"))
	anchored := hashing.MustCompileGlob("fonts/**")
	fmt.Println(anchored.Match("fonts/a/b.woff2"), anchored.Match("vendor/fonts/x.woff2"))
	// Output:
	// true true false
	// true false
}
