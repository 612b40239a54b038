package commands

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/spf13/cobra"
)

// configValue is one key of the effective configuration and where its
// value comes from.
type configValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	// Source is "default", "env CDNCTL_…", "FILE:LINE" or, with --env,
	// "environment NAME (FILE:LINE)".
	Source string `json:"source"`
}

func newCmdConfig(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show the configuration cdnctl uses",
		Example: `  cdnctl config view
  cdnctl config view serve --env staging`,
		Args: unknownCommandArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	var env string
	view := &cobra.Command{
		Use:   "view [KEY-PREFIX]",
		Short: "Print the effective configuration: every key, its value and where it comes from",
		Long: `View prints every key of the configuration the other commands use, after
the file (cdnctl.yaml, --config or CDNCTL_CONFIG), the CDNCTL_* environment
variables and the defaults are combined, with where each value comes from:
the file and line, the environment variable, or the default. With --env,
the environment's sections apply too. A KEY-PREFIX (serve, cdns[0],
deploy.prewarm) shows only those keys.

Keys of list items (cdns[0], serve.pops[1]) are shown when set. Flags of a
command override these values for that command only. Secrets are never
printed: serve.token shows as (set).`,
		Example: `  cdnctl config view
  cdnctl config view serve.cache
  cdnctl config view --env staging origin
  cdnctl config view --json | jq -r '.[] | select(.source != "default") | .key'`,
		Args: wrapArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			prefix := ""
			if len(args) == 1 {
				prefix = args[0]
			}
			if !cmd.Flags().Changed("env") {
				if v, ok := f.LookupEnv(envPrefix + "ENV"); ok {
					env = v
				}
			}
			return runConfigView(f, env, prefix)
		},
	}
	view.Flags().StringVar(&env, "env", "", "apply the environments.NAME section of cdnctl.yaml (env CDNCTL_ENV)")
	cmd.AddCommand(view)
	return cmd
}

func runConfigView(f *Factory, env, prefix string) error {
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	lines := map[string]int{}
	if cfg.Path != "" {
		data, err := os.ReadFile(cfg.Path)
		if err != nil {
			return fmt.Errorf("config view: %w", err)
		}
		if file, err := parser.ParseBytes(data, 0); err == nil {
			for _, doc := range file.Docs {
				keyLines(doc.Body, "", lines)
			}
		}
	}
	if env != "" {
		if cfg, err = cfg.WithEnvironment(env, f.LookupEnv); err != nil {
			return &UsageError{Err: err}
		}
	}
	var vals []configValue
	walkConfig(reflect.ValueOf(cfg).Elem(), "", envPrefix, func(key, envName string, v reflect.Value) {
		if prefix != "" && key != prefix && !strings.HasPrefix(key, prefix+".") && !strings.HasPrefix(key, prefix+"[") {
			return
		}
		if strings.Contains(key, "[") && v.IsZero() {
			if _, inFile := lines[key]; !inFile {
				return // a list item's unset key (cdns[0].zone_id of a local CDN)
			}
		}
		cv := configValue{Key: key, Value: formatConfigValue(v), Source: "default"}
		if key == "serve.token" && cv.Value != "" {
			cv.Value = "(set)"
		}
		if l, ok := lines[key]; ok {
			cv.Source = cfg.Path + ":" + strconv.Itoa(l)
		}
		if env != "" {
			if l, ok := lines["environments."+env+"."+key]; ok {
				cv.Source = fmt.Sprintf("environment %s (%s:%d)", env, cfg.Path, l)
			}
		}
		if envName != "" {
			if _, ok := f.LookupEnv(envName); ok {
				cv.Source = "env " + envName
			}
		}
		vals = append(vals, cv)
	})
	if prefix != "" && len(vals) == 0 {
		return usageErrorf("config view: no key %s (docs/config.md lists them)", prefix)
	}
	if f.JSON {
		return writeJSON(f.IO.Out, vals)
	}
	if cfg.Path == "" {
		fmt.Fprintf(f.IO.ErrOut, "No config file (%s not found): defaults and environment.\n", DefaultConfigFile)
	} else {
		fmt.Fprintf(f.IO.ErrOut, "Config file: %s\n", cfg.Path)
	}
	tb := newTable(f.IO, "KEY", "VALUE", "SOURCE")
	for _, v := range vals {
		tb.Row(v.Key, v.Value, v.Source)
	}
	return tb.Render(f.IO.Out)
}

// keyLines records the line of every key of a YAML node under its dotted
// path (list items as [i]).
func keyLines(n ast.Node, path string, out map[string]int) {
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch n := n.(type) {
	case *ast.MappingNode:
		for _, mv := range n.Values {
			keyLines(mv, path, out)
		}
	case *ast.MappingValueNode:
		tk := n.Key.GetToken()
		if tk == nil {
			return
		}
		p := join(tk.Value)
		out[p] = tk.Position.Line
		keyLines(n.Value, p, out)
	case *ast.SequenceNode:
		for i, v := range n.Values {
			p := fmt.Sprintf("%s[%d]", path, i)
			if tk := v.GetToken(); tk != nil {
				out[p] = tk.Position.Line
			}
			keyLines(v, p, out)
		}
	case *ast.TagNode:
		keyLines(n.Value, path, out)
	case *ast.AnchorNode:
		keyLines(n.Value, path, out)
	}
}

// walkConfig calls fn for every leaf of v (a section struct) with its
// dotted key and the CDNCTL_* variable that can set it ("" for keys only
// the file sets: lists of sections, maps).
func walkConfig(v reflect.Value, path, env string, fn func(key, envName string, v reflect.Value)) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !sf.IsExported() {
			continue
		}
		if path == "" && name == "environments" {
			continue // shown applied, with --env
		}
		key := name
		if path != "" {
			key = path + "." + name
		}
		envName := ""
		if env != "" {
			envName = env + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		}
		fv := v.Field(i)
		switch {
		case fv.Kind() == reflect.Struct && fv.Type() != durationType:
			next := ""
			if envName != "" {
				next = envName + "_"
			}
			walkConfig(fv, key, next, fn)
		case fv.Kind() == reflect.Slice && elemStruct(fv.Type()):
			for j := 0; j < fv.Len(); j++ {
				walkConfig(reflect.Indirect(fv.Index(j)), fmt.Sprintf("%s[%d]", key, j), "", fn)
			}
		case fv.Kind() == reflect.Map:
			fn(key, "", fv)
		case fv.Kind() == reflect.Pointer && fv.Type().Elem().Kind() == reflect.Struct:
			if !fv.IsNil() {
				walkConfig(fv.Elem(), key, "", fn)
			}
		default:
			fn(key, envName, fv)
		}
	}
}

func elemStruct(t reflect.Type) bool {
	e := t.Elem()
	if e.Kind() == reflect.Pointer {
		e = e.Elem()
	}
	return e.Kind() == reflect.Struct
}

// formatConfigValue prints a value as it would be written in the file.
func formatConfigValue(v reflect.Value) string {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return ""
		}
		v = v.Elem()
	}
	if v.Type() == durationType {
		return time.Duration(v.Int()).String()
	}
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Slice:
		if v.Len() == 0 {
			return "[]"
		}
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = formatConfigValue(v.Index(i))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case reflect.Map:
		if v.Len() == 0 {
			return "{}"
		}
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		parts := make([]string, len(keys))
		for i, k := range keys {
			b, _ := json.Marshal(v.MapIndex(k).Interface())
			parts[i] = fmt.Sprintf("%v: %s", k, b)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v.Interface())
}
