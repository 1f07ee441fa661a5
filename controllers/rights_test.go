package controllers

import (
	"context"
	"strings"
	"testing"
	"time"

	frrv1beta1 "github.com/metallb/frr-k8s/api/v1beta1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"sigs.k8s.io/controller-runtime/pkg/client"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
)

// TestServiceAccountRights installs the shipped RBAC and admission policies and
// acts as each service account: what it must be able to do works, and what it
// must not do is refused, by RBAC or by a policy's message.
func TestServiceAccountRights(t *testing.T) {
	requireAPI(t)
	ctx := context.Background()
	for _, n := range []string{"frr-k8s-evpn-system", "frr-k8s-system", "elsewhere"} {
		if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	for _, m := range []string{"../config/rbac/controller.yaml", "../config/rbac/policies.yaml", "../config/node/rbac.yaml"} {
		installManifest(t, m)
	}
	ns, frrNS := "frr-k8s-evpn-system", "frr-k8s-system"
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "rights-node", Labels: map[string]string{"zone": "a"}}}
	create(t, node)
	t.Cleanup(func() { _ = k8s.Delete(ctx, node) })
	foreign := &frrv1beta1.FRRConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "metallb-like", Namespace: frrNS}}
	create(t, foreign)
	t.Cleanup(func() { _ = k8s.Delete(ctx, foreign) })
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "leaf-password", Namespace: ns}, Data: map[string][]byte{"password": []byte("x")}}
	if err := k8s.Create(ctx, secret); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	unrelated := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "someone-elses", Namespace: ns}, Data: map[string][]byte{"token": []byte("y")}}
	if err := k8s.Create(ctx, unrelated); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	controller, plumber := as(t, "frr-k8s-evpn-controller", ""), as(t, "frr-k8s-evpn-nodeplumber", "rights-node")
	// The controller grants the plumbers the Secret an Underlay names, as its
	// reconciler does, with its own rights.
	withPassword := underlay(ns, "rights-fabric", "g")
	withPassword.Spec.Neighbors[0].PasswordSecret = &evpnv1.SecretRef{Name: secret.Name}
	grant := func() error {
		role := &rbacv1.Role{}
		if err := controller.Get(ctx, client.ObjectKey{Namespace: ns, Name: PlumberSecretsRole}, role); err != nil {
			return err
		}
		r := &EVPNReconciler{Client: controller, Namespace: ns}
		return r.keepPlumberSecretsRole(ctx, role, plumberSecretRules([]evpnv1.Underlay{*withPassword}))
	}
	grantMore := func(verbs ...string) error {
		role := &rbacv1.Role{}
		if err := controller.Get(ctx, client.ObjectKey{Namespace: ns, Name: PlumberSecretsRole}, role); err != nil {
			return err
		}
		role.Rules = []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: verbs}}
		return controller.Update(ctx, role, client.DryRunAll)
	}
	// Another workload to which someone granted writes on our status.
	grantStatusWrites(t, ns, "some-operator")
	other := as(t, "some-operator", "")
	target := l3vni(ns, "rights-red", "g", 4000, seedLocalCIDR)
	if err := k8s.Create(ctx, target); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(ctx, target) })
	forgeAccepted := func(c client.Client) error { return forgePublished(c, target) }

	patchNode := func(c client.Client, edit func(*corev1.Node)) error {
		n := &corev1.Node{}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(node), n); err != nil {
			return err
		}
		before := n.DeepCopy()
		edit(n)
		return c.Patch(ctx, n, client.MergeFrom(before), client.DryRunAll)
	}
	managed := func(name, namespace string) *frrv1beta1.FRRConfiguration {
		return &frrv1beta1.FRRConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace,
			Labels: map[string]string{evpnv1.ManagedByLabel: evpnv1.ManagedByValue}}}
	}
	tests := []rightCase{
		{"controller: set the node index", func() error {
			return patchNode(controller, func(n *corev1.Node) { n.Annotations = map[string]string{evpnv1.NodeIndexAnnotation: "7"} })
		}, ""},
		{"controller: change a Node's labels", func() error {
			return patchNode(controller, func(n *corev1.Node) { n.Labels["zone"] = "b" })
		}, "may change only the evpn.frrk8s.dev/node-index annotation"},
		{"controller: cordon a Node", func() error {
			return patchNode(controller, func(n *corev1.Node) { n.Spec.Unschedulable = true })
		}, "may change only the evpn.frrk8s.dev/node-index annotation"},
		{"controller: another annotation", func() error {
			return patchNode(controller, func(n *corev1.Node) { n.Annotations = map[string]string{"x": "y"} })
		}, "may change only the evpn.frrk8s.dev/node-index annotation"},
		{"controller: create a managed FRRConfiguration", func() error {
			return controller.Create(ctx, managed("evpn-x", frrNS), client.DryRunAll)
		}, ""},
		{"controller: create an unmanaged FRRConfiguration", func() error {
			return controller.Create(ctx, &frrv1beta1.FRRConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "sneaky", Namespace: frrNS}}, client.DryRunAll)
		}, "may write only the FRRConfigurations it manages"},
		{"controller: take over MetalLB's FRRConfiguration", func() error {
			c := foreign.DeepCopy()
			c.Labels = map[string]string{evpnv1.ManagedByLabel: evpnv1.ManagedByValue}
			return controller.Update(ctx, c, client.DryRunAll)
		}, "may write only the FRRConfigurations it manages"},
		{"controller: delete MetalLB's FRRConfiguration", func() error {
			return controller.Delete(ctx, foreign.DeepCopy(), client.DryRunAll)
		}, "may write only the FRRConfigurations it manages"},
		{"controller: an FRRConfiguration in another namespace", func() error {
			return controller.Create(ctx, managed("evpn-x", "elsewhere"), client.DryRunAll)
		}, "forbidden"},
		{"controller: list the cluster's ServiceCIDRs", func() error {
			return controller.List(ctx, &networkingv1.ServiceCIDRList{})
		}, ""},
		{"controller: change a ServiceCIDR", func() error {
			return controller.Create(ctx, &networkingv1.ServiceCIDR{ObjectMeta: metav1.ObjectMeta{Name: "stolen"},
				Spec: networkingv1.ServiceCIDRSpec{CIDRs: []string{"10.99.0.0/24"}}}, client.DryRunAll)
		}, "forbidden"},
		// get is what RBAC requires of whoever grants get: the controller could
		// already read Secrets through list.
		{"controller: get a Secret", func() error {
			return controller.Get(ctx, client.ObjectKeyFromObject(secret), &corev1.Secret{})
		}, ""},
		{"controller: grant plumbers the Secret an Underlay names", grant, ""},
		{"controller: grant plumbers writes on Secrets", func() error { return grantMore("get", "update") }, "forbidden"},
		{"controller: change another Role", func() error {
			return controller.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "mine", Namespace: ns}}, client.DryRunAll)
		}, "forbidden"},
		{"plumber: get a Secret an Underlay names", func() error {
			return plumber.Get(ctx, client.ObjectKeyFromObject(secret), &corev1.Secret{})
		}, ""},
		{"plumber: get a Secret no Underlay names", func() error {
			return plumber.Get(ctx, client.ObjectKeyFromObject(unrelated), &corev1.Secret{})
		}, "forbidden"},
		{"plumber: list Secrets", func() error {
			return plumber.List(ctx, &corev1.SecretList{}, client.InNamespace(ns))
		}, "forbidden"},
		{"controller: edit an Underlay's spec", func() error {
			return controller.Create(ctx, underlay(ns, "from-controller", "g"), client.DryRunAll)
		}, "forbidden"},
		{"plumber: patch its Node", func() error {
			return patchNode(plumber, func(n *corev1.Node) { n.Labels["zone"] = "c" })
		}, "forbidden"},
		{"controller: publish an L3VNI's accepted version", func() error { return forgeAccepted(controller) }, ""},
		{"another workload with RBAC on l3vnis/status: forge the published version", func() error { return forgeAccepted(other) },
			"only the frr-k8s-evpn controller writes the status of Underlays and L3VNIs"},
		// controller-runtime's leader election says "became leader" with the core API.
		{"controller: record leader election's Event", func() error {
			return controller.Create(ctx, &corev1.Event{
				ObjectMeta:     metav1.ObjectMeta{GenerateName: "lease-", Namespace: ns},
				InvolvedObject: corev1.ObjectReference{Kind: "Lease", Namespace: ns, Name: "frr-k8s-evpn-controller"},
				Reason:         "LeaderElection", Message: "became leader", Type: corev1.EventTypeNormal,
			}, client.DryRunAll)
		}, ""},
		{"plumber: write an FRRConfiguration", func() error {
			return plumber.Create(ctx, managed("evpn-y", frrNS), client.DryRunAll)
		}, "forbidden"},
		{"plumber: write an L3VNI's status", func() error {
			l := l3vni(ns, "x", "g", 1, seedLocalCIDR)
			return plumber.Status().Update(ctx, l)
		}, "forbidden"},
		{"plumber: read a Secret in another namespace", func() error {
			return plumber.Get(ctx, client.ObjectKey{Namespace: "elsewhere", Name: "x"}, &corev1.Secret{})
		}, "forbidden"},
		// The uninstall watch: its own DaemonSet's metadata, by name, and no other.
		{"plumber: watch its own DaemonSet", func() error {
			return plumber.List(ctx, daemonSetsMeta(), client.InNamespace(ns),
				client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("metadata.name", "frr-k8s-evpn-nodeplumber")})
		}, ""},
		{"plumber: list every DaemonSet", func() error {
			return plumber.List(ctx, daemonSetsMeta(), client.InNamespace(ns))
		}, "forbidden"},
		{"plumber: read the router's DaemonSet", func() error {
			return plumber.Get(ctx, client.ObjectKey{Namespace: ns, Name: "frr-k8s-evpn-router"}, &appsv1.DaemonSet{})
		}, "forbidden"},
		{"plumber: another node's RouterNodeStatus", func() error {
			return plumber.Create(ctx, &evpnv1.RouterNodeStatus{ObjectMeta: metav1.ObjectMeta{Name: "someone-else", Namespace: ns}}, client.DryRunAll)
		}, "may write only its own node's RouterNodeStatus"},
	}
	checkRights(t, tests)
}

func daemonSetsMeta() *metav1.PartialObjectMetadataList {
	l := &metav1.PartialObjectMetadataList{}
	l.SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind("DaemonSetList"))
	return l
}

// rightCase is one thing a service account does; want is "" when it must be
// allowed, "forbidden" when RBAC must refuse it, else the message of the
// admission policy that must.
type rightCase struct {
	name string
	do   func() error
	want string
}

// checkRights runs each case until it gives what it wants: policies take effect
// a moment after they are created.
func checkRights(t *testing.T, cases []rightCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			deadline := time.Now().Add(timeout)
			for {
				err := tt.do()
				var problem string
				switch {
				case tt.want == "" && err != nil:
					problem = "refused: " + err.Error()
				case tt.want == "forbidden" && !apierrors.IsForbidden(err):
					problem = "want a refusal by RBAC, got " + errString(err)
				case tt.want != "" && tt.want != "forbidden" && (err == nil || !strings.Contains(err.Error(), tt.want)):
					problem = "want a refusal with " + tt.want + ", got " + errString(err)
				}
				if problem == "" {
					return
				}
				if time.Now().After(deadline) {
					t.Fatal(problem)
				}
				time.Sleep(200 * time.Millisecond)
			}
		})
	}
}

// grantStatusWrites gives a service account of namespace the rights on L3VNI
// status that only the controller should have: what an admission policy must stop.
func grantStatusWrites(t *testing.T, namespace, account string) {
	t.Helper()
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "too-generous", Namespace: namespace},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{evpnv1.GroupVersion.Group}, Resources: []string{"l3vnis", "l3vnis/status"}, Verbs: []string{"get", "update", "patch"}}}}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "too-generous", Namespace: namespace},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "too-generous"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: account, Namespace: namespace}}}
	for _, o := range []client.Object{role, binding} {
		if err := k8s.Create(context.Background(), o); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
}

// forgePublished tries, as c, to write a published version into an L3VNI's
// status (dry run).
func forgePublished(c client.Client, target *evpnv1.L3VNI) error {
	ctx := context.Background()
	l := &evpnv1.L3VNI{}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(target), l); err != nil {
		return err
	}
	l.Status.Accepted = &evpnv1.AcceptedL3VNI{Generation: l.Generation, Spec: l.Spec, RouterASN: 1}
	return c.Status().Update(ctx, l, client.DryRunAll)
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// TestPoliciesFollowTheInstallNamespace: installed in another namespace (as an
// overlay that changes the namespace would), the admission policies still let
// each plumber write only its own node's status and only that namespace's
// controller write the published versions.
func TestPoliciesFollowTheInstallNamespace(t *testing.T) {
	requireAPI(t)
	ctx := context.Background()
	ns := "evpn-elsewhere"
	for _, n := range []string{ns, "frr-k8s-system"} {
		if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	for _, m := range []string{"../config/rbac/controller.yaml", "../config/rbac/policies.yaml", "../config/node/rbac.yaml"} {
		installManifestIn(t, m, ns)
	}
	grantStatusWrites(t, ns, "some-operator")
	target := l3vni(ns, "elsewhere-red", "g", 4001, seedLocalCIDR)
	if err := k8s.Create(ctx, target); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	forge := func(c client.Client) error { return forgePublished(c, target) }
	plumber := asIn(t, ns, "frr-k8s-evpn-nodeplumber", "node-x")
	tests := []rightCase{
		{"its controller publishes", func() error { return forge(asIn(t, ns, "frr-k8s-evpn-controller", "")) }, ""},
		{"another workload forges", func() error { return forge(asIn(t, ns, "some-operator", "")) }, "only the frr-k8s-evpn controller writes the status"},
		{"the default namespace's controller forges here", func() error { return forge(as(t, "frr-k8s-evpn-controller", "")) }, "forbidden"},
		{"its plumber writes its own node's status", func() error {
			return plumber.Create(ctx, &evpnv1.RouterNodeStatus{ObjectMeta: metav1.ObjectMeta{Name: "node-x", Namespace: ns}}, client.DryRunAll)
		}, ""},
		{"its plumber writes another node's", func() error {
			return plumber.Create(ctx, &evpnv1.RouterNodeStatus{ObjectMeta: metav1.ObjectMeta{Name: "node-y", Namespace: ns}}, client.DryRunAll)
		}, "may write only its own node's RouterNodeStatus"},
	}
	checkRights(t, tests)
}
