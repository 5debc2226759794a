package store

import (
	"errors"
	"reflect"
	"testing"
	"time"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
)

func TestConnections(t *testing.T) {
	s, _ := open(t)
	a := Connection{ARN: "arn:conn/a/1", Name: "a", ProviderType: ar.ProviderTypeGithub, Status: ar.ConnectionStatusAvailable, CreatedAt: t0}
	b := Connection{ARN: "arn:conn/b/2", Name: "b", ProviderType: ar.ProviderTypeBitbucket, Status: ar.ConnectionStatusAvailable, CreatedAt: t0.Add(time.Second)}
	update(t, s, func(tx *Tx) error {
		for _, c := range []Connection{b, a} {
			if err := tx.PutConnection(c); err != nil {
				return err
			}
		}
		a.Status = ar.ConnectionStatusDeleted
		return tx.PutConnection(a)
	})
	view(t, s, func(tx *Tx) error {
		if got, err := tx.Connection(a.ARN); err != nil || !reflect.DeepEqual(got, a) {
			t.Errorf("Connection(a) = %+v, %v; want %+v", got, err, a)
		}
		if _, err := tx.Connection("arn:conn/none"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Connection(none) err = %v, want ErrNotFound", err)
		}
		for _, tt := range []struct {
			name string
			want []Connection
		}{{"", []Connection{a, b}}, {"b", []Connection{b}}, {"c", nil}} {
			if got, err := tx.Connections(tt.name); err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Connections(%q) = %+v, %v; want %+v", tt.name, got, err, tt.want)
			}
		}
		return nil
	})
}

func TestObservabilityConfigurations(t *testing.T) {
	s, _ := open(t)
	r1 := ObservabilityConfiguration{ARN: "arn:obs/x/1/a", Name: "x", Revision: 1, Status: ar.ObservabilityConfigurationStatusActive,
		TraceVendor: ar.TracingVendorAwsxray, CreatedAt: t0}
	r2 := ObservabilityConfiguration{ARN: "arn:obs/x/2/b", Name: "x", Revision: 2, Latest: true, Status: ar.ObservabilityConfigurationStatusActive,
		CreatedAt: t0.Add(time.Second)}
	other := ObservabilityConfiguration{ARN: "arn:obs/a/1/c", Name: "a", Revision: 1, Latest: true, Status: ar.ObservabilityConfigurationStatusActive,
		CreatedAt: t0.Add(2 * time.Second)}
	update(t, s, func(tx *Tx) error {
		for _, o := range []ObservabilityConfiguration{r2, other, r1} {
			if err := tx.PutObservabilityConfiguration(o); err != nil {
				return err
			}
		}
		r2.Status, r2.Latest, r2.DeletedAt = ar.ObservabilityConfigurationStatusInactive, false, t0.Add(time.Hour)
		return tx.PutObservabilityConfiguration(r2)
	})
	view(t, s, func(tx *Tx) error {
		if got, err := tx.ObservabilityConfiguration(r2.ARN); err != nil || !reflect.DeepEqual(got, r2) {
			t.Errorf("ObservabilityConfiguration(r2) = %+v, %v; want %+v", got, err, r2)
		}
		if got, err := tx.ObservabilityConfigurations(""); err != nil || !reflect.DeepEqual(got, []ObservabilityConfiguration{other, r1, r2}) {
			t.Errorf("ObservabilityConfigurations(\"\") = %+v, %v; want a, x/1, x/2", got, err)
		}
		if got, err := tx.ObservabilityConfigurations("x"); err != nil || !reflect.DeepEqual(got, []ObservabilityConfiguration{r1, r2}) {
			t.Errorf("ObservabilityConfigurations(x) = %+v, %v; want x/1, x/2", got, err)
		}
		return nil
	})
}

func TestVpcConnectors(t *testing.T) {
	s, _ := open(t)
	v := VpcConnector{ARN: "arn:vpc/v/1/a", Name: "v", Revision: 1, Status: ar.VpcConnectorStatusActive,
		Subnets: []string{"subnet-1", "subnet-2"}, SecurityGroups: []string{"sg-1"}, CreatedAt: t0}
	bare := VpcConnector{ARN: "arn:vpc/b/1/b", Name: "b", Revision: 1, Status: ar.VpcConnectorStatusActive,
		Subnets: []string{"subnet-3"}, CreatedAt: t0}
	update(t, s, func(tx *Tx) error {
		if err := tx.PutVpcConnector(v); err != nil {
			return err
		}
		if err := tx.PutVpcConnector(bare); err != nil {
			return err
		}
		v.Status, v.DeletedAt = ar.VpcConnectorStatusInactive, t0.Add(time.Minute)
		return tx.PutVpcConnector(v)
	})
	bare.SecurityGroups = []string{} // stored as a JSON list
	view(t, s, func(tx *Tx) error {
		if got, err := tx.VpcConnector(v.ARN); err != nil || !reflect.DeepEqual(got, v) {
			t.Errorf("VpcConnector(v) = %+v, %v; want %+v", got, err, v)
		}
		if got, err := tx.VpcConnectors(""); err != nil || !reflect.DeepEqual(got, []VpcConnector{bare, v}) {
			t.Errorf("VpcConnectors = %+v, %v; want b, v", got, err)
		}
		if _, err := tx.VpcConnector("arn:vpc/none"); !errors.Is(err, ErrNotFound) {
			t.Errorf("VpcConnector(none) err = %v, want ErrNotFound", err)
		}
		return nil
	})
}

func TestVpcIngressConnections(t *testing.T) {
	s, _ := open(t)
	a := VpcIngressConnection{ARN: "arn:vic/a/1", Name: "a", ServiceARN: "arn:svc/one", Status: ar.VpcIngressConnectionStatusAvailable,
		DomainName: "a.localhost", VpcID: "vpc-1", VpcEndpointID: "vpce-1", CreatedAt: t0}
	b := VpcIngressConnection{ARN: "arn:vic/b/2", Name: "b", ServiceARN: "arn:svc/two", Status: ar.VpcIngressConnectionStatusAvailable,
		DomainName: "b.localhost", VpcID: "vpc-1", VpcEndpointID: "vpce-2", CreatedAt: t0.Add(time.Second)}
	update(t, s, func(tx *Tx) error {
		if err := tx.PutVpcIngressConnection(b); err != nil {
			return err
		}
		if err := tx.PutVpcIngressConnection(a); err != nil {
			return err
		}
		a.VpcID, a.VpcEndpointID = "vpc-9", "vpce-9"
		return tx.PutVpcIngressConnection(a)
	})
	view(t, s, func(tx *Tx) error {
		if got, err := tx.VpcIngressConnection(a.ARN); err != nil || !reflect.DeepEqual(got, a) {
			t.Errorf("VpcIngressConnection(a) = %+v, %v; want %+v", got, err, a)
		}
		if got, err := tx.VpcIngressConnections(""); err != nil || !reflect.DeepEqual(got, []VpcIngressConnection{a, b}) {
			t.Errorf("VpcIngressConnections = %+v, %v; want a, b", got, err)
		}
		if got, err := tx.VpcIngressConnections("arn:svc/two"); err != nil || !reflect.DeepEqual(got, []VpcIngressConnection{b}) {
			t.Errorf("VpcIngressConnections(two) = %+v, %v; want b", got, err)
		}
		return nil
	})
}

func TestServicesUsing(t *testing.T) {
	s, _ := open(t)
	const obsA, obsB, vpc, conn = "arn:obs/a/1/x", "arn:obs/b/1/y", "arn:vpc/v/1/z", "arn:conn/c/w"
	one := testService("one", t0)
	one.Config.Observability = &ar.ServiceObservabilityConfiguration{ObservabilityEnabled: true, ObservabilityConfigurationArn: ptr(obsA)}
	one.Config.Network = &ar.NetworkConfiguration{EgressConfiguration: &ar.EgressConfiguration{EgressType: ptr(ar.EgressTypeVpc), VpcConnectorArn: ptr(vpc)}}
	one.Config.Source.AuthenticationConfiguration = &ar.AuthenticationConfiguration{ConnectionArn: ptr(conn)}
	// two deploys obsB: its pending update counts, its finished one does not.
	two := testService("two", t0.Add(time.Second))
	pending := two.Config
	pending.Observability = &ar.ServiceObservabilityConfiguration{ObservabilityEnabled: true, ObservabilityConfigurationArn: ptr(obsB)}
	three := testService("three", t0.Add(2*time.Second))
	finished := three.Config
	finished.Network = one.Config.Network
	dead := testService("dead", t0.Add(3*time.Second))
	dead.Config = one.Config
	dead.DeletedAt, dead.Status = t0.Add(time.Hour), ar.ServiceStatusDeleted
	update(t, s, func(tx *Tx) error {
		for _, svc := range []Service{one, two, three, dead} {
			if err := tx.PutService(svc); err != nil {
				return err
			}
		}
		if err := tx.PutOperation(Operation{ID: "op-two", ServiceARN: two.ARN, Type: ar.OperationTypeUpdateService,
			Status: ar.OperationStatusInProgress, StartedAt: t0, Config: &pending}); err != nil {
			return err
		}
		return tx.PutOperation(Operation{ID: "op-three", ServiceARN: three.ARN, Type: ar.OperationTypeUpdateService,
			Status: ar.OperationStatusRollbackSucceeded, StartedAt: t0, Config: &finished})
	})
	tests := []struct {
		path, arn string
		want      []string
	}{
		{PathObservability, obsA, []string{one.ARN}},
		{PathObservability, obsB, []string{two.ARN}},
		{PathVpcConnector, vpc, []string{one.ARN}},
		{PathConnection, conn, []string{one.ARN}},
		{PathVpcConnector, obsA, nil},
		{PathObservability, "arn:obs/none", nil},
	}
	view(t, s, func(tx *Tx) error {
		for _, tt := range tests {
			got, err := tx.ServicesUsing(tt.path, tt.arn)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ServicesUsing(%s, %q) = %q, want %q", tt.path, tt.arn, got, tt.want)
			}
		}
		return nil
	})
}
