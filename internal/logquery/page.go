package logquery

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

const (
	defaultDescribeLimit = 50
	defaultEventsLimit   = 10000
	// maxResponseBytes caps a page of events at CloudWatch's 1 MB, counted
	// as CloudWatch counts an event: its message's bytes and 26.
	maxResponseBytes = 1 << 20
	eventOverhead    = 26
)

// budget counts what a page of events may still take.
type budget struct{ n, limit, bytes int }

func newBudget(limit int) *budget {
	if limit <= 0 {
		limit = defaultEventsLimit
	}
	return &budget{limit: limit}
}

// take reports whether msg fits and, if so, counts it. The first event
// always fits, so that a page never comes back empty for its size alone.
func (b *budget) take(msg string) bool {
	size := len(msg) + eventOverhead
	if b.n >= b.limit || (b.n > 0 && b.bytes+size > maxResponseBytes) {
		return false
	}
	b.n++
	b.bytes += size
	return true
}

// nanos is t in Unix nanoseconds, 0 for the zero time.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// numbered sorts a stream's events by time, keeping the order of equal
// times, and numbers the events that share a time.
func numbered(evs []Event) []Event {
	slices.SortStableFunc(evs, func(a, b Event) int { return a.Time.Compare(b.Time) })
	for i := range evs {
		evs[i].ord = 0
		if i > 0 && evs[i].Time.Equal(evs[i-1].Time) {
			evs[i].ord = evs[i-1].ord + 1
		}
	}
	return evs
}

// inRange reports whether e is within [start, end] in milliseconds, as the
// API counts time; end is excluded unless endIncluded. Events before
// cutoff have expired.
func inRange(e Event, start, end, cutoff time.Time, endIncluded bool) bool {
	ms := e.Time.UnixMilli()
	if !cutoff.IsZero() && e.Time.Before(cutoff) {
		return false
	}
	if !start.IsZero() && ms < start.UnixMilli() {
		return false
	}
	if !end.IsZero() && (ms > end.UnixMilli() || (!endIncluded && ms == end.UnixMilli())) {
		return false
	}
	return true
}

func validateGroups(q GroupsQuery) error {
	if q.Prefix != "" && q.Pattern != "" {
		return invalid("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
	}
	if len(q.Names) > 0 && (q.Prefix != "" || q.Pattern != "") {
		return invalid("logGroupIdentifiers cannot be combined with logGroupNamePrefix or logGroupNamePattern.")
	}
	return nil
}

// pageGroups answers DescribeLogGroups over every group, in name order.
func pageGroups(gs []Group, q GroupsQuery) (GroupsPage, error) {
	if err := validateGroups(q); err != nil {
		return GroupsPage{}, err
	}
	var last string
	if q.Token != "" {
		var err error
		if _, _, last, err = parseKeyToken(q.Token); err != nil {
			return GroupsPage{}, err
		}
	}
	names := map[string]bool{}
	for _, n := range q.Names {
		if id, ok := parseGroup(n); ok {
			names[GroupName(id.service, id.serviceID, id.kind)] = true
		}
	}
	gs = slices.Clone(gs)
	slices.SortFunc(gs, func(a, b Group) int { return strings.Compare(a.Name, b.Name) })
	limit := cmp.Or(q.Limit, defaultDescribeLimit)
	var page GroupsPage
	for _, g := range gs {
		switch {
		case q.Token != "" && g.Name <= last,
			!strings.HasPrefix(g.Name, q.Prefix),
			!strings.Contains(g.Name, q.Pattern),
			len(q.Names) > 0 && !names[g.Name]:
			continue
		}
		if len(page.Groups) == limit {
			page.NextToken = keyToken(0, 0, page.Groups[limit-1].Name)
			break
		}
		page.Groups = append(page.Groups, g)
	}
	return page, nil
}

func validateStreams(q StreamsQuery) error {
	if q.ByLastEvent && q.Prefix != "" {
		return invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
	}
	return nil
}

// pageStreams answers DescribeLogStreams over a group's streams.
func pageStreams(ss []Stream, q StreamsQuery) (StreamsPage, error) {
	if err := validateStreams(q); err != nil {
		return StreamsPage{}, err
	}
	type keyed struct {
		k int64
		s Stream
	}
	key := func(s Stream) int64 {
		if q.ByLastEvent {
			return nanos(s.Last)
		}
		return 0
	}
	compare := func(ak int64, an string, bk int64, bn string) int {
		c := cmp.Or(cmp.Compare(ak, bk), strings.Compare(an, bn))
		if q.Descending {
			return -c
		}
		return c
	}
	var ks []keyed
	for _, s := range ss {
		if strings.HasPrefix(s.Name, q.Prefix) {
			ks = append(ks, keyed{key(s), s})
		}
	}
	slices.SortFunc(ks, func(a, b keyed) int { return compare(a.k, a.s.Name, b.k, b.s.Name) })
	if q.Token != "" {
		t, _, name, err := parseKeyToken(q.Token)
		if err != nil {
			return StreamsPage{}, err
		}
		i := 0
		for i < len(ks) && compare(ks[i].k, ks[i].s.Name, t, name) <= 0 {
			i++
		}
		ks = ks[i:]
	}
	limit := cmp.Or(q.Limit, defaultDescribeLimit)
	var page StreamsPage
	if len(ks) > limit {
		ks = ks[:limit]
		page.NextToken = keyToken(ks[limit-1].k, 0, ks[limit-1].s.Name)
	}
	for _, k := range ks {
		page.Streams = append(page.Streams, k.s)
	}
	return page, nil
}

// pageEvents answers GetLogEvents over one stream's numbered events.
// Without a token it starts at the head or, by default, ends at the tail;
// a token pages on from where the last page stopped. A page with no events
// hands back the token it was given, which is how clients know they have
// reached the end.
func pageEvents(evs []Event, q EventsQuery, cutoff time.Time) (EventsPage, error) {
	dir, p := byte('f'), position{}
	if !q.StartFromHead && len(evs) > 0 {
		dir, p = 'b', after(evs[len(evs)-1])
	}
	if q.Token != "" {
		var err error
		if dir, p, err = parseStreamToken(q.Token); err != nil {
			return EventsPage{}, err
		}
	}
	// i is the first event at or after p.
	i, _ := slices.BinarySearchFunc(evs, p, func(e Event, p position) int {
		if at(e).less(p) {
			return -1
		}
		if at(e) == p {
			return 0
		}
		return 1
	})
	b := newBudget(q.Limit)
	var out []Event
	keep := func(e Event) bool { return inRange(e, q.Start, q.End, cutoff, false) }
	if dir == 'f' {
		for _, e := range evs[i:] {
			if keep(e) {
				if !b.take(e.Message) {
					break
				}
				out = append(out, e)
			}
		}
	} else {
		for k := i - 1; k >= 0; k-- {
			if e := evs[k]; keep(e) {
				if !b.take(e.Message) {
					break
				}
				out = append(out, e)
			}
		}
		slices.Reverse(out)
	}
	page := EventsPage{Events: out}
	if len(out) == 0 {
		page.Forward, page.Backward = streamToken('f', p), streamToken('b', p)
		if q.Token != "" && dir == 'f' {
			page.Forward = q.Token
		} else if q.Token != "" {
			page.Backward = q.Token
		}
		return page, nil
	}
	page.Forward = streamToken('f', after(out[len(out)-1]))
	page.Backward = streamToken('b', at(out[0]))
	return page, nil
}

// validateFilter checks a FilterLogEvents request and parses its pattern.
func validateFilter(q FilterQuery) (Pattern, error) {
	if len(q.Streams) > 0 && q.StreamPrefix != "" {
		return Pattern{}, invalid("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
	}
	return ParsePattern(q.Pattern)
}

// chooseStreams returns the streams a FilterLogEvents request searches.
func chooseStreams(ss []Stream, q FilterQuery) []Stream {
	var out []Stream
	for _, s := range ss {
		if (len(q.Streams) == 0 || slices.Contains(q.Streams, s.Name)) && strings.HasPrefix(s.Name, q.StreamPrefix) {
			out = append(out, s)
		}
	}
	return out
}

// filterEvents answers FilterLogEvents over the numbered events of the
// streams searched: the matching ones in time order, streams interleaved,
// a page at a time.
func filterEvents(evs []Event, q FilterQuery, pat Pattern, cutoff time.Time) (FilterPage, error) {
	compare := func(at int64, as string, aord int, bt int64, bs string, bord int) int {
		return cmp.Or(cmp.Compare(at, bt), strings.Compare(as, bs), cmp.Compare(aord, bord))
	}
	var (
		tokT   int64
		tokOrd int
		tokS   string
	)
	if q.Token != "" {
		var err error
		if tokT, tokOrd, tokS, err = parseKeyToken(q.Token); err != nil {
			return FilterPage{}, err
		}
	}
	var match []Event
	for _, e := range evs {
		if q.Token != "" && compare(e.Time.UnixNano(), e.Stream, e.ord, tokT, tokS, tokOrd) <= 0 {
			continue
		}
		if inRange(e, q.Start, q.End, cutoff, true) && pat.Match(e.Message) {
			match = append(match, e)
		}
	}
	slices.SortFunc(match, func(a, b Event) int {
		return compare(a.Time.UnixNano(), a.Stream, a.ord, b.Time.UnixNano(), b.Stream, b.ord)
	})
	b := newBudget(q.Limit)
	var page FilterPage
	for i, e := range match {
		if !b.take(e.Message) {
			last := match[i-1]
			page.NextToken = keyToken(last.Time.UnixNano(), last.ord, last.Stream)
			break
		}
		page.Events = append(page.Events, e)
	}
	return page, nil
}
