package engine

import (
	"reflect"
	"testing"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

func TestIngressAliases(t *testing.T) {
	svcs := []store.Service{
		{ARN: "a", Host: "a.localhost", Status: ar.ServiceStatusRunning},
		{ARN: "b", Host: "b.localhost", Status: ar.ServiceStatusPaused},
		{ARN: "gone", Host: "gone.localhost", Status: ar.ServiceStatusDeleted},
	}
	conns := []store.VpcIngressConnection{
		{ServiceARN: "a", DomainName: "ia.example", Status: ar.VpcIngressConnectionStatusAvailable},
		{ServiceARN: "b", DomainName: "ib.example", Status: ar.VpcIngressConnectionStatusAvailable},
		{ServiceARN: "a", DomainName: "old.example", Status: ar.VpcIngressConnectionStatusDeleted},
		{ServiceARN: "gone", DomainName: "ig.example", Status: ar.VpcIngressConnectionStatusAvailable},
		{ServiceARN: "unknown", DomainName: "iu.example", Status: ar.VpcIngressConnectionStatusAvailable},
	}
	want := map[string]string{"ia.example": "a.localhost", "ib.example": "b.localhost"}
	if got := ingressAliases(svcs, conns); !reflect.DeepEqual(got, want) {
		t.Errorf("ingressAliases = %v, want %v", got, want)
	}
}

func TestSyncIngress(t *testing.T) {
	r := &fakeRouter{}
	e := &Engine{router: r}
	e.syncIngress(map[string]string{"ia.example": "a.localhost", "ib.example": "b.localhost"})
	e.syncIngress(map[string]string{"ia.example": "a2.localhost"})
	if want := map[string]string{"ia.example": "a2.localhost"}; !reflect.DeepEqual(r.private, want) {
		t.Errorf("router's private aliases = %v, want %v", r.private, want)
	}
}

func TestPrivateServiceRoute(t *testing.T) {
	svc := store.Service{Host: "p.localhost", Status: ar.ServiceStatusPaused,
		Config: store.Config{Network: &ar.NetworkConfiguration{IngressConfiguration: &ar.IngressConfiguration{IsPubliclyAccessible: false}}}}
	if r, ok := routeFor(svc, nil, nil, policy{}); !ok || !r.Private {
		t.Errorf("route of a private service = %+v, %v; want Private", r, ok)
	}
	svc.Config.Network.IngressConfiguration.IsPubliclyAccessible = true
	if r, _ := routeFor(svc, nil, nil, policy{}); r.Private {
		t.Error("route of a public service is Private")
	}
}
