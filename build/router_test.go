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
	"syscall"
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

// TestRouterStart runs the frr container's command, router-start, as the image
// does (inside FRR's root, the reloader and frr-stop on its PATH) against FRR under
// watchfrr. Healthy FRR: it says FRR is up, stays in the foreground, and SIGTERM
// stops every daemon (frr-stop). An FRR that cannot come up (zebra refuses its
// options here): after the restore's wait it says why and stays, so that the
// startup probe decides. It used to exit, and the kubelet then gave the next
// container only what was left of the startup probe's failures (router-start
// says why).
func TestRouterStart(t *testing.T) {
	frrinstance.Require(t)
	good, err := os.ReadFile("frr/daemons")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, daemons, wait string
		up                  bool
		logged              []string // in its output, from FRR's log
	}{
		{"healthy", string(good), "2m", true, []string{"WATCHFRR: ", "all daemons up", "BGP: "}},
		{"zebra cannot start", string(good) + "zebra_options=\"$zebra_options --no-such-option\"\n", "20s", false, []string{"WATCHFRR: ", "zebra state -> down"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			daemons := filepath.Join(t.TempDir(), "daemons")
			if err := os.WriteFile(daemons, []byte(tc.daemons), 0o644); err != nil {
				t.Fatal(err)
			}
			s := frrinstance.PrepareSupervised(t, "start", daemons)
			cmd, out := routerStart(t, s, tc.wait)
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			said := "router-start: FRR is up"
			if !tc.up {
				said = "router-start: FRR did not come up"
			}
			for deadline := time.Now().Add(2 * time.Minute); !strings.Contains(out.String(), said); time.Sleep(200 * time.Millisecond) {
				select {
				case err := <-exited:
					t.Fatalf("router-start exited (%v):\n%s", err, out)
				default:
				}
				if time.Now().After(deadline) {
					_ = cmd.Process.Kill()
					t.Fatalf("router-start did not say %q:\n%s\n%s", said, out, s.Watchfrr())
				}
			}
			// FRR's own log reaches the container's output: watchfrr's and the
			// daemons' lines (they detach, and watchfrr would use syslog).
			for _, want := range tc.logged {
				if !out.waitFor(want, 30*time.Second) {
					t.Errorf("FRR's log: no %q in router-start's output:\n%s", want, out)
				}
			}
			if !tc.up {
				// It stays: the kubelet's startup probe decides.
				select {
				case err := <-exited:
					t.Fatalf("router-start exited (%v) after FRR did not come up:\n%s", err, out)
				case <-time.After(5 * time.Second):
				}
			}
			pids := s.Pids(t)
			_ = cmd.Process.Signal(syscall.SIGTERM)
			if err := <-exited; err != nil {
				t.Errorf("router-start stopped with %v:\n%s", err, out)
			}
			// SIGKILL takes effect soon after frr-stop returns, not at once.
			time.Sleep(2 * time.Second)
			for d, pid := range pids {
				if running(pid) {
					t.Errorf("%s (pid %d) still runs after router-start stopped", d, pid)
				}
			}
		})
	}
}

// TestDeadDaemonRestartsAllOfFRR: in the router, a daemon that dies (bgpd here)
// makes watchfrr restart all of FRR, zebra too (frr-restart), where it used to
// restart that daemon alone; FRR 10.7's zebra then kept the overlay down in lab
// runs. FRR comes up again on its own, every daemon anew, and soon: watchfrr's
// restart backoff starts at 5 s, not its default 60 s.
func TestDeadDaemonRestartsAllOfFRR(t *testing.T) {
	frrinstance.Require(t)
	s := routerUp(t, "restart")
	before := s.Pids(t)
	killed := time.Now()
	s.Kill(t, "bgpd")
	var after map[string]int
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(time.Second) {
		if time.Now().After(deadline) {
			t.Fatalf("3 min after bgpd was killed: daemons %v, were %v\n%s", after, before, s.Watchfrr())
		}
		if !s.WaitAllUp(time.Second) {
			continue
		}
		after = s.Pids(t)
		renewed := true
		for d, pid := range before {
			if d != "watchfrr" && after[d] == pid {
				renewed = false
			}
		}
		if renewed && after["watchfrr"] == before["watchfrr"] {
			break
		}
	}
	t.Logf("all of FRR renewed %.1f s after bgpd was killed", time.Since(killed).Seconds())
	// FRR started less than a minute ago: with watchfrr's default backoff (60 s
	// from the last restart, FRR's start included) the tunnels stayed down that long.
	for _, want := range []string{"Min Restart Interval: 5\n", "Max Restart Interval: 60\n"} {
		if w := s.Watchfrr(); !strings.Contains(w, want) {
			t.Errorf("watchfrr's restart backoff: want %q in\n%s", want, w)
		}
	}
	// Once: watchfrr asks again for each daemon the restart took down, and a
	// restart of all for each would go on (seen on a busy node).
	time.Sleep(20 * time.Second)
	if now := s.Pids(t); !s.WaitAllUp(time.Second) || fmt.Sprint(now) != fmt.Sprint(after) {
		t.Errorf("FRR restarted again: daemons %v 20 s after %v\n%s", now, after, s.Watchfrr())
	}
}

// TestRestartLeavesLiveDaemons: watchfrr also asks to restart a daemon that has
// not answered for its timeout (90 s; a busy node) or one that a restart of all
// has just started again. frr-restart leaves a live daemon alone, where FRR's own
// command kills it, and frr-restart's kill took all of FRR with it: in a loaded
// lab cluster the router restarted all of FRR during its start, until its
// container gave up. (One that hangs for good fails the liveness probe.)
func TestRestartLeavesLiveDaemons(t *testing.T) {
	frrinstance.Require(t)
	s := routerUp(t, "busy")
	before := s.Pids(t)
	frrRestart(t, s, "bgpd")
	time.Sleep(2 * time.Second) // a kill would have taken effect
	if after := s.Pids(t); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("frr-restart bgpd, with bgpd alive, changed the daemons: %v, were %v", after, before)
	}

	// While a restart of all runs (it holds the lock), a daemon it has not started
	// yet is dead, and is left to it: FRR's start is such a restart, and killing
	// all then, as the first version did, kept a recreated router pod's FRR down.
	lock, err := os.OpenFile(filepath.Join(s.Run, "frr-restart.lock"), os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	s.Kill(t, "staticd")
	time.Sleep(time.Second)
	frrRestart(t, s, "staticd")
	time.Sleep(2 * time.Second)
	after := s.Pids(t)
	delete(before, "staticd")
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("frr-restart staticd during a restart of all changed the daemons: %v, were %v", after, before)
	}
	_ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
}

// routerUp starts router-start for a new FRR with the image's daemons file and
// waits until it says FRR is up; the test's end stops it (SIGTERM).
func routerUp(t *testing.T, name string) *frrinstance.Supervised {
	t.Helper()
	s := frrinstance.PrepareSupervised(t, name, "frr/daemons")
	cmd, out := routerStart(t, s, "2m")
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	if !out.waitFor("router-start: FRR is up", 2*time.Minute) {
		t.Fatalf("router-start did not say FRR is up:\n%s\n%s", out, s.Watchfrr())
	}
	return s
}

// frrRestart runs frr-restart for daemon of s, as watchfrr would.
func frrRestart(t *testing.T, s *frrinstance.Supervised, daemon string) {
	t.Helper()
	cmd := exec.Command("sh", "frr-restart", daemon)
	cmd.Env = append(os.Environ(), "FRR_PATHSPACE="+s.Name)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("frr-restart %s: %v: %s", daemon, err, b)
	}
}

// routerStart starts router-start for s inside FRR's root with the image's
// programs on its PATH, FRR given restoreWait to come up; out is what it says.
// A file, not a pipe: FRR's daemons keep their starter's output open, and Wait
// would wait for them.
func routerStart(t *testing.T, s *frrinstance.Supervised, restoreWait string) (*exec.Cmd, output) {
	t.Helper()
	bin, err := reloaderBin()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir() // under /tmp: the same path inside FRR's root
	for _, f := range []string{filepath.Join(bin, "reloader"), "router-start", "frr-stop", "frr-restart", "router-alive"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(filepath.Join(frrinstance.Root(), "bin/run"), "sh", "-c", `PATH="$0:$PATH" exec router-start`, dir)
	cmd.Env = append(os.Environ(), "ROUTER_NETNS=/run/netns/"+s.Netns, "ROUTER_PATHSPACE="+s.Name, "ROUTER_RESTORE_WAIT="+restoreWait)
	f, err := os.Create(filepath.Join(t.TempDir(), "router-start.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, output(f.Name())
}

// output is a file a command writes to, read whole each time.
type output string

func (o output) String() string {
	b, _ := os.ReadFile(string(o))
	return string(b)
}

// waitFor says whether the output holds want within limit.
func (o output) waitFor(want string, limit time.Duration) bool {
	for deadline := time.Now().Add(limit); !strings.Contains(o.String(), want); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// running says whether pid is a live process (a zombie is not).
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) STATE ...: comm may hold spaces, the state follows its ")".
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}
