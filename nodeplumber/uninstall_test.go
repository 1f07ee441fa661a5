package nodeplumber

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

func TestDaemonSetGoing(t *testing.T) {
	now := metav1.Now()
	for _, tc := range []struct {
		name string
		obj  any
		gone bool
		want bool
	}{
		{"seen, as it is", &metav1.PartialObjectMetadata{}, false, false},
		{"marked for deletion (foreground)", &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now}}, false, true},
		{"deleted", &metav1.PartialObjectMetadata{}, true, true},
		{"deleted while the watch was down (a tombstone)", toolscache.DeletedFinalStateUnknown{Key: "ns/ds"}, true, true},
	} {
		if got := daemonSetGoing(tc.obj, tc.gone); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestUninstallWatch follows a DaemonSet through a real API server: changes to it
// (a rollout) and the deletion of another DaemonSet are no uninstall; a foreground
// deletion and the object's removal are; creating it again takes that back.
func TestUninstallWatch(t *testing.T) {
	cfg := startAPI(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	k8s, err := client.New(cfg, client.Options{Scheme: Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	const ns = "default"
	plumber, router := daemonSet(ns, "plumber"), daemonSet(ns, "router")
	for _, d := range []*appsv1.DaemonSet{plumber, router} {
		if err := k8s.Create(ctx, d); err != nil {
			t.Fatal(err)
		}
	}

	w := &UninstallWatch{Namespace: ns, DaemonSet: "plumber", Log: ctrl.Log}
	o, by := w.CacheEntry()
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: Scheme(), Metrics: metricsserver.Options{BindAddress: "0"},
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{o: by}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	go func() { _ = mgr.Start(ctx) }()
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		t.Fatal("cache never synced")
	}
	// seen waits until the watch has seen the plumber's DaemonSet as the API server
	// has it now (or gone), so that a judgement that must not change is checked
	// after the event that could have changed it.
	seen := func(what string) {
		t.Helper()
		cur := &appsv1.DaemonSet{}
		getErr := k8s.Get(ctx, client.ObjectKeyFromObject(plumber), cur)
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			m := daemonSetMeta()
			err := mgr.GetCache().Get(ctx, client.ObjectKeyFromObject(plumber), m)
			if (getErr != nil && err != nil) || (getErr == nil && err == nil && m.ResourceVersion == cur.ResourceVersion) {
				return
			}
		}
		t.Fatalf("%s: the watch never caught up with the API server", what)
	}
	step := func(what string, do func() error, want bool) {
		t.Helper()
		if err := do(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		seen(what)
		if got := w.Deleted(); got != want {
			t.Errorf("%s: Deleted() = %v, want %v", what, got, want)
		}
	}
	patch := func(edit func(*appsv1.DaemonSet)) func() error {
		return func() error {
			cur := &appsv1.DaemonSet{}
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(plumber), cur); err != nil {
				return err
			}
			before := cur.DeepCopy()
			edit(cur)
			return k8s.Patch(ctx, cur, client.MergeFrom(before))
		}
	}

	step("started", func() error { return nil }, false)
	step("rolled to a new image", patch(func(d *appsv1.DaemonSet) { d.Spec.Template.Spec.Containers[0].Image = "plumber:v2" }), false)
	step("the router's DaemonSet deleted", func() error {
		if err := k8s.Delete(ctx, router); err != nil {
			return err
		}
		// An event about the plumber's own DaemonSet after it: had the router's
		// deletion reached the watch, it would have come first.
		return patch(func(d *appsv1.DaemonSet) { d.Annotations = map[string]string{"after": "router"} })()
	}, false)
	// No garbage collector runs here: the object stays, marked, with the
	// finalizer a foreground deletion puts on it.
	step("deleted in the foreground (marked)", func() error {
		return k8s.Delete(ctx, plumber, client.PropagationPolicy(metav1.DeletePropagationForeground))
	}, true)
	step("the marked DaemonSet goes", patch(func(d *appsv1.DaemonSet) { d.Finalizers = nil }), true)
	step("created again before the plumber stopped", func() error { return k8s.Create(ctx, daemonSet(ns, "plumber")) }, false)
	step("deleted (background, as helm uninstall does)", func() error {
		return k8s.Delete(ctx, daemonSet(ns, "plumber"), client.PropagationPolicy(metav1.DeletePropagationBackground))
	}, true)
}

func daemonSet(ns, name string) *appsv1.DaemonSet {
	labels := map[string]string{"app": name}
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: name, Image: name + ":v1"}}},
			},
		},
	}
}
