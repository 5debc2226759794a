package control

import (
	"strings"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

// describe renders a stored service as the API's Service shape.
func (c *Control) describe(tx *store.Tx, s store.Service) (ar.Service, error) {
	out := ar.Service{
		ServiceName:                s.Name,
		ServiceId:                  s.ID,
		ServiceArn:                 s.ARN,
		ServiceUrl:                 ptr(c.ServiceURL(s.Host)),
		CreatedAt:                  ar.NewTime(s.CreatedAt),
		UpdatedAt:                  ar.NewTime(s.UpdatedAt),
		DeletedAt:                  timePtr(s.DeletedAt),
		Status:                     s.Status,
		SourceConfiguration:        s.Config.Source,
		InstanceConfiguration:      s.Config.Instance,
		EncryptionConfiguration:    s.Config.Encryption,
		HealthCheckConfiguration:   s.Config.HealthCheck,
		NetworkConfiguration:       s.Config.Network,
		ObservabilityConfiguration: s.Config.Observability,
	}
	if s.Config.AutoScalingConfigurationArn != "" {
		asc, err := tx.AutoScalingConfiguration(s.Config.AutoScalingConfigurationArn)
		if err != nil {
			return out, err
		}
		sum, err := ascSummary(tx, asc)
		if err != nil {
			return out, err
		}
		out.AutoScalingConfigurationSummary = &sum
	}
	return out, nil
}

func verb(opType string) string {
	switch opType {
	case ar.OperationTypeStartDeployment:
		return "deploy"
	case ar.OperationTypePauseService:
		return "pause"
	case ar.OperationTypeResumeService:
		return "resume"
	case ar.OperationTypeDeleteService:
		return "delete"
	case ar.OperationTypeUpdateService:
		return "update"
	}
	return strings.ToLower(opType)
}

func orList(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}
