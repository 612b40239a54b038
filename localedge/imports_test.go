package localedge_test

import (
	"go/build"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoProvidersImports checks the import graph: the local edge (and the
// folder origin it serves) is the target of the providers layer, never its
// client. They share the state format through package deploystate.
func TestNoProvidersImports(t *testing.T) {
	deps := goList(t, "-deps", "-test", "-f", "{{.ImportPath}}", "github.com/cdnctl/cdnctl/localedge/...")
	var bad []string
	for _, d := range deps {
		pkg, _, _ := strings.Cut(d, " ") // a test variant is "p [p.test]"
		for _, forbidden := range []string{"github.com/cdnctl/cdnctl/providers", "github.com/cdnctl/cdnctl/commands", "github.com/cdnctl/cdnctl/sample"} {
			if pkg == forbidden || strings.HasPrefix(pkg, forbidden+"/") {
				bad = append(bad, pkg)
			}
		}
	}
	if len(bad) > 0 {
		t.Errorf("localedge depends on %s; want no dependency on providers, commands or sample (share types through deploystate)", strings.Join(bad, ", "))
	}
	if !contains(deps, "github.com/cdnctl/cdnctl/deploystate") {
		t.Errorf("go list -deps localedge/... = %d packages without deploystate; want the folder origin to read the index through it", len(deps))
	}
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

// goList runs `go list` with args and returns the listed import paths.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(build.Default.GOROOT, "bin", "go")
	}
	out, err := exec.Command(goBin, append([]string{"list"}, args...)...).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}
