package controllers

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	frrv1beta1 "github.com/metallb/frr-k8s/api/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/addressing"
	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
)

// BenchmarkScale measures the controller on a real API server with 1000 Nodes and
// 100 L3VNIs: time to index new nodes, time for 100 new L3VNIs to converge, and the
// API writes of each phase by verb and resource. Run it with -benchtime 1x
// (make bench); the figures are reported as metrics, not asserted.
func BenchmarkScale(b *testing.B) {
	requireAPI(b)
	const nNodes, nL3VNIs = 1000, 100
	for range b.N {
		ctx := context.Background()
		ns, frrNS := newNamespaces(b)
		group := fmt.Sprintf("scale-%d", nsSeq.Load())

		// Nodes appear while the controller is down, so that the first phase
		// measures the controller alone.
		for i := range nNodes {
			n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%04d", group, i), Labels: map[string]string{"group": group}}}
			if err := k8s.Create(ctx, n); err != nil {
				b.Fatal(err)
			}
		}
		b.Cleanup(func() {
			_ = k8s.DeleteAllOf(ctx, &corev1.Node{}, client.MatchingLabels{"group": group})
		})

		start := time.Now()
		var lastLog time.Duration
		c := startController(b, ns, frrNS)
		waitFor(b, func() (bool, error) {
			list := &metav1.PartialObjectMetadataList{}
			list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("NodeList"))
			if err := k8s.List(ctx, list, client.MatchingLabels{"group": group}); err != nil {
				return false, err
			}
			indexed := 0
			for _, n := range list.Items {
				if _, ok := addressing.ParseNodeIndex(n.Annotations); ok {
					indexed++
				}
			}
			if time.Since(start) > 5*time.Second && indexed < nNodes && time.Since(start) > lastLog+time.Second {
				lastLog = time.Since(start)
				b.Logf("%s: %d indexed of %d, reconciles %v", time.Since(start), indexed, len(list.Items), reconcileCount(b, "nodeindex"))
			}
			return indexed == nNodes, nil
		})
		indexTime := time.Since(start)
		settle(b, c.writes)
		indexWrites := c.writes.snapshot()
		c.writes.reset()

		// 100 L3VNIs applied at once, as `kubectl apply -f` of one file would.
		start = time.Now()
		// A thousand nodes need /22s: a /24 is rejected as too small.
		u := underlay(ns, "fabric", group)
		u.Spec.VTEPCIDR, u.Spec.RouterIDCIDR = "100.64.0.0/22", "10.0.0.0/22"
		create(b, u)
		for i := range nL3VNIs {
			create(b, l3vni(ns, fmt.Sprintf("vrf%03d", i), group, int32(1000+i), fmt.Sprintf("10.%d.%d.0/22", 100+i/64, (i%64)*4)))
		}
		waitFor(b, func() (bool, error) {
			var cfgs frrv1beta1.FRRConfigurationList
			if err := k8s.List(ctx, &cfgs, client.InNamespace(frrNS)); err != nil {
				return false, err
			}
			if len(cfgs.Items) != nL3VNIs {
				return false, nil
			}
			var l3vnis evpnv1.L3VNIList
			if err := k8s.List(ctx, &l3vnis, client.InNamespace(ns)); err != nil {
				return false, err
			}
			for _, l := range l3vnis.Items {
				if conditionIs(l.Status.Conditions, l.Generation, evpnv1.ConditionFRRConfigurationReady, metav1.ConditionTrue, ReasonWritten) != nil ||
					l.Status.Ready != fmt.Sprintf("0/%d", nNodes) {
					return false, nil
				}
			}
			return true, nil
		})
		l3vniTime := time.Since(start)
		settle(b, c.writes)
		l3vniWrites := c.writes.snapshot()
		c.stop()

		// A full resync with nothing changed: a new controller instance.
		c2 := startController(b, ns, frrNS)
		before := reconcileCount(b, "evpn")
		waitFor(b, func() (bool, error) { return reconcileCount(b, "evpn") > before, nil })
		settle(b, c2.writes)
		resyncWrites := c2.writes.total.Load()
		c2.stop()

		var mem runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&mem)

		b.ReportMetric(indexTime.Seconds(), "s-index-1000-nodes")
		b.ReportMetric(l3vniTime.Seconds(), "s-converge-100-l3vnis")
		b.ReportMetric(float64(sum(l3vniWrites))/nL3VNIs, "writes/l3vni")
		b.ReportMetric(float64(sum(indexWrites)), "writes-index-phase")
		b.ReportMetric(float64(resyncWrites), "writes-resync")
		b.ReportMetric(float64(mem.HeapAlloc)/(1<<20), "MiB-heap-after")
		b.Logf("indexing %d new nodes: %s, writes %s", nNodes, indexTime.Round(time.Millisecond), format(indexWrites))
		b.Logf("%d new L3VNIs converged: %s, writes %s", nL3VNIs, l3vniTime.Round(time.Millisecond), format(l3vniWrites))
		b.Logf("full resync with nothing changed: %d writes", resyncWrites)
	}
}

func waitFor(b testing.TB, done func() (bool, error)) {
	b.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		ok, err := done()
		if err != nil {
			b.Fatal(err)
		}
		if ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Fatal("not converged within 2 minutes")
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func format(m map[string]int) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}
