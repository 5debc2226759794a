package tracing

import (
	"context"
	"encoding/binary"
	"testing"
	"time"
)

func TestInstanceEndpoint(t *testing.T) {
	tests := []struct {
		endpoint, loopback, want string
	}{
		{"http://127.0.0.1:4318", "10.0.2.2", "http://10.0.2.2:4318"},
		{"http://localhost:4318/", "10.0.2.2", "http://10.0.2.2:4318/"},
		{"http://[::1]:4318", "10.0.2.2", "http://10.0.2.2:4318"},
		{"https://127.0.0.1", "10.0.2.2", "https://10.0.2.2"},
		{"http://127.0.0.1:4318", "", "http://127.0.0.1:4318"},
		{"http://collector.internal:4318", "10.0.2.2", "http://collector.internal:4318"},
		{"http://192.168.1.5:4318", "10.0.2.2", "http://192.168.1.5:4318"},
	}
	for _, tt := range tests {
		if got := InstanceEndpoint(tt.endpoint, tt.loopback); got != tt.want {
			t.Errorf("InstanceEndpoint(%q, %q) = %q, want %q", tt.endpoint, tt.loopback, got, tt.want)
		}
	}
}

func TestParseEndpoint(t *testing.T) {
	for _, ok := range []string{"http://127.0.0.1:4318", "https://otlp.example.com", "http://collector:4318/otlp"} {
		if _, err := ParseEndpoint(ok); err != nil {
			t.Errorf("ParseEndpoint(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"127.0.0.1:4318", "grpc://127.0.0.1:4317", "http://", "http://h:1/?a=b", "http://u:p@h:1", ":"} {
		if _, err := ParseEndpoint(bad); err == nil {
			t.Errorf("ParseEndpoint(%q) succeeded, want an error", bad)
		}
	}
}

func TestXRayIDs(t *testing.T) {
	before := uint32(time.Now().Unix())
	tid, sid := xrayIDs{}.NewIDs(context.Background())
	after := uint32(time.Now().Unix())
	if at := binary.BigEndian.Uint32(tid[:4]); at < before || at > after {
		t.Errorf("trace ID %s starts with %d, want the time in seconds (%d..%d)", tid, at, before, after)
	}
	if !tid.IsValid() || !sid.IsValid() {
		t.Errorf("IDs %s %s are not valid", tid, sid)
	}
	if tid2, _ := (xrayIDs{}).NewIDs(context.Background()); tid2 == tid {
		t.Errorf("two trace IDs are both %s", tid)
	}
}
