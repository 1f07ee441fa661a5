package nodeplumber

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"
)

// A router whose bgpd restarted without its configuration (and whose sidecar did
// not restore it) is noticed by the plumber's router watch: the next pass posts
// the configuration again and FRR runs it; the watch's "healthy again" pass then
// writes nothing, to the kernel, to FRR or to the API.
func TestRouterWatchRepostsALostConfiguration(t *testing.T) {
	p := newPlumberLab(t)
	r := p.plumber(p.stateFile)
	p.reconcile(t, r)
	readyIs(t, p.status(t), metav1.ConditionTrue, ReasonApplied, "")

	r.RouterCheck = 200 * time.Millisecond
	wake := make(chan event.GenericEvent)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = r.watchRouter(ctx, wake) }()
	select {
	case <-wake:
		t.Fatal("the router watch woke the plumber while FRR ran its configuration")
	case <-time.After(time.Second):
	}

	p.router.RestartDaemon(t, "bgpd")
	select {
	case <-wake:
	case <-time.After(10 * time.Second):
		t.Fatal("the router watch did not notice that bgpd lost its configuration")
	}
	calls := p.reloader.calls.Load()
	p.reconcile(t, r)
	if p.reloader.calls.Load() == calls {
		t.Fatal("the pass after the router watch woke it did not post the configuration")
	}
	if !strings.Contains(p.router.Vtysh(t, "show running-config"), "router bgp") {
		t.Fatal("the router's bgpd did not get its configuration back")
	}
	readyIs(t, p.status(t), metav1.ConditionTrue, ReasonApplied, "")

	select {
	case <-wake:
	case <-time.After(10 * time.Second):
		t.Fatal("the router watch did not notice that FRR runs its configuration again")
	}
	time.Sleep(1100 * time.Millisecond) // a reload time taken now would differ from the one on record
	writes := p.apiWrites.Load()
	p.noWrites(t, "the pass after FRR runs its configuration again", func() { p.reconcile(t, r) })
	if n := p.apiWrites.Load() - writes; n != 0 {
		t.Errorf("the pass after FRR runs its configuration again made %d API writes", n)
	}
}
