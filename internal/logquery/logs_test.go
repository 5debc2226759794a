package logquery

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/applog"
	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

// fixture is a store with a live and a deleted service and their log files.
type fixture struct {
	logs    *Logs
	dataDir string
	live    store.Service
	gone    store.Service
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "slipway.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{dataDir: dir,
		live: store.Service{ARN: "arn:aws:apprunner:us-east-1:000000000000:service/web/aaaa", ID: "aaaa", Name: "web",
			Status: ar.ServiceStatusRunning, Host: "a.localhost", CreatedAt: sec(0), UpdatedAt: sec(0)},
		gone: store.Service{ARN: "arn:aws:apprunner:us-east-1:000000000000:service/old/bbbb", ID: "bbbb", Name: "old",
			Status: ar.ServiceStatusDeleted, Host: "b.localhost", CreatedAt: sec(0), UpdatedAt: sec(1), DeletedAt: sec(1)},
	}
	ops := []store.Operation{
		{ID: "op1", ServiceARN: f.live.ARN, Type: ar.OperationTypeCreateService, Status: ar.OperationStatusSucceeded,
			StartedAt: sec(1), EndedAt: sec(4), UpdatedAt: sec(4), Trigger: "api"},
		{ID: "op2", ServiceARN: f.live.ARN, Type: ar.OperationTypeStartDeployment, Status: ar.OperationStatusRollbackSucceeded,
			StartedAt: sec(10), EndedAt: sec(12), UpdatedAt: sec(12), Reason: "instance exited with code 3\n"},
	}
	err = st.Update(ctx, func(tx *store.Tx) error {
		for _, s := range []store.Service{f.live, f.gone} {
			if err := tx.PutService(s); err != nil {
				return err
			}
		}
		for _, o := range ops {
			if err := tx.PutOperation(o); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	logDir := func(id string) string { return filepath.Join(dir, "logs", id) }
	write := func(svc, file string, es ...applog.Entry) {
		t.Helper()
		p := filepath.Join(logDir(svc), file)
		os.MkdirAll(filepath.Dir(p), 0o755)
		var b strings.Builder
		for _, e := range es {
			b.WriteString(e.String() + "\n")
		}
		if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	sys := func(s float64, text string) applog.Entry {
		return applog.Entry{Time: sec(s), Source: "slipway", Stream: applog.System, Text: text}
	}
	build := func(s float64, text string) applog.Entry {
		return applog.Entry{Time: sec(s), Source: applog.SourceBuild, Stream: applog.Stdout, Text: text}
	}
	out := func(s float64, inst, text string) applog.Entry {
		return applog.Entry{Time: sec(s), Source: inst, Stream: applog.Stdout, Text: text}
	}
	write("aaaa", "op-op1.log", sys(1, "deploying commit abc"), build(2, "pip install"), sys(3, "deployed"))
	write("aaaa", "op-op2.log", sys(10, "deploying commit def"), sys(12, "rollback complete"))
	write("aaaa", "op1xxxxx-111111.log", out(3, "op1xxxxx-111111", "web v1 listening"), out(5, "op1xxxxx-111111", ""),
		out(6, "op1xxxxx-111111", "GET / 200"))
	write("aaaa", "op2xxxxx-222222.log", out(11, "op2xxxxx-222222", "version is broken"),
		applog.Entry{Time: sec(11.5), Source: "op2xxxxx-222222", Stream: applog.System, Text: "exited with code 3"})
	write("aaaa", "notes.txt", out(1, "x", "not a log"))
	write("bbbb", "op-op9.log", sys(1, "deleting"))

	f.logs = New(Config{Region: "us-east-1", Account: "000000000000", Retention: 30 * 24 * time.Hour, LogDir: logDir,
		Now: func() time.Time { return sec(100) }}, st)
	return f
}

func TestDescribeGroups(t *testing.T) {
	f := newFixture(t)
	page, err := f.logs.DescribeGroups(t.Context(), GroupsQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range page.Groups {
		got = append(got, fmt.Sprintf("%s %d %d", g.Name, g.RetentionDays, g.StoredBytes))
		if g.ARN != "arn:aws:logs:us-east-1:000000000000:log-group:"+g.Name {
			t.Errorf("ARN = %s", g.ARN)
		}
		if !g.Created.Equal(sec(0)) {
			t.Errorf("%s created %v, want the service's creation", g.Name, g.Created)
		}
	}
	size := func(svc string, files ...string) int64 {
		var n int64
		for _, name := range files {
			st, err := os.Stat(filepath.Join(f.dataDir, "logs", svc, name))
			if err != nil {
				t.Fatal(err)
			}
			n += st.Size()
		}
		return n
	}
	// The deleted service keeps the group that still has files.
	want := []string{
		fmt.Sprintf("/aws/apprunner/old/bbbb/service 30 %d", size("bbbb", "op-op9.log")),
		fmt.Sprintf("/aws/apprunner/web/aaaa/application 30 %d", size("aaaa", "op1xxxxx-111111.log", "op2xxxxx-222222.log")),
		fmt.Sprintf("/aws/apprunner/web/aaaa/service 30 %d", size("aaaa", "op-op1.log", "op-op2.log")),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("groups:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestDescribeStreams(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	page, err := f.logs.DescribeStreams(ctx, StreamsQuery{Group: "/aws/apprunner/web/aaaa/service"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range page.Streams {
		got = append(got, fmt.Sprintf("%s %s-%s", s.Name, s.First.Sub(t0), s.Last.Sub(t0)))
	}
	if want := "deployment/op1 1s-3s,deployment/op2 10s-12s,events 1s-12s"; strings.Join(got, ",") != want {
		t.Errorf("service streams = %s, want %s", strings.Join(got, ","), want)
	}
	if s := page.Streams[0]; s.ARN != "arn:aws:logs:us-east-1:000000000000:log-group:/aws/apprunner/web/aaaa/service:log-stream:deployment/op1" {
		t.Errorf("stream ARN = %s", s.ARN)
	}
	page, err = f.logs.DescribeStreams(ctx, StreamsQuery{Group: "arn:aws:logs:us-east-1:000000000000:log-group:/aws/apprunner/web/aaaa/application:*",
		ByLastEvent: true, Descending: true})
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, s := range page.Streams {
		got = append(got, s.Name)
	}
	if want := "instance/op2xxxxx-222222,instance/op1xxxxx-111111"; strings.Join(got, ",") != want {
		t.Errorf("application streams newest first = %s, want %s", strings.Join(got, ","), want)
	}
	for _, g := range []string{"/aws/apprunner/web/zzzz/service", "/aws/apprunner/old/bbbb/application", "/aws/lambda/x"} {
		if _, err := f.logs.DescribeStreams(ctx, StreamsQuery{Group: g}); !isCode(err, CodeResourceNotFound) {
			t.Errorf("DescribeStreams(%s): err = %v, want ResourceNotFoundException", g, err)
		}
	}
}

func TestGetEvents(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	get := func(group, stream string) string {
		t.Helper()
		page, err := f.logs.GetEvents(ctx, EventsQuery{Group: group, Stream: stream, StartFromHead: true})
		if err != nil {
			t.Fatalf("GetEvents(%s, %s): %v", group, stream, err)
		}
		var out []string
		for _, e := range page.Events {
			out = append(out, e.Message)
		}
		return strings.Join(out, "|")
	}
	tests := []struct{ group, stream, want string }{
		{"/aws/apprunner/web/aaaa/service", "deployment/op1", "[AppRunner] deploying commit abc|[Build] pip install|[AppRunner] deployed"},
		{"/aws/apprunner/web/aaaa/service", "events", "[AppRunner] Service creation started. Operation ID: op1, triggered by api." +
			"|[AppRunner] Service creation succeeded. Operation ID: op1." +
			"|[AppRunner] Deployment started. Operation ID: op2." +
			"|[AppRunner] Deployment failed and was rolled back. Operation ID: op2. Reason: instance exited with code 3"},
		{"/aws/apprunner/web/aaaa/application", "instance/op1xxxxx-111111", "web v1 listening|GET / 200"},
		{"/aws/apprunner/web/aaaa/application", "instance/op2xxxxx-222222", "version is broken|[AppRunner] exited with code 3"},
	}
	for _, tt := range tests {
		if got := get(tt.group, tt.stream); got != tt.want {
			t.Errorf("%s %s:\n%s\nwant\n%s", tt.group, tt.stream, got, tt.want)
		}
	}
	if _, err := f.logs.GetEvents(ctx, EventsQuery{Group: "/aws/apprunner/web/aaaa/service", Stream: "deployment/nope"}); !isCode(err, CodeResourceNotFound) {
		t.Errorf("unknown stream: err = %v, want ResourceNotFoundException", err)
	}
}

func TestRetentionHidesOldEvents(t *testing.T) {
	f := newFixture(t)
	f.logs.cfg.Retention = 95 * time.Second // now is t0+100s: events before t0+5s are gone
	page, err := f.logs.FilterEvents(t.Context(), FilterQuery{Group: "/aws/apprunner/web/aaaa/application"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range page.Events {
		got = append(got, e.Stream+" "+e.Message)
	}
	want := "instance/op1xxxxx-111111 GET / 200|instance/op2xxxxx-222222 version is broken|instance/op2xxxxx-222222 [AppRunner] exited with code 3"
	if strings.Join(got, "|") != want {
		t.Errorf("events:\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
}

func TestFilterEventsInGroup(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	page, err := f.logs.FilterEvents(ctx, FilterQuery{Group: "/aws/apprunner/web/aaaa/service", Pattern: `"commit"`, StreamPrefix: "deployment/"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range page.Events {
		got = append(got, e.Stream+": "+e.Message)
	}
	if want := "deployment/op1: [AppRunner] deploying commit abc|deployment/op2: [AppRunner] deploying commit def"; strings.Join(got, "|") != want {
		t.Errorf("events:\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
	ids := map[string]bool{}
	for _, e := range page.Events {
		ids[e.ID()] = true
	}
	if len(ids) != len(page.Events) {
		t.Errorf("event IDs are not unique: %v", ids)
	}
	if _, err := f.logs.FilterEvents(ctx, FilterQuery{Group: "/aws/apprunner/web/aaaa/nope"}); !isCode(err, CodeResourceNotFound) {
		t.Errorf("unknown group: err = %v, want ResourceNotFoundException", err)
	}
	if _, err := f.logs.FilterEvents(ctx, FilterQuery{Group: "/aws/apprunner/web/aaaa/nope", Pattern: "{ $.a = 1 }"}); !isCode(err, CodeInvalidParameter) {
		t.Errorf("JSON pattern: err = %v, want InvalidParameterException before the group lookup", err)
	}
}
