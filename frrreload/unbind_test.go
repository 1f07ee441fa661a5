package frrreload

import (
	"reflect"
	"testing"
)

func TestDroppedVNIs(t *testing.T) {
	const both = "frr defaults datacenter\n!\nvrf green\n vni 200\nexit-vrf\n!\nvrf red\n vni 100\nexit-vrf\n!\nrouter bgp 64512 vrf red\n bgp router-id 10.0.0.1\nexit\n!\n"
	const onlyGreen = "frr defaults datacenter\n!\nvrf green\n vni 200\nexit-vrf\n!\n"
	const redMoved = "frr defaults datacenter\n!\nvrf green\n vni 200\nexit-vrf\n!\nvrf red\n vni 300\nexit-vrf\n!\n"
	tests := []struct {
		name, last, next string
		want             []vniBinding
	}{
		{"nothing dropped", both, both, nil},
		{"a VRF added", onlyGreen, both, nil},
		{"red removed", both, onlyGreen, []vniBinding{{"red", "100"}}},
		{"red's VNI changes", both, redMoved, []vniBinding{{"red", "100"}}},
		{"no last good config", "", both, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := droppedVNIs(tt.last, tt.next); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
