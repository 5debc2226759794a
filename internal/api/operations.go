package api

import (
	"context"
	"fmt"

	jsonv2 "github.com/go-json-experiment/json"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
)

// Controller implements the App Runner operations Slipway serves.
type Controller interface {
	CreateService(context.Context, *ar.CreateServiceRequest) (*ar.CreateServiceResponse, error)
	DescribeService(context.Context, *ar.DescribeServiceRequest) (*ar.DescribeServiceResponse, error)
	ListServices(context.Context, *ar.ListServicesRequest) (*ar.ListServicesResponse, error)
	UpdateService(context.Context, *ar.UpdateServiceRequest) (*ar.UpdateServiceResponse, error)
	DeleteService(context.Context, *ar.DeleteServiceRequest) (*ar.DeleteServiceResponse, error)
	PauseService(context.Context, *ar.PauseServiceRequest) (*ar.PauseServiceResponse, error)
	ResumeService(context.Context, *ar.ResumeServiceRequest) (*ar.ResumeServiceResponse, error)
	StartDeployment(context.Context, *ar.StartDeploymentRequest) (*ar.StartDeploymentResponse, error)
	ListOperations(context.Context, *ar.ListOperationsRequest) (*ar.ListOperationsResponse, error)

	TagResource(context.Context, *ar.TagResourceRequest) (*ar.TagResourceResponse, error)
	UntagResource(context.Context, *ar.UntagResourceRequest) (*ar.UntagResourceResponse, error)
	ListTagsForResource(context.Context, *ar.ListTagsForResourceRequest) (*ar.ListTagsForResourceResponse, error)

	CreateAutoScalingConfiguration(context.Context, *ar.CreateAutoScalingConfigurationRequest) (*ar.CreateAutoScalingConfigurationResponse, error)
	DescribeAutoScalingConfiguration(context.Context, *ar.DescribeAutoScalingConfigurationRequest) (*ar.DescribeAutoScalingConfigurationResponse, error)
	ListAutoScalingConfigurations(context.Context, *ar.ListAutoScalingConfigurationsRequest) (*ar.ListAutoScalingConfigurationsResponse, error)
	DeleteAutoScalingConfiguration(context.Context, *ar.DeleteAutoScalingConfigurationRequest) (*ar.DeleteAutoScalingConfigurationResponse, error)
	UpdateDefaultAutoScalingConfiguration(context.Context, *ar.UpdateDefaultAutoScalingConfigurationRequest) (*ar.UpdateDefaultAutoScalingConfigurationResponse, error)
	ListServicesForAutoScalingConfiguration(context.Context, *ar.ListServicesForAutoScalingConfigurationRequest) (*ar.ListServicesForAutoScalingConfigurationResponse, error)

	CreateConnection(context.Context, *ar.CreateConnectionRequest) (*ar.CreateConnectionResponse, error)
	ListConnections(context.Context, *ar.ListConnectionsRequest) (*ar.ListConnectionsResponse, error)
	DeleteConnection(context.Context, *ar.DeleteConnectionRequest) (*ar.DeleteConnectionResponse, error)

	CreateObservabilityConfiguration(context.Context, *ar.CreateObservabilityConfigurationRequest) (*ar.CreateObservabilityConfigurationResponse, error)
	DescribeObservabilityConfiguration(context.Context, *ar.DescribeObservabilityConfigurationRequest) (*ar.DescribeObservabilityConfigurationResponse, error)
	ListObservabilityConfigurations(context.Context, *ar.ListObservabilityConfigurationsRequest) (*ar.ListObservabilityConfigurationsResponse, error)
	DeleteObservabilityConfiguration(context.Context, *ar.DeleteObservabilityConfigurationRequest) (*ar.DeleteObservabilityConfigurationResponse, error)

	CreateVpcConnector(context.Context, *ar.CreateVpcConnectorRequest) (*ar.CreateVpcConnectorResponse, error)
	DescribeVpcConnector(context.Context, *ar.DescribeVpcConnectorRequest) (*ar.DescribeVpcConnectorResponse, error)
	ListVpcConnectors(context.Context, *ar.ListVpcConnectorsRequest) (*ar.ListVpcConnectorsResponse, error)
	DeleteVpcConnector(context.Context, *ar.DeleteVpcConnectorRequest) (*ar.DeleteVpcConnectorResponse, error)

	CreateVpcIngressConnection(context.Context, *ar.CreateVpcIngressConnectionRequest) (*ar.CreateVpcIngressConnectionResponse, error)
	DescribeVpcIngressConnection(context.Context, *ar.DescribeVpcIngressConnectionRequest) (*ar.DescribeVpcIngressConnectionResponse, error)
	ListVpcIngressConnections(context.Context, *ar.ListVpcIngressConnectionsRequest) (*ar.ListVpcIngressConnectionsResponse, error)
	UpdateVpcIngressConnection(context.Context, *ar.UpdateVpcIngressConnectionRequest) (*ar.UpdateVpcIngressConnectionResponse, error)
	DeleteVpcIngressConnection(context.Context, *ar.DeleteVpcIngressConnectionRequest) (*ar.DeleteVpcIngressConnectionResponse, error)

	AssociateCustomDomain(context.Context, *ar.AssociateCustomDomainRequest) (*ar.AssociateCustomDomainResponse, error)
	DescribeCustomDomains(context.Context, *ar.DescribeCustomDomainsRequest) (*ar.DescribeCustomDomainsResponse, error)
	DisassociateCustomDomain(context.Context, *ar.DisassociateCustomDomainRequest) (*ar.DisassociateCustomDomainResponse, error)
}

// operations maps every modeled operation's name to its handler.
func operations(c Controller) map[string]handler {
	return withUnsupported(served(c), ar.Operations)
}

// served maps the operations Slipway serves to c's methods.
func served(c Controller) map[string]handler {
	return map[string]handler{
		"CreateService":   op(c.CreateService),
		"DescribeService": op(c.DescribeService),
		"ListServices":    op(c.ListServices),
		"UpdateService":   op(c.UpdateService),
		"DeleteService":   op(c.DeleteService),
		"PauseService":    op(c.PauseService),
		"ResumeService":   op(c.ResumeService),
		"StartDeployment": op(c.StartDeployment),
		"ListOperations":  op(c.ListOperations),

		"TagResource":         op(c.TagResource),
		"UntagResource":       op(c.UntagResource),
		"ListTagsForResource": op(c.ListTagsForResource),

		"CreateAutoScalingConfiguration":          op(c.CreateAutoScalingConfiguration),
		"DescribeAutoScalingConfiguration":        op(c.DescribeAutoScalingConfiguration),
		"ListAutoScalingConfigurations":           op(c.ListAutoScalingConfigurations),
		"DeleteAutoScalingConfiguration":          op(c.DeleteAutoScalingConfiguration),
		"UpdateDefaultAutoScalingConfiguration":   op(c.UpdateDefaultAutoScalingConfiguration),
		"ListServicesForAutoScalingConfiguration": op(c.ListServicesForAutoScalingConfiguration),

		"CreateConnection": op(c.CreateConnection),
		"ListConnections":  op(c.ListConnections),
		"DeleteConnection": op(c.DeleteConnection),

		"CreateObservabilityConfiguration":   op(c.CreateObservabilityConfiguration),
		"DescribeObservabilityConfiguration": op(c.DescribeObservabilityConfiguration),
		"ListObservabilityConfigurations":    op(c.ListObservabilityConfigurations),
		"DeleteObservabilityConfiguration":   op(c.DeleteObservabilityConfiguration),

		"CreateVpcConnector":   op(c.CreateVpcConnector),
		"DescribeVpcConnector": op(c.DescribeVpcConnector),
		"ListVpcConnectors":    op(c.ListVpcConnectors),
		"DeleteVpcConnector":   op(c.DeleteVpcConnector),

		"CreateVpcIngressConnection":   op(c.CreateVpcIngressConnection),
		"DescribeVpcIngressConnection": op(c.DescribeVpcIngressConnection),
		"ListVpcIngressConnections":    op(c.ListVpcIngressConnections),
		"UpdateVpcIngressConnection":   op(c.UpdateVpcIngressConnection),
		"DeleteVpcIngressConnection":   op(c.DeleteVpcIngressConnection),

		"AssociateCustomDomain":    op(c.AssociateCustomDomain),
		"DescribeCustomDomains":    op(c.DescribeCustomDomains),
		"DisassociateCustomDomain": op(c.DisassociateCustomDomain),
	}
}

// withUnsupported adds to ops a handler for each operation of model that
// ops lacks. Slipway serves all 37 of today's model; an operation a newer
// model adds answers with a clear error rather than
// UnknownOperationException, since the client is right to call it.
func withUnsupported(ops map[string]handler, model []ar.Operation) map[string]handler {
	for _, o := range model {
		if _, ok := ops[o.Name]; !ok {
			name := o.Name
			ops[name] = func(context.Context, []byte) (any, error) {
				return nil, ar.InvalidRequest("Slipway does not support %s yet", name)
			}
		}
	}
	return ops
}

// validator is what every generated input shape implements.
type validator interface{ Validate(path string) error }

// op adapts a typed operation to a handler: decode, validate, call.
func op[I any, O any, PI interface {
	*I
	validator
}](fn func(context.Context, *I) (*O, error)) handler {
	return func(ctx context.Context, body []byte) (any, error) {
		in := new(I)
		if len(body) > 0 {
			// Member names match case-sensitively, as in AWS's protocol
			// ("serviceArn" is an unknown member, not ServiceArn), which
			// encoding/json's case folding cannot do.
			if err := jsonv2.Unmarshal(body, in); err != nil {
				return nil, &wireError{code: "SerializationException", status: 400, msg: fmt.Sprintf("malformed request body: %v", err)}
			}
		}
		if err := PI(in).Validate(""); err != nil {
			return nil, err
		}
		return fn(ctx, in)
	}
}
