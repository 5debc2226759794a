package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

// The Domains tab: a service's custom domains as DescribeCustomDomains
// describes them, with the store's reason for each status, the DNS
// records to create, and AssociateCustomDomain and
// DisassociateCustomDomain behind its forms.

// domainView is a custom domain as the Domains tab shows it.
type domainView struct {
	Name   string
	WWW    bool
	Status string // lower case, one of the store.Domain* constants
	// Reason says why the domain failed or what it waits for; the API has
	// no member for it, so it comes from the store.
	Reason  string
	Records []recordView
}

// Deleting reports whether the domain is being disassociated, which
// leaves nothing to do with it.
func (d domainView) Deleting() bool { return d.Status == store.DomainDeleting }

// recordView is one DNS record to create.
type recordView struct {
	Name, Type, Value, Status string
}

// domainForm is the associate form as typed.
type domainForm struct {
	Name string
	WWW  bool
}

// domainsData is what the Domains tab shows besides the service.
type domainsData struct {
	Domains []domainView
	// Target is the host every record points at (DNSTarget).
	Target string
	Form   domainForm
	// Disassociate is the domain whose disassociation waits for the typed
	// confirmation ("" shows no confirmation).
	Disassociate string
}

// Records lists the records of the domains being associated or served;
// a domain being disassociated needs none.
func (d domainsData) Records() []recordView {
	var out []recordView
	for _, dom := range d.Domains {
		if !dom.Deleting() {
			out = append(out, dom.Records...)
		}
	}
	return out
}

// find returns the listed domain of that name.
func (d domainsData) find(name string) (domainView, bool) {
	for _, dom := range d.Domains {
		if dom.Name == name {
			return dom, true
		}
	}
	return domainView{}, false
}

// domains loads the Domains tab: every page of DescribeCustomDomains, and
// the reasons from the store. A deleted service has none.
func (c *Console) domains(ctx context.Context, svc store.Service) (domainsData, error) {
	d := domainsData{Target: svc.Host, Form: domainForm{WWW: true}}
	if svc.Status == ar.ServiceStatusDeleted {
		return d, nil
	}
	var described []ar.CustomDomain
	req := &ar.DescribeCustomDomainsRequest{ServiceArn: svc.ARN}
	for {
		out, err := c.ctl.DescribeCustomDomains(ctx, req)
		var ae *ar.Error
		if errors.As(err, &ae) && ae.Code == ar.CodeResourceNotFound {
			// Deleted since it was loaded.
			return d, nil
		}
		if err != nil {
			return d, err
		}
		d.Target = out.DNSTarget
		described = append(described, out.CustomDomains...)
		if out.NextToken == nil || *out.NextToken == "" {
			break
		}
		req.NextToken = out.NextToken
	}
	reasons := map[string]string{}
	if err := c.store.View(ctx, func(tx *store.Tx) error {
		stored, err := tx.CustomDomains(svc.ARN)
		for _, s := range stored {
			reasons[s.Name] = s.Reason
		}
		return err
	}); err != nil {
		return d, err
	}
	for _, cd := range described {
		v := domainView{Name: cd.DomainName, WWW: cd.EnableWWWSubdomain, Status: cd.Status, Reason: reasons[cd.DomainName]}
		for _, r := range cd.CertificateValidationRecords {
			v.Records = append(v.Records, recordView{Name: deref(r.Name), Type: deref(r.Type), Value: deref(r.Value), Status: deref(r.Status)})
		}
		d.Domains = append(d.Domains, v)
	}
	return d, nil
}

// domainFlash is the banner after associating or disassociating name;
// it only reports what the list shows, so a crafted link can't make the
// page claim an association that is not there.
func domainFlash(d domainsData, q url.Values) string {
	if name := q.Get("associated"); name != "" {
		if dom, ok := d.find(name); ok && !dom.Deleting() {
			return "Associated " + name + ". Create the DNS records below; Slipway obtains the certificate once they point here."
		}
	}
	if name := q.Get("disassociated"); name != "" {
		switch dom, ok := d.find(name); {
		case !ok:
			return "Disassociated " + name + "."
		case dom.Deleting():
			return "Disassociating " + name + ": Slipway stops serving it and removes its certificate."
		}
	}
	return ""
}

// associateDomain runs AssociateCustomDomain with the form's name and www
// choice. A rejected form comes back as typed, with the API's message.
func (c *Console) associateDomain(w http.ResponseWriter, r *http.Request) {
	svc, ok, err := c.loadService(r.Context(), r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if !ok {
		c.notFound(w, r)
		return
	}
	f := domainForm{Name: strings.TrimSpace(r.PostFormValue("domain_name")), WWW: r.PostFormValue("www") == "on"}
	out, err := call(r.Context(), &ar.AssociateCustomDomainRequest{ServiceArn: svc.ARN, DomainName: f.Name, EnableWWWSubdomain: &f.WWW},
		c.ctl.AssociateCustomDomain)
	if err != nil {
		c.domainsError(w, r, svc, err, func(d *domainsData) { d.Form = f })
		return
	}
	http.Redirect(w, r, servicePath(svc.ID, "domains")+"?associated="+url.QueryEscape(out.CustomDomain.DomainName), http.StatusSeeOther)
}

// disassociateDomain runs DisassociateCustomDomain once the domain's name
// is typed into the confirmation, as deleting a service needs the
// service's; the script only mirrors this check.
func (c *Console) disassociateDomain(w http.ResponseWriter, r *http.Request) {
	svc, ok, err := c.loadService(r.Context(), r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if !ok {
		c.notFound(w, r)
		return
	}
	name := strings.TrimSpace(r.PostFormValue("domain_name"))
	confirm := strings.TrimSpace(r.PostFormValue("confirm"))
	keep := func(d *domainsData) { d.Disassociate = name }
	if confirm != name || name == "" {
		c.domainsError(w, r, svc, ar.InvalidRequest("To disassociate the domain, type its name, %s, into the confirmation box.", name), keep)
		return
	}
	if _, err := call(r.Context(), &ar.DisassociateCustomDomainRequest{ServiceArn: svc.ARN, DomainName: name},
		c.ctl.DisassociateCustomDomain); err != nil {
		c.domainsError(w, r, svc, err, keep)
		return
	}
	http.Redirect(w, r, servicePath(svc.ID, "domains")+"?disassociated="+url.QueryEscape(name), http.StatusSeeOther)
}

// domainsError shows the Domains tab again with the error; keep puts back
// what the user was doing.
func (c *Console) domainsError(w http.ResponseWriter, r *http.Request, svc store.Service, err error, keep func(*domainsData)) {
	status, msg := c.errorMessage(err)
	p, lerr := c.servicePageData(r.Context(), r, svc, "domains")
	if lerr != nil {
		c.fail(w, r, lerr)
		return
	}
	d := p.Data.(serviceData)
	keep(&d.Domains)
	if _, ok := d.Domains.find(d.Domains.Disassociate); !ok {
		d.Domains.Disassociate = ""
	}
	p.Data, p.Error = d, msg
	c.render(w, status, "service", p)
}

// CanAssociate reports whether the control plane takes new custom domains
// for the service in its status, so the form can say so before it is sent.
func (s serviceView) CanAssociate() bool {
	return s.Status == ar.ServiceStatusRunning || s.Status == ar.ServiceStatusOperationInProgress
}
