package logquery

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/internal/applog"
	"github.com/slipwayhq/slipway/internal/store"
)

// Store is what Logs reads of Slipway's state.
type Store interface {
	View(ctx context.Context, fn func(tx *store.Tx) error) error
}

// Config configures Logs.
type Config struct {
	Region, Account string
	// Retention hides events older than this, which the retention sweep
	// has not removed yet or cannot remove (an instance still writing its
	// file); 0 shows them all.
	Retention time.Duration
	// LogDir is the directory of a service's log files.
	LogDir func(serviceID string) string
	// Now is the clock; nil for time.Now.
	Now func() time.Time
}

// Logs answers CloudWatch Logs' read operations over every service's logs,
// deleted services' included while their files last.
type Logs struct {
	cfg Config
	st  Store
}

// New returns Logs reading st and the files under cfg.LogDir.
func New(cfg Config, st Store) *Logs {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Logs{cfg: cfg, st: st}
}

// The engine names operation logs op-<operation id>.log and instance logs
// <instance id>.log.
const (
	opLogPrefix = "op-"
	logSuffix   = ".log"
)

// group is a log group and the files its streams are read from.
type group struct {
	Group
	svc   store.Service
	kind  string
	files []logFile
}

type logFile struct {
	stream, path string
	size         int64
	mod          time.Time
}

// source is a stream and where its events come from: a file, or for the
// events stream the operations' events.
type source struct {
	Stream
	path   string
	events []Event
}

func (l *Logs) cutoff() time.Time {
	if l.cfg.Retention <= 0 {
		return time.Time{}
	}
	return l.cfg.Now().Add(-l.cfg.Retention)
}

func (l *Logs) services(ctx context.Context) ([]store.Service, error) {
	var svcs []store.Service
	err := l.st.View(ctx, func(tx *store.Tx) (err error) {
		svcs, err = tx.Services(true)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	return svcs, nil
}

// files lists the log files of one kind in a service's log directory.
func (l *Logs) files(svc store.Service, kind string) ([]logFile, error) {
	dir := l.cfg.LogDir(svc.ID)
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list logs: %w", err)
	}
	var out []logFile
	for _, de := range des {
		base, ok := strings.CutSuffix(de.Name(), logSuffix)
		if !ok || !de.Type().IsRegular() {
			continue
		}
		var stream string
		if op, isOp := strings.CutPrefix(base, opLogPrefix); isOp {
			if kind != KindService {
				continue
			}
			stream = DeploymentStream(op)
		} else {
			if kind != KindApplication {
				continue
			}
			stream = InstanceStream(base)
		}
		info, err := de.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed by retention meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("stat log: %w", err)
		}
		out = append(out, logFile{stream: stream, path: filepath.Join(dir, de.Name()), size: info.Size(), mod: info.ModTime()})
	}
	return out, nil
}

// groupsOf returns a service's log groups. A live service has both, as App
// Runner makes them with the service; a deleted one keeps those that still
// have files, until retention removes them.
func (l *Logs) groupsOf(svc store.Service) ([]group, error) {
	var out []group
	for _, kind := range []string{KindService, KindApplication} {
		files, err := l.files(svc, kind)
		if err != nil {
			return nil, err
		}
		if !svc.DeletedAt.IsZero() && len(files) == 0 {
			continue
		}
		name := GroupName(svc.Name, svc.ID, kind)
		g := group{Group: Group{Name: name, ARN: groupARN(l.cfg.Region, l.cfg.Account, name), Created: svc.CreatedAt,
			RetentionDays: retentionDays(l.cfg.Retention)}, svc: svc, kind: kind, files: files}
		for _, f := range files {
			g.StoredBytes += f.size
		}
		out = append(out, g)
	}
	return out, nil
}

// retentionDays is a retention in whole days, rounded up.
func retentionDays(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	const day = 24 * time.Hour
	return int((d + day - 1) / day)
}

// group finds a log group by name or ARN.
func (l *Logs) group(ctx context.Context, nameOrARN string) (group, error) {
	id, ok := parseGroup(nameOrARN)
	if !ok {
		return group{}, errGroupNotFound
	}
	svcs, err := l.services(ctx)
	if err != nil {
		return group{}, err
	}
	for _, svc := range svcs {
		if svc.ID != id.serviceID || svc.Name != id.service {
			continue
		}
		gs, err := l.groupsOf(svc)
		if err != nil {
			return group{}, err
		}
		for _, g := range gs {
			if g.kind == id.kind {
				return g, nil
			}
		}
	}
	return group{}, errGroupNotFound
}

// sources lists a group's streams.
func (l *Logs) sources(ctx context.Context, g group) ([]source, error) {
	var out []source
	if g.kind == KindService {
		var ops []store.Operation
		err := l.st.View(ctx, func(tx *store.Tx) (err error) {
			ops, err = tx.Operations(g.svc.ARN)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("list operations: %w", err)
		}
		evs := operationEvents(ops)
		s := source{Stream: Stream{Name: EventsStream, Created: g.svc.CreatedAt}, events: evs}
		if len(evs) > 0 {
			s.First, s.Last, s.LastIngestion = evs[0].Time, evs[len(evs)-1].Time, evs[len(evs)-1].Time
		}
		out = append(out, s)
	}
	for _, f := range g.files {
		first, last, ok, err := applog.Bounds(f.path)
		if err != nil {
			return nil, err
		}
		s := source{Stream: Stream{Name: f.stream, Created: f.mod, LastIngestion: f.mod}, path: f.path}
		if ok {
			s.Created, s.First, s.Last, s.LastIngestion = first, first, last, last
		}
		out = append(out, s)
	}
	for i := range out {
		out[i].ARN = streamARN(l.cfg.Region, l.cfg.Account, g.Name, out[i].Name)
	}
	return out, nil
}

// read returns a stream's events, numbered in time order.
func (l *Logs) read(s source) ([]Event, error) {
	if s.path == "" {
		return s.events, nil
	}
	es, err := applog.Read(s.path)
	if err != nil {
		return nil, err
	}
	return fileEvents(s.Name, es), nil
}

// DescribeGroups answers DescribeLogGroups.
func (l *Logs) DescribeGroups(ctx context.Context, q GroupsQuery) (GroupsPage, error) {
	if err := validateGroups(q); err != nil {
		return GroupsPage{}, err
	}
	svcs, err := l.services(ctx)
	if err != nil {
		return GroupsPage{}, err
	}
	var all []Group
	for _, svc := range svcs {
		gs, err := l.groupsOf(svc)
		if err != nil {
			return GroupsPage{}, err
		}
		for _, g := range gs {
			all = append(all, g.Group)
		}
	}
	return pageGroups(all, q)
}

// DescribeStreams answers DescribeLogStreams.
func (l *Logs) DescribeStreams(ctx context.Context, q StreamsQuery) (StreamsPage, error) {
	if err := validateStreams(q); err != nil {
		return StreamsPage{}, err
	}
	g, err := l.group(ctx, q.Group)
	if err != nil {
		return StreamsPage{}, err
	}
	srcs, err := l.sources(ctx, g)
	if err != nil {
		return StreamsPage{}, err
	}
	ss := make([]Stream, len(srcs))
	for i, s := range srcs {
		ss[i] = s.Stream
	}
	return pageStreams(ss, q)
}

// GetEvents answers GetLogEvents.
func (l *Logs) GetEvents(ctx context.Context, q EventsQuery) (EventsPage, error) {
	if q.Token != "" {
		if _, _, err := parseStreamToken(q.Token); err != nil {
			return EventsPage{}, err
		}
	}
	g, err := l.group(ctx, q.Group)
	if err != nil {
		return EventsPage{}, err
	}
	srcs, err := l.sources(ctx, g)
	if err != nil {
		return EventsPage{}, err
	}
	for _, s := range srcs {
		if s.Name == q.Stream {
			evs, err := l.read(s)
			if err != nil {
				return EventsPage{}, err
			}
			return pageEvents(evs, q, l.cutoff())
		}
	}
	return EventsPage{}, errStreamNotFound
}

// FilterEvents answers FilterLogEvents.
func (l *Logs) FilterEvents(ctx context.Context, q FilterQuery) (FilterPage, error) {
	pat, err := validateFilter(q)
	if err != nil {
		return FilterPage{}, err
	}
	if q.Token != "" {
		if _, _, _, err := parseKeyToken(q.Token); err != nil {
			return FilterPage{}, err
		}
	}
	g, err := l.group(ctx, q.Group)
	if err != nil {
		return FilterPage{}, err
	}
	srcs, err := l.sources(ctx, g)
	if err != nil {
		return FilterPage{}, err
	}
	ss := make([]Stream, len(srcs))
	for i, s := range srcs {
		ss[i] = s.Stream
	}
	chosen := map[string]bool{}
	for _, s := range chooseStreams(ss, q) {
		chosen[s.Name] = true
	}
	from, to := q.Start, q.End
	if c := l.cutoff(); c.After(from) {
		from = c
	}
	var evs []Event
	for _, s := range srcs {
		// Skip reading streams whose events are all outside the range.
		if !chosen[s.Name] || (!s.Last.IsZero() && !from.IsZero() && s.Last.Before(from.Truncate(time.Millisecond))) ||
			(!s.First.IsZero() && !to.IsZero() && s.First.UnixMilli() > to.UnixMilli()) {
			continue
		}
		got, err := l.read(s)
		if err != nil {
			return FilterPage{}, err
		}
		evs = append(evs, got...)
	}
	return filterEvents(evs, q, pat, l.cutoff())
}
