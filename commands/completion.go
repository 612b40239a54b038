package commands

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/parser"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cdnctl/cdnctl/providers/prewarm"
)

// Did you mean, and shell completion of flag values.

// unknownCommandArgs is the root's (and other parents') argument check:
// no arguments, and a mistyped subcommand gets a suggestion.
func unknownCommandArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := nearest(args[0], cmd.SuggestionsFor(args[0])); len(s) > 0 {
		msg += ": did you mean " + strings.Join(s, " or ") + "?"
	} else {
		msg += fmt.Sprintf(" (see %s --help)", cmd.CommandPath())
	}
	return &UsageError{Err: fmt.Errorf("%s", msg)}
}

// nearest keeps the suggestions at the smallest edit distance from word.
func nearest(word string, suggestions []string) []string {
	var out []string
	best := -1
	for _, s := range suggestions {
		d := levenshtein(strings.ToLower(word), strings.ToLower(s))
		switch {
		case best < 0 || d < best:
			best, out = d, []string{s}
		case d == best && !slices.Contains(out, s):
			out = append(out, s)
		}
	}
	return out
}

// registerCompletions gives every flag whose values cdnctl knows a
// completion function, by flag name, over the whole tree: environment
// and CDN names from the config, sort orders, prewarm's --what, PoP
// names from the running local CDN (else serve.pops).
func registerCompletions(root *cobra.Command, f *Factory) {
	fixed := func(vals ...string) cobra.CompletionFunc {
		return cobra.FixedCompletions(vals, cobra.ShellCompDirectiveNoFileComp)
	}
	fromConfig := func(list func(*Config) []string) cobra.CompletionFunc {
		return func(cmd *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			cfg, err := f.completionConfig()
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return list(cfg), cobra.ShellCompDirectiveNoFileComp
		}
	}
	envNames := fromConfig(func(cfg *Config) []string {
		return slices.Sorted(func(yield func(string) bool) {
			for k := range cfg.Environments {
				if !yield(k) {
					return
				}
			}
		})
	})
	cdnNames := fromConfig(func(cfg *Config) []string {
		var out []string
		for _, c := range cfg.CDNs {
			desc := c.noun()
			if c.Provider == providerLocal && c.AdminURL == "" {
				desc = "the local CDN of cdnctl serve"
			}
			out = append(out, c.Name+"\t"+desc)
		}
		if !slices.ContainsFunc(cfg.CDNs, func(c CDNConfig) bool { return c.Name == providerLocal }) {
			out = append(out, providerLocal+"\tthe local CDN of cdnctl serve")
		}
		return out
	})
	popNames := func(cmd *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		cfg, err := f.completionConfig()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		if st, err := f.localCDN(cmd.Context(), cfg); err == nil {
			for _, p := range st.Topology.PoPs {
				out = append(out, p.Name)
			}
		} else {
			for _, p := range cfg.Serve.PoPs {
				out = append(out, p.Name)
			}
			if cfg.Serve.Shield.Enabled {
				out = append(out, "shield")
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(fl *pflag.Flag) {
			var fn cobra.CompletionFunc
			switch {
			case fl.Name == "env":
				fn = envNames
			case fl.Name == "cdn" && c.Name() == "init":
				fn = fixed("local\tthe local CDN of cdnctl serve", "none\tno CDN", "cloudfront:\tcloudfront:DISTRIBUTION_ID",
					"cloudflare:\tcloudflare:ZONE_ID", "fastly:\tfastly:SERVICE_ID", "akamai\tAkamai Fast Purge")
			case fl.Name == "cdn" || fl.Name == "provider" || fl.Name == "cdns":
				fn = cdnNames
			case fl.Name == "sort" && c.Name() == "inspect":
				fn = fixed(inspectSorts...)
			case fl.Name == "what":
				fn = fixed(prewarm.AllFiles, prewarm.Assets, prewarm.EntryPoints)
			case (fl.Name == "pop" || fl.Name == "pops") && c.Name() != "serve" && fl.Value.Type() != "int":
				fn = popNames
			}
			if fn != nil {
				c.RegisterFlagCompletionFunc(fl.Name, fn)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// completionConfig loads the configuration for a completion: the
// PersistentPreRunE that reads CDNCTL_CONFIG does not run then.
func (f *Factory) completionConfig() (*Config, error) {
	if f.configPath == DefaultConfigFile {
		if v, ok := f.LookupEnv(envPrefix + "CONFIG"); ok && v != "" {
			f.configPath, f.configExplicit = v, true
		}
	}
	return f.Config()
}

// levenshtein is the edit distance of a and b, a swap of two neighbours
// counting as one edit (optimal string alignment): the usual typos.
func levenshtein(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// closest returns the candidate nearest to word, if it is close enough
// to be a typo (at most 2 edits, and less than half the word).
func closest(word string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		d := levenshtein(strings.ToLower(word), c)
		if d < bestD && d*2 < len(word) {
			best, bestD = c, d
		}
	}
	return best
}

// unknownKeySuggestion finds, for a YAML decoding error about an unknown
// key at line:col of data, the key of the same section it was probably
// meant to be ("concurrancy" → "concurrency"); "" when none is close.
func unknownKeySuggestion(data []byte, line int, key string) string {
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		return ""
	}
	var path string
	for _, doc := range file.Docs {
		paths := map[string]int{}
		keyLines(doc.Body, "", paths)
		for p := range paths {
			if (p == key || strings.HasSuffix(p, "."+key)) && paths[p] == line {
				path = p
			}
		}
	}
	if path == "" {
		return ""
	}
	parent := ""
	if i := strings.LastIndex(path, "."); i >= 0 {
		parent = path[:i]
	}
	t := configTypeAt(reflect.TypeOf(Config{}), parent)
	if t == nil {
		return ""
	}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" && t.Field(i).IsExported() {
			names = append(names, name)
		}
	}
	return closest(key, names)
}

// configTypeAt is the struct type of the section at a dotted path
// ("serve.cache", "cdns[0]"); nil when the path does not lead to one.
func configTypeAt(t reflect.Type, path string) reflect.Type {
	for path != "" {
		var part string
		part, path, _ = strings.Cut(path, ".")
		name, idx, _ := strings.Cut(part, "[")
		found := false
		for i := 0; i < t.NumField(); i++ {
			n, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			if n == name {
				t, found = t.Field(i).Type, true
				break
			}
		}
		if !found {
			return nil
		}
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if idx != "" {
			if t.Kind() != reflect.Slice {
				return nil
			}
			t = t.Elem()
			for t.Kind() == reflect.Pointer {
				t = t.Elem()
			}
		}
		if t.Kind() != reflect.Struct {
			return nil
		}
	}
	return t
}

// suggestKey is unknownKeySuggestion for a decoding error of data.
func suggestKey(data []byte, err error) string {
	var ye yamlError
	if !errors.As(err, &ye) || ye.GetToken() == nil || !strings.Contains(ye.GetMessage(), "unknown field") {
		return ""
	}
	tk := ye.GetToken()
	return unknownKeySuggestion(data, tk.Position.Line, tk.Value)
}

// suggestFlag adds the nearest flag of cmd to an "unknown flag: --x"
// error ("--dryrun": did you mean --dry-run?).
func suggestFlag(cmd *cobra.Command, err error) error {
	name, ok := strings.CutPrefix(err.Error(), "unknown flag: --")
	if !ok || name == "" {
		return err
	}
	var names []string
	visit := func(fl *pflag.Flag) {
		if !fl.Hidden {
			names = append(names, fl.Name)
		}
	}
	cmd.Flags().VisitAll(visit)
	cmd.InheritedFlags().VisitAll(visit)
	if s := closest(name, names); s != "" {
		return fmt.Errorf("%w: did you mean --%s?", err, s)
	}
	// A word of the name: --cdns for --cdn, --purge-by for --purge.
	for _, n := range names {
		if strings.HasPrefix(n, name) || strings.HasPrefix(name, n) && len(n) > 2 {
			return fmt.Errorf("%w: did you mean --%s?", err, n)
		}
	}
	return err
}

var unknownFieldRe = regexp.MustCompile(`unknown field "([^"]+)"`)

// suggestField is the field of the section struct dst points to that the
// unknown key of err was probably meant to be ("" when none is close).
func suggestField(dst any, err error) string {
	m := unknownFieldRe.FindStringSubmatch(err.Error())
	if m == nil {
		return ""
	}
	t := reflect.TypeOf(dst)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return ""
	}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" && t.Field(i).IsExported() {
			names = append(names, name)
		}
	}
	return closest(m[1], names)
}
