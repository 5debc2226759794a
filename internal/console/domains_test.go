package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

// runningService creates a service and ends its create, as the engine
// would.
func (e *env) runningService(name string) store.Service {
	e.t.Helper()
	svc := e.createService(name)
	e.finish(svc.ARN, ar.OperationStatusSucceeded, "", ar.ServiceStatusRunning, "aaaa")
	return e.service(svc.ARN)
}

// domain reads a custom domain from the store; ok is false if there is
// none of that name.
func (e *env) domain(name string) (d store.CustomDomain, ok bool) {
	e.t.Helper()
	err := e.st.View(context.Background(), func(tx *store.Tx) (err error) {
		d, err = tx.CustomDomain(name)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return d, false
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return d, true
}

// setDomain moves a custom domain along as the engine would.
func (e *env) setDomain(name, status, certStatus, reason string) {
	e.t.Helper()
	err := e.st.Update(context.Background(), func(tx *store.Tx) error {
		d, err := tx.CustomDomain(name)
		if err != nil {
			return err
		}
		d.Status, d.CertStatus, d.Reason, d.UpdatedAt = status, certStatus, reason, time.Now().UTC()
		return tx.PutCustomDomain(d)
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

func TestDomainsTabAssociates(t *testing.T) {
	e := newEnv(t)
	svc := e.runningService("shop")
	tab := "/console/services/" + svc.ID + "/domains"

	body := e.get(tab).Body.String()
	wantContains(t, body, `aria-current="page">Domains</a>`, "No custom domains yet", `name="www" id="www" checked`,
		`id="associate" type="submit">`, `id="domains" data-live`, `id="dns-records" data-live`, "<code>"+svc.Host+"</code>")

	// Names are stored as DNS compares them; the flash and the row use
	// that form.
	rec := e.post(tab, url.Values{"domain_name": {" Shop.Example.com. "}, "www": {"on"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != tab+"?associated=shop.example.com" {
		t.Fatalf("associate: %d to %q\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	if d, ok := e.domain("shop.example.com"); !ok || !d.WWW || d.ServiceARN != svc.ARN {
		t.Fatalf("stored domain %+v (found %v), want shop.example.com with www on the service", d, ok)
	}
	body = e.get(rec.Header().Get("Location")).Body.String()
	wantContains(t, body, "Associated shop.example.com. Create the DNS records below",
		`data-domain="shop.example.com" data-status="creating"`, "<code>www.shop.example.com</code>", "Creating",
		"The records appear here once Slipway requests")

	// Without the checkbox (an unchecked box sends nothing), no www.
	if rec := e.post(tab, url.Values{"domain_name": {"api.example.org"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("associate without www: %d\n%s", rec.Code, rec.Body)
	}
	if d, _ := e.domain("api.example.org"); d.WWW {
		t.Errorf("api.example.org was associated with www, want without")
	}

	// The engine asks for the certificates: the records to create appear,
	// with the reason from the store.
	e.setDomain("shop.example.com", store.DomainPendingValidation, store.CertPendingValidation, "waiting for shop.example.com to resolve here")
	e.setDomain("api.example.org", store.DomainActive, store.CertSuccess, "")
	body = e.get(tab).Body.String()
	wantContains(t, body, "Pending certificate DNS validation", "waiting for shop.example.com to resolve here",
		`<span class="badge ok">Active</span>`, `<span class="badge busy">Pending validation</span>`, `<span class="badge ok">Success</span>`)
	for _, name := range []string{"shop.example.com", "www.shop.example.com", "api.example.org"} {
		row := fmt.Sprintf(`<tr data-record="%s">
      <td data-label="Name"><code>%s</code></td>
      <td data-label="Type">CNAME</td>
      <td data-label="Value"><code>%s</code></td>`, name, name, svc.Host)
		if !strings.Contains(body, row) {
			t.Errorf("no CNAME record %s -> %s", name, svc.Host)
		}
	}
	if strings.Contains(body, `data-record="www.api.example.org"`) {
		t.Errorf("a record for www.api.example.org, which was associated without www")
	}
	// Domains are listed in the order they were associated.
	if i, j := strings.Index(body, `data-domain="shop.example.com"`), strings.Index(body, `data-domain="api.example.org"`); i < 0 || i > j {
		t.Errorf("domains out of association order")
	}

	// A link can't make the page claim an association that is not there.
	if body := e.get(tab + "?associated=evil.example.net").Body.String(); strings.Contains(body, `class="flash"`) {
		t.Errorf("flash for a domain that is not associated")
	}
}

func TestDomainsTabShowsControlPlaneErrors(t *testing.T) {
	e := newEnv(t)
	svc := e.runningService("errors")
	tab := "/console/services/" + svc.ID + "/domains"
	for _, c := range []struct {
		name, domain string
		www          bool
		code         int
		want         string
	}{
		{"wildcard", "*.example.com", false, http.StatusBadRequest, "wildcard domains need DNS-01 validation"},
		{"one label", "localhost", true, http.StatusBadRequest, "needs at least two labels"},
		{"model pattern", "bad name.example.com", true, http.StatusBadRequest, "1 validation error detected"},
		{"empty", "", true, http.StatusBadRequest, "domainName"},
		{"own domain", "x.us-east-1.localhost", true, http.StatusBadRequest, "in Slipway&#39;s own domain"},
	} {
		form := url.Values{"domain_name": {c.domain}}
		if c.www {
			form.Set("www", "on")
		}
		rec := e.post(tab, form)
		body := rec.Body.String()
		if rec.Code != c.code || !strings.Contains(body, c.want) || !strings.Contains(body, `role="alert"`) {
			t.Errorf("%s: status %d, want %d and an alert with %q\n%s", c.name, rec.Code, c.code, c.want, body)
		}
		// The form comes back as typed.
		if !strings.Contains(body, `id="domain_name" name="domain_name" value="`+templateEscape(c.domain)+`"`) ||
			strings.Contains(body, `name="www" id="www" checked`) != c.www {
			t.Errorf("%s: the form does not come back as typed", c.name)
		}
	}

	if rec := e.post(tab, url.Values{"domain_name": {"taken.example.com"}, "www": {"on"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("associate: %d\n%s", rec.Code, rec.Body)
	}
	rec := e.post(tab, url.Values{"domain_name": {"www.taken.example.com"}})
	wantContains(t, rec.Body.String(), "www.taken.example.com is already associated with service errors, as part of taken.example.com")

	// The quota: the control plane's default is 20 a service. Many
	// domains also take several DescribeCustomDomains pages.
	for i := 1; i < 20; i++ {
		if rec := e.post(tab, url.Values{"domain_name": {fmt.Sprintf("d%d.example.com", i)}}); rec.Code != http.StatusSeeOther {
			t.Fatalf("associate d%d: %d\n%s", i, rec.Code, rec.Body)
		}
	}
	rec = e.post(tab, url.Values{"domain_name": {"one-too-many.example.com"}})
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "has 20 custom domains, the most a service can have") {
		t.Errorf("over the quota: %d, want 400 with the quota message", rec.Code)
	}
	if got := strings.Count(rec.Body.String(), "<tr data-domain="); got != 20 {
		t.Errorf("the tab lists %d domains, want all 20", got)
	}

	// A paused service takes none: the button says so, and the API's
	// refusal shows if the form is sent anyway.
	paused := e.runningService("paused")
	e.finish(paused.ARN, ar.OperationStatusSucceeded, "", ar.ServiceStatusPaused, "")
	ptab := "/console/services/" + paused.ID + "/domains"
	wantContains(t, e.get(ptab).Body.String(), `id="associate" type="submit" disabled`, "it is Paused")
	rec = e.post(ptab, url.Values{"domain_name": {"paused.example.com"}})
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "service paused is PAUSED") {
		t.Errorf("associate on a paused service: %d, want 409 with the API's message\n%s", rec.Code, rec.Body)
	}
}

// templateEscape is how html/template writes s into an attribute value.
func templateEscape(s string) string {
	return strings.NewReplacer(`&`, "&amp;", `'`, "&#39;", `"`, "&#34;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func TestDomainsTabDisassociates(t *testing.T) {
	e := newEnv(t)
	svc := e.runningService("unlink")
	tab := "/console/services/" + svc.ID + "/domains"
	if rec := e.post(tab, url.Values{"domain_name": {"old.example.com"}, "www": {"on"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("associate: %d\n%s", rec.Code, rec.Body)
	}
	e.setDomain("old.example.com", store.DomainActive, store.CertSuccess, "")

	// The row's button opens the typed confirmation, outside the live list.
	body := e.get(tab).Body.String()
	link := `href="/console/services/` + svc.ID + `/domains?disassociate=old.example.com#disassociate"`
	wantContains(t, body, link)
	if strings.Contains(body, `id="disassociate"`) {
		t.Errorf("a confirmation before the button was pressed")
	}
	body = e.get(tab + "?disassociate=old.example.com").Body.String()
	wantContains(t, body, `id="disassociate"`, `class="delete-form" data-name="old.example.com"`,
		`name="domain_name" value="old.example.com"`, "Type <strong>old.example.com</strong> to confirm")
	if i, j := strings.Index(body, `id="disassociate"`), strings.Index(body, `id="dns-records"`); i < strings.Index(body, "</section>") || i > j {
		t.Errorf("the confirmation is not between the live list and the records")
	}
	// Nothing to confirm for a domain that is not listed.
	if body := e.get(tab + "?disassociate=other.example.com").Body.String(); strings.Contains(body, `id="disassociate"`) {
		t.Errorf("a confirmation for a domain that is not associated")
	}

	path := tab + "/disassociate"
	rec := e.post(path, url.Values{"domain_name": {"old.example.com"}, "confirm": {"old"}})
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "type its name, old.example.com, into the confirmation box") ||
		!strings.Contains(rec.Body.String(), `data-name="old.example.com"`) {
		t.Errorf("a wrong confirmation: %d, want 400 asking for the name with the confirmation still open", rec.Code)
	}
	if d, _ := e.domain("old.example.com"); d.Status != store.DomainActive {
		t.Fatalf("a wrong confirmation disassociated the domain: %s", d.Status)
	}

	rec = e.post(path, url.Values{"domain_name": {"old.example.com"}, "confirm": {"old.example.com"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != tab+"?disassociated=old.example.com" {
		t.Fatalf("disassociate: %d to %q\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	if d, _ := e.domain("old.example.com"); d.Status != store.DomainDeleting {
		t.Fatalf("after disassociating, status %s, want deleting", d.Status)
	}
	body = e.get(rec.Header().Get("Location")).Body.String()
	wantContains(t, body, "Disassociating old.example.com", `data-status="deleting"`, "Deleting")
	if strings.Contains(body, link) || strings.Contains(body, `data-record="old.example.com"`) {
		t.Errorf("a domain being disassociated still offers its button or lists records to create")
	}

	// Again: the API's refusal, shown as any other error.
	rec = e.post(path, url.Values{"domain_name": {"old.example.com"}, "confirm": {"old.example.com"}})
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "being disassociated already") {
		t.Errorf("disassociating twice: %d, want 409 with the API's message", rec.Code)
	}
	rec = e.post(path, url.Values{"domain_name": {"never.example.com"}, "confirm": {"never.example.com"}})
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "Custom domain never.example.com is not associated with service unlink") {
		t.Errorf("disassociating an unknown domain: %d, want 404 with the API's message", rec.Code)
	}

	// The engine forgets it.
	err := e.st.Update(context.Background(), func(tx *store.Tx) error { return tx.DeleteCustomDomain("old.example.com") })
	if err != nil {
		t.Fatal(err)
	}
	wantContains(t, e.get(tab+"?disassociated=old.example.com").Body.String(), "Disassociated old.example.com.", "No custom domains yet")
}

func TestDomainsNeedSessionAndCSRF(t *testing.T) {
	e := newEnv(t)
	svc := e.runningService("guarded")
	tab := "/console/services/" + svc.ID + "/domains"
	for _, c := range []struct {
		what string
		form url.Values
		anon bool
		want int
	}{
		{"no token", url.Values{}, false, http.StatusForbidden},
		{"forged token", url.Values{csrfField: {"forged"}}, false, http.StatusForbidden},
		{"no session", url.Values{csrfField: {e.csrf}}, true, http.StatusUnauthorized},
	} {
		c.form.Set("domain_name", "forged.example.com")
		c.form.Set("confirm", "forged.example.com")
		if rec := e.do("POST", tab, c.form, c.anon); rec.Code != c.want {
			t.Errorf("associate with %s: %d, want %d", c.what, rec.Code, c.want)
		}
		if _, ok := e.domain("forged.example.com"); ok {
			t.Fatalf("associate with %s associated the domain", c.what)
		}
	}
	if rec := e.do("GET", tab, nil, true); rec.Code != http.StatusSeeOther || strings.Contains(rec.Body.String(), "guarded") {
		t.Errorf("the tab without a session: %d, want a redirect to sign-in", rec.Code)
	}

	if rec := e.post(tab, url.Values{"domain_name": {"kept.example.com"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("associate: %d", rec.Code)
	}
	for _, c := range []struct {
		what string
		form url.Values
		anon bool
		want int
	}{
		{"no token", url.Values{}, false, http.StatusForbidden},
		{"forged token", url.Values{csrfField: {"forged"}}, false, http.StatusForbidden},
		{"no session", url.Values{csrfField: {e.csrf}}, true, http.StatusUnauthorized},
	} {
		c.form.Set("domain_name", "kept.example.com")
		c.form.Set("confirm", "kept.example.com")
		if rec := e.do("POST", tab+"/disassociate", c.form, c.anon); rec.Code != c.want {
			t.Errorf("disassociate with %s: %d, want %d", c.what, rec.Code, c.want)
		}
	}
	if d, _ := e.domain("kept.example.com"); d.Status != store.DomainCreating {
		t.Errorf("forged disassociations changed the domain to %s", d.Status)
	}
}

func TestDomainsTabOfDeletedService(t *testing.T) {
	e := newEnv(t)
	svc := e.runningService("gone")
	if _, err := e.ctl.AssociateCustomDomain(context.Background(), &ar.AssociateCustomDomainRequest{ServiceArn: svc.ARN, DomainName: "gone.example.com"}); err != nil {
		t.Fatal(err)
	}
	e.finish(svc.ARN, ar.OperationStatusSucceeded, "", ar.ServiceStatusDeleted, "")
	rec := e.get("/console/services/" + svc.ID + "/domains")
	if rec.Code != http.StatusOK {
		t.Fatalf("domains of a deleted service: %d\n%s", rec.Code, rec.Body)
	}
	wantContains(t, rec.Body.String(), "Deleted", "No custom domains yet", `id="associate" type="submit" disabled`)
}
