// Command nodeplumber is the per-node half of frr-k8s-evpn (a privileged,
// host-network DaemonSet): it builds the router's network namespace and devices
// from the Underlay and L3VNIs that select its node and hands the router's FRR its
// configuration through the reloader's socket.
package main

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrreload"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/nodeplumber"
)

func main() {
	nodeName := flag.String("node-name", os.Getenv("NODE_NAME"), "this node's name (default $NODE_NAME)")
	namespace := flag.String("namespace", evpnv1.DefaultNamespace, "namespace of the Underlays, L3VNIs and RouterNodeStatuses")
	netns := flag.String("netns", nodeplumber.DefaultNetns, "the router's named network namespace")
	socket := flag.String("reloader-socket", "/run/frr-k8s-evpn/reloader.sock", "the router's reloader socket")
	routerCheck := flag.Duration("router-check", 10*time.Second, "how often to ask the router whether FRR still runs the last good configuration (0: never)")
	liveInterval := flag.Duration("live-status-interval", 30*time.Second, "how often to read the router's EVPN state (sessions, VNIs, remote VTEPs, type-5 counts) into the node's status; a write follows only a change (0: never)")
	stateFile := flag.String("state-file", "/run/frr-k8s-evpn/plumber/applied.json", "where the plumber keeps the state the node last applied (on tmpfs: it describes kernel state, which a reboot loses too)")
	cleanup := flag.Bool("cleanup", false, "uninstall: move the underlay NICs back to the host with their addresses, remove every device the plumber made and the router's netns, then exit")
	nodeIPs := flag.String("node-ips", os.Getenv("NODE_IPS"), "this node's addresses, comma-separated (default $NODE_IPS, from the pod's status.hostIPs): an underlay NIC that carries one is never moved")
	daemonSet := flag.String("uninstall-with-daemonset", "", "the plumber's own DaemonSet, in $POD_NAMESPACE (default --namespace): when it is deleted, the stopping plumber does what --cleanup does; empty: a stop never touches the node")
	metrics := flag.String("metrics-bind-address", "0", "metrics endpoint (0 disables it)")
	probes := flag.String("health-probe-bind-address", ":8082", "address of /healthz and /readyz")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("nodeplumber")
	if *cleanup {
		os.Exit(runCleanup(log, *netns, *stateFile))
	}
	if *nodeName == "" {
		log.Error(nil, "--node-name (or NODE_NAME) is required")
		os.Exit(2)
	}

	ips, err := parseAddrs(*nodeIPs)
	if err != nil {
		log.Error(err, "--node-ips")
		os.Exit(2)
	}
	ours := map[string]cache.Config{*namespace: {}}
	cached := map[client.Object]cache.ByObject{
		&evpnv1.L3VNI{}:            {Namespaces: ours},
		&evpnv1.Underlay{}:         {Namespaces: ours},
		&evpnv1.RouterNodeStatus{}: {Namespaces: ours},
	}
	var uninstall *nodeplumber.UninstallWatch
	if *daemonSet != "" {
		podNamespace := os.Getenv("POD_NAMESPACE")
		if podNamespace == "" {
			podNamespace = *namespace
		}
		uninstall = &nodeplumber.UninstallWatch{Namespace: podNamespace, DaemonSet: *daemonSet, Log: log.WithName("uninstall")}
		o, by := uninstall.CacheEntry()
		cached[o] = by
	}
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                 nodeplumber.Scheme(),
		Metrics:                metricsserver.Options{BindAddress: *metrics},
		HealthProbeBindAddress: *probes,
		Cache:                  cache.Options{ByObject: cached},
		// Secrets are read one by one from the API server: the plumber may get
		// only those the controller granted, never list or watch them.
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
	})
	if err != nil {
		log.Error(err, "creating the manager")
		os.Exit(1)
	}
	r := &nodeplumber.Reconciler{
		Client: mgr.GetClient(), NodeName: *nodeName, Namespace: *namespace, Netns: *netns, NodeIPs: ips,
		Kernel:    &nodeplumber.Kernel{Log: log.WithName("kernel")},
		Reloader:  frrreload.NewClient(*socket),
		Recorder:  mgr.GetEventRecorder("frr-k8s-evpn-nodeplumber"),
		StateFile: *stateFile, RouterCheck: *routerCheck, LiveInterval: *liveInterval,
	}
	if err := r.SetupWithManager(mgr); err != nil {
		log.Error(err, "setting up")
		os.Exit(1)
	}
	if uninstall != nil {
		if err := uninstall.SetupWithManager(mgr); err != nil {
			log.Error(err, "setting up")
			os.Exit(1)
		}
	}
	_ = mgr.AddHealthzCheck("healthz", healthz.Ping)
	_ = mgr.AddReadyzCheck("readyz", healthz.Ping)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "manager stopped")
		os.Exit(1)
	}
	// Stopped by a signal. Only an uninstall takes the node's network with it.
	if uninstall != nil && uninstall.Deleted() {
		log.Info("the plumber's DaemonSet is deleted: undoing what the plumber built on this node")
		os.Exit(runCleanup(log, *netns, *stateFile))
	}
	log.Info("stopped; the node's network stays as it is")
}

// runCleanup undoes what the plumber built on this node and returns the exit code.
func runCleanup(log logr.Logger, netns, stateFile string) int {
	report, err := (&nodeplumber.Kernel{Log: log.WithName("kernel")}).Cleanup(netns)
	if err != nil {
		log.Error(err, "cleanup failed", "report", report)
		return 1
	}
	_ = os.Remove(stateFile)
	log.Info("cleanup done", "report", report)
	return 0
}

// parseAddrs reads a comma-separated list of addresses (the downward API's
// status.hostIPs).
func parseAddrs(list string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("node address %q: %w", s, err)
		}
		out = append(out, a.Unmap())
	}
	return out, nil
}
