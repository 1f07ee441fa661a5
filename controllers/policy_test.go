package controllers

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
)

// TestPlumberWritesOnlyItsOwnStatus installs config/node/rbac.yaml (RBAC and the
// ValidatingAdmissionPolicy) and acts as the plumber of node-a, with the node name
// its pod's token would carry: its own RouterNodeStatus is allowed, another node's
// is refused with the policy's message.
func TestPlumberWritesOnlyItsOwnStatus(t *testing.T) {
	requireAPI(t)
	ctx := context.Background()
	ns := "frr-k8s-evpn-system"
	if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	installManifest(t, "../config/node/rbac.yaml")

	cfg := rest.CopyConfig(testCfg)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:frr-k8s-evpn-system:frr-k8s-evpn-nodeplumber",
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:frr-k8s-evpn-system", "system:authenticated"},
		Extra:    map[string][]string{"authentication.kubernetes.io/node-name": {"node-a"}},
	}
	plumber, err := client.New(cfg, client.Options{Scheme: Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	// The policy takes effect a moment after it is created.
	deadline := time.Now().Add(timeout)
	for {
		err := plumber.Create(ctx, &evpnv1.RouterNodeStatus{ObjectMeta: metav1.ObjectMeta{Name: "node-b", Namespace: ns}}, client.DryRunAll)
		if err != nil && strings.Contains(err.Error(), "may write only its own node's RouterNodeStatus") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writing another node's RouterNodeStatus: err = %v, want the policy's refusal", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	own := &evpnv1.RouterNodeStatus{ObjectMeta: metav1.ObjectMeta{Name: "node-a", Namespace: ns}}
	if err := plumber.Create(ctx, own); err != nil {
		t.Fatalf("the plumber cannot create its own RouterNodeStatus: %v", err)
	}
	t.Cleanup(func() { _ = k8s.Delete(ctx, own) })
	own.Status.NodeName = "node-a"
	if err := plumber.Status().Update(ctx, own); err != nil {
		t.Fatalf("the plumber cannot update its own status: %v", err)
	}
	if err := plumber.Delete(ctx, &evpnv1.Underlay{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: ns}}); !apierrors.IsForbidden(err) {
		t.Errorf("the plumber may delete an Underlay? err = %v", err)
	}

	// Its Events: about its RouterNodeStatus, in its namespace, where RBAC allows
	// them (an Event about its Node goes to "default", where it may not write).
	event := func(namespace string, regarding corev1.ObjectReference) *eventsv1.Event {
		return &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{GenerateName: "node-a-", Namespace: namespace},
			EventTime: metav1.NewMicroTime(time.Now()), ReportingController: "frr-k8s-evpn-nodeplumber", ReportingInstance: "node-a",
			Action: "Plumb", Reason: "NICMissing", Type: corev1.EventTypeWarning, Regarding: regarding, Note: "NIC eth9 is missing"}
	}
	if err := plumber.Create(ctx, event(ns, corev1.ObjectReference{APIVersion: evpnv1.GroupVersion.String(), Kind: "RouterNodeStatus", Namespace: ns, Name: "node-a", UID: own.UID})); err != nil {
		t.Errorf("the plumber cannot report an Event on its RouterNodeStatus: %v", err)
	}
	if err := plumber.Create(ctx, event("default", corev1.ObjectReference{APIVersion: "v1", Kind: "Node", Name: "node-a"})); !apierrors.IsForbidden(err) {
		t.Errorf("an Event in default is expected to be refused (that is why the plumber reports on its RouterNodeStatus): err = %v", err)
	}
}

// installManifest creates every object of a YAML file (those that exist stay).
func installManifest(t *testing.T, path string) {
	t.Helper()
	installManifestIn(t, path, "frr-k8s-evpn-system")
}

// installManifestIn installs a manifest as a kustomize overlay that moves the
// project to another namespace would: the namespace fields change (objects and
// RBAC subjects), the text of admission policies does not.
func installManifestIn(t *testing.T, path, namespace string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw = bytes.ReplaceAll(raw, []byte("namespace: frr-k8s-evpn-system"), []byte("namespace: "+namespace))
	docs := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	for {
		var u unstructured.Unstructured
		if err := docs.Decode(&u.Object); err != nil {
			break
		}
		if len(u.Object) == 0 {
			continue
		}
		if err := k8s.Create(context.Background(), &u); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("installing %s %s: %v", u.GetKind(), u.GetName(), err)
		}
	}
}

// as is a client that acts as a service account of the install namespace, with
// the node name a pod's token carries.
func as(t *testing.T, account, node string) client.Client {
	t.Helper()
	return asIn(t, "frr-k8s-evpn-system", account, node)
}

// asIn is as for a service account of another namespace.
func asIn(t *testing.T, namespace, account, node string) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(testCfg)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:" + namespace + ":" + account,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"},
	}
	if node != "" {
		cfg.Impersonate.Extra = map[string][]string{"authentication.kubernetes.io/node-name": {node}}
	}
	c, err := client.New(cfg, client.Options{Scheme: Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
