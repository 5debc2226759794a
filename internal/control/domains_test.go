package control

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

// domainFixture is a fixture with services in each status that matters to
// custom domains, by name: web and other (RUNNING), busy (being created),
// dying (being deleted), paused, failed (CREATE_FAILED), delfailed
// (DELETE_FAILED) and gone (DELETED).
type domainFixture struct {
	*fixture
	arn  map[string]string
	host map[string]string
}

func newDomainFixture(t *testing.T) *domainFixture {
	t.Helper()
	f := &domainFixture{fixture: newFixture(t, 20), arn: map[string]string{}, host: map[string]string{}}
	for _, s := range []struct{ name, status string }{
		{"web", ar.ServiceStatusRunning}, {"other", ar.ServiceStatusRunning}, {"busy", ""},
		{"dying", ar.ServiceStatusRunning}, {"paused", ar.ServiceStatusPaused},
		{"failed", ar.ServiceStatusCreateFailed}, {"delfailed", ar.ServiceStatusDeleteFailed},
		{"gone", ar.ServiceStatusDeleted},
	} {
		svc := f.create(t, imageRequest(s.name, ar.ImageRepositoryTypeEcrPublic)).Service
		f.arn[s.name] = svc.ServiceArn
		f.host[s.name] = strings.TrimSuffix(deref(svc.ServiceUrl), ":8080")
		if s.status != "" {
			f.setStatus(t, svc.ServiceArn, s.status)
		}
	}
	if _, err := f.c.DeleteService(context.Background(), &ar.DeleteServiceRequest{ServiceArn: f.arn["dying"]}); err != nil {
		t.Fatal(err)
	}
	return f
}

// domainSeed is a custom domain as the engine left it.
type domainSeed struct {
	svc, name string
	www       bool
	status    string
}

func (f *domainFixture) seed(t *testing.T, seeds ...domainSeed) {
	t.Helper()
	err := f.st.Update(context.Background(), func(tx *store.Tx) error {
		for _, s := range seeds {
			now := f.c.now()
			d := store.CustomDomain{ServiceARN: f.arn[s.svc], Name: s.name, WWW: s.www, Status: s.status,
				CertStatus: store.CertPendingValidation, CreatedAt: now, UpdatedAt: now}
			if s.status == store.DomainActive {
				d.CertStatus = store.CertSuccess
			}
			if err := tx.PutCustomDomain(d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (f *domainFixture) stored(t *testing.T, name string) store.CustomDomain {
	t.Helper()
	var d store.CustomDomain
	err := f.st.View(context.Background(), func(tx *store.Tx) (err error) {
		d, err = tx.CustomDomain(name)
		return err
	})
	if err != nil {
		t.Fatalf("CustomDomain(%s): %v", name, err)
	}
	return d
}

func TestAssociateCustomDomain(t *testing.T) {
	long := strings.Repeat("a", 63)
	tests := []struct {
		name     string
		svc      string // a domainFixture service; web when empty
		arn      string // instead of svc's
		domain   string
		www      *bool
		dns01    bool
		max      int
		existing []domainSeed

		wantCode string // "" for success
		wantMsgs []string
		wantName string // the stored name; domain when empty
		wantWWW  bool
	}{
		{name: "www by default", domain: "example.com", wantWWW: true},
		{name: "lower case, no trailing dot", domain: "Shop.Example.COM.", wantName: "shop.example.com", wantWWW: true},
		{name: "www off", domain: "example.com", www: ptrTo(false)},
		{name: "www name has no www", domain: "www.example.com", www: ptrTo(true)},
		{name: "punycode and hyphens", domain: "xn--bcher-kva.example-shop.co.uk", wantWWW: true},
		{name: "longest label", domain: long + ".example.com", wantWWW: true},
		{name: "wildcard with DNS-01, no www", domain: "*.example.com", www: ptrTo(true), dns01: true},
		{name: "name near the own domain", domain: "localhost.example.com", wantWWW: true},
		{name: "service being deployed", svc: "busy", domain: "example.com", wantWWW: true},
		{name: "other service's www-less name", domain: "example.com", www: ptrTo(false),
			existing: []domainSeed{{"other", "www.example.com", false, store.DomainActive}}},
		{name: "deleting domains leave the quota", domain: "c.example.com", max: 2, wantWWW: true,
			existing: []domainSeed{{"web", "a.example.com", true, store.DomainActive}, {"web", "b.example.com", true, store.DomainDeleting}}},

		{name: "one label", domain: "localhost", wantCode: ar.CodeInvalidRequest, wantMsgs: []string{"localhost", "two labels"}},
		{name: "empty label", domain: "a..example.com", wantCode: ar.CodeInvalidRequest, wantMsgs: []string{"empty label"}},
		{name: "leading hyphen", domain: "-a.example.com", wantCode: ar.CodeInvalidRequest, wantMsgs: []string{"-a", "hyphen"}},
		{name: "trailing hyphen", domain: "a-.example.com", wantCode: ar.CodeInvalidRequest, wantMsgs: []string{"a-", "hyphen"}},
		{name: "label too long", domain: long + "a.example.com", wantCode: ar.CodeInvalidRequest, wantMsgs: []string{"63"}},
		{name: "name too long", domain: strings.Repeat(long+".", 4) + "com", wantCode: ar.CodeInvalidRequest, wantMsgs: []string{"253"}},
		{name: "underscore", domain: "a_b.example.com", wantCode: ar.CodeInvalidRequest, wantMsgs: []string{"_"}},
		{name: "inner wildcard", domain: "a.*.example.com", dns01: true, wantCode: ar.CodeInvalidRequest, wantMsgs: []string{"first label"}},
		{name: "wildcard of a top-level domain", domain: "*.com", dns01: true, wantCode: ar.CodeInvalidRequest, wantMsgs: []string{"two labels"}},
		{name: "IP address", domain: "10.0.0.1", wantCode: ar.CodeInvalidRequest, wantMsgs: []string{"IP"}},
		{name: "wildcard without DNS-01", domain: "*.example.com", wantCode: ar.CodeInvalidRequest,
			wantMsgs: []string{"wildcard", "DNS-01", "no DNS provider", "--acme-dns rfc2136", "--rfc2136-server", "--rfc2136-key-name", "--rfc2136-key-file"}},
		{name: "own domain", domain: "us-east-1.localhost", wantCode: ar.CodeInvalidRequest, wantMsgs: []string{"own domain"}},
		{name: "under own domain", domain: "App.us-east-1.localhost", wantCode: ar.CodeInvalidRequest, wantMsgs: []string{"own domain"}},
		{name: "wildcard under own domain", domain: "*.us-east-1.localhost", dns01: true, wantCode: ar.CodeInvalidRequest, wantMsgs: []string{"own domain"}},

		{name: "unknown service", arn: "arn:aws:apprunner:us-east-1:123456789012:service/nope/0123456789abcdef0123456789abcdef",
			domain: "example.com", wantCode: ar.CodeInvalidRequest, wantMsgs: []string{"Service not found", "service/nope/"}},
		{name: "deleted service", svc: "gone", domain: "example.com", wantCode: ar.CodeInvalidRequest, wantMsgs: []string{"Service not found"}},
		{name: "service being deleted", svc: "dying", domain: "example.com", wantCode: ar.CodeInvalidState, wantMsgs: []string{"dying", "being deleted"}},
		{name: "paused service", svc: "paused", domain: "example.com", wantCode: ar.CodeInvalidState, wantMsgs: []string{"PAUSED", "RUNNING"}},
		{name: "failed service", svc: "failed", domain: "example.com", wantCode: ar.CodeInvalidState, wantMsgs: []string{"CREATE_FAILED"}},
		{name: "service failed to delete", svc: "delfailed", domain: "example.com", wantCode: ar.CodeInvalidState, wantMsgs: []string{"DELETE_FAILED"}},

		{name: "already associated", domain: "Example.com", wantCode: ar.CodeInvalidRequest, wantMsgs: []string{"example.com", "already associated with service web"},
			existing: []domainSeed{{"web", "example.com", true, store.DomainActive}}},
		{name: "associated with another service", domain: "example.com", wantCode: ar.CodeInvalidRequest,
			wantMsgs: []string{"another service", "service/other/"},
			existing: []domainSeed{{"other", "example.com", false, store.DomainCreateFailed}}},
		{name: "www form of an association", domain: "www.example.com", wantCode: ar.CodeInvalidRequest,
			wantMsgs: []string{"www.example.com", "already associated with service web, as part of example.com"},
			existing: []domainSeed{{"web", "example.com", true, store.DomainActive}}},
		{name: "www form taken by another service", domain: "example.com", wantCode: ar.CodeInvalidRequest,
			wantMsgs: []string{"www.example.com", "service/other/"},
			existing: []domainSeed{{"other", "www.example.com", false, store.DomainActive}}},
		{name: "being disassociated", domain: "example.com", wantCode: ar.CodeInvalidRequest, wantMsgs: []string{"being disassociated"},
			existing: []domainSeed{{"other", "example.com", false, store.DomainDeleting}}},
		{name: "quota", domain: "c.example.com", max: 2, wantCode: ar.CodeInvalidRequest, wantMsgs: []string{"2 custom domains"},
			existing: []domainSeed{{"web", "a.example.com", true, store.DomainActive}, {"web", "b.example.com", true, store.DomainCreateFailed},
				{"other", "d.example.com", true, store.DomainActive}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newDomainFixture(t)
			f.c.cfg.DNS01, f.c.cfg.MaxCustomDomains = tt.dns01, tt.max
			f.seed(t, tt.existing...)
			svc := tt.svc
			if svc == "" {
				svc = "web"
			}
			arn := tt.arn
			if arn == "" {
				arn = f.arn[svc]
			}
			wakes := f.waker.count()
			out, err := f.c.AssociateCustomDomain(context.Background(),
				&ar.AssociateCustomDomainRequest{ServiceArn: arn, DomainName: tt.domain, EnableWWWSubdomain: tt.www})
			if tt.wantCode != "" {
				wantAPIError(t, err, tt.wantCode, tt.wantMsgs...)
				if f.waker.count() != wakes {
					t.Error("a refused association woke the engine")
				}
				return
			}
			if err != nil {
				t.Fatalf("AssociateCustomDomain: %v", err)
			}
			name := tt.wantName
			if name == "" {
				name = tt.domain
			}
			want := ar.CustomDomain{DomainName: name, EnableWWWSubdomain: tt.wantWWW, Status: "creating"}
			if got := *out.CustomDomain; describeDomain(got) != describeDomain(want) {
				t.Errorf("CustomDomain = %s, want %s", describeDomain(got), describeDomain(want))
			}
			if out.DNSTarget != f.host[svc] || out.ServiceArn != arn || out.VpcDNSTargets == nil || len(out.VpcDNSTargets) != 0 {
				t.Errorf("DNSTarget, ServiceArn, VpcDNSTargets = %q, %q, %#v; want %q, %q, []",
					out.DNSTarget, out.ServiceArn, out.VpcDNSTargets, f.host[svc], arn)
			}
			d := f.stored(t, name)
			if d.ServiceARN != arn || d.WWW != tt.wantWWW || d.Status != store.DomainCreating ||
				d.CertStatus != store.CertPendingValidation || d.CreatedAt.IsZero() || d.UpdatedAt != d.CreatedAt {
				t.Errorf("stored %+v, want it creating, pending validation, www %v", d, tt.wantWWW)
			}
			if f.waker.count() != wakes+1 {
				t.Errorf("engine woken %d times, want once", f.waker.count()-wakes)
			}
		})
	}
}

// describeDomain renders a domain and its records on one line.
func describeDomain(d ar.CustomDomain) string {
	s := fmt.Sprintf("%s www=%v %s", d.DomainName, d.EnableWWWSubdomain, d.Status)
	for _, r := range d.CertificateValidationRecords {
		s += fmt.Sprintf(" [%s %s %s %s]", deref(r.Name), deref(r.Type), deref(r.Value), deref(r.Status))
	}
	return s
}

func TestDescribeCustomDomains(t *testing.T) {
	f := newDomainFixture(t)
	ctx := context.Background()
	f.seed(t,
		domainSeed{"web", "creating.example.com", true, store.DomainCreating},
		domainSeed{"web", "pending.example.com", true, store.DomainPendingValidation},
		domainSeed{"other", "other.example.com", true, store.DomainActive},
		domainSeed{"web", "active.example.com", false, store.DomainActive},
		domainSeed{"web", "failed.example.com", false, store.DomainCreateFailed},
		domainSeed{"web", "deleting.example.com", false, store.DomainDeleting},
		domainSeed{"web", "sixth.example.com", false, store.DomainBindingCertificate},
	)
	h := f.host["web"]
	want := []string{
		"creating.example.com www=true creating",
		"pending.example.com www=true pending_certificate_dns_validation " +
			"[pending.example.com CNAME " + h + " PENDING_VALIDATION] [www.pending.example.com CNAME " + h + " PENDING_VALIDATION]",
		"active.example.com www=false active [active.example.com CNAME " + h + " SUCCESS]",
		"failed.example.com www=false create_failed [failed.example.com CNAME " + h + " PENDING_VALIDATION]",
		"deleting.example.com www=false deleting [deleting.example.com CNAME " + h + " PENDING_VALIDATION]",
		"sixth.example.com www=false binding_certificate [sixth.example.com CNAME " + h + " PENDING_VALIDATION]",
	}
	// describe follows NextToken from the first page and returns every
	// domain and the number of pages.
	describe := func(max *int64) ([]string, int) {
		t.Helper()
		var (
			got   []string
			token *string
		)
		for pages := 1; ; pages++ {
			out, err := f.c.DescribeCustomDomains(ctx, &ar.DescribeCustomDomainsRequest{ServiceArn: f.arn["web"], MaxResults: max, NextToken: token})
			if err != nil {
				t.Fatalf("DescribeCustomDomains: %v", err)
			}
			if out.DNSTarget != h || out.ServiceArn != f.arn["web"] || out.VpcDNSTargets == nil || out.CustomDomains == nil {
				t.Errorf("page %d: DNSTarget %q, ServiceArn %q, VpcDNSTargets %#v, CustomDomains %#v", pages,
					out.DNSTarget, out.ServiceArn, out.VpcDNSTargets, out.CustomDomains)
			}
			for _, d := range out.CustomDomains {
				got = append(got, describeDomain(d))
			}
			if token = out.NextToken; token == nil {
				return got, pages
			}
			if pages > 10 {
				t.Fatal("pagination does not end")
			}
		}
	}
	for _, tt := range []struct {
		max       *int64
		wantPages int
	}{{nil, 1}, {ptrTo[int64](1), 6}, {ptrTo[int64](5), 2}, {ptrTo[int64](3), 2}} {
		got, pages := describe(tt.max)
		if !slices.Equal(got, want) || pages != tt.wantPages {
			t.Errorf("MaxResults %v: %d pages of\n%s\nwant %d pages of\n%s", deref(tt.max), pages,
				strings.Join(got, "\n"), tt.wantPages, strings.Join(want, "\n"))
		}
	}

	_, err := f.c.DescribeCustomDomains(ctx, &ar.DescribeCustomDomainsRequest{ServiceArn: f.arn["web"], NextToken: ptrTo("bogus")})
	wantAPIError(t, err, ar.CodeInvalidRequest, "NextToken")
	for _, arn := range []string{f.arn["gone"], "arn:aws:apprunner:us-east-1:123456789012:service/nope/0123456789abcdef0123456789abcdef"} {
		_, err := f.c.DescribeCustomDomains(ctx, &ar.DescribeCustomDomainsRequest{ServiceArn: arn})
		wantAPIError(t, err, ar.CodeResourceNotFound, "Service not found")
	}
	out, err := f.c.DescribeCustomDomains(ctx, &ar.DescribeCustomDomainsRequest{ServiceArn: f.arn["paused"]})
	if err != nil || out.CustomDomains == nil || len(out.CustomDomains) != 0 || out.NextToken != nil {
		t.Errorf("a service without domains: %+v, %v; want [] and no token", out, err)
	}
}

func TestDisassociateCustomDomain(t *testing.T) {
	tests := []struct {
		name     string
		svc      string
		arn      string
		domain   string
		wantCode string
		wantMsgs []string
		wantWWW  bool
	}{
		{name: "active", svc: "web", domain: "a.example.com", wantWWW: true},
		{name: "name as typed", svc: "web", domain: "A.Example.com.", wantWWW: true},
		{name: "failed", svc: "web", domain: "failed.example.com"},
		{name: "of a paused service", svc: "paused", domain: "p.example.com"},
		{name: "already deleting", svc: "web", domain: "deleting.example.com", wantCode: ar.CodeInvalidState, wantMsgs: []string{"already"}},
		{name: "not associated", svc: "web", domain: "none.example.com", wantCode: ar.CodeResourceNotFound,
			wantMsgs: []string{"none.example.com", "not associated with service web"}},
		{name: "www form is not the association", svc: "web", domain: "www.a.example.com", wantCode: ar.CodeResourceNotFound},
		{name: "another service's domain", svc: "web", domain: "o.example.com", wantCode: ar.CodeResourceNotFound},
		{name: "deleted service", svc: "gone", domain: "g.example.com", wantCode: ar.CodeResourceNotFound, wantMsgs: []string{"Service not found"}},
		{name: "unknown service", arn: "arn:aws:apprunner:us-east-1:123456789012:service/nope/0123456789abcdef0123456789abcdef",
			domain: "a.example.com", wantCode: ar.CodeResourceNotFound, wantMsgs: []string{"Service not found"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newDomainFixture(t)
			f.seed(t,
				domainSeed{"web", "a.example.com", true, store.DomainActive},
				domainSeed{"web", "failed.example.com", false, store.DomainCreateFailed},
				domainSeed{"web", "deleting.example.com", false, store.DomainDeleting},
				domainSeed{"paused", "p.example.com", false, store.DomainActive},
				domainSeed{"other", "o.example.com", false, store.DomainActive},
				domainSeed{"gone", "g.example.com", false, store.DomainActive},
			)
			arn := tt.arn
			if arn == "" {
				arn = f.arn[tt.svc]
			}
			wakes := f.waker.count()
			out, err := f.c.DisassociateCustomDomain(context.Background(), &ar.DisassociateCustomDomainRequest{ServiceArn: arn, DomainName: tt.domain})
			if tt.wantCode != "" {
				wantAPIError(t, err, tt.wantCode, tt.wantMsgs...)
				if f.waker.count() != wakes {
					t.Error("a refused disassociation woke the engine")
				}
				return
			}
			if err != nil {
				t.Fatalf("DisassociateCustomDomain: %v", err)
			}
			name := normalizeDomain(tt.domain)
			if got := out.CustomDomain; got.DomainName != name || got.EnableWWWSubdomain != tt.wantWWW || got.Status != store.DomainDeleting {
				t.Errorf("CustomDomain = %+v, want %s www=%v deleting", *got, name, tt.wantWWW)
			}
			if out.DNSTarget != f.host[tt.svc] || out.ServiceArn != arn || out.VpcDNSTargets == nil || len(out.VpcDNSTargets) != 0 {
				t.Errorf("DNSTarget, ServiceArn, VpcDNSTargets = %q, %q, %#v; want %q, %q, []",
					out.DNSTarget, out.ServiceArn, out.VpcDNSTargets, f.host[tt.svc], arn)
			}
			if d := f.stored(t, name); d.Status != store.DomainDeleting || !d.UpdatedAt.After(d.CreatedAt) {
				t.Errorf("stored %+v, want it deleting and updated", d)
			}
			if f.waker.count() != wakes+1 {
				t.Errorf("engine woken %d times, want once", f.waker.count()-wakes)
			}
		})
	}
}
