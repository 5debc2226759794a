package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fakeController answers a few operations with canned values; any other
// operation panics through the nil embedded Controller, so a test notices
// a call it did not expect.
type fakeController struct {
	Controller

	err     error // returned by every operation below when set
	service ar.Service
	list    ar.ListServicesResponse

	mu    sync.Mutex
	calls []string
}

func (f *fakeController) called(op string) {
	f.mu.Lock()
	f.calls = append(f.calls, op)
	f.mu.Unlock()
}

func (f *fakeController) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeController) DescribeService(_ context.Context, in *ar.DescribeServiceRequest) (*ar.DescribeServiceResponse, error) {
	f.called("DescribeService " + in.ServiceArn)
	if f.err != nil {
		return nil, f.err
	}
	s := f.service
	return &ar.DescribeServiceResponse{Service: &s}, nil
}

func (f *fakeController) ListServices(_ context.Context, in *ar.ListServicesRequest) (*ar.ListServicesResponse, error) {
	f.called("ListServices")
	if f.err != nil {
		return nil, f.err
	}
	out := f.list
	return &out, nil
}

func (f *fakeController) CreateService(_ context.Context, in *ar.CreateServiceRequest) (*ar.CreateServiceResponse, error) {
	f.called("CreateService " + in.ServiceName)
	if f.err != nil {
		return nil, f.err
	}
	s := f.service
	return &ar.CreateServiceResponse{Service: &s, OperationId: "0f1e2d3c-4b5a-4978-8877-665544332211"}, nil
}

func (f *fakeController) PauseService(_ context.Context, in *ar.PauseServiceRequest) (*ar.PauseServiceResponse, error) {
	f.called("PauseService " + in.ServiceArn)
	if f.err != nil {
		return nil, f.err
	}
	s := f.service
	return &ar.PauseServiceResponse{Service: &s}, nil
}

func (f *fakeController) TagResource(_ context.Context, in *ar.TagResourceRequest) (*ar.TagResourceResponse, error) {
	f.called("TagResource " + in.ResourceArn)
	if f.err != nil {
		return nil, f.err
	}
	return &ar.TagResourceResponse{}, nil
}

const testServiceARN = "arn:aws:apprunner:us-east-1:123456789012:service/my-app/0123456789abcdef0123456789abcdef"

func ptr[T any](v T) *T { return &v }

// fixedService is the Service the golden files render.
func fixedService() ar.Service {
	created := time.Date(2024, 1, 2, 3, 4, 5, 123_000_000, time.UTC)
	return ar.Service{
		ServiceName: "my-app",
		ServiceId:   "0123456789abcdef0123456789abcdef",
		ServiceArn:  testServiceARN,
		ServiceUrl:  ptr("abcdefghij.us-east-1.localhost:8443"),
		CreatedAt:   ar.NewTime(created),
		UpdatedAt:   ar.NewTime(created.Add(90 * time.Second)),
		Status:      ar.ServiceStatusRunning,
		SourceConfiguration: &ar.SourceConfiguration{
			CodeRepository: &ar.CodeRepository{
				RepositoryUrl:     "https://example.com/app.git",
				SourceCodeVersion: &ar.SourceCodeVersion{Type: "BRANCH", Value: "main"},
				CodeConfiguration: &ar.CodeConfiguration{ConfigurationSource: ar.ConfigurationSourceRepository},
			},
			AutoDeploymentsEnabled: ptr(true),
		},
		InstanceConfiguration: &ar.InstanceConfiguration{Cpu: ptr("1024"), Memory: ptr("2048")},
		HealthCheckConfiguration: &ar.HealthCheckConfiguration{
			Protocol: ptr("TCP"), Path: ptr("/"), Interval: ptr[int64](5), Timeout: ptr[int64](2),
			HealthyThreshold: ptr[int64](1), UnhealthyThreshold: ptr[int64](5),
		},
		AutoScalingConfigurationSummary: &ar.AutoScalingConfigurationSummary{
			AutoScalingConfigurationArn:      ptr("arn:aws:apprunner:us-east-1:123456789012:autoscalingconfiguration/DefaultConfiguration/1/00000000000000000000000000000001"),
			AutoScalingConfigurationName:     ptr("DefaultConfiguration"),
			AutoScalingConfigurationRevision: 1,
			Status:                           ptr("ACTIVE"),
			CreatedAt:                        ar.NewTimePtr(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)),
			HasAssociatedService:             ptr(true),
			IsDefault:                        ptr(true),
		},
		NetworkConfiguration: &ar.NetworkConfiguration{
			EgressConfiguration:  &ar.EgressConfiguration{EgressType: ptr("DEFAULT")},
			IngressConfiguration: &ar.IngressConfiguration{IsPubliclyAccessible: true},
			IpAddressType:        ptr("IPV4"),
		},
		ObservabilityConfiguration: &ar.ServiceObservabilityConfiguration{},
	}
}

func fixedList() ar.ListServicesResponse {
	s := fixedService()
	return ar.ListServicesResponse{
		ServiceSummaryList: []ar.ServiceSummary{{
			ServiceName: &s.ServiceName, ServiceId: &s.ServiceId, ServiceArn: &s.ServiceArn,
			ServiceUrl: s.ServiceUrl, CreatedAt: &s.CreatedAt, UpdatedAt: &s.UpdatedAt, Status: &s.Status,
		}},
		NextToken: ptr("Mg"),
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestServer(c Controller) *Server {
	return NewServer(testAuth(signedAt), c, discardLogger())
}

// do sends a signed request for op with body and returns the response.
func do(t *testing.T, s http.Handler, op, body string) *http.Response {
	t.Helper()
	r := signRequest(t, body, signOpts{target: "AppRunner." + op})
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w.Result()
}

var requestIDRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

type errorBody struct {
	Type    string `json:"__type"`
	Message string `json:"Message"`
}

func readBody(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestServeHTTPDispatch(t *testing.T) {
	f := &fakeController{list: fixedList()}
	resp := do(t, newTestServer(f), "ListServices", `{"MaxResults":1}`)
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Content-Type"); got != "application/x-amz-json-1.0" {
		t.Errorf("Content-Type = %q, want application/x-amz-json-1.0", got)
	}
	if got := resp.Header.Get("X-Amzn-Requestid"); !requestIDRE.MatchString(got) {
		t.Errorf("x-amzn-RequestId = %q, want a version 4 UUID", got)
	}
	if got := resp.Header.Get("X-Amzn-ErrorType"); got != "" {
		t.Errorf("X-Amzn-ErrorType = %q on a success, want none", got)
	}
	if got, want := f.Calls(), []string{"ListServices"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("controller calls = %q, want %q", got, want)
	}
	var out ar.ListServicesResponse
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	if len(out.ServiceSummaryList) != 1 || *out.ServiceSummaryList[0].ServiceName != "my-app" {
		t.Errorf("ServiceSummaryList = %s, want my-app", body)
	}
}

func TestServeHTTPRequestIDsDiffer(t *testing.T) {
	s := newTestServer(&fakeController{list: fixedList()})
	a := do(t, s, "ListServices", `{}`).Header.Get("X-Amzn-Requestid")
	b := do(t, s, "ListServices", `{}`).Header.Get("X-Amzn-Requestid")
	if a == b {
		t.Errorf("two requests got the same request id %q", a)
	}
}

func TestServeHTTPErrors(t *testing.T) {
	const secretCause = "open /var/lib/slipway/slipway.db: disk I/O error"
	describe := `{"ServiceArn":"` + testServiceARN + `"}`
	tests := []struct {
		name        string
		err         error // returned by the fake controller
		op, body    string
		wantStatus  int
		wantCode    string
		wantMsg     string // substring of Message
		notInMsg    string // must not appear in the body
		wantNoCalls bool
	}{
		{name: "InvalidRequest", err: ar.InvalidRequest("bad %s", "thing"), op: "DescribeService", body: describe,
			wantStatus: 400, wantCode: "InvalidRequestException", wantMsg: "bad thing"},
		{name: "ResourceNotFound", err: ar.NotFound("Service not found: %s", "x"), op: "DescribeService", body: describe,
			wantStatus: 400, wantCode: "ResourceNotFoundException", wantMsg: "Service not found: x"},
		{name: "InvalidState", err: ar.InvalidState("service is PAUSED"), op: "PauseService", body: describe,
			wantStatus: 400, wantCode: "InvalidStateException", wantMsg: "service is PAUSED"},
		{name: "ServiceQuotaExceeded", err: ar.QuotaExceeded("too many"), op: "CreateService",
			body:       `{"ServiceName":"abcd","SourceConfiguration":{"ImageRepository":{"ImageIdentifier":"nginx","ImageRepositoryType":"ECR_PUBLIC"}}}`,
			wantStatus: 402, wantCode: "ServiceQuotaExceededException", wantMsg: "too many"},
		{name: "wrapped api error", err: fmt.Errorf("in tx: %w", ar.NotFound("gone")), op: "DescribeService", body: describe,
			wantStatus: 400, wantCode: "ResourceNotFoundException", wantMsg: "gone"},
		{name: "api error keeps its internal cause to itself",
			err: &ar.Error{Code: ar.CodeInvalidRequest, Message: "can't do that", Err: errors.New(secretCause)},
			op:  "DescribeService", body: describe,
			wantStatus: 400, wantCode: "InvalidRequestException", wantMsg: "can't do that", notInMsg: "disk I/O"},
		{name: "InternalServiceError code", err: &ar.Error{Code: ar.CodeInternalServiceError, Message: "try later"},
			op: "DescribeService", body: describe, wantStatus: 500, wantCode: "InternalServiceErrorException", wantMsg: "try later"},
		{name: "internal error is not leaked", err: fmt.Errorf("load service: %w", errors.New(secretCause)),
			op: "DescribeService", body: describe, wantStatus: 500, wantCode: "InternalServiceErrorException",
			wantMsg: "internal error", notInMsg: "disk I/O"},
		{name: "validation: ServiceName too short", op: "CreateService",
			body:       `{"ServiceName":"ab","SourceConfiguration":{"ImageRepository":{"ImageIdentifier":"nginx","ImageRepositoryType":"ECR_PUBLIC"}}}`,
			wantStatus: 400, wantCode: "InvalidRequestException", wantMsg: "'serviceName'", wantNoCalls: true},
		{name: "validation: required member missing", op: "DescribeService", body: `{}`,
			wantStatus: 400, wantCode: "InvalidRequestException", wantMsg: "serviceArn", wantNoCalls: true},
		{name: "a modeled error the operation does not list is InvalidRequest", err: ar.InvalidState("service is PAUSED"), op: "CreateService",
			body:       `{"ServiceName":"abcd","SourceConfiguration":{"ImageRepository":{"ImageIdentifier":"nginx","ImageRepositoryType":"ECR_PUBLIC"}}}`,
			wantStatus: 400, wantCode: "InvalidRequestException", wantMsg: "service is PAUSED"},
		{name: "member names are case-sensitive", op: "DescribeService", body: `{"serviceArn":"` + testServiceARN + `"}`,
			wantStatus: 400, wantCode: "InvalidRequestException", wantMsg: "serviceArn", wantNoCalls: true},
		{name: "malformed JSON", op: "DescribeService", body: `{"ServiceArn":`,
			wantStatus: 400, wantCode: "SerializationException", wantNoCalls: true},
		{name: "wrong JSON type", op: "ListServices", body: `{"MaxResults":"five"}`,
			wantStatus: 400, wantCode: "SerializationException", wantNoCalls: true},
		{name: "unknown operation", op: "FlyToTheMoon", body: `{}`,
			wantStatus: 400, wantCode: "UnknownOperationException", wantMsg: "FlyToTheMoon", wantNoCalls: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeController{err: tt.err, service: fixedService()}
			resp := do(t, newTestServer(f), tt.op, tt.body)
			body := readBody(t, resp)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d; body %s", resp.StatusCode, tt.wantStatus, body)
			}
			if got := resp.Header.Get("Content-Type"); got != contentType {
				t.Errorf("Content-Type = %q, want %q", got, contentType)
			}
			if got := resp.Header.Get("X-Amzn-ErrorType"); got != tt.wantCode {
				t.Errorf("X-Amzn-ErrorType = %q, want %q", got, tt.wantCode)
			}
			if got := resp.Header.Get("X-Amzn-Requestid"); !requestIDRE.MatchString(got) {
				t.Errorf("x-amzn-RequestId = %q, want a UUID", got)
			}
			var eb errorBody
			if err := json.Unmarshal(body, &eb); err != nil {
				t.Fatalf("decode error body %s: %v", body, err)
			}
			if eb.Type != tt.wantCode {
				t.Errorf("__type = %q, want %q", eb.Type, tt.wantCode)
			}
			if eb.Message == "" || !strings.Contains(eb.Message, tt.wantMsg) {
				t.Errorf("Message = %q, want it to contain %q", eb.Message, tt.wantMsg)
			}
			if tt.notInMsg != "" && bytes.Contains(body, []byte(tt.notInMsg)) {
				t.Errorf("body %s leaks %q", body, tt.notInMsg)
			}
			if calls := f.Calls(); tt.wantNoCalls && len(calls) > 0 {
				t.Errorf("controller was called (%q); the request should have been rejected first", calls)
			}
		})
	}
}

func TestServeHTTPAuthFailure(t *testing.T) {
	f := &fakeController{list: fixedList()}
	s := newTestServer(f)
	r := signRequest(t, `{}`, signOpts{secret: "wrong", target: "AppRunner.ListServices"})
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden {
		t.Errorf("status = %d, want 403", w.Code)
	}
	if got := w.Header().Get("X-Amzn-ErrorType"); got != "InvalidSignatureException" {
		t.Errorf("X-Amzn-ErrorType = %q, want InvalidSignatureException", got)
	}
	if calls := f.Calls(); len(calls) > 0 {
		t.Errorf("controller called %q despite a bad signature", calls)
	}

	// The signature covers the target: swapping the operation after signing fails.
	r = signRequest(t, `{}`, signOpts{target: "AppRunner.ListServices"})
	r.Header.Set("X-Amz-Target", "AppRunner.DeleteService")
	w = httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if got := w.Header().Get("X-Amzn-ErrorType"); got != "InvalidSignatureException" {
		t.Errorf("swapped X-Amz-Target: X-Amzn-ErrorType = %q, want InvalidSignatureException", got)
	}
}

func TestServeHTTPNotPost(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:4566/", nil)
	w := httptest.NewRecorder()
	newTestServer(&fakeController{}).ServeHTTP(w, r)
	if w.Code != http.StatusNotFound {
		t.Errorf("status = %d, want 404", w.Code)
	}
	if got := w.Header().Get("X-Amzn-ErrorType"); got != "UnknownOperationException" {
		t.Errorf("X-Amzn-ErrorType = %q, want UnknownOperationException", got)
	}
}

func TestServeHTTPLongMessageTruncated(t *testing.T) {
	f := &fakeController{err: ar.InvalidRequest("%s", strings.Repeat("x", 1000))}
	resp := do(t, newTestServer(f), "DescribeService", `{"ServiceArn":"`+testServiceARN+`"}`)
	var eb errorBody
	if err := json.Unmarshal(readBody(t, resp), &eb); err != nil {
		t.Fatal(err)
	}
	if len(eb.Message) != 600 || !strings.HasSuffix(eb.Message, "...") {
		t.Errorf("Message length = %d (suffix %q), want 600 ending in ...", len(eb.Message), eb.Message[len(eb.Message)-3:])
	}
}

func TestEveryModeledOperationIsServed(t *testing.T) {
	ops := served(&fakeController{})
	for _, o := range ar.Operations {
		if ops[o.Name] == nil {
			t.Errorf("operation %s is not served", o.Name)
		}
	}
	if len(ops) != len(ar.Operations) {
		t.Errorf("%d operations served, want the model's %d", len(ops), len(ar.Operations))
	}
}

// TestUnsupportedOperation stands in a model newer than the served
// operations: its extra operation answers InvalidRequestException, not
// UnknownOperationException.
func TestUnsupportedOperation(t *testing.T) {
	f := &fakeController{}
	s := newTestServer(f)
	s.ops = withUnsupported(served(f), append(slices.Clone(ar.Operations), ar.Operation{Name: "LaunchRocket"}))
	resp := do(t, s, "LaunchRocket", `{}`)
	body := readBody(t, resp)
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err != nil {
		t.Fatalf("decode error body %s: %v", body, err)
	}
	if resp.StatusCode != 400 || eb.Type != "InvalidRequestException" || !strings.Contains(eb.Message, "does not support LaunchRocket") {
		t.Errorf("LaunchRocket = %d %s %q, want 400 InvalidRequestException saying Slipway does not support it",
			resp.StatusCode, eb.Type, eb.Message)
	}
	if calls := f.Calls(); len(calls) > 0 {
		t.Errorf("controller was called (%q)", calls)
	}
}

// TestGolden compares whole responses with testdata/<case>.response; each
// case's request body is testdata/<case>.request.json. Run with -update to
// regenerate the responses.
func TestGolden(t *testing.T) {
	tests := []struct {
		name string
		op   string
		ctl  *fakeController
	}{
		{"describe_service", "DescribeService", &fakeController{service: fixedService()}},
		{"list_services", "ListServices", &fakeController{list: fixedList()}},
		{"tag_resource", "TagResource", &fakeController{}},
		{"describe_service_not_found", "DescribeService", &fakeController{err: ar.NotFound("Service not found: %s", testServiceARN)}},
		{"create_service_invalid_name", "CreateService", &fakeController{}},
		{"create_service_quota", "CreateService", &fakeController{err: ar.QuotaExceeded("quota")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := os.ReadFile(filepath.Join("testdata", tt.name+".request.json"))
			if err != nil {
				t.Fatal(err)
			}
			resp := do(t, newTestServer(tt.ctl), tt.op, strings.TrimSpace(string(req)))
			got := renderResponse(resp, readBody(t, resp))
			path := filepath.Join("testdata", tt.name+".response")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("response differs from %s:\ngot:\n%s\nwant:\n%s", path, got, want)
			}
		})
	}
}

// renderResponse prints the parts of a response that clients depend on;
// the request id is random and left out.
func renderResponse(resp *http.Response, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP %d\n", resp.StatusCode)
	for _, h := range []string{"Content-Type", "X-Amzn-ErrorType"} {
		if v := resp.Header.Get(h); v != "" {
			fmt.Fprintf(&b, "%s: %s\n", h, v)
		}
	}
	b.WriteString("\n")
	b.Write(body)
	b.WriteString("\n")
	return b.Bytes()
}

// countingBody records how much of a request body was read.
type countingBody struct {
	r    io.Reader
	read int
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.read += n
	return n, err
}

func (b *countingBody) Close() error { return nil }

// TestServeHTTPBodyLimits checks that nothing is read before the headers
// show a valid signature, and that bodies are capped by operation.
func TestServeHTTPBodyLimits(t *testing.T) {
	s := newTestServer(&fakeController{list: fixedList()})
	big := `{"MaxResults":5,"x":"` + strings.Repeat("a", 200<<10) + `"}`

	// Unknown key: refused from the headers alone, the body untouched.
	r := signRequest(t, big, signOpts{keyID: "AKIDUNKNOWN", target: "AppRunner.ListServices"})
	cb := &countingBody{r: strings.NewReader(big)}
	r.Body = cb
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if got := w.Header().Get("X-Amzn-ErrorType"); got != "UnrecognizedClientException" || cb.read != 0 {
		t.Errorf("unknown key: %s after reading %d body bytes, want UnrecognizedClientException before reading any", got, cb.read)
	}

	// A signed ListServices over its 64 KiB cap: 413 from Content-Length,
	// nothing read.
	r = signRequest(t, big, signOpts{target: "AppRunner.ListServices"})
	cb = &countingBody{r: strings.NewReader(big)}
	r.Body = cb
	w = httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge || cb.read != 0 {
		t.Errorf("oversized ListServices: status %d after reading %d bytes, want 413 before reading", w.Code, cb.read)
	}

	// Without a Content-Length the cap still holds while reading.
	r = signRequest(t, big, signOpts{target: "AppRunner.ListServices"})
	cb = &countingBody{r: strings.NewReader(big)}
	r.Body, r.ContentLength = cb, -1
	w = httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge || cb.read > 65<<10+512 {
		t.Errorf("oversized chunked ListServices: status %d after reading %d bytes, want 413 within the cap", w.Code, cb.read)
	}

	// CreateService may be larger: 200 KiB reaches validation.
	resp := do(t, s, "CreateService", big)
	if resp.StatusCode == http.StatusRequestEntityTooLarge {
		t.Errorf("a 200 KiB CreateService was refused as too large")
	}
}
