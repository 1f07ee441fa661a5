#!/bin/bash
# Runs in a qemu guest for e2e/cluster/run.sh: node NODE (node1 by default) of the
# lab cluster, then runs what the host asks of it (run.sh's guest) until the host is
# done. node1 also holds the fabric of e2e/fabric.sh (the leaf, HOST1 behind it),
# cabled to node1's eth1 by a veth and, when node2 runs, to node2's eth1 by qemu's
# socket link (this guest's own eth1 at boot, given to the leaf).
set -u
NODE=${NODE:-node1}
. "$ROOT/hack/cluster/node.sh"
if [[ $NODE == node1 ]]; then
  # shellcheck source=e2e/fabric.sh
  . "$ROOT/e2e/fabric.sh"
  cable=
  if ip link show eth1 >/dev/null 2>&1; then
    ip link set eth1 name cable2 && cable=cable2
  fi
  fabric_up 192.168.11.1 "$OUT/fabric" $cable ${cable:+192.168.11.3}
else
  # node2's fabric NIC is a real one: the cable to the leaf.
  ip addr add 192.168.11.3/24 dev eth1 && ip link set eth1 up
fi
touch "$OUT/node-started"
# How fast the node is now: a fixed piece of CPU work, timed every 30 s (epoch s,
# ms). The lab's timeouts are a real node's many times over; this says by how much
# a loaded run's node was slower than one alone (run.sh prints it at the end).
(
  while [[ ! -e $OUT/done ]]; do
    a=$(date +%s%N)
    awk 'BEGIN { for (i = 0; i < 200000; i++) s += i }'
    b=$(date +%s%N)
    echo "$((a / 1000000000)) $(((b - a) / 1000000))" >>"$OUT/speed.log"
    sleep 30
  done
) &
# The host's way to look at and act on the node's own network (run.sh's guest):
# each $OUT/cmd/N.sh runs once, in the node's host netns, as root; its output goes
# to N.out and its exit code to N.rc, written last.
mkdir -p "$OUT/cmd"
end=$((SECONDS + ${GUEST_HOLD:-3600}))
while [[ ! -e $OUT/done && $SECONDS -lt $end ]]; do
  for c in "$OUT"/cmd/*.sh; do
    [[ -e $c && ! -e ${c%.sh}.rc ]] || continue
    bash "$c" >"${c%.sh}.out" 2>&1
    echo $? >"${c%.sh}.rc.tmp" && mv "${c%.sh}.rc.tmp" "${c%.sh}.rc"
  done
  sleep 0.3
done
{
  echo "--- free -m"; free -m
  echo "--- RSS (MiB)"; ps -eo rss,comm --sort=-rss | awk 'NR>1 && NR<16 {printf "%6.0f %s\n", $1/1024, $2}'
  echo "--- netns"; ip netns list
  echo "--- links in evpnrouter"; ip -n evpnrouter -br link 2>&1
} >"$OUT/guest-report.txt" 2>&1
