#!/usr/bin/env bash
# Prepares the VM test layer, once per machine: qemu and busybox from Debian, and
# Debian's own kernel (which has VRF, unlike this host's) extracted, not installed,
# into .cache/vm/<version>/ with a tiny initramfs. Prints that folder.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=$(cd "$here/../.." && pwd)/.cache/vm
export DEBIAN_FRONTEND=noninteractive
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
[[ -x /bin/busybox ]] || need+=(busybox-static)
if ((${#need[@]})); then
  echo "installing ${need[*]}" >&2
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
# The kernel linux-image-amd64 points at today; its version names the cache folder.
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
if [[ -z $pkg ]]; then
  apt-get update -qq >&2
  pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
fi
kver=${pkg#linux-image-}
dir=$cache/$kver
if [[ ! -f $dir/kernel/KVER ]]; then
  echo "extracting $pkg" >&2
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp/dl"
  (cd "$dir.tmp/dl" && apt-get download -qq "$pkg" >&2)
  dpkg -x "$dir.tmp"/dl/"$pkg"_*.deb "$dir.tmp/kernel"
  busybox depmod -b "$dir.tmp/kernel" "$kver"
  echo "$kver" > "$dir.tmp/kernel/KVER"
  rm -rf "$dir.tmp/dl" "$dir" && mv "$dir.tmp" "$dir"
fi
if [[ ! -f $dir/initramfs.cpio.gz || $here/init.sh -nt $dir/initramfs.cpio.gz || $here/build-initramfs.sh -nt $dir/initramfs.cpio.gz ]]; then
  "$here/build-initramfs.sh" "$dir/kernel" "$kver" "$dir/initramfs.cpio.gz" >&2
fi
echo "$dir"
