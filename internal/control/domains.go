package control

import (
	"context"
	"errors"
	"strings"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

// defaultMaxCustomDomains is Slipway's quota of custom domains per service
// when Config.MaxCustomDomains is 0. App Runner allows 5; a machine of one's
// own has no reason to be as strict.
const defaultMaxCustomDomains = 20

// max1 is n, but at least 1 (a page size).
func max1(n int) int { return max(n, 1) }

// normalizeDomain puts a domain name in the form it is stored and compared
// in: DNS names are case-insensitive, and a trailing dot only says the name
// is absolute.
func normalizeDomain(name string) string {
	return strings.TrimSuffix(strings.ToLower(name), ".")
}

// checkDomainName reports, as an InvalidRequestException, why a normalized
// name can't be associated; "*." may only lead.
func checkDomainName(name string) error {
	base := strings.TrimPrefix(name, "*.")
	if len(name) > 253 {
		return ar.InvalidRequest("DomainName %s is longer than 253 characters", name)
	}
	labels := strings.Split(base, ".")
	if len(labels) < 2 {
		return ar.InvalidRequest("DomainName %s needs at least two labels, e.g. example.com", name)
	}
	for _, l := range labels {
		if err := checkLabel(l); err != nil {
			return ar.InvalidRequest("DomainName %s is not a valid DNS name: %v", name, err)
		}
	}
	// An all-digit top-level label is an IP address or no real name; no
	// certificate authority issues for either.
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return ar.InvalidRequest("DomainName %s is not a DNS name (IP addresses can't be associated)", name)
	}
	return nil
}

// checkLabel checks one letter-digit-hyphen label.
func checkLabel(l string) error {
	switch {
	case l == "":
		return errors.New("empty label")
	case len(l) > 63:
		return errors.New("label " + l + " is longer than 63 characters")
	case l == "*":
		return errors.New("a wildcard * can only be the whole first label")
	case l[0] == '-' || l[len(l)-1] == '-':
		return errors.New("label " + l + " starts or ends with a hyphen")
	}
	for _, r := range l {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return errors.New("label " + l + " has " + string(r) + "; only letters, digits and hyphens are allowed")
		}
	}
	return nil
}

// domainNames lists the names a custom domain serves.
func domainNames(d store.CustomDomain) []string {
	if d.WWW {
		return []string{d.Name, "www." + d.Name}
	}
	return []string{d.Name}
}

// customDomainDescription renders a stored domain; target is the service's
// host, which every name served is a CNAME to.
func customDomainDescription(d store.CustomDomain, target string) ar.CustomDomain {
	out := ar.CustomDomain{DomainName: d.Name, EnableWWWSubdomain: d.WWW, Status: d.Status}
	// While creating, App Runner has not requested the certificate yet, so
	// there is nothing to validate; the records appear with the certificate.
	if d.Status == store.DomainCreating {
		return out
	}
	for _, n := range domainNames(d) {
		// Slipway's certificate authority validates over HTTP (or DNS) at
		// the name itself, so the record to create is the one that routes
		// the name here.
		out.CertificateValidationRecords = append(out.CertificateValidationRecords, ar.CertificateValidationRecord{
			Name: ptr(n), Type: ptr("CNAME"), Value: ptr(target), Status: ptr(d.CertStatus),
		})
	}
	return out
}

// AssociateCustomDomain associates a domain name (and by default its www
// subdomain) with a service; the engine then obtains its certificate.
func (c *Control) AssociateCustomDomain(ctx context.Context, in *ar.AssociateCustomDomainRequest) (*ar.AssociateCustomDomainResponse, error) {
	name := normalizeDomain(in.DomainName)
	if err := checkDomainName(name); err != nil {
		return nil, err
	}
	wildcard := strings.HasPrefix(name, "*.")
	if wildcard && !c.cfg.DNS01 {
		return nil, ar.InvalidRequest("DomainName %s: wildcard domains need DNS-01 validation, and Slipway has no DNS provider configured; "+
			"start slipway server with --acme-dns rfc2136 --rfc2136-server HOST:PORT --rfc2136-key-name NAME --rfc2136-key-file FILE "+
			"(a TSIG key the zone's DNS server accepts dynamic updates with)", name)
	}
	if own := c.cfg.Region + "." + c.cfg.Domain; name == own || strings.HasSuffix(name, "."+own) {
		return nil, ar.InvalidRequest("DomainName %s is in Slipway's own domain %s, where services are served already", name, own)
	}
	// App Runner's default is true; www.*.example.com and www.www.example.com
	// are nobody's intent.
	www := deref(in.EnableWWWSubdomain) || in.EnableWWWSubdomain == nil
	www = www && !wildcard && !strings.HasPrefix(name, "www.")
	if www && len("www."+name) > 253 {
		return nil, ar.InvalidRequest("www.%s is longer than 253 characters; associate %s with EnableWWWSubdomain false", name, name)
	}

	var (
		out ar.CustomDomain
		svc store.Service
	)
	err := c.store.Update(ctx, func(tx *store.Tx) (err error) {
		// The model has no ResourceNotFoundException for this operation: a
		// service that does not exist is an invalid request.
		svc, err = service(tx, in.ServiceArn)
		var ae *ar.Error
		if errors.As(err, &ae) {
			return ar.InvalidRequest("%s", ae.Message)
		}
		if err != nil {
			return err
		}
		if err := checkDomainTarget(tx, svc); err != nil {
			return err
		}
		d := store.CustomDomain{ServiceARN: svc.ARN, Name: name, WWW: www, Status: store.DomainCreating,
			CertStatus: store.CertPendingValidation}
		all, err := tx.CustomDomains("")
		if err != nil {
			return err
		}
		n := 0
		for _, o := range all {
			if err := refuseOverlap(d, o, svc.Name); err != nil {
				return err
			}
			if o.ServiceARN == svc.ARN && o.Status != store.DomainDeleting {
				n++
			}
		}
		if limit := c.maxCustomDomains(); n >= limit {
			return ar.InvalidRequest("service %s has %d custom domains, the most a service can have; disassociate one first", svc.Name, limit)
		}
		d.CreatedAt = c.now()
		d.UpdatedAt = d.CreatedAt
		if err := tx.PutCustomDomain(d); err != nil {
			return err
		}
		out = customDomainDescription(d, svc.Host)
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.wake()
	return &ar.AssociateCustomDomainResponse{DNSTarget: svc.Host, ServiceArn: svc.ARN, CustomDomain: &out,
		VpcDNSTargets: []ar.VpcDNSTarget{}}, nil
}

func (c *Control) maxCustomDomains() int {
	if c.cfg.MaxCustomDomains > 0 {
		return c.cfg.MaxCustomDomains
	}
	return defaultMaxCustomDomains
}

// checkDomainTarget refuses services that can't take a domain. A service
// that is deploying, updating or resuming (OPERATION_IN_PROGRESS) can: the
// domain waits for its certificate meanwhile, and App Runner's console
// offers "Link domain" during deployments too. A service being deleted, or
// paused, failed or deleted, can't.
func checkDomainTarget(tx *store.Tx, svc store.Service) error {
	switch svc.Status {
	case ar.ServiceStatusRunning:
		return nil
	case ar.ServiceStatusOperationInProgress:
		ops, err := tx.UnfinishedOperationsOf(svc.ARN)
		if err != nil {
			return err
		}
		for _, op := range ops {
			if op.Type == ar.OperationTypeDeleteService {
				return ar.InvalidState("service %s is being deleted", svc.Name)
			}
		}
		return nil
	}
	return ar.InvalidState("service %s is %s; custom domains can be associated only when it is RUNNING or OPERATION_IN_PROGRESS",
		svc.Name, svc.Status)
}

// refuseOverlap fails when association d would serve a name that o serves
// already (names are compared with their www forms); svcName names d's
// service.
func refuseOverlap(d, o store.CustomDomain, svcName string) error {
	for _, n := range domainNames(d) {
		for _, m := range domainNames(o) {
			if n != m {
				continue
			}
			switch {
			case o.Status == store.DomainDeleting:
				return ar.InvalidRequest("%s is being disassociated from service %s; associate it again once that is done", n, o.ServiceARN)
			case o.ServiceARN != d.ServiceARN:
				return ar.InvalidRequest("%s is already associated with another service: %s", n, o.ServiceARN)
			case o.Name == d.Name:
				return ar.InvalidRequest("%s is already associated with service %s", d.Name, svcName)
			default:
				return ar.InvalidRequest("%s is already associated with service %s, as part of %s", n, svcName, o.Name)
			}
		}
	}
	return nil
}

// DescribeCustomDomains describes a service's custom domains in the order
// they were associated.
func (c *Control) DescribeCustomDomains(ctx context.Context, in *ar.DescribeCustomDomainsRequest) (*ar.DescribeCustomDomainsResponse, error) {
	var (
		svc     store.Service
		domains []store.CustomDomain
	)
	err := c.store.View(ctx, func(tx *store.Tx) (err error) {
		if svc, err = service(tx, in.ServiceArn); err != nil {
			return err
		}
		domains, err = tx.CustomDomains(svc.ARN)
		return err
	})
	if err != nil {
		return nil, err
	}
	max := in.MaxResults
	if max == nil {
		// Without MaxResults, all of them: the model says so, and the aws
		// CLI has no paginator for this operation to follow NextToken.
		max = ptr(int64(max1(len(domains))))
	}
	page, next, err := paginate(domains, in.NextToken, max)
	if err != nil {
		return nil, err
	}
	out := &ar.DescribeCustomDomainsResponse{DNSTarget: svc.Host, ServiceArn: svc.ARN,
		CustomDomains: []ar.CustomDomain{}, VpcDNSTargets: []ar.VpcDNSTarget{}, NextToken: next}
	for _, d := range page {
		out.CustomDomains = append(out.CustomDomains, customDomainDescription(d, svc.Host))
	}
	return out, nil
}

// DisassociateCustomDomain marks a service's custom domain for the engine
// to stop serving and forget.
func (c *Control) DisassociateCustomDomain(ctx context.Context, in *ar.DisassociateCustomDomainRequest) (*ar.DisassociateCustomDomainResponse, error) {
	name := normalizeDomain(in.DomainName)
	var (
		out ar.CustomDomain
		svc store.Service
	)
	err := c.store.Update(ctx, func(tx *store.Tx) (err error) {
		if svc, err = service(tx, in.ServiceArn); err != nil {
			return err
		}
		d, err := tx.CustomDomain(name)
		if errors.Is(err, store.ErrNotFound) || (err == nil && d.ServiceARN != svc.ARN) {
			return ar.NotFound("Custom domain %s is not associated with service %s", name, svc.Name)
		}
		if err != nil {
			return err
		}
		if d.Status == store.DomainDeleting {
			return ar.InvalidState("custom domain %s is being disassociated already", name)
		}
		d.Status, d.Reason, d.UpdatedAt = store.DomainDeleting, "", c.now()
		if err := tx.PutCustomDomain(d); err != nil {
			return err
		}
		out = customDomainDescription(d, svc.Host)
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.wake()
	return &ar.DisassociateCustomDomainResponse{DNSTarget: svc.Host, ServiceArn: svc.ARN, CustomDomain: &out,
		VpcDNSTargets: []ar.VpcDNSTarget{}}, nil
}
