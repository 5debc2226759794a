package baseimage

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/slipwayhq/slipway/internal/runtime"
)

// Suite is the Debian release base images are made of. Package names and
// the versions in recipes are bookworm's.
const Suite = "bookworm"

// Repository prefixes the repositories base images are tagged in:
// slipway/runtime-python:bookworm-<hash>.
const Repository = "slipway/runtime-"

// revision is part of every tag's hash: bump it when the way images are
// made changes (mmdebstrap options, image configuration) so that old tags
// are not taken for new images.
const revision = "1"

// ErrUnsupported is returned (wrapped) for runtimes that have no Debian
// recipe (DOTNET_6, unknown names): they need --runtime-image.
var ErrUnsupported = errors.New("no base image can be built from Debian packages")

// Recipe says how the base image of one family of runtimes is made.
type Recipe struct {
	// Family names the image's repository (slipway/runtime-<Family>);
	// runtimes of one family (PYTHON_3, PYTHON_311) share one image.
	Family string
	// Language is shown in warnings ("Node.js").
	Language string
	// Packages are installed, with ca-certificates, on a minbase system.
	Packages []string
	// Env is the image's environment beyond PATH and LANG.
	Env []string
	// Version is the language version Suite has: major and minor
	// ("3.11") where Debian keeps the minor for the release's life.
	Version string
	// minorInName: a runtime's number is major and minor run together
	// (PYTHON_311 is 3.11). majorOnly: only the major version counts
	// (CORRETTO_11; Java's 1.8 is 8).
	minorInName, majorOnly bool
}

// recipes by the runtime's prefix (before the underscore).
var recipes = map[string]Recipe{
	// Debian's pip refuses to install outside a virtual environment
	// (PEP 668); App Runner's build commands run `pip install` into the
	// system's Python, which the image is there for.
	"PYTHON": {Family: "python", Language: "Python", Version: "3.11", minorInName: true,
		Packages: []string{"python3", "python3-pip", "python3-venv", "python-is-python3"},
		Env:      []string{"PIP_BREAK_SYSTEM_PACKAGES=1"}},
	// Security updates move Debian's Node.js across minor versions
	// (18.19 at release, 18.20 since): only the major is certain.
	"NODEJS": {Family: "nodejs", Language: "Node.js", Version: "18",
		Packages: []string{"nodejs", "npm"}},
	// git for modules fetched directly (GOPROXY=direct, private modules).
	"GO": {Family: "go", Language: "Go", Version: "1.19",
		Packages: []string{"golang-go", "git"}},
	"CORRETTO": {Family: "java", Language: "Java", Version: "17", majorOnly: true,
		Packages: []string{"openjdk-17-jdk-headless", "maven"}},
	"PHP": {Family: "php", Language: "PHP", Version: "8.2", minorInName: true,
		Packages: []string{"php-cli", "composer"}},
	"RUBY": {Family: "ruby", Language: "Ruby", Version: "3.1", minorInName: true,
		Packages: []string{"ruby", "bundler"}},
}

// basePackages go into every image.
var basePackages = []string{"ca-certificates"}

// baseEnv is every image's environment, before the recipe's.
var baseEnv = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"LANG=C.UTF-8",
}

// RecipeFor returns the recipe of an App Runner runtime, or ErrUnsupported.
func RecipeFor(rt string) (Recipe, error) {
	prefix, _, ok := strings.Cut(rt, "_")
	r, known := recipes[prefix]
	if !ok || !known {
		return Recipe{}, fmt.Errorf("runtime %q: %w (Debian %s has no packages for it); name an image with --runtime-image %s=REF", rt, ErrUnsupported, Suite, rt)
	}
	return r, nil
}

// AllPackages is what mmdebstrap installs: the recipe's packages and
// ca-certificates, sorted.
func (r Recipe) AllPackages() []string {
	p := append(slices.Clone(basePackages), r.Packages...)
	slices.Sort(p)
	return slices.Compact(p)
}

// Config is the image's environment and command, as `docker import
// --change` lines.
func (r Recipe) Config() []string {
	var out []string
	for _, e := range append(slices.Clone(baseEnv), r.Env...) {
		out = append(out, "ENV "+e)
	}
	return append(out,
		"LABEL slipway.base-image="+r.Family,
		`CMD ["/bin/sh"]`)
}

// Tag is the image's local reference, slipway/runtime-<family>:<suite>-<hash>,
// where the hash covers everything the image is made of (suite, packages,
// configuration, revision) but not the mirror it was fetched from: equal
// tags are interchangeable images, whichever engine or node made them.
func (r Recipe) Tag() string { return r.tag(Repository) }

func (r Recipe) tag(repository string) string {
	h := sha256.New()
	fmt.Fprintf(h, "revision %s\nsuite %s\n", revision, Suite)
	for _, p := range r.AllPackages() {
		fmt.Fprintf(h, "package %s\n", p)
	}
	for _, c := range r.Config() {
		fmt.Fprintf(h, "config %s\n", c)
	}
	return repository + r.Family + ":" + Suite + "-" + hex.EncodeToString(h.Sum(nil))[:12]
}

// Mismatch compares the version a runtime (or apprunner.yaml's
// runtime-version) asks for with the one the image has, and returns a
// warning line, or "" when they agree (major version, and minor where the
// request names one) or nothing comparable was asked.
func (r Recipe) Mismatch(rt, runtimeVersion string) string {
	asked, want := runtime.WantedVersion(rt, runtimeVersion, r.minorInName)
	want, ok := runtime.CompareVersions(want, runtime.VersionNumbers(r.Version), r.majorOnly)
	if ok {
		return ""
	}
	return fmt.Sprintf("warning: %s asks for %s %s, Slipway's Debian %s base image has %s %s; the build and instances use it (--runtime-image %s=REF names another image)",
		asked, r.Language, runtime.JoinVersion(want), Suite, r.Language, r.Version, rt)
}
