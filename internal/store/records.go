package store

import (
	"time"

	"github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/runtime"
)

// Service is a stored App Runner service.
type Service struct {
	ARN    string
	ID     string
	Name   string
	Status string
	// Host is the host name the router serves the service at.
	Host      string
	CreatedAt time.Time
	UpdatedAt time.Time
	DeletedAt time.Time // zero unless deleted
	// Config is the configuration in force: the last one that deployed (or,
	// before the first deployment succeeds, the one being created).
	Config Config
	// Release is what runs; nil before the first successful deployment.
	Release *Release
}

// Config is a service's user-facing configuration, in the API's shapes.
type Config struct {
	Source                      *apprunner.SourceConfiguration               `json:"source,omitempty"`
	Instance                    *apprunner.InstanceConfiguration             `json:"instance,omitempty"`
	HealthCheck                 *apprunner.HealthCheckConfiguration          `json:"healthCheck,omitempty"`
	Network                     *apprunner.NetworkConfiguration              `json:"network,omitempty"`
	Observability               *apprunner.ServiceObservabilityConfiguration `json:"observability,omitempty"`
	Encryption                  *apprunner.EncryptionConfiguration           `json:"encryption,omitempty"`
	AutoScalingConfigurationArn string                                       `json:"autoScalingConfigurationArn,omitempty"`
}

// Release is a deployed build and how its instances run.
type Release struct {
	OperationID string `json:"operationId"`
	// Revision is the commit (or image digest) the release was built from.
	Revision   string           `json:"revision"`
	Artifact   runtime.Artifact `json:"artifact"`
	Run        RunPlan          `json:"run"`
	DeployedAt time.Time        `json:"deployedAt"`
}

// RunPlan is everything needed to start an instance of a release, resolved
// from the service configuration and apprunner.yaml at deploy time.
type RunPlan struct {
	WorkDir string            `json:"workDir,omitempty"`
	PreRun  []string          `json:"preRun,omitempty"`
	Command string            `json:"command"`
	Port    int               `json:"port"`
	PortEnv string            `json:"portEnv,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
	// Secrets maps an env var name to a secret reference; values are
	// resolved when an instance starts and never stored.
	Secrets map[string]string `json:"secrets,omitempty"`
	CPU     float64           `json:"cpu,omitempty"`
	Memory  int               `json:"memory,omitempty"`
}

// Operation is an asynchronous operation on a service. Operations are rows,
// not goroutines: a restarted daemon finds the unfinished ones and resumes
// them.
type Operation struct {
	ID         string
	ServiceARN string
	Type       string
	Status     string
	StartedAt  time.Time
	EndedAt    time.Time
	UpdatedAt  time.Time
	// Config is the configuration the operation deploys (create, update).
	Config *Config
	// Reason says why the operation failed or rolled back.
	Reason string
	// Attempts counts how many times a daemon started running it.
	Attempts int
	// Revision is the commit or image digest the operation deployed.
	Revision string
	// Trigger says who started it: "api", "auto", "console", "restart".
	Trigger string
}

// Done reports whether the operation reached a final status.
func (o Operation) Done() bool {
	switch o.Status {
	case apprunner.OperationStatusSucceeded, apprunner.OperationStatusFailed,
		apprunner.OperationStatusRollbackSucceeded, apprunner.OperationStatusRollbackFailed:
		return true
	}
	return false
}

// Instance roles.
const (
	// RoleCandidate instances belong to a deployment that has not moved traffic yet.
	RoleCandidate = "candidate"
	// RoleActive instances serve traffic.
	RoleActive = "active"
	// RoleDraining instances finish their requests and then stop.
	RoleDraining = "draining"
)

// Instance is a running app instance that the engine tracks.
type Instance struct {
	ID          string
	ServiceARN  string
	OperationID string
	Role        string
	Runtime     runtime.Instance
	CreatedAt   time.Time
}

// AutoScalingConfiguration is one revision of an auto scaling configuration.
type AutoScalingConfiguration struct {
	ARN            string
	Name           string
	Revision       int64
	Latest         bool
	Status         string
	MaxConcurrency int64
	MinSize        int64
	MaxSize        int64
	CreatedAt      time.Time
	DeletedAt      time.Time
	IsDefault      bool
}

// Build is a finished build, kept per commit and configuration.
type Build struct {
	Key        string
	ServiceARN string
	Revision   string
	Artifact   runtime.Artifact
	CreatedAt  time.Time
}
