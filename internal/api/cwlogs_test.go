package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/slipwayhq/slipway/internal/logquery"
)

// fakeCWLogs answers with canned pages and keeps the last query.
type fakeCWLogs struct {
	err     error
	groups  logquery.GroupsPage
	streams logquery.StreamsPage
	events  logquery.EventsPage
	filter  logquery.FilterPage
	last    any
}

func (f *fakeCWLogs) DescribeGroups(_ context.Context, q logquery.GroupsQuery) (logquery.GroupsPage, error) {
	f.last = q
	return f.groups, f.err
}

func (f *fakeCWLogs) DescribeStreams(_ context.Context, q logquery.StreamsQuery) (logquery.StreamsPage, error) {
	f.last = q
	return f.streams, f.err
}

func (f *fakeCWLogs) GetEvents(_ context.Context, q logquery.EventsQuery) (logquery.EventsPage, error) {
	f.last = q
	return f.events, f.err
}

func (f *fakeCWLogs) FilterEvents(_ context.Context, q logquery.FilterQuery) (logquery.FilterPage, error) {
	f.last = q
	return f.filter, f.err
}

var logsT0 = time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)

func cannedCWLogs() *fakeCWLogs {
	g := logquery.Group{Name: "/aws/apprunner/web/0123/service", ARN: "arn:aws:logs:us-east-1:000000000000:log-group:/aws/apprunner/web/0123/service",
		Created: logsT0, StoredBytes: 1234, RetentionDays: 30}
	return &fakeCWLogs{
		groups: logquery.GroupsPage{Groups: []logquery.Group{g}, NextToken: "next-group"},
		streams: logquery.StreamsPage{Streams: []logquery.Stream{
			{Name: "events", ARN: g.ARN + ":log-stream:events", Created: logsT0, First: logsT0, Last: logsT0.Add(time.Second), LastIngestion: logsT0.Add(time.Second)},
			{Name: "deployment/empty", ARN: g.ARN + ":log-stream:deployment/empty", Created: logsT0},
		}},
		events: logquery.EventsPage{Events: []logquery.Event{{Stream: "events", Time: logsT0, Message: "[AppRunner] Deployment started."}},
			Forward: "f/2/0", Backward: "b/1/0"},
		filter: logquery.FilterPage{Events: []logquery.Event{{Stream: "instance/a", Time: logsT0, Message: "hello world"}}, NextToken: "next-event"},
	}
}

// doLogs sends a request signed for CloudWatch Logs through the endpoint.
func doLogs(t *testing.T, q LogsQuerier, op, body string, service string) *httptest.ResponseRecorder {
	t.Helper()
	auth := testAuth(signedAt)
	ep := &Endpoint{AppRunner: NewServer(auth, &fakeController{}, discardLogger()), Logs: NewCloudWatchLogs(auth, q, discardLogger())}
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:4566/", strings.NewReader(body))
	r.Header.Set("Content-Type", json11)
	r.Header.Set("X-Amz-Target", logsTargetPrefix+op)
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), service, testRegion, signedAt); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	ep.ServeHTTP(w, r)
	return w
}

func TestCloudWatchLogsGolden(t *testing.T) {
	tests := []struct {
		name, op, body string
		logs           *fakeCWLogs
		service        string
	}{
		{"logs_describe_log_groups", "DescribeLogGroups", `{"logGroupNamePrefix":"/aws/apprunner/","limit":1}`, cannedCWLogs(), ""},
		{"logs_describe_log_groups_pattern", "DescribeLogGroups", `{"logGroupNamePattern":"web"}`, cannedCWLogs(), ""},
		{"logs_describe_log_streams", "DescribeLogStreams", `{"logGroupName":"/aws/apprunner/web/0123/service"}`, cannedCWLogs(), ""},
		{"logs_get_log_events", "GetLogEvents", `{"logGroupName":"/aws/apprunner/web/0123/service","logStreamName":"events"}`, cannedCWLogs(), ""},
		{"logs_filter_log_events", "FilterLogEvents", `{"logGroupName":"/aws/apprunner/web/0123/application","filterPattern":"\"hello world\""}`, cannedCWLogs(), ""},
		{"logs_group_not_found", "FilterLogEvents", `{"logGroupName":"/aws/apprunner/nope/1/service"}`,
			&fakeCWLogs{err: &logquery.Error{Code: logquery.CodeResourceNotFound, Message: "The specified log group does not exist."}}, ""},
		{"logs_validation", "GetLogEvents", `{"logGroupName":"no spaces","logStreamName":"a:b","limit":0}`, cannedCWLogs(), ""},
		{"logs_name_and_identifier", "DescribeLogStreams", `{"logGroupName":"/a","logGroupIdentifier":"/a"}`, cannedCWLogs(), ""},
		{"logs_unknown_operation", "PutLogEvents", `{}`, cannedCWLogs(), ""},
		{"logs_wrong_signing_name", "DescribeLogGroups", `{}`, cannedCWLogs(), "apprunner"},
		{"logs_serialization", "DescribeLogGroups", `{"limit":"ten"}`, cannedCWLogs(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			service := tt.service
			if service == "" {
				service = "logs"
			}
			w := doLogs(t, tt.logs, tt.op, tt.body, service)
			got := renderResponse(w.Result(), w.Body.Bytes())
			path := filepath.Join("testdata", tt.name+".response")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("response differs from %s:\ngot:\n%s\nwant:\n%s", path, got, want)
			}
		})
	}
}

// TestCloudWatchLogsQueries checks what each request asks of the querier.
func TestCloudWatchLogsQueries(t *testing.T) {
	ms := func(v int64) time.Time { return time.UnixMilli(v) }
	tests := []struct {
		op, body string
		want     any
	}{
		{"DescribeLogGroups", `{"logGroupIdentifiers":["/aws/apprunner/a/1/service"],"nextToken":"t","limit":5}`,
			logquery.GroupsQuery{Names: []string{"/aws/apprunner/a/1/service"}, Limit: 5, Token: "t"}},
		{"DescribeLogStreams", `{"logGroupIdentifier":"arn:aws:logs:us-east-1:000000000000:log-group:/g","orderBy":"LastEventTime","descending":true}`,
			logquery.StreamsQuery{Group: "arn:aws:logs:us-east-1:000000000000:log-group:/g", ByLastEvent: true, Descending: true}},
		{"DescribeLogStreams", `{"logGroupName":"/g","logStreamNamePrefix":"deployment/","orderBy":"LogStreamName"}`,
			logquery.StreamsQuery{Group: "/g", Prefix: "deployment/"}},
		{"GetLogEvents", `{"logGroupName":"/g","logStreamName":"events","startTime":1000,"endTime":2000,"startFromHead":true,"limit":3,"nextToken":"f/1/0"}`,
			logquery.EventsQuery{Group: "/g", Stream: "events", Start: ms(1000), End: ms(2000), StartFromHead: true, Limit: 3, Token: "f/1/0"}},
		{"FilterLogEvents", `{"logGroupName":"/g","logStreamNames":["a","b"],"startTime":0,"filterPattern":"x","interleaved":true}`,
			logquery.FilterQuery{Group: "/g", Streams: []string{"a", "b"}, Start: ms(0), Pattern: "x"}},
	}
	for _, tt := range tests {
		f := cannedCWLogs()
		w := doLogs(t, f, tt.op, tt.body, "logs")
		if w.Code != 200 {
			t.Errorf("%s %s: %d %s", tt.op, tt.body, w.Code, w.Body)
			continue
		}
		if !reflect.DeepEqual(f.last, tt.want) {
			t.Errorf("%s %s:\nquery %#v\nwant  %#v", tt.op, tt.body, f.last, tt.want)
		}
	}
	// Only STANDARD groups exist.
	f := cannedCWLogs()
	w := doLogs(t, f, "DescribeLogGroups", `{"logGroupClass":"INFREQUENT_ACCESS"}`, "logs")
	if w.Code != 200 || f.last != nil || w.Body.String() != `{"logGroups":[]}` {
		t.Errorf("INFREQUENT_ACCESS: %d %s (query %v), want no groups", w.Code, w.Body, f.last)
	}
}
