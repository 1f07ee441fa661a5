package addressing

import (
	"net/netip"
	"testing"
)

func TestHost(t *testing.T) {
	tests := []struct {
		prefix  string
		n       int
		want    string
		wantErr bool
	}{
		{"192.169.10.0/24", 1, "192.169.10.1", false},
		{"192.169.10.0/24", 254, "192.169.10.254", false},
		{"192.169.10.0/24", 255, "", true}, // broadcast
		{"192.169.10.0/24", 0, "", true},
		{"100.65.0.0/30", 2, "100.65.0.2", false},
		{"100.65.0.0/30", 3, "", true},
		{"10.0.0.0/31", 1, "10.0.0.1", false},
		{"10.0.254.0/23", 300, "10.0.255.44", false},
		{"fd00:10::/64", 2, "fd00:10::2", false},
		{"fd00:10::/126", 3, "fd00:10::3", false},
		{"fd00:10::/126", 4, "", true},
		{"fd00:10::ff00/120", 255, "fd00:10::ffff", false},
	}
	for _, tt := range tests {
		got, err := Host(netip.MustParsePrefix(tt.prefix), tt.n)
		if tt.wantErr {
			if err == nil {
				t.Errorf("Host(%s, %d) = %s, want an error", tt.prefix, tt.n, got)
			}
			continue
		}
		if err != nil || got.String() != tt.want {
			t.Errorf("Host(%s, %d) = %s, %v; want %s", tt.prefix, tt.n, got, err, tt.want)
		}
		if !Fits(netip.MustParsePrefix(tt.prefix), tt.n) {
			t.Errorf("Fits(%s, %d) = false for a host that exists", tt.prefix, tt.n)
		}
	}
}

func TestPerNodeAddresses(t *testing.T) {
	local := netip.MustParsePrefix("192.169.10.0/24")
	rl, _ := RouterLeg(local)
	hl, _ := HostLeg(local, 0)
	vtep, _ := VTEP(netip.MustParsePrefix("100.65.0.0/24"), 1)
	if rl.String() != "192.169.10.1" || hl.String() != "192.169.10.2" || vtep.String() != "100.65.0.2" {
		t.Fatalf("router leg %s, host leg %s, vtep %s", rl, hl, vtep)
	}
	if _, err := HostLeg(local, 253); err == nil {
		t.Fatal("index 253 needs host 255, the broadcast of a /24: want an error, not a wrap-around")
	}
	if got := VXLANName(16777215); len(got) > 15 {
		t.Fatalf("%s is longer than a Linux interface name", got)
	}
}
