// Command reloader is the router pod's sidecar: it serves frrreload's HTTP API on a
// unix socket, so that the plumber can hand FRR a new configuration, and restores
// the last good configuration when FRR (re)starts.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrreload"
)

func main() {
	socket := flag.String("socket", "/run/frr-k8s-evpn/reloader.sock", "unix socket to serve on (mode 0600)")
	lastGood := flag.String("last-good", "/var/lib/frr-k8s-evpn/frr.conf", "where the last good configuration is kept (persistent)")
	workDir := flag.String("work-dir", "/run/frr-k8s-evpn/reloader", "scratch directory for candidate configurations")
	vtySocket := flag.String("vty-socket", "", "FRR's vty socket directory (FRR's default when empty)")
	restore := flag.Bool("restore", false, "apply the last good configuration if FRR does not run it, and exit (the router's init step)")
	restoreWait := flag.Duration("restore-wait", 2*time.Minute, "with --restore: how long to wait for FRR to come up")
	interval := flag.Duration("check-interval", 5*time.Second, "how often to look for restarted FRR daemons")
	check := flag.Bool("check", false, "ask the reloader serving on --socket whether FRR runs the last good configuration, and exit 0 if it does (a probe)")
	alive := flag.Bool("alive", false, "exit 0 if watchfrr answers and reports every daemon Up, else say why and exit 1 (the frr container's liveness probe)")
	supervised := flag.Bool("supervised", true, "FRR runs under watchfrr: load nothing until it reports every daemon Up")
	vtysh := flag.String("vtysh", "", "vtysh to run (the one on PATH when empty)")
	probeAddr := flag.String("probe-address", "", "TCP address serving GET /healthz alone, for the kubelet's readiness probe, e.g. 127.0.0.1:8083 (none when empty)")
	flag.Parse()
	ctrl.SetLogger(zap.New())
	log := ctrl.Log.WithName("reloader")

	if *check {
		if err := probe(*socket); err != nil {
			log.Error(err, "not healthy")
			os.Exit(1)
		}
		return
	}
	r := &frrreload.Reloader{LastGood: *lastGood, WorkDir: *workDir, VtySocket: *vtySocket, Vtysh: *vtysh, Supervised: *supervised, Log: log}
	if *alive {
		// A probe's output is the kubelet's Event: one line, no logger.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.FRRUp(ctx); err != nil {
			fmt.Println("router-alive:", err)
			os.Exit(1)
		}
		return
	}
	if err := os.MkdirAll(*workDir, 0o700); err != nil {
		log.Error(err, "creating the work directory")
		os.Exit(1)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	if *restore {
		// The init step runs right after FRR's start: give its daemons time to come up.
		for deadline := time.Now().Add(*restoreWait); *supervised && r.FRRUp(ctx) != nil && time.Now().Before(deadline); {
			time.Sleep(time.Second)
		}
		if err := r.Restore(ctx); err != nil {
			log.Error(err, "restoring the last good configuration")
			os.Exit(1)
		}
		return
	}
	l, err := frrreload.Listen(*socket)
	if err != nil {
		log.Error(err, "listening")
		os.Exit(1)
	}
	// Serving does not wait for FRR: a failed restore is reported on /healthz
	// (and so in the node's status), and a new configuration may still fix it.
	go r.Watch(ctx, *interval)
	srv := &http.Server{Handler: frrreload.Handler(r), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, done := context.WithTimeout(context.Background(), 30*time.Second)
		defer done()
		_ = srv.Shutdown(shutdown)
	}()
	if *probeAddr != "" {
		pl, err := net.Listen("tcp", *probeAddr)
		if err != nil {
			log.Error(err, "listening for probes", "address", *probeAddr)
			os.Exit(1)
		}
		probes := &http.Server{Handler: frrreload.ProbeHandler(r), ReadHeaderTimeout: 10 * time.Second}
		go func() { <-ctx.Done(); _ = probes.Close() }()
		go func() {
			if err := probes.Serve(pl); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error(err, "serving probes")
				os.Exit(1)
			}
		}()
	}
	log.Info("serving", "socket", *socket, "probes", *probeAddr)
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error(err, "serving")
		os.Exit(1)
	}
}

// probe asks the serving reloader whether FRR runs the last good configuration:
// the router pod's readiness probe.
func probe(socket string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return frrreload.NewClient(socket).Health(ctx)
}
