package simulate

import (
	"fmt"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Plot writes the origin's request rate and the edge hit ratio over time,
// one line per scenario, as SVG and PNG files in dir: origin.svg,
// origin.png, hit-ratio.svg, hit-ratio.png. It returns the files written.
func Plot(dir string, results []*Result) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("simulate: plot: %w", err)
	}
	charts := []struct {
		file, title, y string
		value          func(Point) float64
	}{
		{"origin", "Origin requests per second", "requests/s", func(p Point) float64 { return p.OriginPerSecond }},
		{"hit-ratio", "Edge hit ratio", "hit ratio (requests)", func(p Point) float64 { return p.HitRatio }},
	}
	var files []string
	for _, c := range charts {
		p := plot.New()
		p.Title.Text = c.title
		p.X.Label.Text = "time since the first request (minutes)"
		p.Y.Label.Text = c.y
		p.Y.Min = 0
		var lines []any
		for _, r := range results {
			pts := make(plotter.XYs, 0, len(r.Series.Points))
			for _, pt := range r.Series.Points {
				if c.file == "hit-ratio" && pt.Requests == 0 {
					continue
				}
				pts = append(pts, plotter.XY{X: pt.At / 60, Y: c.value(pt)})
			}
			lines = append(lines, r.Scenario, pts)
		}
		if err := plotutil.AddLines(p, lines...); err != nil {
			return files, fmt.Errorf("simulate: plot: %w", err)
		}
		if c.file == "hit-ratio" {
			p.Y.Max = 1
		}
		p.Legend.Top = true
		for _, ext := range []string{"svg", "png"} {
			path := filepath.Join(dir, c.file+"."+ext)
			if err := p.Save(20*vg.Centimeter, 10*vg.Centimeter, path); err != nil {
				return files, fmt.Errorf("simulate: plot: %w", err)
			}
			files = append(files, path)
		}
	}
	return files, nil
}
