// Command gentree writes a synthetic static site for benchmarks: pages,
// style sheets and scripts that reference each other and the images,
// fonts and media, in a mix of sizes that adds up to a chosen total.
// The same flags always write the same bytes.
//
//	go run ./bench/fingerprint/gentree -files 10000 -bytes 1073741824 DIR
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// kind is one class of file of the synthetic site.
type kind struct {
	name     string
	share    float64 // of the files
	min, max int64   // size range before scaling
	ext      []string
	dir      string
	text     bool
}

var kinds = []kind{
	{"page", 0.20, 2 << 10, 24 << 10, []string{".html"}, "pages", true},
	{"style", 0.05, 4 << 10, 64 << 10, []string{".css"}, "css", true},
	{"script", 0.05, 8 << 10, 256 << 10, []string{".js"}, "js", true},
	{"image", 0.60, 8 << 10, 160 << 10, []string{".png", ".jpg", ".webp", ".avif"}, "img", false},
	{"font", 0.09, 16 << 10, 128 << 10, []string{".woff2"}, "fonts", false},
	{"media", 0.01, 2 << 20, 12 << 20, []string{".mp4", ".webm"}, "media", false},
}

type file struct {
	kind kind
	path string
	size int64
}

func main() {
	n := flag.Int("files", 10000, "number of files")
	total := flag.Int64("bytes", 1<<30, "total size in bytes (about)")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: gentree [-files N] [-bytes N] [-seed N] DIR")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := generate(flag.Arg(0), *n, *total, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "gentree:", err)
		os.Exit(1)
	}
}

func generate(dir string, n int, total int64, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	// Sizes are drawn per kind, then scaled so the sum is total.
	var files []file
	var sum int64
	byKind := map[string][]int{}
	for _, k := range kinds {
		count := int(float64(n)*k.share + 0.5)
		for i := 0; i < count && len(files) < n; i++ {
			size := k.min + rng.Int64N(k.max-k.min)
			ext := k.ext[i%len(k.ext)]
			p := fmt.Sprintf("%s/%02d/%s-%05d%s", k.dir, i%50, k.name, i, ext)
			if k.name == "page" {
				p = fmt.Sprintf("%s/%03d/%05d/index.html", k.dir, i%100, i)
			}
			byKind[k.name] = append(byKind[k.name], len(files))
			files = append(files, file{kind: k, path: p, size: size})
			sum += size
		}
	}
	scale := float64(total) / float64(sum)
	for i := range files {
		files[i].size = max(256, int64(float64(files[i].size)*scale))
	}
	pick := func(kindName string) string {
		idx := byKind[kindName]
		return files[idx[rng.IntN(len(idx))]].path
	}
	var written int64
	buf := make([]byte, 1<<20)
	chacha := rand.NewChaCha8([32]byte{byte(seed)})
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		out, err := os.Create(p)
		if err != nil {
			return err
		}
		w := bufio.NewWriterSize(out, 1<<20)
		if f.kind.text {
			err = writeText(w, f, pick, rng)
		} else {
			err = writeRandom(w, f.size, buf, chacha)
		}
		if err == nil {
			err = w.Flush()
		}
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		info, _ := os.Stat(p)
		written += info.Size()
	}
	fmt.Printf("gentree: %d files, %d bytes in %s\n", len(files), written, dir)
	return nil
}

func writeRandom(w *bufio.Writer, size int64, buf []byte, r *rand.ChaCha8) error {
	for size > 0 {
		chunk := buf[:min(int64(len(buf)), size)]
		r.Read(chunk)
		if _, err := w.Write(chunk); err != nil {
			return err
		}
		size -= int64(len(chunk))
	}
	return nil
}

// writeText writes a page, style sheet or script of about f.size bytes
// with references to other files of the site.
func writeText(w *bufio.Writer, f file, pick func(string) string, rng *rand.Rand) error {
	rel := func(target string) string {
		depth := strings.Count(f.path, "/")
		return strings.Repeat("../", depth) + target
	}
	var n int64
	put := func(s string) { w.WriteString(s); n += int64(len(s)) }
	switch f.kind.name {
	case "page":
		put("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Page</title>\n")
		put(fmt.Sprintf("<link rel=\"stylesheet\" href=\"%s\">\n<script src=\"/%s\" defer></script>\n</head>\n<body>\n", rel(pick("style")), pick("script")))
		for n < f.size {
			put(fmt.Sprintf("<p>Lorem ipsum %d dolor sit amet, consectetur adipiscing elit.</p>\n<img src=\"%s\" alt=\"\" loading=\"lazy\">\n", rng.IntN(1e6), rel(pick("image"))))
		}
		put("</body>\n</html>\n")
	case "style":
		put(fmt.Sprintf("@font-face { font-family: F; src: url(%s) format(\"woff2\"); }\n", rel(pick("font"))))
		for i := 0; n < f.size; i++ {
			put(fmt.Sprintf(".c%d { margin: %dpx; background: url(\"/%s\") no-repeat; }\n", i, rng.IntN(64), pick("image")))
		}
	case "script":
		// ES module code: every script is scanned for specifiers, and
		// names images the way modules name assets.
		for i := 0; n < f.size; i++ {
			if i%64 == 0 {
				put(fmt.Sprintf("export const img%d = new URL(%q, import.meta.url); // %s\n", i, rel(pick("image")), "'\"`/"))
			}
			put(fmt.Sprintf("export function f%d(a, b) { return a * %d + b / 2 + \"s\".length + /x+/g.lastIndex; }\n", i, rng.IntN(1e6)))
		}
	}
	return nil
}
