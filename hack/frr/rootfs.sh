#!/usr/bin/env bash
# Builds, once per FRR version, the root filesystem every FRR of the project runs
# from: Debian's frr, frr-pythontools and iproute2 of the suite that carries the
# version pinned in build/frr/version (forky for 10.7), with mmdebstrap from the
# Debian archive. Tests, the VM layer and the lab run it through hack/frr/chroot.sh;
# the router image is built from the same package set. Prints the folder, which holds
#   rootfs/           the root filesystem
#   debian-version    the exact package version installed
#   bin/run CMD...    runs any command inside the root (bin/chroot.sh, a copy of
#                     hack/frr/chroot.sh: the folder can move)
#   bin/vtysh, bin/frr-reload.py   the two commands other programs call by path
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
version=$(cat "$repo/build/frr/version")
suite=${FRR_SUITE:-forky}
mirror=${FRR_MIRROR:-http://deb.debian.org/debian}
dir=$repo/.cache/frr/$version
packages=frr,frr-pythontools,iproute2,procps
if [[ ! -f $dir/debian-version ]]; then
  if ! command -v mmdebstrap >/dev/null; then
    echo "installing mmdebstrap" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends mmdebstrap >&2
  fi
  echo "building FRR $version's root filesystem from Debian $suite" >&2
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  # The mirror's Release files may be past their Valid-Until date.
  mmdebstrap --quiet --variant=apt --include="$packages" \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    "$suite" "$dir.tmp/rootfs" "$mirror" >&2
  got=$(chroot "$dir.tmp/rootfs" dpkg-query -W -f '${Version}' frr)
  if [[ $got != "$version"-* ]]; then
    echo "Debian $suite has frr $got, not $version: change build/frr/version or FRR_SUITE" >&2
    exit 1
  fi
  # Nothing of the root is started as a service; the tests and the lab run their
  # own daemons. Mount points for hack/frr/chroot.sh.
  mkdir -p "$dir.tmp/rootfs"/{proc,sys,dev,tmp,run}
  echo "$got" > "$dir.tmp/debian-version"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
fi
mkdir -p "$dir/bin"
# The folder finds its own root: a checkout that is moved or copied (CI's clone
# handing its .cache on) keeps working wrappers instead of ones that name a path
# that is gone.
install -m 0755 "$here/chroot.sh" "$dir/bin/chroot.sh"
wrap() { # name, command inside the root (none: any), arguments after the caller's
  printf '#!/bin/sh\nd=$(dirname "$0")\nexec "$d/chroot.sh" "$d/../rootfs" %s"$@"%s\n' "${2:+$2 }" "${3:+ $3}" > "$dir/bin/$1.tmp"
  chmod +x "$dir/bin/$1.tmp" && mv "$dir/bin/$1.tmp" "$dir/bin/$1"
}
wrap run
wrap vtysh /usr/bin/vtysh
# Callers pass --bindir as the folder of the vtysh they run, which is this bin/
# outside the root; inside it, vtysh is in /usr/bin (the last --bindir wins).
wrap frr-reload.py /usr/lib/frr/frr-reload.py "--bindir /usr/bin"
echo "$dir"
