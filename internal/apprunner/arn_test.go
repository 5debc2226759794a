package apprunner

import (
	"errors"
	"regexp"
	"testing"
)

func TestARNBuildParse(t *testing.T) {
	const id = "0123456789abcdef0123456789abcdef"
	tests := []struct {
		arn               string
		want              string
		typ, name, wantID string
		revision          int
		hasRevision       bool
	}{
		{ServiceARN("us-east-1", "123456789012", "web", id),
			"arn:aws:apprunner:us-east-1:123456789012:service/web/" + id, "service", "web", id, 0, false},
		{AutoScalingConfigurationARN("eu-west-1", "000000000000", "high", 3, id),
			"arn:aws:apprunner:eu-west-1:000000000000:autoscalingconfiguration/high/3/" + id, "autoscalingconfiguration", "high", id, 3, true},
		{ObservabilityConfigurationARN("us-east-1", "123456789012", "xray", 1, id),
			"arn:aws:apprunner:us-east-1:123456789012:observabilityconfiguration/xray/1/" + id, "observabilityconfiguration", "xray", id, 1, true},
		{VpcConnectorARN("us-east-1", "123456789012", "vpc", 2, id),
			"arn:aws:apprunner:us-east-1:123456789012:vpcconnector/vpc/2/" + id, "vpcconnector", "vpc", id, 2, true},
		{ConnectionARN("us-east-1", "123456789012", "gh", id),
			"arn:aws:apprunner:us-east-1:123456789012:connection/gh/" + id, "connection", "gh", id, 0, false},
		{VpcIngressConnectionARN("us-east-1", "123456789012", "ing", id),
			"arn:aws:apprunner:us-east-1:123456789012:vpcingressconnection/ing/" + id, "vpcingressconnection", "ing", id, 0, false},
	}
	for _, tt := range tests {
		if tt.arn != tt.want {
			t.Errorf("built %q, want %q", tt.arn, tt.want)
		}
		a, err := ParseARN(tt.arn)
		if err != nil {
			t.Fatalf("ParseARN(%q): %v", tt.arn, err)
		}
		if a.String() != tt.arn {
			t.Errorf("ParseARN(%q).String() = %q", tt.arn, a.String())
		}
		if a.Partition != "aws" || a.Service != "apprunner" {
			t.Errorf("ParseARN(%q) = %+v", tt.arn, a)
		}
		if a.ResourceType() != tt.typ || a.Name() != tt.name || a.ID() != tt.wantID {
			t.Errorf("ParseARN(%q): type, name, id = %q, %q, %q; want %q, %q, %q",
				tt.arn, a.ResourceType(), a.Name(), a.ID(), tt.typ, tt.name, tt.wantID)
		}
		if rev, ok := a.Revision(); rev != tt.revision || ok != tt.hasRevision {
			t.Errorf("ParseARN(%q).Revision() = %d, %v; want %d, %v", tt.arn, rev, ok, tt.revision, tt.hasRevision)
		}
		if err := checkAppRunnerResourceArn("arn", tt.arn); err != nil {
			t.Errorf("built ARN fails the model pattern: %v", err)
		}
	}
}

func TestParseARNInvalid(t *testing.T) {
	for _, s := range []string{"", "arn", "arn:aws:apprunner", "foo:aws:apprunner:r:a:service/x/y", "arn::apprunner:r:a:x", "arn:aws:apprunner:r:a:"} {
		if _, err := ParseARN(s); !errors.Is(err, ErrInvalidARN) {
			t.Errorf("ParseARN(%q) error = %v, want ErrInvalidARN", s, err)
		}
	}
}

func TestNewIDs(t *testing.T) {
	idRE := regexp.MustCompile(`^[0-9a-f]{32}$`)
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 100 {
		id, op := NewID(), NewOperationID()
		if !idRE.MatchString(id) {
			t.Errorf("NewID() = %q", id)
		}
		if !uuidRE.MatchString(op) {
			t.Errorf("NewOperationID() = %q", op)
		}
		if seen[id] || seen[op] {
			t.Errorf("duplicate id")
		}
		seen[id], seen[op] = true, true
	}
}
