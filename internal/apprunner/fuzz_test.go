package apprunner

import (
	"errors"
	"strings"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"
)

// decoders decode and validate a request body as internal/api does, one per
// input shape the fuzzer reaches, chosen by the operation's name.
var decoders = map[string]func(body []byte) (Validator, error){
	"CreateService":                    decodeValidate[CreateServiceRequest],
	"UpdateService":                    decodeValidate[UpdateServiceRequest],
	"StartDeployment":                  decodeValidate[StartDeploymentRequest],
	"ListOperations":                   decodeValidate[ListOperationsRequest],
	"ListServices":                     decodeValidate[ListServicesRequest],
	"CreateAutoScalingConfiguration":   decodeValidate[CreateAutoScalingConfigurationRequest],
	"CreateObservabilityConfiguration": decodeValidate[CreateObservabilityConfigurationRequest],
	"CreateVpcConnector":               decodeValidate[CreateVpcConnectorRequest],
	"CreateVpcIngressConnection":       decodeValidate[CreateVpcIngressConnectionRequest],
	"AssociateCustomDomain":            decodeValidate[AssociateCustomDomainRequest],
	"TagResource":                      decodeValidate[TagResourceRequest],
}

func decodeValidate[I any, PI interface {
	*I
	Validator
}](body []byte) (Validator, error) {
	in := PI(new(I))
	if err := jsonv2.Unmarshal(body, in); err != nil {
		return nil, err
	}
	return in, Validate(in)
}

// FuzzDecodeValidate feeds request bodies to the decoder and the model's
// validation: neither may panic, validation fails with a *ValidationError
// that names where, and a request that passes still passes after it is
// encoded and decoded again (what Slipway stores and describes).
func FuzzDecodeValidate(f *testing.F) {
	seeds := [][2]string{
		{"CreateService", `{"ServiceName":"api","SourceConfiguration":{"CodeRepository":{"RepositoryUrl":"https://github.com/o/r","SourceCodeVersion":{"Type":"BRANCH","Value":"main"},"SourceDirectory":"services/api","CodeConfiguration":{"ConfigurationSource":"API","CodeConfigurationValues":{"Runtime":"PYTHON_3","StartCommand":"python3 app.py","Port":"8080","RuntimeEnvironmentVariables":{"A":"b"}}}},"AutoDeploymentsEnabled":true},"InstanceConfiguration":{"Cpu":"0.25 vCPU","Memory":"0.5 GB"},"HealthCheckConfiguration":{"Protocol":"HTTP","Path":"/","Interval":1,"Timeout":1,"HealthyThreshold":1,"UnhealthyThreshold":2},"Tags":[{"Key":"team","Value":"a"}]}`},
		{"CreateService", `{"ServiceName":"img","SourceConfiguration":{"ImageRepository":{"ImageIdentifier":"public.ecr.aws/a/b:latest","ImageRepositoryType":"ECR_PUBLIC","ImageConfiguration":{"Port":"80","StartCommand":"run"}}}}`},
		{"CreateService", `{"ServiceName":"x","SourceConfiguration":{}}`},
		{"CreateService", `{"ServiceName":1}`},
		{"CreateService", `{"serviceName":"api"}`},
		{"UpdateService", `{"ServiceArn":"arn:aws:apprunner:us-east-1:000000000000:service/api/0123456789abcdef0123456789abcdef","NetworkConfiguration":{"EgressConfiguration":{"EgressType":"DEFAULT"},"IngressConfiguration":{"IsPubliclyAccessible":true}}}`},
		{"StartDeployment", `{"ServiceArn":"arn:aws:apprunner:us-east-1:000000000000:service/api/0123456789abcdef0123456789abcdef"}`},
		{"ListOperations", `{"ServiceArn":"arn:aws:apprunner:us-east-1:000000000000:service/a/b","MaxResults":20,"NextToken":"abc"}`},
		{"ListServices", `{"MaxResults":0}`},
		{"CreateAutoScalingConfiguration", `{"AutoScalingConfigurationName":"cfg","MaxConcurrency":100,"MinSize":1,"MaxSize":25}`},
		{"CreateObservabilityConfiguration", `{"ObservabilityConfigurationName":"obs","TraceConfiguration":{"Vendor":"AWSXRAY"}}`},
		{"CreateVpcConnector", `{"VpcConnectorName":"vpc","Subnets":["subnet-1"],"SecurityGroups":["sg-1"]}`},
		{"CreateVpcIngressConnection", `{"ServiceArn":"arn:aws:apprunner:us-east-1:000000000000:service/a/b","VpcIngressConnectionName":"in","IngressVpcConfiguration":{"VpcId":"vpc-1","VpcEndpointId":"vpce-1"}}`},
		{"AssociateCustomDomain", `{"ServiceArn":"arn:aws:apprunner:us-east-1:000000000000:service/a/b","DomainName":"example.com","EnableWWWSubdomain":true}`},
		{"TagResource", `{"ResourceArn":"arn:aws:apprunner:us-east-1:000000000000:service/a/b","Tags":[{"Key":"aws:x","Value":"y"}]}`},
	}
	for _, s := range seeds {
		f.Add(s[0], []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, op string, body []byte) {
		decode, ok := decoders[op]
		if !ok {
			return
		}
		in, err := decode(body)
		if in == nil {
			return // not JSON of this shape: a SerializationException
		}
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || strings.TrimSpace(err.Error()) == "" {
				t.Fatalf("validation error %T %q, want a *ValidationError with a message", err, err)
			}
			return
		}
		again, err := jsonv2.Marshal(in)
		if err != nil {
			t.Fatalf("encoding a valid %s request: %v", op, err)
		}
		if _, err := decode(again); err != nil {
			t.Fatalf("a valid %s request fails once encoded again (%s): %v", op, again, err)
		}
	})
}

// FuzzParseARN checks that ParseARN never panics, that what it accepts
// formats back to the same string, and that the accessors of an accepted
// ARN are safe to call.
func FuzzParseARN(f *testing.F) {
	for _, s := range []string{
		ServiceARN("us-east-1", "000000000000", "api", NewID()),
		AutoScalingConfigurationARN("us-east-1", "000000000000", "DefaultConfiguration", 1, NewID()),
		VpcConnectorARN("eu-west-1", "123456789012", "vpc", 3, NewID()),
		ConnectionARN("us-east-1", "000000000000", "gh", NewID()),
		"arn:aws:apprunner:us-east-1:000000000000:service/api",
		"arn:aws:apprunner:::service",
		"arn:aws:apprunner:us-east-1:000000000000:a:b:c/d",
		"arn::apprunner:us-east-1:0:x",
		"arn:aws:iam::000000000000:user/slipway",
		"not an arn",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseARN(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidARN) {
				t.Fatalf("ParseARN(%q) error %v does not wrap ErrInvalidARN", s, err)
			}
			return
		}
		if got := a.String(); got != s {
			t.Fatalf("ParseARN(%q).String() = %q", s, got)
		}
		if b, err := ParseARN(a.String()); err != nil || b != a {
			t.Fatalf("ParseARN(%q) again = %+v, %v; want %+v", s, b, err, a)
		}
		_, _, _ = a.ResourceType(), a.Name(), a.ID()
		a.Revision()
	})
}
