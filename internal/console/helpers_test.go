package console

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/applog"
	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/control"
	"github.com/slipwayhq/slipway/internal/store"
)

// fakeLogs serves fixed log entries per operation ("" for all).
type fakeLogs map[string][]applog.Entry

func (f fakeLogs) Logs(ctx context.Context, service, operation string, follow bool, fn func(applog.Entry)) error {
	for _, e := range f[operation] {
		fn(e)
	}
	if follow {
		<-ctx.Done()
	}
	return nil
}

type keys map[string]string

func (k keys) Secret(id string) (string, bool) { s, ok := k[id]; return s, ok }

// env is a console over a real store and control plane; no engine runs,
// so tests move services and operations along by writing the store.
type env struct {
	t       *testing.T
	c       *Console
	ctl     *control.Control
	st      *store.Store
	h       http.Handler
	cookie  *http.Cookie
	csrf    string
	logs    fakeLogs
	closeFn func()
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvAt(t, t.TempDir()+"/slipway.db")
}

// newEnvAt is newEnv with the database at path.
func newEnvAt(t *testing.T, path string) *env {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctl := control.New(control.Config{Region: "us-east-1", Account: "000000000000", Domain: "localhost",
		RouterPort: 8080, MaxServices: 10}, st, nil, log)
	if err := ctl.EnsureDefaultAutoScaling(ctx); err != nil {
		t.Fatal(err)
	}
	logs := fakeLogs{}
	c := New(Config{}, ctl, st, logs, keys{"AKIATEST": "s3cret"}, log)
	t.Cleanup(c.Close)
	e := &env{t: t, c: c, ctl: ctl, st: st, h: c.Handler(), logs: logs}
	id, sess, err := c.sessions.create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.cookie = &http.Cookie{Name: sessionCookie, Value: id}
	e.csrf = sess.csrf
	return e
}

// do sends a request, signed in unless anonymous.
func (e *env) do(method, path string, form url.Values, anonymous bool) *httptest.ResponseRecorder {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if !anonymous {
		req.AddCookie(e.cookie)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec
}

func (e *env) get(path string) *httptest.ResponseRecorder { return e.do("GET", path, nil, false) }

// post sends a signed-in form with the session's CSRF token.
func (e *env) post(path string, form url.Values) *httptest.ResponseRecorder {
	if form == nil {
		form = url.Values{}
	}
	form.Set(csrfField, e.csrf)
	return e.do("POST", path, form, false)
}

// createService creates a code-repository service through the control
// plane, as the API would.
func (e *env) createService(name string) store.Service {
	e.t.Helper()
	out, err := e.ctl.CreateService(context.Background(), &ar.CreateServiceRequest{
		ServiceName: name,
		SourceConfiguration: &ar.SourceConfiguration{CodeRepository: &ar.CodeRepository{
			RepositoryUrl:     "file:///srv/git/monorepo",
			SourceCodeVersion: &ar.SourceCodeVersion{Type: "BRANCH", Value: "main"},
			SourceDirectory:   ptr("services/api"),
			CodeConfiguration: &ar.CodeConfiguration{ConfigurationSource: "REPOSITORY"},
		}},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return e.service(out.Service.ServiceArn)
}

func (e *env) service(arn string) store.Service {
	e.t.Helper()
	var s store.Service
	if err := e.st.View(context.Background(), func(tx *store.Tx) (err error) {
		s, err = tx.Service(arn)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) operations(arn string) []store.Operation {
	e.t.Helper()
	ops, err := e.c.operations(context.Background(), arn)
	if err != nil {
		e.t.Fatal(err)
	}
	return ops
}

// finish ends a service's unfinished operations as the engine would, with
// status and reason, and sets the service's status.
func (e *env) finish(arn, opStatus, reason, svcStatus, revision string) {
	e.t.Helper()
	err := e.st.Update(context.Background(), func(tx *store.Tx) error {
		ops, err := tx.UnfinishedOperationsOf(arn)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		for _, o := range ops {
			o.Status, o.Reason, o.EndedAt, o.UpdatedAt, o.Revision = opStatus, reason, now, now, revision
			if err := tx.PutOperation(o); err != nil {
				return err
			}
		}
		s, err := tx.Service(arn)
		if err != nil {
			return err
		}
		s.Status = svcStatus
		if opStatus == ar.OperationStatusSucceeded && len(ops) > 0 {
			s.Release = &store.Release{OperationID: ops[0].ID, Revision: revision, DeployedAt: now}
		}
		return tx.PutService(s)
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }

func wantContains(t *testing.T, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}
