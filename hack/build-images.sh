#!/usr/bin/env bash
# Builds the project's images as OCI archives, offline and reproducibly (make images),
# into .cache/images/<version>/, and prints that folder. One recipe per image:
#   controller   our static binary alone, as user 65532 (it needs no root)
#   nodeplumber  our static binary alone, as root (it moves NICs, mounts netns)
#   router       Debian's FRR of build/frr/version (forky) with frr-reload.py and
#                iproute2, FRR's daemons file (build/frr/daemons), our reloader,
#                router-start, frr-stop, frr-restart (watchfrr's restart command) and
#                router-alive (the liveness probe)
# The router's base is made by mmdebstrap with SOURCE_DATE_EPOCH (reproducible for
# the same packages) and cached by FRR version and the inputs of its hook; every time
# stamp of the images is the commit's time, so the same commit and packages give the
# same digests. Env: IMAGE_REGISTRY (default quay.io/frr-k8s-evpn).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
version=$(cat VERSION)
registry=${IMAGE_REGISTRY:-quay.io/frr-k8s-evpn}
revision=$(git rev-parse HEAD)
git diff --quiet HEAD -- . ':!.cache' 2>/dev/null || revision="$revision-dirty"
epoch=$(git log -1 --format=%ct)
frr=$(cat build/frr/version)
out=$root/.cache/images/$version
mkdir -p "$out"
work=$(mktemp -d) && trap 'rm -rf "$work"' EXIT

# The router's base root filesystem.
hook_inputs=$(cat build/frr/daemons hack/build-images.sh | sha256sum | cut -c1-12)
base=$root/.cache/images/router-base-frr$frr-$hook_inputs.tar
if [[ ! -f $base ]]; then
  command -v mmdebstrap >/dev/null || hack/frr/rootfs.sh >/dev/null # installs mmdebstrap
  echo "building the router's base: Debian forky with FRR $frr" >&2
  # The base's time stamps: the last change to FRR's files here.
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct -- build/frr) mmdebstrap --quiet --variant=essential \
    --include=frr,frr-pythontools,iproute2,procps,util-linux \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --customize-hook='printf "service integrated-vtysh-config\n" > "$1/etc/frr/vtysh.conf"' \
    --customize-hook='printf "frr defaults datacenter\n" > "$1/etc/frr/frr.conf"' \
    --customize-hook='copy-in build/frr/daemons /etc/frr' \
    --customize-hook='chroot "$1" chown -R frr:frr /etc/frr' \
    --customize-hook='chroot "$1" dpkg-query -W > "$1/etc/frr-k8s-evpn-packages"' \
    forky "$work/base.tar" >&2
  got=$(tar -xOf "$work/base.tar" ./etc/frr-k8s-evpn-packages | awk '$1 == "frr" { print $2 }')
  if [[ $got != "$frr"-* ]]; then
    echo "Debian forky has frr $got, not $frr: change build/frr/version" >&2
    exit 1
  fi
  mv "$work/base.tar" "$base"
fi

CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -buildid=" -o "$work/" ./cmd/controller ./cmd/nodeplumber ./cmd/reloader
go build -o "$work/mkimage" ./cmd/mkimage
labels=(-label "org.opencontainers.image.source=https://github.com/frr-k8s-evpn/frr-k8s-evpn"
  -label "org.opencontainers.image.revision=$revision" -label "org.opencontainers.image.version=$version"
  -label "org.opencontainers.image.created=$(date -u -d "@$epoch" +%FT%TZ)")
image() { # name, then mkimage build flags
  local n=$1
  shift
  "$work/mkimage" build -o "$out/$n.oci.tar" -ref "$registry/$n:$version" -epoch "$epoch" \
    -label "org.opencontainers.image.title=frr-k8s-evpn $n" "${labels[@]}" "$@"
}
image controller -file "$work/controller=/controller:755" -entrypoint /controller -user 65532:65532
image nodeplumber -file "$work/nodeplumber=/nodeplumber:755" -entrypoint /nodeplumber -user 0:0
image router -base "$base" -label "dev.frr-k8s-evpn.frr-version=$frr" \
  -file "$work/reloader=/usr/local/bin/reloader:755" -file "build/router-start=/usr/local/bin/router-start:755" \
  -file "build/frr-stop=/usr/local/bin/frr-stop:755" -file "build/frr-restart=/usr/local/bin/frr-restart:755" \
  -file "build/router-alive=/usr/local/bin/router-alive:755" -entrypoint /usr/local/bin/router-start -user 0:0
"$work/mkimage" inspect "$out"/{controller,nodeplumber,router}.oci.tar >&2
echo "$out"
