#!/usr/bin/env bash
# Builds the images of what the lab cluster installs beside our chart, the way their
# own Dockerfiles do, from what this machine can reach: FRR-K8s's image (its four
# programs and its reloader script, built by hack/build-lab.sh from its Go module)
# and the FRR image its chart runs them with (Debian forky's FRR of build/frr/version
# with tini, and a docker-start that does what FRR's own image's does). Both share
# one base layer, so the node stores it once. And MetalLB's controller and speaker,
# each its static binary alone, as root, as its distroless image is (its chart sets
# a user where it wants one; the speaker in FRR-K8s mode needs nothing else).
# And BIRD (bird.oci.tar), node2's host speaker.
# Cached by the inputs; prints the folder holding frr-k8s.oci.tar, frr.oci.tar,
# metallb-controller.oci.tar and metallb-speaker.oci.tar. FRR-K8s's chart is told
# their names:
#   frrk8s.image.repository=localhost/frr-k8s  frrk8s.image.tag=$FRRK8S_VERSION
#   frrk8s.frr.image.repository=localhost/frr  frrk8s.frr.image.tag=$FRR_VERSION
#   frrk8s.frr.tiniPath=/usr/bin/tini
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
lab=$(hack/build-lab.sh)
frr=$(cat build/frr/version)
# shellcheck source=/dev/null
. "$lab/versions"
frrk8s=$FRRK8S_VERSION metallb=$METALLB_VERSION
inputs=$( (cat hack/build-lab-images.sh; sha256sum "$lab"/bin/* "$lab/frr-reloader.sh") | sha256sum | cut -c1-12)
out=$root/.cache/lab-images/$inputs
if [[ -f $out/DONE ]]; then
  echo "$out"
  exit 0
fi
mkdir -p "$out"
work=$(mktemp -d) && trap 'rm -rf "$work"' EXIT

# The base: FRR's image's start, where watchfrr in the foreground starts and watches
# the daemons that /etc/frr/daemons (the chart's ConfigMap) enables, and tini reaps
# what they leave; flock for FRR-K8s's reloader script.
packages=frr,frr-pythontools,iproute2,procps,util-linux,tini
# One change from FRR's own: watchfrr's -T 180. Its default (90 s) kills a start of
# all daemons that a loaded guest has not finished, and the next one a minute later
# kills what the first started, so FRR-K8s's bgpd stayed down in a lab run (the
# router has the same fix, build/router-start).
printf '%s\n' '#!/bin/bash' '. /usr/lib/frr/frrcommon.sh' 'exec /usr/lib/frr/watchfrr -T 180 $(daemon_list)' >"$work/docker-start"
base=$root/.cache/lab-images/frr-base-$frr-$(cat "$work/docker-start" - <<<"$packages" | sha256sum | cut -c1-12).tar
if [[ ! -f $base ]]; then
  command -v mmdebstrap >/dev/null || hack/frr/rootfs.sh >/dev/null # installs mmdebstrap
  echo "building the lab's FRR base: Debian forky with FRR $frr and tini" >&2
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct -- build/frr) mmdebstrap --quiet --variant=essential \
    --include="$packages" \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --customize-hook="copy-in $work/docker-start /usr/lib/frr" \
    --customize-hook='chmod 755 "$1/usr/lib/frr/docker-start"' \
    forky "$work/base.tar" >&2
  mv "$work/base.tar" "$base"
fi

# BIRD, the second kind of host speaker (node2 of the lab: Calico's BGP daemon,
# configured the way Calico configures it, without the rest of Calico): Debian's
# bird2, started in the foreground with the config its pod mounts.
bird_packages=bird2,iproute2
bird_base=$root/.cache/lab-images/bird-base-$(sha256sum <<<"$bird_packages" | cut -c1-12).tar
if [[ ! -f $bird_base ]]; then
  command -v mmdebstrap >/dev/null || hack/frr/rootfs.sh >/dev/null
  echo "building the lab's BIRD image base: Debian bookworm's bird2" >&2
  mmdebstrap --quiet --variant=essential --include="$bird_packages" \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    bookworm "$work/bird-base.tar" >&2
  mv "$work/bird-base.tar" "$bird_base"
fi

go build -o "$work/mkimage" ./cmd/mkimage
epoch=$(git log -1 --format=%ct -- build/frr hack/build-lab-images.sh)
"$work/mkimage" build -o "$out/frr.oci.tar" -ref "localhost/frr:$frr" -epoch "$epoch" -base "$base" \
  -label "org.opencontainers.image.title=FRR $frr from Debian forky, for FRR-K8s in the lab" \
  -entrypoint /usr/bin/tini -entrypoint -- -entrypoint /usr/lib/frr/docker-start
"$work/mkimage" build -o "$out/frr-k8s.oci.tar" -ref "localhost/frr-k8s:$frrk8s" -epoch "$epoch" -base "$base" \
  -label "org.opencontainers.image.title=FRR-K8s $frrk8s built from its Go module, for the lab" \
  -file "$lab/bin/frr-k8s=/frr-k8s:755" -file "$lab/bin/frr-status=/frr-status:755" \
  -file "$lab/bin/frr-metrics=/frr-metrics:755" -file "$lab/bin/statuscleaner=/statuscleaner:755" \
  -file "$lab/frr-reloader.sh=/frr-reloader.sh:755" -entrypoint /frr-k8s
"$work/mkimage" build -o "$out/bird.oci.tar" -ref localhost/bird:lab -epoch "$epoch" -base "$bird_base" \
  -label "org.opencontainers.image.title=BIRD from Debian bookworm, node2's host speaker in the lab" \
  -entrypoint /usr/sbin/bird -entrypoint -f -entrypoint -c -entrypoint /etc/bird/bird.conf -entrypoint -s -entrypoint /run/bird.ctl
for p in controller speaker; do
  "$work/mkimage" build -o "$out/metallb-$p.oci.tar" -ref "localhost/metallb-$p:$metallb" -epoch "$epoch" \
    -label "org.opencontainers.image.title=MetalLB's $p $metallb built from its Go module, for the lab" \
    -file "$lab/bin/metallb-$p=/$p:755" -entrypoint "/$p"
done
"$work/mkimage" inspect "$out"/*.oci.tar >&2
touch "$out/DONE"
echo "$out"
