package simulate

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// WriteTable prints the scenarios side by side: one column per scenario,
// one row per figure.
func WriteTable(w io.Writer, results []*Result) error {
	var rows [][]string
	row := func(label string, cell func(r *Result) string) {
		cells := []string{label}
		for _, r := range results {
			cells = append(cells, cell(r))
		}
		rows = append(rows, cells)
	}
	row("", func(r *Result) string { return r.Scenario })
	row("requests", func(r *Result) string { return count(r.Requests) })
	row("hit ratio, requests / bytes", func(*Result) string { return "" })
	row("  edge (all PoPs)", func(r *Result) string { return ratioPair(r.Edge.HitRatio) })
	maxPoPs := 0
	for _, r := range results {
		maxPoPs = max(maxPoPs, len(r.PoPs))
	}
	for i := 0; i < maxPoPs; i++ {
		name := ""
		for _, r := range results {
			if i < len(r.PoPs) {
				name = r.PoPs[i].Name
				break
			}
		}
		row("    "+name, func(r *Result) string {
			if i >= len(r.PoPs) {
				return "-"
			}
			return ratioPair(r.PoPs[i].HitRatio)
		})
	}
	row("  shield", func(r *Result) string {
		if r.Shield == nil {
			return "-"
		}
		return ratioPair(r.Shield.HitRatio)
	})
	row("  overall (not from origin)", func(r *Result) string { return ratioPair(r.Offload) })
	if slices.ContainsFunc(results, func(r *Result) bool { return r.Observed != nil }) {
		row("  logged by the CDN", func(r *Result) string {
			if r.Observed == nil {
				return "-"
			}
			return percent(*r.Observed)
		})
	}
	row("origin requests", func(r *Result) string { return count(r.Origin.Requests) })
	row("origin requests/s mean / p99 / max", func(r *Result) string {
		p := r.Origin.PerSecond
		return rate(p.Mean) + " / " + rate(p.P99) + " / " + rate(p.Max)
	})
	row("origin egress", func(r *Result) string { return Bytes(r.Origin.Bytes) })
	row("collapsed requests", func(r *Result) string { return count(r.Collapsed) })
	row("stale responses", func(r *Result) string { return count(r.Stale) })
	row("outdated responses", func(r *Result) string { return count(r.Outdated.Responses) })
	row("outdated after a change, longest / median", func(r *Result) string {
		if r.Outdated.Changes == 0 {
			return "-"
		}
		return Seconds(r.Outdated.Longest) + " / " + Seconds(r.Outdated.Median)
	})
	row("errors", func(r *Result) string { return count(r.Errors) })
	row("latency p50 / p90 / p99", func(r *Result) string {
		return millis(r.Latency.P50) + " / " + millis(r.Latency.P90) + " / " + millis(r.Latency.P99)
	})
	// The labels left-aligned, the figures right-aligned.
	widths := make([]int, len(results)+1)
	for _, cells := range rows {
		for i, c := range cells {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	for _, cells := range rows {
		var line strings.Builder
		for i, c := range cells {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if i == 0 {
				line.WriteString(c + pad)
			} else {
				line.WriteString("   " + pad + c)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func ratioPair(r Ratio) string { return percent(r.Requests) + " / " + percent(r.Bytes) }

func percent(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" }

func millis(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) + " ms" }

func rate(v float64) string {
	switch {
	case v >= 100 || v == math.Trunc(v):
		return count(int64(math.Round(v)))
	case v < 0.01:
		return "<0.01"
	case v < 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// count writes n with thousands separators.
func count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Bytes writes a byte count with a binary unit.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	f := float64(n)
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB", "PiB"} {
		f /= unit
		if f < unit || u == "PiB" {
			return strconv.FormatFloat(f, 'f', 1, 64) + " " + u
		}
	}
	return ""
}

// Seconds writes a duration in seconds the short way: "4h0m", "12m30s",
// "850ms".
func Seconds(s float64) string {
	d := time.Duration(s * float64(time.Second))
	switch {
	case d >= time.Hour:
		d = d.Round(time.Minute)
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	case d >= time.Minute:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d >= 10*time.Second:
		return d.Round(time.Second).String()
	default:
		return d.Round(time.Millisecond).String()
	}
}

// sparks are the eight heights of a sparkline.
var sparks = []rune("▁▂▃▄▅▆▇█")

// WriteCharts draws the origin's request rate and the edge hit ratio over
// time as Unicode sparklines, one line per scenario on a common scale,
// width columns wide.
func WriteCharts(w io.Writer, results []*Result, width int) error {
	if len(results) == 0 {
		return nil
	}
	label := 0
	for _, r := range results {
		label = max(label, len([]rune(r.Scenario)))
	}
	cols := max(width-label-4, 10)
	span := 0.0
	for _, r := range results {
		span = max(span, r.Seconds)
	}
	var peak float64
	for _, r := range results {
		for _, p := range r.Series.Points {
			peak = max(peak, p.OriginPerSecond)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "origin requests/s over %s (full height: %s/s)\n", Seconds(span), rate(peak))
	for _, r := range results {
		fmt.Fprintf(&b, "  %-*s  %s\n", label, r.Scenario, sparkline(resample(r, span, cols, func(p Point) (float64, float64) { return p.OriginPerSecond, 1 }), 0, peak))
	}
	fmt.Fprintf(&b, "edge hit ratio over %s (0 to 100%%)\n", Seconds(span))
	for _, r := range results {
		fmt.Fprintf(&b, "  %-*s  %s\n", label, r.Scenario, sparkline(resample(r, span, cols, func(p Point) (float64, float64) { return float64(p.Hits), float64(p.Requests) }), 0, 1))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// resample spreads a result's points over cols columns covering span
// seconds: each column is the ratio of the sums of value's two parts over
// the points it covers (NaN: none).
func resample(r *Result, span float64, cols int, value func(Point) (num, den float64)) []float64 {
	num := make([]float64, cols)
	den := make([]float64, cols)
	for _, p := range r.Series.Points {
		c := int(p.At / span * float64(cols))
		if c >= cols {
			c = cols - 1
		}
		n, d := value(p)
		num[c] += n
		den[c] += d
	}
	out := make([]float64, cols)
	for i := range out {
		if den[i] == 0 {
			out[i] = math.NaN()
			continue
		}
		out[i] = num[i] / den[i]
	}
	return out
}

func sparkline(vals []float64, lo, hi float64) string {
	var b strings.Builder
	for _, v := range vals {
		if math.IsNaN(v) {
			b.WriteByte(' ')
			continue
		}
		i := 0
		if hi > lo {
			i = int(math.Round((v - lo) / (hi - lo) * float64(len(sparks)-1)))
		}
		b.WriteRune(sparks[max(0, min(i, len(sparks)-1))])
	}
	return b.String()
}
