package control

import (
	"context"
	"fmt"
	"strings"
	"testing"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
)

func (f *fixture) createVpcConnector(t *testing.T, name string) *ar.VpcConnector {
	t.Helper()
	out, err := f.c.CreateVpcConnector(context.Background(), &ar.CreateVpcConnectorRequest{
		VpcConnectorName: name, Subnets: []string{"subnet-1", "subnet-2"}, SecurityGroups: []string{"sg-1"}})
	if err != nil {
		t.Fatalf("CreateVpcConnector(%s): %v", name, err)
	}
	return out.VpcConnector
}

func TestVpcConnectors(t *testing.T) {
	f := newFixture(t, 10)
	ctx := context.Background()
	v := f.createVpcConnector(t, "egress")
	if !strings.HasPrefix(deref(v.VpcConnectorArn), "arn:aws:apprunner:us-east-1:123456789012:vpcconnector/egress/1/") ||
		v.VpcConnectorRevision != 1 || deref(v.Status) != ar.VpcConnectorStatusActive ||
		strings.Join(v.Subnets, ",") != "subnet-1,subnet-2" || strings.Join(v.SecurityGroups, ",") != "sg-1" {
		t.Errorf("created = %+v, want egress revision 1, ACTIVE, with its subnets and security groups", v)
	}
	_, err := f.c.CreateVpcConnector(ctx, &ar.CreateVpcConnectorRequest{VpcConnectorName: "egress", Subnets: []string{"subnet-3"}})
	wantAPIError(t, err, ar.CodeInvalidRequest, "already exists")
	_, err = f.c.CreateVpcConnector(ctx, &ar.CreateVpcConnectorRequest{VpcConnectorName: "nosubnets", Subnets: []string{}})
	wantAPIError(t, err, ar.CodeInvalidRequest, "Subnets")
	bare, err := f.c.CreateVpcConnector(ctx, &ar.CreateVpcConnectorRequest{VpcConnectorName: "bare", Subnets: []string{"subnet-9"}})
	if err != nil {
		t.Fatal(err)
	}

	got, err := f.c.DescribeVpcConnector(ctx, &ar.DescribeVpcConnectorRequest{VpcConnectorArn: deref(v.VpcConnectorArn)})
	if err != nil || deref(got.VpcConnector.VpcConnectorName) != "egress" {
		t.Errorf("Describe = %+v, %v", got, err)
	}
	// Only full ARNs name a VPC connector.
	_, err = f.c.DescribeVpcConnector(ctx, &ar.DescribeVpcConnectorRequest{VpcConnectorArn: "arn:aws:apprunner:us-east-1:123456789012:vpcconnector/egress"})
	wantAPIError(t, err, ar.CodeResourceNotFound)

	list, err := f.c.ListVpcConnectors(ctx, &ar.ListVpcConnectorsRequest{MaxResults: ptrTo[int64](1)})
	if err != nil || len(list.VpcConnectors) != 1 || deref(list.VpcConnectors[0].VpcConnectorName) != "bare" || list.NextToken == nil {
		t.Fatalf("first page = %+v, %v; want bare and a token", list, err)
	}
	list, err = f.c.ListVpcConnectors(ctx, &ar.ListVpcConnectorsRequest{MaxResults: ptrTo[int64](1), NextToken: list.NextToken})
	if err != nil || len(list.VpcConnectors) != 1 || deref(list.VpcConnectors[0].VpcConnectorName) != "egress" || list.NextToken != nil {
		t.Fatalf("second page = %+v, %v; want egress and no token", list, err)
	}

	del, err := f.c.DeleteVpcConnector(ctx, &ar.DeleteVpcConnectorRequest{VpcConnectorArn: deref(bare.VpcConnector.VpcConnectorArn)})
	if err != nil || deref(del.VpcConnector.Status) != ar.VpcConnectorStatusInactive || del.VpcConnector.DeletedAt == nil {
		t.Fatalf("Delete = %+v, %v; want INACTIVE with DeletedAt", del, err)
	}
	_, err = f.c.DeleteVpcConnector(ctx, &ar.DeleteVpcConnectorRequest{VpcConnectorArn: deref(bare.VpcConnector.VpcConnectorArn)})
	wantAPIError(t, err, ar.CodeResourceNotFound)
	list, _ = f.c.ListVpcConnectors(ctx, &ar.ListVpcConnectorsRequest{})
	if len(list.VpcConnectors) != 1 {
		t.Errorf("listed %d connectors after a delete, want 1", len(list.VpcConnectors))
	}
	// A deleted name can be created again.
	if again := f.createVpcConnector(t, "bare"); deref(again.VpcConnectorArn) == deref(bare.VpcConnector.VpcConnectorArn) {
		t.Error("recreated connector reuses its ARN")
	}
}

func TestVpcConnectorQuota(t *testing.T) {
	f := newFixture(t, 10)
	for i := range maxVpcConnectors {
		f.createVpcConnector(t, fmt.Sprintf("vpc-%02d", i))
	}
	_, err := f.c.CreateVpcConnector(context.Background(), &ar.CreateVpcConnectorRequest{VpcConnectorName: "one-more", Subnets: []string{"s"}})
	wantAPIError(t, err, ar.CodeServiceQuotaExceeded)
}

func TestServiceVpcConnectorReference(t *testing.T) {
	f := newFixture(t, 10)
	ctx := context.Background()
	v := f.createVpcConnector(t, "egress")
	gone := f.createVpcConnector(t, "gone")
	if _, err := f.c.DeleteVpcConnector(ctx, &ar.DeleteVpcConnectorRequest{VpcConnectorArn: deref(gone.VpcConnectorArn)}); err != nil {
		t.Fatal(err)
	}
	withVpc := func(name, arn string) *ar.CreateServiceRequest {
		r := codeRequest(name)
		r.NetworkConfiguration = &ar.NetworkConfiguration{EgressConfiguration: &ar.EgressConfiguration{
			EgressType: ptrTo(ar.EgressTypeVpc), VpcConnectorArn: ptrTo(arn)}}
		return r
	}
	for _, tt := range []struct{ name, arn, msg string }{
		{"unknown", "arn:aws:apprunner:us-east-1:123456789012:vpcconnector/nope/1/0123", "not found"},
		{"inactive", deref(gone.VpcConnectorArn), "INACTIVE"},
	} {
		_, err := f.c.CreateService(ctx, withVpc("svc-"+tt.name, tt.arn))
		wantAPIError(t, err, ar.CodeInvalidRequest, "VpcConnectorArn", tt.msg)
	}
	svc := f.create(t, withVpc("svc-vpc", deref(v.VpcConnectorArn))).Service
	_, err := f.c.DeleteVpcConnector(ctx, &ar.DeleteVpcConnectorRequest{VpcConnectorArn: deref(v.VpcConnectorArn)})
	wantAPIError(t, err, ar.CodeInvalidRequest, "is used by", svc.ServiceArn)

	f.setStatus(t, svc.ServiceArn, ar.ServiceStatusRunning)
	_, err = f.c.UpdateService(ctx, &ar.UpdateServiceRequest{ServiceArn: svc.ServiceArn, NetworkConfiguration: withVpc("", deref(gone.VpcConnectorArn)).NetworkConfiguration})
	wantAPIError(t, err, ar.CodeInvalidRequest, "VpcConnectorArn")
	// An update that leaves the network alone does not check it again.
	if _, err := f.c.UpdateService(ctx, &ar.UpdateServiceRequest{ServiceArn: svc.ServiceArn,
		InstanceConfiguration: &ar.InstanceConfiguration{Cpu: ptrTo("1024"), Memory: ptrTo("2048")}}); err != nil {
		t.Fatalf("UpdateService without network: %v", err)
	}
}

func (f *fixture) createVpcIngress(t *testing.T, name, serviceARN, endpoint string) *ar.VpcIngressConnection {
	t.Helper()
	out, err := f.c.CreateVpcIngressConnection(context.Background(), &ar.CreateVpcIngressConnectionRequest{
		VpcIngressConnectionName: name, ServiceArn: serviceARN,
		IngressVpcConfiguration: &ar.IngressVpcConfiguration{VpcId: ptrTo("vpc-1"), VpcEndpointId: ptrTo(endpoint)},
		Tags:                    tagList("env", "test"),
	})
	if err != nil {
		t.Fatalf("CreateVpcIngressConnection(%s): %v", name, err)
	}
	return out.VpcIngressConnection
}

func (f *fixture) listVpcIngress(t *testing.T, req ar.ListVpcIngressConnectionsRequest) []string {
	t.Helper()
	out, err := f.c.ListVpcIngressConnections(context.Background(), &req)
	if err != nil {
		t.Fatalf("ListVpcIngressConnections: %v", err)
	}
	var arns []string
	for _, s := range out.VpcIngressConnectionSummaryList {
		arns = append(arns, deref(s.VpcIngressConnectionArn))
	}
	return arns
}

func TestVpcIngressConnections(t *testing.T) {
	f := newFixture(t, 10)
	ctx := context.Background()
	web := f.create(t, codeRequest("web")).Service
	api := f.create(t, codeRequest("api")).Service
	a := f.createVpcIngress(t, "web-private", web.ServiceArn, "vpce-a")
	b := f.createVpcIngress(t, "api-private", api.ServiceArn, "vpce-b")
	if !strings.HasPrefix(deref(a.VpcIngressConnectionArn), "arn:aws:apprunner:us-east-1:123456789012:vpcingressconnection/web-private/") ||
		deref(a.Status) != ar.VpcIngressConnectionStatusAvailable || deref(a.ServiceArn) != web.ServiceArn ||
		deref(a.AccountId) != testAccount || !strings.HasSuffix(deref(a.DomainName), ".us-east-1.localhost") ||
		deref(a.IngressVpcConfiguration.VpcEndpointId) != "vpce-a" {
		t.Errorf("created = %+v", a)
	}
	if got := f.tags(t, deref(a.VpcIngressConnectionArn)); got != "env=test" {
		t.Errorf("tags = %q, want env=test", got)
	}

	for _, tt := range []struct {
		name string
		req  *ar.CreateVpcIngressConnectionRequest
		code string
		msg  string
	}{
		{"unknown service", &ar.CreateVpcIngressConnectionRequest{VpcIngressConnectionName: "x-private",
			ServiceArn:              "arn:aws:apprunner:us-east-1:123456789012:service/nope/0123456789abcdef0123456789abcdef",
			IngressVpcConfiguration: &ar.IngressVpcConfiguration{VpcId: ptrTo("vpc-1"), VpcEndpointId: ptrTo("vpce-1")}},
			ar.CodeInvalidRequest, "ServiceArn"},
		{"duplicate name", &ar.CreateVpcIngressConnectionRequest{VpcIngressConnectionName: "web-private", ServiceArn: api.ServiceArn,
			IngressVpcConfiguration: &ar.IngressVpcConfiguration{VpcId: ptrTo("vpc-1"), VpcEndpointId: ptrTo("vpce-1")}},
			ar.CodeInvalidRequest, "already exists"},
		{"no endpoint", &ar.CreateVpcIngressConnectionRequest{VpcIngressConnectionName: "y-private", ServiceArn: api.ServiceArn,
			IngressVpcConfiguration: &ar.IngressVpcConfiguration{VpcId: ptrTo("vpc-1")}},
			ar.CodeInvalidRequest, "VpcEndpointId"},
	} {
		_, err := f.c.CreateVpcIngressConnection(ctx, tt.req)
		wantAPIError(t, err, tt.code, tt.msg)
	}
	failed := f.create(t, codeRequest("failed")).Service
	f.setStatus(t, failed.ServiceArn, ar.ServiceStatusCreateFailed)
	_, err := f.c.CreateVpcIngressConnection(ctx, &ar.CreateVpcIngressConnectionRequest{VpcIngressConnectionName: "failed-private",
		ServiceArn: failed.ServiceArn, IngressVpcConfiguration: &ar.IngressVpcConfiguration{VpcId: ptrTo("v"), VpcEndpointId: ptrTo("e")}})
	wantAPIError(t, err, ar.CodeInvalidState, "CREATE_FAILED")

	A, B := deref(a.VpcIngressConnectionArn), deref(b.VpcIngressConnectionArn)
	for _, tt := range []struct {
		name string
		req  ar.ListVpcIngressConnectionsRequest
		want string
	}{
		{"all", ar.ListVpcIngressConnectionsRequest{}, A + "," + B},
		{"by service", ar.ListVpcIngressConnectionsRequest{Filter: &ar.ListVpcIngressConnectionsFilter{ServiceArn: ptrTo(api.ServiceArn)}}, B},
		{"by endpoint", ar.ListVpcIngressConnectionsRequest{Filter: &ar.ListVpcIngressConnectionsFilter{VpcEndpointId: ptrTo("vpce-a")}}, A},
		{"both, no match", ar.ListVpcIngressConnectionsRequest{Filter: &ar.ListVpcIngressConnectionsFilter{
			ServiceArn: ptrTo(api.ServiceArn), VpcEndpointId: ptrTo("vpce-a")}}, ""},
		{"page", ar.ListVpcIngressConnectionsRequest{MaxResults: ptrTo[int64](1)}, A},
	} {
		if got := strings.Join(f.listVpcIngress(t, tt.req), ","); got != tt.want {
			t.Errorf("%s: list = %q, want %q", tt.name, got, tt.want)
		}
	}

	up, err := f.c.UpdateVpcIngressConnection(ctx, &ar.UpdateVpcIngressConnectionRequest{VpcIngressConnectionArn: A,
		IngressVpcConfiguration: &ar.IngressVpcConfiguration{VpcId: ptrTo("vpc-2"), VpcEndpointId: ptrTo("vpce-c")}})
	if err != nil || deref(up.VpcIngressConnection.IngressVpcConfiguration.VpcId) != "vpc-2" {
		t.Fatalf("Update = %+v, %v; want vpc-2", up, err)
	}
	if got, _ := f.c.DescribeVpcIngressConnection(ctx, &ar.DescribeVpcIngressConnectionRequest{VpcIngressConnectionArn: A}); deref(got.VpcIngressConnection.IngressVpcConfiguration.VpcEndpointId) != "vpce-c" {
		t.Errorf("described after update = %+v, want vpce-c", got.VpcIngressConnection.IngressVpcConfiguration)
	}

	// A service with a VPC ingress connection can't be deleted.
	f.setStatus(t, web.ServiceArn, ar.ServiceStatusRunning)
	_, err = f.c.DeleteService(ctx, &ar.DeleteServiceRequest{ServiceArn: web.ServiceArn})
	wantAPIError(t, err, ar.CodeInvalidState, A)

	del, err := f.c.DeleteVpcIngressConnection(ctx, &ar.DeleteVpcIngressConnectionRequest{VpcIngressConnectionArn: A})
	if err != nil || deref(del.VpcIngressConnection.Status) != ar.VpcIngressConnectionStatusDeleted || del.VpcIngressConnection.DeletedAt == nil {
		t.Fatalf("Delete = %+v, %v; want DELETED", del, err)
	}
	if got := strings.Join(f.listVpcIngress(t, ar.ListVpcIngressConnectionsRequest{}), ","); got != B {
		t.Errorf("list after delete = %q, want %q", got, B)
	}
	got, err := f.c.DescribeVpcIngressConnection(ctx, &ar.DescribeVpcIngressConnectionRequest{VpcIngressConnectionArn: A})
	if err != nil || deref(got.VpcIngressConnection.Status) != ar.VpcIngressConnectionStatusDeleted {
		t.Errorf("describe deleted = %+v, %v; want DELETED", got, err)
	}
	for _, call := range []func() error{
		func() error {
			_, err := f.c.DeleteVpcIngressConnection(ctx, &ar.DeleteVpcIngressConnectionRequest{VpcIngressConnectionArn: A})
			return err
		},
		func() error {
			_, err := f.c.UpdateVpcIngressConnection(ctx, &ar.UpdateVpcIngressConnectionRequest{VpcIngressConnectionArn: A,
				IngressVpcConfiguration: &ar.IngressVpcConfiguration{VpcId: ptrTo("v"), VpcEndpointId: ptrTo("e")}})
			return err
		},
		func() error {
			_, err := f.c.TagResource(ctx, &ar.TagResourceRequest{ResourceArn: A, Tags: tagList("k", "v")})
			return err
		},
	} {
		wantAPIError(t, call(), ar.CodeInvalidState, "DELETED")
	}
	if _, err := f.c.DeleteService(ctx, &ar.DeleteServiceRequest{ServiceArn: web.ServiceArn}); err != nil {
		t.Errorf("DeleteService once its VPC ingress connection is deleted: %v", err)
	}
	unknown := "arn:aws:apprunner:us-east-1:123456789012:vpcingressconnection/nope/0123"
	_, err = f.c.DescribeVpcIngressConnection(ctx, &ar.DescribeVpcIngressConnectionRequest{VpcIngressConnectionArn: unknown})
	wantAPIError(t, err, ar.CodeResourceNotFound)
	_, err = f.c.DeleteVpcIngressConnection(ctx, &ar.DeleteVpcIngressConnectionRequest{VpcIngressConnectionArn: unknown})
	wantAPIError(t, err, ar.CodeResourceNotFound)
}

func TestVpcIngressChangeable(t *testing.T) {
	for _, tt := range []struct {
		status            string
		update, deletable bool
	}{
		{ar.VpcIngressConnectionStatusAvailable, true, true},
		{ar.VpcIngressConnectionStatusFailedCreation, true, true},
		{ar.VpcIngressConnectionStatusFailedUpdate, true, true},
		{ar.VpcIngressConnectionStatusFailedDeletion, false, true},
		{ar.VpcIngressConnectionStatusPendingCreation, false, false},
		{ar.VpcIngressConnectionStatusPendingUpdate, false, false},
		{ar.VpcIngressConnectionStatusPendingDeletion, false, false},
		{ar.VpcIngressConnectionStatusDeleted, false, false},
	} {
		if got := vpcIngressChangeable(tt.status, false); got != tt.update {
			t.Errorf("updatable(%s) = %v, want %v", tt.status, got, tt.update)
		}
		if got := vpcIngressChangeable(tt.status, true); got != tt.deletable {
			t.Errorf("deletable(%s) = %v, want %v", tt.status, got, tt.deletable)
		}
	}
}

// TestTagsOnEveryResource tags each kind of resource, by the Tags of its
// Create call and by TagResource.
func TestTagsOnEveryResource(t *testing.T) {
	f := newFixture(t, 10)
	ctx := context.Background()
	svc := f.create(t, codeRequest("tagged")).Service
	conn := f.createConnection(t, "tagged-conn", "a", "1")
	obs, err := f.c.CreateObservabilityConfiguration(ctx, &ar.CreateObservabilityConfigurationRequest{ObservabilityConfigurationName: "tagged-obs", Tags: tagList("a", "1")})
	if err != nil {
		t.Fatal(err)
	}
	vpc, err := f.c.CreateVpcConnector(ctx, &ar.CreateVpcConnectorRequest{VpcConnectorName: "tagged-vpc", Subnets: []string{"s"}, Tags: tagList("a", "1")})
	if err != nil {
		t.Fatal(err)
	}
	vic, err := f.c.CreateVpcIngressConnection(ctx, &ar.CreateVpcIngressConnectionRequest{VpcIngressConnectionName: "tagged-vic", ServiceArn: svc.ServiceArn,
		IngressVpcConfiguration: &ar.IngressVpcConfiguration{VpcId: ptrTo("v"), VpcEndpointId: ptrTo("e")}, Tags: tagList("a", "1")})
	if err != nil {
		t.Fatal(err)
	}
	for _, arn := range []string{deref(conn.ConnectionArn), deref(obs.ObservabilityConfiguration.ObservabilityConfigurationArn),
		deref(vpc.VpcConnector.VpcConnectorArn), deref(vic.VpcIngressConnection.VpcIngressConnectionArn)} {
		if got := f.tags(t, arn); got != "a=1" {
			t.Errorf("%s: tags from create = %q, want a=1", arn, got)
		}
		if _, err := f.c.TagResource(ctx, &ar.TagResourceRequest{ResourceArn: arn, Tags: tagList("b", "2", "a", "3")}); err != nil {
			t.Fatalf("TagResource(%s): %v", arn, err)
		}
		if _, err := f.c.UntagResource(ctx, &ar.UntagResourceRequest{ResourceArn: arn, TagKeys: []string{"b"}}); err != nil {
			t.Fatalf("UntagResource(%s): %v", arn, err)
		}
		if got := f.tags(t, arn); got != "a=3" {
			t.Errorf("%s: tags = %q, want a=3", arn, got)
		}
	}
	for _, arn := range []string{
		"arn:aws:apprunner:us-east-1:123456789012:connection/nope/0123",
		obsPrefix + "nope/1/0123",
		"arn:aws:apprunner:us-east-1:123456789012:vpcconnector/nope/1/0123",
		"arn:aws:apprunner:us-east-1:123456789012:vpcingressconnection/nope/0123",
		"not-an-arn",
	} {
		_, err := f.c.ListTagsForResource(ctx, &ar.ListTagsForResourceRequest{ResourceArn: arn})
		wantAPIError(t, err, ar.CodeResourceNotFound)
	}
}
