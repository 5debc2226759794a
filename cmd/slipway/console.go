package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/slipwayhq/slipway/internal/console"
	"github.com/slipwayhq/slipway/internal/daemon"
)

// runConsoleURL prints a one-time sign-in link to the web console. The
// running daemon issues it to a request signed with the access key, so
// whoever can read DIR/credentials can sign in without typing the secret.
func runConsoleURL(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("console-url", flag.ContinueOnError)
	dataDir := fs.String("data-dir", defaultDataDir(), "state directory of the server")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := signedPost(ctx, *dataDir, console.TokenPath)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, b)
	}
	var out console.TokenResponse
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("console token: %w", err)
	}
	_, err = fmt.Fprintln(w, out.URL)
	return err
}

// signedPost sends a SigV4-signed POST without a body to the daemon at
// dataDir.
func signedPost(ctx context.Context, dataDir, path string) (*http.Response, error) {
	creds, err := daemon.ReadCredentials(dataDir)
	if err != nil {
		return nil, err
	}
	ep, err := daemon.ReadEndpoint(dataDir)
	if err != nil {
		return nil, fmt.Errorf("%w (is 'slipway server --data-dir %s' running?)", err, dataDir)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.API+path, nil)
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
