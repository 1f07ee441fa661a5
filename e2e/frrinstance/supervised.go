package frrinstance

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Supervised is one FRR started as the router image starts it: by FRR's init
// script, under watchfrr, with the router's daemons file. Its pathspace (vtysh
// -N) keeps its sockets and configuration apart from any other FRR here.
type Supervised struct {
	Name, Netns string
	// Run is the pathspace's folder of pid files and vty sockets.
	Run string
}

// StartSupervised starts FRR with the given daemons file in a new namespace and
// waits until watchfrr reports every daemon Up.
func StartSupervised(t testing.TB, name, daemonsFile string) *Supervised {
	t.Helper()
	s := PrepareSupervised(t, name, daemonsFile)
	// The daemons keep the init script's output open: wait for the script only.
	cmd := exec.Command("ip", "netns", "exec", s.Netns, filepath.Join(Root(), "bin/run"), "/usr/lib/frr/frrinit.sh", "start", s.Name)
	logf, err := os.Create(filepath.Join(t.TempDir(), "frrinit.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait() }()
	if !s.WaitAllUp(2 * time.Minute) {
		out, _ := os.ReadFile(logf.Name())
		t.Fatalf("FRR under watchfrr never came up:\n%s\n%s", out, s.Watchfrr())
	}
	return s
}

// PrepareSupervised makes a namespace and FRR's files (in its own pathspace) for
// an FRR under watchfrr with the given daemons file, for a test that starts it
// its own way; the cleanup stops whatever runs there.
func PrepareSupervised(t testing.TB, name, daemonsFile string) *Supervised {
	t.Helper()
	Require(t)
	s := &Supervised{Name: name, Netns: NewNetns(t, name)}
	s.Name = s.Netns // unique, like the namespace
	etc := filepath.Join(Root(), "rootfs/etc/frr", s.Name)
	s.Run = filepath.Join("/run/frr", s.Name)
	daemons, err := os.ReadFile(daemonsFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{etc, s.Run} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{"daemons": string(daemons), "vtysh.conf": "service integrated-vtysh-config\n",
		"frr.conf": "frr defaults datacenter\nhostname " + s.Name + "\n"}
	for f, text := range files {
		if err := os.WriteFile(filepath.Join(etc, f), []byte(text), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	Run(t, "chown", "-R", frrUser(t), etc, s.Run)
	t.Cleanup(func() {
		_ = exec.Command("ip", "netns", "exec", s.Netns, filepath.Join(Root(), "bin/run"), "/usr/lib/frr/frrinit.sh", "stop", s.Name).Run()
		s.Kill(t, "watchfrr", "mgmtd", "zebra", "bgpd", "bfdd", "staticd")
		_ = os.RemoveAll(etc)
		_ = os.RemoveAll(s.Run)
	})
	return s
}

// Vtysh runs vtysh in this FRR's pathspace.
func (s *Supervised) Vtysh(args ...string) (string, error) {
	out, err := exec.Command(filepath.Join(Root(), "bin/vtysh"), append([]string{"-N", s.Name}, args...)...).CombinedOutput()
	return string(out), err
}

// Watchfrr is what `show watchfrr` says now (or why it said nothing).
func (s *Supervised) Watchfrr() string {
	out, err := s.Vtysh("-c", "show watchfrr")
	if err != nil {
		return out + err.Error()
	}
	return out
}

// WaitAllUp waits until watchfrr reports no daemon other than Up.
func (s *Supervised) WaitAllUp(timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		out, err := s.Vtysh("-c", "show watchfrr")
		if err == nil && strings.Contains(out, " Up") && !strings.Contains(out, "Down") &&
			!strings.Contains(out, "Restarting") && !strings.Contains(out, "Unresponsive") && !strings.Contains(out, "Init") {
			return true
		}
	}
	return false
}

// Kill sends SIGKILL to the named daemons (watchfrr among them), by pid file.
func (s *Supervised) Kill(t testing.TB, daemons ...string) {
	t.Helper()
	for _, d := range daemons {
		if pid := readPid(filepath.Join(s.Run, d+".pid")); pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// Pids are the running daemons' pids (watchfrr among them), by pid file.
func (s *Supervised) Pids(t testing.TB) map[string]int {
	t.Helper()
	pids := map[string]int{}
	files, err := filepath.Glob(filepath.Join(s.Run, "*.pid"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if pid := readPid(f); pid > 0 && syscall.Kill(pid, 0) == nil {
			pids[strings.TrimSuffix(filepath.Base(f), ".pid")] = pid
		}
	}
	if len(pids) == 0 {
		t.Fatalf("no daemon runs in %s", s.Run)
	}
	return pids
}

// readPid is the pid a pid file holds, or 0.
func readPid(file string) int {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid < 0 {
		return 0
	}
	return pid
}
