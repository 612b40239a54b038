package commands

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// This file holds the flag conventions of docs/cli.md that need code: list
// flags (repeatable and comma-separated, one parser) and renamed flags
// (the old name kept as a hidden alias, so scripts keep working).

// listValue is a list flag: each use adds to the list, and each value is
// split on commas outside braces and brackets, so "--exclude a,b" and
// "--exclude a --exclude b" are the same list and the glob "*.{png,jpg}" is
// one item. The first use replaces the default.
type listValue struct {
	dst     *[]string
	changed bool
}

func (v *listValue) Set(s string) error {
	items := splitList(s)
	if !v.changed {
		*v.dst = items
		v.changed = true
		return nil
	}
	*v.dst = append(*v.dst, items...)
	return nil
}

func (v *listValue) Type() string { return "stringSlice" } // shown as "strings" in help

func (v *listValue) String() string {
	if len(*v.dst) == 0 {
		return "[]"
	}
	return "[" + strings.Join(*v.dst, ",") + "]"
}

// Append, Replace and GetSlice make it a pflag.SliceValue (completion and
// the docs generator treat it as a list).
func (v *listValue) Append(s string) error { *v.dst = append(*v.dst, s); return nil }
func (v *listValue) Replace(s []string) error {
	*v.dst = append([]string(nil), s...)
	return nil
}
func (v *listValue) GetSlice() []string { return *v.dst }

// listVar defines a list flag (see listValue) with default def.
func listVar(fs *pflag.FlagSet, p *[]string, name, short string, def []string, usage string) {
	*p = def
	fs.VarP(&listValue{dst: p}, name, short, usage)
}

// splitList splits a list flag's value on commas that are not inside
// {…} or […] (glob alternatives and classes), trimming spaces and dropping
// empty items.
func splitList(s string) []string {
	var items []string
	depth, start := 0, 0
	add := func(item string) {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // an escaped character is never a separator
		case '{', '[':
			depth++
		case '}', ']':
			if depth > 0 {
				depth--
			}
		case ',':
			if depth == 0 {
				add(s[start:i])
				start = i + 1
			}
		}
	}
	add(s[start:])
	return items
}

// aliasValue is the value of a renamed flag's old name: setting it sets
// the new flag (which is then Changed, as if the new name was used) and
// notes the new name once on stderr.
type aliasValue struct {
	fs        *pflag.FlagSet
	old, name string
	typ       string
	errOut    func() io.Writer
	noted     bool
}

func (a *aliasValue) Set(s string) error {
	if !a.noted {
		a.noted = true
		fmt.Fprintf(a.errOut(), "cdnctl: --%s is now --%s (the old name still works)\n", a.old, a.name)
	}
	return a.fs.Set(a.name, s)
}

func (a *aliasValue) Type() string { return a.typ }

func (a *aliasValue) String() string {
	if f := a.fs.Lookup(a.name); f != nil {
		return f.Value.String()
	}
	return ""
}

// aliasFlag registers old as a hidden alias of cmd's flag name, defined
// before it. The command's stderr gets a one-line note that the flag was
// renamed. It panics if name is not defined: a programming error caught by
// every test that builds the command tree.
func aliasFlag(cmd *cobra.Command, old, name string) {
	fs := cmd.Flags()
	f := fs.Lookup(name)
	if f == nil {
		panic("aliasFlag: no flag --" + name)
	}
	a := fs.VarPF(&aliasValue{fs: fs, old: old, name: name, typ: f.Value.Type(), errOut: cmd.ErrOrStderr}, old, "", "old name of --"+name)
	a.NoOptDefVal = f.NoOptDefVal
	a.Hidden = true
}
