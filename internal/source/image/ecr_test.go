package image

import (
	"errors"
	"testing"
)

func TestECRLocate(t *testing.T) {
	m := ECR{Account: "000000000000", Region: "us-east-1", Registry: "127.0.0.1:5000", PublicRegistry: "127.0.0.1:5001/mirror"}
	tests := []struct {
		ref, want string
		err       error
	}{
		{"000000000000.dkr.ecr.us-east-1.amazonaws.com/app:v1", "127.0.0.1:5000/app:v1", nil},
		{"000000000000.dkr.ecr.us-east-1.amazonaws.com/team/app@sha256:abc", "127.0.0.1:5000/team/app@sha256:abc", nil},
		// Another account's or region's ECR is left to AWS.
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1", "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1", nil},
		{"000000000000.dkr.ecr.eu-west-1.amazonaws.com/app:v1", "000000000000.dkr.ecr.eu-west-1.amazonaws.com/app:v1", nil},
		{"public.ecr.aws/nginx/nginx:latest", "127.0.0.1:5001/mirror/nginx/nginx:latest", nil},
		{"127.0.0.1:5000/app:v1", "127.0.0.1:5000/app:v1", nil},
	}
	for _, tt := range tests {
		got, err := m.Locate(tt.ref)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("Locate(%q) = %q, %v; want %q, %v", tt.ref, got, err, tt.want, tt.err)
		}
	}
	none := ECR{Account: "000000000000", Region: "us-east-1"}
	if _, err := none.Locate("000000000000.dkr.ecr.us-east-1.amazonaws.com/app:v1"); !errors.Is(err, ErrNoECRRegistry) {
		t.Errorf("own ECR without --ecr-registry: err = %v, want ErrNoECRRegistry", err)
	}
	if got, _ := none.Locate("public.ecr.aws/a/b:c"); got != "public.ecr.aws/a/b:c" {
		t.Errorf("public without a mirror = %q, want it unchanged", got)
	}
}
