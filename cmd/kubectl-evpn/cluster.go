package main

import (
	"context"
	"flag"
	"fmt"

	frrv1beta1 "github.com/metallb/frr-k8s/api/v1beta1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/controllers"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/statusview"
)

// clusterFlags are the flags every command that reads the cluster takes, named
// as kubectl names them.
type clusterFlags struct {
	kubeconfig, context, namespace, frrK8sNamespace string
	// config, when set (tests), is used instead of the kubeconfig.
	config *rest.Config
}

func (c *clusterFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.kubeconfig, "kubeconfig", "", "the kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")
	fs.StringVar(&c.context, "context", "", "the kubeconfig context")
	fs.StringVar(&c.namespace, "n", evpnv1.DefaultNamespace, "the namespace of the Underlays, L3VNIs and RouterNodeStatuses")
	fs.StringVar(&c.namespace, "namespace", evpnv1.DefaultNamespace, "same as -n")
	fs.StringVar(&c.frrK8sNamespace, "frrk8s-namespace", controllers.DefaultFRRK8sNamespace, "FRR-K8s's namespace (its BGPSessionStates)")
}

// restConfig honours the kubeconfig the way kubectl does; kubectl passes its
// own --kubeconfig and --context to a plugin only through the environment.
func (c *clusterFlags) restConfig() (*rest.Config, error) {
	if c.config != nil {
		return c.config, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = c.kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: c.context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading the kubeconfig: %w", err)
	}
	return cfg, nil
}

// snapshot lists everything the view reads. FRR-K8s's kinds may be missing: the
// view then says so on the rows FRR-K8s should serve.
func (c *clusterFlags) snapshot(ctx context.Context) (*statusview.Snapshot, error) {
	cfg, err := c.restConfig()
	if err != nil {
		return nil, err
	}
	cl, err := client.New(cfg, client.Options{Scheme: controllers.Scheme()})
	if err != nil {
		return nil, fmt.Errorf("connecting to the API server: %w", err)
	}
	s := &statusview.Snapshot{Namespace: c.namespace}
	var (
		underlays evpnv1.UnderlayList
		l3vnis    evpnv1.L3VNIList
		statuses  evpnv1.RouterNodeStatusList
		nodes     corev1.NodeList
	)
	for _, l := range []struct {
		list client.ObjectList
		opts []client.ListOption
	}{
		{&underlays, []client.ListOption{client.InNamespace(c.namespace)}},
		{&l3vnis, []client.ListOption{client.InNamespace(c.namespace)}},
		{&statuses, []client.ListOption{client.InNamespace(c.namespace)}},
		{&nodes, nil},
	} {
		if err := cl.List(ctx, l.list, l.opts...); err != nil {
			return nil, fmt.Errorf("listing %T: %w", l.list, err)
		}
	}
	s.Underlays, s.L3VNIs, s.RouterStatuses, s.Nodes = underlays.Items, l3vnis.Items, statuses.Items, nodes.Items

	var (
		states   frrv1beta1.FRRNodeStateList
		sessions frrv1beta1.BGPSessionStateList
	)
	if err := cl.List(ctx, &states); meta.IsNoMatchError(err) {
		s.FRRK8sMissing = true
		return s, nil
	} else if err != nil {
		return nil, fmt.Errorf("listing FRRNodeStates: %w", err)
	}
	if err := cl.List(ctx, &sessions, client.InNamespace(c.frrK8sNamespace)); err != nil && !meta.IsNoMatchError(err) {
		return nil, fmt.Errorf("listing BGPSessionStates in %s: %w", c.frrK8sNamespace, err)
	}
	s.FRRNodeStates, s.Sessions = states.Items, sessions.Items
	return s, nil
}
