// Package frrinstance runs real FRR daemons (Debian's zebra and bgpd) in throwaway
// network namespaces for tests: each instance has its own netns, vty socket
// directory and logs, so several routers and their peers share one machine.
package frrinstance

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Instance is one FRR (zebra + bgpd) in its own network namespace.
type Instance struct {
	Name  string
	Netns string
	// Dir holds the vty sockets, pid files and logs.
	Dir string
}

// Require skips the test, with the reason, when FRR in namespaces cannot run here:
// not root, or FRR not installed. Under `make test` (EVPN_REQUIRE_ALL_LAYERS) it
// fails instead, so that CI never silently skips the layer.
func Require(t testing.TB) {
	t.Helper()
	var reason string
	switch {
	case testing.Short():
		reason = "-short (make test-unit) leaves out the FRR layer"
	case os.Geteuid() != 0:
		reason = "network namespaces and FRR daemons need root"
	case !exists("/usr/lib/frr/zebra") || !exists("/usr/lib/frr/bgpd"):
		reason = "Debian's frr is not installed (hack/install-deps.sh)"
	case !exists("/usr/lib/frr/frr-reload.py"):
		reason = "Debian's frr-pythontools is not installed (hack/install-deps.sh)"
	}
	if reason == "" {
		if _, err := user.Lookup("frr"); err != nil {
			reason = "the frr user does not exist"
		}
	}
	if reason == "" {
		return
	}
	if os.Getenv("EVPN_REQUIRE_ALL_LAYERS") != "" && !testing.Short() {
		t.Fatalf("FRR layer required by make test: %s", reason)
	}
	t.Skip("SKIP FRR layer: " + reason)
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

// Start runs zebra and bgpd in a new namespace with an empty configuration.
func Start(t testing.TB, name string) *Instance {
	t.Helper()
	Require(t)
	return StartIn(t, name, NewNetns(t, name))
}

// StartIn runs zebra and bgpd in an existing named namespace, e.g. the router
// namespace the plumber made.
func StartIn(t testing.TB, name, netnsName string) *Instance {
	t.Helper()
	Require(t)
	i := &Instance{Name: name, Netns: netnsName}
	i.Dir = filepath.Join(t.TempDir(), "frr")
	if err := os.MkdirAll(i.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The daemons drop to the frr user: it must own the socket directory and
	// traverse its parents, which t.TempDir creates with mode 0700 (only those:
	// the system's temporary directory keeps its own mode).
	Run(t, "chown", "frr:frr", i.Dir)
	for d := filepath.Dir(i.Dir); strings.HasPrefix(d, os.TempDir()+"/"); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	_ = os.WriteFile(filepath.Join(i.Dir, "vtysh.conf"), []byte("service integrated-vtysh-config\n"), 0o644)
	for _, d := range []string{"zebra", "bgpd"} {
		args := []string{"netns", "exec", i.Netns, "/usr/lib/frr/" + d, "-d",
			"-i", filepath.Join(i.Dir, d+".pid"), "-z", filepath.Join(i.Dir, "zserv.api"),
			"--vty_socket", i.Dir, "-f", "/dev/null", "-A", "127.0.0.1", "-P", "0",
			"--log", "file:" + filepath.Join(i.Dir, d+".log")}
		Run(t, "ip", args...)
	}
	t.Cleanup(i.Stop)
	deadline := time.Now().Add(10 * time.Second)
	for !exists(filepath.Join(i.Dir, "bgpd.vty")) || !exists(filepath.Join(i.Dir, "zebra.vty")) {
		if time.Now().After(deadline) {
			t.Fatalf("FRR %s did not start: %s", name, i.Logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return i
}

// Stop kills the daemons.
func (i *Instance) Stop() {
	for _, d := range []string{"bgpd", "zebra"} {
		if b, err := os.ReadFile(filepath.Join(i.Dir, d+".pid")); err == nil {
			_ = exec.Command("kill", strings.TrimSpace(string(b))).Run()
		}
	}
}

// Logs returns the daemons' logs, for failure messages.
func (i *Instance) Logs() string {
	var out strings.Builder
	for _, d := range []string{"zebra", "bgpd"} {
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
