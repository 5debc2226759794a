package process

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/internal/runtime"
)

// versionTimeout bounds the one `node --version` (or the like) a build runs
// to learn the host's toolchain version. A JVM on a busy machine is the
// slowest to answer.
const versionTimeout = 5 * time.Second

// language is what the process backend knows about one family of App
// Runner runtimes.
type language struct {
	// name is shown in warnings ("Node.js").
	name string
	// args make the toolchain print its version.
	args []string
	// minorInName: the runtime's number is major and minor run together
	// (PYTHON_311 is 3.11, PHP_81 is 8.1) rather than a major (NODEJS_18).
	minorInName bool
	// majorOnly: only the major version is compared (Corretto's second
	// number is an update level, not a language version).
	majorOnly bool
}

// languages maps a runtime's prefix (before the underscore) to its language.
var languages = map[string]language{
	"PYTHON":   {name: "Python", args: []string{"--version"}, minorInName: true},
	"NODEJS":   {name: "Node.js", args: []string{"--version"}},
	"GO":       {name: "Go", args: []string{"version"}},
	"CORRETTO": {name: "Java", args: []string{"-version"}, majorOnly: true},
	"DOTNET":   {name: ".NET", args: []string{"--version"}},
	"PHP":      {name: "PHP", args: []string{"--version"}, minorInName: true},
	"RUBY":     {name: "Ruby", args: []string{"--version"}, minorInName: true},
}

func languageOf(rt string) (language, string, bool) {
	prefix, num, ok := strings.Cut(rt, "_")
	l, known := languages[prefix]
	return l, num, ok && known
}

// ToolchainMismatch runs the toolchain spec.Runtime needs once, with a short
// timeout, and compares its version with the one the runtime (or
// apprunner.yaml's runtime-version) asks for.
func (b *Backend) ToolchainMismatch(ctx context.Context, spec runtime.BuildSpec) string {
	l, _, ok := languageOf(spec.Runtime)
	cmd := b.cfg.Toolchains[spec.Runtime]
	if !ok || cmd == "" {
		return ""
	}
	if _, err := exec.LookPath(cmd); err != nil {
		return "" // Build says the toolchain is missing.
	}
	ctx, cancel := context.WithTimeout(ctx, versionTimeout)
	defer cancel()
	c := exec.CommandContext(ctx, cmd, l.args...)
	c.Env = hostBuildEnv(nil)
	out, err := c.CombinedOutput()
	if err != nil {
		return fmt.Sprintf("warning: runtime %s: could not tell the version of the host's %s (%s %s: %v); the build and instances use it anyway",
			spec.Runtime, cmd, cmd, strings.Join(l.args, " "), err)
	}
	return versionMismatch(spec.Runtime, spec.RuntimeVersion, cmd, string(out))
}

// versionMismatch compares the version a runtime asks for with what the
// host's toolchain cmd printed for its version, and returns a warning line,
// or "" when they agree. It compares the major version, and the minor one
// where the request names it (PYTHON_311, runtime-version 18.19.0); patch
// levels never count. Unknown runtimes and unreadable output are not a
// mismatch it can tell.
func versionMismatch(rt, runtimeVersion, cmd, output string) string {
	l, _, ok := languageOf(rt)
	if !ok {
		return ""
	}
	asked, want := runtime.WantedVersion(rt, runtimeVersion, l.minorInName)
	shown, have := hostVersion(l, output)
	if len(want) == 0 || len(have) == 0 {
		return ""
	}
	want, ok = runtime.CompareVersions(want, have, l.majorOnly)
	if ok {
		return ""
	}
	return fmt.Sprintf("warning: %s asks for %s %s, the host's %s is %s; the build and instances use the host's",
		asked, l.name, runtime.JoinVersion(want), cmd, shown)
}

var (
	javaVersion = regexp.MustCompile(`version "([0-9][^"]*)"`)
	anyVersion  = regexp.MustCompile(`v?[0-9]+(\.[0-9]+)*`)
)

// hostVersion finds the version in a toolchain's output ("v20.20.2",
// "Python 3.9.2", "go version go1.22.3 linux/amd64", `openjdk version
// "17.0.2"`) and returns it as shown and as numbers.
func hostVersion(l language, output string) (string, []int) {
	var s string
	if l.majorOnly {
		m := javaVersion.FindStringSubmatch(output)
		if m == nil {
			return "", nil
		}
		s = m[1]
	} else {
		s = anyVersion.FindString(output)
	}
	return s, runtime.VersionNumbers(s)
}

var _ runtime.ToolchainChecker = (*Backend)(nil)
