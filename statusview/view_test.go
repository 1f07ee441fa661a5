package statusview

import (
	"net/netip"
	"testing"
)

// FRR-K8s names an IPv6 peer expanded, with dashes (the field is also a label
// value); the view must find the session under either spelling.
func TestSamePeer(t *testing.T) {
	tests := []struct {
		field, addr string
		want        bool
	}{
		{"192.169.10.1", "192.169.10.1", true},
		{"192.169.10.2", "192.169.10.1", false},
		{"fd00:0000:0000:0000:0000:0000:0000:0001", "fd00::1", false},
		{"fd00-0000-0000-0000-0000-0000-0000-0001", "fd00::1", true},
		{"fd00::1", "fd00::1", true},
		{"fd00-0000-0000-0000-0000-0000-0000-0002", "fd00::1", false},
	}
	for _, tt := range tests {
		if got := samePeer(tt.field, netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("samePeer(%q, %s) = %v, want %v", tt.field, tt.addr, got, tt.want)
		}
	}
}
