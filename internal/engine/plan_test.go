package engine

import (
	"reflect"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/appconfig"
	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/health"
	"github.com/slipwayhq/slipway/internal/store"
)

func ptr[T any](v T) *T { return &v }

func TestPlanFromValues(t *testing.T) {
	tests := []struct {
		name string
		in   ar.CodeConfigurationValues
		want appconfig.Plan
	}{
		{
			name: "defaults",
			in:   ar.CodeConfigurationValues{Runtime: "PYTHON_3", StartCommand: ptr("python app.py")},
			want: appconfig.Plan{Runtime: "PYTHON_3", StartCommand: "python app.py", Port: 8080, PortEnv: "PORT"},
		},
		{
			name: "everything",
			in: ar.CodeConfigurationValues{
				Runtime: "NODEJS_18", BuildCommand: ptr("npm ci"), StartCommand: ptr("node ."), Port: ptr("3000"),
				RuntimeEnvironmentVariables: map[string]string{"A": "1"},
				RuntimeEnvironmentSecrets:   map[string]string{"DB": "arn:aws:secretsmanager:us-east-1:1:secret:db"},
			},
			want: appconfig.Plan{Runtime: "NODEJS_18", BuildCommands: []string{"npm ci"}, StartCommand: "node .", Port: 3000,
				PortEnv: "PORT", Env: map[string]string{"A": "1"}, Secrets: map[string]string{"DB": "arn:aws:secretsmanager:us-east-1:1:secret:db"}},
		},
		{
			name: "empty build command is no command",
			in:   ar.CodeConfigurationValues{Runtime: "GO_1", BuildCommand: ptr(""), StartCommand: ptr("./app")},
			want: appconfig.Plan{Runtime: "GO_1", StartCommand: "./app", Port: 8080, PortEnv: "PORT"},
		},
		{
			name: "unparsable port keeps the default",
			in:   ar.CodeConfigurationValues{Runtime: "GO_1", StartCommand: ptr("./app"), Port: ptr("http")},
			want: appconfig.Plan{Runtime: "GO_1", StartCommand: "./app", Port: 8080, PortEnv: "PORT"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := planFromValues(&tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("planFromValues = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func basePlan() appconfig.Plan {
	return appconfig.Plan{
		Runtime: "PYTHON_3", RuntimeVersion: "3.11", BuildCommands: []string{"pip install -r requirements.txt"},
		BuildEnv: map[string]string{"PIP_NO_CACHE": "1"}, PreRun: []string{"./migrate"}, StartCommand: "python app.py",
		Port: 8000, PortEnv: "PORT", Env: map[string]string{"MODE": "prod"}, Secrets: map[string]string{"S": "ref"},
	}
}

func TestMakePlanBuildKey(t *testing.T) {
	const commit, dir = "0123456789abcdef0123456789abcdef01234567", "api"
	_, base := makePlan(basePlan(), commit, dir, nil)
	if len(base.Key) != 16 {
		t.Fatalf("Key = %q, want 16 hex characters", base.Key)
	}
	tests := []struct {
		name       string
		commit     string
		dir        string
		edit       func(p *appconfig.Plan)
		wantChange bool
	}{
		{name: "same inputs", wantChange: false},
		{name: "other commit", commit: "fedcba9876543210fedcba9876543210fedcba98", wantChange: true},
		{name: "other directory", dir: "web", wantChange: true},
		{name: "other build command", edit: func(p *appconfig.Plan) { p.BuildCommands = []string{"pip install ."} }, wantChange: true},
		{name: "extra build command", edit: func(p *appconfig.Plan) { p.BuildCommands = append(p.BuildCommands, "make") }, wantChange: true},
		{name: "other build env", edit: func(p *appconfig.Plan) { p.BuildEnv = map[string]string{"PIP_NO_CACHE": "0"} }, wantChange: true},
		{name: "other runtime", edit: func(p *appconfig.Plan) { p.Runtime = "PYTHON_311" }, wantChange: true},
		{name: "other runtime version", edit: func(p *appconfig.Plan) { p.RuntimeVersion = "3.12" }, wantChange: true},
		{name: "other start command", edit: func(p *appconfig.Plan) { p.StartCommand = "gunicorn app" }, wantChange: false},
		{name: "other run env", edit: func(p *appconfig.Plan) { p.Env = map[string]string{"MODE": "dev"} }, wantChange: false},
		{name: "other port", edit: func(p *appconfig.Plan) { p.Port = 9000 }, wantChange: false},
		{name: "other pre-run", edit: func(p *appconfig.Plan) { p.PreRun = nil }, wantChange: false},
		{name: "other secrets", edit: func(p *appconfig.Plan) { p.Secrets = nil }, wantChange: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := basePlan()
			if tt.edit != nil {
				tt.edit(&p)
			}
			c, d := commit, dir
			if tt.commit != "" {
				c = tt.commit
			}
			if tt.dir != "" {
				d = tt.dir
			}
			_, spec := makePlan(p, c, d, nil)
			if changed := spec.Key != base.Key; changed != tt.wantChange {
				t.Errorf("key %s vs base %s: changed = %v, want %v", spec.Key, base.Key, changed, tt.wantChange)
			}
		})
	}
}

func TestMakePlanRunAndSpec(t *testing.T) {
	p := basePlan()
	run, spec := makePlan(p, "abc", "api", &ar.InstanceConfiguration{Cpu: ptr("1024"), Memory: ptr("2048")})
	wantRun := store.RunPlan{WorkDir: "api", PreRun: p.PreRun, Command: p.StartCommand, Port: 8000, PortEnv: "PORT",
		Env: p.Env, Secrets: p.Secrets, CPU: 1.0, Memory: 2048}
	if !reflect.DeepEqual(run, wantRun) {
		t.Errorf("run = %+v, want %+v", run, wantRun)
	}
	if spec.WorkDir != "api" || spec.Runtime != "PYTHON_3" || spec.RuntimeVersion != "3.11" ||
		!reflect.DeepEqual(spec.Commands, p.BuildCommands) || !reflect.DeepEqual(spec.Env, p.BuildEnv) || spec.SourceDir != "" {
		t.Errorf("spec = %+v, want the plan's build inputs and no SourceDir", spec)
	}
}

func TestMakePlanInstanceSize(t *testing.T) {
	tests := []struct {
		name    string
		ic      *ar.InstanceConfiguration
		wantCPU float64
		wantMem int
	}{
		{"none", nil, 0, 0},
		{"empty", &ar.InstanceConfiguration{}, 0, 0},
		{"1024/2048", &ar.InstanceConfiguration{Cpu: ptr("1024"), Memory: ptr("2048")}, 1.0, 2048},
		{"256/512", &ar.InstanceConfiguration{Cpu: ptr("256"), Memory: ptr("512")}, 0.25, 512},
		{"vCPU/GB spellings", &ar.InstanceConfiguration{Cpu: ptr("2 vCPU"), Memory: ptr("4 GB")}, 2.0, 4096},
		{"4096/12288", &ar.InstanceConfiguration{Cpu: ptr("4096"), Memory: ptr("12288")}, 4.0, 12288},
		{"invalid values are no limit", &ar.InstanceConfiguration{Cpu: ptr("3"), Memory: ptr("lots")}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run, _ := makePlan(basePlan(), "abc", "", tt.ic)
			if run.CPU != tt.wantCPU || run.Memory != tt.wantMem {
				t.Errorf("CPU/Memory = %v/%d, want %v/%d", run.CPU, run.Memory, tt.wantCPU, tt.wantMem)
			}
		})
	}
}

func TestHealthCheck(t *testing.T) {
	tests := []struct {
		name string
		in   *ar.HealthCheckConfiguration
		want health.Check
	}{
		{"nil is App Runner's default", nil, health.Default()},
		{"empty is App Runner's default", &ar.HealthCheckConfiguration{}, health.Default()},
		{
			"control plane defaults",
			&ar.HealthCheckConfiguration{Protocol: ptr("TCP"), Path: ptr("/"), Interval: ptr[int64](5), Timeout: ptr[int64](2),
				HealthyThreshold: ptr[int64](1), UnhealthyThreshold: ptr[int64](5)},
			health.Check{Protocol: "TCP", Path: "/", Interval: 5 * time.Second, Timeout: 2 * time.Second, HealthyThreshold: 1, UnhealthyThreshold: 5},
		},
		{
			"HTTP, all set",
			&ar.HealthCheckConfiguration{Protocol: ptr("HTTP"), Path: ptr("/healthz"), Interval: ptr[int64](20), Timeout: ptr[int64](20),
				HealthyThreshold: ptr[int64](3), UnhealthyThreshold: ptr[int64](20)},
			health.Check{Protocol: "HTTP", Path: "/healthz", Interval: 20 * time.Second, Timeout: 20 * time.Second, HealthyThreshold: 3, UnhealthyThreshold: 20},
		},
		{
			"partly set",
			&ar.HealthCheckConfiguration{Protocol: ptr("HTTP"), Interval: ptr[int64](1)},
			health.Check{Protocol: "HTTP", Path: "/", Interval: time.Second, Timeout: 2 * time.Second, HealthyThreshold: 1, UnhealthyThreshold: 5},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := healthCheck(tt.in); got != tt.want {
				t.Errorf("healthCheck = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDescribeCheck(t *testing.T) {
	tests := []struct {
		in   health.Check
		want string
	}{
		{health.Default(), "TCP every 5s, timeout 2s, healthy after 1, unhealthy after 5"},
		{health.Check{Protocol: "HTTP", Path: "/hz", Interval: time.Second, Timeout: time.Second, HealthyThreshold: 2, UnhealthyThreshold: 3},
			"HTTP /hz every 1s, timeout 1s, healthy after 2, unhealthy after 3"},
	}
	for _, tt := range tests {
		if got := describeCheck(tt.in); got != tt.want {
			t.Errorf("describeCheck(%+v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestBackoffAfter(t *testing.T) {
	now := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60, 60}
	var b backoff
	for i, w := range want {
		b = b.after(now)
		if got := b.next.Sub(now); got != w*time.Second {
			t.Errorf("failure %d: delay %s, want %s", i+1, got, w*time.Second)
		}
		if b.failures != i+1 {
			t.Errorf("failure %d: failures = %d", i+1, b.failures)
		}
	}
	// Many failures do not overflow the shift.
	b = backoff{failures: 1000}.after(now)
	if got := b.next.Sub(now); got != maxBackoff {
		t.Errorf("after 1000 failures: delay %s, want %s", got, maxBackoff)
	}
}

func TestTruncateAndShort(t *testing.T) {
	if got := truncate("hello", 10); got != "hello" {
		t.Errorf("truncate short = %q", got)
	}
	if got := truncate("hello world", 5); got != "hello…" {
		t.Errorf("truncate long = %q, want hello…", got)
	}
	if got := short("0123456789abcdef"); got != "0123456789ab" {
		t.Errorf("short = %q, want 12 characters", got)
	}
	if got := short("abc"); got != "abc" {
		t.Errorf("short(abc) = %q", got)
	}
}

func TestServiceBuildKey(t *testing.T) {
	const key = "0123456789abcdef"
	a, b := serviceBuildKey("arn:svc/a", key), serviceBuildKey("arn:svc/b", key)
	if a == b {
		t.Errorf("two services' keys for one build are both %q, want their own", a)
	}
	if again := serviceBuildKey("arn:svc/a", key); again != a {
		t.Errorf("serviceBuildKey is %q then %q for the same inputs", a, again)
	}
	if other := serviceBuildKey("arn:svc/a", "fedcba9876543210"); other == a {
		t.Errorf("other build inputs give the same key %q", a)
	}
	if len(a) != 16 {
		t.Errorf("key %q, want 16 hex characters", a)
	}
}
