package control

import (
	"context"
	"testing"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

const ascPrefix = "arn:aws:apprunner:us-east-1:123456789012:autoscalingconfiguration/"

func (f *fixture) createASC(t *testing.T, name string, minSize int64) *ar.AutoScalingConfiguration {
	t.Helper()
	out, err := f.c.CreateAutoScalingConfiguration(context.Background(), &ar.CreateAutoScalingConfigurationRequest{
		AutoScalingConfigurationName: name, MinSize: ptrTo(minSize),
	})
	if err != nil {
		t.Fatalf("CreateAutoScalingConfiguration(%s): %v", name, err)
	}
	return out.AutoScalingConfiguration
}

func (f *fixture) describeASC(t *testing.T, arn string) (*ar.AutoScalingConfiguration, error) {
	t.Helper()
	out, err := f.c.DescribeAutoScalingConfiguration(context.Background(), &ar.DescribeAutoScalingConfigurationRequest{AutoScalingConfigurationArn: arn})
	if err != nil {
		return nil, err
	}
	return out.AutoScalingConfiguration, nil
}

func TestEnsureDefaultAutoScalingIdempotent(t *testing.T) {
	f := newFixture(t, 10)
	if err := f.c.EnsureDefaultAutoScaling(context.Background()); err != nil {
		t.Fatal(err)
	}
	out, err := f.c.ListAutoScalingConfigurations(context.Background(), &ar.ListAutoScalingConfigurationsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.AutoScalingConfigurationSummaryList) != 1 {
		t.Fatalf("configurations = %d, want only DefaultConfiguration", len(out.AutoScalingConfigurationSummaryList))
	}
	d := out.AutoScalingConfigurationSummaryList[0]
	if deref(d.AutoScalingConfigurationName) != DefaultASCName || d.AutoScalingConfigurationRevision != 1 || !deref(d.IsDefault) ||
		deref(d.Status) != store.ASCActive {
		t.Errorf("default = %+v, want DefaultConfiguration rev 1, ACTIVE, default", d)
	}
	full, err := f.describeASC(t, deref(d.AutoScalingConfigurationArn))
	if err != nil {
		t.Fatal(err)
	}
	if deref(full.MaxConcurrency) != 100 || deref(full.MinSize) != 1 || deref(full.MaxSize) != 25 {
		t.Errorf("default sizes = %d/%d/%d, want 100/1/25", deref(full.MaxConcurrency), deref(full.MinSize), deref(full.MaxSize))
	}
}

func TestAutoScalingRevisions(t *testing.T) {
	f := newFixture(t, 10)
	ctx := context.Background()
	r1 := f.createASC(t, "high", 2)
	r2 := f.createASC(t, "high", 3)
	if deref(r1.AutoScalingConfigurationRevision) != 1 || deref(r2.AutoScalingConfigurationRevision) != 2 {
		t.Fatalf("revisions = %d, %d; want 1, 2", deref(r1.AutoScalingConfigurationRevision), deref(r2.AutoScalingConfigurationRevision))
	}
	if !deref(r2.Latest) || deref(r2.IsDefault) {
		t.Errorf("revision 2: Latest %v IsDefault %v; want true, false", deref(r2.Latest), deref(r2.IsDefault))
	}
	if got, err := f.describeASC(t, deref(r1.AutoScalingConfigurationArn)); err != nil || deref(got.Latest) {
		t.Errorf("revision 1 after revision 2: Latest %v (err %v), want false", deref(got.Latest), err)
	}

	tests := []struct {
		name     string
		req      ar.ListAutoScalingConfigurationsRequest
		wantARNs []string
	}{
		{"all", ar.ListAutoScalingConfigurationsRequest{}, nil},
		{"by name", ar.ListAutoScalingConfigurationsRequest{AutoScalingConfigurationName: ptrTo("high")},
			[]string{deref(r1.AutoScalingConfigurationArn), deref(r2.AutoScalingConfigurationArn)}},
		{"by name, latest only", ar.ListAutoScalingConfigurationsRequest{AutoScalingConfigurationName: ptrTo("high"), LatestOnly: true},
			[]string{deref(r2.AutoScalingConfigurationArn)}},
		{"unknown name", ar.ListAutoScalingConfigurationsRequest{AutoScalingConfigurationName: ptrTo("nope")}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := f.c.ListAutoScalingConfigurations(ctx, &tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if out.AutoScalingConfigurationSummaryList == nil {
				t.Error("summary list is nil, want [] at least")
			}
			var got []string
			for _, s := range out.AutoScalingConfigurationSummaryList {
				got = append(got, deref(s.AutoScalingConfigurationArn))
			}
			if tt.wantARNs == nil {
				if len(got) != 3 {
					t.Errorf("got %d configurations, want 3", len(got))
				}
				return
			}
			if len(got) != len(tt.wantARNs) {
				t.Fatalf("got %q, want %q", got, tt.wantARNs)
			}
			for i := range got {
				if got[i] != tt.wantARNs[i] {
					t.Errorf("got %q, want %q", got, tt.wantARNs)
				}
			}
		})
	}
}

func TestDescribeAutoScalingPartialARN(t *testing.T) {
	f := newFixture(t, 10)
	r1 := f.createASC(t, "high", 2)
	r2 := f.createASC(t, "high", 3)
	tests := []struct {
		arn     string
		wantARN string // "" means ResourceNotFound
	}{
		{deref(r1.AutoScalingConfigurationArn), deref(r1.AutoScalingConfigurationArn)},
		{ascPrefix + "high", deref(r2.AutoScalingConfigurationArn)},
		{ascPrefix + "high/2", deref(r2.AutoScalingConfigurationArn)},
		{ascPrefix + "high/1", deref(r1.AutoScalingConfigurationArn)},
		{ascPrefix + "high/9", ""},
		{ascPrefix + "nope", ""},
		{ascPrefix + "high/1/0000", ""},
		{"arn:aws:apprunner:us-east-1:123456789012:service/high", ""},
	}
	for _, tt := range tests {
		t.Run(tt.arn, func(t *testing.T) {
			got, err := f.describeASC(t, tt.arn)
			if tt.wantARN == "" {
				wantAPIError(t, err, ar.CodeResourceNotFound)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if deref(got.AutoScalingConfigurationArn) != tt.wantARN {
				t.Errorf("resolved %s, want %s", deref(got.AutoScalingConfigurationArn), tt.wantARN)
			}
		})
	}
}

func TestDeleteAutoScaling(t *testing.T) {
	f := newFixture(t, 10)
	ctx := context.Background()
	r1 := f.createASC(t, "high", 2)
	r2 := f.createASC(t, "high", 3)

	// A service using revision 2 (named by partial ARN) blocks its deletion.
	req := codeRequest("my-app")
	req.AutoScalingConfigurationArn = ptrTo(ascPrefix + "high")
	svc := f.create(t, req).Service
	if got := deref(svc.AutoScalingConfigurationSummary.AutoScalingConfigurationArn); got != deref(r2.AutoScalingConfigurationArn) {
		t.Fatalf("service uses %s, want the latest revision %s", got, deref(r2.AutoScalingConfigurationArn))
	}
	if d, _ := f.describeASC(t, deref(r2.AutoScalingConfigurationArn)); !deref(d.HasAssociatedService) {
		t.Error("HasAssociatedService = false for a configuration in use")
	}
	users, err := f.c.ListServicesForAutoScalingConfiguration(ctx, &ar.ListServicesForAutoScalingConfigurationRequest{
		AutoScalingConfigurationArn: deref(r2.AutoScalingConfigurationArn)})
	if err != nil || len(users.ServiceArnList) != 1 || users.ServiceArnList[0] != svc.ServiceArn {
		t.Errorf("ListServicesForAutoScalingConfiguration = %v, %v; want [%s]", users, err, svc.ServiceArn)
	}

	_, err = f.c.DeleteAutoScalingConfiguration(ctx, &ar.DeleteAutoScalingConfigurationRequest{AutoScalingConfigurationArn: deref(r2.AutoScalingConfigurationArn)})
	wantAPIError(t, err, ar.CodeInvalidRequest, "used by")
	_, err = f.c.DeleteAutoScalingConfiguration(ctx, &ar.DeleteAutoScalingConfigurationRequest{
		AutoScalingConfigurationArn: ascPrefix + "high", DeleteAllRevisions: true})
	wantAPIError(t, err, ar.CodeInvalidRequest, "used by")

	// Revision 1 is unused and can go.
	del, err := f.c.DeleteAutoScalingConfiguration(ctx, &ar.DeleteAutoScalingConfigurationRequest{AutoScalingConfigurationArn: deref(r1.AutoScalingConfigurationArn)})
	if err != nil {
		t.Fatalf("delete unused revision: %v", err)
	}
	if a := del.AutoScalingConfiguration; deref(a.Status) != store.ASCInactive || a.DeletedAt == nil {
		t.Errorf("deleted revision: status %s, DeletedAt %v; want INACTIVE with DeletedAt", deref(a.Status), a.DeletedAt)
	}
	_, err = f.c.DeleteAutoScalingConfiguration(ctx, &ar.DeleteAutoScalingConfigurationRequest{AutoScalingConfigurationArn: deref(r1.AutoScalingConfigurationArn)})
	wantAPIError(t, err, ar.CodeResourceNotFound)
	// A partial ARN no longer finds the inactive revision.
	_, err = f.describeASC(t, ascPrefix+"high/1")
	wantAPIError(t, err, ar.CodeResourceNotFound)
	// Listing leaves it out.
	list, _ := f.c.ListAutoScalingConfigurations(ctx, &ar.ListAutoScalingConfigurationsRequest{AutoScalingConfigurationName: ptrTo("high")})
	if len(list.AutoScalingConfigurationSummaryList) != 1 {
		t.Errorf("active revisions of high = %d, want 1", len(list.AutoScalingConfigurationSummaryList))
	}
	// A new service can't use an inactive revision.
	req = codeRequest("other")
	req.AutoScalingConfigurationArn = r1.AutoScalingConfigurationArn
	_, err = f.c.CreateService(ctx, req)
	wantAPIError(t, err, ar.CodeInvalidRequest, "AutoScalingConfigurationArn")

	// Once the service is gone, every revision can be deleted, by the
	// name's ARN only: a revision's ARN must not take its siblings along.
	f.setStatus(t, svc.ServiceArn, ar.ServiceStatusDeleted)
	_, err = f.c.DeleteAutoScalingConfiguration(ctx, &ar.DeleteAutoScalingConfigurationRequest{
		AutoScalingConfigurationArn: deref(r2.AutoScalingConfigurationArn), DeleteAllRevisions: true})
	wantAPIError(t, err, ar.CodeInvalidRequest, "without a revision")
	if _, err := f.c.DeleteAutoScalingConfiguration(ctx, &ar.DeleteAutoScalingConfigurationRequest{
		AutoScalingConfigurationArn: ascPrefix + "high", DeleteAllRevisions: true}); err != nil {
		t.Fatalf("delete all revisions: %v", err)
	}
	list, _ = f.c.ListAutoScalingConfigurations(ctx, &ar.ListAutoScalingConfigurationsRequest{AutoScalingConfigurationName: ptrTo("high")})
	if len(list.AutoScalingConfigurationSummaryList) != 0 {
		t.Errorf("active revisions of high after deleting all = %d, want 0", len(list.AutoScalingConfigurationSummaryList))
	}
}

func TestDeleteDefaultConfigurationRefused(t *testing.T) {
	f := newFixture(t, 10)
	for _, arn := range []string{ascPrefix + DefaultASCName, ascPrefix + DefaultASCName + "/1"} {
		_, err := f.c.DeleteAutoScalingConfiguration(context.Background(), &ar.DeleteAutoScalingConfigurationRequest{AutoScalingConfigurationArn: arn})
		wantAPIError(t, err, ar.CodeInvalidRequest, DefaultASCName)
	}
}

func TestUpdateDefaultAutoScaling(t *testing.T) {
	f := newFixture(t, 10)
	ctx := context.Background()
	high := f.createASC(t, "high", 2)
	out, err := f.c.UpdateDefaultAutoScalingConfiguration(ctx, &ar.UpdateDefaultAutoScalingConfigurationRequest{
		AutoScalingConfigurationArn: ascPrefix + "high"})
	if err != nil {
		t.Fatal(err)
	}
	if !deref(out.AutoScalingConfiguration.IsDefault) {
		t.Error("UpdateDefault response: IsDefault false")
	}
	def, err := f.describeASC(t, ascPrefix+DefaultASCName)
	if err != nil {
		t.Fatal(err)
	}
	if deref(def.IsDefault) {
		t.Error("DefaultConfiguration still IsDefault after UpdateDefault to high")
	}
	if h, _ := f.describeASC(t, deref(high.AutoScalingConfigurationArn)); !deref(h.IsDefault) {
		t.Error("high is not IsDefault after UpdateDefault")
	}
	// New services without an explicit configuration get the new default.
	svc := f.create(t, codeRequest("my-app")).Service
	if got := deref(svc.AutoScalingConfigurationSummary.AutoScalingConfigurationArn); got != deref(high.AutoScalingConfigurationArn) {
		t.Errorf("new service uses %s, want the default %s", got, deref(high.AutoScalingConfigurationArn))
	}
	_, err = f.c.UpdateDefaultAutoScalingConfiguration(ctx, &ar.UpdateDefaultAutoScalingConfigurationRequest{AutoScalingConfigurationArn: ascPrefix + "nope"})
	wantAPIError(t, err, ar.CodeResourceNotFound)
}

// TestDefaultCannotDisappear checks that the default auto scaling
// configuration can't be deleted and an INACTIVE revision can't become the
// default, so new services always get an active default.
func TestDefaultCannotDisappear(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, f *fixture)
		want  string // the configuration new services get afterwards
	}{
		{"default deleted", func(t *testing.T, f *fixture) {
			f.createASC(t, "high", 2)
			if _, err := f.c.UpdateDefaultAutoScalingConfiguration(context.Background(), &ar.UpdateDefaultAutoScalingConfigurationRequest{
				AutoScalingConfigurationArn: ascPrefix + "high"}); err != nil {
				t.Fatal(err)
			}
			_, err := f.c.DeleteAutoScalingConfiguration(context.Background(), &ar.DeleteAutoScalingConfigurationRequest{AutoScalingConfigurationArn: ascPrefix + "high"})
			wantAPIError(t, err, ar.CodeInvalidRequest, "is the default")
		}, "high"},
		{"inactive revision made default", func(t *testing.T, f *fixture) {
			old := f.createASC(t, "old", 2)
			if _, err := f.c.DeleteAutoScalingConfiguration(context.Background(), &ar.DeleteAutoScalingConfigurationRequest{
				AutoScalingConfigurationArn: deref(old.AutoScalingConfigurationArn)}); err != nil {
				t.Fatal(err)
			}
			_, err := f.c.UpdateDefaultAutoScalingConfiguration(context.Background(), &ar.UpdateDefaultAutoScalingConfigurationRequest{
				AutoScalingConfigurationArn: deref(old.AutoScalingConfigurationArn)})
			wantAPIError(t, err, ar.CodeInvalidRequest, "inactive")
		}, DefaultASCName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 10)
			tt.setup(t, f)
			out, err := f.c.CreateService(context.Background(), codeRequest("my-app"))
			if err != nil {
				t.Fatalf("CreateService: %v", err)
			}
			if got := deref(out.Service.AutoScalingConfigurationSummary.AutoScalingConfigurationName); got != tt.want {
				t.Errorf("new service uses %s, want %s", got, tt.want)
			}
		})
	}
}

func TestAutoScalingQuotas(t *testing.T) {
	f := newFixture(t, 10)
	ctx := context.Background()
	var revs []*ar.AutoScalingConfiguration
	for range 5 {
		revs = append(revs, f.createASC(t, "quota", 1))
	}
	_, err := f.c.CreateAutoScalingConfiguration(ctx, &ar.CreateAutoScalingConfigurationRequest{AutoScalingConfigurationName: "quota"})
	wantAPIError(t, err, ar.CodeServiceQuotaExceeded, "quota", "5")

	// The refused create changed nothing: revision 5 is still the latest.
	if d, _ := f.describeASC(t, deref(revs[4].AutoScalingConfigurationArn)); !deref(d.Latest) {
		t.Error("revision 5 lost Latest after a refused sixth revision")
	}
	// Deleting one makes room; revisions keep counting up.
	if _, err := f.c.DeleteAutoScalingConfiguration(ctx, &ar.DeleteAutoScalingConfigurationRequest{
		AutoScalingConfigurationArn: deref(revs[0].AutoScalingConfigurationArn)}); err != nil {
		t.Fatal(err)
	}
	r6 := f.createASC(t, "quota", 1)
	if got := deref(r6.AutoScalingConfigurationRevision); got != 6 {
		t.Errorf("revision after deleting revision 1 = %d, want 6", got)
	}

	// At most 10 names (DefaultConfiguration and quota count).
	for i := range 8 {
		f.createASC(t, "name-"+string(rune('a'+i)), 1)
	}
	_, err = f.c.CreateAutoScalingConfiguration(ctx, &ar.CreateAutoScalingConfigurationRequest{AutoScalingConfigurationName: "eleventh"})
	wantAPIError(t, err, ar.CodeServiceQuotaExceeded, "10")
	// A new revision of an existing name is still fine.
	f.createASC(t, "name-a", 1)
}

func TestCreateAutoScalingInvalid(t *testing.T) {
	f := newFixture(t, 10)
	_, err := f.c.CreateAutoScalingConfiguration(context.Background(), &ar.CreateAutoScalingConfigurationRequest{
		AutoScalingConfigurationName: "bad", MinSize: ptrTo[int64](5), MaxSize: ptrTo[int64](2)})
	wantAPIError(t, err, ar.CodeInvalidRequest, "MinSize")
	c := f.createASC(t, "defaults", 0)
	if deref(c.MaxConcurrency) != 100 || deref(c.MinSize) != 1 || deref(c.MaxSize) != 25 {
		t.Errorf("defaults = %d/%d/%d, want 100/1/25", deref(c.MaxConcurrency), deref(c.MinSize), deref(c.MaxSize))
	}
}
