package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"

	"github.com/slipwayhq/slipway/internal/api"
	"github.com/slipwayhq/slipway/internal/engine"
)

// runCluster is `slipway cluster status`: the cluster's nodes, each with
// the instances it runs, their services and health, as the server's
// engine sees them.
func runCluster(args []string, w io.Writer) error {
	if len(args) == 0 || args[0] != "status" {
		return fmt.Errorf("usage: slipway cluster status [--json]")
	}
	fs := flag.NewFlagSet("cluster status", flag.ContinueOnError)
	dataDir := fs.String("data-dir", clientDataDir(), "state directory of the server (default: $SLIPWAY_DATA_DIR, else the last started server's, else ~/.slipway)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return fmt.Errorf("usage: slipway cluster status [--json]")
	}
	b, err := signedCall(context.Background(), *dataDir, http.MethodGet, api.ClusterPath, nil)
	if err != nil {
		return err
	}
	if *asJSON {
		_, err := w.Write(b)
		return err
	}
	var nodes []engine.ClusterNode
	if err := json.Unmarshal(b, &nodes); err != nil {
		return err
	}
	return printCluster(w, nodes)
}

// printCluster writes one line per node, each followed by its instances,
// indented.
func printCluster(w io.Writer, nodes []engine.ClusterNode) error {
	show := forTerminal(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tADDRESS\tROLE\tSTATE\tAVAILABILITY\tINSTANCES\tHOSTNAME")
	for _, n := range nodes {
		role := n.Role
		if n.Leader {
			role += " (leader)"
		}
		state := n.State
		if n.Message != "" && n.State != "ready" {
			state += ": " + show(n.Message)
		}
		fmt.Fprintf(tw, "%.12s\t%s\t%s\t%s\t%s\t%d\t%s\n", n.ID, n.Addr, role, state, n.Availability, len(n.Instances), show(n.Hostname))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range nodes {
		if len(n.Instances) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%.12s (%s):\n", n.ID, n.Addr)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  SERVICE\tINSTANCE\tPORT\tTASK\tHEALTH\tROLE")
		for _, in := range n.Instances {
			svc := in.Service
			if svc == "" {
				svc = "(none)"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\t%s\n", show(svc), in.ID, in.Port, in.State, in.Health, orDash(strings.ToLower(in.Role)))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}
