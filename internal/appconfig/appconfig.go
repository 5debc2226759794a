package appconfig

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// FileName is the name App Runner looks for in the source directory.
const FileName = "apprunner.yaml"

// Defaults App Runner applies when run.network leaves them out.
const (
	DefaultPort    = 8080
	DefaultPortEnv = "PORT"
)

// ErrInvalid is wrapped by every error Parse returns.
var ErrInvalid = errors.New("invalid " + FileName)

// Error is a problem at one place in the file.
type Error struct {
	Line int    // 1-based; 0 when unknown
	Msg  string // names the offending key
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return FileName + ": " + e.Msg
	}
	return fmt.Sprintf("%s line %d: %s", FileName, e.Line, e.Msg)
}

// Unwrap lets callers test any parse failure with errors.Is(err, ErrInvalid).
func (e *Error) Unwrap() error { return ErrInvalid }

// File mirrors apprunner.yaml. Optional sections left out are zero.
type File struct {
	Version string
	Runtime string // config-file runtime name, e.g. "python3"
	Build   *Build // nil when the file has no build section
	Run     Run
}

// Build is the build section.
type Build struct {
	Commands BuildCommands
	Env      []EnvVar
}

// BuildCommands are the shell commands of each build phase, in order.
type BuildCommands struct {
	PreBuild  []string
	Build     []string
	PostBuild []string
}

// Run is the run section.
type Run struct {
	RuntimeVersion string
	PreRun         []string
	Command        string
	Network        Network
	Env            []EnvVar
	Secrets        []Secret
}

// Network is run.network; zero fields mean "use the default".
type Network struct {
	Port int
	Env  string
}

// EnvVar is one name/value pair of an env list.
type EnvVar struct {
	Name  string
	Value string
}

// Secret is one run.secrets entry: an environment variable filled from a
// Secrets Manager secret or SSM parameter reference.
type Secret struct {
	Name      string
	ValueFrom string
}

// runtimes maps config-file runtime names to the App Runner API enum used
// in CodeConfigurationValues.Runtime.
var runtimes = map[string]string{
	"python3":    "PYTHON_3",
	"python311":  "PYTHON_311",
	"nodejs12":   "NODEJS_12",
	"nodejs14":   "NODEJS_14",
	"nodejs16":   "NODEJS_16",
	"nodejs18":   "NODEJS_18",
	"nodejs22":   "NODEJS_22",
	"corretto8":  "CORRETTO_8",
	"corretto11": "CORRETTO_11",
	"go1":        "GO_1",
	"dotnet6":    "DOTNET_6",
	"php81":      "PHP_81",
	"ruby31":     "RUBY_31",
}

// APIRuntime returns the App Runner API runtime (e.g. "PYTHON_3") for a
// config-file runtime name (e.g. "python3").
func APIRuntime(name string) (string, bool) {
	r, ok := runtimes[name]
	return r, ok
}

// RuntimeNames lists the config-file runtime names, sorted.
func RuntimeNames() []string {
	return slices.Sorted(maps.Keys(runtimes))
}

// Plan is the file reduced to what a build and a deployment need, with
// defaults applied. Maps are nil when the file defines no entries.
type Plan struct {
	Runtime        string // App Runner API enum, e.g. PYTHON_3
	RuntimeVersion string
	BuildCommands  []string // pre-build, build, post-build in order
	BuildEnv       map[string]string
	PreRun         []string
	StartCommand   string
	Port           int    // default 8080
	PortEnv        string // default "PORT"
	Env            map[string]string
	Secrets        map[string]string // name → value-from reference
}

// Plan flattens f. It assumes f came from Parse.
func (f *File) Plan() Plan {
	p := Plan{
		Runtime:        runtimes[f.Runtime],
		RuntimeVersion: f.Run.RuntimeVersion,
		PreRun:         slices.Clone(f.Run.PreRun),
		StartCommand:   f.Run.Command,
		Port:           f.Run.Network.Port,
		PortEnv:        f.Run.Network.Env,
		Env:            envMap(f.Run.Env),
	}
	if f.Build != nil {
		c := f.Build.Commands
		p.BuildCommands = slices.Concat(c.PreBuild, c.Build, c.PostBuild)
		p.BuildEnv = envMap(f.Build.Env)
	}
	if p.Port == 0 {
		p.Port = DefaultPort
	}
	if p.PortEnv == "" {
		p.PortEnv = DefaultPortEnv
	}
	for _, s := range f.Run.Secrets {
		if p.Secrets == nil {
			p.Secrets = make(map[string]string, len(f.Run.Secrets))
		}
		p.Secrets[s.Name] = s.ValueFrom
	}
	return p
}

func envMap(vars []EnvVar) map[string]string {
	if len(vars) == 0 {
		return nil
	}
	m := make(map[string]string, len(vars))
	for _, v := range vars {
		m[v.Name] = v.Value
	}
	return m
}

// joinPath names a nested key for messages: "run" + "network" → "run.network".
func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// where renders the section part of an "unknown key ... in run" message.
func where(path string) string {
	if path == "" {
		return ""
	}
	return " in " + strings.TrimSuffix(path, ".")
}
