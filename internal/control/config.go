package control

import (
	"strconv"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

// App Runner's documented defaults.
const (
	defaultPort               = "8080"
	defaultHealthPath         = "/"
	defaultHealthInterval     = 5
	defaultHealthTimeout      = 2
	defaultHealthyThreshold   = 1
	defaultUnhealthyThreshold = 5
)

// checkConfig validates what the model cannot express (one source kind,
// Cpu/Memory pairs, ports, relations between members) and fills in App
// Runner's defaults, so that DescribeService shows what is in force.
func checkConfig(cfg *store.Config) error {
	if err := checkSource(cfg.Source); err != nil {
		return err
	}
	if cfg.Instance == nil {
		cfg.Instance = &ar.InstanceConfiguration{}
	}
	if err := checkInstance(cfg.Instance); err != nil {
		return err
	}
	if cfg.HealthCheck == nil {
		cfg.HealthCheck = &ar.HealthCheckConfiguration{}
	}
	defaultHealthCheck(cfg.HealthCheck)
	if cfg.Network == nil {
		cfg.Network = &ar.NetworkConfiguration{}
	}
	if err := defaultNetwork(cfg.Network); err != nil {
		return err
	}
	// Blocks that have no default in App Runner's Describe (observability,
	// encryption, authentication, code and image configurations) stay
	// absent unless given: Terraform's provider compares them with its
	// configuration, and a block it never set is drift for ever.
	if o := cfg.Observability; o != nil && o.ObservabilityEnabled && deref(o.ObservabilityConfigurationArn) == "" {
		return ar.InvalidRequest("ObservabilityConfigurationArn is required when ObservabilityEnabled is true")
	}
	return nil
}

func checkSource(src *ar.SourceConfiguration) error {
	if src == nil {
		return ar.InvalidRequest("SourceConfiguration is required")
	}
	switch {
	case src.CodeRepository == nil && src.ImageRepository == nil:
		return ar.InvalidRequest("SourceConfiguration must have a CodeRepository or an ImageRepository")
	case src.CodeRepository != nil && src.ImageRepository != nil:
		return ar.InvalidRequest("SourceConfiguration must have either a CodeRepository or an ImageRepository, not both")
	case src.CodeRepository != nil:
		if src.AutoDeploymentsEnabled == nil {
			src.AutoDeploymentsEnabled = ptr(true)
		}
		return checkCode(src.CodeRepository)
	default:
		img := src.ImageRepository
		public := img.ImageRepositoryType == ar.ImageRepositoryTypeEcrPublic
		if src.AutoDeploymentsEnabled == nil {
			src.AutoDeploymentsEnabled = ptr(!public)
		} else if *src.AutoDeploymentsEnabled && public {
			return ar.InvalidRequest("AutoDeploymentsEnabled can't be true for an ECR_PUBLIC image repository: " +
				"automatic deployments need a private (ECR) repository")
		}
		if ic := img.ImageConfiguration; ic != nil && ic.Port != nil {
			return checkPort("SourceConfiguration.ImageRepository.ImageConfiguration.Port", *ic.Port)
		}
		return nil
	}
}

func checkCode(code *ar.CodeRepository) error {
	if code.SourceDirectory != nil {
		if _, err := ar.CleanSourceDirectory(*code.SourceDirectory); err != nil {
			return err
		}
	}
	// Without a CodeConfiguration, apprunner.yaml configures the build.
	cc := code.CodeConfiguration
	if cc != nil && cc.ConfigurationSource == ar.ConfigurationSourceApi {
		v := cc.CodeConfigurationValues
		if v == nil {
			return ar.InvalidRequest("CodeConfigurationValues is required when ConfigurationSource is API")
		}
		if deref(v.StartCommand) == "" {
			return ar.InvalidRequest("CodeConfigurationValues.StartCommand is required when ConfigurationSource is API")
		}
		if v.Port == nil {
			v.Port = ptr(defaultPort)
		}
		return checkPort("SourceConfiguration.CodeRepository.CodeConfiguration.CodeConfigurationValues.Port", *v.Port)
	}
	return nil
}

func checkPort(field, p string) error {
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return ar.InvalidRequest("%s must be a port number from 1 to 65535, got %q", field, p)
	}
	return nil
}

func checkInstance(ic *ar.InstanceConfiguration) error {
	cpu, mem := deref(ic.Cpu), deref(ic.Memory)
	if cpu == "" {
		cpu = ar.DefaultCPU
	}
	if mem == "" {
		mem = ar.DefaultMemory
	}
	if err := ar.ValidInstancePair(cpu, mem); err != nil {
		return ar.InvalidRequest("%v", err)
	}
	// Describe shows the canonical numeric form, as App Runner does.
	c, _ := ar.ParseCPU(cpu)
	m, _ := ar.ParseMemory(mem)
	ic.Cpu, ic.Memory = ptr(strconv.Itoa(c)), ptr(strconv.Itoa(m))
	return nil
}

func defaultHealthCheck(h *ar.HealthCheckConfiguration) {
	if h.Protocol == nil {
		h.Protocol = ptr(ar.HealthCheckProtocolTcp)
	}
	if h.Path == nil {
		h.Path = ptr(defaultHealthPath)
	}
	if h.Interval == nil {
		h.Interval = ptr[int64](defaultHealthInterval)
	}
	if h.Timeout == nil {
		h.Timeout = ptr[int64](defaultHealthTimeout)
	}
	if h.HealthyThreshold == nil {
		h.HealthyThreshold = ptr[int64](defaultHealthyThreshold)
	}
	if h.UnhealthyThreshold == nil {
		h.UnhealthyThreshold = ptr[int64](defaultUnhealthyThreshold)
	}
}

func defaultNetwork(n *ar.NetworkConfiguration) error {
	if n.EgressConfiguration == nil {
		n.EgressConfiguration = &ar.EgressConfiguration{}
	}
	if n.EgressConfiguration.EgressType == nil {
		n.EgressConfiguration.EgressType = ptr(ar.EgressTypeDefault)
	}
	if *n.EgressConfiguration.EgressType == ar.EgressTypeVpc && deref(n.EgressConfiguration.VpcConnectorArn) == "" {
		return ar.InvalidRequest("VpcConnectorArn is required when EgressType is VPC")
	}
	if n.IngressConfiguration == nil {
		n.IngressConfiguration = &ar.IngressConfiguration{IsPubliclyAccessible: true}
	}
	if n.IpAddressType == nil {
		n.IpAddressType = ptr(ar.IpAddressTypeIpv4)
	}
	return nil
}
