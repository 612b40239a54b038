package commands

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// writeJSON writes v as indented JSON followed by a newline. Field order
// follows the struct definitions, so the output is stable across runs.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// count says n things in words: "1 URL", "2 URLs", "0 URLs".
func count(n int, one, many string) string {
	return fmt.Sprintf("%d %s", n, plural(n, one, many))
}

// table prints rows aligned in columns with a header on a terminal, and as
// tab-separated values when piped, with the header as the first row (as
// kubectl does) unless --no-headers, so scripts can cut and awk it and
// people can read which column is which (docs/cli.md#output).
type table struct {
	tty    bool
	header []string
	rows   [][]string
	// pipedHeader prints the header as the first TSV row too.
	pipedHeader bool
}

func newTable(ios *IOStreams, header ...string) *table {
	t := &table{tty: ios.IsStdoutTTY(), header: header, pipedHeader: !ios.noHeaders}
	if ios.noHeaders {
		t.header = nil
	}
	return t
}

func (t *table) Row(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) Render(w io.Writer) error {
	if !t.tty {
		if t.pipedHeader && len(t.header) > 0 {
			if _, err := fmt.Fprintln(w, strings.Join(t.header, "\t")); err != nil {
				return err
			}
		}
		for _, r := range t.rows {
			if _, err := fmt.Fprintln(w, strings.Join(r, "\t")); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(t.header) > 0 {
		fmt.Fprintln(tw, strings.Join(t.header, "\t"))
	}
	for _, r := range t.rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}
