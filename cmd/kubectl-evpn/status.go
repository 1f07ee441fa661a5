package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/statusview"
)

// status prints one row per node x L3VNI, problems first, and returns exit code
// 1 when anything is not ready, so that scripts and CI can wait on it.
func status(args []string, out io.Writer, colour bool) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	var cf clusterFlags
	cf.register(fs)
	output := fs.String("o", "table", "output format: table, wide, json or yaml")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return statusOf(&cf, *output, out, colour)
}

func statusOf(cf *clusterFlags, output string, out io.Writer, colour bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := cf.snapshot(ctx)
	if err != nil {
		return err
	}
	rows := statusview.Rows(s)
	switch output {
	case "table", "":
		if len(rows) == 0 {
			fmt.Fprintf(out, "No L3VNIs in namespace %s.\n", s.Namespace)
		} else if err := statusview.WriteTable(out, rows, false, colour); err != nil {
			return err
		}
	case "wide":
		if err := statusview.WriteTable(out, rows, true, colour); err != nil {
			return err
		}
	case "json", "yaml":
		b, err := json.MarshalIndent(struct {
			Rows []statusview.Row `json:"rows"`
		}{rows}, "", "  ")
		if err != nil {
			return err
		}
		if output == "yaml" {
			if b, err = yaml.JSONToYAML(b); err != nil {
				return err
			}
		}
		fmt.Fprintln(out, string(b))
	default:
		return fmt.Errorf("-o %s: want table, wide, json or yaml", output)
	}
	if !statusview.AllReady(rows) {
		return exitError(1)
	}
	return nil
}
