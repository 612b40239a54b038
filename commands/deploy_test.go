package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/localedge/edgetest"
	"github.com/cdnctl/cdnctl/localedge/origin"
	"github.com/cdnctl/cdnctl/providers/deploy"
	"github.com/cdnctl/cdnctl/sample"
)

// deployEnv is a sample site, a folder origin served by a local topology,
// and a cdnctl.yaml deploying one to the other.
type deployEnv struct {
	dir, site, originDir, config string
	edge                         *edgetest.Env
	env                          map[string]string
}

func newDeployEnv(t *testing.T, mod func(*localedge.TopologyConfig), extra string) *deployEnv {
	t.Helper()
	dir := t.TempDir()
	e := &deployEnv{dir: dir, site: filepath.Join(dir, "public"), originDir: filepath.Join(dir, "origin"), config: filepath.Join(dir, "cdnctl.yaml")}
	if err := os.CopyFS(e.site, sample.Site()); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(e.originDir, 0o755)
	h, err := origin.New(e.originDir, origin.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	e.edge = edgetest.Start(t, func(c *localedge.TopologyConfig) {
		c.Origin.Handler = h
		if mod != nil {
			mod(c)
		}
	})
	cfg := fmt.Sprintf(`origin:
  target: file://%s
deploy:
  site: %s
  out: %s
fingerprint:
  rules:
    - match: ["*.html"]
      headers: {CDN-Cache-Control: "max-age=3600"}
cdns:
  - name: dev
    provider: local
    admin_url: %s
%s`, e.originDir, e.site, filepath.Join(dir, "build"), e.edge.AdminURL, extra)
	if err := os.WriteFile(e.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	e.env = map[string]string{AdminTokenEnv: e.edge.Token}
	return e
}

func (e *deployEnv) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runPushCLI(t, "", e.env, append([]string{"--config", e.config}, args...)...)
}

func (e *deployEnv) editAbout(t *testing.T, text string) {
	t.Helper()
	p := filepath.Join(e.site, "about", "index.html")
	b, _ := os.ReadFile(p)
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), "<h1>About this site</h1>", "<h1>"+text+"</h1>", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func decodeReport(t *testing.T, out string) deploy.Report {
	t.Helper()
	var r deploy.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("--json output is not a report: %v\n%s", err, out)
	}
	return r
}

func TestDeployCommand(t *testing.T) {
	e := newDeployEnv(t, nil, "")

	// --plan --json: the plan, nothing changed.
	code, out, errOut := e.run(t, "deploy", "--plan", "--json")
	if code != 0 {
		t.Fatalf("deploy --plan: exit %d\n%s", code, errOut)
	}
	plan := decodeReport(t, out)
	if plan.Status != deploy.OutcomePlanned || plan.Version != deploy.SchemaVersion || len(plan.Steps) != len(deploy.StepNames()) || !plan.Changes {
		t.Errorf("plan = %s %d steps changes %v", plan.Status, len(plan.Steps), plan.Changes)
	}
	if ents, _ := os.ReadDir(e.originDir); len(ents) != 0 {
		t.Errorf("--plan wrote %d entries into the origin", len(ents))
	}

	// Deploy, not on a terminal: no prompt, timestamped progress lines.
	code, out, errOut = e.run(t, "deploy")
	if code != 0 {
		t.Fatalf("deploy: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "Deployed ") || !strings.Contains(out, "PREWARM") {
		t.Errorf("summary:\n%s", out)
	}
	if !strings.Contains(errOut, "deploy: upload-entry-points: done") || !strings.Contains(errOut, "Z deploy: verify: started") {
		t.Errorf("progress lines:\n%s", errOut)
	}

	// One page changes: only it (and the manifest) are purged; in GitHub
	// Actions, annotations and the step summary.
	e.editAbout(t, "About, version two")
	summary := filepath.Join(e.dir, "summary.md")
	e.env["GITHUB_ACTIONS"], e.env["GITHUB_STEP_SUMMARY"] = "true", summary
	code, out, errOut = e.run(t, "deploy", "--json")
	if code != 0 {
		t.Fatalf("second deploy: exit %d\n%s", code, errOut)
	}
	rep := decodeReport(t, out)
	if p := rep.Step(deploy.StepPurge).Purges[0]; !slices.Equal(p.Keys, []string{"about/index.html", "cdnctl-manifest.json"}) || p.Record.Status != "completed" {
		t.Errorf("purge = %+v", p)
	}
	if !strings.Contains(errOut, "::notice title=cdnctl deploy::Deployed "+rep.ID) {
		t.Errorf("no GitHub notice in stderr:\n%s", errOut)
	}
	md, err := os.ReadFile(summary)
	if err != nil || !strings.Contains(string(md), "### ✅ cdnctl deploy "+rep.ID) || !strings.Contains(string(md), "| purge | done |") {
		t.Errorf("step summary (%v):\n%s", err, md)
	}
	for _, pop := range []string{"pop1", "pop2", "pop3"} {
		if r := e.edge.Get(t, pop, "/about/"); !strings.Contains(r.Body, "version two") {
			t.Errorf("%s serves the old page", pop)
		}
	}

	// Roll back to the first deploy.
	code, out, errOut = e.run(t, "deploy", "--rollback", "--yes")
	if code != 0 || !strings.Contains(out, "Rolled back to ") {
		t.Fatalf("rollback: exit %d\n%s\n%s", code, out, errOut)
	}
	if r := e.edge.Get(t, "pop2", "/about/"); !strings.Contains(r.Body, "About this site") {
		t.Errorf("after the rollback pop2 serves %q", r.Body)
	}
}

func TestDeployExitCodes(t *testing.T) {
	t.Run("verify fails after switching: 5", func(t *testing.T) {
		e := newDeployEnv(t, func(c *localedge.TopologyConfig) { c.PoPs[2].IgnorePurges = true }, "")
		if code, _, errOut := e.run(t, "deploy"); code != 0 {
			t.Fatalf("first deploy: exit %d\n%s", code, errOut)
		}
		e.editAbout(t, "About, version two")
		e.env["GITHUB_ACTIONS"] = "true"
		code, out, errOut := e.run(t, "deploy")
		if code != ExitDeploySwitched {
			t.Fatalf("exit %d; want %d\n%s\n%s", code, ExitDeploySwitched, out, errOut)
		}
		if !strings.Contains(out, "STALE at dev: pop3") || !strings.Contains(out, "Cache-Status: ") || !strings.Contains(out, "exit 5") {
			t.Errorf("summary does not name the stale PoP, its headers and the exit code:\n%s", out)
		}
		if !strings.Contains(errOut, "::error title=cdnctl deploy::") || !strings.Contains(errOut, "stale content: pop3") {
			t.Errorf("no GitHub error annotations:\n%s", errOut)
		}
	})
	t.Run("an upload fails before the entry points: 4, then a rerun finishes", func(t *testing.T) {
		e := newDeployEnv(t, nil, "")
		// A folder where robots.txt (an un-fingerprinted file, uploaded
		// before the entry points) must go makes its upload fail.
		blocker := filepath.Join(e.originDir, "robots.txt", "x")
		os.MkdirAll(blocker, 0o755)
		code, out, errOut := e.run(t, "deploy")
		if code != ExitDeployPartial {
			t.Fatalf("exit %d; want %d\n%s\n%s", code, ExitDeployPartial, out, errOut)
		}
		if _, err := os.Stat(filepath.Join(e.originDir, "index.html")); err == nil {
			t.Error("index.html was uploaded although an earlier group failed")
		}
		os.RemoveAll(filepath.Join(e.originDir, "robots.txt"))
		if code, _, errOut := e.run(t, "deploy"); code != 0 {
			t.Fatalf("rerun: exit %d\n%s", code, errOut)
		}
		if r := e.edge.Get(t, "pop1", "/"); r.Status != 200 || !strings.Contains(r.Body, "Example Site") {
			t.Errorf("after the rerun: %d %q", r.Status, r.Body)
		}
	})
	t.Run("the audit fails: 3, nothing uploaded", func(t *testing.T) {
		e := newDeployEnv(t, nil, "")
		// A page names an image the rules rename, and a script names it
		// in JSON inside a string ("\\\/" is "/" once both are decoded),
		// which they do not read.
		for name, body := range map[string]string{
			"audit/index.html": `<img src="/audit/logo.png"><script src="/audit/data.js"></script>`,
			"audit/logo.png":   "png",
			"audit/data.js":    "const data = JSON.parse(\"{\\\"logo\\\":\\\"\\\\\\/audit\\\\\\/logo.png\\\"}\");\n",
		} {
			p := filepath.Join(e.site, filepath.FromSlash(name))
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		code, out, errOut := e.run(t, "deploy")
		if code != ExitDeployUnchanged || !strings.Contains(errOut, "nothing was changed") {
			t.Fatalf("exit %d; want %d\n%s\n%s", code, ExitDeployUnchanged, out, errOut)
		}
		if !strings.Contains(errOut, `audit/data.js:1 (`) || !strings.Contains(errOut, `"/audit/logo.png" names audit/logo.png`) {
			t.Errorf("the error does not name the file, line and reference:\n%s", errOut)
		}
		// Nothing uploaded: the origin holds at most the deploy state.
		ents, _ := os.ReadDir(e.originDir)
		for _, ent := range ents {
			if ent.Name() != ".cdnctl" {
				t.Errorf("the origin has %s after a failed audit", ent.Name())
			}
		}
		if r := e.edge.Get(t, "pop1", "/"); r.Status == 200 {
			t.Errorf("the site is served after a failed audit: %d", r.Status)
		}

		// With fingerprint.audit: warn the deploy goes on, and says why.
		e.env["CDNCTL_FINGERPRINT_AUDIT"] = "warn"
		code, out, errOut = e.run(t, "deploy")
		if code != 0 || !strings.Contains(errOut, "a reference still names a renamed file by its source name") {
			t.Fatalf("audit: warn: exit %d\n%s\n%s", code, out, errOut)
		}
	})
	t.Run("failure before any change: 3", func(t *testing.T) {
		e := newDeployEnv(t, nil, "")
		e.env[AdminTokenEnv] = "wrong"
		code, _, errOut := e.run(t, "deploy")
		if code != ExitDeployUnchanged || !strings.Contains(errOut, "nothing was changed") {
			t.Fatalf("exit %d; want %d\n%s", code, ExitDeployUnchanged, errOut)
		}
		// Only the deploy state's folder, without a lock left behind.
		if ents, _ := os.ReadDir(e.originDir); len(ents) > 1 || len(ents) == 1 && ents[0].Name() != ".cdnctl" {
			t.Errorf("the origin has %d entries after a failed plan", len(ents))
		}
		if _, err := os.Stat(filepath.Join(e.originDir, ".cdnctl", "lock.json")); err == nil {
			t.Error("a failed deploy left its lock")
		}
	})
}

func TestDeployEnvironments(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "cdnctl.yaml")
	os.WriteFile(p, []byte(`origin:
  target: s3://prod-bucket/www
  concurrency: 8
deploy:
  site: public
  prewarm:
    what: all
    concurrency: 4
cdns:
  - {name: prod, provider: cloudfront, distribution_id: E123}
environments:
  staging:
    origin:
      target: s3://staging-bucket/www
    deploy:
      prewarm:
        enabled: false
    cdns:
      - {name: staging, provider: local}
  broken:
    origin:
      targt: s3://x
`), 0o644)
	cfg, err := LoadConfig(p, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := cfg.WithEnvironment("staging", func(k string) (string, bool) {
		if k == "CDNCTL_ORIGIN_CONCURRENCY" {
			return "3", true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Origin.Target != "s3://staging-bucket/www" || st.Origin.Concurrency != 3 || st.Deploy.Site != "public" {
		t.Errorf("staging origin %+v, site %q; want the staging bucket, concurrency from the environment variable, the same site", st.Origin, st.Deploy.Site)
	}
	if st.Deploy.Prewarm.Enabled || st.Deploy.Prewarm.What != "all" || st.Deploy.Prewarm.Concurrency != 4 {
		t.Errorf("staging prewarm = %+v; want disabled, the rest as at the top level", st.Deploy.Prewarm)
	}
	if len(st.CDNs) != 1 || st.CDNs[0].Name != "staging" || cfg.CDNs[0].Name != "prod" || cfg.Origin.Target != "s3://prod-bucket/www" {
		t.Errorf("cdns %+v (top level %+v): the environment's list replaces it, in the copy only", st.CDNs, cfg.CDNs)
	}
	if _, err := cfg.WithEnvironment("broken", nil); err == nil || !strings.Contains(err.Error(), "environments.broken.origin") || !strings.Contains(err.Error(), "targt") {
		t.Errorf("unknown key: %v", err)
	}
	if _, err := cfg.WithEnvironment("prod", nil); err == nil || !strings.Contains(err.Error(), "broken, staging") {
		t.Errorf("unknown environment: %v", err)
	}
	code, _, errOut := runPushCLI(t, "", nil, "--config", p, "deploy", "--env", "nope", "--dry-run")
	if code != ExitUsage || !strings.Contains(errOut, "no such environment") {
		t.Errorf("--env nope: exit %d\n%s", code, errOut)
	}
}

// TestDeployOnTerminal: a confirmation prompt, progress bars redrawn in
// place on stderr, and ✓ lines as steps end.
func TestDeployOnTerminal(t *testing.T) {
	e := newDeployEnv(t, nil, "")
	ios, in, out, errOut := TestStreams()
	ios.SetTTY(true)
	in.WriteString("y\n")
	f := &Factory{IO: ios, LookupEnv: func(k string) (string, bool) { v, ok := e.env[k]; return v, ok }, Now: time.Now, Logger: slog.New(slog.DiscardHandler)}
	if code := f.Run(context.Background(), []string{"--config", e.config, "deploy"}); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut.String(), "Deploy to file://") || !strings.Contains(errOut.String(), "[y/N]") {
		t.Errorf("no confirmation prompt:\n%s", errOut)
	}
	if !strings.Contains(errOut.String(), "✓ upload-entry-points") || !strings.Contains(errOut.String(), "✓ verify") {
		t.Errorf("no step lines:\n%s", errOut)
	}
	if !strings.Contains(out.String(), "Deployed ") {
		t.Errorf("summary:\n%s", out)
	}

	// Declining changes nothing: exit 3.
	e.editAbout(t, "About, version two")
	ios, in, _, errOut = TestStreams()
	ios.SetTTY(true)
	in.WriteString("n\n")
	f.IO = ios
	if code := f.Run(context.Background(), []string{"--config", e.config, "deploy"}); code != ExitDeployUnchanged || !strings.Contains(errOut.String(), "cancelled; nothing was changed") {
		t.Errorf("declined: exit %d\n%s", code, errOut)
	}
}
