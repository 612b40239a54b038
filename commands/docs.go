package commands

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// WriteReference renders the CLI reference (one markdown page per command)
// into dir. docs/reference is produced by it; TestReferenceIsFresh fails when
// the committed copy is stale (`go test ./commands -run Reference -update`).
func WriteReference(dir string) error {
	ios, _, _, _ := TestStreams()
	root := NewRootCmd(&Factory{IO: ios, LookupEnv: func(string) (string, bool) { return "", false }})
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("reference: %w", err)
	}
	link := func(name string) string { return name }
	return walkCommands(root, func(c *cobra.Command) error {
		c.DisableAutoGenTag = true
		name := strings.ReplaceAll(c.CommandPath(), " ", "_") + ".md"
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("reference: %w", err)
		}
		if err := doc.GenMarkdownCustom(c, f, link); err != nil {
			f.Close()
			return fmt.Errorf("reference %s: %w", name, err)
		}
		return f.Close()
	})
}

func walkCommands(c *cobra.Command, fn func(*cobra.Command) error) error {
	if !c.IsAvailableCommand() && c.HasParent() {
		return nil
	}
	if err := fn(c); err != nil {
		return err
	}
	for _, sub := range c.Commands() {
		if err := walkCommands(sub, fn); err != nil {
			return err
		}
	}
	return nil
}
