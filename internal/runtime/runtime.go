package runtime

import (
	"context"
	"errors"
	"io"
	"time"
)

// Backend builds artifacts and runs instances of them. It is Slipway's one
// plugin contract: the engine above it is the same for every backend.
//
// Instances must outlive the daemon: a backend never ties an instance's
// lifetime to the context passed to Start, and a restarted daemon re-adopts
// instances from the Instance values it stored.
type Backend interface {
	// Name identifies the backend ("process", "docker") in stored records.
	Name() string
	// Build turns the source tree in spec.SourceDir into a runnable artifact.
	// It is idempotent: a second call with the same spec.Key returns the
	// artifact already built without running the commands again. Build output
	// goes to log.
	Build(ctx context.Context, spec BuildSpec, log io.Writer) (Artifact, error)
	// Start launches one instance and returns as soon as it exists; it does
	// not wait for the instance to become healthy.
	Start(ctx context.Context, spec InstanceSpec) (Instance, error)
	// Status reports whether inst still runs and, if it ended, how.
	// An instance the backend does not know reports Running false.
	Status(ctx context.Context, inst Instance) (State, error)
	// Stop asks inst to end, waits up to grace, then kills it. Stopping an
	// instance that already ended is not an error.
	Stop(ctx context.Context, inst Instance, grace time.Duration) error
	// RemoveArtifact deletes what Build produced.
	RemoveArtifact(ctx context.Context, a Artifact) error
}

// BuildSpec says what to build.
type BuildSpec struct {
	// Key identifies the build; equal keys mean equal inputs.
	Key string
	// SourceDir is the repository tree at the deployed commit. The backend
	// owns it from now on and may build in place.
	SourceDir string
	// WorkDir is the service's source directory, relative to SourceDir
	// ("" or "." for the repository root). Commands run there.
	WorkDir string
	// Runtime is the App Runner runtime (PYTHON_3, NODEJS_18, GO_1, ...).
	Runtime string
	// RuntimeVersion is the optional exact version from apprunner.yaml.
	RuntimeVersion string
	// Commands run in order with sh -c; the first failure fails the build.
	Commands []string
	// Env is added to the build's environment.
	Env map[string]string
}

// Artifact is a finished build. It is stored as JSON in the database.
type Artifact struct {
	Backend string `json:"backend"`
	Key     string `json:"key"`
	// Path is the artifact's directory (process backend) or image (docker).
	Path string `json:"path"`
	// Runtime is carried from the build so instances use the same toolchain.
	Runtime string `json:"runtime,omitempty"`
}

// InstanceSpec says how to run one instance of an artifact.
type InstanceSpec struct {
	// ID is the engine's name for the instance; backends use it in logs,
	// labels and file names.
	ID       string
	Artifact Artifact
	// WorkDir is relative to the artifact, as in BuildSpec.
	WorkDir string
	// PreRun commands run, in order, before Command, in the same place.
	PreRun []string
	// Command starts the app (run with sh -c).
	Command string
	// PortEnv is the environment variable that carries the port ("PORT" by default).
	PortEnv string
	// Port is the port the app is configured to listen on (apprunner.yaml's
	// network.port, the API's Port). A backend that gives each instance a
	// network namespace of its own gives the app exactly this port in
	// PortEnv; one that runs instances on the host's network chooses a free
	// port instead (Instance.Addr says which). 0 always means a free port.
	Port int
	// Env is the full application environment, secrets already resolved.
	Env map[string]string
	// LogPath is the file the instance's output is appended to, one
	// applog line per output line.
	LogPath string
	// CPU in vCPU units (0.25..4) and Memory in MiB; zero means no limit.
	CPU    float64
	Memory int
	// Labels tie the instance to what it belongs to (service, operation)
	// where the backend can keep them (container labels).
	Labels map[string]string
}

// Instance is a running (or once running) instance. It is stored as JSON so
// that a restarted daemon can re-adopt it.
type Instance struct {
	ID      string `json:"id"`
	Backend string `json:"backend"`
	// Ref is the backend's handle (pid and start time, container ID).
	Ref string `json:"ref"`
	// Addr is host:port where the instance serves, in NetNS if set.
	Addr string `json:"addr"`
	// NetNS is the instance's own network namespace (a /proc/PID/ns/net
	// path, valid while it runs); empty when it shares the host's network.
	// Addr is then on that namespace's loopback, reachable only by dialling
	// from inside it.
	NetNS     string    `json:"netns,omitempty"`
	StartedAt time.Time `json:"startedAt"`
}

// State is an instance's observed state.
type State struct {
	Running bool
	// When not running: the exit code (-1 when killed by a signal or
	// unknown), and a short reason such as "exited with code 1",
	// "killed by signal 9" or "out of memory".
	ExitCode  int
	Reason    string
	OOMKilled bool
}

// ErrToolchainMissing is returned (wrapped) by Build or Start when the host
// lacks the toolchain a runtime needs.
var ErrToolchainMissing = errors.New("toolchain missing")

// ErrBuildFailed is returned (wrapped) by Build when a build command fails.
var ErrBuildFailed = errors.New("build failed")

// Lister is implemented by backends that can list the instances they run,
// whoever started them. A restarted daemon uses it to find instances it
// never recorded (it died between starting one and writing it down) and
// stop them.
type Lister interface {
	List(ctx context.Context) ([]Instance, error)
}

// ArtifactChecker is implemented by backends that can tell whether an
// artifact they built is still there. Only the backend knows what an
// artifact's Path means (a directory for the process backend, an image ID
// for Docker's), so the engine asks it before resuming or reusing a build
// instead of looking at the file system itself.
type ArtifactChecker interface {
	// ArtifactExists reports whether Start can still run a without
	// building it again.
	ArtifactExists(ctx context.Context, a Artifact) (bool, error)
}

// ToolchainChecker is implemented by backends that build and run apps with
// the host's own toolchains rather than with the runtime's images (the
// process backend): the version an app asks for (NODEJS_12, runtime-version
// 18.19.0) may not be the one the host has. The engine asks once per build
// and logs the answer, so that difference is never silent.
type ToolchainChecker interface {
	// ToolchainMismatch describes how the host's toolchain differs from
	// the version spec asks for, as a warning line; "" when it matches or
	// nothing was asked. It never fails a build.
	ToolchainMismatch(ctx context.Context, spec BuildSpec) string
}
