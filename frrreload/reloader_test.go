package frrreload

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/e2e/frrinstance"
)

// The router's FRR (AS 64512) and a fabric peer (AS 64513) in two namespaces.
const (
	routerAddr = "10.99.0.1"
	peerAddr   = "10.99.0.2"
)

const configA = `frr defaults datacenter
!
router bgp 64512
 bgp router-id 10.0.0.1
 no bgp ebgp-requires-policy
 neighbor 10.99.0.2 remote-as 64513
exit
!
`

// configB adds a neighbor (that never comes up) to configA.
const configB = `frr defaults datacenter
!
router bgp 64512
 bgp router-id 10.0.0.1
 no bgp ebgp-requires-policy
 neighbor 10.99.0.2 remote-as 64513
 neighbor 10.99.0.6 remote-as 64514
exit
!
`

func setup(t *testing.T) (*Reloader, *frrinstance.Instance) {
	t.Helper()
	router := frrinstance.Start(t, "rtr")
	peer := frrinstance.Start(t, "peer")
	frrinstance.Link(t, router.Netns, "eth1", routerAddr+"/30", peer.Netns, "eth1", peerAddr+"/30")
	peer.Configure(t, "router bgp 64513\n bgp router-id 10.0.0.2\n no bgp ebgp-requires-policy\n neighbor 10.99.0.1 remote-as 64512\nexit\n")
	dir := t.TempDir()
	return &Reloader{
		LastGood: filepath.Join(dir, "lastgood", "frr.conf"), WorkDir: dir, VtySocket: router.Dir, Log: testr.New(t),
	}, router
}

func TestReloadKeepsUnchangedSessions(t *testing.T) {
	r, router := setup(t)
	ctx := context.Background()

	if res, err := r.Apply(ctx, []byte(configA)); err != nil || !res.Changed {
		t.Fatalf("config A: %+v, %v\n%s", res, err, router.Logs())
	}
	before := router.WaitEstablished(t, "", peerAddr, 30*time.Second)

	if res, err := r.Apply(ctx, []byte(configB)); err != nil || !res.Changed {
		t.Fatalf("config B: %+v, %v", res, err)
	}
	if !strings.Contains(router.Vtysh(t, "show running-config"), "neighbor 10.99.0.6 remote-as 64514") {
		t.Fatal("config B's new neighbor is not in the running config")
	}
	time.Sleep(2 * time.Second) // a reset would show within the hold time's first seconds
	after := router.BGPNeighbor(t, "", peerAddr)
	if after.State != "Established" || after.ConnectionsEstablished != before.ConnectionsEstablished || after.ConnectionsDropped != before.ConnectionsDropped {
		t.Fatalf("the unchanged session was reset: before %+v, after %+v", before, after)
	}

	// The same configuration again: nothing to do, and no reload.
	if res, err := r.Apply(ctx, []byte(configB)); err != nil || res.Changed {
		t.Fatalf("re-applying config B: %+v, %v; want unchanged", res, err)
	}
	if got, _ := os.ReadFile(r.LastGood); string(got) != configB {
		t.Errorf("last good config is not config B:\n%s", got)
	}

	// Control: a change that does touch the session is seen as a reset by the
	// same counters, so the check above can fail.
	shut := strings.Replace(configB, " neighbor 10.99.0.6 remote-as 64514\n", " neighbor 10.99.0.6 remote-as 64514\n neighbor 10.99.0.2 shutdown\n", 1)
	if _, err := r.Apply(ctx, []byte(shut)); err != nil {
		t.Fatal(err)
	}
	if n := router.BGPNeighbor(t, "", peerAddr); n.State == "Established" || n.ConnectionsDropped == before.ConnectionsDropped {
		t.Errorf("shutting the neighbor down was not seen as a reset: %+v", n)
	}
}

func TestInvalidConfigLeavesTheRunningOne(t *testing.T) {
	r, router := setup(t)
	ctx := context.Background()
	if _, err := r.Apply(ctx, []byte(configA)); err != nil {
		t.Fatal(err)
	}
	router.WaitEstablished(t, "", peerAddr, 30*time.Second)
	running := router.Vtysh(t, "show running-config")

	bad := strings.Replace(configB, "remote-as 64514", "remote-az 64514", 1)
	_, err := r.Apply(ctx, []byte(bad))
	if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "remote-az") {
		t.Fatalf("err = %v, want a rejection quoting FRR on the bad line", err)
	}
	if got := router.Vtysh(t, "show running-config"); got != running {
		t.Errorf("the running config changed after a rejected one:\n%s\nwas\n%s", got, running)
	}
	if got, _ := os.ReadFile(r.LastGood); string(got) != configA {
		t.Errorf("the last good config changed:\n%s", got)
	}
	if n := router.BGPNeighbor(t, "", peerAddr); n.State != "Established" || n.ConnectionsEstablished != 1 {
		t.Errorf("the session suffered from a rejected config: %+v", n)
	}
}

// TestServer drives the reloader through its unix socket, with concurrent posts.
func TestServer(t *testing.T) {
	r, router := setup(t)
	c, socket := serve(t, r)
	if st, err := os.Stat(socket); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode = %v, %v; want 0600", st.Mode(), err)
	}
	ctx := context.Background()
	// Concurrent posts are serialized: every one succeeds and the last one to be
	// applied is the running config.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for _, cfg := range []string{configA, configB, configA, configB} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Apply(ctx, cfg)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent apply: %v", err)
		}
	}
	resp, err := c.Apply(ctx, configB)
	if err != nil || (resp.Result != "success" && resp.Result != "unchanged") {
		t.Fatalf("apply B: %+v, %v", resp, err)
	}
	// The plumber tells a refusal (its stanza is the problem) from a reloader that
	// does not answer.
	if _, err := c.Apply(ctx, "router bgp 64512\n no-such-command\n"); !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "no-such-command") {
		t.Fatalf("bad config through the socket: %v, want ErrRejected with FRR's text", err)
	}
	router.WaitEstablished(t, "", peerAddr, 30*time.Second)

	if code, res := c.get(t, "/healthz"); code != http.StatusOK {
		t.Fatalf("healthz: %d %+v", code, res)
	}
	router.Stop()
	time.Sleep(300 * time.Millisecond)
	if code, res := c.get(t, "/healthz"); code != http.StatusServiceUnavailable {
		t.Fatalf("healthz with FRR stopped: %d %+v; want 503", code, res)
	}
}

// TestRestore: a restarted FRR comes back with the last good configuration.
func TestRestore(t *testing.T) {
	r, router := setup(t)
	ctx := context.Background()
	if _, err := r.Apply(ctx, []byte(configB)); err != nil {
		t.Fatal(err)
	}
	router.Stop()
	time.Sleep(500 * time.Millisecond)
	restarted := frrinstance.Start(t, "rtr2")
	r.VtySocket = restarted.Dir
	if strings.Contains(restarted.Vtysh(t, "show running-config"), "router bgp") {
		t.Fatal("a fresh FRR already has a BGP instance")
	}
	if err := r.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(restarted.Vtysh(t, "show running-config"), "neighbor 10.99.0.6 remote-as 64514") {
		t.Error("the restarted FRR did not get the last good config")
	}
}

// An FRR that runs nothing gets its first configuration by a plain vtysh load:
// with a frr-reload.py that always fails, the first Apply still works, and the
// next one, which has something to remove, goes through frr-reload.py and fails.
func TestFirstApplyLoadsWithoutFrrReload(t *testing.T) {
	r, router := setup(t)
	r.ReloadScript = "/bin/false"
	ctx := context.Background()
	if _, err := r.Apply(ctx, []byte(configA)); err != nil {
		t.Fatalf("first apply on an FRR that runs nothing: %v\n%s", err, router.Logs())
	}
	if !strings.Contains(router.Vtysh(t, "show running-config"), "neighbor 10.99.0.2 remote-as 64513") {
		t.Fatal("the first configuration is not running")
	}
	router.WaitEstablished(t, "", peerAddr, 30*time.Second)
	if _, err := r.Apply(ctx, []byte(configB)); err == nil {
		t.Fatal("a change to a running configuration did not go through frr-reload.py")
	}
}

// TestProbeHandler: the kubelet's loopback port answers /healthz as the socket
// does, and serves nothing that applies or reads a configuration.
func TestProbeHandler(t *testing.T) {
	r, router := setup(t)
	if _, err := r.Apply(context.Background(), []byte(configA)); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ProbeHandler(r))
	defer srv.Close()
	do := func(method, path string) int {
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(configB))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := do("GET", "/healthz"); code != http.StatusOK {
		t.Errorf("GET /healthz = %d; want 200", code)
	}
	for _, p := range []struct{ method, path string }{{"POST", "/config"}, {"GET", "/state"}} {
		if code := do(p.method, p.path); code != http.StatusNotFound && code != http.StatusMethodNotAllowed {
			t.Errorf("%s %s on the probe port = %d; want it not served", p.method, p.path, code)
		}
	}
	if strings.Contains(router.Vtysh(t, "show running-config"), "10.99.0.6") {
		t.Error("a configuration posted to the probe port was applied")
	}
	router.Stop()
	time.Sleep(300 * time.Millisecond)
	if code := do("GET", "/healthz"); code != http.StatusServiceUnavailable {
		t.Errorf("GET /healthz with FRR stopped = %d; want 503", code)
	}
}
