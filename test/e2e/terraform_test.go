package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/slipwayhq/slipway/test/dockerenv"
	"github.com/slipwayhq/slipway/test/testenv"
)

// The Terraform tests make the calls terraform-provider-aws makes for the
// aws_apprunner_* resources, in its order, through aws-sdk-go-v2 (the SDK
// the provider uses), with the provider's waiter targets
// (internal/service/apprunner in its source). The test suite cannot
// download Terraform itself.

// errNotFound is what a provider's finder returns for a gone resource.
var errNotFound = errors.New("not found")

// waitState does what the provider's retry.StateChangeConf does: refresh
// until the state is a target; a state neither pending nor target fails
// ("unexpected state"), and a resource not found ends a wait whose target
// is empty (a delete) and is retried 20 times otherwise. Polls back off
// from 100 ms, as the provider's do (capped lower to keep the test short).
func waitState(t *testing.T, what string, pending, target []string, refresh func() (string, error)) string {
	t.Helper()
	wait, notFound := 100*time.Millisecond, 0
	deadline := time.Now().Add(2 * time.Minute)
	for {
		state, err := refresh()
		switch {
		case errors.Is(err, errNotFound):
			if len(target) == 0 {
				return ""
			}
			if notFound++; notFound > 20 {
				t.Fatalf("%s: couldn't find resource (21 retries)", what)
			}
		case err != nil:
			t.Fatalf("%s: %v", what, err)
		case slices.Contains(target, state):
			return state
		case !slices.Contains(pending, state):
			t.Fatalf("%s: unexpected state '%s', wanted target '%s'", what, state, strings.Join(target, ", "))
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: timeout while waiting for state to become '%s' (last state: '%s')", what, strings.Join(target, ", "), state)
		}
		time.Sleep(wait)
		wait = min(wait*2, 2*time.Second)
	}
}

// tfClients are the provider's clients, configured as a provider block with
// only endpoints and a region configures them after `eval "$(slipway env)"`.
func tfClients(t *testing.T, s *testenv.Server) (*apprunner.Client, *sts.Client) {
	id, secret := s.Credentials()
	creds := credentials.NewStaticCredentialsProvider(id, secret, "")
	ep := aws.String("http://" + s.API)
	return apprunner.New(apprunner.Options{Region: "us-east-1", BaseEndpoint: ep, Credentials: creds}),
		sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: ep, Credentials: creds})
}

// TestTerraformProviderWire applies, plans again, updates and destroys a
// configuration of aws_apprunner_auto_scaling_configuration_version,
// aws_apprunner_observability_configuration, aws_apprunner_service (a code
// service) and aws_apprunner_custom_domain_association, as the provider
// calls the API for them, and checks that a read after apply matches the
// configuration, so the next plan is empty.
func TestTerraformProviderWire(t *testing.T) {
	s := startServer(t, "--acme-ca", "")
	ar, stsc := tfClients(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// The provider's first call, without skip_credentials_validation and
	// skip_requesting_account_id.
	who, err := stsc.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("sts GetCallerIdentity: %v", err)
	}
	if aws.ToString(who.Account) != "000000000000" || !strings.HasPrefix(aws.ToString(who.Arn), "arn:aws:iam::000000000000:") {
		t.Fatalf("caller identity = %s %s, want account 000000000000", aws.ToString(who.Account), aws.ToString(who.Arn))
	}
	// And the aws CLI's.
	cli := s.MustCLI("sts", "get-caller-identity")
	if cli["Account"] != "000000000000" || cli["UserId"] != aws.ToString(who.UserId) {
		t.Fatalf("aws sts get-caller-identity = %v, want the SDK's identity", cli)
	}

	// aws_apprunner_auto_scaling_configuration_version: create, wait for
	// "active" (no pending state), read.
	ascOut, err := ar.CreateAutoScalingConfiguration(ctx, &apprunner.CreateAutoScalingConfigurationInput{
		AutoScalingConfigurationName: aws.String("tf-asc"),
		MaxConcurrency:               aws.Int32(50), MaxSize: aws.Int32(3), MinSize: aws.Int32(1),
		Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("test")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ascARN := aws.ToString(ascOut.AutoScalingConfiguration.AutoScalingConfigurationArn)
	ascStatus := func() (string, error) {
		out, err := ar.DescribeAutoScalingConfiguration(ctx, &apprunner.DescribeAutoScalingConfigurationInput{AutoScalingConfigurationArn: &ascARN})
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) {
			return "", errNotFound
		}
		if err != nil {
			return "", err
		}
		if st := string(out.AutoScalingConfiguration.Status); st == "inactive" {
			return "", errNotFound // the provider's finder: inactive is gone
		}
		return string(out.AutoScalingConfiguration.Status), nil
	}
	waitState(t, "auto scaling configuration create", nil, []string{"active"}, ascStatus)
	tfTags(t, ctx, ar, ascARN, map[string]string{"env": "test"})

	// aws_apprunner_observability_configuration: create, wait for ACTIVE.
	obsOut, err := ar.CreateObservabilityConfiguration(ctx, &apprunner.CreateObservabilityConfigurationInput{
		ObservabilityConfigurationName: aws.String("tf-obs"),
		TraceConfiguration:             &types.TraceConfiguration{Vendor: types.TracingVendorAwsxray},
	})
	if err != nil {
		t.Fatal(err)
	}
	obsARN := aws.ToString(obsOut.ObservabilityConfiguration.ObservabilityConfigurationArn)
	obsStatus := func() (string, error) {
		out, err := ar.DescribeObservabilityConfiguration(ctx, &apprunner.DescribeObservabilityConfigurationInput{ObservabilityConfigurationArn: &obsARN})
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) {
			return "", errNotFound
		}
		if err != nil {
			return "", err
		}
		if out.ObservabilityConfiguration.Status == types.ObservabilityConfigurationStatusInactive {
			return "", errNotFound
		}
		return string(out.ObservabilityConfiguration.Status), nil
	}
	waitState(t, "observability configuration create", nil, []string{"ACTIVE"}, obsStatus)

	// aws_apprunner_service, as a configuration with a code repository, an
	// instance_configuration and a health check, and no observability,
	// encryption or authentication block: the provider sends what the
	// configuration holds plus its schema defaults.
	repo := newGitRepo(t)
	repo.Write("app.py", testenv.PyApp)
	repo.Write("version.txt", "v1\n")
	repo.Commit("v1")
	source := func(greeting string) *types.SourceConfiguration {
		return &types.SourceConfiguration{
			AutoDeploymentsEnabled: aws.Bool(false),
			CodeRepository: &types.CodeRepository{
				RepositoryUrl:     aws.String(repo.Dir),
				SourceCodeVersion: &types.SourceCodeVersion{Type: types.SourceCodeVersionTypeBranch, Value: aws.String("main")},
				CodeConfiguration: &types.CodeConfiguration{
					ConfigurationSource: types.ConfigurationSourceApi,
					CodeConfigurationValues: &types.CodeConfigurationValues{
						Port: aws.String("8080"), Runtime: types.RuntimePython3, StartCommand: aws.String("python3 app.py"),
						RuntimeEnvironmentVariables: map[string]string{"APP_NAME": "tf", "GREETING": greeting},
					},
				},
			},
		}
	}
	health := &types.HealthCheckConfiguration{HealthyThreshold: aws.Int32(1), Interval: aws.Int32(1), Path: aws.String("/"),
		Protocol: types.HealthCheckProtocolTcp, Timeout: aws.Int32(1), UnhealthyThreshold: aws.Int32(5)}
	created, err := ar.CreateService(ctx, &apprunner.CreateServiceInput{
		ServiceName:                 aws.String("tf-svc"),
		SourceConfiguration:         source("hello"),
		AutoScalingConfigurationArn: &ascARN,
		HealthCheckConfiguration:    health,
		InstanceConfiguration:       &types.InstanceConfiguration{Cpu: aws.String("1 vCPU"), Memory: aws.String("2048")},
		Tags:                        []types.Tag{{Key: aws.String("app"), Value: aws.String("tf")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	svcARN := aws.ToString(created.Service.ServiceArn)
	svcStatus := func() (string, error) {
		s, err := tfReadService(ctx, ar, svcARN)
		if err != nil {
			return "", err
		}
		return string(s.Status), nil
	}
	waitState(t, "service create", []string{"OPERATION_IN_PROGRESS"}, []string{"RUNNING"}, svcStatus)

	// The read after apply, flattened as the provider flattens it, must
	// equal the configuration (with the schema's defaults), or every plan
	// shows a change.
	want := tfServiceState{
		AutoScalingConfigurationArn: ascARN,
		Source:                      flatten(source("hello")),
		HealthCheck:                 flatten(health),
		// The provider suppresses "1024" against "1 vCPU" and reads back
		// numbers: the API answers in units.
		Instance:      map[string]any{"Cpu": "1024", "Memory": "2048"},
		Observability: nil, Encryption: nil,
	}
	state := tfServiceRead(t, ctx, ar, svcARN)
	if diff := state.diff(want); diff != "" {
		t.Fatalf("plan after apply is not empty:\n%s", diff)
	}
	if state.URL == "" {
		t.Fatal("service_url is empty")
	}
	tfTags(t, ctx, ar, svcARN, map[string]string{"app": "tf"})
	expectBody(t, s, state.URL, "tf v1 hello")
	if again := tfServiceRead(t, ctx, ar, svcARN); again.diff(want) != "" || again.URL != state.URL {
		t.Fatalf("a second read differs from the first:\n%s", again.diff(want))
	}

	// Update: a changed source_configuration and an observability block;
	// the provider sends only the changed blocks, then waits for RUNNING.
	if _, err := ar.UpdateService(ctx, &apprunner.UpdateServiceInput{
		ServiceArn:          &svcARN,
		SourceConfiguration: source("updated"),
		ObservabilityConfiguration: &types.ServiceObservabilityConfiguration{
			ObservabilityEnabled: true, ObservabilityConfigurationArn: &obsARN},
	}); err != nil {
		t.Fatal(err)
	}
	waitState(t, "service update", []string{"OPERATION_IN_PROGRESS"}, []string{"RUNNING"}, svcStatus)
	want.Source = flatten(source("updated"))
	want.Observability = map[string]any{"ObservabilityConfigurationArn": obsARN, "ObservabilityEnabled": true}
	if diff := tfServiceRead(t, ctx, ar, svcARN).diff(want); diff != "" {
		t.Fatalf("plan after the update is not empty:\n%s", diff)
	}
	expectBodyWithin(t, s, state.URL, "tf v1 updated", 30*time.Second)

	// aws_apprunner_custom_domain_association: create waits from creating
	// to pending_certificate_dns_validation or binding_certificate; delete
	// waits through active or deleting until it is gone.
	assoc, err := ar.AssociateCustomDomain(ctx, &apprunner.AssociateCustomDomainInput{
		ServiceArn: &svcARN, DomainName: aws.String("tf.example.test"), EnableWWWSubdomain: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(assoc.DNSTarget) == "" {
		t.Error("AssociateCustomDomain gave no DNSTarget")
	}
	domainStatus := func() (string, error) {
		p := apprunner.NewDescribeCustomDomainsPaginator(ar, &apprunner.DescribeCustomDomainsInput{ServiceArn: &svcARN})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			var nf *types.ResourceNotFoundException
			if errors.As(err, &nf) {
				return "", errNotFound
			}
			if err != nil {
				return "", err
			}
			for _, d := range page.CustomDomains {
				if aws.ToString(d.DomainName) == "tf.example.test" {
					return string(d.Status), nil
				}
			}
		}
		return "", errNotFound
	}
	waitState(t, "custom domain association create", []string{"creating"},
		[]string{"pending_certificate_dns_validation", "binding_certificate"}, domainStatus)
	if _, err := ar.DisassociateCustomDomain(ctx, &apprunner.DisassociateCustomDomainInput{
		ServiceArn: &svcARN, DomainName: aws.String("tf.example.test")}); err != nil {
		t.Fatal(err)
	}
	waitState(t, "custom domain association delete", []string{"active", "deleting"}, nil, domainStatus)

	// Destroy, in the provider's order: the service, then what it used.
	if _, err := ar.DeleteService(ctx, &apprunner.DeleteServiceInput{ServiceArn: &svcARN}); err != nil {
		t.Fatal(err)
	}
	waitState(t, "service delete", []string{"RUNNING", "OPERATION_IN_PROGRESS"}, nil, svcStatus)
	if _, err := ar.DeleteAutoScalingConfiguration(ctx, &apprunner.DeleteAutoScalingConfigurationInput{AutoScalingConfigurationArn: &ascARN}); err != nil {
		t.Fatal(err)
	}
	waitState(t, "auto scaling configuration delete", []string{"active"}, nil, ascStatus)
	if _, err := ar.DeleteObservabilityConfiguration(ctx, &apprunner.DeleteObservabilityConfigurationInput{ObservabilityConfigurationArn: &obsARN}); err != nil {
		t.Fatal(err)
	}
	waitState(t, "observability configuration delete", []string{"ACTIVE"}, nil, obsStatus)
}

// tfReadService is the provider's findServiceByARN: a DELETED service is
// not found.
func tfReadService(ctx context.Context, ar *apprunner.Client, arn string) (*types.Service, error) {
	out, err := ar.DescribeService(ctx, &apprunner.DescribeServiceInput{ServiceArn: &arn})
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, err
	}
	if out.Service.Status == types.ServiceStatusDeleted {
		return nil, errNotFound
	}
	return out.Service, nil
}

// tfServiceState is the part of aws_apprunner_service's state that the
// configuration sets; nil blocks are absent ones.
type tfServiceState struct {
	AutoScalingConfigurationArn string
	Source, HealthCheck         map[string]any
	Instance                    map[string]any
	Observability, Encryption   map[string]any
	URL                         string `json:"-"`
}

// tfServiceRead reads a service as the provider's Read does, including its
// DescribeCustomDomains fallback when ServiceUrl is empty.
func tfServiceRead(t *testing.T, ctx context.Context, ar *apprunner.Client, arn string) tfServiceState {
	t.Helper()
	svc, err := tfReadService(ctx, ar, arn)
	if err != nil {
		t.Fatalf("read service: %v", err)
	}
	url := aws.ToString(svc.ServiceUrl)
	if url == "" {
		out, err := ar.DescribeCustomDomains(ctx, &apprunner.DescribeCustomDomainsInput{ServiceArn: &arn})
		if err != nil {
			t.Fatalf("read service's custom domains: %v", err)
		}
		url = aws.ToString(out.DNSTarget)
	}
	st := tfServiceState{
		Source: flatten(svc.SourceConfiguration), HealthCheck: flatten(svc.HealthCheckConfiguration),
		Observability: flatten(svc.ObservabilityConfiguration), Encryption: flatten(svc.EncryptionConfiguration),
		URL: url,
	}
	if svc.AutoScalingConfigurationSummary != nil {
		st.AutoScalingConfigurationArn = aws.ToString(svc.AutoScalingConfigurationSummary.AutoScalingConfigurationArn)
	}
	if ic := svc.InstanceConfiguration; ic != nil {
		st.Instance = map[string]any{"Cpu": aws.ToString(ic.Cpu), "Memory": aws.ToString(ic.Memory)}
	}
	return st
}

func (s tfServiceState) diff(want tfServiceState) string {
	var b strings.Builder
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"auto_scaling_configuration_arn", s.AutoScalingConfigurationArn, want.AutoScalingConfigurationArn},
		{"source_configuration", s.Source, want.Source},
		{"health_check_configuration", s.HealthCheck, want.HealthCheck},
		{"instance_configuration", s.Instance, want.Instance},
		{"observability_configuration", s.Observability, want.Observability},
		{"encryption_configuration", s.Encryption, want.Encryption},
	} {
		if !reflect.DeepEqual(f.got, f.want) {
			g, _ := json.Marshal(f.got)
			w, _ := json.Marshal(f.want)
			fmt.Fprintf(&b, "  %s: read %s, configured %s\n", f.name, g, w)
		}
	}
	return b.String()
}

// flatten turns an SDK shape into its JSON map (nil for an absent block),
// which compares like the provider's flattened state.
func flatten(v any) map[string]any {
	if reflect.ValueOf(v).IsNil() {
		return nil
	}
	b, _ := json.Marshal(v)
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

// tfTags is the provider's tags read: ListTagsForResource.
func tfTags(t *testing.T, ctx context.Context, ar *apprunner.Client, arn string, want map[string]string) {
	t.Helper()
	out, err := ar.ListTagsForResource(ctx, &apprunner.ListTagsForResourceInput{ResourceArn: &arn})
	if err != nil {
		t.Fatalf("ListTagsForResource %s: %v", arn, err)
	}
	got := map[string]string{}
	for _, tag := range out.Tags {
		got[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tags of %s = %v, want %v", arn, got, want)
	}
}

// TestECRImageIdentifier deploys an image named the only way Terraform
// lets a user name it, as an ECR repository of Slipway's own account and
// region, from the registry --ecr-registry names.
func TestECRImageIdentifier(t *testing.T) {
	host := dockerenv.Docker(t)
	reg := dockerenv.Registry(t)
	dockerenv.Push(t, reg+"/team/ecr-app:v1", dockerenv.AppImage(t, "APP_VERSION=ecr1"))

	s := startServer(t, "--docker-host", host, "--ecr-registry", reg)
	t.Cleanup(func() { removeContainers(host, s.DataDir) })
	ar, _ := tfClients(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	const ident = "000000000000.dkr.ecr.us-east-1.amazonaws.com/team/ecr-app:v1"
	out, err := ar.CreateService(ctx, &apprunner.CreateServiceInput{
		ServiceName: aws.String("ecr-svc"),
		SourceConfiguration: &types.SourceConfiguration{
			AutoDeploymentsEnabled: aws.Bool(false),
			ImageRepository: &types.ImageRepository{
				ImageIdentifier: aws.String(ident), ImageRepositoryType: types.ImageRepositoryTypeEcr,
				ImageConfiguration: &types.ImageConfiguration{Port: aws.String("8080")},
			},
		},
		HealthCheckConfiguration: &types.HealthCheckConfiguration{Interval: aws.Int32(1), Timeout: aws.Int32(1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.Service.ServiceArn)
	s.WaitStatus(arn, "RUNNING", 90*time.Second)
	expectBody(t, s, aws.ToString(out.Service.ServiceUrl), "hello from testapp ecr1")
	d, err := tfReadService(ctx, ar, arn)
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(d.SourceConfiguration.ImageRepository.ImageIdentifier); got != ident {
		t.Errorf("ImageIdentifier read back = %q, want %q as given", got, ident)
	}
	if logs := s.Logs("ecr-svc", ""); !strings.Contains(logs, reg+"/team/ecr-app@sha256:") {
		t.Errorf("deployment log does not show the pull from %s:\n%s", reg, logs)
	}

	// Another account's ECR is not mapped, and one's own without the flag
	// says what to set.
	s2 := startServer(t, "--docker-host", host)
	t.Cleanup(func() { removeContainers(host, s2.DataDir) })
	ar2, _ := tfClients(t, s2)
	out2, err := ar2.CreateService(ctx, &apprunner.CreateServiceInput{
		ServiceName: aws.String("ecr-unset"),
		SourceConfiguration: &types.SourceConfiguration{
			AutoDeploymentsEnabled: aws.Bool(false),
			ImageRepository:        &types.ImageRepository{ImageIdentifier: aws.String(ident), ImageRepositoryType: types.ImageRepositoryTypeEcr},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	s2.WaitStatus(aws.ToString(out2.Service.ServiceArn), "CREATE_FAILED", 60*time.Second)
	if logs := s2.Logs("ecr-unset", ""); !strings.Contains(logs, "--ecr-registry") {
		t.Errorf("failed deployment's log does not say to set --ecr-registry:\n%s", logs)
	}
}
