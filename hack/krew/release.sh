#!/usr/bin/env bash
# Builds the kubectl-evpn archives of a release and writes the krew manifest
# (hack/krew/evpn.yaml) with their checksums. The archives are reproducible
# (-trimpath, no build ID, tar with fixed owner and time, gzip -n), so the
# checksums in the manifest hold for whoever rebuilds the same commit with the
# same Go; upload .cache/krew/VERSION/*.tar.gz to BASE_URL.
#   hack/krew/release.sh [BASE_URL]
set -euo pipefail
cd "$(dirname "$0")/../.."
version=$(cat VERSION)
base=${1:-https://github.com/frr-k8s-evpn/frr-k8s-evpn/releases/download/$version}
out=.cache/krew/$version
mkdir -p "$out"
# darwin and windows: render uses the plumber's netlink code, which builds on Linux only.
platforms="linux/amd64 linux/arm64"

{
  cat <<YAML
# The krew manifest of kubectl-evpn $version, written by hack/krew/release.sh from the
# commit being released (run it again when tagging: any change to the CLI changes the checksums).
apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: evpn
spec:
  version: $version
  homepage: https://github.com/frr-k8s-evpn/frr-k8s-evpn
  shortDescription: See BGP-EVPN state per node and L3VNI
  description: |
    Joins frr-k8s-evpn's L3VNIs and RouterNodeStatuses with FRR-K8s's
    FRRNodeStates and BGPSessionStates: one row per node and L3VNI, problems
    first, with the next step for each (kubectl evpn status, kubectl evpn
    describe node|l3vni NAME), and renders what a node would run from
    manifests (kubectl evpn render).
  platforms:
YAML
  for p in $platforms; do
    os=${p%/*} arch=${p#*/}
    dir=$(mktemp -d)
    CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -buildvcs=false -ldflags=-buildid= -o "$dir/kubectl-evpn" ./cmd/kubectl-evpn
    cp LICENSE "$dir/" 2>/dev/null || true
    archive=kubectl-evpn_${version}_${os}_${arch}.tar.gz
    tar -C "$dir" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -c . | gzip -n -9 > "$out/$archive"
    rm -rf "$dir"
    cat <<YAML
  - selector:
      matchLabels: {os: $os, arch: $arch}
    uri: $base/$archive
    sha256: $(sha256sum "$out/$archive" | cut -d' ' -f1)
    bin: kubectl-evpn
YAML
  done
} > hack/krew/evpn.yaml
echo "hack/krew/evpn.yaml; archives in $out" >&2
