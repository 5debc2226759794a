package autodeploy

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRegistryHandlerNeedsTheSecret(t *testing.T) {
	h := RegistryHandler([]byte("s3cret"), nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, auth := range []string{"", "Bearer wrong", "s3cret", "Basic czNjcmV0"} {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/registry", strings.NewReader(`{"events":[]}`))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("Authorization %q: status %d, want 401", auth, rec.Code)
		}
	}
}
