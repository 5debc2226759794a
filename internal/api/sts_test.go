package api_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/slipwayhq/slipway/internal/api"
)

// TestSTSGetCallerIdentity drives the real STS client (the one Terraform's
// provider calls first) at the same endpoint that serves App Runner.
func TestSTSGetCallerIdentity(t *testing.T) {
	auth := &api.Authenticator{Keys: keyPair{"AKIDSDKTEST", "sdk-secret"}, Region: "us-east-1", Service: "apprunner", MaxSkew: 15 * time.Minute}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(&api.Endpoint{
		AppRunner: api.NewServer(auth, &sdkController{}, log),
		STS:       api.NewSTS(auth, "123456789012", log),
	})
	t.Cleanup(srv.Close)
	client := func(secret string) *sts.Client {
		return sts.New(sts.Options{
			Region:           "us-east-1",
			BaseEndpoint:     aws.String(srv.URL),
			Credentials:      credentials.NewStaticCredentialsProvider("AKIDSDKTEST", secret, ""),
			RetryMaxAttempts: 1,
		})
	}
	out, err := client("sdk-secret").GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	if got := aws.ToString(out.Account); got != "123456789012" {
		t.Errorf("Account = %q, want 123456789012", got)
	}
	if got := aws.ToString(out.Arn); got != "arn:aws:iam::123456789012:user/slipway" {
		t.Errorf("Arn = %q", got)
	}
	if got := aws.ToString(out.UserId); !strings.HasPrefix(got, "AIDA") || len(got) != 21 {
		t.Errorf("UserId = %q, want AIDA and 17 characters", got)
	}

	// A wrong secret is an error the STS client can read.
	_, err = client("wrong").GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "SignatureDoesNotMatch" {
		t.Errorf("wrong secret: err = %v, want SignatureDoesNotMatch", err)
	}

	// App Runner keeps working beside it.
	ar := apprunner.New(apprunner.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDSDKTEST", "sdk-secret", ""), RetryMaxAttempts: 1})
	if _, err := ar.ListServices(context.Background(), &apprunner.ListServicesInput{}); err != nil {
		t.Errorf("ListServices beside STS: %v", err)
	}
}
