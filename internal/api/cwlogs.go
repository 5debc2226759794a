package api

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/internal/logquery"
)

// json11 is the content type of AWS JSON 1.1, CloudWatch Logs' protocol.
const json11 = "application/x-amz-json-1.1"

// LogsQuerier answers CloudWatch Logs' read operations.
type LogsQuerier interface {
	DescribeGroups(context.Context, logquery.GroupsQuery) (logquery.GroupsPage, error)
	DescribeStreams(context.Context, logquery.StreamsQuery) (logquery.StreamsPage, error)
	GetEvents(context.Context, logquery.EventsQuery) (logquery.EventsPage, error)
	FilterEvents(context.Context, logquery.FilterQuery) (logquery.FilterPage, error)
}

// CloudWatchLogs serves CloudWatch Logs' read operations (DescribeLogGroups,
// DescribeLogStreams, GetLogEvents, FilterLogEvents) over AWS JSON 1.1, so
// that `aws logs` and the SDKs read Slipway's logs as App Runner users read
// theirs. Every other Logs operation is refused: the groups are App
// Runner's, made and written by the service.
type CloudWatchLogs struct {
	auth *Authenticator // signing name "logs"
	q    LogsQuerier
	ops  map[string]handler
	log  *slog.Logger
}

// NewCloudWatchLogs returns CloudWatch Logs' handler; auth is the API's
// authenticator.
func NewCloudWatchLogs(auth *Authenticator, q LogsQuerier, log *slog.Logger) *CloudWatchLogs {
	c := &CloudWatchLogs{auth: auth.ForService("logs"), q: q, log: log}
	c.ops = map[string]handler{
		"DescribeLogGroups":  logsOp(c.describeLogGroups),
		"DescribeLogStreams": logsOp(c.describeLogStreams),
		"GetLogEvents":       logsOp(c.getLogEvents),
		"FilterLogEvents":    logsOp(c.filterLogEvents),
	}
	return c
}

func (c *CloudWatchLogs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	w.Header().Set("x-amzn-RequestId", reqID)
	// Read requests are small: refuse what the headers show is not
	// signed with a known key before reading a body, and cap it.
	if err := c.auth.Precheck(r); err != nil {
		c.fail(w, "", err)
		return
	}
	body, err := readRequestBody(r, smallBody)
	if err != nil {
		c.fail(w, "", err)
		return
	}
	if _, err := c.auth.Verify(r.Context(), r, body); err != nil {
		c.fail(w, "", err)
		return
	}
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), logsTargetPrefix)
	h := c.ops[op]
	if h == nil {
		c.fail(w, op, &wireError{code: "UnknownOperationException", status: 400,
			msg: fmt.Sprintf("Slipway serves CloudWatch Logs' DescribeLogGroups, DescribeLogStreams, GetLogEvents and FilterLogEvents, not %s", op)})
		return
	}
	out, err := h(r.Context(), body)
	if err != nil {
		c.fail(w, op, err)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		c.fail(w, op, fmt.Errorf("encode %s output: %w", op, err))
		return
	}
	w.Header().Set("Content-Type", json11)
	w.Write(b)
	c.log.Debug("logs", "op", op, "request", reqID)
}

func (c *CloudWatchLogs) fail(w http.ResponseWriter, op string, err error) {
	we := toWireError(err)
	if we.status >= 500 {
		c.log.Error("logs request failed", "op", op, "err", err)
		we = &wireError{code: "ServiceUnavailableException", status: we.status, msg: we.msg}
	} else {
		c.log.Debug("logs request rejected", "op", op, "code", we.code, "err", err)
	}
	writeJSONError(w, json11, we)
}

// logsOp adapts a typed operation to a handler: decode, validate, call.
func logsOp[I interface{ validate(*validation) }, O any](fn func(context.Context, I) (O, error)) handler {
	return func(ctx context.Context, body []byte) (any, error) {
		var in I
		if len(body) > 0 {
			if err := json.Unmarshal(body, &in); err != nil {
				return nil, &wireError{code: "SerializationException", status: 400, msg: fmt.Sprintf("malformed request body: %v", err)}
			}
		}
		var v validation
		in.validate(&v)
		if err := v.err(); err != nil {
			return nil, err
		}
		return fn(ctx, in)
	}
}

// Shapes of the model (botocore's logs/2014-03-28) that the operations use.
type (
	describeLogGroupsInput struct {
		AccountIdentifiers    []string `json:"accountIdentifiers"`
		LogGroupNamePrefix    *string  `json:"logGroupNamePrefix"`
		LogGroupNamePattern   *string  `json:"logGroupNamePattern"`
		NextToken             *string  `json:"nextToken"`
		Limit                 *int     `json:"limit"`
		IncludeLinkedAccounts *bool    `json:"includeLinkedAccounts"`
		LogGroupClass         *string  `json:"logGroupClass"`
		LogGroupIdentifiers   []string `json:"logGroupIdentifiers"`
	}
	logGroup struct {
		LogGroupName      string `json:"logGroupName"`
		CreationTime      int64  `json:"creationTime"`
		RetentionInDays   *int   `json:"retentionInDays,omitempty"`
		MetricFilterCount *int   `json:"metricFilterCount,omitempty"`
		Arn               string `json:"arn"`
		StoredBytes       *int64 `json:"storedBytes,omitempty"`
		LogGroupClass     string `json:"logGroupClass,omitempty"`
		LogGroupArn       string `json:"logGroupArn,omitempty"`
	}
	describeLogGroupsOutput struct {
		LogGroups []logGroup `json:"logGroups"`
		NextToken string     `json:"nextToken,omitempty"`
	}

	describeLogStreamsInput struct {
		LogGroupName        *string `json:"logGroupName"`
		LogGroupIdentifier  *string `json:"logGroupIdentifier"`
		LogStreamNamePrefix *string `json:"logStreamNamePrefix"`
		OrderBy             *string `json:"orderBy"`
		Descending          *bool   `json:"descending"`
		NextToken           *string `json:"nextToken"`
		Limit               *int    `json:"limit"`
	}
	logStream struct {
		LogStreamName       string `json:"logStreamName"`
		CreationTime        int64  `json:"creationTime"`
		FirstEventTimestamp *int64 `json:"firstEventTimestamp,omitempty"`
		LastEventTimestamp  *int64 `json:"lastEventTimestamp,omitempty"`
		LastIngestionTime   *int64 `json:"lastIngestionTime,omitempty"`
		Arn                 string `json:"arn"`
		StoredBytes         int64  `json:"storedBytes"`
	}
	describeLogStreamsOutput struct {
		LogStreams []logStream `json:"logStreams"`
		NextToken  string      `json:"nextToken,omitempty"`
	}

	getLogEventsInput struct {
		LogGroupName       *string `json:"logGroupName"`
		LogGroupIdentifier *string `json:"logGroupIdentifier"`
		LogStreamName      *string `json:"logStreamName"`
		StartTime          *int64  `json:"startTime"`
		EndTime            *int64  `json:"endTime"`
		NextToken          *string `json:"nextToken"`
		Limit              *int    `json:"limit"`
		StartFromHead      *bool   `json:"startFromHead"`
		Unmask             *bool   `json:"unmask"`
	}
	outputLogEvent struct {
		Timestamp     int64  `json:"timestamp"`
		Message       string `json:"message"`
		IngestionTime int64  `json:"ingestionTime"`
	}
	getLogEventsOutput struct {
		Events            []outputLogEvent `json:"events"`
		NextForwardToken  string           `json:"nextForwardToken"`
		NextBackwardToken string           `json:"nextBackwardToken"`
	}

	filterLogEventsInput struct {
		LogGroupName        *string  `json:"logGroupName"`
		LogGroupIdentifier  *string  `json:"logGroupIdentifier"`
		LogStreamNames      []string `json:"logStreamNames"`
		LogStreamNamePrefix *string  `json:"logStreamNamePrefix"`
		StartTime           *int64   `json:"startTime"`
		EndTime             *int64   `json:"endTime"`
		FilterPattern       *string  `json:"filterPattern"`
		NextToken           *string  `json:"nextToken"`
		Limit               *int     `json:"limit"`
		Interleaved         *bool    `json:"interleaved"`
		Unmask              *bool    `json:"unmask"`
	}
	filteredLogEvent struct {
		LogStreamName string `json:"logStreamName"`
		Timestamp     int64  `json:"timestamp"`
		Message       string `json:"message"`
		IngestionTime int64  `json:"ingestionTime"`
		EventID       string `json:"eventId"`
	}
	searchedLogStream struct {
		LogStreamName      string `json:"logStreamName"`
		SearchedCompletely bool   `json:"searchedCompletely"`
	}
	filterLogEventsOutput struct {
		Events []filteredLogEvent `json:"events"`
		// SearchedLogStreams is always empty, as CloudWatch's has been
		// since 2020.
		SearchedLogStreams []searchedLogStream `json:"searchedLogStreams"`
		NextToken          string              `json:"nextToken,omitempty"`
	}
)

// Patterns of the model's string shapes.
const (
	logGroupNameChars       = `[\.\-_/#A-Za-z0-9]+`
	logGroupPatternChars    = `[\.\-_/#A-Za-z0-9]*`
	logGroupIdentifierChars = `[\w#+=/:,.@-]*`
	logStreamNameChars      = `[^:*]*`
)

func (in describeLogGroupsInput) validate(v *validation) {
	v.str("logGroupNamePrefix", in.LogGroupNamePrefix, 1, 512, logGroupNameChars)
	v.str("logGroupNamePattern", in.LogGroupNamePattern, 0, 512, logGroupPatternChars)
	v.str("nextToken", in.NextToken, 1, 0, "")
	v.num("limit", in.Limit, 1, 50)
	v.enum("logGroupClass", in.LogGroupClass, "STANDARD", "INFREQUENT_ACCESS", "DELIVERY")
	v.count("logGroupIdentifiers", in.LogGroupIdentifiers, 1, 50)
	for _, id := range in.LogGroupIdentifiers {
		v.str("logGroupIdentifiers.member", &id, 1, 2048, logGroupIdentifierChars)
	}
	v.count("accountIdentifiers", in.AccountIdentifiers, 0, 20)
}

func (c *CloudWatchLogs) describeLogGroups(ctx context.Context, in describeLogGroupsInput) (*describeLogGroupsOutput, error) {
	out := &describeLogGroupsOutput{LogGroups: []logGroup{}}
	if in.LogGroupClass != nil && *in.LogGroupClass != "STANDARD" {
		return out, nil // App Runner's groups are all STANDARD
	}
	page, err := c.q.DescribeGroups(ctx, logquery.GroupsQuery{Prefix: deref(in.LogGroupNamePrefix), Pattern: deref(in.LogGroupNamePattern),
		Names: in.LogGroupIdentifiers, Limit: deref(in.Limit), Token: deref(in.NextToken)})
	if err != nil {
		return nil, err
	}
	for _, g := range page.Groups {
		lg := logGroup{LogGroupName: g.Name, CreationTime: g.Created.UnixMilli(), Arn: g.ARN + ":*"}
		// With a pattern, CloudWatch answers only the name, ARN and creation time.
		if in.LogGroupNamePattern == nil {
			zero := 0
			lg.MetricFilterCount, lg.StoredBytes = &zero, &g.StoredBytes
			lg.LogGroupClass, lg.LogGroupArn = "STANDARD", g.ARN
			if g.RetentionDays > 0 {
				lg.RetentionInDays = &g.RetentionDays
			}
		}
		out.LogGroups = append(out.LogGroups, lg)
	}
	out.NextToken = page.NextToken
	return out, nil
}

func (in describeLogStreamsInput) validate(v *validation) {
	v.group(in.LogGroupName, in.LogGroupIdentifier)
	v.str("logStreamNamePrefix", in.LogStreamNamePrefix, 1, 512, logStreamNameChars)
	v.enum("orderBy", in.OrderBy, "LogStreamName", "LastEventTime")
	v.str("nextToken", in.NextToken, 1, 0, "")
	v.num("limit", in.Limit, 1, 50)
}

func (c *CloudWatchLogs) describeLogStreams(ctx context.Context, in describeLogStreamsInput) (*describeLogStreamsOutput, error) {
	page, err := c.q.DescribeStreams(ctx, logquery.StreamsQuery{Group: groupOf(in.LogGroupName, in.LogGroupIdentifier),
		Prefix: deref(in.LogStreamNamePrefix), ByLastEvent: deref(in.OrderBy) == "LastEventTime", Descending: deref(in.Descending),
		Limit: deref(in.Limit), Token: deref(in.NextToken)})
	if err != nil {
		return nil, err
	}
	out := &describeLogStreamsOutput{LogStreams: []logStream{}, NextToken: page.NextToken}
	for _, s := range page.Streams {
		out.LogStreams = append(out.LogStreams, logStream{LogStreamName: s.Name, CreationTime: s.Created.UnixMilli(),
			FirstEventTimestamp: millis(s.First), LastEventTimestamp: millis(s.Last), LastIngestionTime: millis(s.LastIngestion), Arn: s.ARN})
	}
	return out, nil
}

func (in getLogEventsInput) validate(v *validation) {
	v.group(in.LogGroupName, in.LogGroupIdentifier)
	v.required("logStreamName", in.LogStreamName)
	v.str("logStreamName", in.LogStreamName, 1, 512, logStreamNameChars)
	v.time("startTime", in.StartTime)
	v.time("endTime", in.EndTime)
	v.str("nextToken", in.NextToken, 1, 0, "")
	v.num("limit", in.Limit, 1, 10000)
}

func (c *CloudWatchLogs) getLogEvents(ctx context.Context, in getLogEventsInput) (*getLogEventsOutput, error) {
	page, err := c.q.GetEvents(ctx, logquery.EventsQuery{Group: groupOf(in.LogGroupName, in.LogGroupIdentifier),
		Stream: deref(in.LogStreamName), Start: fromMillis(in.StartTime), End: fromMillis(in.EndTime),
		StartFromHead: deref(in.StartFromHead), Limit: deref(in.Limit), Token: deref(in.NextToken)})
	if err != nil {
		return nil, err
	}
	out := &getLogEventsOutput{Events: []outputLogEvent{}, NextForwardToken: page.Forward, NextBackwardToken: page.Backward}
	for _, e := range page.Events {
		ms := e.Time.UnixMilli()
		out.Events = append(out.Events, outputLogEvent{Timestamp: ms, Message: e.Message, IngestionTime: ms})
	}
	return out, nil
}

func (in filterLogEventsInput) validate(v *validation) {
	v.group(in.LogGroupName, in.LogGroupIdentifier)
	v.count("logStreamNames", in.LogStreamNames, 1, 100)
	for _, s := range in.LogStreamNames {
		v.str("logStreamNames.member", &s, 1, 512, logStreamNameChars)
	}
	v.str("logStreamNamePrefix", in.LogStreamNamePrefix, 1, 512, logStreamNameChars)
	v.time("startTime", in.StartTime)
	v.time("endTime", in.EndTime)
	v.str("filterPattern", in.FilterPattern, 0, 1024, "")
	v.str("nextToken", in.NextToken, 1, 0, "")
	v.num("limit", in.Limit, 1, 10000)
}

func (c *CloudWatchLogs) filterLogEvents(ctx context.Context, in filterLogEventsInput) (*filterLogEventsOutput, error) {
	page, err := c.q.FilterEvents(ctx, logquery.FilterQuery{Group: groupOf(in.LogGroupName, in.LogGroupIdentifier),
		Streams: in.LogStreamNames, StreamPrefix: deref(in.LogStreamNamePrefix), Start: fromMillis(in.StartTime), End: fromMillis(in.EndTime),
		Pattern: deref(in.FilterPattern), Limit: deref(in.Limit), Token: deref(in.NextToken)})
	if err != nil {
		return nil, err
	}
	out := &filterLogEventsOutput{Events: []filteredLogEvent{}, SearchedLogStreams: []searchedLogStream{}, NextToken: page.NextToken}
	for _, e := range page.Events {
		ms := e.Time.UnixMilli()
		out.Events = append(out.Events, filteredLogEvent{LogStreamName: e.Stream, Timestamp: ms, Message: e.Message,
			IngestionTime: ms, EventID: e.ID()})
	}
	return out, nil
}

// groupOf is the log group a request names, by name or by identifier.
func groupOf(name, identifier *string) string {
	if name != nil {
		return *name
	}
	return deref(identifier)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func millis(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	ms := t.UnixMilli()
	return &ms
}

func fromMillis(ms *int64) time.Time {
	if ms == nil {
		return time.Time{}
	}
	return time.UnixMilli(*ms)
}
