package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/slipwayhq/slipway/internal/console"
)

// runConsoleURL prints a one-time sign-in link to the web console. The
// running daemon issues it to a request signed with the access key, so
// whoever can read DIR/credentials can sign in without typing the secret.
func runConsoleURL(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("console-url", flag.ContinueOnError)
	dataDir := fs.String("data-dir", clientDataDir(), "state directory of the server (default: $SLIPWAY_DATA_DIR, else the last started server's, else ~/.slipway)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := signedCall(ctx, *dataDir, http.MethodPost, console.TokenPath, nil)
	if err != nil {
		return err
	}
	var out console.TokenResponse
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("console token: %w", err)
	}
	_, err = fmt.Fprintln(w, out.URL)
	return err
}
