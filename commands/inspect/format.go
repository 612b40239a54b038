package inspect

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// humanBytes writes n with a binary unit: 512 B, 1.5 KiB, 64.0 MiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// humanSeconds writes a duration in seconds briefly: 45s, 12m, 3h, 365d.
func humanSeconds(s int64) string {
	neg := s < 0
	if neg {
		s = -s
	}
	var out string
	switch {
	case s < 120:
		out = fmt.Sprintf("%ds", s)
	case s < 2*3600:
		out = fmt.Sprintf("%dm", s/60)
	case s < 2*86400:
		out = fmt.Sprintf("%dh", s/3600)
	default:
		out = fmt.Sprintf("%dd", s/86400)
	}
	if neg {
		return "-" + out
	}
	return out
}

// rate writes a per-second rate.
func rate(r float64) string {
	switch {
	case r <= 0:
		return "0"
	case r < 10:
		return fmt.Sprintf("%.1f", r)
	default:
		return fmt.Sprintf("%.0f", r)
	}
}

// sparkline draws samples in [0,1] with block characters; a negative
// sample (no traffic in that interval) is a dot.
func sparkline(samples []float64, width int) string {
	const blocks = "▁▂▃▄▅▆▇█"
	runes := []rune(blocks)
	if len(samples) > width {
		samples = samples[len(samples)-width:]
	}
	var b strings.Builder
	for i := len(samples); i < width; i++ {
		b.WriteByte(' ')
	}
	for _, s := range samples {
		if s < 0 {
			b.WriteRune('·')
			continue
		}
		i := int(s*float64(len(runes)-1) + 0.5)
		b.WriteRune(runes[max(0, min(i, len(runes)-1))])
	}
	return b.String()
}

// bar draws the fraction f in [0,1] as width cells.
func bar(f float64, width int) string {
	if width <= 0 {
		return ""
	}
	f = max(0, min(f, 1))
	full := int(f*float64(width) + 0.5)
	return strings.Repeat("█", full) + strings.Repeat("░", width-full)
}

// truncate cuts s to width cells (ASCII-wide assumption for keys and
// URLs), marking the cut with an ellipsis.
func truncate(s string, width int) string {
	if width <= 0 {
		return ""
	}
	r := []rune(s)
	if len(r) <= width {
		return s
	}
	if width == 1 {
		return "…"
	}
	return string(r[:width-1]) + "…"
}

// pad fills s with spaces to width cells, or truncates it.
func pad(s string, width int) string {
	s = truncate(s, width)
	if n := len([]rune(s)); n < width {
		return s + strings.Repeat(" ", width-n)
	}
	return s
}

// padLeft right-aligns s in width cells.
func padLeft(s string, width int) string {
	s = truncate(s, width)
	if n := len([]rune(s)); n < width {
		return strings.Repeat(" ", width-n) + s
	}
	return s
}

func clock(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Format("15:04:05")
}

// ansiStrip removes styling, for lines restyled as a whole.
func ansiStrip(s string) string { return ansi.Strip(s) }

// shortBytes writes n in at most 5 cells: 812B, 10K, 48M, 1.5G.
func shortBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	f, exp := float64(n)/unit, 0
	for f >= unit && exp < 4 {
		f /= unit
		exp++
	}
	if f < 10 && f != float64(int64(f)) {
		return fmt.Sprintf("%.1f%c", f, "KMGTP"[exp])
	}
	return fmt.Sprintf("%.0f%c", f, "KMGTP"[exp])
}

// truncateMiddle cuts s to width cells by removing its middle.
// truncateKey fits a cache key (scheme://host/path) in width cells,
// keeping what tells entries apart: the host whole, and of the path its
// start and its last segment (the file); the part between them gives way
// first, then the scheme. Very narrow widths fall back to truncateMiddle.
func truncateKey(key string, width int) string {
	if len([]rune(key)) <= width {
		return key
	}
	const minPath = 8 // "/…le.css"
	scheme, rest, ok := strings.Cut(key, "://")
	if !ok {
		return truncateMiddle(key, width)
	}
	host, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		host, path = rest[:i], rest[i:]
	}
	for _, prefix := range []string{scheme + "://" + host, host} {
		if room := width - len([]rune(prefix)); room >= minPath {
			return prefix + truncatePath(path, room)
		}
	}
	return truncateMiddle(key, width)
}

// truncatePath fits a path in width cells, keeping its last segment (and
// what follows it) whole when it fits, and as much of its start as the
// width leaves; else the end of the path.
func truncatePath(path string, width int) string {
	r := []rune(path)
	if len(r) <= width {
		return path
	}
	tail := []rune(path[max(strings.LastIndexByte(path, '/'), 0):])
	if len(tail)+2 > width { // the end of the file name, with its extension
		return "/…" + string(r[len(r)-width+2:])
	}
	return string(r[:width-len(tail)-1]) + "…" + string(tail)
}

func truncateMiddle(s string, width int) string {
	r := []rune(s)
	if len(r) <= width || width < 5 {
		return truncate(s, width)
	}
	head := (width - 1) / 3
	tail := width - 1 - head
	return string(r[:head]) + "…" + string(r[len(r)-tail:])
}
