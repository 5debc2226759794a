package control

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

const (
	testRegion  = "us-east-1"
	testAccount = "123456789012"
)

// countingWaker counts Wake calls.
type countingWaker struct{ n atomic.Int32 }

func (w *countingWaker) Wake()      { w.n.Add(1) }
func (w *countingWaker) count() int { return int(w.n.Load()) }

type fixture struct {
	c     *Control
	st    *store.Store
	waker *countingWaker
}

// newFixture returns a control plane over a fresh store, with the default
// auto scaling configuration created and a clock that ticks a second per
// reading.
func newFixture(t *testing.T, maxServices int) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "slipway.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w := &countingWaker{}
	c := New(Config{Region: testRegion, Account: testAccount, Domain: "localhost", RouterPort: 8080, MaxServices: maxServices},
		st, w, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var (
		mu  sync.Mutex
		now = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	)
	c.now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Second)
		return now
	}
	if err := c.EnsureDefaultAutoScaling(ctx); err != nil {
		t.Fatalf("EnsureDefaultAutoScaling: %v", err)
	}
	return &fixture{c: c, st: st, waker: w}
}

func codeRequest(name string) *ar.CreateServiceRequest {
	return &ar.CreateServiceRequest{
		ServiceName: name,
		SourceConfiguration: &ar.SourceConfiguration{CodeRepository: &ar.CodeRepository{
			RepositoryUrl:     "https://example.com/" + name + ".git",
			SourceCodeVersion: &ar.SourceCodeVersion{Type: "BRANCH", Value: "main"},
		}},
	}
}

func apiRequest(name string, v *ar.CodeConfigurationValues) *ar.CreateServiceRequest {
	r := codeRequest(name)
	r.SourceConfiguration.CodeRepository.CodeConfiguration = &ar.CodeConfiguration{
		ConfigurationSource: ar.ConfigurationSourceApi, CodeConfigurationValues: v,
	}
	return r
}

func imageRequest(name, repoType string) *ar.CreateServiceRequest {
	return &ar.CreateServiceRequest{
		ServiceName: name,
		SourceConfiguration: &ar.SourceConfiguration{ImageRepository: &ar.ImageRepository{
			ImageIdentifier: "public.ecr.aws/nginx/nginx:latest", ImageRepositoryType: repoType,
		}},
	}
}

func (f *fixture) create(t *testing.T, req *ar.CreateServiceRequest) *ar.CreateServiceResponse {
	t.Helper()
	out, err := f.c.CreateService(context.Background(), req)
	if err != nil {
		t.Fatalf("CreateService(%s): %v", req.ServiceName, err)
	}
	return out
}

// setStatus stands in for the engine finishing an operation.
func (f *fixture) setStatus(t *testing.T, arn, status string) {
	t.Helper()
	err := f.st.Update(context.Background(), func(tx *store.Tx) error {
		s, err := tx.Service(arn)
		if err != nil {
			return err
		}
		s.Status = status
		if status == ar.ServiceStatusDeleted {
			s.DeletedAt = time.Now()
		}
		return tx.PutService(s)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// wantAPIError checks that err is an *ar.Error with code and a message
// containing each of msgs.
func wantAPIError(t *testing.T, err error, code string, msgs ...string) {
	t.Helper()
	var ae *ar.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v (%T), want %s", err, err, code)
	}
	if ae.Code != code {
		t.Errorf("code = %s (%s), want %s", ae.Code, ae.Message, code)
	}
	for _, m := range msgs {
		if !strings.Contains(ae.Message, m) {
			t.Errorf("message %q does not mention %q", ae.Message, m)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }

var (
	uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	urlRE  = regexp.MustCompile(`^[a-z0-9]{10}\.us-east-1\.localhost:8080$`)
)

func TestCreateServiceDefaults(t *testing.T) {
	f := newFixture(t, 10)
	out := f.create(t, codeRequest("my-app"))
	s := out.Service
	if !uuidRE.MatchString(out.OperationId) {
		t.Errorf("OperationId = %q, want a UUID", out.OperationId)
	}
	if s.Status != ar.ServiceStatusOperationInProgress {
		t.Errorf("Status = %s, want OPERATION_IN_PROGRESS", s.Status)
	}
	if want := ar.ServiceARN(testRegion, testAccount, "my-app", s.ServiceId); s.ServiceArn != want || len(s.ServiceId) != 32 {
		t.Errorf("ServiceArn = %q (id %q), want %q with a 32-char id", s.ServiceArn, s.ServiceId, want)
	}
	if got := deref(s.ServiceUrl); !urlRE.MatchString(got) {
		t.Errorf("ServiceUrl = %q, want <10 chars>.us-east-1.localhost:8080", got)
	}
	if got := deref(s.SourceConfiguration.AutoDeploymentsEnabled); !got {
		t.Error("AutoDeploymentsEnabled = false, want true by default for code")
	}
	// Blocks without a default in App Runner's Describe stay absent when
	// not given (apprunner.yaml configures the build).
	if cc := s.SourceConfiguration.CodeRepository.CodeConfiguration; cc != nil {
		t.Errorf("CodeConfiguration = %+v, want none (not given)", cc)
	}
	if ic := s.InstanceConfiguration; deref(ic.Cpu) != "1024" || deref(ic.Memory) != "2048" {
		t.Errorf("InstanceConfiguration = %s/%s, want 1024/2048", deref(ic.Cpu), deref(ic.Memory))
	}
	h := s.HealthCheckConfiguration
	if got, want := [6]any{deref(h.Protocol), deref(h.Path), deref(h.Interval), deref(h.Timeout), deref(h.HealthyThreshold), deref(h.UnhealthyThreshold)},
		[6]any{"TCP", "/", int64(5), int64(2), int64(1), int64(5)}; got != want {
		t.Errorf("HealthCheckConfiguration = %v, want %v", got, want)
	}
	n := s.NetworkConfiguration
	if deref(n.EgressConfiguration.EgressType) != "DEFAULT" || !n.IngressConfiguration.IsPubliclyAccessible || deref(n.IpAddressType) != "IPV4" {
		t.Errorf("NetworkConfiguration = egress %q, public %v, ip %q; want DEFAULT, true, IPV4",
			deref(n.EgressConfiguration.EgressType), n.IngressConfiguration.IsPubliclyAccessible, deref(n.IpAddressType))
	}
	if s.ObservabilityConfiguration != nil {
		t.Errorf("ObservabilityConfiguration = %+v, want none (not given)", s.ObservabilityConfiguration)
	}
	asc := s.AutoScalingConfigurationSummary
	if asc == nil || deref(asc.AutoScalingConfigurationName) != DefaultASCName || asc.AutoScalingConfigurationRevision != 1 ||
		!deref(asc.IsDefault) || !deref(asc.HasAssociatedService) {
		t.Errorf("AutoScalingConfigurationSummary = %+v, want DefaultConfiguration rev 1, default, associated", asc)
	}
	if f.waker.count() != 1 {
		t.Errorf("Wake called %d times, want 1", f.waker.count())
	}

	ops, err := f.c.ListOperations(context.Background(), &ar.ListOperationsRequest{ServiceArn: s.ServiceArn})
	if err != nil {
		t.Fatal(err)
	}
	if len(ops.OperationSummaryList) != 1 {
		t.Fatalf("ListOperations = %d operations, want 1", len(ops.OperationSummaryList))
	}
	op := ops.OperationSummaryList[0]
	if deref(op.Id) != out.OperationId || deref(op.Type) != ar.OperationTypeCreateService ||
		deref(op.Status) != ar.OperationStatusPending || deref(op.TargetArn) != s.ServiceArn {
		t.Errorf("operation = %+v, want the CREATE_SERVICE PENDING operation %s", op, out.OperationId)
	}

	// Describe shows what Create returned.
	d, err := f.c.DescribeService(context.Background(), &ar.DescribeServiceRequest{ServiceArn: s.ServiceArn})
	if err != nil {
		t.Fatal(err)
	}
	if deref(d.Service.InstanceConfiguration.Cpu) != "1024" || d.Service.ServiceUrl == nil || *d.Service.ServiceUrl != *s.ServiceUrl {
		t.Errorf("DescribeService = %+v, want the created service", d.Service)
	}
}

func TestCreateServiceVariants(t *testing.T) {
	tests := []struct {
		name  string
		req   *ar.CreateServiceRequest
		check func(t *testing.T, s *ar.Service)
	}{
		{
			name: "vCPU and GB spellings are normalized",
			req: func() *ar.CreateServiceRequest {
				r := codeRequest("small")
				r.InstanceConfiguration = &ar.InstanceConfiguration{Cpu: ptrTo("0.25 vCPU"), Memory: ptrTo("0.5 GB")}
				return r
			}(),
			check: func(t *testing.T, s *ar.Service) {
				if got := deref(s.InstanceConfiguration.Cpu) + "/" + deref(s.InstanceConfiguration.Memory); got != "256/512" {
					t.Errorf("Cpu/Memory = %s, want 256/512", got)
				}
			},
		},
		{
			name: "only Cpu given",
			req: func() *ar.CreateServiceRequest {
				r := codeRequest("cpu-only")
				r.InstanceConfiguration = &ar.InstanceConfiguration{Cpu: ptrTo("1 vCPU")}
				return r
			}(),
			check: func(t *testing.T, s *ar.Service) {
				if got := deref(s.InstanceConfiguration.Cpu) + "/" + deref(s.InstanceConfiguration.Memory); got != "1024/2048" {
					t.Errorf("Cpu/Memory = %s, want 1024/2048", got)
				}
			},
		},
		{
			name: "ECR_PUBLIC image: no auto deployments, no blocks that were not given",
			req:  imageRequest("public-img", ar.ImageRepositoryTypeEcrPublic),
			check: func(t *testing.T, s *ar.Service) {
				src := s.SourceConfiguration
				if deref(src.AutoDeploymentsEnabled) {
					t.Error("AutoDeploymentsEnabled = true, want false for ECR_PUBLIC")
				}
				// Terraform reads these back and compares them with its
				// configuration: a block it did not set is drift.
				if ic := src.ImageRepository.ImageConfiguration; ic != nil {
					t.Errorf("ImageConfiguration = %+v, want none (not given)", ic)
				}
				if s.ObservabilityConfiguration != nil || s.EncryptionConfiguration != nil || src.AuthenticationConfiguration != nil {
					t.Errorf("Observability %+v, Encryption %+v, Authentication %+v: want none (not given)",
						s.ObservabilityConfiguration, s.EncryptionConfiguration, src.AuthenticationConfiguration)
				}
			},
		},
		{
			name: "ECR image: auto deployments on",
			req:  imageRequest("private-img", ar.ImageRepositoryTypeEcr),
			check: func(t *testing.T, s *ar.Service) {
				if !deref(s.SourceConfiguration.AutoDeploymentsEnabled) {
					t.Error("AutoDeploymentsEnabled = false, want true for ECR")
				}
			},
		},
		{
			name: "code with auto deployments off keeps it off",
			req: func() *ar.CreateServiceRequest {
				r := codeRequest("manual")
				r.SourceConfiguration.AutoDeploymentsEnabled = ptrTo(false)
				return r
			}(),
			check: func(t *testing.T, s *ar.Service) {
				if deref(s.SourceConfiguration.AutoDeploymentsEnabled) {
					t.Error("AutoDeploymentsEnabled = true, want the requested false")
				}
			},
		},
		{
			name: "API configuration gets port 8080",
			req:  apiRequest("api-cfg", &ar.CodeConfigurationValues{Runtime: "PYTHON_3", StartCommand: ptrTo("python app.py")}),
			check: func(t *testing.T, s *ar.Service) {
				v := s.SourceConfiguration.CodeRepository.CodeConfiguration.CodeConfigurationValues
				if got := deref(v.Port); got != "8080" {
					t.Errorf("Port = %q, want 8080", got)
				}
			},
		},
		{
			name: "health check values given are kept",
			req: func() *ar.CreateServiceRequest {
				r := codeRequest("hc")
				r.HealthCheckConfiguration = &ar.HealthCheckConfiguration{Protocol: ptrTo("HTTP"), Path: ptrTo("/healthz"), Interval: ptrTo[int64](10)}
				return r
			}(),
			check: func(t *testing.T, s *ar.Service) {
				h := s.HealthCheckConfiguration
				if deref(h.Protocol) != "HTTP" || deref(h.Path) != "/healthz" || deref(h.Interval) != 10 || deref(h.Timeout) != 2 {
					t.Errorf("HealthCheckConfiguration = %s %s %d %d, want HTTP /healthz 10 2",
						deref(h.Protocol), deref(h.Path), deref(h.Interval), deref(h.Timeout))
				}
			},
		},
		{
			name: "source directory with slashes",
			req: func() *ar.CreateServiceRequest {
				r := codeRequest("subdir")
				r.SourceConfiguration.CodeRepository.SourceDirectory = ptrTo("/apps/web/")
				return r
			}(),
			check: func(t *testing.T, s *ar.Service) {},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 10)
			out := f.create(t, tt.req)
			tt.check(t, out.Service)
		})
	}
}

func TestCreateServiceErrors(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(t *testing.T, f *fixture)
		max      int
		req      *ar.CreateServiceRequest
		wantCode string
		wantMsg  []string
	}{
		{
			name:  "duplicate name",
			setup: func(t *testing.T, f *fixture) { f.create(t, codeRequest("my-app")) },
			req:   codeRequest("my-app"), wantCode: ar.CodeInvalidRequest, wantMsg: []string{"already exists", "my-app"},
		},
		{
			name: "quota",
			max:  2,
			setup: func(t *testing.T, f *fixture) {
				f.create(t, codeRequest("one1"))
				f.create(t, codeRequest("two2"))
			},
			req: codeRequest("three"), wantCode: ar.CodeServiceQuotaExceeded, wantMsg: []string{"2"},
		},
		{
			name: "ECR_PUBLIC with auto deployments",
			req: func() *ar.CreateServiceRequest {
				r := imageRequest("img1", ar.ImageRepositoryTypeEcrPublic)
				r.SourceConfiguration.AutoDeploymentsEnabled = ptrTo(true)
				return r
			}(),
			wantCode: ar.CodeInvalidRequest, wantMsg: []string{"AutoDeploymentsEnabled", "ECR_PUBLIC"},
		},
		{
			name:     "API configuration without StartCommand",
			req:      apiRequest("api1", &ar.CodeConfigurationValues{Runtime: "PYTHON_3"}),
			wantCode: ar.CodeInvalidRequest, wantMsg: []string{"StartCommand"},
		},
		{
			name:     "API configuration without values",
			req:      apiRequest("api2", nil),
			wantCode: ar.CodeInvalidRequest, wantMsg: []string{"CodeConfigurationValues"},
		},
		{
			name:     "port out of range",
			req:      apiRequest("api3", &ar.CodeConfigurationValues{Runtime: "PYTHON_3", StartCommand: ptrTo("x"), Port: ptrTo("99999")}),
			wantCode: ar.CodeInvalidRequest, wantMsg: []string{"Port", "99999"},
		},
		{
			name: "image port not a number",
			req: func() *ar.CreateServiceRequest {
				r := imageRequest("img2", ar.ImageRepositoryTypeEcr)
				r.SourceConfiguration.ImageRepository.ImageConfiguration = &ar.ImageConfiguration{Port: ptrTo("http")}
				return r
			}(),
			wantCode: ar.CodeInvalidRequest, wantMsg: []string{"Port"},
		},
		{
			name: "source directory leaves the repository",
			req: func() *ar.CreateServiceRequest {
				r := codeRequest("dir1")
				r.SourceConfiguration.CodeRepository.SourceDirectory = ptrTo("../x")
				return r
			}(),
			wantCode: ar.CodeInvalidRequest, wantMsg: []string{"SourceDirectory"},
		},
		{
			name: "both code and image",
			req: func() *ar.CreateServiceRequest {
				r := codeRequest("both")
				r.SourceConfiguration.ImageRepository = imageRequest("x", ar.ImageRepositoryTypeEcr).SourceConfiguration.ImageRepository
				return r
			}(),
			wantCode: ar.CodeInvalidRequest, wantMsg: []string{"either"},
		},
		{
			name:     "no source",
			req:      &ar.CreateServiceRequest{ServiceName: "nosrc", SourceConfiguration: &ar.SourceConfiguration{}},
			wantCode: ar.CodeInvalidRequest, wantMsg: []string{"CodeRepository or an ImageRepository"},
		},
		{
			name: "Cpu/Memory pair App Runner does not offer",
			req: func() *ar.CreateServiceRequest {
				r := codeRequest("pair")
				r.InstanceConfiguration = &ar.InstanceConfiguration{Cpu: ptrTo("256"), Memory: ptrTo("4096")}
				return r
			}(),
			wantCode: ar.CodeInvalidRequest, wantMsg: []string{"Memory"},
		},
		{
			name: "observability enabled without a configuration",
			req: func() *ar.CreateServiceRequest {
				r := codeRequest("obs")
				r.ObservabilityConfiguration = &ar.ServiceObservabilityConfiguration{ObservabilityEnabled: true}
				return r
			}(),
			wantCode: ar.CodeInvalidRequest, wantMsg: []string{"ObservabilityConfigurationArn"},
		},
		{
			name: "VPC egress without a connector",
			req: func() *ar.CreateServiceRequest {
				r := codeRequest("vpc1")
				r.NetworkConfiguration = &ar.NetworkConfiguration{EgressConfiguration: &ar.EgressConfiguration{EgressType: ptrTo("VPC")}}
				return r
			}(),
			wantCode: ar.CodeInvalidRequest, wantMsg: []string{"VpcConnectorArn"},
		},
		{
			name: "unknown auto scaling configuration",
			req: func() *ar.CreateServiceRequest {
				r := codeRequest("asc1")
				r.AutoScalingConfigurationArn = ptrTo("arn:aws:apprunner:us-east-1:123456789012:autoscalingconfiguration/nope/1/0123")
				return r
			}(),
			wantCode: ar.CodeInvalidRequest, wantMsg: []string{"AutoScalingConfigurationArn"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			max := tt.max
			if max == 0 {
				max = 10
			}
			f := newFixture(t, max)
			if tt.setup != nil {
				tt.setup(t, f)
			}
			wakes := f.waker.count()
			before := f.countServices(t)
			_, err := f.c.CreateService(context.Background(), tt.req)
			wantAPIError(t, err, tt.wantCode, tt.wantMsg...)
			if got := f.countServices(t); got != before {
				t.Errorf("services = %d after a failed create, want %d", got, before)
			}
			if got := f.waker.count(); got != wakes {
				t.Errorf("Wake called %d times by a failed create", got-wakes)
			}
		})
	}
}

func (f *fixture) countServices(t *testing.T) int {
	t.Helper()
	var n int
	if err := f.st.View(context.Background(), func(tx *store.Tx) (err error) {
		all, err := tx.Services(true)
		n = len(all)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCreateServiceAfterDeleteFreesName(t *testing.T) {
	f := newFixture(t, 1)
	first := f.create(t, codeRequest("my-app"))
	f.setStatus(t, first.Service.ServiceArn, ar.ServiceStatusDeleted)
	second := f.create(t, codeRequest("my-app"))
	if second.Service.ServiceArn == first.Service.ServiceArn {
		t.Error("a re-created service got the deleted one's ARN")
	}
}

// TestStateMachine checks which statuses allow which operation.
func TestStateMachine(t *testing.T) {
	type action struct {
		name   string
		opType string
		do     func(c *Control, arn string) error
	}
	ctx := context.Background()
	actions := []action{
		{"pause", ar.OperationTypePauseService, func(c *Control, arn string) error {
			_, err := c.PauseService(ctx, &ar.PauseServiceRequest{ServiceArn: arn})
			return err
		}},
		{"resume", ar.OperationTypeResumeService, func(c *Control, arn string) error {
			_, err := c.ResumeService(ctx, &ar.ResumeServiceRequest{ServiceArn: arn})
			return err
		}},
		{"deploy", ar.OperationTypeStartDeployment, func(c *Control, arn string) error {
			_, err := c.StartDeployment(ctx, &ar.StartDeploymentRequest{ServiceArn: arn})
			return err
		}},
		{"update", ar.OperationTypeUpdateService, func(c *Control, arn string) error {
			_, err := c.UpdateService(ctx, &ar.UpdateServiceRequest{ServiceArn: arn,
				InstanceConfiguration: &ar.InstanceConfiguration{Cpu: ptrTo("2 vCPU"), Memory: ptrTo("4 GB")}})
			return err
		}},
		{"delete", ar.OperationTypeDeleteService, func(c *Control, arn string) error {
			_, err := c.DeleteService(ctx, &ar.DeleteServiceRequest{ServiceArn: arn})
			return err
		}},
	}
	allowed := map[string][]string{
		"pause":  {ar.ServiceStatusRunning},
		"resume": {ar.ServiceStatusPaused},
		"deploy": {ar.ServiceStatusRunning},
		"update": {ar.ServiceStatusRunning, ar.ServiceStatusCreateFailed},
		"delete": {ar.ServiceStatusRunning, ar.ServiceStatusPaused, ar.ServiceStatusCreateFailed, ar.ServiceStatusDeleteFailed},
	}
	statuses := []string{ar.ServiceStatusRunning, ar.ServiceStatusPaused, ar.ServiceStatusCreateFailed,
		ar.ServiceStatusDeleteFailed, ar.ServiceStatusOperationInProgress, ar.ServiceStatusDeleted}
	for _, a := range actions {
		for _, status := range statuses {
			t.Run(a.name+" from "+status, func(t *testing.T) {
				f := newFixture(t, 10)
				svc := f.create(t, codeRequest("my-app")).Service
				f.setStatus(t, svc.ServiceArn, status)
				wakes := f.waker.count()
				err := a.do(f.c, svc.ServiceArn)

				ok := false
				for _, s := range allowed[a.name] {
					ok = ok || s == status
				}
				switch {
				case status == ar.ServiceStatusDeleted:
					wantAPIError(t, err, ar.CodeResourceNotFound)
				case !ok:
					wantAPIError(t, err, ar.CodeInvalidState, status)
				default:
					if err != nil {
						t.Fatalf("%s from %s: %v", a.name, status, err)
					}
				}
				if !ok || status == ar.ServiceStatusDeleted {
					if got := f.waker.count(); got != wakes {
						t.Errorf("Wake called after a refused %s", a.name)
					}
					return
				}
				if got := f.waker.count(); got != wakes+1 {
					t.Errorf("Wake called %d times, want 1", got-wakes)
				}
				d, err := f.c.DescribeService(ctx, &ar.DescribeServiceRequest{ServiceArn: svc.ServiceArn})
				if err != nil {
					t.Fatal(err)
				}
				if d.Service.Status != ar.ServiceStatusOperationInProgress {
					t.Errorf("status after %s = %s, want OPERATION_IN_PROGRESS", a.name, d.Service.Status)
				}
				ops, err := f.c.ListOperations(ctx, &ar.ListOperationsRequest{ServiceArn: svc.ServiceArn})
				if err != nil {
					t.Fatal(err)
				}
				var types []string
				for _, o := range ops.OperationSummaryList {
					types = append(types, deref(o.Type))
				}
				if want := []string{a.opType, ar.OperationTypeCreateService}; strings.Join(types, ",") != strings.Join(want, ",") {
					t.Errorf("operations = %q, want newest first %q", types, want)
				}
				if got := deref(ops.OperationSummaryList[0].Status); got != ar.OperationStatusPending {
					t.Errorf("new operation status = %s, want PENDING", got)
				}
			})
		}
	}
}

func TestPausePausedMentionsStatus(t *testing.T) {
	f := newFixture(t, 10)
	svc := f.create(t, codeRequest("my-app")).Service
	f.setStatus(t, svc.ServiceArn, ar.ServiceStatusPaused)
	_, err := f.c.PauseService(context.Background(), &ar.PauseServiceRequest{ServiceArn: svc.ServiceArn})
	wantAPIError(t, err, ar.CodeInvalidState, "PAUSED", "my-app", "RUNNING")
}

func TestUnknownServiceNotFound(t *testing.T) {
	f := newFixture(t, 10)
	ctx := context.Background()
	const arn = "arn:aws:apprunner:us-east-1:123456789012:service/nope/0123456789abcdef0123456789abcdef"
	calls := map[string]func() error{
		"Describe": func() error {
			_, err := f.c.DescribeService(ctx, &ar.DescribeServiceRequest{ServiceArn: arn})
			return err
		},
		"Update": func() error {
			_, err := f.c.UpdateService(ctx, &ar.UpdateServiceRequest{ServiceArn: arn})
			return err
		},
		"Delete": func() error {
			_, err := f.c.DeleteService(ctx, &ar.DeleteServiceRequest{ServiceArn: arn})
			return err
		},
		"Pause": func() error {
			_, err := f.c.PauseService(ctx, &ar.PauseServiceRequest{ServiceArn: arn})
			return err
		},
		"ListOperations": func() error {
			_, err := f.c.ListOperations(ctx, &ar.ListOperationsRequest{ServiceArn: arn})
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) { wantAPIError(t, call(), ar.CodeResourceNotFound, arn) })
	}
}

func TestDeletedServiceStillDescribed(t *testing.T) {
	f := newFixture(t, 10)
	ctx := context.Background()
	svc := f.create(t, codeRequest("my-app")).Service
	f.setStatus(t, svc.ServiceArn, ar.ServiceStatusDeleted)
	d, err := f.c.DescribeService(ctx, &ar.DescribeServiceRequest{ServiceArn: svc.ServiceArn})
	if err != nil {
		t.Fatalf("DescribeService(deleted): %v", err)
	}
	if d.Service.Status != ar.ServiceStatusDeleted || d.Service.DeletedAt == nil {
		t.Errorf("deleted service: status %s, DeletedAt %v; want DELETED with DeletedAt", d.Service.Status, d.Service.DeletedAt)
	}
	list, err := f.c.ListServices(ctx, &ar.ListServicesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.ServiceSummaryList) != 0 {
		t.Errorf("ListServices = %d services, want the deleted one left out", len(list.ServiceSummaryList))
	}
	_, err = f.c.DeleteService(ctx, &ar.DeleteServiceRequest{ServiceArn: svc.ServiceArn})
	wantAPIError(t, err, ar.CodeResourceNotFound)
}

func TestUpdateServiceMergesAndKeepsConfigUntilDeployed(t *testing.T) {
	f := newFixture(t, 10)
	ctx := context.Background()
	svc := f.create(t, codeRequest("my-app")).Service
	f.setStatus(t, svc.ServiceArn, ar.ServiceStatusRunning)
	out, err := f.c.UpdateService(ctx, &ar.UpdateServiceRequest{ServiceArn: svc.ServiceArn,
		InstanceConfiguration: &ar.InstanceConfiguration{Cpu: ptrTo("2 vCPU"), Memory: ptrTo("4 GB")}})
	if err != nil {
		t.Fatal(err)
	}
	if !uuidRE.MatchString(out.OperationId) {
		t.Errorf("OperationId = %q, want a UUID", out.OperationId)
	}
	// The service shows the configuration in force; the operation carries the new one.
	if got := deref(out.Service.InstanceConfiguration.Cpu); got != "1024" {
		t.Errorf("service Cpu right after UpdateService = %s, want the deployed 1024", got)
	}
	err = f.st.View(ctx, func(tx *store.Tx) error {
		op, err := tx.Operation(out.OperationId)
		if err != nil {
			return err
		}
		if op.Config == nil {
			t.Fatal("UPDATE_SERVICE operation has no Config")
		}
		if got := deref(op.Config.Instance.Cpu) + "/" + deref(op.Config.Instance.Memory); got != "2048/4096" {
			t.Errorf("operation Cpu/Memory = %s, want 2048/4096", got)
		}
		if op.Config.Source == nil || op.Config.Source.CodeRepository == nil ||
			op.Config.Source.CodeRepository.RepositoryUrl != "https://example.com/my-app.git" {
			t.Errorf("operation Source = %+v, want the service's source kept", op.Config.Source)
		}
		if op.Config.AutoScalingConfigurationArn == "" {
			t.Error("operation lost the auto scaling configuration")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestUpdateServiceInvalid(t *testing.T) {
	f := newFixture(t, 10)
	svc := f.create(t, codeRequest("my-app")).Service
	f.setStatus(t, svc.ServiceArn, ar.ServiceStatusRunning)
	_, err := f.c.UpdateService(context.Background(), &ar.UpdateServiceRequest{ServiceArn: svc.ServiceArn,
		InstanceConfiguration: &ar.InstanceConfiguration{Cpu: ptrTo("4096"), Memory: ptrTo("512")}})
	wantAPIError(t, err, ar.CodeInvalidRequest, "Memory")
	d, _ := f.c.DescribeService(context.Background(), &ar.DescribeServiceRequest{ServiceArn: svc.ServiceArn})
	if d.Service.Status != ar.ServiceStatusRunning {
		t.Errorf("status after a rejected update = %s, want RUNNING", d.Service.Status)
	}
}

func TestListServicesPagination(t *testing.T) {
	f := newFixture(t, 10)
	ctx := context.Background()
	var want []string
	for _, n := range []string{"svc-a", "svc-b", "svc-c", "svc-d", "svc-e"} {
		f.create(t, codeRequest(n))
		want = append(want, n)
	}
	var (
		got   []string
		pages int
		token *string
	)
	for {
		out, err := f.c.ListServices(ctx, &ar.ListServicesRequest{MaxResults: ptrTo[int64](2), NextToken: token})
		if err != nil {
			t.Fatalf("ListServices page %d: %v", pages+1, err)
		}
		pages++
		if len(out.ServiceSummaryList) > 2 {
			t.Errorf("page %d has %d services, want at most 2", pages, len(out.ServiceSummaryList))
		}
		for _, s := range out.ServiceSummaryList {
			got = append(got, deref(s.ServiceName))
		}
		if out.NextToken == nil {
			break
		}
		if *out.NextToken == "" {
			t.Fatal("NextToken is an empty string; SDK paginators want nil on the last page")
		}
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		token = out.NextToken
	}
	if pages != 3 {
		t.Errorf("pages = %d, want 3", pages)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("services = %q, want %q in creation order", got, want)
	}

	all, err := f.c.ListServices(ctx, &ar.ListServicesRequest{})
	if err != nil || len(all.ServiceSummaryList) != 5 || all.NextToken != nil {
		t.Errorf("ListServices without MaxResults = %d services, token %v, err %v; want all 5 and no token",
			len(all.ServiceSummaryList), all.NextToken, err)
	}

	for _, bad := range []string{"!!!", "bm90LWEtbnVtYmVy", "OTk", "LTE"} { // garbage, "not-a-number", "99", "-1"
		_, err := f.c.ListServices(ctx, &ar.ListServicesRequest{MaxResults: ptrTo[int64](2), NextToken: &bad})
		wantAPIError(t, err, ar.CodeInvalidRequest, "NextToken")
	}
}

func TestListServicesEmpty(t *testing.T) {
	f := newFixture(t, 10)
	out, err := f.c.ListServices(context.Background(), &ar.ListServicesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if out.ServiceSummaryList == nil || len(out.ServiceSummaryList) != 0 {
		t.Errorf("ServiceSummaryList = %#v, want an empty, non-nil list", out.ServiceSummaryList)
	}
}

func TestListOperationsPagination(t *testing.T) {
	f := newFixture(t, 10)
	ctx := context.Background()
	svc := f.create(t, codeRequest("my-app")).Service
	for range 2 {
		f.setStatus(t, svc.ServiceArn, ar.ServiceStatusRunning)
		if _, err := f.c.StartDeployment(ctx, &ar.StartDeploymentRequest{ServiceArn: svc.ServiceArn}); err != nil {
			t.Fatal(err)
		}
	}
	p1, err := f.c.ListOperations(ctx, &ar.ListOperationsRequest{ServiceArn: svc.ServiceArn, MaxResults: ptrTo[int64](2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(p1.OperationSummaryList) != 2 || p1.NextToken == nil {
		t.Fatalf("page 1 = %d operations, token %v; want 2 and a token", len(p1.OperationSummaryList), p1.NextToken)
	}
	p2, err := f.c.ListOperations(ctx, &ar.ListOperationsRequest{ServiceArn: svc.ServiceArn, MaxResults: ptrTo[int64](2), NextToken: p1.NextToken})
	if err != nil {
		t.Fatal(err)
	}
	if len(p2.OperationSummaryList) != 1 || p2.NextToken != nil || deref(p2.OperationSummaryList[0].Type) != ar.OperationTypeCreateService {
		t.Errorf("page 2 = %+v, token %v; want only the CREATE_SERVICE operation and no token", p2.OperationSummaryList, p2.NextToken)
	}
}

func TestPaginate(t *testing.T) {
	items := []int{0, 1, 2, 3, 4}
	tok := func(s string) *string { return &s }
	tests := []struct {
		name      string
		token     *string
		max       *int64
		want      []int
		wantNext  bool
		wantError bool
	}{
		{name: "all", want: items},
		{name: "first page", max: ptrTo[int64](2), want: []int{0, 1}, wantNext: true},
		{name: "exact fit", max: ptrTo[int64](5), want: items},
		{name: "more than all", max: ptrTo[int64](20), want: items},
		{name: "empty token is the first page", token: tok(""), max: ptrTo[int64](3), want: []int{0, 1, 2}, wantNext: true},
		{name: "offset 4", token: tok("NA"), max: ptrTo[int64](2), want: []int{4}},
		{name: "offset at end", token: tok("NQ"), want: []int{}},
		{name: "offset past end", token: tok("Ng"), wantError: true},
		{name: "garbage", token: tok("%%%"), wantError: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, next, err := paginate(items, tt.token, tt.max)
			if tt.wantError {
				wantAPIError(t, err, ar.CodeInvalidRequest)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) || (len(got) > 0 && got[0] != tt.want[0]) {
				t.Errorf("page = %v, want %v", got, tt.want)
			}
			if (next != nil) != tt.wantNext {
				t.Errorf("next = %v, want present %v", next, tt.wantNext)
			}
		})
	}
}

func TestServiceURL(t *testing.T) {
	for _, tt := range []struct {
		port int
		want string
	}{{0, "h.example"}, {80, "h.example"}, {443, "h.example"}, {8080, "h.example:8080"}} {
		c := &Control{cfg: Config{RouterPort: tt.port}}
		if got := c.ServiceURL("h.example"); got != tt.want {
			t.Errorf("ServiceURL with port %d = %q, want %q", tt.port, got, tt.want)
		}
	}
}

func TestOperationTrigger(t *testing.T) {
	f := newFixture(t, 10)
	out := f.create(t, codeRequest("trig-svc"))
	arn := out.Service.ServiceArn
	f.setStatus(t, arn, ar.ServiceStatusRunning)
	dep, err := f.c.StartDeployment(WithTrigger(context.Background(), "console"), &ar.StartDeploymentRequest{ServiceArn: arn})
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{out.OperationId: "api", dep.OperationId: "console"} {
		var op store.Operation
		f.st.View(context.Background(), func(tx *store.Tx) (err error) {
			op, err = tx.Operation(id)
			return err
		})
		if op.Trigger != want {
			t.Errorf("operation %s trigger = %q, want %q", id, op.Trigger, want)
		}
	}
}

// TestPaginateEmptyIsNotNil checks that an empty page serializes as [],
// as the model's required list members must.
func TestPaginateEmptyIsNotNil(t *testing.T) {
	for _, items := range [][]string{nil, {}} {
		page, next, err := paginate(items, nil, nil)
		if err != nil || page == nil || next != nil {
			t.Errorf("paginate(%#v) = %#v, %v, %v; want a non-nil empty page and no token", items, page, next, err)
		}
	}
}
