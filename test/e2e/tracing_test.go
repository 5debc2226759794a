package e2e

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/slipwayhq/slipway/test/testenv"
)

// receivedSpan is a span an OTLP receiver got, with its resource's
// service.name.
type receivedSpan struct {
	service               string
	traceID, id, parentID string
	name                  string
	kind                  tracepb.Span_SpanKind
	attrs, resource       map[string]string
}

// otlpReceiver is an OTLP/HTTP receiver of spans on loopback, as a
// collector's otlp receiver with the http protocol.
type otlpReceiver struct {
	url   string
	mu    sync.Mutex
	spans []receivedSpan
}

func startOTLPReceiver(t *testing.T) *otlpReceiver {
	rc := &otlpReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		var in coltracepb.ExportTraceServiceRequest
		if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" || err != nil || proto.Unmarshal(body, &in) != nil {
			t.Errorf("OTLP receiver: %s %s (%s), %d bytes, %v", req.Method, req.URL.Path, req.Header.Get("Content-Type"), len(body), err)
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		for _, rs := range in.ResourceSpans {
			res := attrMap(rs.GetResource().GetAttributes())
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					rc.spans = append(rc.spans, receivedSpan{service: res["service.name"],
						traceID: hex.EncodeToString(s.TraceId), id: hex.EncodeToString(s.SpanId), parentID: hex.EncodeToString(s.ParentSpanId),
						name: s.Name, kind: s.Kind, attrs: attrMap(s.Attributes), resource: res})
				}
			}
		}
		rc.mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	}))
	t.Cleanup(srv.Close)
	rc.url = srv.URL
	return rc
}

func attrMap(kvs []*commonpb.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		v := kv.GetValue()
		if _, ok := v.GetValue().(*commonpb.AnyValue_IntValue); ok {
			m[kv.Key] = fmt.Sprint(v.GetIntValue())
		} else {
			m[kv.Key] = v.GetStringValue()
		}
	}
	return m
}

// waitSpan waits for a span that match accepts.
func (rc *otlpReceiver) waitSpan(t *testing.T, what string, match func(receivedSpan) bool) receivedSpan {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		rc.mu.Lock()
		for _, s := range rc.spans {
			if match(s) {
				rc.mu.Unlock()
				return s
			}
		}
		n := len(rc.spans)
		rc.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no %s among the %d spans received: %+v", what, n, rc.all())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (rc *otlpReceiver) all() []receivedSpan {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]receivedSpan(nil), rc.spans...)
}

// TestTracing runs an OTLP/HTTP receiver on loopback and a daemon
// exporting to it (--otlp-endpoint), and deploys an app instrumented with
// OpenTelemetry's SDK (testdata/otelapp) twice: with observability enabled
// by an AWSXRAY configuration made with the aws CLI, and without. Requests
// to the first give the router's span and the app's child span in one
// trace, continuing a client's traceparent or X-Amzn-Trace-Id when there
// is one, over HTTP/1.1 and HTTP/2; the second gets neither spans nor the
// OTEL_* variables.
func TestTracing(t *testing.T) {
	repo := newGitRepo(t)
	build := exec.Command("go", "build", "-o", filepath.Join(repo.Dir, "otelapp"), "./test/e2e/testdata/otelapp")
	build.Dir = testenv.RepoRoot()
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the OpenTelemetry app: %v\n%s", err, out)
	}
	repo.Commit("otel app")

	rc := startOTLPReceiver(t)
	s := startServer(t, "--otlp-endpoint", rc.url)
	oc := s.MustAWS("create-observability-configuration", "--observability-configuration-name", "xray-e2e",
		"--trace-configuration", "Vendor=AWSXRAY")
	ocARN := str(oc, "ObservabilityConfiguration", "ObservabilityConfigurationArn")
	source := mustJSON(t, valuesSource(repo, map[string]any{
		"Runtime": "GO_1", "StartCommand": "./otelapp", "Port": "8080",
		// The app's SDK exports every 100 ms rather than every 5 s.
		"RuntimeEnvironmentVariables": map[string]string{"OTEL_BSP_SCHEDULE_DELAY": "100"},
	}))
	traced := s.MustAWS("create-service", "--service-name", "traced-svc", "--source-configuration", source,
		"--observability-configuration", "ObservabilityEnabled=true,ObservabilityConfigurationArn="+ocARN)
	plain := s.MustAWS("create-service", "--service-name", "plain-svc", "--source-configuration", source)
	tracedARN, plainARN := str(traced, "Service", "ServiceArn"), str(plain, "Service", "ServiceArn")
	tracedURL := str(s.WaitStatus(tracedARN, "RUNNING", 90*time.Second), "Service", "ServiceUrl")
	plainURL := str(s.WaitStatus(plainARN, "RUNNING", 90*time.Second), "Service", "ServiceUrl")

	h2c := &http.Transport{Protocols: new(http.Protocols)}
	h2c.Protocols.SetUnencryptedHTTP2(true)
	defer h2c.CloseIdleConnections()
	send := func(client *http.Client, host, path string, headers map[string]string) string {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, "http://"+s.Router+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s%s: %v", host, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s%s: %d %s\n%s", host, path, resp.StatusCode, b, s.Logs(tracedARN, ""))
		}
		return string(b)
	}
	plainClient := &http.Client{Timeout: 10 * time.Second}
	h2cClient := &http.Client{Transport: h2c, Timeout: 10 * time.Second}

	// check sends a request to path and finds the router's span and the
	// app's: one trace, the app's span a child of the router's.
	check := func(client *http.Client, path string, headers map[string]string) (router, app receivedSpan) {
		t.Helper()
		body := send(client, tracedURL, path, headers)
		router = rc.waitSpan(t, "router span for "+path, func(s receivedSpan) bool {
			return s.service == "slipway-router" && s.attrs["url.path"] == path
		})
		app = rc.waitSpan(t, "app span for "+path, func(s receivedSpan) bool {
			return s.service == "traced-svc" && s.name == "handle "+path
		})
		if router.kind != tracepb.Span_SPAN_KIND_SERVER || router.name != "GET traced-svc" ||
			router.attrs["http.request.method"] != "GET" || router.attrs["http.response.status_code"] != "200" ||
			router.attrs["slipway.service.name"] != "traced-svc" || router.attrs["slipway.service.arn"] != tracedARN ||
			!strings.HasPrefix(router.attrs["server.address"], strings.Split(tracedURL, ":")[0]) {
			t.Errorf("%s: router span %+v", path, router)
		}
		if app.traceID != router.traceID || app.parentID != router.id {
			t.Errorf("%s: app span in trace %s under %s, want in trace %s under the router's span %s",
				path, app.traceID, app.parentID, router.traceID, router.id)
		}
		if !strings.Contains(body, "traceparent=00-"+router.traceID+"-"+router.id+"-01\n") ||
			!strings.Contains(body, "x-amzn-trace-id=Root=1-"+router.traceID[:8]+"-"+router.traceID[8:]+";Parent="+router.id+";Sampled=1\n") {
			t.Errorf("%s: the app got other trace headers than the router's span %s/%s:\n%s", path, router.traceID, router.id, body)
		}
		return router, app
	}

	router, app := check(plainClient, "/fresh", nil)
	if router.parentID != "" {
		t.Errorf("a request without a trace context: router span has parent %s, want none", router.parentID)
	}
	if app.resource["service.instance.id"] == "" || app.resource["cloud.resource_id"] != tracedARN {
		t.Errorf("app span's resource %v, want service.instance.id and cloud.resource_id (the service ARN)", app.resource)
	}
	// The instance, in a namespace of its own, reaches the receiver on the
	// host's loopback at 10.0.2.2.
	body := send(plainClient, tracedURL, "/env", nil)
	if want := "endpoint=" + strings.Replace(rc.url, "127.0.0.1", "10.0.2.2", 1) + "\n"; !strings.Contains(body, want) ||
		!strings.Contains(body, "service=traced-svc\n") {
		t.Errorf("the app's environment, want %q and service=traced-svc:\n%s", want, body)
	}

	const clientTrace, clientSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	router, _ = check(plainClient, "/continued", map[string]string{"Traceparent": "00-" + clientTrace + "-" + clientSpan + "-01"})
	if router.traceID != clientTrace || router.parentID != clientSpan {
		t.Errorf("with a traceparent: router span in trace %s under %s, want %s under %s", router.traceID, router.parentID, clientTrace, clientSpan)
	}
	router, _ = check(plainClient, "/xray", map[string]string{"X-Amzn-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"})
	if router.traceID != "5759e988bd862e3fe1be46a994272793" || router.parentID != "53995c3f42cd8ad8" {
		t.Errorf("with an X-Amzn-Trace-Id: router span in trace %s under %s, want the X-Ray trace's", router.traceID, router.parentID)
	}
	router, _ = check(h2cClient, "/h2", map[string]string{"Traceparent": "00-" + clientTrace + "-" + clientSpan + "-01"})
	if router.traceID != clientTrace || router.parentID != clientSpan || router.attrs["network.protocol.version"] != "2" {
		t.Errorf("over HTTP/2: router span %+v, want in trace %s under %s over HTTP 2", router, clientTrace, clientSpan)
	}

	// The service without observability: no OTEL_* variables, no spans.
	body = send(plainClient, plainURL, "/untraced", map[string]string{"Traceparent": "00-" + clientTrace + "-" + clientSpan + "-01"})
	if !strings.Contains(body, "endpoint=\n") || !strings.Contains(body, "traceparent=00-"+clientTrace+"-"+clientSpan+"-01\n") ||
		!strings.Contains(body, "x-amzn-trace-id=\n") {
		t.Errorf("the service without observability got a tracing environment or other trace headers than the client's:\n%s", body)
	}
	// A later span of the traced service arriving means the router's
	// batch after the untraced request went out.
	check(plainClient, "/after", nil)
	for _, sp := range rc.all() {
		if sp.service == "plain-svc" || sp.attrs["slipway.service.name"] == "plain-svc" || sp.attrs["url.path"] == "/untraced" {
			t.Errorf("a span of the service without observability: %+v", sp)
		}
	}
}
