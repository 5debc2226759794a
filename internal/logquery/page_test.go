package logquery

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2024, 5, 6, 7, 0, 0, 0, time.UTC)

// sec is t0 plus s seconds (fractions allowed).
func sec(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func ev(stream string, s float64, msg string) Event {
	return Event{Stream: stream, Time: sec(s), Message: msg}
}

func msgs(evs []Event) string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Message)
	}
	return strings.Join(out, " ")
}

// stream5 has two events at the same time, which positions keep apart.
func stream5() []Event {
	return numbered([]Event{ev("s", 1, "a"), ev("s", 2, "b"), ev("s", 3, "c"), ev("s", 3, "d"), ev("s", 5, "e")})
}

func TestPageEvents(t *testing.T) {
	tests := []struct {
		name          string
		evs           []Event
		q             EventsQuery
		cutoff        time.Time
		want          string
		fwd, back     string
		wantErrorCode string
	}{
		{name: "tail by default", evs: stream5(), q: EventsQuery{Limit: 2}, want: "d e",
			fwd: streamToken('f', position{sec(5).UnixNano(), 1}), back: streamToken('b', position{sec(3).UnixNano(), 1})},
		{name: "head", evs: stream5(), q: EventsQuery{Limit: 2, StartFromHead: true}, want: "a b",
			fwd: streamToken('f', position{sec(2).UnixNano(), 1}), back: streamToken('b', position{sec(1).UnixNano(), 0})},
		{name: "all without limit", evs: stream5(), q: EventsQuery{}, want: "a b c d e"},
		{name: "forward token between equal times", evs: stream5(),
			q: EventsQuery{Token: streamToken('f', position{sec(3).UnixNano(), 1})}, want: "d e"},
		{name: "backward token between equal times", evs: stream5(),
			q: EventsQuery{Token: streamToken('b', position{sec(3).UnixNano(), 1}), Limit: 2}, want: "b c"},
		{name: "token's direction wins over startFromHead", evs: stream5(),
			q: EventsQuery{Token: streamToken('b', position{sec(3).UnixNano(), 0}), StartFromHead: true}, want: "a b"},
		{name: "start included, end excluded", evs: stream5(), q: EventsQuery{Start: sec(2), End: sec(5), StartFromHead: true}, want: "b c d"},
		{name: "millisecond bounds", evs: numbered([]Event{
			{Stream: "s", Time: t0.Add(1000400 * time.Microsecond), Message: "x"},
			{Stream: "s", Time: t0.Add(1001100 * time.Microsecond), Message: "y"}}),
			q: EventsQuery{Start: t0.Add(time.Second), End: t0.Add(1001 * time.Millisecond)}, want: "x"},
		{name: "expired events are hidden", evs: stream5(), q: EventsQuery{StartFromHead: true}, cutoff: sec(2.5), want: "c d e"},
		{name: "end of stream hands the token back", evs: stream5(),
			q: EventsQuery{Token: streamToken('f', position{sec(5).UnixNano(), 1})}, want: "",
			fwd: streamToken('f', position{sec(5).UnixNano(), 1}), back: streamToken('b', position{sec(5).UnixNano(), 1})},
		{name: "head of stream hands the token back", evs: stream5(),
			q: EventsQuery{Token: "b/" + fmt.Sprint(sec(1).UnixNano()) + "/0"}, want: "",
			back: "b/" + fmt.Sprint(sec(1).UnixNano()) + "/0"},
		{name: "empty stream", q: EventsQuery{}, want: "", fwd: "f/0/0", back: "b/0/0"},
		{name: "bad token", evs: stream5(), q: EventsQuery{Token: "x/1/2"}, wantErrorCode: CodeInvalidParameter},
		{name: "negative ordinal", evs: stream5(), q: EventsQuery{Token: "f/1/-2"}, wantErrorCode: CodeInvalidParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := pageEvents(tt.evs, tt.q, tt.cutoff)
			if tt.wantErrorCode != "" {
				var e *Error
				if !errors.As(err, &e) || e.Code != tt.wantErrorCode {
					t.Fatalf("err = %v, want %s", err, tt.wantErrorCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := msgs(page.Events); got != tt.want {
				t.Errorf("events = %q, want %q", got, tt.want)
			}
			if tt.fwd != "" && page.Forward != tt.fwd {
				t.Errorf("forward = %q, want %q", page.Forward, tt.fwd)
			}
			if tt.back != "" && page.Backward != tt.back {
				t.Errorf("backward = %q, want %q", page.Backward, tt.back)
			}
		})
	}
}

// TestPageEventsWalk pages through a stream both ways as the aws CLI and
// SDKs do: until a page hands back the token it was given.
func TestPageEventsWalk(t *testing.T) {
	evs := stream5()
	walk := func(q EventsQuery, forward bool) []string {
		var pages []string
		for range 10 {
			page, err := pageEvents(evs, q, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			pages = append(pages, msgs(page.Events))
			next := page.Backward
			if forward {
				next = page.Forward
			}
			if next == q.Token {
				return pages
			}
			q.Token = next
		}
		t.Fatalf("no end after 10 pages: %q", pages)
		return nil
	}
	if got, want := walk(EventsQuery{Limit: 2, StartFromHead: true}, true), []string{"a b", "c d", "e", ""}; !slices.Equal(got, want) {
		t.Errorf("forward pages = %q, want %q", got, want)
	}
	if got, want := walk(EventsQuery{Limit: 2}, false), []string{"d e", "b c", "a", ""}; !slices.Equal(got, want) {
		t.Errorf("backward pages = %q, want %q", got, want)
	}

	// A forward token at the end finds what is appended later.
	page, _ := pageEvents(evs, EventsQuery{}, time.Time{})
	evs = numbered(append(evs, ev("s", 5, "f"), ev("s", 6, "g")))
	next, _ := pageEvents(evs, EventsQuery{Token: page.Forward}, time.Time{})
	if got := msgs(next.Events); got != "f g" {
		t.Errorf("after appending: %q, want \"f g\"", got)
	}
}

func TestPageEventsMegabyte(t *testing.T) {
	big := strings.Repeat("x", 600<<10)
	evs := numbered([]Event{ev("s", 1, big+"1"), ev("s", 2, big+"2"), ev("s", 3, "small")})
	page, err := pageEvents(evs, EventsQuery{StartFromHead: true}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 1 {
		t.Fatalf("first page has %d events, want 1 (1 MB)", len(page.Events))
	}
	page, _ = pageEvents(evs, EventsQuery{Token: page.Forward}, time.Time{})
	if len(page.Events) != 2 || page.Events[1].Message != "small" {
		t.Fatalf("second page has %d events, want the second big one and the small one", len(page.Events))
	}
}

func TestFilterEvents(t *testing.T) {
	a := numbered([]Event{ev("instance/a", 1, "GET / 200"), ev("instance/a", 3, "GET /x 404"), ev("instance/a", 3, "GET /y 200")})
	b := numbered([]Event{ev("instance/b", 2, "GET / 200"), ev("instance/b", 3, "POST / 500"), ev("instance/b", 4, "GET /z 200")})
	all := append(slices.Clone(a), b...)
	tests := []struct {
		name    string
		q       FilterQuery
		cutoff  time.Time
		want    string
		pattern string
	}{
		{name: "interleaved in time order, streams by name at equal times", want: "GET / 200|GET / 200|GET /x 404|GET /y 200|POST / 500|GET /z 200"},
		{name: "pattern", q: FilterQuery{Pattern: `"GET /" 200 -/z`}, want: "GET / 200|GET / 200|GET /y 200"},
		{name: "start and end both included", q: FilterQuery{Start: sec(2), End: sec(3)}, want: "GET / 200|GET /x 404|GET /y 200|POST / 500"},
		{name: "cutoff", cutoff: sec(3.5), want: "GET /z 200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pat, err := ParsePattern(tt.q.Pattern)
			if err != nil {
				t.Fatal(err)
			}
			// Page one event at a time, then all at once: same events.
			var got []string
			q := tt.q
			q.Limit = 1
			for range 20 {
				page, err := filterEvents(all, q, pat, tt.cutoff)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range page.Events {
					got = append(got, e.Message)
				}
				if page.NextToken == "" {
					break
				}
				if len(page.Events) != 1 {
					t.Fatalf("page with a next token has %d events, want 1", len(page.Events))
				}
				q.Token = page.NextToken
			}
			if g := strings.Join(got, "|"); g != tt.want {
				t.Errorf("paged one by one: %s\nwant %s", g, tt.want)
			}
			page, err := filterEvents(all, tt.q, pat, tt.cutoff)
			if err != nil {
				t.Fatal(err)
			}
			var whole []string
			for _, e := range page.Events {
				whole = append(whole, e.Message)
			}
			if g := strings.Join(whole, "|"); g != tt.want || page.NextToken != "" {
				t.Errorf("in one page: %s (next %q)\nwant %s", g, page.NextToken, tt.want)
			}
		})
	}
	if _, err := filterEvents(all, FilterQuery{Token: "!!"}, Pattern{}, time.Time{}); !isCode(err, CodeInvalidParameter) {
		t.Errorf("bad token: err = %v, want InvalidParameterException", err)
	}
}

func TestChooseStreams(t *testing.T) {
	ss := []Stream{{Name: "events"}, {Name: "deployment/1"}, {Name: "deployment/2"}}
	names := func(ss []Stream) string {
		var out []string
		for _, s := range ss {
			out = append(out, s.Name)
		}
		return strings.Join(out, ",")
	}
	if got := names(chooseStreams(ss, FilterQuery{})); got != "events,deployment/1,deployment/2" {
		t.Errorf("all = %s", got)
	}
	if got := names(chooseStreams(ss, FilterQuery{StreamPrefix: "deployment/"})); got != "deployment/1,deployment/2" {
		t.Errorf("prefix = %s", got)
	}
	if got := names(chooseStreams(ss, FilterQuery{Streams: []string{"events", "deployment/2", "nope"}})); got != "events,deployment/2" {
		t.Errorf("names = %s", got)
	}
	if _, err := validateFilter(FilterQuery{Streams: []string{"events"}, StreamPrefix: "e"}); !isCode(err, CodeInvalidParameter) {
		t.Errorf("names and prefix: err = %v, want InvalidParameterException", err)
	}
}

func isCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

func TestPageStreams(t *testing.T) {
	ss := []Stream{
		{Name: "events", Last: sec(9)},
		{Name: "deployment/b", Last: sec(5)},
		{Name: "deployment/a", Last: sec(7)},
		{Name: "deployment/c"}, // no events yet
	}
	tests := []struct {
		name string
		q    StreamsQuery
		want string
		err  bool
	}{
		{name: "by name", want: "deployment/a deployment/b deployment/c events"},
		{name: "by name descending", q: StreamsQuery{Descending: true}, want: "events deployment/c deployment/b deployment/a"},
		{name: "prefix", q: StreamsQuery{Prefix: "deployment/"}, want: "deployment/a deployment/b deployment/c"},
		{name: "by last event", q: StreamsQuery{ByLastEvent: true}, want: "deployment/c deployment/b deployment/a events"},
		{name: "newest first", q: StreamsQuery{ByLastEvent: true, Descending: true}, want: "events deployment/a deployment/b deployment/c"},
		{name: "last event with prefix", q: StreamsQuery{ByLastEvent: true, Prefix: "d"}, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, limit := range []int{0, 1, 3} {
				q := tt.q
				q.Limit = limit
				var got []string
				for range 10 {
					page, err := pageStreams(ss, q)
					if tt.err {
						if !isCode(err, CodeInvalidParameter) {
							t.Fatalf("err = %v, want InvalidParameterException", err)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					if limit > 0 && len(page.Streams) > limit {
						t.Fatalf("limit %d: page of %d", limit, len(page.Streams))
					}
					for _, s := range page.Streams {
						got = append(got, s.Name)
					}
					if page.NextToken == "" {
						break
					}
					q.Token = page.NextToken
				}
				if g := strings.Join(got, " "); g != tt.want {
					t.Errorf("limit %d: %s, want %s", limit, g, tt.want)
				}
			}
		})
	}
}

func TestPageGroups(t *testing.T) {
	gs := []Group{
		{Name: GroupName("web", "id2", KindService)},
		{Name: GroupName("api", "id1", KindService)},
		{Name: GroupName("api", "id1", KindApplication)},
		{Name: GroupName("web", "id2", KindApplication)},
	}
	tests := []struct {
		name string
		q    GroupsQuery
		want string
		err  bool
	}{
		{name: "all by name", want: "/aws/apprunner/api/id1/application /aws/apprunner/api/id1/service /aws/apprunner/web/id2/application /aws/apprunner/web/id2/service"},
		{name: "prefix", q: GroupsQuery{Prefix: "/aws/apprunner/web/"}, want: "/aws/apprunner/web/id2/application /aws/apprunner/web/id2/service"},
		{name: "pattern", q: GroupsQuery{Pattern: "/service"}, want: "/aws/apprunner/api/id1/service /aws/apprunner/web/id2/service"},
		{name: "names and ARNs", q: GroupsQuery{Names: []string{"/aws/apprunner/web/id2/service", "arn:aws:logs:us-east-1:000000000000:log-group:/aws/apprunner/api/id1/application:*", "/nope"}},
			want: "/aws/apprunner/api/id1/application /aws/apprunner/web/id2/service"},
		{name: "prefix and pattern", q: GroupsQuery{Prefix: "/aws", Pattern: "x"}, err: true},
		{name: "names and prefix", q: GroupsQuery{Prefix: "/aws", Names: []string{"/aws/apprunner/api/id1/service"}}, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, limit := range []int{0, 1, 3} {
				q := tt.q
				q.Limit = limit
				var got []string
				for range 10 {
					page, err := pageGroups(gs, q)
					if tt.err {
						if !isCode(err, CodeInvalidParameter) {
							t.Fatalf("err = %v, want InvalidParameterException", err)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					for _, g := range page.Groups {
						got = append(got, g.Name)
					}
					if page.NextToken == "" {
						break
					}
					q.Token = page.NextToken
				}
				if g := strings.Join(got, " "); g != tt.want {
					t.Errorf("limit %d: %s\nwant %s", limit, g, tt.want)
				}
			}
		})
	}
}

func TestParseGroup(t *testing.T) {
	tests := []struct {
		in   string
		want groupID
		ok   bool
	}{
		{"/aws/apprunner/my-api/0123abcd/service", groupID{"my-api", "0123abcd", KindService}, true},
		{"/aws/apprunner/my-api/0123abcd/application", groupID{"my-api", "0123abcd", KindApplication}, true},
		{"arn:aws:logs:us-east-1:000000000000:log-group:/aws/apprunner/my-api/0123abcd/service", groupID{"my-api", "0123abcd", KindService}, true},
		{"arn:aws:logs:us-east-1:000000000000:log-group:/aws/apprunner/my-api/0123abcd/service:*", groupID{"my-api", "0123abcd", KindService}, true},
		{"/aws/apprunner/my-api/0123abcd/other", groupID{}, false},
		{"/aws/apprunner/my-api/service", groupID{}, false},
		{"/aws/lambda/f", groupID{}, false},
		{"arn:aws:apprunner:us-east-1:000000000000:service/my-api/0123abcd", groupID{}, false},
	}
	for _, tt := range tests {
		got, ok := parseGroup(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseGroup(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
