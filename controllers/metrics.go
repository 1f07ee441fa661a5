package controllers

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
)

// The controller's metrics, served on its --metrics-bind-address beside
// controller-runtime's own (controller_runtime_reconcile_time_seconds is the
// reconcile duration). Names are listed in the README ("Metrics").
var (
	objects = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "frr_k8s_evpn_objects",
		Help: "Underlays, L3VNIs and RouterNodeStatuses by condition, status and reason, as the last decision left them.",
	}, []string{"kind", "condition", "status", "reason"})
	decisions = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "frr_k8s_evpn_controller_decisions_total",
		Help: "Decisions taken (one snapshot of the cluster evaluated).",
	})
	writes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "frr_k8s_evpn_controller_writes_total",
		Help: "API writes of the controller, by kind of object and operation (0 while nothing changes).",
	}, []string{"kind", "op"})
)

func init() {
	ctrlmetrics.Registry.MustRegister(objects, decisions, writes)
	// The writes a change makes start at 0, so that rates exist before them.
	for _, w := range [][2]string{{"L3VNI", "status"}, {"Underlay", "status"}, {"FRRConfiguration", "create"}, {"FRRConfiguration", "update"}, {"FRRConfiguration", "delete"}} {
		writes.WithLabelValues(w[0], w[1])
	}
}

// conditionKey is one series of frr_k8s_evpn_objects.
type conditionKey struct{ kind, condition, status, reason string }

// conditionCounts counts the objects of a decision by condition: what the
// objects' status says once the decision is written, and what each node says.
func conditionCounts(p *Plan, w *World) map[conditionKey]int {
	out := map[conditionKey]int{}
	for i := range p.Underlays {
		for _, c := range p.Underlays[i].Status.Conditions {
			out[conditionKey{"Underlay", c.Type, string(c.Status), c.Reason}]++
		}
	}
	for i := range p.L3VNIs {
		for _, c := range p.L3VNIs[i].Status.Conditions {
			out[conditionKey{"L3VNI", c.Type, string(c.Status), c.Reason}]++
		}
	}
	for _, rs := range w.RouterStatuses {
		for _, c := range rs.Status.Conditions {
			if c.Type == evpnv1.ConditionReady {
				out[conditionKey{"RouterNodeStatus", c.Type, string(c.Status), c.Reason}]++
			}
		}
	}
	return out
}

// recordDecision sets the object gauges to one decision.
func recordDecision(p *Plan, w *World) {
	decisions.Inc()
	objects.Reset()
	for k, n := range conditionCounts(p, w) {
		objects.WithLabelValues(k.kind, k.condition, k.status, k.reason).Set(float64(n))
	}
}

// countWrites wraps the controller's client so that every write is counted in
// frr_k8s_evpn_controller_writes_total, whichever reconciler makes it.
func countWrites(c client.Client) client.Client { return countingClient{c} }

type countingClient struct{ client.Client }

func (c countingClient) count(obj client.Object, op string) {
	kind := "unknown"
	if gvk, err := apiutil.GVKForObject(obj, c.Scheme()); err == nil {
		kind = gvk.Kind
	}
	writes.WithLabelValues(kind, op).Inc()
}

func (c countingClient) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	c.count(obj, "create")
	return c.Client.Create(ctx, obj, opts...)
}

func (c countingClient) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	c.count(obj, "update")
	return c.Client.Update(ctx, obj, opts...)
}

func (c countingClient) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	c.count(obj, "patch")
	return c.Client.Patch(ctx, obj, patch, opts...)
}

func (c countingClient) Delete(ctx context.Context, obj client.Object, opts ...client.DeleteOption) error {
	c.count(obj, "delete")
	return c.Client.Delete(ctx, obj, opts...)
}

func (c countingClient) Status() client.SubResourceWriter {
	return countingStatus{SubResourceWriter: c.Client.Status(), c: c}
}

type countingStatus struct {
	client.SubResourceWriter
	c countingClient
}

func (s countingStatus) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	s.c.count(obj, "status")
	return s.SubResourceWriter.Update(ctx, obj, opts...)
}

func (s countingStatus) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	s.c.count(obj, "status")
	return s.SubResourceWriter.Patch(ctx, obj, patch, opts...)
}
