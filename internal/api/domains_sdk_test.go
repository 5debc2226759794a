package api_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/control"
	"github.com/slipwayhq/slipway/internal/store"
)

// TestSDKCustomDomains drives the custom domain operations through the SDK
// and the real control plane: the SDK must take App Runner's lower-case
// statuses as they are.
func TestSDKCustomDomains(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "slipway.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctl := control.New(control.Config{Region: "us-east-1", Account: "123456789012", Domain: "localhost", RouterPort: 8080, MaxServices: 1},
		st, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := ctl.EnsureDefaultAutoScaling(ctx); err != nil {
		t.Fatal(err)
	}
	created, err := ctl.CreateService(ctx, &ar.CreateServiceRequest{ServiceName: "web", SourceConfiguration: &ar.SourceConfiguration{
		ImageRepository: &ar.ImageRepository{ImageIdentifier: "nginx", ImageRepositoryType: ar.ImageRepositoryTypeEcrPublic}}})
	if err != nil {
		t.Fatal(err)
	}
	arn := created.Service.ServiceArn
	// engine stands in for the engine, which moves services and domains on.
	engine := func(fn func(tx *store.Tx) error) {
		t.Helper()
		if err := st.Update(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	var host string
	engine(func(tx *store.Tx) error {
		s, err := tx.Service(arn)
		if err != nil {
			return err
		}
		s.Status, host = ar.ServiceStatusRunning, s.Host
		return tx.PutService(s)
	})

	c := newClient(t, ctl, "sdk-secret")
	assoc, err := c.AssociateCustomDomain(ctx, &apprunner.AssociateCustomDomainInput{
		ServiceArn: aws.String(arn), DomainName: aws.String("Example.COM.")})
	if err != nil {
		t.Fatalf("AssociateCustomDomain: %v", err)
	}
	if d := assoc.CustomDomain; aws.ToString(d.DomainName) != "example.com" || !aws.ToBool(d.EnableWWWSubdomain) ||
		d.Status != "creating" || len(d.CertificateValidationRecords) != 0 {
		t.Errorf("associated %+v, want example.com, www, creating, no records", *d)
	}
	if aws.ToString(assoc.DNSTarget) != host || aws.ToString(assoc.ServiceArn) != arn || assoc.VpcDNSTargets == nil {
		t.Errorf("DNSTarget, ServiceArn, VpcDNSTargets = %q, %q, %v; want %q, %q, []",
			aws.ToString(assoc.DNSTarget), aws.ToString(assoc.ServiceArn), assoc.VpcDNSTargets, host, arn)
	}
	if _, err := c.AssociateCustomDomain(ctx, &apprunner.AssociateCustomDomainInput{
		ServiceArn: aws.String(arn), DomainName: aws.String("api.example.org"), EnableWWWSubdomain: aws.Bool(false)}); err != nil {
		t.Fatalf("AssociateCustomDomain(api.example.org): %v", err)
	}
	engine(func(tx *store.Tx) error {
		d, err := tx.CustomDomain("example.com")
		if err != nil {
			return err
		}
		d.Status = store.DomainPendingValidation
		return tx.PutCustomDomain(d)
	})

	first, err := c.DescribeCustomDomains(ctx, &apprunner.DescribeCustomDomainsInput{ServiceArn: aws.String(arn), MaxResults: aws.Int32(1)})
	if err != nil {
		t.Fatalf("DescribeCustomDomains: %v", err)
	}
	if len(first.CustomDomains) != 1 || first.NextToken == nil {
		t.Fatalf("first page = %+v, want one domain and a NextToken", first)
	}
	d := first.CustomDomains[0]
	if aws.ToString(d.DomainName) != "example.com" || d.Status != "pending_certificate_dns_validation" {
		t.Errorf("first domain = %s %s, want example.com pending_certificate_dns_validation", aws.ToString(d.DomainName), d.Status)
	}
	var records []string
	for _, r := range d.CertificateValidationRecords {
		records = append(records, aws.ToString(r.Name)+" "+aws.ToString(r.Type)+" "+aws.ToString(r.Value)+" "+string(r.Status))
	}
	if want := []string{"example.com CNAME " + host + " PENDING_VALIDATION", "www.example.com CNAME " + host + " PENDING_VALIDATION"}; !slices.Equal(records, want) {
		t.Errorf("records = %q, want %q", records, want)
	}

	// The SDK's paginator follows the tokens to the end.
	var names []string
	p := apprunner.NewDescribeCustomDomainsPaginator(c, &apprunner.DescribeCustomDomainsInput{ServiceArn: aws.String(arn), MaxResults: aws.Int32(1)})
	for pages := 0; p.HasMorePages(); pages++ {
		if pages == 3 {
			t.Fatal("paginator did not stop")
		}
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("NextPage: %v", err)
		}
		for _, d := range page.CustomDomains {
			names = append(names, aws.ToString(d.DomainName)+" "+string(d.Status))
		}
	}
	if want := []string{"example.com pending_certificate_dns_validation", "api.example.org creating"}; !slices.Equal(names, want) {
		t.Errorf("paginated = %q, want %q", names, want)
	}

	dis, err := c.DisassociateCustomDomain(ctx, &apprunner.DisassociateCustomDomainInput{ServiceArn: aws.String(arn), DomainName: aws.String("example.com")})
	if err != nil {
		t.Fatalf("DisassociateCustomDomain: %v", err)
	}
	if dis.CustomDomain.Status != "deleting" || aws.ToString(dis.DNSTarget) != host {
		t.Errorf("disassociated = %s, DNSTarget %q; want deleting, %q", dis.CustomDomain.Status, aws.ToString(dis.DNSTarget), host)
	}

	for _, tt := range []struct {
		name  string
		call  func() error
		check func(error) bool
	}{
		{"disassociate twice", func() error {
			_, err := c.DisassociateCustomDomain(ctx, &apprunner.DisassociateCustomDomainInput{ServiceArn: aws.String(arn), DomainName: aws.String("example.com")})
			return err
		}, func(err error) bool { var e *types.InvalidStateException; return errors.As(err, &e) }},
		{"disassociate unknown", func() error {
			_, err := c.DisassociateCustomDomain(ctx, &apprunner.DisassociateCustomDomainInput{ServiceArn: aws.String(arn), DomainName: aws.String("nope.example.com")})
			return err
		}, func(err error) bool { var e *types.ResourceNotFoundException; return errors.As(err, &e) }},
		{"associate to unknown service", func() error {
			_, err := c.AssociateCustomDomain(ctx, &apprunner.AssociateCustomDomainInput{
				ServiceArn: aws.String(arn + "0"), DomainName: aws.String("new.example.com")})
			return err
		}, func(err error) bool { var e *types.InvalidRequestException; return errors.As(err, &e) }},
	} {
		if err := tt.call(); !tt.check(err) {
			t.Errorf("%s: error %v is not the modeled one", tt.name, err)
		}
	}
}
