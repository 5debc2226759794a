package console

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"reflect"
	"strings"
	"time"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

// page is what every template gets.
type page struct {
	Title string
	CSRF  string
	// SignedIn shows the navigation and sign-out.
	SignedIn bool
	// Cluster shows the Cluster page in the navigation; render sets it.
	Cluster bool
	// Live subscribes the page to server-sent change events.
	Live bool
	// Poll, for a page showing what the store does not hold (the
	// cluster's nodes and tasks), makes the feed also send an event that
	// often.
	Poll  time.Duration
	Flash string
	Error string
	Data  any
}

// pages holds one template set per page, each the layout plus the page.
type pages struct {
	byName map[string]*template.Template
}

var pageNames = []string{"signin", "services", "service", "create", "cluster", "error"}

func mustParsePages() *pages {
	base := template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html"))
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range pageNames {
		t := template.Must(base.Clone())
		files := []string{"templates/" + name + ".html"}
		if name == "service" || name == "create" {
			files = append(files, "templates/fields.html")
		}
		if name == "service" {
			files = append(files, "templates/tab_overview.html", "templates/tab_activity.html",
				"templates/tab_logs.html", "templates/tab_configuration.html", "templates/tab_domains.html")
		}
		p.byName[name] = template.Must(t.ParseFS(templateFS, files...))
	}
	return p
}

// render writes a page; it renders into a buffer first so that a template
// error becomes a clean 500 instead of half a page.
func (c *Console) render(w http.ResponseWriter, status int, name string, p page) {
	p.Cluster = c.cluster != nil
	var buf bytes.Buffer
	if err := c.pages.byName[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		c.log.Error("render console page", "page", name, "err", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// newPage starts a page for a signed-in request.
func newPage(r *http.Request, title string, data any) page {
	p := page{Title: title, SignedIn: true, Live: true, Data: data}
	if s := sessionOf(r); s != nil {
		p.CSRF = s.csrf
	}
	return p
}

// errorMessage returns what to show for a failed action and its HTTP
// status: the API's own message for API errors, nothing internal otherwise.
func (c *Console) errorMessage(err error) (int, string) {
	var (
		ve *ar.ValidationError
		ae *ar.Error
	)
	switch {
	case errors.As(err, &ve):
		return http.StatusBadRequest, ve.Error()
	case errors.As(err, &ae):
		switch ae.Code {
		case ar.CodeResourceNotFound:
			return http.StatusNotFound, ae.Message
		case ar.CodeInvalidState:
			return http.StatusConflict, ae.Message
		case ar.CodeInternalServiceError:
			c.log.Error("console action", "err", err)
			return http.StatusInternalServerError, ae.Message
		}
		return http.StatusBadRequest, ae.Message
	}
	c.log.Error("console action", "err", err)
	return http.StatusInternalServerError, "Internal error; the daemon log has the details."
}

var funcs = template.FuncMap{
	"statusLabel":   statusLabel,
	"statusClass":   statusClass,
	"opStatusLabel": opStatusLabel,
	"opStatusClass": opStatusClass,
	"opTypeLabel":   opTypeLabel,
	"short":         short,
	"isoTime":       isoTime,
	"humanTime":     humanTime,
	"duration":      humanDuration,
	"join":          strings.Join,
	"tabLabel":      tabLabel,
	"triggerLabel":  triggerLabel,
	"deref":         derefAny,
	"domainLabel":   domainStatusLabel,
	"domainClass":   domainStatusClass,
	"recordLabel":   recordStatusLabel,
	"recordClass":   recordStatusClass,
	"ansi":          ansiHTML,
	"nodeClass":     nodeStateClass,
	"availClass":    availabilityClass,
	"taskClass":     taskStateClass,
	"healthClass":   healthClass,
}

// triggerLabel says who started an operation.
func triggerLabel(trigger string) string {
	switch trigger {
	case "auto":
		return "automatic deployment"
	case "restart":
		return "daemon restart"
	case "console":
		return "manual, from the console"
	case "", "api":
		return "manual, through the API"
	}
	return trigger
}

func tabLabel(tab string) string {
	if tab == "" {
		return ""
	}
	return strings.ToUpper(tab[:1]) + tab[1:]
}

// derefAny lets templates compare the API shapes' optional members.
func derefAny(v any) any {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer {
		return v
	}
	if rv.IsNil() {
		return reflect.Zero(rv.Type().Elem()).Interface()
	}
	return rv.Elem().Interface()
}

func statusLabel(s string) string {
	switch s {
	case ar.ServiceStatusRunning:
		return "Running"
	case ar.ServiceStatusOperationInProgress:
		return "Operation in progress"
	case ar.ServiceStatusPaused:
		return "Paused"
	case ar.ServiceStatusCreateFailed:
		return "Create failed"
	case ar.ServiceStatusDeleteFailed:
		return "Delete failed"
	case ar.ServiceStatusDeleted:
		return "Deleted"
	}
	return s
}

func statusClass(s string) string {
	switch s {
	case ar.ServiceStatusRunning:
		return "ok"
	case ar.ServiceStatusOperationInProgress:
		return "busy"
	case ar.ServiceStatusCreateFailed, ar.ServiceStatusDeleteFailed:
		return "bad"
	}
	return "idle"
}

// domainStatusLabel names a custom domain's status (lower case, as App
// Runner sends it) the way App Runner's console does.
func domainStatusLabel(s string) string {
	switch s {
	case store.DomainCreating:
		return "Creating"
	case store.DomainPendingValidation:
		return "Pending certificate DNS validation"
	case store.DomainBindingCertificate:
		return "Binding certificate"
	case store.DomainActive:
		return "Active"
	case store.DomainCreateFailed:
		return "Create failed"
	case store.DomainDeleting:
		return "Deleting"
	case store.DomainDeleteFailed:
		return "Delete failed"
	}
	return s
}

func domainStatusClass(s string) string {
	switch s {
	case store.DomainActive:
		return "ok"
	case store.DomainCreateFailed, store.DomainDeleteFailed:
		return "bad"
	}
	return "busy"
}

func recordStatusLabel(s string) string {
	switch s {
	case store.CertPendingValidation:
		return "Pending validation"
	case store.CertSuccess:
		return "Success"
	case store.CertFailed:
		return "Failed"
	}
	return s
}

func recordStatusClass(s string) string {
	switch s {
	case store.CertSuccess:
		return "ok"
	case store.CertFailed:
		return "bad"
	}
	return "busy"
}

func opStatusLabel(s string) string {
	switch s {
	case ar.OperationStatusPending:
		return "Pending"
	case ar.OperationStatusInProgress:
		return "In progress"
	case ar.OperationStatusSucceeded:
		return "Succeeded"
	case ar.OperationStatusFailed:
		return "Failed"
	case ar.OperationStatusRollbackInProgress:
		return "Rolling back"
	case ar.OperationStatusRollbackSucceeded:
		return "Rolled back"
	case ar.OperationStatusRollbackFailed:
		return "Rollback failed"
	}
	return s
}

func opStatusClass(s string) string {
	switch s {
	case ar.OperationStatusSucceeded:
		return "ok"
	case ar.OperationStatusPending, ar.OperationStatusInProgress, ar.OperationStatusRollbackInProgress:
		return "busy"
	}
	return "bad"
}

func opTypeLabel(t string) string {
	switch t {
	case ar.OperationTypeCreateService:
		return "Create service"
	case ar.OperationTypeStartDeployment:
		return "Deployment"
	case ar.OperationTypeUpdateService:
		return "Update service"
	case ar.OperationTypePauseService:
		return "Pause service"
	case ar.OperationTypeResumeService:
		return "Resume service"
	case ar.OperationTypeDeleteService:
		return "Delete service"
	}
	return t
}

// short abbreviates a commit hash or image digest.
func short(rev string) string {
	if d, ok := strings.CutPrefix(rev, "sha256:"); ok {
		rev = d
	}
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}

func isoTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// humanTime is the server-side text of a time; the browser's script
// replaces it with local time.
func humanTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func humanDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return d.Round(time.Second).String()
}
