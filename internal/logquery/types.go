package logquery

import (
	"fmt"
	"hash/fnv"
	"time"
)

// Group is a log group.
type Group struct {
	Name string
	// ARN is the log group's ARN without the trailing ":*".
	ARN         string
	Created     time.Time
	StoredBytes int64
	// RetentionDays is how long events are kept, in days; 0 is forever.
	RetentionDays int
}

// Stream is a log stream.
type Stream struct {
	Name    string
	ARN     string
	Created time.Time
	// First and Last are the times of the first and last events; zero when
	// the stream has none.
	First, Last   time.Time
	LastIngestion time.Time
}

// Event is one log event. Slipway writes every line as it comes, so an
// event's ingestion time is its timestamp.
type Event struct {
	Stream  string
	Time    time.Time
	Message string
	// ord numbers events of one stream with the same time, so that a
	// position between them is exact.
	ord int
}

// ID is the event's ID, unique in its group and the same in every answer.
func (e Event) ID() string {
	h := fnv.New32a()
	h.Write([]byte(e.Stream))
	return fmt.Sprintf("%d%010d%04d", e.Time.UnixNano(), h.Sum32(), e.ord)
}

// GroupsQuery is DescribeLogGroups' request.
type GroupsQuery struct {
	Prefix string
	// Pattern keeps groups whose names contain it.
	Pattern string
	// Names keeps only these groups (names or ARNs).
	Names []string
	Limit int // 0: 50
	Token string
}

// GroupsPage is a page of log groups and the token of the next.
type GroupsPage struct {
	Groups    []Group
	NextToken string
}

// StreamsQuery is DescribeLogStreams' request.
type StreamsQuery struct {
	Group  string // name or ARN
	Prefix string
	// ByLastEvent orders by the last event's time instead of by name.
	ByLastEvent bool
	Descending  bool
	Limit       int // 0: 50
	Token       string
}

// StreamsPage is a page of log streams and the token of the next.
type StreamsPage struct {
	Streams   []Stream
	NextToken string
}

// EventsQuery is GetLogEvents' request.
type EventsQuery struct {
	Group, Stream string
	// Start and End bound the events' times, Start included, End not; zero
	// for no bound.
	Start, End time.Time
	// StartFromHead returns the earliest events first instead of the
	// latest; a token's own direction overrides it.
	StartFromHead bool
	Limit         int // 0: up to 10,000 events in 1 MB
	Token         string
}

// EventsPage is a page of one stream's events with the tokens that page
// forward and backward from it.
type EventsPage struct {
	Events            []Event
	Forward, Backward string
}

// FilterQuery is FilterLogEvents' request.
type FilterQuery struct {
	Group string
	// Streams or StreamPrefix, not both, narrow the streams searched.
	Streams      []string
	StreamPrefix string
	// Start and End bound the events' times, both included.
	Start, End time.Time
	Pattern    string
	Limit      int // 0: up to 10,000 events in 1 MB
	Token      string
}

// FilterPage is a page of matching events, interleaved from all streams
// in time order, and the token of the next page.
type FilterPage struct {
	Events    []Event
	NextToken string
}
