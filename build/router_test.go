// Package build holds the router image's files (FRR's daemons file, the scripts
// the router's containers run); its tests run those scripts against a real FRR.
package build

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/e2e/frrinstance"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if dir, err := reloaderBin(); err == nil {
		_ = os.RemoveAll(dir)
	}
	os.Exit(code)
}

// reloaderBin builds the reloader, which router-alive runs, once per test binary.
var reloaderBin = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "router-alive")
	if err != nil {
		return "", err
	}
	out, err := exec.Command("go", "build", "-o", dir, "../cmd/reloader").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building the reloader: %v: %s", err, out)
	}
	return dir, nil
})

// alive runs the router's liveness probe against s.
func alive(t *testing.T, s *frrinstance.Supervised) (bool, string) {
	t.Helper()
	bin, err := reloaderBin()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("./router-alive", "--vty-socket", s.Run, "--vtysh", filepath.Join(frrinstance.Root(), "bin/vtysh"))
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if _, exited := err.(*exec.ExitError); err != nil && !exited {
		t.Fatal(err)
	}
	return err == nil, strings.TrimSpace(string(out))
}

// TestRouterAlive runs the router's FRR as its image does (FRR's init script,
// watchfrr, the router's daemons file) and its liveness probe against it: healthy
// FRR passes; a daemon that watchfrr restarts fails the probe only until it is
// back; with watchfrr and zebra dead, which nothing restarts, it fails, naming
// the cause. (The probe before it, `vtysh -c 'show version'`, passed then.)
func TestRouterAlive(t *testing.T) {
	frrinstance.Require(t)
	s := frrinstance.StartSupervised(t, "alive", "frr/daemons")
	if ok, out := alive(t, s); !ok {
		t.Fatalf("healthy FRR: the probe failed: %s", out)
	}

	s.Kill(t, "bgpd")
	if ok, out := alive(t, s); ok {
		t.Errorf("bgpd killed: the probe passed (%s)\n%s", out, s.Watchfrr())
	} else if !strings.Contains(out, "bgpd=") {
		t.Errorf("bgpd killed: the probe's reason does not name bgpd: %s", out)
	}
	if !s.WaitAllUp(2 * time.Minute) {
		t.Fatalf("watchfrr did not restart bgpd:\n%s", s.Watchfrr())
	}
	if ok, out := alive(t, s); !ok {
		t.Errorf("bgpd restarted by watchfrr: the probe failed: %s", out)
	}

	s.Kill(t, "watchfrr", "zebra")
	if ok, out := alive(t, s); ok {
		t.Errorf("watchfrr and zebra killed: the probe passed (%s)", out)
	} else if !strings.Contains(out, "watchfrr does not answer") {
		t.Errorf("watchfrr and zebra killed: the probe's reason does not name watchfrr: %s", out)
	}
}
