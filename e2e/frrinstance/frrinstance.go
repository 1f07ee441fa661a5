// Package frrinstance runs real FRR daemons (mgmtd, zebra and bgpd) in throwaway
// network namespaces for tests: each instance has its own netns, vty socket
// directory and logs, so several routers and their peers share one machine.
//
// The FRR is the project's pinned one (build/frr/version), from the root
// filesystem hack/frr/rootfs.sh builds; $EVPN_FRR names its folder (make test
// sets it). Its commands run through that folder's bin/ wrappers, which Require
// puts first on PATH: code that runs "vtysh" or "frr-reload.py" gets that FRR.
package frrinstance

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Instance is one FRR (mgmtd, zebra and bgpd) in its own network namespace.
type Instance struct {
	Name  string
	Netns string
	// Dir holds the vty sockets, pid files and logs; the daemons see it as
	// /run/frr too (mgmtd's sockets live there whatever --vty_socket says).
	Dir string
}

// daemons are started in this order and stopped in the reverse one: zebra and
// bgpd register with mgmtd.
var daemons = []string{"mgmtd", "zebra", "bgpd"}

// Root is the folder of the pinned FRR's root filesystem ($EVPN_FRR), "" when
// unset.
func Root() string { return os.Getenv("EVPN_FRR") }

var onPath sync.Once

// Require skips the test, with the reason, when FRR in namespaces cannot run here:
// not root, or the pinned FRR not built. Under `make test` (EVPN_REQUIRE_ALL_LAYERS)
// it fails instead, so that CI never silently skips the layer.
func Require(t testing.TB) {
	t.Helper()
	var reason string
	root := Root()
	switch {
	case testing.Short():
		reason = "-short (make test-unit) leaves out the FRR layer"
	case os.Geteuid() != 0:
		reason = "network namespaces and FRR daemons need root"
	case root == "":
		reason = "EVPN_FRR is not set: export EVPN_FRR=$(hack/frr/rootfs.sh)"
	case !exists(filepath.Join(root, "rootfs/usr/lib/frr/bgpd")) || !exists(filepath.Join(root, "bin/vtysh")):
		reason = root + " holds no FRR: run hack/frr/rootfs.sh"
	}
	if reason == "" {
		onPath.Do(func() { os.Setenv("PATH", filepath.Join(root, "bin")+":"+os.Getenv("PATH")) })
		return
	}
	if os.Getenv("EVPN_REQUIRE_ALL_LAYERS") != "" && !testing.Short() {
		t.Fatalf("FRR layer required by make test: %s", reason)
	}
	t.Skip("SKIP FRR layer: " + reason)
}

// Parse feeds a configuration to the pinned FRR's own parser (vtysh --dryrun)
// and returns what it says; an error when it refuses the configuration.
func Parse(t testing.TB, config string) (string, error) {
	t.Helper()
	Require(t)
	// Under /tmp: the path means the same inside FRR's root filesystem.
	f := filepath.Join(t.TempDir(), "frr.conf")
	if err := os.WriteFile(f, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(Root(), "bin", "vtysh"), "--dryrun", "-f", f).CombinedOutput()
	return string(out), err
}

// frrUser returns the uid and gid of the root filesystem's frr user, which the
// daemons drop to: it must own the instance's folder and logs.
func frrUser(t testing.TB) string {
	t.Helper()
	f, err := os.Open(filepath.Join(Root(), "rootfs/etc/passwd"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Split(sc.Text(), ":"); len(fields) > 3 && fields[0] == "frr" {
			return fields[2] + ":" + fields[3]
		}
	}
	t.Fatalf("no frr user in %s", f.Name())
	return ""
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// NewNetns creates a network namespace with a unique name that ends with the test.
func NewNetns(t testing.TB, prefix string) string {
	t.Helper()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	name := prefix + "-" + hex.EncodeToString(b)
	Run(t, "ip", "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	Run(t, "ip", "-n", name, "link", "set", "lo", "up")
	return name
}

// Start runs mgmtd, zebra and bgpd in a new namespace with an empty configuration.
func Start(t testing.TB, name string) *Instance {
	t.Helper()
	Require(t)
	return StartIn(t, name, NewNetns(t, name))
}

// StartIn runs mgmtd, zebra and bgpd in an existing named namespace, e.g. the
// router namespace the plumber made.
func StartIn(t testing.TB, name, netnsName string) *Instance {
	t.Helper()
	Require(t)
	i := &Instance{Name: name, Netns: netnsName}
	i.Dir = filepath.Join(t.TempDir(), "frr")
	if err := os.MkdirAll(i.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The daemons drop to the frr user: it must own the socket directory and
	// its logs (a daemon opens its log again after dropping privileges), and
	// traverse its parents, which t.TempDir creates with mode 0700 (only those:
	// the system's temporary directory keeps its own mode).
	owner := frrUser(t)
	for _, d := range daemons {
		_ = os.WriteFile(filepath.Join(i.Dir, d+".log"), nil, 0o644)
	}
	Run(t, "chown", "-R", owner, i.Dir)
	for d := filepath.Dir(i.Dir); strings.HasPrefix(d, os.TempDir()+"/"); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	_ = os.WriteFile(filepath.Join(i.Dir, "vtysh.conf"), []byte("service integrated-vtysh-config\n"), 0o644)
	t.Cleanup(i.Stop)
	for _, d := range daemons {
		i.start(t, d)
	}
	i.waitVty(t, daemons...)
	return i
}

// start starts one daemon, without a configuration.
func (i *Instance) start(t testing.TB, d string) {
	t.Helper()
	args := []string{"netns", "exec", i.Netns, filepath.Join(Root(), "bin", "run"), "/usr/lib/frr/" + d, "-d",
		"-i", filepath.Join(i.Dir, d+".pid"), "--vty_socket", i.Dir, "-A", "127.0.0.1", "-P", "0",
		"--log", "file:" + filepath.Join(i.Dir, d+".log")}
	if d != "mgmtd" {
		args = append(args, "-z", filepath.Join(i.Dir, "zserv.api"), "-f", "/dev/null")
	}
	// Output to a file, not a pipe: a daemon keeps its standard output open
	// after it detaches, and a pipe would never reach its end.
	out, err := os.Create(filepath.Join(i.Dir, d+".out"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", args...)
	cmd.Env = append(os.Environ(), "FRR_RUNDIR="+i.Dir)
	cmd.Stdout, cmd.Stderr = out, out
	err = cmd.Run()
	out.Close()
	if err != nil {
		b, _ := os.ReadFile(out.Name())
		t.Fatalf("starting %s of FRR %s: %v\n%s", d, i.Name, err, b)
	}
}

// waitVty waits for the daemons' vty sockets.
func (i *Instance) waitVty(t testing.TB, ds ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, d := range ds {
		for !exists(filepath.Join(i.Dir, d+".vty")) {
			if time.Now().After(deadline) {
				t.Fatalf("FRR %s did not start: %s", i.Name, i.Logs())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// RestartDaemon kills one daemon (SIGKILL) and starts it again without its
// configuration, as watchfrr does when FRR's startup file is empty.
func (i *Instance) RestartDaemon(t testing.TB, d string) {
	t.Helper()
	pid, err := os.ReadFile(filepath.Join(i.Dir, d+".pid"))
	if err != nil {
		t.Fatal(err)
	}
	proc := filepath.Join("/proc", strings.TrimSpace(string(pid)))
	Run(t, "kill", "-9", filepath.Base(proc))
	for deadline := time.Now().Add(5 * time.Second); exists(proc) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	// The old socket would pass for the new daemon's.
	_ = os.Remove(filepath.Join(i.Dir, d+".vty"))
	i.start(t, d)
	i.waitVty(t, d)
}

// Stop kills the daemons.
func (i *Instance) Stop() {
	for j := len(daemons) - 1; j >= 0; j-- {
		if b, err := os.ReadFile(filepath.Join(i.Dir, daemons[j]+".pid")); err == nil {
			_ = exec.Command("kill", strings.TrimSpace(string(b))).Run()
		}
	}
}

// Logs returns the daemons' logs, for failure messages.
func (i *Instance) Logs() string {
	var out strings.Builder
	for _, d := range daemons {
		b, _ := os.ReadFile(filepath.Join(i.Dir, d+".log"))
		fmt.Fprintf(&out, "--- %s.log ---\n%s", d, b)
	}
	return out.String()
}

// Vtysh runs vtysh commands against this instance and returns the output.
func (i *Instance) Vtysh(t testing.TB, cmds ...string) string {
	t.Helper()
	args := []string{"--vty_socket", i.Dir}
	for _, c := range cmds {
		args = append(args, "-c", c)
	}
	return Run(t, "vtysh", args...)
}

// Configure loads a configuration file's commands (additively), for peers that
// the test sets up directly.
func (i *Instance) Configure(t testing.TB, config string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), i.Name+".conf")
	if err := os.WriteFile(f, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	Run(t, "vtysh", "--vty_socket", i.Dir, "-f", f)
}

// Neighbor is the part of `show bgp neighbors json` the tests read.
type Neighbor struct {
	State                  string `json:"bgpState"`
	ConnectionsEstablished int    `json:"connectionsEstablished"`
	ConnectionsDropped     int    `json:"connectionsDropped"`
}

// BGPNeighbor reads one neighbor's state; vrf "" is the default VRF.
func (i *Instance) BGPNeighbor(t testing.TB, vrf, addr string) Neighbor {
	t.Helper()
	cmd := "show bgp neighbors " + addr + " json"
	if vrf != "" {
		cmd = "show bgp vrf " + vrf + " neighbors " + addr + " json"
	}
	var m map[string]Neighbor
	if err := json.Unmarshal([]byte(i.Vtysh(t, cmd)), &m); err != nil {
		t.Fatalf("parsing %q: %v", cmd, err)
	}
	return m[addr]
}

// WaitEstablished waits until the neighbor is Established.
func (i *Instance) WaitEstablished(t testing.TB, vrf, addr string, timeout time.Duration) Neighbor {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		n := i.BGPNeighbor(t, vrf, addr)
		if n.State == "Established" {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: neighbor %s is %q after %s\n%s", i.Name, addr, n.State, timeout, i.Logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Link connects two namespaces with a veth pair and addresses both ends.
func Link(t testing.TB, nsA, ifA, addrA, nsB, ifB, addrB string) {
	t.Helper()
	Run(t, "ip", "-n", nsA, "link", "add", ifA, "type", "veth", "peer", "name", ifB, "netns", nsB)
	Run(t, "ip", "-n", nsA, "address", "add", addrA, "dev", ifA)
	Run(t, "ip", "-n", nsB, "address", "add", addrB, "dev", ifB)
	Run(t, "ip", "-n", nsA, "link", "set", ifA, "up")
	Run(t, "ip", "-n", nsB, "link", "set", ifB, "up")
}

// Run runs a command and fails the test with its output on error.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
