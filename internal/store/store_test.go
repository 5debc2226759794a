package store

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/runtime"
)

func open(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "slipway.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func update(t *testing.T, s *Store, fn func(tx *Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func view(t *testing.T, s *Store, fn func(tx *Tx) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

var t0 = time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)

func ptr[T any](v T) *T { return &v }

func testService(name string, created time.Time) Service {
	id := name + "-id"
	return Service{
		ARN:       "arn:aws:apprunner:us-east-1:123456789012:service/" + name + "/" + id,
		ID:        id,
		Name:      name,
		Status:    ar.ServiceStatusRunning,
		Host:      name + ".us-east-1.localhost",
		CreatedAt: created,
		UpdatedAt: created.Add(time.Minute),
		Config: Config{
			Source: &ar.SourceConfiguration{CodeRepository: &ar.CodeRepository{
				RepositoryUrl:     "https://example.com/" + name + ".git",
				SourceCodeVersion: &ar.SourceCodeVersion{Type: "BRANCH", Value: "main"},
			}, AutoDeploymentsEnabled: ptr(true)},
			Instance:                    &ar.InstanceConfiguration{Cpu: ptr("1024"), Memory: ptr("2048")},
			AutoScalingConfigurationArn: "arn:asc/default",
		},
	}
}

func names(svcs []Service) []string {
	var out []string
	for _, s := range svcs {
		out = append(out, s.Name)
	}
	return out
}

func TestServices(t *testing.T) {
	s, _ := open(t)
	a := testService("alpha", t0)
	b := testService("beta", t0.Add(time.Second))
	b.Release = &Release{
		OperationID: "op-1", Revision: "abc123",
		Artifact:   runtime.Artifact{Backend: "process", Key: "k1", Path: "/x"},
		Run:        RunPlan{Command: "./app", Port: 8080, Env: map[string]string{"A": "1"}, CPU: 1, Memory: 2048},
		DeployedAt: t0.Add(2 * time.Second),
	}
	gone := testService("gone", t0.Add(2*time.Second))
	gone.Status, gone.DeletedAt = ar.ServiceStatusDeleted, t0.Add(time.Hour)
	// A deleted service may share a name and host with a live one.
	again := testService("gone", t0.Add(3*time.Second))
	again.ARN, again.ID = again.ARN+"2", "gone-id2"

	update(t, s, func(tx *Tx) error {
		for _, svc := range []Service{b, a, gone, again} {
			if err := tx.PutService(svc); err != nil {
				return err
			}
		}
		return nil
	})

	view(t, s, func(tx *Tx) error {
		got, err := tx.Service(b.ARN)
		if err != nil {
			t.Fatalf("Service: %v", err)
		}
		if !reflect.DeepEqual(got, b) {
			t.Errorf("Service round trip:\n got %+v\nwant %+v", got, b)
		}
		if got, err := tx.Service(gone.ARN); err != nil || got.Status != ar.ServiceStatusDeleted || !got.DeletedAt.Equal(gone.DeletedAt) {
			t.Errorf("Service(deleted) = %+v, %v; want the deleted row", got, err)
		}
		if _, err := tx.Service("arn:nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Service(unknown) error = %v, want ErrNotFound", err)
		}

		if got, err := tx.ServiceByName("alpha"); err != nil || got.ARN != a.ARN {
			t.Errorf("ServiceByName(alpha) = %q, %v; want %q", got.ARN, err, a.ARN)
		}
		if got, err := tx.ServiceByName("gone"); err != nil || got.ARN != again.ARN {
			t.Errorf("ServiceByName(gone) = %q, %v; want the live one %q", got.ARN, err, again.ARN)
		}
		if _, err := tx.ServiceByName("nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("ServiceByName(nope) error = %v, want ErrNotFound", err)
		}
		if got, err := tx.ServiceByHost(a.Host); err != nil || got.ARN != a.ARN {
			t.Errorf("ServiceByHost = %q, %v; want %q", got.ARN, err, a.ARN)
		}
		if _, err := tx.ServiceByHost("other.host"); !errors.Is(err, ErrNotFound) {
			t.Errorf("ServiceByHost(unknown) error = %v, want ErrNotFound", err)
		}

		live, err := tx.Services(false)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := names(live), []string{"alpha", "beta", "gone"}; !reflect.DeepEqual(got, want) {
			t.Errorf("Services(false) = %q, want %q (creation order, live only)", got, want)
		}
		all, err := tx.Services(true)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := names(all), []string{"alpha", "beta", "gone", "gone"}; !reflect.DeepEqual(got, want) {
			t.Errorf("Services(true) = %q, want %q", got, want)
		}
		if n, err := tx.CountLiveServices(); err != nil || n != 3 {
			t.Errorf("CountLiveServices = %d, %v; want 3", n, err)
		}
		return nil
	})
}

func TestPutServiceUpdates(t *testing.T) {
	s, _ := open(t)
	svc := testService("alpha", t0)
	update(t, s, func(tx *Tx) error { return tx.PutService(svc) })
	svc.Status = ar.ServiceStatusPaused
	svc.UpdatedAt = t0.Add(time.Hour)
	svc.Config.Instance.Cpu = ptr("2048")
	svc.Release = &Release{Revision: "r2"}
	update(t, s, func(tx *Tx) error { return tx.PutService(svc) })
	view(t, s, func(tx *Tx) error {
		got, err := tx.Service(svc.ARN)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != ar.ServiceStatusPaused || !got.UpdatedAt.Equal(svc.UpdatedAt) ||
			*got.Config.Instance.Cpu != "2048" || got.Release == nil || got.Release.Revision != "r2" {
			t.Errorf("after second PutService got %+v, want the updated fields", got)
		}
		if !got.CreatedAt.Equal(t0) {
			t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, t0)
		}
		n, _ := tx.CountLiveServices()
		if n != 1 {
			t.Errorf("CountLiveServices = %d, want 1 (replace, not insert)", n)
		}
		return nil
	})
	// Release back to nil is stored as nil.
	svc.Release = nil
	update(t, s, func(tx *Tx) error { return tx.PutService(svc) })
	view(t, s, func(tx *Tx) error {
		got, _ := tx.Service(svc.ARN)
		if got.Release != nil {
			t.Errorf("Release = %+v, want nil", got.Release)
		}
		return nil
	})
}

func TestOperations(t *testing.T) {
	s, _ := open(t)
	const svcA, svcB = "arn:svc/a", "arn:svc/b"
	ops := []Operation{
		{ID: "op1", ServiceARN: svcA, Type: ar.OperationTypeCreateService, Status: ar.OperationStatusSucceeded, StartedAt: t0, EndedAt: t0.Add(time.Minute)},
		{ID: "op2", ServiceARN: svcB, Type: ar.OperationTypeCreateService, Status: ar.OperationStatusInProgress, StartedAt: t0},
		{ID: "op3", ServiceARN: svcA, Type: ar.OperationTypeUpdateService, Status: ar.OperationStatusPending, StartedAt: t0,
			Config: &Config{AutoScalingConfigurationArn: "x"}, Trigger: "api"},
		{ID: "op4", ServiceARN: svcA, Type: ar.OperationTypePauseService, Status: ar.OperationStatusFailed, Reason: "boom"},
		{ID: "op5", ServiceARN: svcB, Type: ar.OperationTypeStartDeployment, Status: ar.OperationStatusRollbackInProgress},
		{ID: "op6", ServiceARN: svcB, Type: ar.OperationTypeStartDeployment, Status: ar.OperationStatusRollbackSucceeded},
		{ID: "op7", ServiceARN: svcA, Type: ar.OperationTypeDeleteService, Status: ar.OperationStatusRollbackFailed},
	}
	update(t, s, func(tx *Tx) error {
		for _, o := range ops {
			if err := tx.PutOperation(o); err != nil {
				return err
			}
		}
		return nil
	})
	ids := func(ops []Operation) []string {
		var out []string
		for _, o := range ops {
			out = append(out, o.ID)
		}
		return out
	}
	view(t, s, func(tx *Tx) error {
		got, err := tx.Operations(svcA)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"op7", "op4", "op3", "op1"}; !reflect.DeepEqual(ids(got), want) {
			t.Errorf("Operations(a) = %q, want newest first %q", ids(got), want)
		}
		un, err := tx.UnfinishedOperations()
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"op2", "op3", "op5"}; !reflect.DeepEqual(ids(un), want) {
			t.Errorf("UnfinishedOperations = %q, want oldest first %q", ids(un), want)
		}
		o, err := tx.Operation("op3")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(o, ops[2]) {
			t.Errorf("Operation(op3) = %+v, want %+v", o, ops[2])
		}
		if o, _ := tx.Operation("op1"); o.Config != nil || !o.EndedAt.Equal(ops[0].EndedAt) {
			t.Errorf("Operation(op1) = %+v: want nil Config and EndedAt %v", o, ops[0].EndedAt)
		}
		if _, err := tx.Operation("nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Operation(unknown) error = %v, want ErrNotFound", err)
		}
		return nil
	})

	// Updating an operation keeps its place in the order.
	done := ops[1]
	done.Status, done.Attempts, done.Revision = ar.OperationStatusSucceeded, 2, "abc"
	update(t, s, func(tx *Tx) error { return tx.PutOperation(done) })
	view(t, s, func(tx *Tx) error {
		got, _ := tx.Operations(svcB)
		if want := []string{"op6", "op5", "op2"}; !reflect.DeepEqual(ids(got), want) {
			t.Errorf("Operations(b) after update = %q, want %q", ids(got), want)
		}
		o, _ := tx.Operation("op2")
		if o.Status != ar.OperationStatusSucceeded || o.Attempts != 2 || o.Revision != "abc" {
			t.Errorf("Operation(op2) = %+v, want SUCCEEDED, 2 attempts, revision abc", o)
		}
		return nil
	})
}

func TestOperationDone(t *testing.T) {
	for _, tt := range []struct {
		status string
		want   bool
	}{
		{ar.OperationStatusPending, false},
		{ar.OperationStatusInProgress, false},
		{ar.OperationStatusRollbackInProgress, false},
		{ar.OperationStatusSucceeded, true},
		{ar.OperationStatusFailed, true},
		{ar.OperationStatusRollbackSucceeded, true},
		{ar.OperationStatusRollbackFailed, true},
	} {
		if got := (Operation{Status: tt.status}).Done(); got != tt.want {
			t.Errorf("Operation{Status: %s}.Done() = %v, want %v", tt.status, got, tt.want)
		}
	}
}

func TestInstances(t *testing.T) {
	s, _ := open(t)
	mk := func(id, svc, role string, at time.Time) Instance {
		return Instance{ID: id, ServiceARN: svc, OperationID: "op", Role: role, CreatedAt: at,
			Runtime: runtime.Instance{ID: id, Backend: "process", Ref: "pid:1", Addr: "127.0.0.1:9", StartedAt: at}}
	}
	i1 := mk("i1", "arn:a", RoleActive, t0.Add(2*time.Second))
	i2 := mk("i2", "arn:a", RoleCandidate, t0)
	i3 := mk("i3", "arn:b", RoleDraining, t0.Add(time.Second))
	update(t, s, func(tx *Tx) error {
		for _, in := range []Instance{i1, i2, i3} {
			if err := tx.PutInstance(in); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx *Tx) error {
		got, err := tx.Instances("arn:a")
		if err != nil {
			t.Fatal(err)
		}
		if want := []Instance{i2, i1}; !reflect.DeepEqual(got, want) {
			t.Errorf("Instances(a) = %+v, want %+v", got, want)
		}
		all, _ := tx.Instances("")
		if len(all) != 3 || all[0].ID != "i2" || all[1].ID != "i3" || all[2].ID != "i1" {
			t.Errorf("Instances(\"\") = %+v, want i2, i3, i1", all)
		}
		return nil
	})
	i2.Role = RoleActive
	update(t, s, func(tx *Tx) error {
		if err := tx.PutInstance(i2); err != nil {
			return err
		}
		return tx.DeleteInstance("i1")
	})
	view(t, s, func(tx *Tx) error {
		got, _ := tx.Instances("arn:a")
		if len(got) != 1 || got[0].ID != "i2" || got[0].Role != RoleActive {
			t.Errorf("after role change and delete: %+v, want only i2, active", got)
		}
		return nil
	})
	// Deleting a missing instance is not an error.
	update(t, s, func(tx *Tx) error { return tx.DeleteInstance("nope") })
}

func TestAutoScalingConfigurations(t *testing.T) {
	s, _ := open(t)
	mk := func(name string, rev int64, latest, isDefault bool) AutoScalingConfiguration {
		return AutoScalingConfiguration{
			ARN:  "arn:aws:apprunner:us-east-1:123456789012:autoscalingconfiguration/" + name + "/" + string(rune('0'+rev)) + "/id",
			Name: name, Revision: rev, Latest: latest, Status: ASCActive,
			MaxConcurrency: 100, MinSize: 1, MaxSize: 25, CreatedAt: t0, IsDefault: isDefault,
		}
	}
	def := mk("DefaultConfiguration", 1, true, true)
	h1, h2 := mk("high", 1, false, false), mk("high", 2, true, false)
	h2.MinSize, h2.MaxConcurrency = 3, 50
	update(t, s, func(tx *Tx) error {
		for _, a := range []AutoScalingConfiguration{h2, def, h1} {
			if err := tx.PutAutoScalingConfiguration(a); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx *Tx) error {
		got, err := tx.AutoScalingConfiguration(h2.ARN)
		if err != nil || !reflect.DeepEqual(got, h2) {
			t.Errorf("AutoScalingConfiguration(h2) = %+v, %v; want %+v", got, err, h2)
		}
		if _, err := tx.AutoScalingConfiguration("arn:nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("AutoScalingConfiguration(unknown) error = %v, want ErrNotFound", err)
		}
		all, _ := tx.AutoScalingConfigurations("")
		var got2 []string
		for _, a := range all {
			got2 = append(got2, a.ARN)
		}
		if want := []string{def.ARN, h1.ARN, h2.ARN}; !reflect.DeepEqual(got2, want) {
			t.Errorf("AutoScalingConfigurations(\"\") = %q, want by name, revision %q", got2, want)
		}
		high, _ := tx.AutoScalingConfigurations("high")
		if len(high) != 2 || high[0].Revision != 1 || high[1].Revision != 2 {
			t.Errorf("AutoScalingConfigurations(high) = %+v, want revisions 1, 2", high)
		}
		return nil
	})
	// Updates change only the mutable columns.
	h2.Latest, h2.Status, h2.DeletedAt, h2.IsDefault = false, ASCInactive, t0.Add(time.Hour), true
	h2.MinSize = 99 // immutable
	update(t, s, func(tx *Tx) error { return tx.PutAutoScalingConfiguration(h2) })
	view(t, s, func(tx *Tx) error {
		got, _ := tx.AutoScalingConfiguration(h2.ARN)
		if got.Latest || got.Status != ASCInactive || !got.DeletedAt.Equal(h2.DeletedAt) || !got.IsDefault {
			t.Errorf("after update = %+v, want latest false, INACTIVE, deleted, default", got)
		}
		if got.MinSize != 3 {
			t.Errorf("MinSize = %d after update, want 3 (revisions are immutable)", got.MinSize)
		}
		return nil
	})
}

func TestServicesUsingAutoScaling(t *testing.T) {
	s, _ := open(t)
	const ascA, ascB = "arn:asc/a/1/x", "arn:asc/b/1/y"
	s1 := testService("one", t0)
	s1.Config.AutoScalingConfigurationArn = ascA
	s2 := testService("two", t0.Add(time.Second))
	s2.Config.AutoScalingConfigurationArn = ascB
	s3 := testService("three", t0.Add(2*time.Second))
	s3.Config.AutoScalingConfigurationArn = ascA
	dead := testService("dead", t0.Add(3*time.Second))
	dead.Config.AutoScalingConfigurationArn = ascA
	dead.DeletedAt, dead.Status = t0.Add(time.Hour), ar.ServiceStatusDeleted
	update(t, s, func(tx *Tx) error {
		for _, svc := range []Service{s3, dead, s1, s2} {
			if err := tx.PutService(svc); err != nil {
				return err
			}
		}
		return nil
	})
	tests := []struct {
		arn  string
		want []string
	}{
		{ascA, []string{s1.ARN, s3.ARN}},
		{ascB, []string{s2.ARN}},
		{"arn:asc/none", nil},
		{"", nil},
	}
	view(t, s, func(tx *Tx) error {
		for _, tt := range tests {
			got, err := tx.ServicesUsingAutoScaling(tt.arn)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ServicesUsingAutoScaling(%q) = %q, want %q", tt.arn, got, tt.want)
			}
		}
		return nil
	})
}

func TestTags(t *testing.T) {
	s, _ := open(t)
	update(t, s, func(tx *Tx) error {
		for _, tg := range []Tag{{"b", "2"}, {"a", "1"}, {"c", ""}} {
			if err := tx.PutTag("arn:x", tg); err != nil {
				return err
			}
		}
		if err := tx.PutTag("arn:y", Tag{"a", "other"}); err != nil {
			return err
		}
		if err := tx.PutTag("arn:x", Tag{"b", "22"}); err != nil { // replace
			return err
		}
		if err := tx.DeleteTag("arn:x", "c"); err != nil {
			return err
		}
		return tx.DeleteTag("arn:x", "missing")
	})
	view(t, s, func(tx *Tx) error {
		got, err := tx.Tags("arn:x")
		if err != nil {
			t.Fatal(err)
		}
		if want := []Tag{{"a", "1"}, {"b", "22"}}; !reflect.DeepEqual(got, want) {
			t.Errorf("Tags(x) = %+v, want %+v", got, want)
		}
		if got, _ := tx.Tags("arn:none"); got != nil {
			t.Errorf("Tags(none) = %+v, want nil", got)
		}
		return nil
	})
}

func TestBuildsAndMeta(t *testing.T) {
	s, _ := open(t)
	b1 := Build{Key: "k1", ServiceARN: "arn:a", Revision: "r1", Artifact: runtime.Artifact{Backend: "process", Key: "k1", Path: "/b/k1", Runtime: "GO_1"}, CreatedAt: t0.Add(time.Second)}
	b2 := Build{Key: "k2", ServiceARN: "arn:a", Revision: "r2", Artifact: runtime.Artifact{Backend: "process", Key: "k2", Path: "/b/k2"}, CreatedAt: t0}
	b3 := Build{Key: "k3", ServiceARN: "arn:b", Revision: "r3", CreatedAt: t0}
	update(t, s, func(tx *Tx) error {
		for _, b := range []Build{b1, b2, b3} {
			if err := tx.PutBuild(b); err != nil {
				return err
			}
		}
		return tx.PutMeta("version", "1")
	})
	view(t, s, func(tx *Tx) error {
		got, err := tx.Build("k1")
		if err != nil || !reflect.DeepEqual(got, b1) {
			t.Errorf("Build(k1) = %+v, %v; want %+v", got, err, b1)
		}
		if _, err := tx.Build("nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Build(unknown) error = %v, want ErrNotFound", err)
		}
		list, _ := tx.Builds("arn:a")
		if len(list) != 2 || list[0].Key != "k2" || list[1].Key != "k1" {
			t.Errorf("Builds(a) = %+v, want k2, k1 (oldest first)", list)
		}
		if v, err := tx.Meta("version"); err != nil || v != "1" {
			t.Errorf("Meta(version) = %q, %v; want 1", v, err)
		}
		if v, err := tx.Meta("unset"); err != nil || v != "" {
			t.Errorf("Meta(unset) = %q, %v; want \"\", nil", v, err)
		}
		return nil
	})
	update(t, s, func(tx *Tx) error {
		if err := tx.DeleteBuild("k1"); err != nil {
			return err
		}
		return tx.PutMeta("version", "2")
	})
	view(t, s, func(tx *Tx) error {
		if _, err := tx.Build("k1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Build(k1) after delete error = %v, want ErrNotFound", err)
		}
		if v, _ := tx.Meta("version"); v != "2" {
			t.Errorf("Meta(version) = %q, want 2", v)
		}
		return nil
	})
}

func TestUpdateRollsBack(t *testing.T) {
	s, _ := open(t)
	errBoom := errors.New("boom")
	ch := s.Changed()
	err := s.Update(context.Background(), func(tx *Tx) error {
		if err := tx.PutService(testService("alpha", t0)); err != nil {
			return err
		}
		if err := tx.PutMeta("k", "v"); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update error = %v, want fn's error", err)
	}
	view(t, s, func(tx *Tx) error {
		if n, _ := tx.CountLiveServices(); n != 0 {
			t.Errorf("CountLiveServices = %d after rollback, want 0", n)
		}
		if v, _ := tx.Meta("k"); v != "" {
			t.Errorf("Meta(k) = %q after rollback, want \"\"", v)
		}
		return nil
	})
	select {
	case <-ch:
		t.Error("Changed() closed after a rolled-back Update")
	default:
	}
	if s.Changed() != ch {
		t.Error("Changed() returned a new channel after a rolled-back Update")
	}
}

func TestChanged(t *testing.T) {
	s, _ := open(t)
	ch := s.Changed()
	select {
	case <-ch:
		t.Fatal("Changed() closed before any write")
	default:
	}
	update(t, s, func(tx *Tx) error { return tx.PutMeta("k", "v") })
	select {
	case <-ch:
	case <-time.After(time.Second):
		t.Fatal("Changed() not closed after a committed write")
	}
	next := s.Changed()
	select {
	case <-next:
		t.Fatal("the next Changed() channel is already closed")
	default:
	}
	// A read does not count as a change.
	view(t, s, func(tx *Tx) error { _, err := tx.Meta("k"); return err })
	select {
	case <-next:
		t.Fatal("Changed() closed after View")
	default:
	}
}

func TestReopenPersists(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "slipway.db")
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	svc := testService("alpha", t0)
	if err := s.Update(ctx, func(tx *Tx) error {
		if err := tx.PutService(svc); err != nil {
			return err
		}
		if err := tx.PutOperation(Operation{ID: "op1", ServiceARN: svc.ARN, Type: ar.OperationTypeCreateService, Status: ar.OperationStatusPending, StartedAt: t0}); err != nil {
			return err
		}
		return tx.PutMeta("k", "v")
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s2, err := Open(ctx, path) // the schema is created only if missing
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	view(t, s2, func(tx *Tx) error {
		got, err := tx.Service(svc.ARN)
		if err != nil || !reflect.DeepEqual(got, svc) {
			t.Errorf("Service after reopen = %+v, %v; want %+v", got, err, svc)
		}
		if un, _ := tx.UnfinishedOperations(); len(un) != 1 || un[0].ID != "op1" {
			t.Errorf("UnfinishedOperations after reopen = %+v, want op1", un)
		}
		if v, _ := tx.Meta("k"); v != "v" {
			t.Errorf("Meta after reopen = %q, want v", v)
		}
		return nil
	})
}

func TestTimesRoundTrip(t *testing.T) {
	for _, tt := range []time.Time{{}, t0, time.Unix(0, 1).UTC()} {
		if got := fromNanos(toNanos(tt)); !got.Equal(tt) || got.IsZero() != tt.IsZero() {
			t.Errorf("fromNanos(toNanos(%v)) = %v", tt, got)
		}
	}
}
