package frrreload

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/e2e/frrinstance"
)

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, what)
		}
	}
}

// A bgpd restarted without its configuration (watchfrr with an empty startup
// file) gets the last good configuration back from Watch, and an Apply of the
// same configuration is not "unchanged" while FRR has lost it.
func TestRestartedDaemonGetsTheLastGoodConfiguration(t *testing.T) {
	for _, tc := range []struct {
		name string
		// before runs before bgpd restarts, after once it has.
		before, after func(t *testing.T, r *Reloader)
	}{
		{name: "watch", before: func(t *testing.T, r *Reloader) {
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			go r.Watch(ctx, 200*time.Millisecond)
			time.Sleep(500 * time.Millisecond) // past its first look
		}},
		{name: "apply", after: func(t *testing.T, r *Reloader) {
			res, err := r.Apply(context.Background(), []byte(configB))
			if err != nil || !res.Changed {
				t.Fatalf("applying the last good configuration to an FRR that lost it: %+v, %v; want it applied", res, err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, router := setup(t)
			if _, err := r.Apply(context.Background(), []byte(configB)); err != nil {
				t.Fatal(err)
			}
			if tc.before != nil {
				tc.before(t, r)
			}
			router.RestartDaemon(t, "bgpd")
			if strings.Contains(router.Vtysh(t, "show running-config"), "router bgp") {
				t.Fatal("the restarted bgpd already runs a BGP instance: the test proves nothing")
			}
			if tc.after != nil {
				tc.after(t, r)
			}
			waitFor(t, 20*time.Second, "the restarted bgpd did not get the last good configuration back", func() bool {
				return strings.Contains(router.Vtysh(t, "show running-config"), "neighbor 10.99.0.6 remote-as 64514")
			})
			router.WaitEstablished(t, "", peerAddr, 30*time.Second)
		})
	}
}

// An apply runs to completion even when its client gives up waiting: stopping
// frr-reload.py halfway would leave FRR between two configurations.
func TestApplyOutlivesItsClient(t *testing.T) {
	r, router := setup(t)
	if _, err := r.Apply(context.Background(), []byte(configA)); err != nil {
		t.Fatal(err)
	}
	slow := filepath.Join(t.TempDir(), "slow-reload")
	if err := os.WriteFile(slow, []byte("#!/bin/sh\nsleep 2\nexec "+r.script()+" \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r.ReloadScript = slow
	c, _ := serve(t, r)

	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := c.Apply(ctx, configB); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("posting with a client that gives up: %v; want its deadline", err)
	}
	waitFor(t, 30*time.Second, "the abandoned apply did not complete", func() bool {
		got, _ := os.ReadFile(r.LastGood)
		return string(got) == configB
	})
	if !strings.Contains(router.Vtysh(t, "show running-config"), "neighbor 10.99.0.6 remote-as 64514") {
		t.Fatal("the last good configuration is B but FRR does not run it")
	}
}

// When the last good configuration cannot be restored, the reloader keeps
// serving, /healthz says why (without the password FRR quoted), and a new
// configuration that applies clears it.
func TestFailedRestoreKeepsServing(t *testing.T) {
	r, router := setup(t)
	c, _ := serve(t, r)
	bad := "router bgp 64512\n neighbor 10.99.0.2 remote-as 64513\n neighbor 10.99.0.2 password s3cret extra-word\nexit\n"
	if err := writePrivate(r.LastGood, []byte(bad)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Watch(ctx, 200*time.Millisecond)

	var health Response
	waitFor(t, 20*time.Second, "healthz does not report the failed restore", func() bool {
		code := 0
		code, health = c.get(t, "/healthz")
		return code == http.StatusServiceUnavailable && strings.Contains(health.Message, "restoring the last good configuration")
	})
	if strings.Contains(health.Message, "s3cret") || !strings.Contains(health.Message, "password <redacted>") {
		t.Errorf("healthz quotes the password: %q", health.Message)
	}
	if _, err := c.Apply(context.Background(), configA); err != nil {
		t.Fatalf("a good configuration while the restore fails: %v", err)
	}
	router.WaitEstablished(t, "", peerAddr, 30*time.Second)
	if code, health := c.get(t, "/healthz"); code != http.StatusOK {
		t.Errorf("healthz after a good apply: %d %+v", code, health)
	}
}

// The last good configuration may hold passwords: 0600 in a 0700 directory,
// and so are the candidates.
func TestFilesArePrivate(t *testing.T) {
	r, _ := setup(t)
	if _, err := r.Apply(context.Background(), []byte(configA)); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{
		r.LastGood:               0o600,
		filepath.Dir(r.LastGood): 0o700,
		filepath.Join(r.WorkDir, "candidate.conf"): 0o600,
	} {
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: %v, %v; want mode %v", path, st.Mode().Perm(), err, want)
		}
	}
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"line 3: % Unknown command: neighbor 10.0.0.1 password s3cret x", "line 3: % Unknown command: neighbor 10.0.0.1 password <redacted> x"},
		{"neighbor PEERS passwordd s3cret", "neighbor PEERS passwordd <redacted>"},
		{"Password  s3cret\nnext PASSWORD t0p", "Password  <redacted>\nnext PASSWORD <redacted>"},
		{"no secret here", "no secret here"},
	} {
		if got := Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// testClient is a reloader client that also reads /healthz.
type testClient struct {
	*Client
}

// serve serves r on a socket of its own, until the test ends.
func serve(t *testing.T, r *Reloader) (testClient, string) {
	t.Helper()
	socket := filepath.Join(t.TempDir(), "reloader.sock")
	l, err := Listen(socket)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: Handler(r)}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return testClient{NewClient(socket)}, socket
}

func (c testClient) get(t *testing.T, path string) (int, Response) {
	t.Helper()
	res, err := c.http.Get("http://reloader" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var r Response
	_ = json.NewDecoder(res.Body).Decode(&r)
	return res.StatusCode, r
}

// missingStanzas reads FRR's own running configuration: every stanza head of
// each golden configuration is found in what FRR prints after loading it, and a
// stanza FRR lost is found missing.
func TestMissingStanzasReadsFRR(t *testing.T) {
	goldens, _ := filepath.Glob("../frrtemplates/testdata/*.golden")
	if len(goldens) == 0 {
		t.Fatal("no golden configurations")
	}
	for _, g := range goldens {
		t.Run(filepath.Base(g), func(t *testing.T) {
			config, err := os.ReadFile(g)
			if err != nil {
				t.Fatal(err)
			}
			router := frrinstance.Start(t, "stz")
			router.Configure(t, string(config))
			running := router.Vtysh(t, "show running-config")
			if missing := missingStanzas(running, string(config)); len(missing) > 0 {
				t.Fatalf("FRR runs the configuration, yet %q are found missing in:\n%s", missing, running)
			}
			if !strings.Contains(string(config), "router bgp") {
				return // nothing of bgpd's to lose
			}
			router.RestartDaemon(t, "bgpd")
			if missing := missingStanzas(router.Vtysh(t, "show running-config"), string(config)); !strings.Contains(strings.Join(missing, ";"), "router bgp") {
				t.Fatalf("bgpd restarted without its configuration, yet missing = %q", missing)
			}
		})
	}
}

func TestVRFStanzas(t *testing.T) {
	for _, tc := range []struct{ config, want string }{
		{"frr defaults datacenter\n!\nvrf red\n vni 100\nexit-vrf\n!\nrouter bgp 64512\n address-family l2vpn evpn\n  advertise-all-vni\nexit\nvrf blue\n vni 200\nexit-vrf\n",
			"vrf red\n vni 100\nexit-vrf\nvrf blue\n vni 200\nexit-vrf\n"},
		{"router bgp 64512\nexit\n", ""},
	} {
		if got := vrfStanzas(tc.config); got != tc.want {
			t.Errorf("vrfStanzas(%q) = %q, want %q", tc.config, got, tc.want)
		}
	}
}
