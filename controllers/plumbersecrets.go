package controllers

import (
	"context"
	"fmt"
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/placement"
)

// PlumberSecretsRole is the Role, in the project's namespace, through which node
// plumbers read password Secrets. The manifests create it without rules; the
// controller keeps its rules to the Secrets that Underlays name, so that a node
// cannot read the namespace's other Secrets. RBAC cannot grant a reader "the
// Secrets some object names", and one service account serves every node, so a
// Role kept up to date is the narrowest grant there is.
const PlumberSecretsRole = "frr-k8s-evpn-nodeplumber-secrets"

// plumberSecretRules decides the rules of PlumberSecretsRole: get, and nothing
// else, on each Secret that an Underlay names in its spec or in the version nodes
// run. The spec's names are granted before that version is accepted, so that
// plumbers can read a Secret as soon as they are told to use it. No Secret named
// means no rule at all: a rule with empty resourceNames would grant every Secret.
func plumberSecretRules(underlays []evpnv1.Underlay) []rbacv1.PolicyRule {
	var names []string
	add := func(spec *evpnv1.UnderlaySpec) {
		for _, n := range spec.Neighbors {
			if n.PasswordSecret != nil && n.PasswordSecret.Name != "" {
				names = append(names, n.PasswordSecret.Name)
			}
		}
	}
	for i := range underlays {
		add(&underlays[i].Spec)
		if a := placement.LastAccepted(&underlays[i]); a != nil {
			add(&a.Spec)
		}
	}
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	return []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}, ResourceNames: slices.Compact(names)}}
}

// keepPlumberSecretsRole writes rules into the Role when they differ; role is
// the cached Role, nil when it does not exist. The controller may patch this one
// Role and create none (a right to create Roles cannot be limited to one name), so
// a missing Role is logged once, and plumbers report the Secrets they cannot read
// on their nodes.
func (r *EVPNReconciler) keepPlumberSecretsRole(ctx context.Context, role *rbacv1.Role, rules []rbacv1.PolicyRule) error {
	if role == nil {
		if !r.roleMissingLogged && len(rules) > 0 {
			log.FromContext(ctx).Error(nil, "the Role that grants node plumbers their password Secrets does not exist: install it again (it is part of the manifests)",
				"namespace", r.Namespace, "role", PlumberSecretsRole)
		}
		r.roleMissingLogged = len(rules) > 0
		return nil
	}
	r.roleMissingLogged = false
	if equality.Semantic.DeepEqual(role.Rules, rules) || len(role.Rules) == 0 && len(rules) == 0 || r.alreadyWritten(role, rules) {
		return nil
	}
	staleRV := role.ResourceVersion
	patch := client.MergeFrom(role.DeepCopy())
	role.Rules = rules
	if err := r.Client.Patch(ctx, role, patch); err != nil {
		return fmt.Errorf("granting node plumbers the password Secrets through Role %s: %w", PlumberSecretsRole, err)
	}
	r.rememberStatus(role.UID, staleRV, rules)
	return nil
}
