#!/usr/bin/env bash
# Builds what the end-to-end lab needs besides our own binaries, from the Go module
# proxy, into a cache folder keyed by version (only the first run on a machine pays,
# about 4 minutes on 2 cores):
#   bin/frr-k8s, bin/frr-status      FRR-K8s's daemon and its status exporter
#   bin/frr-metrics, bin/statuscleaner  the rest of FRR-K8s's image (the lab cluster's)
#   bin/metallb-controller, bin/metallb-speaker
#   crds/                            FRR-K8s's and MetalLB's CRDs
#   frr-reloader.sh                  FRR-K8s's reloader script (its pod's sidecar)
#   versions                         FRRK8S_VERSION=... METALLB_VERSION=... (sourceable)
# Each tool has its own wrapper module (hack/labtools/*/go.mod) so that their
# dependency graphs stay out of ours. Prints the folder.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
frrk8s=v0.0.26
metallb=v0.15.3
# Keyed by the recipe too: a new binary or build flag is a new folder.
recipe=$(cat "$0" "$root"/hack/labtools/*/go.mod | sha256sum | cut -c1-8)
out=${1:-$root/.cache/lab-frrk8s-$frrk8s-metallb-$metallb-$recipe}
if [[ -f $out/DONE ]]; then
  echo "$out"
  exit 0
fi
rm -rf "$out.tmp" && mkdir -p "$out.tmp"/{bin,crds}
moddir() { (cd "$root/hack/labtools/$1" && go list -m -f '{{.Dir}}' "$2"); }

# Static, as their images need (CGO_ENABLED=0, as their Dockerfiles build them).
export CGO_ENABLED=0
cd "$root/hack/labtools/frrk8s"
go build -ldflags '-s -w' -o "$out.tmp/bin/frr-k8s" github.com/metallb/frr-k8s/cmd/frr-k8s-controller >&2
go build -ldflags '-s -w' -o "$out.tmp/bin/frr-status" github.com/metallb/frr-k8s/cmd/status >&2
go build -ldflags '-s -w' -o "$out.tmp/bin/frr-metrics" github.com/metallb/frr-k8s/cmd/metrics >&2
go build -ldflags '-s -w' -o "$out.tmp/bin/statuscleaner" github.com/metallb/frr-k8s/cmd/statuscleaner >&2
dir=$(moddir frrk8s github.com/metallb/frr-k8s)
cp "$dir"/config/crd/bases/*.yaml "$out.tmp/crds/"
cp "$dir/cmd/reloader/frr-reloader.sh" "$out.tmp/frr-reloader.sh"

cd "$root/hack/labtools/metallb"
go build -ldflags '-s -w' -o "$out.tmp/bin/metallb-controller" go.universe.tf/metallb/controller >&2
go build -ldflags '-s -w' -o "$out.tmp/bin/metallb-speaker" go.universe.tf/metallb/speaker >&2
# The base CRDs, not the kustomization (which adds a conversion webhook we cannot serve).
cp "$(moddir metallb go.universe.tf/metallb)"/config/crd/bases/*.yaml "$out.tmp/crds/"
chmod -R u+w "$out.tmp"
# kube-apiserver >= 1.36 checks that an integer's bounds fit its format: MetalLB
# v0.15's BGPPeer says int32 with a maximum of 4294967295, which makes every BGPPeer
# fail. v0.16 says int64; so do we.
sed -i '/format: int32/{N;s/format: int32\(\n\s*maximum: 4294967295\)/format: int64\1/}' "$out.tmp/crds/metallb.io_bgppeers.yaml"
grep -q 'format: int32' "$out.tmp/crds/metallb.io_bgppeers.yaml" && grep -B1 -A1 'maximum: 4294967295' "$out.tmp/crds/metallb.io_bgppeers.yaml" | grep -q int32 \
  && { echo "build-lab: the BGPPeer CRD patch did not apply" >&2; exit 1; }
echo "FRRK8S_VERSION=$frrk8s METALLB_VERSION=$metallb" >"$out.tmp/versions"
touch "$out.tmp/DONE"
rm -rf "$out" && mv "$out.tmp" "$out"
echo "$out"
