package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// TestErrors checks every error type through the aws CLI or, for what the
// CLI cannot send, through raw requests signed with the SDK's signer.
func TestErrors(t *testing.T) {
	s := startServer(t, "--max-services", "2")
	repo := monorepo(t)

	// InvalidRequestException, naming the field.
	msg := s.AWSFails("InvalidRequestException", "create-service", "--service-name", "bad name!",
		"--source-configuration", mustJSON(t, apiSource(repo)))
	if !strings.Contains(msg, "serviceName") {
		t.Errorf("short name error does not name the field: %s", msg)
	}
	msg = s.AWSFails("InvalidRequestException", "create-service", "--service-name", "pairs",
		"--source-configuration", mustJSON(t, apiSource(repo)), "--instance-configuration", `{"Cpu":"4 vCPU","Memory":"2 GB"}`)
	if !strings.Contains(msg, "Memory") {
		t.Errorf("bad Cpu/Memory pair error does not name Memory: %s", msg)
	}
	s.AWSFails("InvalidRequestException", "create-service", "--service-name", "hc-range",
		"--source-configuration", mustJSON(t, apiSource(repo)), "--health-check-configuration", `{"Interval":21}`)
	s.AWSFails("InvalidRequestException", "create-service", "--service-name", "public",
		"--source-configuration", `{"ImageRepository":{"ImageIdentifier":"public.ecr.aws/nginx/nginx:latest","ImageRepositoryType":"ECR_PUBLIC"},"AutoDeploymentsEnabled":true}`)
	s.AWSFails("InvalidRequestException", "create-service", "--service-name", "both",
		"--source-configuration", `{}`)

	// ResourceNotFoundException.
	unknown := "arn:aws:apprunner:us-east-1:000000000000:service/nope/0123456789abcdef0123456789abcdef"
	s.AWSFails("ResourceNotFoundException", "describe-service", "--service-arn", unknown)
	s.AWSFails("ResourceNotFoundException", "start-deployment", "--service-arn", unknown)
	s.AWSFails("ResourceNotFoundException", "list-operations", "--service-arn", unknown)

	// A missing source directory fails the create with that reason.
	src := apiSource(repo)
	src["CodeRepository"].(map[string]any)["SourceDirectory"] = "services/missing"
	out := s.MustAWS("create-service", "--service-name", "missing-dir", "--source-configuration", mustJSON(t, src))
	arn := str(out, "Service", "ServiceArn")
	opID := out["OperationId"].(string)
	if st := s.WaitOperation(arn, opID, 30*time.Second); st != "FAILED" {
		t.Fatalf("create with a missing source directory ended %s, want FAILED", st)
	}
	s.WaitStatus(arn, "CREATE_FAILED", 5*time.Second)
	if logs := s.Logs("missing-dir", opID); !strings.Contains(logs, `source directory "services/missing" does not exist`) {
		t.Errorf("failure reason does not name the missing directory:\n%s", logs)
	}

	// A service in the wrong state: InvalidRequestException from
	// StartDeployment, whose model lists no InvalidStateException, and
	// InvalidStateException from ResumeService; both say which state.
	msg = s.AWSFails("InvalidRequestException", "start-deployment", "--service-arn", arn)
	if !strings.Contains(msg, "CREATE_FAILED") {
		t.Errorf("InvalidRequestException does not say the state: %s", msg)
	}
	s.AWSFails("InvalidStateException", "resume-service", "--service-arn", arn)

	// Duplicate names.
	s.AWSFails("InvalidRequestException", "create-service", "--service-name", "missing-dir",
		"--source-configuration", mustJSON(t, apiSource(repo)))

	// ServiceQuotaExceededException: --max-services 2.
	s.MustAWS("create-service", "--service-name", "second", "--source-configuration", mustJSON(t, apiSource(repo)))
	s.AWSFails("ServiceQuotaExceededException", "create-service", "--service-name", "third",
		"--source-configuration", mustJSON(t, apiSource(repo)))

	// Authentication.
	id, secret := s.Credentials()
	creds := aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}
	cases := []struct {
		name     string
		key      string
		secret   string
		signedAt time.Time
		target   string
		body     string
		unsigned bool
		want     string
		status   int
	}{
		{name: "unsigned", unsigned: true, target: "AppRunner.ListServices", body: "{}", want: "MissingAuthenticationTokenException", status: 403},
		{name: "unknown key", key: "AKIAUNKNOWNUNKNOWN00", secret: creds.SecretAccessKey, target: "AppRunner.ListServices", body: "{}", want: "UnrecognizedClientException", status: 403},
		{name: "wrong secret", key: creds.AccessKeyID, secret: "wrong", target: "AppRunner.ListServices", body: "{}", want: "InvalidSignatureException", status: 403},
		{name: "skewed clock", key: creds.AccessKeyID, secret: creds.SecretAccessKey, signedAt: time.Now().Add(-20 * time.Minute), target: "AppRunner.ListServices", body: "{}", want: "InvalidSignatureException", status: 403},
		{name: "malformed JSON", key: creds.AccessKeyID, secret: creds.SecretAccessKey, target: "AppRunner.ListServices", body: "{nope", want: "SerializationException", status: 400},
		{name: "wrong type", key: creds.AccessKeyID, secret: creds.SecretAccessKey, target: "AppRunner.DescribeService", body: `{"ServiceArn":5}`, want: "SerializationException", status: 400},
		{name: "unknown operation", key: creds.AccessKeyID, secret: creds.SecretAccessKey, target: "AppRunner.Nope", body: "{}", want: "UnknownOperationException", status: 400},
		{name: "signed ok", key: creds.AccessKeyID, secret: creds.SecretAccessKey, target: "AppRunner.ListServices", body: "{}", want: "", status: 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, "http://"+s.API+"/", bytes.NewReader([]byte(tc.body)))
			req.Header.Set("X-Amz-Target", tc.target)
			req.Header.Set("Content-Type", "application/x-amz-json-1.0")
			if !tc.unsigned {
				at := tc.signedAt
				if at.IsZero() {
					at = time.Now()
				}
				sum := sha256.Sum256([]byte(tc.body))
				err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: tc.key, SecretAccessKey: tc.secret},
					req, hex.EncodeToString(sum[:]), "apprunner", "us-east-1", at)
				if err != nil {
					t.Fatal(err)
				}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, b)
			}
			if resp.Header.Get("x-amzn-RequestId") == "" {
				t.Error("no x-amzn-RequestId header")
			}
			if tc.want == "" {
				return
			}
			var e map[string]string
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatalf("error body %q: %v", b, err)
			}
			if e["__type"] != tc.want || resp.Header.Get("X-Amzn-ErrorType") != tc.want || e["Message"] == "" {
				t.Fatalf("error = %v (header %q), want __type %s with a Message", e, resp.Header.Get("X-Amzn-ErrorType"), tc.want)
			}
		})
	}
}
