package controllers

import (
	"fmt"
	"net/netip"
	"time"

	frrv1beta1 "github.com/metallb/frr-k8s/api/v1beta1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
)

// Defaults of the controller's namespaces.
const (
	DefaultNamespace       = evpnv1.DefaultNamespace
	DefaultFRRK8sNamespace = "frr-k8s-system"
)

// ManagerOptions configures NewManager.
type ManagerOptions struct {
	Namespace       string
	FRRK8sNamespace string
	MetricsAddr     string
	ProbeAddr       string
	LeaderElection  bool
	// LeaseDuration, RenewDeadline and RetryPeriod time leader election; zero
	// keeps DefaultLeaderElection's.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// QPS and Burst bound the client; zero keeps controller-runtime's defaults.
	QPS   float64
	Burst int
	// NodeIndexGrace is how long a deleted node's index stays reserved while its
	// RouterNodeStatus exists (DefaultNodeIndexGrace when zero).
	NodeIndexGrace time.Duration
	// FRRK8sRecheck is how often the controller looks for FRR-K8s's CRDs while
	// they are missing (15 s when zero).
	FRRK8sRecheck time.Duration
	// ClusterNetworks are the cluster's pod and node ranges, which no new
	// localCIDR may overlap (services come from the API's ServiceCIDRs).
	ClusterNetworks []netip.Prefix
	// SkipNameValidation lets one process run several managers (tests do).
	SkipNameValidation bool
}

// DefaultLeaderElection is the leader election's timing. controller-runtime's
// (15 s lease, 10 s renew deadline) makes the leader exit when it has not
// renewed its lease for 10 s: a node cut from the API server for longer, or one
// too starved to renew (seen in a loaded lab cluster), restarts the controller.
// The data plane does not depend on the controller, so a slower failover costs
// little: the leader keeps its lease through 80 s without the API server (the
// restart table's outage is 60 s), another replica takes over 100 s after the
// leader's last renewal when it died, and at once when it stopped (the lease is
// released on shutdown).
var DefaultLeaderElection = struct{ LeaseDuration, RenewDeadline, RetryPeriod time.Duration }{
	LeaseDuration: 100 * time.Second,
	RenewDeadline: 80 * time.Second,
	RetryPeriod:   5 * time.Second,
}

// Scheme knows our types, FRR-K8s's and Kubernetes' own.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, evpnv1.AddToScheme, frrv1beta1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}

// NewManager builds a manager running both reconcilers. Its cache holds only what
// they read: our objects in our namespace and Node metadata; FRR-K8s's kinds have
// a cache of their own, started once their CRDs exist (FRRK8sPresence).
func NewManager(cfg *rest.Config, opts ManagerOptions) (ctrl.Manager, error) {
	cfg = rest.CopyConfig(cfg)
	if opts.QPS > 0 {
		cfg.QPS, cfg.Burst = float32(opts.QPS), opts.Burst
	}
	ours := map[string]cache.Config{opts.Namespace: {}}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  Scheme(),
		Metrics:                 metricsserver.Options{BindAddress: opts.MetricsAddr},
		HealthProbeBindAddress:  opts.ProbeAddr,
		LeaderElection:          opts.LeaderElection,
		LeaderElectionID:        "frr-k8s-evpn-controller",
		LeaderElectionNamespace: opts.Namespace,
		// Start returns as soon as the lease is released, and main exits.
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 orDefault(opts.LeaseDuration, DefaultLeaderElection.LeaseDuration),
		RenewDeadline:                 orDefault(opts.RenewDeadline, DefaultLeaderElection.RenewDeadline),
		RetryPeriod:                   orDefault(opts.RetryPeriod, DefaultLeaderElection.RetryPeriod),
		Controller:                    config.Controller{SkipNameValidation: &opts.SkipNameValidation},
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			&evpnv1.L3VNI{}:            {Namespaces: ours},
			&evpnv1.Underlay{}:         {Namespaces: ours},
			&evpnv1.RouterNodeStatus{}: {Namespaces: ours},
			// The one Role the controller keeps (and may read: its RBAC names it).
			&rbacv1.Role{}: {Namespaces: ours, Field: fields.OneTermEqualSelector("metadata.name", PlumberSecretsRole)},
			// Names only: whether a password Secret exists.
			&metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}}: {Namespaces: ours},
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("creating manager: %w", err)
	}
	// Every write of the controller is counted (frr_k8s_evpn_controller_writes_total).
	writer := countWrites(mgr.GetClient())
	if err := (&NodeIndexReconciler{Client: writer, Namespace: opts.Namespace, Grace: opts.NodeIndexGrace}).SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up the node index controller: %w", err)
	}
	r := &EVPNReconciler{
		Client:          writer,
		Namespace:       opts.Namespace,
		FRRK8sNamespace: opts.FRRK8sNamespace,
		Recorder:        mgr.GetEventRecorder("frr-k8s-evpn-controller"),
		FRRK8s: &FRRK8sPresence{Mapper: mgr.GetRESTMapper(), Interval: opts.FRRK8sRecheck, Config: cfg, Scheme: mgr.GetScheme(),
			Namespace: opts.FRRK8sNamespace},
	}
	r.ClusterNetworks = opts.ClusterNetworks
	if _, err := mgr.GetRESTMapper().RESTMapping(schema.GroupKind{Group: "networking.k8s.io", Kind: "ServiceCIDR"}, "v1"); err == nil {
		r.ServiceCIDRs = true
	} else if !meta.IsNoMatchError(err) {
		return nil, fmt.Errorf("looking for the ServiceCIDR API: %w", err)
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up the EVPN controller: %w", err)
	}
	return mgr, nil
}

func orDefault(d, def time.Duration) *time.Duration {
	if d == 0 {
		d = def
	}
	return &d
}
