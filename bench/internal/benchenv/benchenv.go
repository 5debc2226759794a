// Package benchenv starts a real Slipway daemon and a git repository for
// the benchmarks in bench/.
package benchenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
)

// Env is a temporary directory with a built slipway binary.
type Env struct {
	Dir string
	Bin string
}

// New builds slipway into a new temporary directory.
func New() (*Env, error) {
	dir, err := os.MkdirTemp("", "slipway-bench-")
	if err != nil {
		return nil, err
	}
	e := &Env{Dir: dir, Bin: filepath.Join(dir, "slipway")}
	if out, err := exec.Command("go", "build", "-o", e.Bin, "./cmd/slipway").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build: %v\n%s", err, out)
	}
	return e, nil
}

// Close removes the directory.
func (e *Env) Close() { os.RemoveAll(e.Dir) }

// Repo is a git repository in the environment.
type Repo struct{ Dir string }

// NewRepo creates a repository with files and commits them.
func (e *Env) NewRepo(files map[string]string) (*Repo, error) {
	r := &Repo{Dir: filepath.Join(e.Dir, "repo")}
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		return nil, err
	}
	if err := r.Git("init", "-q", "-b", "main"); err != nil {
		return nil, err
	}
	return r, r.Commit(files, "initial")
}

// Git runs git in the repository.
func (r *Repo) Git(args ...string) error {
	cmd := exec.Command("git", args...)
	cmd.Dir = r.Dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=b", "GIT_AUTHOR_EMAIL=b@b", "GIT_COMMITTER_NAME=b", "GIT_COMMITTER_EMAIL=b@b")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git %v: %v: %s", args, err, out)
	}
	return nil
}

// Commit writes files and commits them.
func (r *Repo) Commit(files map[string]string, msg string) error {
	for name, content := range files {
		p := filepath.Join(r.Dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	if err := r.Git("add", "-A"); err != nil {
		return err
	}
	return r.Git("commit", "-q", "-m", msg)
}

// Server is a running daemon.
type Server struct {
	DataDir string
	API     string
	Router  string // the router's host:port
	Client  *apprunner.Client
	cmd     *exec.Cmd
}

// Start starts slipway with extra flags.
func (e *Env) Start(extra ...string) (*Server, error) {
	s := &Server{DataDir: filepath.Join(e.Dir, "data"), API: FreeAddr(), Router: FreeAddr()}
	args := append([]string{"server", "--data-dir", s.DataDir, "--api-listen", s.API, "--router-listen", s.Router, "--log-level", "warn"}, extra...)
	s.cmd = exec.Command(e.Bin, args...)
	s.cmd.Stderr = os.Stderr
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		if resp, err := http.Get("http://" + s.API + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("slipway did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	out, err := exec.Command(e.Bin, "env", "--data-dir", s.DataDir).Output()
	if err != nil {
		return nil, err
	}
	var key, secret string
	for _, l := range strings.Split(string(out), "\n") {
		k, v, _ := strings.Cut(strings.TrimPrefix(l, "export "), "=")
		switch v = strings.Trim(v, "'"); k {
		case "AWS_ACCESS_KEY_ID":
			key = v
		case "AWS_SECRET_ACCESS_KEY":
			secret = v
		}
	}
	s.Client = apprunner.New(apprunner.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://" + s.API),
		Credentials:  credentials.NewStaticCredentialsProvider(key, secret, ""),
	})
	return s, nil
}

// Stop stops the daemon, then the app instances it started (each shim
// stops its app on SIGTERM).
func (s *Server) Stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()
	pids, _ := filepath.Glob(filepath.Join(s.DataDir, "run", "*.pid"))
	for _, p := range pids {
		var pid int
		if b, err := os.ReadFile(p); err == nil {
			fmt.Sscan(string(b), &pid)
			if pid > 1 {
				syscall.Kill(pid, syscall.SIGTERM)
			}
		}
	}
}

// WaitOp polls ListOperations every 2 ms until operation id ends.
func (s *Server) WaitOp(ctx context.Context, arn *string, id string) error {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		out, err := s.Client.ListOperations(ctx, &apprunner.ListOperationsInput{ServiceArn: arn, MaxResults: aws.Int32(5)})
		if err != nil {
			return err
		}
		for _, o := range out.OperationSummaryList {
			if aws.ToString(o.Id) != id {
				continue
			}
			switch o.Status {
			case types.OperationStatusSucceeded:
				return nil
			case types.OperationStatusFailed, types.OperationStatusRollbackSucceeded, types.OperationStatusRollbackFailed:
				return fmt.Errorf("operation %s ended %s", id, o.Status)
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	return fmt.Errorf("operation %s did not end", id)
}

// FreeAddr returns a free loopback address.
func FreeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// WaitListening waits until something accepts connections at addr.
func WaitListening(addr string) {
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// Median returns the median of d.
func Median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// Ms converts d to milliseconds.
func Ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
