package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"text/tabwriter"
	"time"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/statusview"
)

// describe prints everything about one node or one L3VNI; exit code 1 when it
// does not exist or is not ready.
func describe(args []string, out io.Writer) error {
	if len(args) < 2 {
		return errors.New("want: describe node|l3vni NAME")
	}
	kind, name := args[0], args[1]
	fs := flag.NewFlagSet("describe", flag.ContinueOnError)
	var cf clusterFlags
	cf.register(fs)
	if err := fs.Parse(args[2:]); err != nil {
		return err
	}
	return describeOf(&cf, kind, name, out)
}

func describeOf(cf *clusterFlags, kind, name string, out io.Writer) error {
	var write func(io.Writer, *statusview.Snapshot, string) bool
	switch kind {
	case "node", "nodes", "no":
		write = statusview.DescribeNode
	case "l3vni", "l3vnis":
		write = statusview.DescribeL3VNI
	default:
		return errors.New("describe: kind " + kind + " is not node or l3vni")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := cf.snapshot(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)
	ok := write(tw, s, name)
	if err := tw.Flush(); err != nil {
		return err
	}
	if !ok {
		return exitError(1)
	}
	return nil
}
