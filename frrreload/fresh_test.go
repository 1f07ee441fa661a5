package frrreload

import "testing"

func TestRunsNothing(t *testing.T) {
	const fresh = "Building configuration...\n\nCurrent configuration:\n!\nfrr version 8.4.4\nfrr defaults traditional\n" +
		"hostname vm\nlog stdout informational\nno ip forwarding\nno ipv6 forwarding\nservice integrated-vtysh-config\n!\nend\n"
	tests := []struct {
		name    string
		running string
		want    bool
	}{
		{"just started", fresh, true},
		{"BGP", fresh + "router bgp 64512\n bgp router-id 10.0.0.1\nexit\n", false},
		{"a VRF's VNI only", fresh + "vrf red\n vni 100\nexit-vrf\n", false},
		{"a route-map only", fresh + "route-map allowall permit 1\nexit\n", false},
		{"a static route", fresh + "ip route 10.0.0.0/8 blackhole\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := runsNothing(tt.running); got != tt.want {
				t.Errorf("runsNothing = %v, want %v", got, tt.want)
			}
		})
	}
}
