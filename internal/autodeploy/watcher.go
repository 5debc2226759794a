package autodeploy

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/failpoint"
	"github.com/slipwayhq/slipway/internal/source/git"
	"github.com/slipwayhq/slipway/internal/store"
)

// Git is what the watcher needs of the source cache.
type Git interface {
	LsRemote(ctx context.Context, url string) (map[string]string, error)
	Fetch(ctx context.Context, url string) error
	Head(ctx context.Context, url, branch string) (string, error)
	ChangedPaths(ctx context.Context, url, from, to string) ([]string, error)
	IsAncestor(ctx context.Context, url, a, b string) (bool, error)
	Commit(ctx context.Context, url, commit string) (git.CommitInfo, error)
}

// Recorder records decisions and starts the deployments they call for.
type Recorder interface {
	RecordCommit(ctx context.Context, prevHead string, d store.CommitDecision) (store.CommitDecision, error)
}

// Watcher notices new commits on the branches of services with automatic
// deployments on, by polling (ls-remote first, a fetch only when a head
// moved) and by webhooks, and decides about each new head.
type Watcher struct {
	store    *store.Store
	git      Git
	rec      Recorder
	interval time.Duration
	log      *slog.Logger

	images ImageResolver

	kick chan kick
	// mu serializes checks of one repository, so a webhook and a poll
	// don't decide the same head twice.
	mu   sync.Mutex
	busy map[string]*sync.Mutex
}

// kick asks for a check now: of a repository (url) or of one image
// service (service).
type kick struct {
	url     string
	service string
	trigger string
}

// NewWatcher returns a watcher polling every interval (0: webhooks only).
func NewWatcher(st *store.Store, g Git, rec Recorder, interval time.Duration, log *slog.Logger) *Watcher {
	return &Watcher{store: st, git: g, rec: rec, interval: interval, log: log,
		kick: make(chan kick, 64), busy: map[string]*sync.Mutex{}}
}

// Trigger asks for a fetch of url and a decision for its services now.
// It never blocks; when the queue is full the next poll catches up.
func (w *Watcher) Trigger(url, trigger string) {
	select {
	case w.kick <- kick{url: url, trigger: trigger}:
	default:
	}
}

// TriggerImage asks for a resolve of an image service's tag now.
func (w *Watcher) TriggerImage(serviceARN string) {
	select {
	case w.kick <- kick{service: serviceARN, trigger: "webhook"}:
	default:
	}
}

// Run polls and serves triggers until ctx ends.
func (w *Watcher) Run(ctx context.Context) {
	var tick <-chan time.Time
	if w.interval > 0 {
		t := time.NewTicker(w.interval)
		defer t.Stop()
		tick = t.C
	}
	// One decision at a time is plenty, and keeps the order of the log
	// the order of events.
	for {
		select {
		case <-ctx.Done():
			return
		case k := <-w.kick:
			if k.service != "" {
				w.pollImages(ctx, k.service, k.trigger)
			} else {
				w.check(ctx, k.url, k.trigger)
			}
		case <-tick:
			w.poll(ctx)
			w.pollImages(ctx, "", "poll")
		}
	}
}

// watched is a service whose branch is watched.
type watched struct {
	svc    store.Service
	url    string
	branch string
	dir    string
}

// autoServices lists the live services with automatic deployments on.
func (w *Watcher) autoServices(ctx context.Context) ([]store.Service, error) {
	var svcs []store.Service
	if err := w.store.View(ctx, func(tx *store.Tx) (err error) {
		svcs, err = tx.Services(false)
		return err
	}); err != nil {
		return nil, err
	}
	var out []store.Service
	for _, s := range svcs {
		if src := s.Config.Source; src != nil && src.AutoDeploymentsEnabled != nil && *src.AutoDeploymentsEnabled {
			out = append(out, s)
		}
	}
	return out, nil
}

// services lists code services with automatic deployments on, by
// repository.
func (w *Watcher) services(ctx context.Context) (map[string][]watched, error) {
	svcs, err := w.autoServices(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string][]watched{}
	for _, s := range svcs {
		code := s.Config.Source.CodeRepository
		if code == nil {
			continue
		}
		dir := ""
		if code.SourceDirectory != nil {
			dir, _ = ar.CleanSourceDirectory(*code.SourceDirectory)
		}
		out[code.RepositoryUrl] = append(out[code.RepositoryUrl], watched{s, code.RepositoryUrl, code.SourceCodeVersion.Value, dir})
	}
	return out, nil
}

// URLs lists the repositories watched, for matching webhooks.
func (w *Watcher) URLs(ctx context.Context) ([]string, map[string][]string, error) {
	byURL, err := w.services(ctx)
	if err != nil {
		return nil, nil, err
	}
	var urls []string
	branches := map[string][]string{}
	for u, ws := range byURL {
		urls = append(urls, u)
		for _, s := range ws {
			branches[u] = append(branches[u], s.branch)
		}
	}
	return urls, branches, nil
}

// poll checks every watched repository whose watched branch heads moved.
func (w *Watcher) poll(ctx context.Context) {
	byURL, err := w.services(ctx)
	if err != nil {
		w.log.Error("list watched services", "err", err)
		return
	}
	for url, ws := range byURL {
		heads, err := w.git.LsRemote(ctx, url)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Warn("poll repository", "url", url, "err", err)
			}
			continue
		}
		moved := false
		for _, s := range ws {
			if h, ok := heads[s.branch]; ok && h != w.considered(ctx, s.svc.ARN) {
				moved = true
			}
		}
		if moved {
			w.check(ctx, url, "poll")
		}
	}
}

func (w *Watcher) considered(ctx context.Context, arn string) string {
	var h string
	w.store.View(ctx, func(tx *store.Tx) (err error) {
		h, err = tx.ConsideredHead(arn)
		return err
	})
	return h
}

// check fetches url once and decides about the new head of every watched
// service using it.
func (w *Watcher) check(ctx context.Context, url, trigger string) {
	w.mu.Lock()
	m := w.busy[url]
	if m == nil {
		m = &sync.Mutex{}
		w.busy[url] = m
	}
	w.mu.Unlock()
	m.Lock()
	defer m.Unlock()

	byURL, err := w.services(ctx)
	if err != nil || len(byURL[url]) == 0 {
		return
	}
	if err := w.git.Fetch(ctx, url); err != nil {
		if ctx.Err() == nil {
			w.log.Warn("fetch for automatic deployment", "url", url, "err", err)
		}
		return
	}
	failpoint.Hit("autodeploy.fetched")
	for _, s := range byURL[url] {
		if err := w.decide(ctx, s, trigger); err != nil && ctx.Err() == nil && !errors.Is(err, errNothingNew) {
			w.log.Error("automatic deployment decision", "service", s.svc.Name, "err", err)
		}
	}
}

var errNothingNew = errors.New("nothing new")

func (w *Watcher) decide(ctx context.Context, s watched, trigger string) error {
	head, err := w.git.Head(ctx, s.url, s.branch)
	if err != nil {
		return err
	}
	prev := w.considered(ctx, s.svc.ARN)
	if head == prev {
		return errNothingNew
	}
	if s.svc.Release == nil {
		// Not deployed yet: its creation (or the update that retries it)
		// deploys the branch head; deciding now would deploy it twice.
		return errNothingNew
	}
	deployed := s.svc.Release.Revision
	// The change is what the new head adds to the last head considered;
	// after a force push (or the first time) it is measured against what
	// is deployed.
	base, force := prev, false
	if prev != "" {
		ok, err := w.git.IsAncestor(ctx, s.url, prev, head)
		if err != nil || !ok {
			base, force = deployed, true
		}
	} else {
		base = deployed
	}
	var changed []string
	if base != head {
		if changed, err = w.git.ChangedPaths(ctx, s.url, base, head); err != nil {
			return err
		}
	}
	d := Decide(Input{Status: s.svc.Status, SourceDir: s.dir, Deployed: deployed, Head: head, Changed: changed, ForcePush: force && prev != ""})
	info, err := w.git.Commit(ctx, s.url, head)
	if err != nil {
		return err
	}
	rec := store.CommitDecision{
		ServiceARN:  s.svc.ARN,
		Commit:      head,
		Author:      info.Author,
		Message:     info.Message,
		CommittedAt: info.Time,
		Trigger:     trigger,
	}
	return w.record(ctx, s.svc.Name, prev, rec, d)
}

// record writes a decision (and starts the deployment it calls for).
// Losing a race to another decision about the same head is not an error.
func (w *Watcher) record(ctx context.Context, service, prev string, rec store.CommitDecision, d Decision) error {
	rec.Decision, rec.Reason = store.DecisionSkip, d.Reason
	if d.Deploy {
		rec.Decision = store.DecisionDeploy
	}
	failpoint.Hit("autodeploy.decided")
	got, err := w.rec.RecordCommit(ctx, prev, rec)
	if errors.Is(err, store.ErrConflict) {
		return nil
	}
	if err != nil {
		return err
	}
	failpoint.Hit("autodeploy.recorded")
	w.log.Info("automatic deployment decision", "service", service, "revision", rec.Commit,
		"decision", got.Decision, "reason", got.Reason, "operation", got.OperationID)
	return nil
}
