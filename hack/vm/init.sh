#!/bin/busybox sh
# The guest's PID 1: loads the modules, mounts the host's root read-only over 9p
# under a tmpfs overlay (so the guest sees the host's Go, FRR and work tree),
# switches root and runs the script named by evpnvm.run=, then powers off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
fail() { echo "[init] $*" > /dev/console; echo "EVPNVM_RC=99" > /dev/console; poweroff -f; }
for m in $(cat /modules.want); do modprobe "$m" || echo "[init] modprobe $m failed" > /dev/console; done
run= out= kmod=
for a in $(cat /proc/cmdline); do
  case "$a" in
    evpnvm.run=*) run=${a#evpnvm.run=} ;;
    evpnvm.out=*) out=${a#evpnvm.out=} ;;
    evpnvm.kmod=*) kmod=${a#evpnvm.kmod=} ;;
  esac
done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /host || fail "9p mount"
mount -t tmpfs -o mode=0755 tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work /newroot || fail "overlay mount"
for d in proc sys dev; do mount --move /$d /newroot/$d; done
mount -t tmpfs -o mode=0755 tmpfs /newroot/run
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts devpts /newroot/dev/pts
mount -t tmpfs tmpfs /newroot/dev/shm
# Modules on demand (e.g. a netlink family the test uses): the full module tree.
kver=$(uname -r)
if [ -n "$kmod" ] && [ -f "/newroot$kmod/modules.dep" ]; then
  mkdir -p /newroot/lib/modules/$kver /newroot/run/evpnvm
  mount --bind "/newroot$kmod" /newroot/lib/modules/$kver
  ln -sf /bin/busybox /newroot/run/evpnvm/modprobe
  echo /run/evpnvm/modprobe > /newroot/proc/sys/kernel/modprobe
fi
if [ -n "$out" ]; then
  mkdir -p "/newroot$out"
  mount -t 9p -o trans=virtio,version=9p2000.L,rw,msize=512000 out "/newroot$out" || fail "out share"
fi
[ -n "$run" ] || fail "no evpnvm.run= on the kernel command line"
# The script's output goes to the second serial port (the host's stdout), apart
# from the kernel's messages on the first.
exec switch_root /newroot /bin/sh -c '
  export PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
  hostname evpnvm
  ip link set lo up
  o=/dev/console
  if [ -c /dev/ttyS1 ] && stty -F /dev/ttyS1 raw -echo 2>/dev/null; then o=/dev/ttyS1; fi
  if [ -x "$0" ]; then "$0"; else /bin/sh "$0"; fi < /dev/null > $o 2>&1; rc=$?
  sync
  echo "EVPNVM_RC=$rc" > /dev/console
  exec /bin/busybox poweroff -f' "$run"
