package commands

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// versionInfo is what `cdnctl version` prints.
type versionInfo struct {
	Version   string `json:"version"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

// resolveVersion returns the version stamped at release, else the module
// version from the build info (`go install …@v1.2.3`), else "dev".
func resolveVersion(stamped string) string {
	if stamped != "" {
		return stamped
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func newCmdVersion(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the cdnctl version",
		Example: `  cdnctl version
  cdnctl version --json | jq -r .version`,
		Args: wrapArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := versionInfo{
				Version:   resolveVersion(f.Build.Version),
				GoVersion: runtime.Version(),
				Platform:  runtime.GOOS + "/" + runtime.GOARCH,
			}
			if f.JSON {
				return writeJSON(f.IO.Out, info)
			}
			_, err := fmt.Fprintf(f.IO.Out, "cdnctl %s (%s, %s)\n", info.Version, info.GoVersion, info.Platform)
			return err
		},
	}
}
