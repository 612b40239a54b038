package commands

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestSplitList(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"a", []string{"a"}},
		{"a,b", []string{"a", "b"}},
		{" a , b ,", []string{"a", "b"}},
		{"*.{png,jpg},drafts/", []string{"*.{png,jpg}", "drafts/"}},
		{"[a,b]*.css,x", []string{"[a,b]*.css", "x"}},
		{`a\,b,c`, []string{`a\,b`, "c"}},
		{"", nil},
	}
	for _, tt := range tests {
		if got := splitList(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("splitList(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// listCmd is a command with one list flag and one renamed flag, for the
// tests of the two conventions.
func listCmd(list *[]string, dry *bool) *cobra.Command {
	cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
	listVar(cmd.Flags(), list, "exclude", "", []string{"default"}, "globs")
	cmd.Flags().BoolVarP(dry, "dry-run", "n", false, "preview")
	aliasFlag(cmd, "plan", "dry-run")
	return cmd
}

func TestListFlagRepeatableAndCommaSeparated(t *testing.T) {
	for _, args := range [][]string{
		{"--exclude", "*.map,*.{png,jpg}", "--exclude", "drafts/"},
		{"--exclude", "*.map", "--exclude", "*.{png,jpg}", "--exclude=drafts/"},
		{"--exclude", "*.map,*.{png,jpg},drafts/"},
	} {
		var list []string
		var dry bool
		cmd := listCmd(&list, &dry)
		cmd.SetArgs(args)
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if want := []string{"*.map", "*.{png,jpg}", "drafts/"}; !slices.Equal(list, want) {
			t.Errorf("%v: list = %q; want %q (the default replaced)", args, list, want)
		}
	}
	var list []string
	var dry bool
	cmd := listCmd(&list, &dry)
	cmd.SetArgs(nil)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(list, []string{"default"}) {
		t.Errorf("no flag: list = %q; want the default", list)
	}
}

func TestAliasFlag(t *testing.T) {
	var list []string
	var dry bool
	cmd := listCmd(&list, &dry)
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs([]string{"--plan"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !dry {
		t.Errorf("--plan did not set --dry-run")
	}
	if !cmd.Flags().Changed("dry-run") {
		t.Errorf("--plan: Changed(dry-run) = false; want true (commands test the new name)")
	}
	if got := errOut.String(); !strings.Contains(got, "--plan is now --dry-run") {
		t.Errorf("stderr = %q; want the note naming the new flag", got)
	}
	if out.Len() != 0 {
		t.Errorf("stdout = %q; want nothing (scripts parse it)", out.String())
	}
	if !cmd.Flags().Lookup("plan").Hidden {
		t.Errorf("--plan is shown in help; want it hidden")
	}
}
