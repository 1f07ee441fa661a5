#!/usr/bin/env bash
# Boots the VRF-capable kernel under qemu (TCG: this host's KVM cannot run a stock
# kernel) and runs SCRIPT, a path on the host, in the guest. The script's output is
# this command's output and its exit code this command's. Usage: boot.sh SCRIPT [OUTDIR]
# Env: MEM (MiB, 2048), SMP (2), TIMEOUT (s, 1800), NET=user: an eth0 on qemu's
# user network, where 10.0.2.2 is this host's loopback (the lab's API server);
# HOSTFWD: ports of the guest forwarded to this machine; LINK (below): a cable to
# another guest.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# Resolved: the guest sees this machine's root under /newroot, where an absolute
# symlink on the way (a worktree's .cache linked to another) would point elsewhere
# and the kernel's modules would be missing.
vm=$(realpath "$("$here/setup.sh")")
script=$(realpath "$1")
outdir=${2:-$(mktemp -d /tmp/evpnvm.XXXXXX)}
mkdir -p "$outdir"
outdir=$(realpath "$outdir")
kver=$(cat "$vm/kernel/KVER")
log=$outdir/console.log
net=()
if [[ ${NET:-} == user ]]; then
  # restrict=off: the guest must reach the host's 127.0.0.1 through 10.0.2.2; this
  # machine has no route to the internet anyway.
  # HOSTFWD (qemu hostfwd rules, comma-separated): e.g. the lab cluster's kubelet,
  # tcp:127.0.0.1:20250-10.0.2.15:10250, for kubectl logs and exec.
  net=(-netdev "user,id=n0${HOSTFWD:+,hostfwd=${HOSTFWD//,/,hostfwd=}}" -device virtio-net-pci,netdev=n0)
fi
if [[ -n ${LINK:-} ]]; then
  # LINK=listen:PORT or connect:PORT: a second NIC (eth1 in the guest), an Ethernet
  # cable to the NIC of another guest (the lab's second node, cabled to the leaf).
  net+=(-netdev "socket,id=n1,${LINK%%:*}=127.0.0.1:${LINK#*:}" -device "virtio-net-pci,netdev=n1,mac=${LINK_MAC:-52:54:00:12:34:60}")
fi
set +e
timeout -k 10 "${TIMEOUT:-1800}" qemu-system-x86_64 \
  -nodefaults -no-user-config -display none -no-reboot \
  -M pc -accel tcg,thread=multi,tb-size=512 -cpu max -smp "${SMP:-2}" -m "${MEM:-2048}" \
  -kernel "$vm/kernel/boot/vmlinuz-$kver" -initrd "$vm/initramfs.cpio.gz" \
  -append "console=ttyS0 panic=-1 quiet loglevel=4 evpnvm.run=$script evpnvm.out=$outdir evpnvm.kmod=$vm/kernel/lib/modules/$kver" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
  -virtfs local,path="$outdir",mount_tag=out,security_model=none,multidevs=remap \
  -device virtio-rng-pci "${net[@]}" \
  -serial file:"$log" \
  -chardev stdio,id=prog,signal=off -serial chardev:prog \
  -monitor none < /dev/null
qrc=$?
set -e
rc=$(grep -a -o 'EVPNVM_RC=[0-9]*' "$log" | tail -1 | cut -d= -f2 || true)
if [[ -z $rc ]]; then
  echo "[vm] the guest gave no result (qemu exit $qrc); console:" >&2
  tail -n 40 "$log" >&2
  exit 98
fi
exit "$rc"
