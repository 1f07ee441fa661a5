// Command controller is the cluster-wide half of frr-k8s-evpn: it assigns node
// indexes, validates Underlays and L3VNIs, and writes FRRConfigurations for FRR-K8s.
package main

import (
	"flag"
	"net/netip"
	"os"
	"strings"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/controllers"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

func main() {
	var opts controllers.ManagerOptions
	flag.StringVar(&opts.Namespace, "namespace", controllers.DefaultNamespace, "namespace of the Underlays, L3VNIs and RouterNodeStatuses")
	flag.StringVar(&opts.FRRK8sNamespace, "frrk8s-namespace", controllers.DefaultFRRK8sNamespace, "FRR-K8s's namespace, where FRRConfigurations are written")
	flag.StringVar(&opts.MetricsAddr, "metrics-bind-address", ":8080", "address of the Prometheus metrics endpoint (0 disables it)")
	flag.StringVar(&opts.ProbeAddr, "health-probe-bind-address", ":8081", "address of the /healthz and /readyz endpoints")
	flag.BoolVar(&opts.LeaderElection, "leader-elect", true, "elect a leader so that only one replica writes")
	flag.DurationVar(&opts.LeaseDuration, "leader-elect-lease-duration", controllers.DefaultLeaderElection.LeaseDuration, "how long after the leader's last renewal another replica may take the lease")
	flag.DurationVar(&opts.RenewDeadline, "leader-elect-renew-deadline", controllers.DefaultLeaderElection.RenewDeadline, "how long the leader keeps trying to renew its lease before it exits (it must be shorter than the lease duration)")
	flag.DurationVar(&opts.RetryPeriod, "leader-elect-retry-period", controllers.DefaultLeaderElection.RetryPeriod, "how often the leader renews and the others try to take the lease")
	flag.Float64Var(&opts.QPS, "kube-api-qps", 100, "client-side rate limit towards the API server (queries per second); indexing a thousand new nodes takes 1000 writes")
	flag.IntVar(&opts.Burst, "kube-api-burst", 200, "client-side burst towards the API server")
	flag.DurationVar(&opts.NodeIndexGrace, "node-index-grace", controllers.DefaultNodeIndexGrace, "how long a deleted node's index (and VTEP) stays reserved while its RouterNodeStatus exists; deleting that object frees it at once")
	flag.Func("cluster-networks", "comma-separated CIDRs of the cluster's pod and node networks, which no new L3VNI's localCIDR may overlap (service ranges come from the ServiceCIDR API)", func(v string) error {
		for _, s := range strings.Split(v, ",") {
			p, err := netip.ParsePrefix(strings.TrimSpace(s))
			if err != nil {
				return err
			}
			opts.ClusterNetworks = append(opts.ClusterNetworks, p.Masked())
		}
		return nil
	})
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	setupLog := ctrl.Log.WithName("setup")

	cfg, err := ctrl.GetConfig()
	if err != nil {
		setupLog.Error(err, "loading kubeconfig")
		os.Exit(1)
	}
	mgr, err := controllers.NewManager(cfg, opts)
	if err != nil {
		setupLog.Error(err, "creating manager")
		os.Exit(1)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		setupLog.Error(err, "adding health check")
		os.Exit(1)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		setupLog.Error(err, "adding ready check")
		os.Exit(1)
	}
	setupLog.Info("starting", "namespace", opts.Namespace, "frrk8sNamespace", opts.FRRK8sNamespace)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		setupLog.Error(err, "manager stopped")
		os.Exit(1)
	}
}
