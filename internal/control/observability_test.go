package control

import (
	"context"
	"fmt"
	"strings"
	"testing"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
)

const obsPrefix = "arn:aws:apprunner:us-east-1:123456789012:observabilityconfiguration/"

func (f *fixture) createObs(t *testing.T, name string, trace bool) *ar.ObservabilityConfiguration {
	t.Helper()
	req := &ar.CreateObservabilityConfigurationRequest{ObservabilityConfigurationName: name}
	if trace {
		req.TraceConfiguration = &ar.TraceConfiguration{Vendor: ar.TracingVendorAwsxray}
	}
	out, err := f.c.CreateObservabilityConfiguration(context.Background(), req)
	if err != nil {
		t.Fatalf("CreateObservabilityConfiguration(%s): %v", name, err)
	}
	return out.ObservabilityConfiguration
}

func (f *fixture) describeObs(t *testing.T, arn string) (*ar.ObservabilityConfiguration, error) {
	t.Helper()
	out, err := f.c.DescribeObservabilityConfiguration(context.Background(),
		&ar.DescribeObservabilityConfigurationRequest{ObservabilityConfigurationArn: arn})
	if err != nil {
		return nil, err
	}
	return out.ObservabilityConfiguration, nil
}

func (f *fixture) listObs(t *testing.T, req ar.ListObservabilityConfigurationsRequest) string {
	t.Helper()
	out, err := f.c.ListObservabilityConfigurations(context.Background(), &req)
	if err != nil {
		t.Fatalf("ListObservabilityConfigurations: %v", err)
	}
	var got []string
	for _, s := range out.ObservabilityConfigurationSummaryList {
		got = append(got, fmt.Sprintf("%s/%d", deref(s.ObservabilityConfigurationName), s.ObservabilityConfigurationRevision))
	}
	return strings.Join(got, ",")
}

func TestObservabilityRevisions(t *testing.T) {
	f := newFixture(t, 10)
	ctx := context.Background()
	r1 := f.createObs(t, "tracing", true)
	r2 := f.createObs(t, "tracing", false)
	other := f.createObs(t, "other", false)
	if r1.ObservabilityConfigurationRevision != 1 || r2.ObservabilityConfigurationRevision != 2 || !r2.Latest ||
		deref(r2.Status) != ar.ObservabilityConfigurationStatusActive {
		t.Fatalf("revisions = %+v, %+v; want 1 and 2 (latest, ACTIVE)", r1, r2)
	}
	if !strings.HasPrefix(deref(r2.ObservabilityConfigurationArn), obsPrefix+"tracing/2/") {
		t.Errorf("ARN = %s, want %stracing/2/ID", deref(r2.ObservabilityConfigurationArn), obsPrefix)
	}
	if r1.TraceConfiguration == nil || r1.TraceConfiguration.Vendor != ar.TracingVendorAwsxray || r2.TraceConfiguration != nil {
		t.Errorf("TraceConfiguration = %+v, %+v; want AWSXRAY, none", r1.TraceConfiguration, r2.TraceConfiguration)
	}
	if got, err := f.describeObs(t, deref(r1.ObservabilityConfigurationArn)); err != nil || got.Latest {
		t.Errorf("revision 1 after revision 2: %+v, %v; want not latest", got, err)
	}

	for _, tt := range []struct {
		name string
		req  ar.ListObservabilityConfigurationsRequest
		want string
	}{
		{"all", ar.ListObservabilityConfigurationsRequest{}, "other/1,tracing/1,tracing/2"},
		{"by name", ar.ListObservabilityConfigurationsRequest{ObservabilityConfigurationName: ptrTo("tracing")}, "tracing/1,tracing/2"},
		{"latest only", ar.ListObservabilityConfigurationsRequest{LatestOnly: true}, "other/1,tracing/2"},
		{"page", ar.ListObservabilityConfigurationsRequest{MaxResults: ptrTo[int64](2)}, "other/1,tracing/1"},
	} {
		if got := f.listObs(t, tt.req); got != tt.want {
			t.Errorf("%s: list = %q, want %q", tt.name, got, tt.want)
		}
	}

	// Partial ARNs: /name is the latest active revision, /name/rev that one.
	for _, tt := range []struct {
		arn      string
		wantARN  string
		wantCode string
	}{
		{obsPrefix + "tracing", deref(r2.ObservabilityConfigurationArn), ""},
		{obsPrefix + "tracing/1", deref(r1.ObservabilityConfigurationArn), ""},
		{obsPrefix + "other", deref(other.ObservabilityConfigurationArn), ""},
		{obsPrefix + "tracing/3", "", ar.CodeResourceNotFound},
		{obsPrefix + "nope", "", ar.CodeResourceNotFound},
		{obsPrefix + "tracing/1/x/y", "", ar.CodeResourceNotFound},
		{"arn:aws:apprunner:us-east-1:123456789012:autoscalingconfiguration/tracing", "", ar.CodeResourceNotFound},
	} {
		got, err := f.describeObs(t, tt.arn)
		if tt.wantCode != "" {
			wantAPIError(t, err, tt.wantCode)
			continue
		}
		if err != nil || deref(got.ObservabilityConfigurationArn) != tt.wantARN {
			t.Errorf("Describe(%s) = %v, %v; want %s", tt.arn, got, err, tt.wantARN)
		}
	}

	// Deleting the latest makes the newest active revision left the latest.
	del, err := f.c.DeleteObservabilityConfiguration(ctx, &ar.DeleteObservabilityConfigurationRequest{ObservabilityConfigurationArn: obsPrefix + "tracing"})
	if err != nil {
		t.Fatal(err)
	}
	d := del.ObservabilityConfiguration
	if deref(d.ObservabilityConfigurationArn) != deref(r2.ObservabilityConfigurationArn) ||
		deref(d.Status) != ar.ObservabilityConfigurationStatusInactive || d.DeletedAt == nil || d.Latest {
		t.Errorf("deleted = %+v, want revision 2 INACTIVE with DeletedAt, not latest", d)
	}
	if got := f.listObs(t, ar.ListObservabilityConfigurationsRequest{LatestOnly: true}); got != "other/1,tracing/1" {
		t.Errorf("latest after delete = %q, want other/1,tracing/1", got)
	}
	if got, err := f.describeObs(t, deref(r2.ObservabilityConfigurationArn)); err != nil || deref(got.Status) != ar.ObservabilityConfigurationStatusInactive {
		t.Errorf("describe deleted by full ARN = %+v, %v; want INACTIVE", got, err)
	}
	_, err = f.c.DeleteObservabilityConfiguration(ctx, &ar.DeleteObservabilityConfigurationRequest{ObservabilityConfigurationArn: deref(r2.ObservabilityConfigurationArn)})
	wantAPIError(t, err, ar.CodeResourceNotFound)
	// A new revision continues the numbering.
	if r3 := f.createObs(t, "tracing", true); r3.ObservabilityConfigurationRevision != 3 || !r3.Latest {
		t.Errorf("next revision = %d (latest %v), want 3, latest", r3.ObservabilityConfigurationRevision, r3.Latest)
	}
	if got, _ := f.describeObs(t, deref(r1.ObservabilityConfigurationArn)); got.Latest {
		t.Error("revision 1 still latest after revision 3")
	}
}

func TestObservabilityErrors(t *testing.T) {
	f := newFixture(t, 10)
	ctx := context.Background()
	_, err := f.c.CreateObservabilityConfiguration(ctx, &ar.CreateObservabilityConfigurationRequest{ObservabilityConfigurationName: "DefaultConfiguration"})
	wantAPIError(t, err, ar.CodeInvalidRequest, "reserved")

	for i := range maxObservabilityRevisionsPerName {
		f.createObs(t, "busy", i%2 == 0)
	}
	_, err = f.c.CreateObservabilityConfiguration(ctx, &ar.CreateObservabilityConfigurationRequest{ObservabilityConfigurationName: "busy"})
	wantAPIError(t, err, ar.CodeServiceQuotaExceeded, "busy")
	for i := 1; i < maxObservabilityNames; i++ {
		f.createObs(t, fmt.Sprintf("name-%02d", i), false)
	}
	_, err = f.c.CreateObservabilityConfiguration(ctx, &ar.CreateObservabilityConfigurationRequest{ObservabilityConfigurationName: "one-too-many"})
	wantAPIError(t, err, ar.CodeServiceQuotaExceeded, "names")

	_, err = f.c.ListObservabilityConfigurations(ctx, &ar.ListObservabilityConfigurationsRequest{NextToken: ptrTo("garbage!")})
	wantAPIError(t, err, ar.CodeInvalidRequest, "NextToken")
}

func TestServiceObservabilityReference(t *testing.T) {
	f := newFixture(t, 10)
	ctx := context.Background()
	r1 := f.createObs(t, "traced", true)
	f.createObs(t, "traced", true)
	gone := f.createObs(t, "gone", false)
	if _, err := f.c.DeleteObservabilityConfiguration(ctx, &ar.DeleteObservabilityConfigurationRequest{
		ObservabilityConfigurationArn: deref(gone.ObservabilityConfigurationArn)}); err != nil {
		t.Fatal(err)
	}
	withObs := func(name, arn string) *ar.CreateServiceRequest {
		r := codeRequest(name)
		r.ObservabilityConfiguration = &ar.ServiceObservabilityConfiguration{ObservabilityEnabled: true, ObservabilityConfigurationArn: ptrTo(arn)}
		return r
	}
	for _, tt := range []struct{ name, arn, msg string }{
		{"unknown", obsPrefix + "nope/1/0123", "not found"},
		{"inactive", deref(gone.ObservabilityConfigurationArn), "INACTIVE"},
	} {
		_, err := f.c.CreateService(ctx, withObs("svc-"+tt.name, tt.arn))
		wantAPIError(t, err, ar.CodeInvalidRequest, "ObservabilityConfigurationArn", tt.msg)
	}

	// A partial ARN resolves to the revision, and the service shows it.
	svc := f.create(t, withObs("svc-partial", obsPrefix+"traced/1")).Service
	if got := deref(svc.ObservabilityConfiguration.ObservabilityConfigurationArn); got != deref(r1.ObservabilityConfigurationArn) {
		t.Errorf("service observability ARN = %s, want %s", got, deref(r1.ObservabilityConfigurationArn))
	}
	_, err := f.c.DeleteObservabilityConfiguration(ctx, &ar.DeleteObservabilityConfigurationRequest{ObservabilityConfigurationArn: deref(r1.ObservabilityConfigurationArn)})
	wantAPIError(t, err, ar.CodeInvalidRequest, "is used by 1 service", svc.ServiceArn)

	// UpdateService checks the new one; the pending update holds it.
	f.setStatus(t, svc.ServiceArn, ar.ServiceStatusRunning)
	_, err = f.c.UpdateService(ctx, &ar.UpdateServiceRequest{ServiceArn: svc.ServiceArn,
		ObservabilityConfiguration: &ar.ServiceObservabilityConfiguration{ObservabilityEnabled: true, ObservabilityConfigurationArn: gone.ObservabilityConfigurationArn}})
	wantAPIError(t, err, ar.CodeInvalidRequest, "INACTIVE")
	if _, err := f.c.UpdateService(ctx, &ar.UpdateServiceRequest{ServiceArn: svc.ServiceArn,
		ObservabilityConfiguration: &ar.ServiceObservabilityConfiguration{ObservabilityEnabled: true, ObservabilityConfigurationArn: ptrTo(obsPrefix + "traced")}}); err != nil {
		t.Fatalf("UpdateService to the latest revision: %v", err)
	}
	_, err = f.c.DeleteObservabilityConfiguration(ctx, &ar.DeleteObservabilityConfigurationRequest{ObservabilityConfigurationArn: obsPrefix + "traced/2"})
	wantAPIError(t, err, ar.CodeInvalidRequest, "is used by")
}
