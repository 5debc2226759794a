package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/slipwayhq/slipway/internal/applog"
	ar "github.com/slipwayhq/slipway/internal/apprunner"
)

type fakeLogs struct {
	entries []applog.Entry
	err     error
	got     struct {
		service, operation string
		follow             bool
	}
}

func (f *fakeLogs) Logs(_ context.Context, service, operation string, follow bool, fn func(applog.Entry)) error {
	f.got.service, f.got.operation, f.got.follow = service, operation, follow
	for _, e := range f.entries {
		fn(e)
	}
	return f.err
}

func signedGet(t *testing.T, url, secret string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, url, nil)
	sum := sha256.Sum256(nil)
	creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), "apprunner", testRegion, signedAt); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestLogsHandler(t *testing.T) {
	at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name       string
		url        string
		secret     string
		logs       *fakeLogs
		wantStatus int
		wantBody   string
		wantCode   string
	}{
		{
			name: "entries, one a line", url: "http://127.0.0.1/slipway/v1/logs?service=my-app&operation=op1&follow=0",
			logs: &fakeLogs{entries: []applog.Entry{
				{Time: at, Source: "build", Stream: "stdout", Text: "hello"},
				{Time: at, Source: "i-1", Stream: "stderr", Text: "oops"},
			}},
			wantStatus: 200,
			wantBody: "2024-01-02T03:04:05.000000000Z build stdout hello\n" +
				"2024-01-02T03:04:05.000000000Z i-1 stderr oops\n",
		},
		{
			name: "error before any entry", url: "http://127.0.0.1/slipway/v1/logs?service=nope",
			logs:       &fakeLogs{err: ar.NotFound("Service not found: nope")},
			wantStatus: 400, wantCode: "ResourceNotFoundException",
		},
		{
			name: "bad signature", url: "http://127.0.0.1/slipway/v1/logs?service=my-app", secret: "wrong",
			logs:       &fakeLogs{},
			wantStatus: 403, wantCode: "InvalidSignatureException",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secret := tt.secret
			if secret == "" {
				secret = testSecret
			}
			w := httptest.NewRecorder()
			LogsHandler(testAuth(signedAt), tt.logs).ServeHTTP(w, signedGet(t, tt.url, secret))
			if w.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d; body %s", w.Code, tt.wantStatus, w.Body)
			}
			if tt.wantBody != "" && w.Body.String() != tt.wantBody {
				t.Errorf("body = %q, want %q", w.Body, tt.wantBody)
			}
			if got := w.Header().Get("X-Amzn-ErrorType"); got != tt.wantCode {
				t.Errorf("X-Amzn-ErrorType = %q, want %q", got, tt.wantCode)
			}
		})
	}
}

func TestLogsHandlerQuery(t *testing.T) {
	f := &fakeLogs{}
	w := httptest.NewRecorder()
	LogsHandler(testAuth(signedAt), f).ServeHTTP(w,
		signedGet(t, "http://127.0.0.1/slipway/v1/logs?service=arn%3Aaws%3Ax&operation=op-9&follow=1", testSecret))
	if f.got.service != "arn:aws:x" || f.got.operation != "op-9" || !f.got.follow {
		t.Errorf("Logs called with %+v, want service arn:aws:x, operation op-9, follow true", f.got)
	}
}
