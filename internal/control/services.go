package control

import (
	"context"
	"errors"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

// CreateService records a new service and its CREATE_SERVICE operation.
func (c *Control) CreateService(ctx context.Context, in *ar.CreateServiceRequest) (*ar.CreateServiceResponse, error) {
	cfg := store.Config{
		Source:                      in.SourceConfiguration,
		Instance:                    in.InstanceConfiguration,
		HealthCheck:                 in.HealthCheckConfiguration,
		Network:                     in.NetworkConfiguration,
		Observability:               in.ObservabilityConfiguration,
		Encryption:                  in.EncryptionConfiguration,
		AutoScalingConfigurationArn: deref(in.AutoScalingConfigurationArn),
	}
	if err := checkConfig(&cfg); err != nil {
		return nil, err
	}
	now := c.now()
	id := ar.NewID()
	svc := store.Service{
		ARN:       ar.ServiceARN(c.cfg.Region, c.cfg.Account, in.ServiceName, id),
		ID:        id,
		Name:      in.ServiceName,
		Status:    ar.ServiceStatusOperationInProgress,
		CreatedAt: now,
		UpdatedAt: now,
		Config:    cfg,
	}
	op := c.newOperation(ctx, svc.ARN, ar.OperationTypeCreateService, &svc.Config)
	var out ar.Service
	err := c.store.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.ServiceByName(in.ServiceName); err == nil {
			return ar.InvalidRequest("Service with the provided name already exists: %s", in.ServiceName)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		n, err := tx.CountLiveServices()
		if err != nil {
			return err
		}
		if n >= c.cfg.MaxServices {
			return ar.QuotaExceeded("you have reached the maximum of %d services; delete one or raise --max-services", c.cfg.MaxServices)
		}
		asc, err := resolveServiceASC(tx, svc.Config.AutoScalingConfigurationArn)
		if err != nil {
			return err
		}
		svc.Config.AutoScalingConfigurationArn = asc.ARN
		if err := resolveServiceRefs(tx, &svc.Config, true, true, true); err != nil {
			return err
		}
		for {
			svc.Host = c.newHost()
			if _, err := tx.ServiceByHost(svc.Host); errors.Is(err, store.ErrNotFound) {
				break
			}
		}
		if err := tx.PutService(svc); err != nil {
			return err
		}
		if err := tx.PutOperation(op); err != nil {
			return err
		}
		if err := putTags(tx, svc.ARN, in.Tags); err != nil {
			return err
		}
		out, err = c.describe(tx, svc)
		return err
	})
	if err != nil {
		return nil, err
	}
	c.wake()
	return &ar.CreateServiceResponse{Service: &out, OperationId: op.ID}, nil
}

func (c *Control) newOperation(ctx context.Context, serviceARN, typ string, cfg *store.Config) store.Operation {
	now := c.now()
	return store.Operation{
		ID:         ar.NewOperationID(),
		ServiceARN: serviceARN,
		Type:       typ,
		Status:     ar.OperationStatusPending,
		StartedAt:  now,
		UpdatedAt:  now,
		Config:     cfg,
		Trigger:    triggerOf(ctx),
	}
}

// DescribeService returns a service, including one recently deleted.
func (c *Control) DescribeService(ctx context.Context, in *ar.DescribeServiceRequest) (*ar.DescribeServiceResponse, error) {
	var out ar.Service
	err := c.store.View(ctx, func(tx *store.Tx) error {
		svc, err := tx.Service(in.ServiceArn)
		if errors.Is(err, store.ErrNotFound) {
			return ar.NotFound("Service not found: %s", in.ServiceArn)
		}
		if err != nil {
			return err
		}
		out, err = c.describe(tx, svc)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &ar.DescribeServiceResponse{Service: &out}, nil
}

// ListServices lists live services in creation order.
func (c *Control) ListServices(ctx context.Context, in *ar.ListServicesRequest) (*ar.ListServicesResponse, error) {
	var svcs []store.Service
	if err := c.store.View(ctx, func(tx *store.Tx) (err error) {
		svcs, err = tx.Services(false)
		return err
	}); err != nil {
		return nil, err
	}
	page, next, err := paginate(svcs, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &ar.ListServicesResponse{ServiceSummaryList: []ar.ServiceSummary{}, NextToken: next}
	for _, s := range page {
		out.ServiceSummaryList = append(out.ServiceSummaryList, ar.ServiceSummary{
			ServiceName: ptr(s.Name),
			ServiceId:   ptr(s.ID),
			ServiceArn:  ptr(s.ARN),
			ServiceUrl:  ptr(c.ServiceURL(s.Host)),
			CreatedAt:   timePtr(s.CreatedAt),
			UpdatedAt:   timePtr(s.UpdatedAt),
			Status:      ptr(s.Status),
		})
	}
	return out, nil
}

// UpdateService records an UPDATE_SERVICE operation that deploys the
// service with the changed configuration. Members left out keep their
// value. The service shows the new configuration only once it deployed.
func (c *Control) UpdateService(ctx context.Context, in *ar.UpdateServiceRequest) (*ar.UpdateServiceResponse, error) {
	var (
		out ar.Service
		op  store.Operation
	)
	err := c.store.Update(ctx, func(tx *store.Tx) error {
		svc, err := service(tx, in.ServiceArn)
		if err != nil {
			return err
		}
		if svc.Status != ar.ServiceStatusRunning && svc.Status != ar.ServiceStatusCreateFailed {
			return ar.InvalidState("Service %s is %s; it can be updated only when RUNNING or CREATE_FAILED", svc.Name, svc.Status)
		}
		cfg := svc.Config
		if in.SourceConfiguration != nil {
			cfg.Source = in.SourceConfiguration
		}
		if in.InstanceConfiguration != nil {
			cfg.Instance = in.InstanceConfiguration
		}
		if in.HealthCheckConfiguration != nil {
			cfg.HealthCheck = in.HealthCheckConfiguration
		}
		if in.NetworkConfiguration != nil {
			cfg.Network = in.NetworkConfiguration
		}
		if in.ObservabilityConfiguration != nil {
			cfg.Observability = in.ObservabilityConfiguration
		}
		if err := checkConfig(&cfg); err != nil {
			return err
		}
		// Only what the request changes is checked: a configuration kept
		// as it was stays valid, and services created before Slipway kept
		// these resources may name ones it never saw.
		if err := resolveServiceRefs(tx, &cfg, in.SourceConfiguration != nil, in.ObservabilityConfiguration != nil, in.NetworkConfiguration != nil); err != nil {
			return err
		}
		if in.AutoScalingConfigurationArn != nil {
			asc, err := resolveServiceASC(tx, *in.AutoScalingConfigurationArn)
			if err != nil {
				return err
			}
			cfg.AutoScalingConfigurationArn = asc.ARN
		}
		op = c.newOperation(ctx, svc.ARN, ar.OperationTypeUpdateService, &cfg)
		if err := c.beginLocked(tx, &svc, op); err != nil {
			return err
		}
		out, err = c.describe(tx, svc)
		return err
	})
	if err != nil {
		return nil, err
	}
	c.wake()
	return &ar.UpdateServiceResponse{Service: &out, OperationId: op.ID}, nil
}

// beginLocked records op and marks the service busy, inside tx.
func (c *Control) beginLocked(tx *store.Tx, svc *store.Service, op store.Operation) error {
	svc.Status = ar.ServiceStatusOperationInProgress
	svc.UpdatedAt = c.now()
	if err := tx.PutService(*svc); err != nil {
		return err
	}
	return tx.PutOperation(op)
}

// transition starts an operation of type typ on a service whose status is
// one of from.
func (c *Control) transition(ctx context.Context, arn, typ string, from ...string) (ar.Service, string, error) {
	var (
		out ar.Service
		op  store.Operation
	)
	err := c.store.Update(ctx, func(tx *store.Tx) error {
		svc, err := service(tx, arn)
		if err != nil {
			return err
		}
		allowed := false
		for _, s := range from {
			allowed = allowed || svc.Status == s
		}
		if !allowed {
			return ar.InvalidState("can't %s service %s: its status is %s (needs %s)", verb(typ), svc.Name, svc.Status, orList(from))
		}
		if typ == ar.OperationTypeDeleteService {
			if err := refuseVpcIngress(tx, svc); err != nil {
				return err
			}
		}
		op = c.newOperation(ctx, svc.ARN, typ, nil)
		if err := c.beginLocked(tx, &svc, op); err != nil {
			return err
		}
		out, err = c.describe(tx, svc)
		return err
	})
	if err != nil {
		return out, "", err
	}
	c.wake()
	return out, op.ID, nil
}

// DeleteService records a DELETE_SERVICE operation.
func (c *Control) DeleteService(ctx context.Context, in *ar.DeleteServiceRequest) (*ar.DeleteServiceResponse, error) {
	svc, opID, err := c.transition(ctx, in.ServiceArn, ar.OperationTypeDeleteService,
		ar.ServiceStatusRunning, ar.ServiceStatusPaused, ar.ServiceStatusCreateFailed, ar.ServiceStatusDeleteFailed)
	if err != nil {
		return nil, err
	}
	return &ar.DeleteServiceResponse{Service: &svc, OperationId: opID}, nil
}

// PauseService records a PAUSE_SERVICE operation.
func (c *Control) PauseService(ctx context.Context, in *ar.PauseServiceRequest) (*ar.PauseServiceResponse, error) {
	svc, opID, err := c.transition(ctx, in.ServiceArn, ar.OperationTypePauseService, ar.ServiceStatusRunning)
	if err != nil {
		return nil, err
	}
	return &ar.PauseServiceResponse{Service: &svc, OperationId: ptr(opID)}, nil
}

// ResumeService records a RESUME_SERVICE operation.
func (c *Control) ResumeService(ctx context.Context, in *ar.ResumeServiceRequest) (*ar.ResumeServiceResponse, error) {
	svc, opID, err := c.transition(ctx, in.ServiceArn, ar.OperationTypeResumeService, ar.ServiceStatusPaused)
	if err != nil {
		return nil, err
	}
	return &ar.ResumeServiceResponse{Service: &svc, OperationId: ptr(opID)}, nil
}

// StartDeployment records a START_DEPLOYMENT operation of the branch head.
func (c *Control) StartDeployment(ctx context.Context, in *ar.StartDeploymentRequest) (*ar.StartDeploymentResponse, error) {
	_, opID, err := c.transition(ctx, in.ServiceArn, ar.OperationTypeStartDeployment, ar.ServiceStatusRunning)
	if err != nil {
		return nil, err
	}
	return &ar.StartDeploymentResponse{OperationId: opID}, nil
}

// ListOperations lists a service's operations, newest first.
func (c *Control) ListOperations(ctx context.Context, in *ar.ListOperationsRequest) (*ar.ListOperationsResponse, error) {
	var ops []store.Operation
	err := c.store.View(ctx, func(tx *store.Tx) error {
		if _, err := tx.Service(in.ServiceArn); errors.Is(err, store.ErrNotFound) {
			return ar.NotFound("Service not found: %s", in.ServiceArn)
		} else if err != nil {
			return err
		}
		var err error
		ops, err = tx.Operations(in.ServiceArn)
		return err
	})
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(ops, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &ar.ListOperationsResponse{OperationSummaryList: []ar.OperationSummary{}, NextToken: next}
	for _, o := range page {
		out.OperationSummaryList = append(out.OperationSummaryList, ar.OperationSummary{
			Id:        ptr(o.ID),
			Type:      ptr(o.Type),
			Status:    ptr(o.Status),
			TargetArn: ptr(o.ServiceARN),
			StartedAt: timePtr(o.StartedAt),
			EndedAt:   timePtr(o.EndedAt),
			UpdatedAt: timePtr(o.UpdatedAt),
		})
	}
	return out, nil
}

// resolveServiceRefs checks the resources a service configuration refers
// to, which must exist and be active: its connection when source is set,
// its observability configuration when observability is, its VPC
// connector when network is.
func resolveServiceRefs(tx *store.Tx, cfg *store.Config, source, observability, network bool) error {
	if source {
		if err := resolveServiceConnection(tx, cfg.Source); err != nil {
			return err
		}
	}
	if observability {
		if err := resolveServiceObservability(tx, cfg.Observability); err != nil {
			return err
		}
	}
	if network {
		return resolveServiceVpcConnector(tx, cfg.Network)
	}
	return nil
}
