package api_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/aws/smithy-go"

	"github.com/slipwayhq/slipway/internal/api"
	ar "github.com/slipwayhq/slipway/internal/apprunner"
)

type keyPair struct{ id, secret string }

func (k keyPair) Secret(id string) (string, bool) { return k.secret, id == k.id }

// sdkController answers through the real SDK client; unexpected operations
// panic through the nil embedded interface.
type sdkController struct {
	api.Controller
	err error
}

var sdkCreated = time.Date(2024, 5, 6, 7, 8, 9, 250_000_000, time.UTC)

func (c *sdkController) ListServices(context.Context, *ar.ListServicesRequest) (*ar.ListServicesResponse, error) {
	if c.err != nil {
		return nil, c.err
	}
	name, status := "my-app", ar.ServiceStatusRunning
	return &ar.ListServicesResponse{
		ServiceSummaryList: []ar.ServiceSummary{{ServiceName: &name, Status: &status, CreatedAt: ar.NewTimePtr(sdkCreated)}},
	}, nil
}

func (c *sdkController) DescribeService(context.Context, *ar.DescribeServiceRequest) (*ar.DescribeServiceResponse, error) {
	return nil, c.err
}

func (c *sdkController) PauseService(context.Context, *ar.PauseServiceRequest) (*ar.PauseServiceResponse, error) {
	return nil, c.err
}

func (c *sdkController) CreateAutoScalingConfiguration(context.Context, *ar.CreateAutoScalingConfigurationRequest) (*ar.CreateAutoScalingConfigurationResponse, error) {
	return nil, c.err
}

func newClient(t *testing.T, ctl api.Controller, secret string) *apprunner.Client {
	t.Helper()
	auth := &api.Authenticator{Keys: keyPair{"AKIDSDKTEST", "sdk-secret"}, Region: "us-east-1", Service: "apprunner", MaxSkew: 15 * time.Minute}
	srv := httptest.NewServer(api.NewServer(auth, ctl, slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(srv.Close)
	return apprunner.New(apprunner.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDSDKTEST", secret, ""),
		RetryMaxAttempts: 1,
	})
}

func TestSDKListServices(t *testing.T) {
	c := newClient(t, &sdkController{}, "sdk-secret")
	out, err := c.ListServices(context.Background(), &apprunner.ListServicesInput{MaxResults: aws.Int32(5)})
	if err != nil {
		t.Fatalf("ListServices: %v", err)
	}
	if len(out.ServiceSummaryList) != 1 {
		t.Fatalf("got %d services, want 1", len(out.ServiceSummaryList))
	}
	s := out.ServiceSummaryList[0]
	if got := aws.ToString(s.ServiceName); got != "my-app" {
		t.Errorf("ServiceName = %q, want my-app", got)
	}
	if s.Status != types.ServiceStatusRunning {
		t.Errorf("Status = %q, want RUNNING", s.Status)
	}
	if s.CreatedAt == nil || !s.CreatedAt.Equal(sdkCreated) {
		t.Errorf("CreatedAt = %v, want %v", s.CreatedAt, sdkCreated)
	}
	if out.NextToken != nil {
		t.Errorf("NextToken = %q, want nil", *out.NextToken)
	}
}

func TestSDKErrors(t *testing.T) {
	const arn = "arn:aws:apprunner:us-east-1:123456789012:service/my-app/0123456789abcdef0123456789abcdef"
	tests := []struct {
		name string
		err  error
		call func(c *apprunner.Client) error
		// check reports whether err has the wanted type.
		check    func(err error) bool
		wantCode string
	}{
		{
			name: "ResourceNotFound", err: ar.NotFound("Service not found: %s", arn),
			call: func(c *apprunner.Client) error {
				_, err := c.DescribeService(context.Background(), &apprunner.DescribeServiceInput{ServiceArn: aws.String(arn)})
				return err
			},
			check:    func(err error) bool { var e *types.ResourceNotFoundException; return errors.As(err, &e) },
			wantCode: "ResourceNotFoundException",
		},
		{
			name: "InvalidState", err: ar.InvalidState("service is PAUSED"),
			call: func(c *apprunner.Client) error {
				_, err := c.PauseService(context.Background(), &apprunner.PauseServiceInput{ServiceArn: aws.String(arn)})
				return err
			},
			check:    func(err error) bool { var e *types.InvalidStateException; return errors.As(err, &e) },
			wantCode: "InvalidStateException",
		},
		{
			name: "InvalidRequest", err: ar.InvalidRequest("no"),
			call: func(c *apprunner.Client) error {
				_, err := c.DescribeService(context.Background(), &apprunner.DescribeServiceInput{ServiceArn: aws.String(arn)})
				return err
			},
			check:    func(err error) bool { var e *types.InvalidRequestException; return errors.As(err, &e) },
			wantCode: "InvalidRequestException",
		},
		{
			name: "ServiceQuotaExceeded", err: ar.QuotaExceeded("too many"),
			call: func(c *apprunner.Client) error {
				_, err := c.CreateAutoScalingConfiguration(context.Background(),
					&apprunner.CreateAutoScalingConfigurationInput{AutoScalingConfigurationName: aws.String("asc1")})
				return err
			},
			check:    func(err error) bool { var e *types.ServiceQuotaExceededException; return errors.As(err, &e) },
			wantCode: "ServiceQuotaExceededException",
		},
		{
			name: "InternalServiceError", err: errors.New("boom"),
			call: func(c *apprunner.Client) error {
				_, err := c.ListServices(context.Background(), &apprunner.ListServicesInput{})
				return err
			},
			check:    func(err error) bool { var e *types.InternalServiceErrorException; return errors.As(err, &e) },
			wantCode: "InternalServiceErrorException",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(newClient(t, &sdkController{err: tt.err}, "sdk-secret"))
			if err == nil {
				t.Fatal("call succeeded, want an error")
			}
			if !tt.check(err) {
				t.Errorf("error %v (%T) is not the modeled %s", err, errors.Unwrap(err), tt.wantCode)
			}
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tt.wantCode {
				t.Errorf("ErrorCode = %v, want %s", err, tt.wantCode)
			}
		})
	}
}

func TestSDKWrongSecret(t *testing.T) {
	c := newClient(t, &sdkController{}, "not-the-secret")
	_, err := c.ListServices(context.Background(), &apprunner.ListServicesInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidSignatureException" {
		t.Fatalf("ListServices error = %v, want InvalidSignatureException", err)
	}
}
