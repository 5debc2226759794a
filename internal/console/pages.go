package console

import (
	"context"
	"net/http"
	"slices"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

func (c *Console) servicesPage(w http.ResponseWriter, r *http.Request) {
	svcs, err := c.listServices(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, http.StatusOK, "services", newPage(r, "Services", svcs))
}

// tabs of the service page, in order.
var tabs = []string{"overview", "activity", "logs", "configuration", "domains"}

// serviceData is the service page.
type serviceData struct {
	Service serviceView
	Tab     string
	Tabs    []string
	// Activity is the whole list on the Activity tab, the latest few on
	// Overview.
	Activity []activityItem
	// Ops and LogOp are the Logs tab's operation filter.
	Ops   []store.Operation
	LogOp string
	// Form, ASCs and the choices are the Configuration tab.
	Form    serviceForm
	ASCs    []ar.AutoScalingConfigurationSummary
	Choices formChoices
	// Confirm is what was typed into the delete confirmation.
	Confirm string
	// Domains is the Domains tab.
	Domains domainsData
}

// formChoices are the options of the forms' selects.
type formChoices struct {
	Runtimes, HealthProtocols, ImageTypes []string
	CPUs, Memories                        [][2]string
}

var choices = formChoices{runtimes, healthProtocols, imageTypes, cpuChoices, memoryChoices}

func (c *Console) servicePage(w http.ResponseWriter, r *http.Request) {
	tab := r.PathValue("tab")
	if tab == "" {
		tab = "overview"
	}
	if !slices.Contains(tabs, tab) {
		http.NotFound(w, r)
		return
	}
	svc, ok, err := c.loadService(r.Context(), r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if !ok {
		c.notFound(w, r)
		return
	}
	p, err := c.servicePageData(r.Context(), r, svc, tab)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if id := r.URL.Query().Get("op"); id != "" {
		p.Flash = c.startedMessage(r.Context(), svc.ARN, id)
	}
	if tab == "domains" {
		p.Flash = domainFlash(p.Data.(serviceData).Domains, r.URL.Query())
	}
	c.render(w, http.StatusOK, "service", p)
}

// servicePageData loads what a tab shows.
func (c *Console) servicePageData(ctx context.Context, r *http.Request, svc store.Service, tab string) (page, error) {
	d := serviceData{Service: c.viewService(svc), Tab: tab, Tabs: tabs, Choices: choices}
	var err error
	switch tab {
	case "overview":
		d.Activity, err = c.activity(ctx, svc, 5)
	case "activity":
		d.Activity, err = c.activity(ctx, svc, 0)
	case "logs":
		d.LogOp = r.URL.Query().Get("operation")
		d.Ops, err = c.operations(ctx, svc.ARN)
	case "configuration":
		d.Form = formFromConfig(svc.Name, svc.Config)
		d.ASCs, err = c.autoScalingConfigurations(ctx)
	case "domains":
		d.Domains, err = c.domains(ctx, svc)
		// Disassociate buttons link here; the confirmation is a form of
		// its own, outside the live list, so typing is never lost.
		if dom, ok := d.Domains.find(r.URL.Query().Get("disassociate")); ok && !dom.Deleting() {
			d.Domains.Disassociate = dom.Name
		}
	}
	p := newPage(r, svc.Name, d)
	// A configuration form being edited must not be replaced under the
	// user's hands; its status line updates with the rest of the page.
	return p, err
}

func (c *Console) autoScalingConfigurations(ctx context.Context) ([]ar.AutoScalingConfigurationSummary, error) {
	var out []ar.AutoScalingConfigurationSummary
	req := &ar.ListAutoScalingConfigurationsRequest{LatestOnly: true}
	for {
		resp, err := c.ctl.ListAutoScalingConfigurations(ctx, req)
		if err != nil {
			return nil, err
		}
		out = append(out, resp.AutoScalingConfigurationSummaryList...)
		if resp.NextToken == nil || *resp.NextToken == "" {
			return out, nil
		}
		req.NextToken = resp.NextToken
	}
}

// startedMessage is the banner after an action started an operation.
func (c *Console) startedMessage(ctx context.Context, arn, opID string) string {
	ops, err := c.operations(ctx, arn)
	if err != nil {
		return ""
	}
	for _, o := range ops {
		if o.ID == opID {
			return opTypeLabel(o.Type) + " started: operation " + o.ID + "."
		}
	}
	return ""
}

func (c *Console) createPage(w http.ResponseWriter, r *http.Request) {
	c.renderCreate(w, r, http.StatusOK, newServiceForm(), "")
}

func (c *Console) renderCreate(w http.ResponseWriter, r *http.Request, status int, f serviceForm, msg string) {
	ascs, err := c.autoScalingConfigurations(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p := newPage(r, "Create service", serviceData{Form: f, ASCs: ascs, Choices: choices})
	p.Live, p.Error = false, msg
	c.render(w, status, "create", p)
}

func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	p := newPage(r, "Not found", nil)
	p.Live, p.Error = false, "No such service."
	c.render(w, http.StatusNotFound, "error", p)
}

// fail shows an error page for an error while reading.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := c.errorMessage(err)
	p := newPage(r, "Error", nil)
	p.Live, p.Error = false, msg
	c.render(w, status, "error", p)
}
