package workload

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Spec describes a synthetic workload: what is requested (content types,
// each a catalogue of objects with Zipf popularity, sizes and the origin's
// Cache-Control), how often (a rate over time) and by whom (client regions
// and their Accept-Encoding), and when content changes.
type Spec struct {
	// Duration is how long the workload runs.
	Duration time.Duration `yaml:"duration" json:"duration"`
	// Start is the time of the first request (default
	// 2026-03-02T00:00:00Z); the diurnal rate follows its time of day (UTC).
	Start time.Time `yaml:"start" json:"start"`
	// Seed makes the random choices repeatable (default 1).
	Seed uint64 `yaml:"seed" json:"seed"`
	// Host is the site's host name (default www.example.test).
	Host string `yaml:"host" json:"host"`
	// Rate is the request rate over time.
	Rate Rate `yaml:"rate" json:"rate"`
	// Regions are the client regions and their shares of the requests
	// (default: clients spread evenly over the PoPs).
	Regions []Region `yaml:"regions" json:"regions,omitempty"`
	// Encodings are the Accept-Encoding values clients send and their
	// shares (default: every client sends EncodingDefault).
	Encodings []Encoding `yaml:"encodings" json:"encodings,omitempty"`
	// Content are the content types, with their shares of the requests.
	Content []Content `yaml:"content" json:"content"`
}

// Encoding is one Accept-Encoding value and the share of clients sending it.
type Encoding struct {
	Accept string  `yaml:"accept" json:"accept"`
	Share  float64 `yaml:"share" json:"share"`
}

// Content is one type of content: a catalogue of objects under one path
// pattern.
type Content struct {
	Name string `yaml:"name" json:"name"`
	// Share is the share of requests for this type (normalised over types).
	Share float64 `yaml:"share" json:"share"`
	// Objects is how many objects the type has (default 1).
	Objects int64 `yaml:"objects" json:"objects"`
	// Zipf is the exponent α of the objects' popularity: object k is
	// requested in proportion to 1/k^α (0: all equally; default 0.8).
	Zipf *float64 `yaml:"zipf" json:"zipf,omitempty"`
	// Path is the objects' path, "{id}" standing for the object number
	// 1..Objects ("/img/{id}.jpg"); a type with one object may have none.
	Path string `yaml:"path" json:"path"`
	// Size is the objects' size: a fixed size or a distribution.
	Size Size `yaml:"size" json:"size"`
	// CacheControl is the Cache-Control the origin sends.
	CacheControl string `yaml:"cache_control" json:"cache_control"`
	// Vary is the Vary the origin sends ("Accept-Encoding" for text
	// that is compressed).
	Vary string `yaml:"vary" json:"vary,omitempty"`
	// Status is the status the origin answers (default 200).
	Status int `yaml:"status" json:"status,omitempty"`
	// ChangeEvery makes the content change periodically (a deploy, a new
	// banner), the first time ChangeEvery after the start.
	ChangeEvery time.Duration `yaml:"change_every" json:"change_every,omitempty"`
	// ChangeFraction is the share of the type's objects that change each
	// time (default 1: all).
	ChangeFraction float64 `yaml:"change_fraction" json:"change_fraction,omitempty"`
}

// DefaultZipf is the popularity exponent of a content type that gives
// none: typical of web objects.
const DefaultZipf = 0.8

// Rate is a request rate over time, in requests per second: steady, a
// diurnal cycle, or a flash crowd.
type Rate struct {
	Steady  float64  `yaml:"steady" json:"steady,omitempty"`
	Diurnal *Diurnal `yaml:"diurnal" json:"diurnal,omitempty"`
	Flash   *Flash   `yaml:"flash" json:"flash,omitempty"`
}

// Diurnal is a daily cycle around Mean, Peak times busier at its peak
// than at its trough.
type Diurnal struct {
	Mean float64 `yaml:"mean" json:"mean"`
	// Peak is the ratio of the busiest to the quietest rate (default 4).
	Peak float64 `yaml:"peak" json:"peak,omitempty"`
	// PeakAt is the time of day (UTC) of the peak (default 20h).
	PeakAt time.Duration `yaml:"peak_at" json:"peak_at,omitempty"`
}

// Flash is a flash crowd: From requests/s until At, then To (reached
// linearly over Ramp), for For (0: until the end), then From again.
type Flash struct {
	From float64       `yaml:"from" json:"from"`
	To   float64       `yaml:"to" json:"to"`
	At   time.Duration `yaml:"at" json:"at"`
	For  time.Duration `yaml:"for" json:"for,omitempty"`
	Ramp time.Duration `yaml:"ramp" json:"ramp,omitempty"`
}

// UnmarshalYAML reads a plain number as a steady rate.
func (r *Rate) UnmarshalYAML(unmarshal func(any) error) error {
	var n float64
	if err := unmarshal(&n); err == nil {
		*r = Rate{Steady: n}
		return nil
	}
	type plain Rate
	var p plain
	if err := unmarshal(&p); err != nil {
		return err
	}
	*r = Rate(p)
	return nil
}

// Size is an object size: fixed, or drawn per object from a distribution.
type Size struct {
	Fixed     ByteSize   `yaml:"fixed" json:"fixed,omitempty"`
	LogNormal *LogNormal `yaml:"lognormal" json:"lognormal,omitempty"`
	Pareto    *Pareto    `yaml:"pareto" json:"pareto,omitempty"`
}

// LogNormal sizes: half the objects are smaller than Median; Sigma is the
// standard deviation of the size's logarithm (1: most objects between a
// third and three times the median).
type LogNormal struct {
	Median ByteSize `yaml:"median" json:"median"`
	Sigma  float64  `yaml:"sigma" json:"sigma"`
}

// Pareto sizes: at least Min, heavy-tailed with index Alpha, at most Max
// (0: no bound).
type Pareto struct {
	Min   ByteSize `yaml:"min" json:"min"`
	Alpha float64  `yaml:"alpha" json:"alpha"`
	Max   ByteSize `yaml:"max" json:"max,omitempty"`
}

// UnmarshalYAML reads a plain size ("40KiB", 1024) as a fixed size.
func (s *Size) UnmarshalYAML(unmarshal func(any) error) error {
	var b ByteSize
	if err := unmarshal(&b); err == nil {
		*s = Size{Fixed: b}
		return nil
	}
	type plain Size
	var p plain
	if err := unmarshal(&p); err != nil {
		return err
	}
	*s = Size(p)
	return nil
}

// ByteSize is a number of bytes, written "40KiB", "1.5MB", "512k" or
// 1024: k, M, G and T are powers of 1024, with or without "i" and "B".
type ByteSize int64

// UnmarshalYAML implements the YAML decoding of a size.
func (b *ByteSize) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	n, err := ParseByteSize(s)
	if err != nil {
		return err
	}
	*b = ByteSize(n)
	return nil
}

// ParseByteSize reads a size such as "40KiB", "1.5GB", "512k" or "1024".
func ParseByteSize(s string) (int64, error) {
	v := strings.TrimSpace(s)
	num := strings.TrimRightFunc(v, func(r rune) bool { return r < '0' || r > '9' && r != '.' })
	unit := strings.ToLower(strings.TrimSpace(v[len(num):]))
	unit = strings.TrimSuffix(strings.TrimSuffix(unit, "b"), "i")
	mult := map[string]float64{"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}[unit]
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || mult == 0 || n < 0 || n*mult > 1<<62 {
		return 0, fmt.Errorf("size %q: want a size such as 40KiB, 1.5MB or a number of bytes", s)
	}
	return int64(n * mult), nil
}

// Defaults of a Spec.
var (
	defaultStart = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
)

// DefaultHost is the host of synthetic workloads that name none.
const DefaultHost = "www.example.test"

// Validate checks a spec and fills in its defaults. Errors name the key
// and what was expected.
func (s *Spec) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if s.Duration <= 0 {
		bad("workload.duration: want a positive duration such as 1h")
	}
	if s.Start.IsZero() {
		s.Start = defaultStart
	}
	if s.Seed == 0 {
		s.Seed = 1
	}
	if s.Host == "" {
		s.Host = DefaultHost
	}
	if err := s.Rate.validate(); err != nil {
		errs = append(errs, err)
	}
	if len(s.Content) == 0 {
		bad("workload.content: want at least one content type")
	}
	names := map[string]bool{}
	for i := range s.Content {
		c := &s.Content[i]
		key := fmt.Sprintf("workload.content[%d]", i)
		if c.Name == "" {
			c.Name = fmt.Sprintf("content%d", i+1)
		}
		if names[c.Name] {
			bad("%s.name %q: used twice", key, c.Name)
		}
		names[c.Name] = true
		if c.Share < 0 || math.IsNaN(c.Share) {
			bad("%s.share %v: want a positive share", key, c.Share)
		}
		if c.Objects == 0 {
			c.Objects = 1
		}
		if c.Objects < 0 {
			bad("%s.objects %d: want a positive count", key, c.Objects)
		}
		if c.Zipf == nil {
			z := DefaultZipf
			c.Zipf = &z
		} else if *c.Zipf < 0 || *c.Zipf > 10 {
			bad("%s.zipf %v: want an exponent between 0 and 10", key, *c.Zipf)
		}
		if c.Path == "" || c.Path[0] != '/' {
			bad("%s.path %q: want a path starting with / (\"{id}\" for the object number)", key, c.Path)
		} else if c.Objects > 1 && !strings.Contains(c.Path, "{id}") {
			bad("%s.path %q: %d objects need \"{id}\" in their path", key, c.Path, c.Objects)
		}
		if err := c.Size.validate(key + ".size"); err != nil {
			errs = append(errs, err)
		}
		if c.Status == 0 {
			c.Status = 200
		}
		if c.Status < 200 || c.Status > 599 {
			bad("%s.status %d: want an HTTP status from 200 to 599", key, c.Status)
		}
		if c.ChangeEvery < 0 {
			bad("%s.change_every %v: want a positive duration", key, c.ChangeEvery)
		}
		if c.ChangeFraction == 0 {
			c.ChangeFraction = 1
		}
		if c.ChangeFraction < 0 || c.ChangeFraction > 1 {
			bad("%s.change_fraction %v: want a share between 0 and 1", key, c.ChangeFraction)
		}
		if c.ChangeFraction < 1 && c.ChangeFraction*float64(c.Objects) > 1e6 {
			bad("%s.change_fraction: %v of %d objects is more than a million changes at once", key, c.ChangeFraction, c.Objects)
		}
	}
	if total := sumShares(len(s.Content), func(i int) float64 { return s.Content[i].Share }); len(s.Content) > 0 && total <= 0 {
		bad("workload.content: the shares add up to 0; give each type a share of the requests")
	}
	for i, r := range s.Regions {
		if r.Name == "" {
			bad("workload.regions[%d].name: want a name", i)
		}
		if r.Share < 0 {
			bad("workload.regions[%d].share %v: want a positive share", i, r.Share)
		}
	}
	if len(s.Regions) > 0 && sumShares(len(s.Regions), func(i int) float64 { return s.Regions[i].Share }) <= 0 {
		bad("workload.regions: the shares add up to 0")
	}
	for i, e := range s.Encodings {
		if e.Share < 0 {
			bad("workload.encodings[%d].share %v: want a positive share", i, e.Share)
		}
	}
	if len(s.Encodings) > 0 && sumShares(len(s.Encodings), func(i int) float64 { return s.Encodings[i].Share }) <= 0 {
		bad("workload.encodings: the shares add up to 0")
	}
	return errors.Join(errs...)
}

func sumShares(n int, share func(int) float64) float64 {
	var t float64
	for i := range n {
		t += share(i)
	}
	return t
}

func (r *Rate) validate() error {
	set := 0
	if r.Steady != 0 {
		set++
	}
	if r.Diurnal != nil {
		set++
	}
	if r.Flash != nil {
		set++
	}
	switch {
	case set == 0:
		return errors.New("workload.rate: want a rate: requests per second, or steady, diurnal or flash")
	case set > 1:
		return errors.New("workload.rate: give one of steady, diurnal and flash")
	case r.Steady < 0 || math.IsNaN(r.Steady) || math.IsInf(r.Steady, 0):
		return fmt.Errorf("workload.rate %v: want a positive number of requests per second", r.Steady)
	case r.Diurnal != nil:
		d := r.Diurnal
		if d.Peak == 0 {
			d.Peak = 4
		}
		if d.PeakAt == 0 {
			d.PeakAt = 20 * time.Hour
		}
		if d.Mean <= 0 || d.Peak < 1 || d.PeakAt < 0 || d.PeakAt >= 24*time.Hour {
			return fmt.Errorf("workload.rate.diurnal: want mean > 0 requests/s, peak ≥ 1 (busiest/quietest) and peak_at a time of day")
		}
	case r.Flash != nil:
		f := r.Flash
		if f.From < 0 || f.To < 0 || f.From+f.To == 0 || f.At < 0 || f.For < 0 || f.Ramp < 0 {
			return fmt.Errorf("workload.rate.flash: want from and to in requests/s, at (when it starts), optional for and ramp")
		}
	}
	return nil
}

func (s *Size) validate(key string) error {
	set := 0
	if s.Fixed != 0 {
		set++
	}
	if s.LogNormal != nil {
		set++
	}
	if s.Pareto != nil {
		set++
	}
	switch {
	case set == 0:
		return fmt.Errorf("%s: want a size (\"40KiB\") or a distribution (lognormal or pareto)", key)
	case set > 1:
		return fmt.Errorf("%s: give one of fixed, lognormal and pareto", key)
	case s.Fixed < 0:
		return fmt.Errorf("%s: want a positive size", key)
	case s.LogNormal != nil && (s.LogNormal.Median <= 0 || s.LogNormal.Sigma < 0 || s.LogNormal.Sigma > 5):
		return fmt.Errorf("%s.lognormal: want median > 0 and sigma between 0 and 5", key)
	case s.Pareto != nil && (s.Pareto.Min <= 0 || s.Pareto.Alpha <= 0 || (s.Pareto.Max != 0 && s.Pareto.Max < s.Pareto.Min)):
		return fmt.Errorf("%s.pareto: want min > 0, alpha > 0 and max (if given) ≥ min", key)
	}
	return nil
}

// quantile is the size of the object whose uniform draw is u in (0, 1).
func (s *Size) quantile(u float64) int64 {
	switch {
	case s.LogNormal != nil:
		z := math.Sqrt2 * math.Erfinv(2*u-1)
		return max(1, int64(math.Round(float64(s.LogNormal.Median)*math.Exp(s.LogNormal.Sigma*z))))
	case s.Pareto != nil:
		v := float64(s.Pareto.Min) / math.Pow(1-u, 1/s.Pareto.Alpha)
		if s.Pareto.Max > 0 && v > float64(s.Pareto.Max) {
			v = float64(s.Pareto.Max)
		}
		return int64(math.Round(v))
	}
	return int64(s.Fixed)
}

// rateAt is the rate (requests/s) at t after the start; bound is an upper
// bound of the rate from t until until, where the rate's shape changes.
func (r *Rate) rateAt(start time.Time, t time.Duration) float64 {
	switch {
	case r.Diurnal != nil:
		d := r.Diurnal
		a := (d.Peak - 1) / (d.Peak + 1)
		tod := start.Add(t).Sub(start.Truncate(24 * time.Hour))
		phase := 2 * math.Pi * float64(tod-d.PeakAt) / float64(24*time.Hour)
		return d.Mean * (1 + a*math.Cos(phase))
	case r.Flash != nil:
		f := r.Flash
		switch {
		case t < f.At:
			return f.From
		case f.For > 0 && t >= f.At+f.For:
			return f.From
		case t < f.At+f.Ramp:
			return f.From + (f.To-f.From)*float64(t-f.At)/float64(f.Ramp)
		default:
			return f.To
		}
	}
	return r.Steady
}

// bound returns an upper bound of the rate from t on, and until when it
// holds (a change of shape).
func (r *Rate) bound(t time.Duration) (float64, time.Duration) {
	const forever = time.Duration(math.MaxInt64)
	switch {
	case r.Diurnal != nil:
		a := (r.Diurnal.Peak - 1) / (r.Diurnal.Peak + 1)
		return r.Diurnal.Mean * (1 + a), forever
	case r.Flash != nil:
		f := r.Flash
		switch {
		case t < f.At:
			return f.From, f.At
		case f.For > 0 && t >= f.At+f.For:
			return f.From, forever
		case t < f.At+f.Ramp:
			return max(f.From, f.To), f.At + f.Ramp
		case f.For > 0:
			return f.To, f.At + f.For
		default:
			return f.To, forever
		}
	}
	return r.Steady, forever
}
