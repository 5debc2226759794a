package certs

import (
	"context"
	"errors"
	"testing"

	"github.com/libdns/libdns"
)

// nopDNS is a DNS provider that is never called here.
type nopDNS struct{}

func (nopDNS) AppendRecords(context.Context, string, []libdns.Record) ([]libdns.Record, error) {
	return nil, errors.New("not here")
}

func (nopDNS) DeleteRecords(context.Context, string, []libdns.Record) ([]libdns.Record, error) {
	return nil, errors.New("not here")
}

// TestDNS01Split: wildcard names are ordered and renewed over DNS-01,
// others as before; without a DNS provider a wildcard fails at once, with
// a reason, and the CA is not asked.
func TestDNS01Split(t *testing.T) {
	// Nothing listens here: an order that reached the CA would fail
	// otherwise.
	const ca = "https://127.0.0.1:1/dir"
	m, err := New(Config{Dir: t.TempDir(), ACMECA: ca, DNS01: &DNS01{Provider: nopDNS{}, Resolvers: []string{"127.0.0.1:1"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if !m.DNS01() || m.magicDNS == m.magic {
		t.Fatal("DNS01 configured, yet no configuration of its own")
	}
	tests := []struct {
		names []string
		dns   bool
	}{
		{[]string{"*.example.test"}, true},
		{[]string{"example.test"}, false},
		{[]string{"www.example.test", "*.example.test"}, true},
	}
	for _, tt := range tests {
		if got := m.configFor(tt.names...) == m.magicDNS; got != tt.dns {
			t.Errorf("configFor(%q) is DNS-01: %v, want %v", tt.names, got, tt.dns)
		}
	}

	plain, err := New(Config{Dir: t.TempDir(), ACMECA: ca}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if plain.DNS01() {
		t.Error("DNS01() without a provider")
	}
	if err := plain.Obtain(context.Background(), "*.example.test"); !errors.Is(err, ErrNoDNS01) {
		t.Errorf("Obtain of a wildcard without DNS-01: %v, want ErrNoDNS01", err)
	}
}

func TestWildcardOf(t *testing.T) {
	for name, want := range map[string]string{"a.example.test": "*.example.test", "a.b.example.test": "*.b.example.test", "localhost": ""} {
		if got := wildcardOf(name); got != want {
			t.Errorf("wildcardOf(%q) = %q, want %q", name, got, want)
		}
	}
}
