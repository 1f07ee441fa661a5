package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestRender runs `kubectl evpn render` on manifests and compares with golden output.
func TestRender(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"seed-lab", []string{"-f", "../../config/samples/underlay.yaml", "-f", "../../config/samples/l3vni.yaml", "--node", "node-a", "--node-index", "0"}},
		{"two-vrfs-and-a-conflict", []string{"-f", "testdata/two-vrfs-and-a-conflict.yaml", "--node", "worker-3", "--node-index", "3", "--nic-mtu", "9000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := render(tt.args, &out); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.name+".golden")
			if *update {
				_ = os.WriteFile(path, out.Bytes(), 0o644)
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("output differs from %s (run with -update if intended):\n%s", path, out.String())
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--node", "n"},
		{"-f", "testdata/missing.yaml"},
		{"-f", "../../config/samples/l3vni.yaml", "--node-labels", "novalue"},
	} {
		if err := render(args, &bytes.Buffer{}); err == nil {
			t.Errorf("render %v: want an error", args)
		}
	}
}
