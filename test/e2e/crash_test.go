package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"

	"github.com/slipwayhq/slipway/internal/failpoint"
	"github.com/slipwayhq/slipway/internal/runtime/process"
	"github.com/slipwayhq/slipway/test/testenv"
)

// crashCase is one kill: at a failpoint (point, see internal/failpoint), or
// delay after the operation was asked for.
type crashCase struct {
	op    string // create, deploy, update, pause, resume, delete, auto, rollback
	point string
	delay time.Duration
	seed  uint64
}

// key names the case for SLIPWAY_CRASH_ONLY.
func (c crashCase) key() string {
	if c.point != "" {
		return c.op + "@" + c.point
	}
	return fmt.Sprintf("random#%d", c.seed)
}

func (c crashCase) String() string {
	if c.point != "" {
		return c.key()
	}
	return fmt.Sprintf("%s (%s after %s)", c.key(), c.op, c.delay)
}

// crashPoints are the named kills: each operation at each point it passes
// where a kill leaves state of another shape.
var crashPoints = []crashCase{
	{op: "create", point: "operation.pending"},
	{op: "create", point: "operation.started"},
	{op: "create", point: "deploy.after-fetch"},
	{op: "create", point: "deploy.after-build"},
	{op: "create", point: "instance.started"},
	{op: "create", point: "deploy.health-passed"},
	{op: "create", point: "deploy.before-switch"},
	{op: "create", point: "deploy.after-switch"},
	{op: "deploy", point: "deploy.after-fetch"},
	{op: "deploy", point: "deploy.after-build"},
	{op: "deploy", point: "deploy.after-build>store.after-commit"}, // the build recorded
	{op: "deploy", point: "instance.started"},
	{op: "deploy", point: "deploy.health-passed"},
	{op: "deploy", point: "deploy.before-switch"},
	{op: "deploy", point: "deploy.before-switch>store.before-commit"},
	{op: "deploy", point: "deploy.after-switch"},
	{op: "deploy", point: "deploy.draining"},
	{op: "deploy", point: "deploy.retired"},
	{op: "update", point: "deploy.after-fetch"},
	{op: "update", point: "deploy.health-passed"},
	{op: "update", point: "deploy.after-switch"},
	{op: "update", point: "deploy.draining"},
	{op: "pause", point: "operation.started"},
	{op: "pause", point: "pause.route-paused"},
	{op: "pause", point: "pause.stopped"},
	{op: "pause", point: "pause.stopped>store.before-commit"},
	{op: "pause", point: "pause.stopped>store.after-commit"},
	{op: "resume", point: "operation.started"},
	{op: "resume", point: "instance.started"},
	{op: "resume", point: "resume.health-passed"},
	{op: "resume", point: "resume.health-passed>store.after-commit"},
	{op: "delete", point: "operation.started"},
	{op: "delete", point: "delete.route-removed"},
	{op: "delete", point: "delete.stopped"},
	{op: "delete", point: "delete.builds-removed"},
	{op: "delete", point: "delete.builds-removed>store.after-commit"},
	{op: "auto", point: "autodeploy.fetched"},
	{op: "auto", point: "autodeploy.decided"},
	{op: "auto", point: "autodeploy.recorded"},
	{op: "auto", point: "autodeploy.recorded>deploy.after-build"},
	{op: "auto", point: "autodeploy.recorded>deploy.after-switch"},
	{op: "rollback", point: "fail.rolling-back"},
	{op: "rollback", point: "fail.candidates-stopped"},
	{op: "rollback", point: "fail.candidates-stopped>store.after-commit"},
}

// randomKills is how many seeded random kills follow the named ones.
const randomKills = 20

var crashOps = []string{"create", "deploy", "update", "pause", "resume", "delete", "auto", "rollback"}

// randomCase is the kill of seed: the operations take turns, and the seed
// picks the moment within the operation's window (deployments here take 0.3
// to 1 s, automatic ones up to a poll interval more).
func randomCase(seed uint64) crashCase {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	return crashCase{op: crashOps[int(seed-1)%len(crashOps)], delay: time.Duration(r.IntN(1500)) * time.Millisecond, seed: seed}
}

// TestCrash kills the daemon with SIGKILL at every named failpoint and at
// seeded random moments while services are created, deployed, updated,
// paused, resumed, deleted, deployed automatically and rolled back. After
// each restart, within 60 s, no operation may be left unfinished, no
// service OPERATION_IN_PROGRESS, every service must answer with the version
// it should (or be paused, or gone) and no instance may run that no
// service has. One daemon and data directory serve all kills.
//
// SLIPWAY_CRASH_ONLY=deploy@deploy.after-switch,random#7 runs only the
// cases named (after the setup).
func TestCrash(t *testing.T) {
	w := newCrashWorld(t)
	cases := crashPoints
	for seed := range uint64(randomKills) {
		cases = append(cases, randomCase(seed+1))
	}
	var filter []string
	if f := os.Getenv("SLIPWAY_CRASH_ONLY"); f != "" {
		filter = strings.Split(f, ",")
	}
	named, random := 0, 0
	var slowest time.Duration
	began := time.Now()
	for _, c := range cases {
		if filter != nil && !slices.Contains(filter, c.key()) {
			continue
		}
		took := w.crash(c)
		slowest = max(slowest, took)
		if c.point != "" {
			named++
		} else {
			random++
		}
	}
	t.Logf("crash suite: %d named kill points and %d random kills survived, 0 operations stuck; slowest recovery %s; %d services; %s in all",
		named, random, slowest.Round(100*time.Millisecond), len(w.svcs), time.Since(began).Round(time.Second))
}

// crashSvc is what a service should be after the kill.
type crashSvc struct {
	name, arn, url string
	dir            string // its source directory: app, auto or rb
	state          string // running, paused or deleted
	version        string // of its live build
	greeting       string
}

// want is the start of what the service answers.
func (s *crashSvc) want() string { return s.name + " " + s.version + " " + s.greeting + " pid=" }

type crashWorld struct {
	t    *testing.T
	s    *testenv.Server
	repo *testenv.GitRepo
	sdk  *apprunner.Client
	svcs []*crashSvc
	// versions is the version at the head of each source directory.
	versions map[string]int
	names    int
	auto, rb *crashSvc
	// failpoints counts the kills by failpoints so far.
	failpoints int
}

func newCrashWorld(t *testing.T) *crashWorld {
	s := startServer(t, "--git-poll-interval", "300ms")
	repo := newGitRepo(t)
	for _, dir := range []string{"app", "auto", "rb"} {
		repo.Write(dir+"/app.py", testenv.PyApp)
		repo.Write(dir+"/version.txt", "v1\n")
	}
	repo.Commit("three apps")
	id, secret := s.Credentials()
	w := &crashWorld{t: t, s: s, repo: repo, versions: map[string]int{"app": 1, "auto": 1, "rb": 1},
		sdk: apprunner.New(apprunner.Options{
			Region:           "us-east-1",
			BaseEndpoint:     aws.String("http://" + s.API),
			Credentials:      credentials.NewStaticCredentialsProvider(id, secret, ""),
			RetryMaxAttempts: 1,
		})}
	w.auto = w.create("auto", true, true)
	w.rb = w.create("rb", false, true)
	w.create("app", false, true)
	w.create("app", false, true)
	w.settle(nil, "")
	return w
}

// create asks for a new service and returns it as it should end; a daemon
// that dies before it answers is an error if must.
func (w *crashWorld) create(dir string, auto, must bool) *crashSvc {
	w.names++
	svc := &crashSvc{name: fmt.Sprintf("crash-%d", w.names), dir: dir, state: "running",
		version: fmt.Sprintf("v%d", w.versions[dir]), greeting: "g0"}
	if dir != "app" {
		svc.name = "crash-" + dir
	}
	out, err := w.s.AWS("create-service", "--service-name", svc.name,
		"--source-configuration", mustJSON(w.t, w.source(svc, auto)),
		"--health-check-configuration", mustJSON(w.t, fastHealth))
	switch {
	case err == nil:
		svc.arn, svc.url = str(out, "Service", "ServiceArn"), str(out, "Service", "ServiceUrl")
	case must:
		w.t.Fatalf("create-service %s: %v", svc.name, err)
	}
	w.svcs = append(w.svcs, svc)
	return svc
}

func (w *crashWorld) source(svc *crashSvc, auto bool) map[string]any {
	src := apiValuesSource(w.repo, svc.dir, map[string]any{"Runtime": "PYTHON_3", "StartCommand": "python3 app.py",
		"RuntimeEnvironmentVariables": map[string]any{"APP_NAME": svc.name, "GREETING": svc.greeting}})
	src["AutoDeploymentsEnabled"] = auto
	return src
}

// commit moves a source directory's head to its next version (or to one
// that exits at once).
func (w *crashWorld) commit(dir string, broken bool) {
	v := "broken"
	if !broken {
		w.versions[dir]++
		v = fmt.Sprintf("v%d", w.versions[dir])
	}
	w.repo.Write(dir+"/version.txt", v+"\n")
	w.repo.Commit(dir + " " + v)
}

// pick returns the newest plain service in state, making one there if
// there is none (or fewer than least).
func (w *crashWorld) pick(state string, least int) *crashSvc {
	var got []*crashSvc
	for _, svc := range w.svcs {
		if svc.dir == "app" && svc.state == state {
			got = append(got, svc)
		}
	}
	if len(got) >= least {
		return got[len(got)-1]
	}
	if state == "paused" {
		svc := w.pick("running", 2)
		w.s.MustAWS("pause-service", "--service-arn", svc.arn)
		svc.state = "paused"
		w.settle(nil, "")
		return svc
	}
	svc := w.create("app", false, true)
	w.settle(nil, "")
	return svc
}

// trigger asks for c's operation and returns the service it works on, the
// operation's ID when the daemon answered before dying, and the status the
// operation must end with.
func (w *crashWorld) trigger(c crashCase) (svc *crashSvc, opID, want string) {
	aws := func(args ...string) map[string]any {
		out, err := w.s.AWS(args...)
		if err != nil && c.point == "" {
			w.t.Fatalf("%s: aws apprunner %s: %v", c, strings.Join(args, " "), err)
		}
		// A failpoint may kill the daemon before it answered: the
		// operation was recorded, and is found after the restart.
		return out
	}
	want = "SUCCEEDED"
	switch c.op {
	case "create":
		w.commit("app", false) // a new build, not one reused
		svc = w.create("app", false, c.point == "")
		return svc, "", want
	case "deploy":
		svc = w.pick("running", 1)
		w.commit("app", false)
		svc.version = fmt.Sprintf("v%d", w.versions["app"])
		opID, _ = aws("start-deployment", "--service-arn", svc.arn)["OperationId"].(string)
	case "update":
		svc = w.pick("running", 1)
		svc.greeting = fmt.Sprintf("g%d", w.names)
		w.names++
		svc.version = fmt.Sprintf("v%d", w.versions["app"]) // an update deploys the branch head
		opID, _ = aws("update-service", "--service-arn", svc.arn,
			"--source-configuration", mustJSON(w.t, w.source(svc, false)))["OperationId"].(string)
	case "pause":
		svc = w.pick("running", 2)
		svc.state = "paused"
		opID, _ = aws("pause-service", "--service-arn", svc.arn)["OperationId"].(string)
	case "resume":
		svc = w.pick("paused", 1)
		svc.state = "running"
		opID, _ = aws("resume-service", "--service-arn", svc.arn)["OperationId"].(string)
	case "delete":
		svc = w.pick("running", 2)
		svc.state = "deleted"
		opID, _ = aws("delete-service", "--service-arn", svc.arn)["OperationId"].(string)
	case "auto":
		svc = w.auto
		w.commit("auto", false)
		svc.version = fmt.Sprintf("v%d", w.versions["auto"])
	case "rollback":
		svc, want = w.rb, "ROLLBACK_SUCCEEDED"
		w.commit("rb", true)
		opID, _ = aws("start-deployment", "--service-arn", svc.arn)["OperationId"].(string)
	default:
		w.t.Fatalf("unknown operation %q", c.op)
	}
	return svc, opID, want
}

// crash runs one case and returns how long recovery took after the restart.
func (w *crashWorld) crash(c crashCase) time.Duration {
	t := w.t
	if c.point != "" {
		w.s.Stop()
		w.s.RestartWith(failpoint.EnvVar + "=" + c.point)
	}
	svc, opID, want := w.trigger(c)
	if c.point != "" {
		if !w.s.WaitExit(30 * time.Second) {
			t.Fatalf("%s: the daemon did not reach the failpoint within 30s\n%s", c, w.s.DaemonLog())
		}
		w.failpoints++
		log, _ := os.ReadFile(filepath.Join(w.s.DataDir, "daemon.log"))
		if strings.Count(string(log), "failpoint: killing the process at ") != w.failpoints {
			t.Fatalf("%s: the daemon died, but not at the failpoint\n%s", c, w.s.DaemonLog())
		}
	} else {
		time.Sleep(c.delay)
		w.s.Kill()
	}
	start := time.Now()
	w.s.Restart()
	w.settle(svc, want)
	took := time.Since(start)
	if opID != "" && c.op != "auto" {
		if st := w.opStatus(svc, opID); st != want {
			t.Fatalf("%s: operation %s ended %s, want %s\n%s", c, opID, st, want, w.s.Logs(svc.name, opID))
		}
	}
	if c.op == "rollback" {
		// The head goes back to the version rb runs, for the next case.
		w.repo.Write("rb/version.txt", svc.version+"\n")
		w.repo.Commit("rb " + svc.version + " again")
	}
	t.Logf("%s: recovered in %s", c, took.Round(100*time.Millisecond))
	return took
}

func (w *crashWorld) opStatus(svc *crashSvc, opID string) string {
	// A connection pooled before the kill can fail one call after the
	// restart; what is asked is the operation's end, not the first call.
	var (
		out *apprunner.ListOperationsOutput
		err error
	)
	for try := 0; try < 5; try++ {
		if out, err = w.sdk.ListOperations(context.Background(), &apprunner.ListOperationsInput{ServiceArn: aws.String(svc.arn)}); err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		return err.Error()
	}
	for _, o := range out.OperationSummaryList {
		if aws.ToString(o.Id) == opID {
			return string(o.Status)
		}
	}
	return "missing"
}

// settle waits up to 60 s until the daemon is consistent (see TestCrash);
// when op names a service, its newest operation must have ended want.
func (w *crashWorld) settle(op *crashSvc, want string) {
	w.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		if err = w.consistent(op, want); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	w.t.Fatalf("not consistent 60s after the restart: %v\n%s", err, w.s.DaemonLog())
}

func (w *crashWorld) consistent(op *crashSvc, want string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := w.sdk.ListServices(ctx, &apprunner.ListServicesInput{})
	if err != nil {
		return err
	}
	byName := map[string]types.ServiceSummary{}
	for _, s := range list.ServiceSummaryList {
		byName[aws.ToString(s.ServiceName)] = s
		if s.Status == types.ServiceStatusOperationInProgress {
			return fmt.Errorf("%s is still %s", aws.ToString(s.ServiceName), s.Status)
		}
	}
	running := 0
	for _, svc := range w.svcs {
		sum, listed := byName[svc.name]
		if svc.arn == "" && listed {
			// Its creation was answered by a dying daemon.
			svc.arn, svc.url = aws.ToString(sum.ServiceArn), aws.ToString(sum.ServiceUrl)
		}
		if svc.state == "deleted" {
			if listed && sum.Status != types.ServiceStatusDeleted {
				return fmt.Errorf("deleted %s is listed %s", svc.name, sum.Status)
			}
			if code, body, err := w.s.Get(svc.url, "/"); err != nil || code != 404 {
				return fmt.Errorf("deleted %s answers %d %q (%v), want 404", svc.name, code, body, err)
			}
			continue
		}
		if !listed {
			return fmt.Errorf("%s is not listed", svc.name)
		}
		ops, err := w.sdk.ListOperations(ctx, &apprunner.ListOperationsInput{ServiceArn: sum.ServiceArn})
		if err != nil {
			return err
		}
		for i, o := range ops.OperationSummaryList {
			switch o.Status {
			case types.OperationStatusPending, types.OperationStatusInProgress, types.OperationStatusRollbackInProgress:
				return fmt.Errorf("%s: operation %s %s is %s", svc.name, o.Type, aws.ToString(o.Id), o.Status)
			}
			if i == 0 && svc == op && string(o.Status) != want {
				return fmt.Errorf("%s: newest operation %s %s ended %s, want %s", svc.name, o.Type, aws.ToString(o.Id), o.Status, want)
			}
		}
		code, body, err := w.s.Get(svc.url, "/")
		switch svc.state {
		case "paused":
			if sum.Status != types.ServiceStatusPaused || code != 503 {
				return fmt.Errorf("paused %s is %s and answers %d %q (%v), want PAUSED and 503", svc.name, sum.Status, code, body, err)
			}
		default:
			running++
			if sum.Status != types.ServiceStatusRunning || code != 200 || !strings.HasPrefix(body, svc.want()) {
				return fmt.Errorf("%s is %s and answers %d %q (%v), want RUNNING and %q", svc.name, sum.Status, code, body, err, svc.want())
			}
		}
	}
	return w.instancesMatch(running)
}

// instancesMatch checks the data directory's instances: one shim per
// running service (each runs one instance), and no process working in the
// data directory outside a shim's session (an app or build left behind).
func (w *crashWorld) instancesMatch(want int) error {
	stateDir := filepath.Join(w.s.DataDir, "run")
	procs, _ := filepath.Glob("/proc/[0-9]*")
	shims := map[string]bool{}
	type proc struct{ pid, sid, cwd string }
	var inData []proc
	for _, p := range procs {
		pid := filepath.Base(p)
		cmdline, err := os.ReadFile(p + "/cmdline")
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		for i, a := range args {
			if a == "--state" && i+1 < len(args) && args[i+1] == stateDir && slices.Contains(args, process.ShimCommand) {
				shims[pid] = true
			}
		}
		// Apps and builds work in builds/.
		cwd, err := os.Readlink(p + "/cwd")
		if err != nil || !strings.HasPrefix(cwd, filepath.Join(w.s.DataDir, "builds")+"/") {
			continue
		}
		stat, err := os.ReadFile(p + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		inData = append(inData, proc{pid: pid, sid: f[3], cwd: cwd})
	}
	if len(shims) != want {
		return fmt.Errorf("%d instance shims run, want %d (one per running service)", len(shims), want)
	}
	for _, p := range inData {
		if !shims[p.sid] {
			return fmt.Errorf("process %s in %s belongs to no instance (session %s)", p.pid, p.cwd, p.sid)
		}
	}
	return nil
}
