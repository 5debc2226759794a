package console

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

// serviceForm is the create and configuration forms: the fields of a
// service's configuration as text, so a rejected form comes back as typed.
type serviceForm struct {
	Name string
	// Kind is "code" (a git repository) or "image".
	Kind string

	RepositoryURL, Branch, SourceDirectory string
	// ConfigSource is REPOSITORY (apprunner.yaml) or API (the fields below).
	ConfigSource                              string
	Runtime, BuildCommand, StartCommand, Port string
	// Env and Secrets are NAME=value lines; secrets are references (ARNs),
	// never values.
	Env, Secrets string

	ImageIdentifier, ImageType string

	AutoDeploy  bool
	CPU, Memory string

	HealthProtocol, HealthPath                                          string
	HealthInterval, HealthTimeout, HealthyThreshold, UnhealthyThreshold string

	AutoScalingARN string
}

// Choices the form's selects offer, from the model.
var (
	runtimes        = ar.RuntimeValues
	healthProtocols = ar.HealthCheckProtocolValues
	imageTypes      = ar.ImageRepositoryTypeValues
	cpuChoices      = [][2]string{{"256", "0.25 vCPU"}, {"512", "0.5 vCPU"}, {"1024", "1 vCPU"}, {"2048", "2 vCPU"}, {"4096", "4 vCPU"}}
	memoryChoices   = [][2]string{{"512", "0.5 GB"}, {"1024", "1 GB"}, {"2048", "2 GB"}, {"3072", "3 GB"}, {"4096", "4 GB"},
		{"6144", "6 GB"}, {"8192", "8 GB"}, {"10240", "10 GB"}, {"12288", "12 GB"}}
)

// newServiceForm is the create form's starting point: App Runner's defaults.
func newServiceForm() serviceForm {
	return serviceForm{
		Kind: "code", Branch: "main", ConfigSource: ar.ConfigurationSourceRepository,
		Runtime: ar.RuntimePython3, Port: "8080", ImageType: ar.ImageRepositoryTypeEcr,
		AutoDeploy: true, CPU: ar.DefaultCPU, Memory: ar.DefaultMemory,
		HealthProtocol: ar.HealthCheckProtocolTcp, HealthPath: "/",
		HealthInterval: "5", HealthTimeout: "2", HealthyThreshold: "1", UnhealthyThreshold: "5",
	}
}

// formFromConfig fills the configuration form from a service's
// configuration.
func formFromConfig(name string, cfg store.Config) serviceForm {
	f := newServiceForm()
	f.Name = name
	f.AutoScalingARN = cfg.AutoScalingConfigurationArn
	if src := cfg.Source; src != nil {
		f.AutoDeploy = deref(src.AutoDeploymentsEnabled)
		if cr := src.CodeRepository; cr != nil {
			f.Kind, f.RepositoryURL, f.SourceDirectory = "code", cr.RepositoryUrl, deref(cr.SourceDirectory)
			if cr.SourceCodeVersion != nil {
				f.Branch = cr.SourceCodeVersion.Value
			}
			if cc := cr.CodeConfiguration; cc != nil {
				f.ConfigSource = cc.ConfigurationSource
				if v := cc.CodeConfigurationValues; v != nil {
					f.Runtime, f.BuildCommand, f.StartCommand, f.Port = v.Runtime, deref(v.BuildCommand), deref(v.StartCommand), deref(v.Port)
					f.Env, f.Secrets = formatPairs(v.RuntimeEnvironmentVariables), formatPairs(v.RuntimeEnvironmentSecrets)
				}
			}
		}
		if img := src.ImageRepository; img != nil {
			f.Kind, f.ImageIdentifier, f.ImageType = "image", img.ImageIdentifier, img.ImageRepositoryType
			if ic := img.ImageConfiguration; ic != nil {
				f.StartCommand, f.Port = deref(ic.StartCommand), deref(ic.Port)
				f.Env, f.Secrets = formatPairs(ic.RuntimeEnvironmentVariables), formatPairs(ic.RuntimeEnvironmentSecrets)
			}
		}
	}
	if ic := cfg.Instance; ic != nil {
		f.CPU, f.Memory = deref(ic.Cpu), deref(ic.Memory)
	}
	if h := cfg.HealthCheck; h != nil {
		f.HealthProtocol, f.HealthPath = deref(h.Protocol), deref(h.Path)
		f.HealthInterval, f.HealthTimeout = itoa(h.Interval), itoa(h.Timeout)
		f.HealthyThreshold, f.UnhealthyThreshold = itoa(h.HealthyThreshold), itoa(h.UnhealthyThreshold)
	}
	return f
}

// parseServiceForm reads a submitted create or configuration form. kind,
// when set, is the service's source kind, which the configuration form
// does not ask for.
func parseServiceForm(r *http.Request, kind string) serviceForm {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f := serviceForm{
		Name: v("name"), Kind: v("kind"),
		RepositoryURL: v("repository_url"), Branch: v("branch"), SourceDirectory: v("source_directory"),
		ConfigSource: v("config_source"), Runtime: v("runtime"),
		BuildCommand: v("build_command"), StartCommand: v("start_command"), Port: v("port"),
		Env: r.PostFormValue("env"), Secrets: r.PostFormValue("secrets"),
		ImageIdentifier: v("image_identifier"), ImageType: v("image_type"),
		AutoDeploy: r.PostFormValue("auto_deploy") == "on",
		CPU:        v("cpu"), Memory: v("memory"),
		HealthProtocol: v("health_protocol"), HealthPath: v("health_path"),
		HealthInterval: v("health_interval"), HealthTimeout: v("health_timeout"),
		HealthyThreshold: v("healthy_threshold"), UnhealthyThreshold: v("unhealthy_threshold"),
		AutoScalingARN: v("autoscaling_arn"),
	}
	if kind != "" {
		f.Kind = kind
	}
	// The image fieldset has its own port and start command inputs, so
	// that a browser without the script (which disables the hidden
	// fieldset) still sends one value of each.
	if f.Kind == "image" {
		f.Port, f.StartCommand = v("image_port"), v("image_start_command")
	}
	return f
}

// source builds the SourceConfiguration; prev, when set, is the service's
// current one, whose members the form does not show are kept.
func (f serviceForm) source(prev *ar.SourceConfiguration) (*ar.SourceConfiguration, error) {
	env, err := parsePairs("Environment variables", f.Env)
	if err != nil {
		return nil, err
	}
	secrets, err := parsePairs("Secrets", f.Secrets)
	if err != nil {
		return nil, err
	}
	src := &ar.SourceConfiguration{AutoDeploymentsEnabled: &f.AutoDeploy}
	if prev != nil {
		src.AuthenticationConfiguration = prev.AuthenticationConfiguration
	}
	if f.Kind == "image" {
		src.ImageRepository = &ar.ImageRepository{
			ImageIdentifier:     f.ImageIdentifier,
			ImageRepositoryType: f.ImageType,
			ImageConfiguration: &ar.ImageConfiguration{
				StartCommand: optional(f.StartCommand), Port: optional(f.Port),
				RuntimeEnvironmentVariables: env, RuntimeEnvironmentSecrets: secrets,
			},
		}
		return src, nil
	}
	cr := &ar.CodeRepository{
		RepositoryUrl:     f.RepositoryURL,
		SourceCodeVersion: &ar.SourceCodeVersion{Type: ar.SourceCodeVersionTypeBranch, Value: f.Branch},
		SourceDirectory:   optional(f.SourceDirectory),
		CodeConfiguration: &ar.CodeConfiguration{ConfigurationSource: f.ConfigSource},
	}
	if f.ConfigSource == ar.ConfigurationSourceApi {
		cr.CodeConfiguration.CodeConfigurationValues = &ar.CodeConfigurationValues{
			Runtime: f.Runtime, BuildCommand: optional(f.BuildCommand), StartCommand: optional(f.StartCommand),
			Port: optional(f.Port), RuntimeEnvironmentVariables: env, RuntimeEnvironmentSecrets: secrets,
		}
	}
	src.CodeRepository = cr
	return src, nil
}

func (f serviceForm) instance() *ar.InstanceConfiguration {
	return &ar.InstanceConfiguration{Cpu: optional(f.CPU), Memory: optional(f.Memory)}
}

func (f serviceForm) healthCheck() (*ar.HealthCheckConfiguration, error) {
	h := &ar.HealthCheckConfiguration{Protocol: optional(f.HealthProtocol), Path: optional(f.HealthPath)}
	for _, n := range []struct {
		label, value string
		dst          **int64
	}{
		{"Health check interval", f.HealthInterval, &h.Interval},
		{"Health check timeout", f.HealthTimeout, &h.Timeout},
		{"Healthy threshold", f.HealthyThreshold, &h.HealthyThreshold},
		{"Unhealthy threshold", f.UnhealthyThreshold, &h.UnhealthyThreshold},
	} {
		if n.value == "" {
			continue
		}
		i, err := strconv.ParseInt(n.value, 10, 64)
		if err != nil {
			return nil, ar.InvalidRequest("%s must be a whole number, got %q", n.label, n.value)
		}
		*n.dst = &i
	}
	return h, nil
}

// createRequest is the CreateService call the create form asks for.
func (f serviceForm) createRequest() (*ar.CreateServiceRequest, error) {
	src, err := f.source(nil)
	if err != nil {
		return nil, err
	}
	hc, err := f.healthCheck()
	if err != nil {
		return nil, err
	}
	return &ar.CreateServiceRequest{
		ServiceName: f.Name, SourceConfiguration: src, InstanceConfiguration: f.instance(),
		HealthCheckConfiguration: hc, AutoScalingConfigurationArn: optional(f.AutoScalingARN),
	}, nil
}

// updateRequest is the UpdateService call the configuration form asks for.
func (f serviceForm) updateRequest(svc store.Service) (*ar.UpdateServiceRequest, error) {
	src, err := f.source(svc.Config.Source)
	if err != nil {
		return nil, err
	}
	hc, err := f.healthCheck()
	if err != nil {
		return nil, err
	}
	return &ar.UpdateServiceRequest{
		ServiceArn: svc.ARN, SourceConfiguration: src, InstanceConfiguration: f.instance(),
		HealthCheckConfiguration: hc, AutoScalingConfigurationArn: optional(f.AutoScalingARN),
	}, nil
}

// parsePairs reads NAME=value lines; blank lines and # comments are skipped.
func parsePairs(label, text string) (map[string]string, error) {
	var out map[string]string
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if k = strings.TrimSpace(k); !ok || k == "" {
			return nil, ar.InvalidRequest("%s, line %d: want NAME=value, got %q", label, i+1, line)
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = strings.TrimSpace(v)
	}
	return out, nil
}

func formatPairs(m map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, "%s=%s\n", k, m[k])
	}
	return b.String()
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func itoa(p *int64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatInt(*p, 10)
}
