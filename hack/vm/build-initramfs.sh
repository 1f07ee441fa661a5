#!/usr/bin/env bash
# Builds the guest's initramfs: busybox and the kernel modules needed to mount the
# host's root over 9p, plus the network devices the plumber creates.
# Usage: build-initramfs.sh KERNEL_ROOT KVER OUT.cpio.gz
set -euo pipefail
kroot=$1 kver=$2 out=$3
src=$kroot/lib/modules/$kver
want="virtio_pci 9pnet_virtio 9p overlay vrf vxlan bridge veth virtio-rng virtio_net"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
mkdir -p "$t"/{bin,dev,proc,sys,host,newroot,rw,lib/modules/$kver}
cp /bin/busybox "$t/bin/busybox"
declare -A seen
add() { # a module and, first, what it depends on
  local rel=$1 deps d
  [[ -n ${seen[$rel]:-} ]] && return
  seen[$rel]=1
  deps=$(grep -E "^${rel//./\\.}:" "$src/modules.dep" | cut -d: -f2)
  for d in $deps; do add "$d"; done
  mkdir -p "$t/lib/modules/$kver/$(dirname "$rel")"
  cp "$src/$rel" "$t/lib/modules/$kver/$rel"
}
for m in $want; do
  rel=$(grep -E "/$m\.ko(\.xz|\.zst)?:" "$src/modules.dep" | cut -d: -f1 || true)
  [[ -n $rel ]] || { echo "module $m not found in $src" >&2; exit 1; }
  add "$rel"
done
cp "$src"/modules.builtin "$src"/modules.order "$t/lib/modules/$kver/" 2>/dev/null || true
busybox depmod -b "$t" "$kver"
echo "$want" > "$t/modules.want"
cp "$(dirname "$0")/init.sh" "$t/init"
chmod +x "$t/init"
(cd "$t" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) > "$out"
echo "initramfs $out: ${#seen[@]} modules" >&2
