package main

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/version"

	"github.com/vastwatch/vastwatch/internal/metrics"
)

// The build is stamped into prometheus/common/version's variables with -ldflags
// "-X github.com/prometheus/common/version.Version=…" (Makefile, Dockerfile, .goreleaser.yaml).
// A `go install …@vX.Y.Z` is not stamped: its module version stands in.
func init() {
	if version.Version == "" {
		version.Version = "dev"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version.Version = strings.TrimPrefix(bi.Main.Version, "v")
		}
	}
}

// buildInfo labels vastwatch_build_info.
func buildInfo() metrics.BuildInfo {
	return metrics.BuildInfo{Version: version.Version, Revision: version.GetRevision(), Branch: version.Branch,
		GoVersion: version.GoVersion, GoOS: version.GoOS, GoArch: version.GoArch, Tags: version.GetTags()}
}

// defineInfo adds the subcommands about vastwatch itself: version, and the completion scripts
// and man page, which kingpin's templates make from the flag definitions.
func defineInfo(app *kingpin.Application, c *cli, acts map[string]action) {
	app.Command("version", "Print the version on one line (--version prints it in full).")
	acts["version"] = func(context.Context) error {
		_, err := fmt.Fprintf(c.Stdout, "vastwatch %s (branch: %s, revision: %s, %s, %s/%s)\n",
			version.Version, version.Branch, version.GetRevision(), version.GoVersion, version.GoOS, version.GoArch)
		return err
	}
	shell := app.Command("completion", "Print a shell completion script, e.g. source <(vastwatch completion bash).").
		Arg("shell", "bash or zsh.").Required().Enum("bash", "zsh")
	acts["completion"] = func(context.Context) error {
		return render(app, map[string]string{"bash": kingpin.BashCompletionTemplate, "zsh": kingpin.ZshCompletionTemplate}[*shell])
	}
	app.Command("man", "Print the man page: vastwatch man > vastwatch.1.")
	acts["man"] = func(context.Context) error {
		head := strings.NewReplacer(`.TH {{.App.Name}} 1 {{.App.Version}} "{{.App.Author}}"`,
			`.TH {{.App.Name}} 1 "" "vastwatch `+version.Version+`" "vastwatch manual"`,
			".SH \"NAME\"\n{{.App.Name}}\n", ".SH \"NAME\"\n{{.App.Name}} \\- Vast.ai GPU market exporter and fleet keeper\n")
		return render(app, head.Replace(kingpin.ManPageTemplate)+manEnvironment)
	}
}

// render writes one of kingpin's templates for the whole application to its usage writer.
func render(app *kingpin.Application, tmpl string) error {
	pc, err := app.ParseContext(nil)
	if err != nil {
		return err
	}
	return app.UsageForContextWithTemplate(pc, 2, tmpl)
}

const manEnvironment = `.SH "ENVIRONMENT"
VAST_API_KEY, or VAST_API_KEY_FILE naming a file that holds it, is the Vast.ai API key.
A VASTWATCH_* variable named at a flag stands in for the flag when it is not given, and
overrides the config file. GOMEMLIMIT wins over --runtime.memory-limit.
.SH "SEE ALSO"
README.md and docs/design.md in the source repository.
`
