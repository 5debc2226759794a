package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"time"

	"github.com/slipwayhq/slipway/internal/appconfig"
	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/health"
	"github.com/slipwayhq/slipway/internal/runtime"
	"github.com/slipwayhq/slipway/internal/store"
)

// plan reads a code service's build and run configuration: from
// apprunner.yaml in the source directory (ConfigurationSource REPOSITORY)
// or from the API's CodeConfigurationValues. A REPOSITORY source directory
// with a Dockerfile and no apprunner.yaml is built with its Dockerfile
// (dockerfile true), a Slipway extension.
func (e *Engine) plan(ctx context.Context, url, commit, dir string, cc *ar.CodeConfiguration, ic *ar.InstanceConfiguration) (run store.RunPlan, spec runtime.BuildSpec, dockerfile bool, err error) {
	var p appconfig.Plan
	if cc == nil || cc.ConfigurationSource == ar.ConfigurationSourceRepository {
		file := path.Join(dir, appconfig.FileName)
		data, err := e.git.ReadFile(ctx, url, commit, file)
		if errors.Is(err, os.ErrNotExist) {
			if _, derr := e.git.ReadFile(ctx, url, commit, path.Join(dir, "Dockerfile")); derr == nil {
				run, spec := dockerfilePlan(commit, dir, ic)
				return run, spec, true, nil
			}
			return run, spec, false, fmt.Errorf(
				"%w: ConfigurationSource is REPOSITORY but %s does not exist at commit %s; add it (or a Dockerfile) or use ConfigurationSource API",
				ErrConfig, file, short(commit))
		}
		if err != nil {
			return run, spec, false, fmt.Errorf("%w: %w", ErrSource, err)
		}
		f, err := appconfig.Parse(data)
		if err != nil {
			return run, spec, false, fmt.Errorf("%w: in source directory %s: %w", ErrConfig, displayDir(dir), err)
		}
		p = f.Plan()
	} else {
		p = planFromValues(cc.CodeConfigurationValues)
	}
	run, spec = makePlan(p, commit, dir, ic)
	return run, spec, false, nil
}

// dockerfilePlan builds the source directory's Dockerfile and runs the
// image's own command, with the port in PORT.
func dockerfilePlan(commit, dir string, ic *ar.InstanceConfiguration) (store.RunPlan, runtime.BuildSpec) {
	spec := runtime.BuildSpec{WorkDir: dir}
	spec.Key = buildKey(commit, spec, "Dockerfile")
	run := store.RunPlan{WorkDir: dir, Port: appconfig.DefaultPort, PortEnv: appconfig.DefaultPortEnv}
	run.CPU, run.Memory = instanceSize(ic)
	return run, spec
}

// planFromValues turns API configuration values into the same plan an
// apprunner.yaml would give.
func planFromValues(v *ar.CodeConfigurationValues) appconfig.Plan {
	p := appconfig.Plan{
		Runtime:      v.Runtime,
		StartCommand: deref(v.StartCommand),
		Port:         appconfig.DefaultPort,
		PortEnv:      appconfig.DefaultPortEnv,
		Env:          v.RuntimeEnvironmentVariables,
		Secrets:      v.RuntimeEnvironmentSecrets,
	}
	if v.BuildCommand != nil && *v.BuildCommand != "" {
		p.BuildCommands = []string{*v.BuildCommand}
	}
	if n, err := strconv.Atoi(deref(v.Port)); err == nil {
		p.Port = n
	}
	return p
}

// makePlan splits a plan into how to build and how to run. The build key
// covers every input of the build, so equal keys can share one build.
func makePlan(p appconfig.Plan, commit, dir string, ic *ar.InstanceConfiguration) (store.RunPlan, runtime.BuildSpec) {
	spec := runtime.BuildSpec{
		WorkDir:        dir,
		Runtime:        p.Runtime,
		RuntimeVersion: p.RuntimeVersion,
		Commands:       p.BuildCommands,
		Env:            p.BuildEnv,
	}
	spec.Key = buildKey(commit, spec, "")

	run := store.RunPlan{
		WorkDir: dir,
		PreRun:  p.PreRun,
		Command: p.StartCommand,
		Port:    p.Port,
		PortEnv: p.PortEnv,
		Env:     p.Env,
		Secrets: p.Secrets,
	}
	run.CPU, run.Memory = instanceSize(ic)
	return run, spec
}

// buildKey names a build by all its inputs, so equal keys can share one
// build.
func buildKey(commit string, spec runtime.BuildSpec, kind string) string {
	keyInput, _ := json.Marshal(struct {
		Commit string
		Spec   runtime.BuildSpec
		Kind   string `json:",omitempty"`
	}{commit, spec, kind})
	sum := sha256.Sum256(keyInput)
	return hex.EncodeToString(sum[:8])
}

// serviceBuildKey is key, a build's inputs, made the service's own.
func serviceBuildKey(serviceARN, key string) string {
	sum := sha256.Sum256([]byte(serviceARN + "\x00" + key))
	return hex.EncodeToString(sum[:8])
}

// instanceSize converts the instance configuration to vCPUs and MiB.
func instanceSize(ic *ar.InstanceConfiguration) (cpu float64, memory int) {
	if ic == nil {
		return 0, 0
	}
	if c, err := ar.ParseCPU(deref(ic.Cpu)); err == nil {
		cpu = float64(c) / 1024
	}
	if m, err := ar.ParseMemory(deref(ic.Memory)); err == nil {
		memory = m
	}
	return cpu, memory
}

// healthCheck converts the API's health check configuration (defaults
// already applied by the control plane) to the checker's.
func healthCheck(h *ar.HealthCheckConfiguration) health.Check {
	c := health.Default()
	if h == nil {
		return c
	}
	if h.Protocol != nil {
		c.Protocol = *h.Protocol
	}
	if h.Path != nil {
		c.Path = *h.Path
	}
	if h.Interval != nil {
		c.Interval = seconds(*h.Interval)
	}
	if h.Timeout != nil {
		c.Timeout = seconds(*h.Timeout)
	}
	if h.HealthyThreshold != nil {
		c.HealthyThreshold = int(*h.HealthyThreshold)
	}
	if h.UnhealthyThreshold != nil {
		c.UnhealthyThreshold = int(*h.UnhealthyThreshold)
	}
	return c
}

func describeCheck(c health.Check) string {
	s := c.Protocol
	if c.Protocol == ar.HealthCheckProtocolHttp {
		s += " " + c.Path
	}
	return fmt.Sprintf("%s every %s, timeout %s, healthy after %d, unhealthy after %d",
		s, c.Interval, c.Timeout, c.HealthyThreshold, c.UnhealthyThreshold)
}

func seconds(n int64) time.Duration { return time.Duration(n) * time.Second }
