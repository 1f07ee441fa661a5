package nodeplumber

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrreload"
)

// The plumber's metrics, served on its --metrics-bind-address with
// controller-runtime's. Names and meanings are listed in the README ("Metrics");
// the Grafana dashboard in config/prometheus refers only to metrics that tests
// scrape from the running programs.
var (
	passSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "frr_k8s_evpn_plumber_pass_seconds",
		Help:    "Duration of a plumber pass that applies a state: netlink apply, FRR reload, finish.",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	})
	kernelSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "frr_k8s_evpn_plumber_kernel_seconds",
		Help:    "Duration of the kernel's two steps: apply (devices made and fixed, new ones down) and finish (devices up, stale ones removed, NICs back).",
		Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"step"})
	netlinkWrites = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "frr_k8s_evpn_plumber_netlink_writes_total",
		Help: "Netlink writes the plumber made (0 on a pass with nothing to change).",
	})
	reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "frr_k8s_evpn_plumber_reloads_total",
		Help: "Configurations posted to the router's reloader, by result: success, unchanged (FRR already ran it), failure.",
	}, []string{"result"})
	reloadSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "frr_k8s_evpn_plumber_reload_seconds",
		Help:    "Duration of one post to the router's reloader, FRR's check and reload included.",
		Buckets: []float64{.1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
	})
	failures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "frr_k8s_evpn_plumber_failures_total",
		Help: "Times the node's Ready condition turned to a failure, by reason (ReloadFailed, NICNotFound, ...).",
	}, []string{"reason"})
	statusWrites = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "frr_k8s_evpn_plumber_status_writes_total",
		Help: "Writes of the node's RouterNodeStatus (0 on a quiet node).",
	})

	// The router's live state, as the last read of its FRR found it.
	routerReadable = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "frr_k8s_evpn_router_readable",
		Help: "1 when the last read of the router's FRR state succeeded.",
	})
	sessionUp = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "frr_k8s_evpn_router_bgp_session_up",
		Help: "1 when the router's BGP session is Established; vrf is default for the fabric, the L3VNI's VRF for the host leg.",
	}, []string{"vrf", "peer"})
	prefixesReceived = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "frr_k8s_evpn_router_bgp_prefixes_received",
		Help: "Prefixes received on the router's BGP session (EVPN routes on a fabric session).",
	}, []string{"vrf", "peer"})
	vniUp = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "frr_k8s_evpn_router_vni_up",
		Help: "1 when zebra reports the L3VNI Up.",
	}, []string{"vni", "vrf"})
	type5Routes = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "frr_k8s_evpn_router_type5_routes",
		Help: "Type-5 routes of the VRF: received (imported from the fabric) and advertised (originated).",
	}, []string{"vrf", "direction"})
	remoteVTEPs = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "frr_k8s_evpn_router_remote_vteps",
		Help: "Remote VTEPs the VRF sends VXLAN to.",
	}, []string{"vrf"})
)

func init() {
	ctrlmetrics.Registry.MustRegister(passSeconds, kernelSeconds, netlinkWrites, reloads, reloadSeconds, failures, statusWrites,
		routerReadable, sessionUp, prefixesReceived, vniUp, type5Routes, remoteVTEPs)
	// Known label values start at 0, so that a query (and an alert on an
	// increase) finds the series before the first event.
	for _, step := range []string{"apply", "finish"} {
		kernelSeconds.WithLabelValues(step)
	}
	for _, r := range []string{frrreload.ResultSuccess, frrreload.ResultUnchanged, frrreload.ResultFailure} {
		reloads.WithLabelValues(r)
	}
	for _, r := range []string{ReasonNICMissing, ReasonSecretMissing, ReasonNICInUse, ReasonApplyFailed, ReasonReloadFailed, ReasonNotReloaded} {
		failures.WithLabelValues(r)
	}
}

// recordLive sets the router's gauges to one read: series of sessions and VRFs
// that are gone disappear with it.
func recordLive(l *Live) {
	for _, g := range []*prometheus.GaugeVec{sessionUp, prefixesReceived, vniUp, type5Routes, remoteVTEPs} {
		g.Reset()
	}
	if l.Err != "" {
		routerReadable.Set(0)
		return
	}
	routerReadable.Set(1)
	for _, s := range l.Router.Fabric {
		sessionUp.WithLabelValues("default", s.Peer).Set(gauge(s.Up()))
		prefixesReceived.WithLabelValues("default", s.Peer).Set(float64(s.PrefixesReceived))
	}
	for _, v := range l.Router.VNIs {
		vni := strconv.Itoa(v.VNI)
		vniUp.WithLabelValues(vni, v.VRF).Set(gauge(v.State == "Up"))
		type5Routes.WithLabelValues(v.VRF, "received").Set(float64(v.Type5Received))
		type5Routes.WithLabelValues(v.VRF, "advertised").Set(float64(v.Type5Advertised))
		remoteVTEPs.WithLabelValues(v.VRF).Set(float64(len(v.RemoteVTEPs)))
		for _, s := range v.HostSessions {
			sessionUp.WithLabelValues(v.VRF, s.Peer).Set(gauge(s.Up()))
			prefixesReceived.WithLabelValues(v.VRF, s.Peer).Set(float64(s.PrefixesReceived))
		}
	}
}

// gauge is a yes/no as a gauge's value.
func gauge(yes bool) float64 {
	if yes {
		return 1
	}
	return 0
}
