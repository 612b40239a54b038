package commands

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// glossaryRow is one flag of docs/cli.md's glossary.
type glossaryRow struct {
	short    string
	meaning  string
	commands []string // command names; "global" for the root's flags
}

// renamedRow is one row of docs/cli.md's table of renamed flags.
type renamedRow struct {
	former, now string
	commands    []string
}

// readCLIDoc reads the two tables of docs/cli.md the conventions test
// holds the command tree to.
func readCLIDoc(t *testing.T) (map[string]glossaryRow, []renamedRow) {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "docs", "cli.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gloss := map[string]glossaryRow{}
	var renamed []renamedRow
	table := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "<!-- glossary"):
			table = "glossary"
			continue
		case strings.HasPrefix(line, "<!-- renamed"):
			table = "renamed"
			continue
		case table != "" && !strings.HasPrefix(line, "|"):
			table = "" // the table ended
			continue
		case table == "":
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.Trim(strings.TrimSpace(cells[i]), "`")
		}
		if !strings.HasPrefix(cells[0], "--") || strings.HasPrefix(cells[0], "---") {
			continue // the header and the separator
		}
		list := func(s string) []string {
			var l []string
			for _, c := range strings.Split(s, ",") {
				l = append(l, strings.TrimSpace(c))
			}
			return l
		}
		switch table {
		case "glossary":
			if len(cells) != 4 {
				t.Fatalf("docs/cli.md glossary row %q: want 4 cells", line)
			}
			name := strings.TrimPrefix(cells[0], "--")
			if _, dup := gloss[name]; dup {
				t.Errorf("docs/cli.md: --%s has two rows: one name, one meaning", name)
			}
			gloss[name] = glossaryRow{short: strings.TrimPrefix(cells[1], "-"), meaning: cells[2], commands: list(cells[3])}
		case "renamed":
			if len(cells) != 4 {
				t.Fatalf("docs/cli.md renamed row %q: want 4 cells", line)
			}
			renamed = append(renamed, renamedRow{
				former: strings.TrimPrefix(cells[0], "--"), now: strings.TrimPrefix(cells[1], "--"),
				commands: list(cells[2]),
			})
		}
	}
	if len(gloss) < 50 || len(renamed) == 0 {
		t.Fatalf("docs/cli.md: read %d glossary rows and %d renamed rows; the tables moved?", len(gloss), len(renamed))
	}
	return gloss, renamed
}

func testRoot() *cobra.Command {
	ios, _, _, _ := TestStreams()
	return NewRootCmd(&Factory{IO: ios, LookupEnv: noEnv})
}

// commandsOf lists the commands a user can run or see in help, but the
// generated completion commands (cobra's own).
func commandsOf(root *cobra.Command) []*cobra.Command {
	var all []*cobra.Command
	_ = walkCommands(root, func(c *cobra.Command) error {
		if c.HasParent() && (c.Name() == "completion" || c.Parent().Name() == "completion") {
			return nil
		}
		all = append(all, c)
		return nil
	})
	return all
}

// TestFlagGlossary holds every command to docs/cli.md: every visible flag
// is in the glossary with its short form and the command listed; every
// glossary row names commands that have it; no command shows a former
// name, and each former name still works there as a hidden alias.
func TestFlagGlossary(t *testing.T) {
	gloss, renamed := readCLIDoc(t)
	root := testRoot()
	seen := map[string][]string{} // flag -> commands having it
	for _, c := range commandsOf(root) {
		name := c.Name()
		if !c.HasParent() {
			name = "global"
		}
		fs := c.LocalNonPersistentFlags()
		if !c.HasParent() {
			fs = c.PersistentFlags()
		}
		fs.VisitAll(func(fl *pflag.Flag) {
			if fl.Hidden {
				return
			}
			row, ok := gloss[fl.Name]
			if !ok {
				t.Errorf("cdnctl %s --%s is not in docs/cli.md's glossary: add it with its one meaning, or use the glossary's name for that meaning", c.Name(), fl.Name)
				return
			}
			if fl.Shorthand != row.short {
				t.Errorf("cdnctl %s --%s: short flag %q; the glossary says %q", c.Name(), fl.Name, fl.Shorthand, row.short)
			}
			seen[fl.Name] = append(seen[fl.Name], name)
			if !slices.Contains(row.commands, name) {
				t.Errorf("cdnctl %s has --%s, but docs/cli.md's glossary row lists only %v", c.Name(), fl.Name, row.commands)
			}
		})
	}
	seen["help"] = []string{"global"} // cobra adds it to every command
	for name, row := range gloss {
		for _, c := range row.commands {
			if !slices.Contains(seen[name], c) {
				t.Errorf("docs/cli.md's glossary lists --%s for %s, which has no such flag", name, c)
			}
		}
	}
	for _, r := range renamed {
		if _, ok := gloss[r.now]; !ok {
			t.Errorf("renamed --%s: the new name --%s is not in the glossary", r.former, r.now)
		}
		for _, cn := range r.commands {
			c, _, err := root.Find([]string{cn})
			if err != nil || c == root {
				t.Errorf("renamed --%s: no command %s", r.former, cn)
				continue
			}
			old := c.Flags().Lookup(r.former)
			switch {
			case old == nil:
				t.Errorf("cdnctl %s: the former name --%s is gone: keep it as a hidden alias of --%s (scripts use it)", cn, r.former, r.now)
			case !old.Hidden:
				t.Errorf("cdnctl %s shows --%s, renamed --%s: hide it", cn, r.former, r.now)
			default:
				if _, ok := old.Value.(*aliasValue); !ok {
					t.Errorf("cdnctl %s --%s is not an alias of --%s", cn, r.former, r.now)
				}
			}
		}
	}
}

// TestExamplesParse: every command has examples, and each `cdnctl …` line
// of them names a real command with flags and arguments it accepts.
func TestExamplesParse(t *testing.T) {
	for _, c := range commandsOf(testRoot()) {
		if !c.HasParent() || !c.Runnable() || c.HasAvailableSubCommands() {
			continue // the root and groups (cdnctl config) only list commands
		}
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("cdnctl %s has no Example", c.Name())
			continue
		}
		n := 0
		for _, line := range strings.Split(c.Example, "\n") {
			for _, words := range cdnctlInvocations(line) {
				n++
				root := testRoot() // fresh flags for each example
				cmd, args, err := root.Find(words)
				if err != nil {
					t.Errorf("example %q: %v", line, err)
					continue
				}
				if err := cmd.ParseFlags(args); err != nil {
					t.Errorf("example %q: %v", line, err)
					continue
				}
				if err := cmd.ValidateArgs(cmd.Flags().Args()); err != nil {
					t.Errorf("example %q: %v", line, err)
				}
			}
		}
		if n == 0 {
			t.Errorf("cdnctl %s: no example line runs cdnctl", c.Name())
		}
	}
}

// cdnctlInvocations returns the arguments of each `cdnctl …` command of a
// shell line (split at |, &&, ;, & and redirections), quotes removed.
func cdnctlInvocations(line string) [][]string {
	var cmds [][]string
	var words []string
	var w strings.Builder
	inWord, quote, dropNext := false, byte(0), false
	flush := func() {
		if !inWord {
			return
		}
		if dropNext { // a redirection's target
			dropNext = false
		} else {
			words = append(words, w.String())
		}
		w.Reset()
		inWord = false
	}
	end := func() {
		flush()
		if len(words) > 0 && words[0] == "cdnctl" {
			cmds = append(cmds, words[1:])
		}
		words = nil
	}
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case quote != 0:
			if ch == quote {
				quote = 0
			} else {
				w.WriteByte(ch)
			}
		case ch == '\'' || ch == '"':
			quote, inWord = ch, true
		case ch == '#' && !inWord:
			end()
			return cmds
		case ch == ' ' || ch == '\t':
			flush()
		case ch == '|' || ch == ';' || ch == '&':
			end()
		case ch == '>' || ch == '<':
			flush()
			dropNext = true
		default:
			w.WriteByte(ch)
			inWord = true
		}
	}
	end()
	return cmds
}

func TestCdnctlInvocations(t *testing.T) {
	tests := []struct {
		line string
		want [][]string
	}{
		{"  cdnctl deploy --dry-run", [][]string{{"deploy", "--dry-run"}}},
		{"cdnctl serve --json --free-ports > serve.json &", [][]string{{"serve", "--json", "--free-ports"}}},
		{`git diff | sed 's|^p||' | cdnctl purge --file - --dry-run`, [][]string{{"purge", "--file", "-", "--dry-run"}}},
		{`cdnctl serve --https && cdnctl trust`, [][]string{{"serve", "--https"}, {"trust"}}},
		{`cdnctl purge -H "CF-Device-Type: mobile" /  # comment`, [][]string{{"purge", "-H", "CF-Device-Type: mobile", "/"}}},
		{`curl -si http://x/`, nil},
	}
	for _, tt := range tests {
		got := cdnctlInvocations(tt.line)
		if len(got) != len(tt.want) {
			t.Errorf("cdnctlInvocations(%q) = %q; want %q", tt.line, got, tt.want)
			continue
		}
		for i := range got {
			if !slices.Equal(got[i], tt.want[i]) {
				t.Errorf("cdnctlInvocations(%q) = %q; want %q", tt.line, got, tt.want)
			}
		}
	}
}
