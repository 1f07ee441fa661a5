package frrreload

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrstate"
)

// TestState reads a real FRR's state through the socket: the fabric session as
// bgpd reports it, the same on two reads of a steady session (so a quiet node
// writes no status), and FRR's own words when it is gone.
func TestState(t *testing.T) {
	r, router := setup(t)
	c, _ := serve(t, r)
	ctx := context.Background()
	if _, err := c.Apply(ctx, configA); err != nil {
		t.Fatal(err)
	}
	router.WaitEstablished(t, "", peerAddr, 30*time.Second)

	first, err := c.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Fabric) != 1 || first.Fabric[0].Peer != peerAddr || first.Fabric[0].State != "Established" || first.Fabric[0].Since.IsZero() {
		t.Fatalf("fabric = %+v; want %s Established with its time", first.Fabric, peerAddr)
	}
	if len(first.VNIs) != 0 {
		t.Errorf("VNIs = %+v; the router runs none", first.VNIs)
	}
	time.Sleep(1100 * time.Millisecond) // FRR's uptime moves on; the state must not
	second, err := c.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if second = frrstate.Steady(first, second); !reflect.DeepEqual(first, second) {
		t.Errorf("two reads of a steady router differ:\n%+v\n%+v", first, second)
	}

	router.Stop()
	time.Sleep(300 * time.Millisecond)
	if _, err := c.State(ctx); err == nil || !strings.Contains(err.Error(), "FRR does not answer") {
		t.Errorf("state with FRR stopped: %v; want \"FRR does not answer\" and FRR's words", err)
	}
}
