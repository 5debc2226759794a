// Command docker measures Slipway's deployment overhead on the Docker
// runtime: StartDeployment → SUCCEEDED for an image service whose tag was
// just pushed, minus what pulling that image and starting its container
// until it answers take when done directly through the Engine API.
//
// It needs a Docker Engine and a registry on loopback: by default the ones
// the tests start (go test ./internal/runtime/docker), else -docker-host and
// -registry.
//
//	go run ./bench/docker [-n 5]
package main

import (
	"archive/tar"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/slipwayhq/slipway/bench/internal/benchenv"
)

func main() {
	n := flag.Int("n", 5, "deployments to measure")
	host := flag.String("docker-host", "unix:///tmp/slipway-dockerenv/docker.sock", "Docker Engine")
	reg := flag.String("registry", "", "registry host:port (default: the test environment's)")
	flag.Parse()
	if *reg == "" {
		b, err := os.ReadFile("/tmp/slipway-dockerenv/registry.addr")
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: no -registry and no test registry running: go test ./internal/runtime/docker starts one")
			os.Exit(1)
		}
		*reg = strings.TrimSpace(string(b))
	}
	if err := run(*n, *host, *reg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(n int, host, reg string) error {
	env, err := benchenv.New()
	if err != nil {
		return err
	}
	defer env.Close()
	app := filepath.Join(env.Dir, "testapp")
	build := exec.Command("go", "build", "-o", app, "./test/dockerenv/testapp")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build testapp: %v\n%s", err, out)
	}
	bin, err := os.ReadFile(app)
	if err != nil {
		return err
	}
	ref := fmt.Sprintf("%s/bench-docker:latest", reg)
	push := func(version string) error { return pushImage(ref, bin, version) }
	if err := push("v0"); err != nil {
		return err
	}
	cli, err := client.New(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx := context.Background()

	// Direct: pull the freshly pushed image and run it until it answers.
	var direct []time.Duration
	for i := range n {
		if err := push(fmt.Sprintf("direct%d", i)); err != nil {
			return err
		}
		d, err := runDirect(ctx, cli, ref)
		if err != nil {
			return err
		}
		direct = append(direct, d)
	}

	srv, err := env.Start("--docker-host", host, "--git-poll-interval", "0")
	if err != nil {
		return err
	}
	defer srv.Stop()
	out, err := srv.Client.CreateService(ctx, &apprunner.CreateServiceInput{
		ServiceName: aws.String("bench-docker"),
		SourceConfiguration: &types.SourceConfiguration{
			AutoDeploymentsEnabled: aws.Bool(false),
			ImageRepository: &types.ImageRepository{
				ImageIdentifier:     aws.String(ref),
				ImageRepositoryType: types.ImageRepositoryTypeEcr,
			},
		},
	})
	if err != nil {
		return err
	}
	arn := out.Service.ServiceArn
	defer srv.Client.DeleteService(ctx, &apprunner.DeleteServiceInput{ServiceArn: arn})
	if err := srv.WaitOp(ctx, arn, aws.ToString(out.OperationId)); err != nil {
		return err
	}
	var slipway []time.Duration
	for i := range n {
		if err := push(fmt.Sprintf("v%d", i+1)); err != nil {
			return err
		}
		start := time.Now()
		dep, err := srv.Client.StartDeployment(ctx, &apprunner.StartDeploymentInput{ServiceArn: arn})
		if err != nil {
			return err
		}
		if err := srv.WaitOp(ctx, arn, aws.ToString(dep.OperationId)); err != nil {
			return err
		}
		slipway = append(slipway, time.Since(start))
	}
	// Leave nothing behind on the shared engine.
	del, err := srv.Client.DeleteService(ctx, &apprunner.DeleteServiceInput{ServiceArn: arn})
	if err == nil {
		srv.WaitOp(ctx, arn, aws.ToString(del.OperationId))
	}
	d, s := benchenv.Median(direct), benchenv.Median(slipway)
	fmt.Printf("static Go app image (%.1f MiB), %d deployments of a new digest, medians:\n", float64(len(bin))/(1<<20), n)
	fmt.Printf("  direct pull + create + start until it answers:  %6.0f ms\n", benchenv.Ms(d))
	fmt.Printf("  StartDeployment -> SUCCEEDED:                   %6.0f ms\n", benchenv.Ms(s))
	fmt.Printf("  Slipway overhead:                               %6.0f ms (goal < 1500 ms)\n", benchenv.Ms(s-d))
	fmt.Printf("  ratio Slipway/direct:                           %6.2f\n", float64(s)/float64(d))
	return nil
}

// pushImage pushes a FROM scratch image holding the test app.
func pushImage(ref string, bin []byte, version string) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "app", Mode: 0o755, Size: int64(len(bin)), Typeflag: tar.TypeReg})
	tw.Write(bin)
	tw.Close()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		return err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", goruntime.GOARCH
	cf.Config.Cmd, cf.Config.Env = []string{"/app"}, []string{"APP_VERSION=" + version}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return err
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return err
	}
	return remote.Write(r, img)
}

// runDirect pulls ref and runs it on the host network until it answers.
func runDirect(ctx context.Context, cli *client.Client, ref string) (time.Duration, error) {
	port := benchenv.FreeAddr()
	_, p, _ := net.SplitHostPort(port)
	start := time.Now()
	rc, err := cli.ImagePull(ctx, ref, client.ImagePullOptions{})
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, rc)
	rc.Close()
	res, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config:     &container.Config{Image: ref, Env: []string{"PORT=" + p}},
		HostConfig: &container.HostConfig{NetworkMode: "host"},
	})
	if err != nil {
		return 0, err
	}
	defer cli.ContainerRemove(ctx, res.ID, client.ContainerRemoveOptions{Force: true})
	if _, err := cli.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		return 0, err
	}
	for {
		if c, err := net.Dial("tcp", port); err == nil {
			c.Close()
			return time.Since(start), nil
		}
		if time.Since(start) > time.Minute {
			return 0, fmt.Errorf("direct container never answered")
		}
		time.Sleep(time.Millisecond)
	}
}
