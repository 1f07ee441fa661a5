package controllers

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
)

func TestPlumberSecretRules(t *testing.T) {
	named := func(name string, secrets ...string) evpnv1.Underlay {
		u := underlay("ns", name, "g")
		u.Spec.Neighbors = nil
		for i, s := range secrets {
			u.Spec.Neighbors = append(u.Spec.Neighbors, evpnv1.Neighbor{Address: fmt.Sprintf("192.168.11.%d", i+2), ASN: 64612, PasswordSecret: &evpnv1.SecretRef{Name: s}})
		}
		return *u
	}
	running := func(u evpnv1.Underlay, secrets ...string) evpnv1.Underlay {
		old := named(u.Name, secrets...)
		u.Status.Accepted = &evpnv1.AcceptedUnderlay{Generation: 1, Spec: old.Spec}
		return u
	}
	tests := []struct {
		name      string
		underlays []evpnv1.Underlay
		want      []string // nil: no rule at all
	}{
		{"no Underlay", nil, nil},
		{"no password", []evpnv1.Underlay{named("a")}, nil},
		{"sorted, once each, across Underlays", []evpnv1.Underlay{named("a", "z", "m"), named("b", "m")}, []string{"m", "z"}},
		{"the version nodes run keeps its Secret until it is replaced", []evpnv1.Underlay{running(named("a", "new"), "old")}, []string{"new", "old"}},
		{"a password removed from the spec and from what runs", []evpnv1.Underlay{running(named("a"))}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules := plumberSecretRules(tt.underlays)
			if tt.want == nil {
				if rules != nil {
					t.Fatalf("want no rule (empty resourceNames would grant every Secret), got %+v", rules)
				}
				return
			}
			want := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}, ResourceNames: tt.want}}
			if !slices.EqualFunc(rules, want, func(a, b rbacv1.PolicyRule) bool {
				return slices.Equal(a.APIGroups, b.APIGroups) && slices.Equal(a.Resources, b.Resources) && slices.Equal(a.Verbs, b.Verbs) && slices.Equal(a.ResourceNames, b.ResourceNames)
			}) {
				t.Fatalf("got %+v, want %+v", rules, want)
			}
		})
	}
}

// TestControllerGrantsPlumbersTheirSecrets: the running controller keeps the
// plumbers' Secret Role to the Secrets that Underlays name, as they change, puts
// the rules back when someone removes them, and writes nothing when nothing changed.
func TestControllerGrantsPlumbersTheirSecrets(t *testing.T) {
	requireAPI(t)
	ctx := context.Background()
	ns, frrNS := newNamespaces(t)
	installManifestIn(t, "../config/node/rbac.yaml", ns)
	c := startController(t, ns, frrNS)
	granted := func(want ...string) func() error {
		return func() error {
			role := &rbacv1.Role{}
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: PlumberSecretsRole}, role); err != nil {
				return err
			}
			var got []string
			for _, r := range role.Rules {
				if !slices.Equal(r.Verbs, []string{"get"}) || !slices.Equal(r.Resources, []string{"secrets"}) || len(r.ResourceNames) == 0 {
					return fmt.Errorf("rule grants more than get on named Secrets: %+v", r)
				}
				got = append(got, r.ResourceNames...)
			}
			if !slices.Equal(got, want) {
				return fmt.Errorf("plumbers may get %v, want %v", got, want)
			}
			return nil
		}
	}
	secret := func(name string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: map[string][]byte{"password": []byte("x")}}
	}
	create(t, secret("pw-a"), secret("unrelated"))
	u := underlay(ns, "fabric", "g")
	u.Spec.Neighbors[0].PasswordSecret = &evpnv1.SecretRef{Name: "pw-a"}
	create(t, u)
	eventually(t, timeout, granted("pw-a"))

	// A change to a Secret that does not exist yet is not accepted: nodes keep
	// running pw-a, and may read pw-b as soon as it exists.
	edit := func(change func(u *evpnv1.Underlay)) {
		t.Helper()
		must(t, k8s.Get(ctx, client.ObjectKeyFromObject(u), u))
		before := u.DeepCopy()
		change(u)
		must(t, k8s.Patch(ctx, u, client.MergeFrom(before)))
	}
	edit(func(u *evpnv1.Underlay) { u.Spec.Neighbors[0].PasswordSecret.Name = "pw-b" })
	eventually(t, timeout, granted("pw-a", "pw-b"))
	create(t, secret("pw-b"))
	eventually(t, timeout, granted("pw-b"))

	// Someone applies an old manifest with no rules: they come back.
	role := &rbacv1.Role{}
	must(t, k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: PlumberSecretsRole}, role))
	role.Rules = nil
	must(t, k8s.Update(ctx, role))
	eventually(t, timeout, granted("pw-b"))

	c.writes.reset()
	edit(func(u *evpnv1.Underlay) { u.Labels = map[string]string{"touched": "yes"} }) // an event, nothing to change
	time.Sleep(time.Second)
	if n := c.writes.snapshot()["PATCH roles"] + c.writes.snapshot()["PUT roles"]; n != 0 {
		t.Errorf("nothing changed, yet %d writes to the Role", n)
	}

	must(t, k8s.Delete(ctx, u))
	eventually(t, timeout, granted())
}
