package controllers

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	frrv1beta1 "github.com/metallb/frr-k8s/api/v1beta1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// FRRK8sPresence tells whether FRR-K8s's CRDs are installed. The controller must
// run without them: it still indexes nodes, publishes decisions for the plumbers
// and lets L3VNIs be deleted, and every L3VNI says that FRR-K8s is missing. It
// checks again every Interval and, once the CRDs appear, starts watching
// FRR-K8s's kinds and evaluates again.
type FRRK8sPresence struct {
	// Mapper answers whether the kinds are served (the manager's REST mapper).
	Mapper   meta.RESTMapper
	Interval time.Duration
	// Config, Scheme and Namespace build the cache of FRR-K8s's kinds:
	// FRRConfigurations in FRR-K8s's namespace only (the controller may read no
	// other), FRRNodeStates (cluster-scoped).
	Config    *rest.Config
	Scheme    *runtime.Scheme
	Namespace string

	// cache is set once the CRDs are found; a manager cache cannot be told about
	// a kind its API server does not serve yet.
	cache       cache.Cache
	installed   atomic.Bool
	onInstalled func() error
	changed     chan event.GenericEvent
}

// Installed reports whether FRR-K8s's CRDs were found.
func (p *FRRK8sPresence) Installed() bool { return p.installed.Load() }

// Reader reads FRR-K8s's kinds; nil until Installed.
func (p *FRRK8sPresence) Reader() client.Reader {
	if !p.Installed() {
		return nil
	}
	return p.cache
}

// newCache builds the cache of FRR-K8s's kinds.
func (p *FRRK8sPresence) newCache() (cache.Cache, error) {
	return cache.New(p.Config, cache.Options{Scheme: p.Scheme, Mapper: p.Mapper,
		DefaultNamespaces: map[string]cache.Config{p.Namespace: {}}})
}

// check looks the kinds up once.
func (p *FRRK8sPresence) check() (bool, error) {
	for _, kind := range []string{"FRRConfiguration", "FRRNodeState"} {
		_, err := p.Mapper.RESTMapping(frrv1beta1.GroupVersion.WithKind(kind).GroupKind(), frrv1beta1.GroupVersion.Version)
		if meta.IsNoMatchError(err) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("looking up FRR-K8s's %s: %w", kind, err)
		}
	}
	return true, nil
}

// wake asks for one more evaluation (one is enough: they coalesce).
func (p *FRRK8sPresence) wake() {
	select {
	case p.changed <- event.GenericEvent{Object: &frrv1beta1.FRRConfiguration{}}:
	default:
	}
}

// Start polls until the CRDs are installed (a manager.Runnable).
func (p *FRRK8sPresence) Start(ctx context.Context) error {
	logger := log.FromContext(ctx).WithName("frr-k8s")
	interval := p.Interval
	if interval == 0 {
		interval = 15 * time.Second
	}
	warned := false
	for {
		ok, err := p.check()
		switch {
		case err != nil:
			logger.Error(err, "cannot tell whether FRR-K8s is installed")
		case ok:
			if err := p.onInstalled(); err != nil {
				return fmt.Errorf("watching FRR-K8s's kinds: %w", err)
			}
			logger.Info("FRR-K8s's CRDs are installed: writing FRRConfigurations")
			p.wake()
			return nil
		case !warned:
			logger.Info("FRR-K8s's CRDs (frrk8s.metallb.io) are not installed: no FRRConfiguration can be written until they are; nodes are still indexed and plumbed", "recheckEvery", interval)
			warned = true
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}
