package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/control"
	"github.com/slipwayhq/slipway/internal/store"
)

// Every action validates the generated request shape first and then calls
// the control plane, exactly as the API does, so the console shows the
// API's messages and writes through the API's one path.

// serviceAction runs a state-changing call on the service in the URL and
// redirects to the service page with the operation it started.
func (c *Console) serviceAction(w http.ResponseWriter, r *http.Request, tab string,
	call func(svc store.Service) (opID string, err error)) {
	svc, ok, err := c.loadService(r.Context(), r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if !ok {
		c.notFound(w, r)
		return
	}
	opID, err := call(svc)
	if err != nil {
		c.actionError(w, r, svc, tab, err)
		return
	}
	http.Redirect(w, r, servicePath(svc.ID, tab)+"?op="+url.QueryEscape(opID), http.StatusSeeOther)
}

// actionError shows the service page again with the error.
func (c *Console) actionError(w http.ResponseWriter, r *http.Request, svc store.Service, tab string, err error) {
	status, msg := c.errorMessage(err)
	p, lerr := c.servicePageData(r.Context(), r, svc, tab)
	if lerr != nil {
		c.fail(w, r, lerr)
		return
	}
	p.Error = msg
	c.render(w, status, "service", p)
}

func servicePath(id, tab string) string {
	p := "/console/services/" + url.PathEscape(id)
	if tab != "" && tab != "overview" {
		p += "/" + tab
	}
	return p
}

// call validates in as the API does, so the console shows the API's
// messages, and runs op on the control plane with the console as trigger.
func call[I interface{ Validate(string) error }, O any](ctx context.Context, in I, op func(context.Context, I) (O, error)) (O, error) {
	if err := in.Validate(""); err != nil {
		var zero O
		return zero, err
	}
	return op(control.WithTrigger(ctx, "console"), in)
}

func (c *Console) deploy(w http.ResponseWriter, r *http.Request) {
	c.serviceAction(w, r, "overview", func(svc store.Service) (string, error) {
		out, err := call(r.Context(), &ar.StartDeploymentRequest{ServiceArn: svc.ARN}, c.ctl.StartDeployment)
		if err != nil {
			return "", err
		}
		return out.OperationId, nil
	})
}

func (c *Console) pause(w http.ResponseWriter, r *http.Request) {
	c.serviceAction(w, r, "overview", func(svc store.Service) (string, error) {
		out, err := call(r.Context(), &ar.PauseServiceRequest{ServiceArn: svc.ARN}, c.ctl.PauseService)
		if err != nil {
			return "", err
		}
		return deref(out.OperationId), nil
	})
}

func (c *Console) resume(w http.ResponseWriter, r *http.Request) {
	c.serviceAction(w, r, "overview", func(svc store.Service) (string, error) {
		out, err := call(r.Context(), &ar.ResumeServiceRequest{ServiceArn: svc.ARN}, c.ctl.ResumeService)
		if err != nil {
			return "", err
		}
		return deref(out.OperationId), nil
	})
}

// deleteService needs the service's name typed into the confirmation, as
// App Runner's console does; the script only mirrors this check.
func (c *Console) deleteService(w http.ResponseWriter, r *http.Request) {
	c.serviceAction(w, r, "overview", func(svc store.Service) (string, error) {
		if strings.TrimSpace(r.PostFormValue("confirm")) != svc.Name {
			return "", ar.InvalidRequest("To delete the service, type its name, %s, into the confirmation box.", svc.Name)
		}
		out, err := call(r.Context(), &ar.DeleteServiceRequest{ServiceArn: svc.ARN}, c.ctl.DeleteService)
		if err != nil {
			return "", err
		}
		return out.OperationId, nil
	})
}

func (c *Console) create(w http.ResponseWriter, r *http.Request) {
	f := parseServiceForm(r, "")
	in, err := f.createRequest()
	var out *ar.CreateServiceResponse
	if err == nil {
		out, err = call(r.Context(), in, c.ctl.CreateService)
	}
	if err != nil {
		status, msg := c.errorMessage(err)
		c.renderCreate(w, r, status, f, msg)
		return
	}
	http.Redirect(w, r, servicePath(out.Service.ServiceId, "")+"?op="+url.QueryEscape(out.OperationId), http.StatusSeeOther)
}

// updateConfig saves the configuration form with UpdateService and shows
// the resulting operation in Activity. A rejected form comes back as typed.
func (c *Console) updateConfig(w http.ResponseWriter, r *http.Request) {
	svc, ok, err := c.loadService(r.Context(), r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if !ok {
		c.notFound(w, r)
		return
	}
	// The kind of source and the repository are fixed for a service (the
	// form shows them read-only), so they come from the service.
	cur := formFromConfig(svc.Name, svc.Config)
	f := parseServiceForm(r, cur.Kind)
	f.Name = svc.Name
	if f.Kind == "code" {
		f.RepositoryURL = cur.RepositoryURL
	}
	in, err := f.updateRequest(svc)
	var out *ar.UpdateServiceResponse
	if err == nil {
		out, err = call(r.Context(), in, c.ctl.UpdateService)
	}
	if err != nil {
		status, msg := c.errorMessage(err)
		p, lerr := c.servicePageData(r.Context(), r, svc, "configuration")
		if lerr != nil {
			c.fail(w, r, lerr)
			return
		}
		d := p.Data.(serviceData)
		d.Form = f
		p.Data, p.Error = d, msg
		c.render(w, status, "service", p)
		return
	}
	http.Redirect(w, r, servicePath(svc.ID, "activity")+"?op="+url.QueryEscape(out.OperationId), http.StatusSeeOther)
}
