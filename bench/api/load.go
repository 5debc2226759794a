package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
)

// The kinds of call, and their share of the calls in percent.
const (
	kDescribe = iota
	kListServices
	kListTags
	kTag
	kUntag
	kUpdate
	nKinds
)

var (
	kindNames = [nKinds]string{"DescribeService", "ListServices", "ListTagsForResource", "TagResource", "UntagResource", "UpdateService"}
	mix       = [nKinds]int{32, 10, 25, 22, 10, 1}
)

// service is one service under load, and what the client knows of its
// updates.
type service struct {
	name, arn string
	updated   bool // UpdateService redeploys it

	mu sync.Mutex
	// gen is the GEN of its last update answered OK.
	gen int
	// busy: an update was sent and the service has not been seen
	// settled since it was answered.
	busy bool
	// answered is when the last UpdateService was answered (zero while
	// one is in flight).
	answered time.Time
	// ops are the operations of the updates answered OK.
	ops []string
	// notReflected counts describes, sent after an update was answered,
	// that showed the service settled with another GEN.
	notReflected int
}

// call is one call: planned, then done by its own goroutine.
type call struct {
	kind  int // what was sent: an update slot that found every updated service busy is a DescribeService
	slot  int // what was planned
	svc   int
	key   int    // tag writes
	value string // TagResource's value
	gen   int    // UpdateService's GEN

	at, start, end time.Time // scheduled, sent, answered
	err            error
	tags           map[string]string // ListTagsForResource's answer
}

// load drives the calls.
type load struct {
	cfg      config
	client   *apprunner.Client
	repo     string
	svcs     []*service
	updaters []*service
	rr       atomic.Int64 // round robin over updaters
	calls    []call
	busySlot atomic.Int64 // update slots sent as DescribeService
}

func newLoad(cfg config, client *apprunner.Client, repo string, svcs []*service) *load {
	l := &load{cfg: cfg, client: client, repo: repo, svcs: svcs}
	for _, s := range svcs {
		if s.updated {
			l.updaters = append(l.updaters, s)
		}
	}
	return l
}

func keyName(k int) string { return fmt.Sprintf("k%02d", k) }

// plan fills in what each call does, from the seed.
func (l *load) plan() {
	n := int(l.cfg.rate * l.cfg.duration.Seconds())
	l.calls = make([]call, n)
	rng := rand.New(rand.NewPCG(l.cfg.seed, 0))
	writes := 0
	for i := range l.calls {
		c := &l.calls[i]
		r := rng.IntN(100)
		for c.slot = 0; r >= mix[c.slot]; c.slot++ {
			r -= mix[c.slot]
		}
		if c.slot == kUpdate && len(l.updaters) == 0 {
			c.slot = kDescribe
		}
		c.kind = c.slot
		c.svc = rng.IntN(len(l.svcs))
		if c.slot == kTag || c.slot == kUntag {
			// Writes go round the keys of every service, so each key is
			// written again only after services×keys other writes.
			c.svc, c.key = writes%len(l.svcs), writes/len(l.svcs)%l.cfg.keys
			c.value = fmt.Sprintf("v%d", i)
			writes++
		}
	}
}

// drive sends every call at its scheduled time, each from a goroutine of
// its own, and waits for the answers.
func (l *load) drive(ctx context.Context) {
	l.plan()
	start := time.Now().Add(50 * time.Millisecond)
	var wg sync.WaitGroup
	for i := range l.calls {
		at := start.Add(time.Duration(float64(i) * float64(time.Second) / l.cfg.rate))
		if d := time.Until(at); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.do(ctx, &l.calls[i], at)
		}()
	}
	wg.Wait()
}

// pickUpdater takes the next updated service that has no update under way
// and returns it with the GEN to send, or nil if every one is busy.
func (l *load) pickUpdater() (*service, int) {
	first := int(l.rr.Add(1))
	for j := range l.updaters {
		s := l.updaters[(first+j)%len(l.updaters)]
		s.mu.Lock()
		if !s.busy {
			s.busy, s.answered = true, time.Time{}
			gen := s.gen + 1
			s.mu.Unlock()
			return s, gen
		}
		s.mu.Unlock()
	}
	return nil, 0
}

func (l *load) do(ctx context.Context, c *call, at time.Time) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c.at = at
	var upd *service
	if c.slot == kUpdate {
		if upd, c.gen = l.pickUpdater(); upd == nil {
			c.kind = kDescribe
			l.busySlot.Add(1)
		} else {
			c.svc = slices.Index(l.svcs, upd)
		}
	}
	s := l.svcs[c.svc]
	arn := aws.String(s.arn)
	c.start = time.Now()
	switch c.kind {
	case kDescribe:
		var out *apprunner.DescribeServiceOutput
		out, c.err = l.client.DescribeService(ctx, &apprunner.DescribeServiceInput{ServiceArn: arn})
		c.end = time.Now()
		if c.err == nil {
			if got := aws.ToString(out.Service.ServiceArn); got != s.arn {
				c.err = fmt.Errorf("DescribeService %s answered %s", s.arn, got)
			} else if s.updated {
				s.observe(c.start, out.Service)
			}
		}
	case kListServices:
		var out *apprunner.ListServicesOutput
		out, c.err = l.client.ListServices(ctx, &apprunner.ListServicesInput{})
		c.end = time.Now()
		if c.err == nil && len(out.ServiceSummaryList) != len(l.svcs) {
			c.err = fmt.Errorf("ListServices listed %d services, want %d", len(out.ServiceSummaryList), len(l.svcs))
		}
	case kListTags:
		var out *apprunner.ListTagsForResourceOutput
		out, c.err = l.client.ListTagsForResource(ctx, &apprunner.ListTagsForResourceInput{ResourceArn: arn})
		c.end = time.Now()
		if c.err == nil {
			c.tags = map[string]string{}
			for _, t := range out.Tags {
				c.tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
		}
	case kTag:
		_, c.err = l.client.TagResource(ctx, &apprunner.TagResourceInput{ResourceArn: arn,
			Tags: []types.Tag{{Key: aws.String(keyName(c.key)), Value: aws.String(c.value)}}})
		c.end = time.Now()
	case kUntag:
		_, c.err = l.client.UntagResource(ctx, &apprunner.UntagResourceInput{ResourceArn: arn, TagKeys: []string{keyName(c.key)}})
		c.end = time.Now()
	case kUpdate:
		var out *apprunner.UpdateServiceOutput
		out, c.err = l.client.UpdateService(ctx, &apprunner.UpdateServiceInput{ServiceArn: arn, SourceConfiguration: source(l.repo, c.gen)})
		c.end = time.Now()
		upd.mu.Lock()
		upd.answered = c.end
		if c.err == nil {
			upd.gen = c.gen
			upd.ops = append(upd.ops, aws.ToString(out.OperationId))
		}
		upd.mu.Unlock()
	}
}

// observe takes what a DescribeService sent at sent saw of an updated
// service: once it is settled after an update was answered, the service
// can be updated again, and it must show that update's GEN.
func (s *service) observe(sent time.Time, d *types.Service) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.busy || s.answered.IsZero() || !sent.After(s.answered) || d.Status == types.ServiceStatusOperationInProgress {
		return
	}
	s.busy = false
	if genOf(d) != fmt.Sprint(s.gen) {
		s.notReflected++
	}
}

// verdict is what verify found.
type verdict struct {
	tagWrites, updates          int
	lostTags, lostUpdates       int
	tagReads, staleReads        int
	lostDetails, staleDetails   []string
	busySlots, notReflectedSeen int
}

// verify checks, once every operation has settled, that every write is
// there, and that every read during the load agreed with the writes.
func (l *load) verify(ctx context.Context) (verdict, error) {
	var v verdict
	v.busySlots = int(l.busySlot.Load())
	type key struct{ svc, key int }
	writes := map[key][]tagWrite{}
	for _, c := range l.calls {
		if c.err != nil || (c.kind != kTag && c.kind != kUntag) {
			continue
		}
		v.tagWrites++
		w := tagWrite{Start: c.start, End: c.end}
		if c.kind == kTag {
			w.State = tagState{Present: true, Value: c.value}
		}
		writes[key{c.svc, c.key}] = append(writes[key{c.svc, c.key}], w)
	}
	check := func(svc int, tags map[string]string, start, end time.Time) []string {
		var bad []string
		for k := range l.cfg.keys {
			val, ok := tags[keyName(k)]
			got := tagState{Present: ok, Value: val}
			ws := writes[key{svc, k}]
			if !consistent(ws, start, end, got) {
				bad = append(bad, fmt.Sprintf("%s %s: %v, want one of %v", l.svcs[svc].name, keyName(k), got, allowed(ws, start, end)))
			}
		}
		for k := range tags {
			var n int
			if _, err := fmt.Sscanf(k, "k%d", &n); err != nil || n >= l.cfg.keys || keyName(n) != k {
				bad = append(bad, fmt.Sprintf("%s: tag %s was never written", l.svcs[svc].name, k))
			}
		}
		return bad
	}
	for _, c := range l.calls {
		if c.err != nil || c.kind != kListTags {
			continue
		}
		v.tagReads++
		if bad := check(c.svc, c.tags, c.start, c.end); len(bad) > 0 {
			v.staleReads++
			v.staleDetails = append(v.staleDetails, bad...)
		}
	}
	now := time.Now()
	for i, s := range l.svcs {
		out, err := l.client.ListTagsForResource(ctx, &apprunner.ListTagsForResourceInput{ResourceArn: aws.String(s.arn)})
		if err != nil {
			return v, fmt.Errorf("verify: %w", err)
		}
		tags := map[string]string{}
		for _, t := range out.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		bad := check(i, tags, now, now)
		v.lostTags += len(bad)
		v.lostDetails = append(v.lostDetails, bad...)
	}
	for _, s := range l.updaters {
		v.updates += len(s.ops)
		v.notReflectedSeen += s.notReflected
		out, err := l.client.DescribeService(ctx, &apprunner.DescribeServiceInput{ServiceArn: aws.String(s.arn)})
		if err != nil {
			return v, fmt.Errorf("verify: %w", err)
		}
		if got := genOf(out.Service); got != fmt.Sprint(s.gen) {
			v.lostUpdates++
			v.lostDetails = append(v.lostDetails, fmt.Sprintf("%s: GEN=%s, want the last update's %d", s.name, got, s.gen))
		}
		status := map[string]types.OperationStatus{}
		p := apprunner.NewListOperationsPaginator(l.client, &apprunner.ListOperationsInput{ServiceArn: aws.String(s.arn)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return v, fmt.Errorf("verify: %w", err)
			}
			for _, o := range page.OperationSummaryList {
				status[aws.ToString(o.Id)] = o.Status
			}
		}
		for _, op := range s.ops {
			if st := status[op]; st != types.OperationStatusSucceeded {
				v.lostUpdates++
				v.lostDetails = append(v.lostDetails, fmt.Sprintf("%s: update %s is %q, want SUCCEEDED", s.name, op, st))
			}
		}
	}
	v.lostUpdates += v.notReflectedSeen
	return v, nil
}

// percentile returns the q-quantile of sorted durations.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// report prints the figures and reports whether every goal was met.
func (l *load) report(v verdict) bool {
	var all, lag []time.Duration
	var byKind [nKinds][]time.Duration
	var errs []string
	nErr := 0
	first, last := l.calls[0].start, l.calls[0].start
	for _, c := range l.calls {
		d := c.end.Sub(c.at)
		all = append(all, d)
		byKind[c.kind] = append(byKind[c.kind], d)
		lag = append(lag, c.start.Sub(c.at))
		first, last = minTime(first, c.start), maxTime(last, c.start)
		if c.err != nil {
			nErr++
			if len(errs) < 5 {
				errs = append(errs, fmt.Sprintf("%s: %v", kindNames[c.kind], c.err))
			}
		}
	}
	for _, d := range append([][]time.Duration{all, lag}, byKind[:]...) {
		slices.Sort(d)
	}
	n := len(l.calls)
	rate := float64(n-1) / last.Sub(first).Seconds()
	p50, p99, pmax := percentile(all, 0.50), percentile(all, 0.99), all[len(all)-1]
	fmt.Printf("\nAPI load: %d services (%d redeployed by UpdateService), open loop at %.0f calls/s, SigV4 (aws-sdk-go-v2), latency from each call's scheduled time\n",
		len(l.svcs), len(l.updaters), l.cfg.rate)
	fmt.Printf("  calls:       %d in %.2f s: %.1f/s; send lag p99 %s, max %s\n", n, last.Sub(first).Seconds(), rate, ms(percentile(lag, 0.99)), ms(lag[len(lag)-1]))
	fmt.Printf("  errors:      %d\n", nErr)
	for _, e := range errs {
		fmt.Printf("    %s\n", e)
	}
	fmt.Printf("  lost writes: %d (%d tag writes on %d keys, %d updates; %d update slots found every updated service busy and sent DescribeService)\n",
		v.lostTags+v.lostUpdates, v.tagWrites, len(l.svcs)*l.cfg.keys, v.updates, v.busySlots)
	fmt.Printf("  stale reads: %d of %d ListTagsForResource\n", v.staleReads, v.tagReads)
	for _, d := range append(v.lostDetails, v.staleDetails...)[:min(5, len(v.lostDetails)+len(v.staleDetails))] {
		fmt.Printf("    %s\n", d)
	}
	fmt.Printf("  latency:     p50 %s, p99 %s, max %s (goal p99 < %s)\n", ms(p50), ms(p99), ms(pmax), ms(goalP99))
	fmt.Printf("  %-20s %6s %10s %10s %10s\n", "call", "n", "p50", "p99", "max")
	for k, d := range byKind {
		if len(d) > 0 {
			fmt.Printf("  %-20s %6d %10s %10s %10s\n", kindNames[k], len(d), ms(percentile(d, 0.5)), ms(percentile(d, 0.99)), ms(d[len(d)-1]))
		}
	}
	ok := nErr == 0 && v.lostTags+v.lostUpdates == 0 && v.staleReads == 0 && p99 < goalP99
	if ok {
		fmt.Println("PASS: 0 errors, 0 lost writes, 0 stale reads, p99 under the goal")
	} else {
		fmt.Println("FAIL")
	}
	return ok
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
