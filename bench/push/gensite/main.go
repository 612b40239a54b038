// Command gensite writes a deterministic synthetic site for bench/push:
// N files totalling about the given size, spread over ~100 folders, most
// of them with fingerprinted names (like a built web app), some HTML entry
// points. Bodies are pseudo-random (incompressible) so no tool gains from
// compression.
package main

import (
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
)

func main() {
	out := flag.String("out", "", "folder to write (must not exist)")
	files := flag.Int("files", 10000, "number of files")
	mib := flag.Int("mib", 200, "approximate total size in MiB")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if *out == "" {
		log.Fatal("gensite: -out is required")
	}
	if _, err := os.Stat(*out); err == nil {
		log.Fatalf("gensite: %s exists", *out)
	}
	rng := rand.New(rand.NewPCG(*seed, *seed^0x9e3779b97f4a7c15))

	// Log-uniform sizes between 256 B and 1 MiB, scaled to the total.
	sizes := make([]float64, *files)
	var sum float64
	for i := range sizes {
		sizes[i] = math.Exp(math.Log(256) + rng.Float64()*(math.Log(1<<20)-math.Log(256)))
		sum += sizes[i]
	}
	scale := float64(*mib<<20) / sum
	exts := []string{".js", ".css", ".png", ".jpg", ".woff2", ".svg", ".json", ".webp"}
	buf := make([]byte, 2<<20)
	var total int64
	for i := 0; i < *files; i++ {
		n := max(int(sizes[i]*scale), 1)
		if n > len(buf) {
			n = len(buf)
		}
		for j := 0; j < n; j += 8 {
			v := rng.Uint64()
			for k := 0; k < 8 && j+k < n; k++ {
				buf[j+k] = byte(v >> (8 * k))
			}
		}
		var name string
		switch {
		case i%10 == 0: // 10%: entry points
			name = fmt.Sprintf("pages/s%02d/page%05d.html", i%97, i)
		case i%10 == 1: // 10%: un-hashed files
			name = fmt.Sprintf("static/d%02d/file%05d%s", i%89, i, exts[i%len(exts)])
		default: // 80%: fingerprinted assets
			name = fmt.Sprintf("assets/a%02d/chunk%05d.%010x%s", i%83, i, rng.Uint64()&0xffffffffff|0xa000000000, exts[i%len(exts)])
		}
		p := filepath.Join(*out, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(p, buf[:n], 0o644); err != nil {
			log.Fatal(err)
		}
		total += int64(n)
	}
	fmt.Printf("gensite: %d files, %.1f MiB in %s\n", *files, float64(total)/(1<<20), *out)
}
