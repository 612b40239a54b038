package workload

import (
	"math"
	"strings"
	"testing"
	"time"
)

func synth(t *testing.T, spec Spec) []Event {
	t.Helper()
	g, err := NewSynthetic(spec)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := ReadAll(g)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func oneType(cc string) []Content {
	return []Content{{Name: "img", Share: 1, Objects: 1000, Path: "/img/{id}.jpg", Size: Size{Fixed: 1024}, CacheControl: cc}}
}

// within reports whether n is within 5 standard deviations of a Poisson
// count of mean m.
func within(n int, m float64) bool { return math.Abs(float64(n)-m) <= 5*math.Sqrt(m) }

func TestSyntheticSteadyAndRepeatable(t *testing.T) {
	spec := Spec{Duration: 100 * time.Second, Rate: Rate{Steady: 200}, Content: oneType("max-age=60")}
	a, b := synth(t, spec), synth(t, spec)
	if !within(len(a), 20000) {
		t.Errorf("%d requests in 100 s at 200/s; want about 20,000", len(a))
	}
	if len(a) != len(b) {
		t.Fatalf("the same spec gave %d and %d events", len(a), len(b))
	}
	for i := range a {
		if a[i].Time != b[i].Time || a[i].Path != b[i].Path || a[i].Size != b[i].Size {
			t.Fatalf("event %d differs between runs: %+v / %+v", i, a[i], b[i])
		}
	}
	// Zipf 0.8 over 1,000 objects: object 1 gets about 5.6% of requests.
	ones := 0
	for _, e := range a {
		if e.Path == "/img/1.jpg" {
			ones++
		}
	}
	if !within(ones, 20000*0.0563) {
		t.Errorf("object 1 got %d of %d requests; want about 5.6%%", ones, len(a))
	}
}

func TestSyntheticFlashCrowd(t *testing.T) {
	spec := Spec{Duration: 60 * time.Second, Rate: Rate{Flash: &Flash{From: 100, To: 5000, At: 20 * time.Second, For: 10 * time.Second}}, Content: oneType("max-age=60")}
	evs := synth(t, spec)
	start := spec.Start.UnixNano()
	if spec.Start.IsZero() {
		start = defaultStart.UnixNano()
	}
	var before, during, after int
	for _, e := range evs {
		switch at := time.Duration(e.Time - start); {
		case at < 20*time.Second:
			before++
		case at < 30*time.Second:
			during++
		default:
			after++
		}
	}
	if !within(before, 2000) || !within(during, 50000) || !within(after, 3000) {
		t.Errorf("before/during/after: %d/%d/%d; want about 2,000/50,000/3,000", before, during, after)
	}
}

func TestSyntheticDiurnal(t *testing.T) {
	spec := Spec{Duration: 24 * time.Hour, Rate: Rate{Diurnal: &Diurnal{Mean: 2, Peak: 4, PeakAt: 12 * time.Hour}}, Content: oneType("max-age=60")}
	evs := synth(t, spec)
	hours := make([]int, 24)
	for _, e := range evs {
		hours[time.Unix(0, e.Time).UTC().Hour()]++
	}
	// Rate 2×(1 + 0.6 cos(...)): 3.2/s at noon, 0.8/s at midnight.
	if !within(hours[12], 3.2*3600) || !within(hours[0], 0.8*3600) || !within(len(evs), 2*86400) {
		t.Errorf("noon %d, midnight %d, total %d; want about 11,500, 2,900 and 172,800", hours[12], hours[0], len(evs))
	}
}

func TestSyntheticChanges(t *testing.T) {
	spec := Spec{Duration: 10 * time.Hour, Rate: Rate{Steady: 1}, Content: []Content{
		{Name: "banner", Share: 1, Path: "/banner.jpg", Size: Size{Fixed: 100}, CacheControl: "max-age=86400", ChangeEvery: 4 * time.Hour},
		{Name: "pages", Share: 1, Objects: 100, Path: "/p/{id}", Size: Size{Fixed: 100}, CacheControl: "max-age=60", ChangeEvery: 3 * time.Hour, ChangeFraction: 0.1},
	}}
	var changes []string
	for _, e := range synth(t, spec) {
		if e.Kind != Change {
			continue
		}
		at := time.Duration(e.Time - defaultStart.UnixNano())
		if e.ChangedType >= 0 {
			changes = append(changes, at.String()+" type")
		} else {
			changes = append(changes, at.String()+" "+strings.Repeat("x", len(e.Changed)))
		}
	}
	want := "3h0m0s xxxxxxxxxx|4h0m0s type|6h0m0s xxxxxxxxxx|8h0m0s type|9h0m0s xxxxxxxxxx"
	if got := strings.Join(changes, "|"); got != want {
		t.Errorf("changes %q; want %q", got, want)
	}
}

func TestSpecErrors(t *testing.T) {
	tests := []struct {
		spec Spec
		want string
	}{
		{Spec{Rate: Rate{Steady: 1}, Content: oneType("")}, "workload.duration: want a positive duration"},
		{Spec{Duration: time.Hour, Content: oneType("")}, "workload.rate: want a rate"},
		{Spec{Duration: time.Hour, Rate: Rate{Steady: 1}}, "workload.content: want at least one content type"},
		{Spec{Duration: time.Hour, Rate: Rate{Steady: 1}, Content: []Content{{Share: 1, Objects: 5, Path: "/a.jpg", Size: Size{Fixed: 1}}}},
			`workload.content[0].path "/a.jpg": 5 objects need "{id}" in their path`},
		{Spec{Duration: time.Hour, Rate: Rate{Steady: 1}, Content: []Content{{Share: 1, Path: "/a", ChangeFraction: 2, Size: Size{Fixed: 1}}}},
			"workload.content[0].change_fraction 2: want a share between 0 and 1"},
		{Spec{Duration: time.Hour, Rate: Rate{Steady: 1}, Content: []Content{{Share: 1, Path: "/a"}}},
			`workload.content[0].size: want a size ("40KiB") or a distribution`},
	}
	for _, tt := range tests {
		err := tt.spec.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate() = %v; want %q", err, tt.want)
		}
	}
}

func TestSizes(t *testing.T) {
	ln := Size{LogNormal: &LogNormal{Median: 10000, Sigma: 1}}
	if got := ln.quantile(0.5); got != 10000 {
		t.Errorf("log-normal median = %d; want 10000", got)
	}
	if got := ln.quantile(0.8413447); math.Abs(float64(got)-27183) > 30 {
		t.Errorf("log-normal at +1σ = %d; want e × 10000", got)
	}
	pa := Size{Pareto: &Pareto{Min: 1000, Alpha: 1, Max: 5000}}
	if pa.quantile(0.5) != 2000 || pa.quantile(0.99) != 5000 {
		t.Errorf("Pareto quantiles %d %d; want 2000 and the 5000 bound", pa.quantile(0.5), pa.quantile(0.99))
	}
	for s, want := range map[string]int64{"40KiB": 40 << 10, "1.5MB": 3 << 19, "512k": 512 << 10, "1024": 1024, "2G": 2 << 30} {
		if got, err := ParseByteSize(s); err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	if _, err := ParseByteSize("12 parsecs"); err == nil {
		t.Error("ParseByteSize(12 parsecs): no error")
	}
}
