package frrreload

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/e2e/frrinstance"
)

// sharedConfig has a stanza that two daemons take: zebra and bgpd both keep route-maps.
const sharedConfig = `frr defaults datacenter
!
route-map allowall permit 1
exit
!
router bgp 64512
 bgp router-id 10.0.0.1
 neighbor 10.99.0.2 remote-as 64513
 !
 address-family ipv4 unicast
  neighbor 10.99.0.2 route-map allowall in
 exit-address-family
exit
!
`

func TestWatchfrrSaysUp(t *testing.T) {
	const head = "watchfrr global phase: Idle\n Restart Command: \"/usr/lib/frr/watchfrr.sh restart %s\"\n Min Restart Interval: 60\n"
	for _, tc := range []struct {
		name, out, wantErr string
	}{
		{name: "all up", out: head + " Reading Configuration: no\n  mgmtd                Up\n  zebra                Up\n  bgpd                 Up\n"},
		{name: "older FRR, no reading line", out: head + "  zebra                Up\n  bgpd                 Up\n"},
		{name: "one down", out: head + " Reading Configuration: no\n  zebra                Up\n  bgpd                 Down\n  staticd              Restarting\n",
			wantErr: "not up: bgpd=Down staticd=Restarting"},
		{name: "reading the configuration", out: head + " Reading Configuration: yes\n  zebra                Up\n  bgpd                 Up\n",
			wantErr: "reading the configuration"},
		{name: "no daemon", out: head, wantErr: "lists no daemon"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := watchfrrSaysUp(tc.out)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("got %v, want nil", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("got %v, want an error with %q", err, tc.wantErr)
			}
		})
	}
}

// A restore while a daemon is down must wait: vtysh would give every other daemon
// its part (zebra the route-map too), and once bgpd is back, frr-reload.py sees the
// route-map in the merged running configuration and never gives it to bgpd, which
// then denies every route the map is applied to. Seen in the lab cluster after the
// router pod was recreated: FRR-K8s's routes "Inbound filtered".
func TestRestoreWaitsForEveryDaemon(t *testing.T) {
	s := frrinstance.StartSupervised(t, "gate", "../build/frr/daemons")
	dir := t.TempDir()
	r := &Reloader{LastGood: filepath.Join(dir, "frr.conf"), WorkDir: dir, VtySocket: s.Run,
		Vtysh: filepath.Join(frrinstance.Root(), "bin/vtysh"), Supervised: true, Log: testr.New(t)}
	if err := os.WriteFile(r.LastGood, []byte(sharedConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	s.Kill(t, "bgpd")
	// Kill does not wait for watchfrr to notice; its restart of bgpd waits for
	// its minimum restart interval (60 s here) since FRR started.
	waitNotUp(t, r, "bgpd")
	err := r.Restore(ctx)
	if err == nil || !strings.Contains(err.Error(), "bgpd=") {
		t.Errorf("restore with bgpd down: %v, want an error naming bgpd", err)
	}
	// A new configuration while a daemon is down is not refused: the plumber
	// reports its node as waiting for the router, not as a failed reload.
	if _, err := r.Apply(ctx, []byte(sharedConfig+"!\n")); err == nil || errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "bgpd=") {
		t.Errorf("apply with bgpd down: %v, want an error naming bgpd that is not ErrRejected", err)
	}
	if !s.WaitAllUp(2 * time.Minute) {
		t.Fatalf("watchfrr did not restart bgpd:\n%s", s.Watchfrr())
	}
	if err := r.Restore(ctx); err != nil {
		t.Fatalf("restore with every daemon up: %v", err)
	}
	bgpdRunsSharedConfig(t, s)
}

// waitNotUp waits until watchfrr reports daemon as not up.
func waitNotUp(t *testing.T, r *Reloader, daemon string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		err := r.FRRUp(context.Background())
		if err != nil && strings.Contains(err.Error(), daemon+"=") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("watchfrr still reports %s up 10 s after it was killed: %v", daemon, err)
		}
	}
}

// bgpdRunsSharedConfig checks bgpd's own running configuration, not the merged one.
func bgpdRunsSharedConfig(t *testing.T, s *frrinstance.Supervised) {
	t.Helper()
	bgpd, err := s.Vtysh("-d", "bgpd", "-c", "show running-config")
	if err != nil {
		t.Fatal(err, bgpd)
	}
	for _, want := range []string{"route-map allowall permit 1", "neighbor 10.99.0.2 route-map allowall in"} {
		if !strings.Contains(bgpd, want) {
			t.Errorf("bgpd's own running configuration lacks %q:\n%s", want, bgpd)
		}
	}
}

// A bgpd that watchfrr restarted comes back with FRR's startup file only; the
// reloader must give it its whole part, the route-map zebra still has included
// (frr-reload.py's diff of the merged running configuration would not).
func TestRestartedBgpdGetsItsWholePart(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after func(r *Reloader) error
	}{
		{name: "restore", after: func(r *Reloader) error { return r.Restore(context.Background()) }},
		{name: "apply", after: func(r *Reloader) error {
			_, err := r.Apply(context.Background(), []byte(sharedConfig))
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := frrinstance.StartSupervised(t, "part", "../build/frr/daemons")
			dir := t.TempDir()
			r := &Reloader{LastGood: filepath.Join(dir, "frr.conf"), WorkDir: dir, VtySocket: s.Run,
				Vtysh: filepath.Join(frrinstance.Root(), "bin/vtysh"), Supervised: true, Log: testr.New(t)}
			if _, err := r.Apply(context.Background(), []byte(sharedConfig)); err != nil {
				t.Fatal(err)
			}
			bgpdRunsSharedConfig(t, s)
			s.Kill(t, "bgpd")
			if !s.WaitAllUp(2 * time.Minute) {
				t.Fatalf("watchfrr did not restart bgpd:\n%s", s.Watchfrr())
			}
			if out, _ := s.Vtysh("-d", "bgpd", "-c", "show running-config"); strings.Contains(out, "router bgp") {
				t.Fatalf("the restarted bgpd already runs BGP: the test proves nothing\n%s", out)
			}
			if err := tc.after(r); err != nil {
				t.Fatal(err)
			}
			bgpdRunsSharedConfig(t, s)
		})
	}
}
