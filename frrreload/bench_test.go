package frrreload

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/e2e/frrinstance"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrstate"
)

// BenchmarkReload measures the reloader on the pinned FRR for routers of 1, 50
// and 200 VRFs: "full" flips one route target in every VRF (frr-reload.py reads
// and diffs the whole configuration), "add" and "remove" add or remove one L3VNI
// (its two stanzas, without frr-reload.py), "no-op" posts the running
// configuration again. Where the kernel has VRF (the VM: make bench runs it
// there too), every VRF exists in the router's netns, as on a node, and FRR's
// BGP instances are active; where it lacks VRF (this host), FRR keeps them
// inactive, and the figures cover FRR's configuration work alone.
func BenchmarkReload(b *testing.B) {
	for _, n := range []int{1, 50, 200} {
		b.Run(fmt.Sprintf("vrfs=%d", n), func(b *testing.B) {
			router := frrinstance.Start(b, "bench")
			kernelVRFs(b, router.Netns, n+1)
			dir := b.TempDir()
			r := &Reloader{LastGood: filepath.Join(dir, "last.conf"), WorkDir: dir, VtySocket: router.Dir, Log: logr.Discard()}
			ctx := context.Background()
			apply := func(config string) {
				if _, err := r.Apply(ctx, []byte(config)); err != nil {
					b.Fatal(err)
				}
			}
			base, other, more := routerConfig(b, n, "64512:1"), routerConfig(b, n, "64512:2"), routerConfig(b, n+1, "64512:1")
			apply(base)
			// each runs one timed step, with what sets it up untimed
			for _, step := range []struct {
				name          string
				before, timed string
			}{
				{"full", other, base},
				{"add", base, more},
				{"remove", more, base},
				{"no-op", base, base},
			} {
				b.Run(step.name, func(b *testing.B) {
					for range b.N {
						b.StopTimer()
						apply(step.before)
						b.StartTimer()
						apply(step.timed)
					}
				})
			}
		})
	}
}

// kernelVRFs makes VRFs vrf0..vrf<n-1> in netns when the kernel has VRF, as the
// plumber does before FRR is reloaded, and says which case the figures are.
func kernelVRFs(b *testing.B, netns string, n int) {
	b.Helper()
	if err := exec.Command("ip", "-n", netns, "link", "add", "vrf0", "type", "vrf", "table", "1000").Run(); err != nil {
		b.Logf("no kernel VRF here (%v): FRR's VRF instances stay inactive", err)
		return
	}
	var batch strings.Builder
	for i := range n {
		if i > 0 {
			fmt.Fprintf(&batch, "link add vrf%d type vrf table %d\n", i, 1000+i)
		}
		fmt.Fprintf(&batch, "link set vrf%d up\n", i)
	}
	cmd := exec.Command("ip", "-n", netns, "-batch", "-")
	cmd.Stdin = strings.NewReader(batch.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("making %d VRFs: %v: %s", n, err, out)
	}
	b.Logf("%d kernel VRFs: FRR's VRF instances are active", n)
}

// BenchmarkState measures one read of the router's EVPN state (the plumber's,
// every live-status interval): "vty-sockets" is State, which asks bgpd and zebra
// through their sockets; "vtysh-per-command" starts vtysh once per command, as
// the reloader did before; "vtysh-once" starts it once with every command. The
// floor is one vtysh start ("show version", which vtysh answers itself).
func BenchmarkState(b *testing.B) {
	router := frrinstance.Start(b, "bench")
	peer := frrinstance.Start(b, "peer")
	frrinstance.Link(b, router.Netns, "eth1", routerAddr+"/30", peer.Netns, "eth1", peerAddr+"/30")
	peer.Configure(b, "router bgp 64513\n bgp router-id 10.0.0.2\n no bgp ebgp-requires-policy\n neighbor 10.99.0.1 remote-as 64512\nexit\n")
	router.Configure(b, configA)
	router.WaitEstablished(b, "", peerAddr, 30*time.Second)
	r := &Reloader{VtySocket: router.Dir, Log: logr.Discard()}
	ctx := context.Background()
	vtysh := func(cmds ...string) {
		args := []string{"--vty_socket", router.Dir}
		for _, c := range cmds {
			args = append(args, "-c", c)
		}
		if out, err := exec.Command("vtysh", args...).CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
	}
	b.Run("vty-sockets", func(b *testing.B) {
		for b.Loop() {
			if _, err := r.State(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("vtysh-per-command", func(b *testing.B) {
		for b.Loop() {
			for _, c := range frrstate.Commands {
				vtysh(c)
			}
		}
	})
	b.Run("vtysh-once", func(b *testing.B) {
		for b.Loop() {
			vtysh(frrstate.Commands...)
		}
	})
	b.Run("floor-vtysh-show-version", func(b *testing.B) {
		for b.Loop() {
			vtysh("show version")
		}
	})
}
