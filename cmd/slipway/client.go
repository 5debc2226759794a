package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/slipwayhq/slipway/internal/api"
	"github.com/slipwayhq/slipway/internal/daemon"
)

func runEnv(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("env", flag.ContinueOnError)
	dataDir := fs.String("data-dir", clientDataDir(), "state directory of the server (default: $SLIPWAY_DATA_DIR, else the last started server's, else ~/.slipway)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	creds, err := daemon.ReadCredentials(*dataDir)
	if err != nil {
		return fmt.Errorf("%w (has 'slipway server --data-dir %s' run yet?)", err, *dataDir)
	}
	ep, err := daemon.ReadEndpoint(*dataDir)
	if err != nil {
		return fmt.Errorf("%w (has 'slipway server --data-dir %s' run yet?)", err, *dataDir)
	}
	for _, kv := range [][2]string{
		{"AWS_ACCESS_KEY_ID", creds.AccessKeyID},
		{"AWS_SECRET_ACCESS_KEY", creds.SecretAccessKey},
		{"AWS_REGION", ep.Region},
		{"AWS_DEFAULT_REGION", ep.Region},
		{"AWS_ENDPOINT_URL_APPRUNNER", ep.API},
		// The same listener serves the CloudWatch Logs reads of App
		// Runner's log groups (the variable is named for the service ID
		// "CloudWatch Logs", not the endpoint prefix "logs"), and STS
		// GetCallerIdentity, which Terraform's provider calls first.
		{"AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", ep.API},
		{"AWS_ENDPOINT_URL_LOGS", ep.API}, // for tools keyed by the endpoint prefix
		{"AWS_ENDPOINT_URL_STS", ep.API},
		{"AWS_EC2_METADATA_DISABLED", "true"},
	} {
		fmt.Fprintf(w, "export %s=%s\n", kv[0], quote(kv[1]))
	}
	return nil
}

// signedRequest sends a SigV4-signed request without a body to the daemon
// at dataDir, with the credentials it wrote there.
func signedRequest(ctx context.Context, dataDir, method, path string, q url.Values) (*http.Response, error) {
	creds, err := daemon.ReadCredentials(dataDir)
	if err != nil {
		return nil, err
	}
	ep, err := daemon.ReadEndpoint(dataDir)
	if err != nil {
		return nil, fmt.Errorf("%w (is 'slipway server --data-dir %s' running?)", err, dataDir)
	}
	target := ep.API + path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return nil, err
	}
	empty := sha256.Sum256(nil)
	err = v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey},
		req, hex.EncodeToString(empty[:]), "apprunner", ep.Region, time.Now())
	if err != nil {
		return nil, err
	}
	return http.DefaultClient.Do(req)
}

// signedCall is signedRequest for a short answer: it returns the body of a
// 200 response, or an error with the daemon's message.
func signedCall(ctx context.Context, dataDir, method, path string, q url.Values) ([]byte, error) {
	resp, err := signedRequest(ctx, dataDir, method, path, q)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", resp.Status, b)
	}
	return b, nil
}

func runLogs(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("logs", flag.ContinueOnError)
	dataDir := fs.String("data-dir", clientDataDir(), "state directory of the server (default: $SLIPWAY_DATA_DIR, else the last started server's, else ~/.slipway)")
	op := fs.String("operation", "", "only this operation's build and instances")
	follow := fs.Bool("f", false, "keep printing new lines")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("usage: slipway logs SERVICE [--operation ID] [-f]")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	q := url.Values{"service": {pos[0]}, "operation": {*op}}
	if *follow {
		q.Set("follow", "1")
	}
	resp, err := signedRequest(ctx, *dataDir, http.MethodGet, api.LogsPath, q)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s: %s", resp.Status, b)
	}
	show := forTerminal(w)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 256<<10), 1<<20)
	for sc.Scan() {
		fmt.Fprintln(w, show(sc.Text()))
	}
	if ctx.Err() != nil {
		return nil
	}
	return sc.Err()
}

func runDeployments(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("deployments", flag.ContinueOnError)
	dataDir := fs.String("data-dir", clientDataDir(), "state directory of the server (default: $SLIPWAY_DATA_DIR, else the last started server's, else ~/.slipway)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("usage: slipway deployments SERVICE [--json]")
	}
	b, err := signedCall(context.Background(), *dataDir, http.MethodGet, api.DeploymentsPath, url.Values{"service": {pos[0]}})
	if err != nil {
		return err
	}
	if *asJSON {
		_, err := w.Write(b)
		return err
	}
	var ds []api.Decision
	if err := json.Unmarshal(b, &ds); err != nil {
		return err
	}
	// Authors and messages come from repositories: tabs would break the
	// table, and escape sequences must not reach a terminal.
	show, cell := forTerminal(w), strings.NewReplacer("\t", " ", "\n", " ")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DECIDED\tCOMMIT\tAUTHOR\tDECISION\tOPERATION\tMESSAGE\tREASON")
	for _, d := range ds {
		fmt.Fprintf(tw, "%s\t%.12s\t%s\t%s\t%s\t%s\t%s\n", d.DecidedAt.Local().Format(time.DateTime), d.Commit,
			show(cell.Replace(d.Author)), d.Decision, orDash(d.OperationID), show(cell.Replace(d.Message)), show(cell.Replace(d.Reason)))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
