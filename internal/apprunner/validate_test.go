package apprunner

import (
	"encoding/json"
	"errors"
	"testing"
)

// validCodeService is a CreateService request as the AWS CLI would send it for a code repository.
func validCodeService() *CreateServiceRequest {
	return &CreateServiceRequest{
		ServiceName: "my-app_1",
		SourceConfiguration: &SourceConfiguration{
			CodeRepository: &CodeRepository{
				RepositoryUrl:     "https://github.com/example/app",
				SourceCodeVersion: &SourceCodeVersion{Type: SourceCodeVersionTypeBranch, Value: "main"},
				SourceDirectory:   new("services/api"),
				CodeConfiguration: &CodeConfiguration{
					ConfigurationSource: ConfigurationSourceApi,
					CodeConfigurationValues: &CodeConfigurationValues{
						Runtime:                     RuntimePython311,
						BuildCommand:                new("pip install -r requirements.txt"),
						StartCommand:                new("python app.py"),
						Port:                        new("8080"),
						RuntimeEnvironmentVariables: map[string]string{"GREETING": "hi", "EMPTY": ""},
					},
				},
			},
			AutoDeploymentsEnabled: new(true),
		},
		InstanceConfiguration: &InstanceConfiguration{Cpu: new("1 vCPU"), Memory: new("2 GB")},
		Tags:                  []Tag{{Key: new("team"), Value: new("web")}},
		HealthCheckConfiguration: &HealthCheckConfiguration{
			Protocol: new(HealthCheckProtocolHttp), Path: new("/healthz"), Interval: new(int64(5)),
		},
		AutoScalingConfigurationArn: new("arn:aws:apprunner:us-east-1:123456789012:autoscalingconfiguration/DefaultConfiguration/1/0123456789abcdef0123456789abcdef"),
	}
}

func validImageService(image string) *CreateServiceRequest {
	return &CreateServiceRequest{
		ServiceName: "web-app",
		SourceConfiguration: &SourceConfiguration{ImageRepository: &ImageRepository{
			ImageIdentifier:     image,
			ImageRepositoryType: ImageRepositoryTypeEcrPublic,
		}},
	}
}

const prefix = "1 validation error detected: "

func TestValidateCreateService(t *testing.T) {
	codeValues := func(r *CreateServiceRequest) *CodeConfigurationValues {
		return r.SourceConfiguration.CodeRepository.CodeConfiguration.CodeConfigurationValues
	}
	tests := []struct {
		name   string
		mutate func(r *CreateServiceRequest)
		want   string // "" = valid
	}{
		{"valid", func(*CreateServiceRequest) {}, ""},
		{"missing name", func(r *CreateServiceRequest) { r.ServiceName = "" },
			"Value null at 'serviceName' failed to satisfy constraint: Member must not be null"},
		{"short name", func(r *CreateServiceRequest) { r.ServiceName = "ab" },
			"Value 'ab' at 'serviceName' failed to satisfy constraint: Member must have length greater than or equal to 4"},
		{"long name", func(r *CreateServiceRequest) { r.ServiceName = "a123456789012345678901234567890123456789" + "x" },
			"Value 'a123456789012345678901234567890123456789x' at 'serviceName' failed to satisfy constraint: Member must have length less than or equal to 40"},
		{"name pattern", func(r *CreateServiceRequest) { r.ServiceName = "-abcd" },
			"Value '-abcd' at 'serviceName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[A-Za-z0-9][A-Za-z0-9-_]{3,39}$"},
		{"missing source", func(r *CreateServiceRequest) { r.SourceConfiguration = nil },
			"Value null at 'sourceConfiguration' failed to satisfy constraint: Member must not be null"},
		{"missing source version", func(r *CreateServiceRequest) { r.SourceConfiguration.CodeRepository.SourceCodeVersion = nil },
			"Value null at 'sourceConfiguration.codeRepository.sourceCodeVersion' failed to satisfy constraint: Member must not be null"},
		{"bad runtime", func(r *CreateServiceRequest) { codeValues(r).Runtime = "COBOL_85" },
			"Value 'COBOL_85' at 'sourceConfiguration.codeRepository.codeConfiguration.codeConfigurationValues.runtime' failed to satisfy constraint: Member must satisfy enum value set: [PYTHON_3, NODEJS_12, NODEJS_14, CORRETTO_8, CORRETTO_11, NODEJS_16, GO_1, DOTNET_6, PHP_81, RUBY_31, PYTHON_311, NODEJS_18, NODEJS_22]"},
		{"sensitive start command", func(r *CreateServiceRequest) { codeValues(r).StartCommand = new("run\nsecret") },
			"Value at 'sourceConfiguration.codeRepository.codeConfiguration.codeConfigurationValues.startCommand' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[^\\x0a\\x0d]+$"},
		{"empty env var name", func(r *CreateServiceRequest) { codeValues(r).RuntimeEnvironmentVariables[""] = "x" },
			"Value at 'sourceConfiguration.codeRepository.codeConfiguration.codeConfigurationValues.runtimeEnvironmentVariables.key' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"interval 0", func(r *CreateServiceRequest) { r.HealthCheckConfiguration.Interval = new(int64(0)) },
			"Value '0' at 'healthCheckConfiguration.interval' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"interval 21", func(r *CreateServiceRequest) { r.HealthCheckConfiguration.Interval = new(int64(21)) },
			"Value '21' at 'healthCheckConfiguration.interval' failed to satisfy constraint: Member must have value less than or equal to 20"},
		{"bad protocol", func(r *CreateServiceRequest) { r.HealthCheckConfiguration.Protocol = new("UDP") },
			"Value 'UDP' at 'healthCheckConfiguration.protocol' failed to satisfy constraint: Member must satisfy enum value set: [TCP, HTTP]"},
		{"cpu 3 vCPU", func(r *CreateServiceRequest) { r.InstanceConfiguration.Cpu = new("3 vCPU") },
			"Value '3 vCPU' at 'instanceConfiguration.cpu' failed to satisfy constraint: Member must satisfy regular expression pattern: ^256|512|1024|2048|4096|(0.25|0.5|1|2|4) vCPU$"},
		{"cpu 2560 matches the broken model regexp", func(r *CreateServiceRequest) { r.InstanceConfiguration.Cpu = new("2560") },
			"Value '2560' at 'instanceConfiguration.cpu' failed to satisfy constraint: Member must satisfy regular expression pattern: ^256|512|1024|2048|4096|(0.25|0.5|1|2|4) vCPU$"},
		{"cpu numeric", func(r *CreateServiceRequest) { r.InstanceConfiguration.Cpu = new("4096") }, ""},
		{"memory 5 GB", func(r *CreateServiceRequest) { r.InstanceConfiguration.Memory = new("5 GB") },
			"Value '5 GB' at 'instanceConfiguration.memory' failed to satisfy constraint: Member must satisfy regular expression pattern: ^512|1024|2048|3072|4096|6144|8192|10240|12288|(0.5|1|2|3|4|6|8|10|12) GB$"},
		{"aws tag key", func(r *CreateServiceRequest) { r.Tags = append(r.Tags, Tag{Key: new("aws:x"), Value: new("v")}) },
			"Value 'aws:x' at 'tags.2.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(?!aws:).+$"},
		{"source directory with NUL", func(r *CreateServiceRequest) { r.SourceConfiguration.CodeRepository.SourceDirectory = new("a\x00b") },
			"Value 'a\x00b' at 'sourceConfiguration.codeRepository.sourceDirectory' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[^\\x00]+$"},
		{"bad autoscaling arn", func(r *CreateServiceRequest) {
			r.AutoScalingConfigurationArn = new("arn:aws:apprunner:us-east-1:12345:x")
		},
			"Value 'arn:aws:apprunner:us-east-1:12345:x' at 'autoScalingConfigurationArn' failed to satisfy constraint: Member must satisfy regular expression pattern: ^arn:aws(-[\\w]+)*:[a-z0-9-\\\\.]{0,63}:[a-z0-9-\\\\.]{0,63}:[0-9]{12}:(\\w|\\/|-){1,1011}$"},
		{"observability missing arn is fine, enabled false", func(r *CreateServiceRequest) {
			r.ObservabilityConfiguration = &ServiceObservabilityConfiguration{}
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validCodeService()
			tt.mutate(r)
			checkValidation(t, r, tt.want)
		})
	}
}

func TestValidateImageIdentifier(t *testing.T) {
	tests := []struct {
		image string
		ok    bool
	}{
		{"localhost:5000/app:v1", true},
		{"nginx", true},
		{"nginx:1.27-alpine", true},
		{"public.ecr.aws/aws-containers/hello-app-runner:latest", true},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true},
		{"ghcr.io/owner/repo_name/sub-path:tag@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true},
		{"UPPER/Case", false},
		{"app:", false},
		{"app@sha256:abc", false},
		{"/app", false},
	}
	for _, tt := range tests {
		want := ""
		if !tt.ok {
			want = "Value '" + tt.image + "' at 'sourceConfiguration.imageRepository.imageIdentifier' failed to satisfy constraint: Member must satisfy regular expression pattern: " + imageReferencePattern
		}
		t.Run(tt.image, func(t *testing.T) { checkValidation(t, validImageService(tt.image), want) })
	}
}

func TestValidateDecodedJSON(t *testing.T) {
	// What the AWS CLI sends for `create-service` with an image and a bad instance size.
	body := `{"ServiceName":"hello","SourceConfiguration":{"ImageRepository":{"ImageIdentifier":"public.ecr.aws/aws-containers/hello-app-runner:latest","ImageRepositoryType":"ECR_PUBLIC","ImageConfiguration":{"Port":"8000"}},"AutoDeploymentsEnabled":false},"InstanceConfiguration":{"Cpu":"0.5 vCPU","Memory":"0.5GB"}}`
	var in CreateServiceInput
	if err := json.Unmarshal([]byte(body), &in); err != nil {
		t.Fatal(err)
	}
	checkValidation(t, &in, "Value '0.5GB' at 'instanceConfiguration.memory' failed to satisfy constraint: Member must satisfy regular expression pattern: ^512|1024|2048|3072|4096|6144|8192|10240|12288|(0.5|1|2|3|4|6|8|10|12) GB$")
}

func TestValidateOtherInputs(t *testing.T) {
	tests := []struct {
		name string
		in   Validator
		want string
	}{
		{"untag aws key", &UntagResourceRequest{ResourceArn: "arn:aws:apprunner:us-east-1:123456789012:service/web/0123456789abcdef0123456789abcdef", TagKeys: []string{"ok", "aws:x"}},
			"Value 'aws:x' at 'tagKeys.2.member' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(?!aws:).+$"},
		{"tag missing tags", &TagResourceRequest{ResourceArn: "arn:aws:apprunner:us-east-1:123456789012:service/web/0123456789abcdef0123456789abcdef"},
			"Value null at 'tags' failed to satisfy constraint: Member must not be null"},
		{"list services max 21", &ListServicesRequest{MaxResults: new(int64(21))},
			"Value '21' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 20"},
		{"empty list input", &ListServicesRequest{}, ""},
		{"max concurrency 201", &CreateAutoScalingConfigurationRequest{AutoScalingConfigurationName: "high", MaxConcurrency: new(int64(201))},
			"Value '201' at 'maxConcurrency' failed to satisfy constraint: Member must have value less than or equal to 200"},
		{"secret value sensitive", &ImageConfiguration{RuntimeEnvironmentSecrets: map[string]string{"DB": ""}},
			"Value at 'runtimeEnvironmentSecrets.value' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"service id", &ServiceSummary{ServiceId: new(NewID())}, ""},
		{"operation id", &StartDeploymentResponse{OperationId: NewOperationID()}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkValidation(t, tt.in, tt.want) })
	}
}

func checkValidation(t *testing.T, v Validator, want string) {
	t.Helper()
	err := Validate(v)
	switch {
	case want == "" && err != nil:
		t.Errorf("Validate = %v, want nil", err)
	case want != "" && err == nil:
		t.Errorf("Validate = nil, want %q", prefix+want)
	case want != "":
		if got := err.Error(); got != prefix+want {
			t.Errorf("Validate =\n%q\nwant\n%q", got, prefix+want)
		}
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("Validate error %T is not a *ValidationError", err)
		}
	}
}
